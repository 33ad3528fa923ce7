"""Identities between softmax, logsumexp, log-softmax, cross-entropy, layer norm, exp,
max and sign over vectors and matrices of symbolic size, proved entrywise
(:mod:`derive.symbolic.sum_normal`): lhs − rhs at a symbolic entry index, with
``max(x)`` of a tensor an arbitrary real, a case split on the signs of the piecewise
atoms outside the sums (``max(m₁, m₂)`` of two tile maxima), then the sum normal form of
each case.  Piecewise atoms inside a sum (``Σ xᵢ·sign(xᵢ)``) cannot take one sign for
every index: there all sums must share one index range, and the merged summand is proved
0 for every value of the index (then the sum is 0) by the same case split.  One-hot
entries ``δ(j, y)`` left after delta summation are 0 where an assumption says j ≠ y (1
for j = y), and otherwise stand for an arbitrary real (an identity for every value holds
at 0 and 1).  Refutation is left to the other strategies and to
the numeric engine."""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.symbolic.common import proved, within
from derive.symbolic.elementary import _PIECEWISE, cases
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.strategies.elementary import (collapse_deltas, entry_deltas, entry_residual,
                                                  real_entries)
from derive.symbolic.sum_normal import merged_summand, sum_zero

NAME = "vector-normal-form"
CASE_S = 1.5  # the normal form of one case (the corpus needs ≤ 0.3 s idle)

SIDE_CONDITIONS = [
    "max(x)/min(x) of a tensor: an arbitrary real (the proof holds for every value)",
    "Σ over a range provably ≥ 0 in length: split by linearity, constants factored out",
    "a sum named by a positive symbol only when its terms are positive and its range "
    "non-empty; otherwise by a real symbol",
    "logs split only over factors SymPy proves positive; roots split only over factors "
    "SymPy proves nonnegative (√(c²) = |c|)",
    "piecewise atoms inside a sum: read as the entries of a fresh tensor (f(x) entrywise), "
    "or the merged summand vanishes for every integer index",
    "the identity is read where both sides are defined (denominators, var(x) = 0)",
]


def _deltas(diff: sp.Expr, conditions: list) -> Optional[sp.Expr]:
    """Free δ(a, b) as 0 (1) where the declarations assume a ≠ b (a = b), else as an
    arbitrary real; None when a delta still involves a bound index."""
    bound = {v for s in diff.atoms(sp.Sum) for v, _, _ in s.limits}
    reps = {}
    for d in diff.atoms(sp.KroneckerDelta):
        if d.free_symbols & bound:
            return None
        a, b = d.args
        known = {(type(c), frozenset((c.lhs, c.rhs))) for c in conditions
                 if isinstance(c, (sp.Ne, sp.Eq))}
        if (sp.Ne, frozenset((a, b))) in known:
            reps[d] = sp.Integer(0)
        elif (sp.Eq, frozenset((a, b))) in known:
            reps[d] = sp.Integer(1)
        else:
            reps[d] = sp.Symbol(f"_delta{len(reps)}", real=True)
    return diff.xreplace(reps)


def index_ranges(ctx: Context) -> dict:
    """The declared range lo..hi of every index name (``let y : 1..n``), lowered."""
    low = lowering(ctx.checked)
    out = {}
    for name, info in ctx.checked.symbols.items():
        rng = getattr(getattr(info.statement, "type", None), "range", None)
        if info.role != "index" or not isinstance(rng, m.Range) or name not in low.symbols:
            continue
        try:
            out[low.symbols[name]] = (low.scalar(rng.lo), low.scalar(rng.hi))
        except Unsupported:
            continue
    return out


def _cases_zero(e: sp.Expr) -> Optional[list]:
    """The canonical keys of a case split in which every case's normal form is 0."""
    keys: set = set()
    try:
        for case, chosen in cases(e):
            keys |= {str(k) for k in chosen}
            if not within(CASE_S, sum_zero, case, default=False):
                return None
    except ValueError:  # too many cases
        return None
    return sorted(keys)


class VectorElementary:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        lowered = entry_residual(ctx, NAME)
        if lowered is None:
            return None
        diff, idx, t, opaque = lowered
        if not diff.has(sp.Sum) or diff.has(sp.Product):
            return None  # scalar identities belong to the elementary normal form
        if diff.has(sp.KroneckerDelta):  # onehot(y, n): y declared in 1..n collapses Σₖ δ(k, y)
            diff = _deltas(collapse_deltas(entry_deltas(diff, idx, t), index_ranges(ctx)),
                           lowering(ctx.checked).conditions)
            if diff is None:
                ctx.notes.append(f"{NAME}: a one-hot entry under a sum")
                return None
        diff = real_entries(diff)
        if diff is None:
            return None
        pointwise = any(s.function.has(*_PIECEWISE) for s in diff.atoms(sp.Sum))
        if pointwise:
            abstract = entrywise_atoms(diff)
            if abstract is not None and within(CASE_S, sum_zero, abstract, default=False):
                return _proof(idx, "piecewise entries as a fresh tensor; ", [], opaque)
            merged = within(CASE_S, merged_summand, diff, default=None)
            if merged is None:
                ctx.notes.append(f"{NAME}: piecewise summands over different ranges")
                return None
            summand, rest, _ = merged
            if any(s.function.has(*_PIECEWISE) for s in summand.atoms(sp.Sum)) or \
                    not within(CASE_S, sum_zero, rest, default=False):
                ctx.notes.append(f"{NAME}: the terms outside the merged sum do not cancel")
                return None
            if not summand.has(sp.Sum):  # entries as real symbols: a sign's zero case
                # then substitutes the root (x = 0), as for a scalar
                diff = summand.xreplace({x: sp.Symbol(f"_e{k}", real=True)
                                         for k, x in enumerate(summand.atoms(sp.Indexed))})
            else:
                diff = summand
        keys = _cases_zero(diff)
        if keys is None:
            ctx.notes.append(f"{NAME}: a case's normal form did not vanish")
            return None
        how = "the merged summand is 0 for every index; " if pointwise else ""
        return _proof(idx, how, keys, opaque)


def entrywise_atoms(diff: sp.Expr) -> Optional[sp.Expr]:
    """Each piecewise atom that is a function of one tensor entry, f(x[a, b]), as the entry
    [a, b] of a fresh tensor (one per f and x): F = f(x) entrywise is one particular tensor,
    so an identity for every tensor F holds for it.  None when an atom reads several
    entries (or none)."""
    bases: dict = {}
    reps = {}
    hole = sp.Symbol("_hole", real=True)
    for p in diff.atoms(*_PIECEWISE):
        entries = p.atoms(sp.Indexed)
        if len(entries) != 1:
            return None
        (x,) = entries
        template = p.xreplace({x: hole})
        if template.free_symbols - {hole}:
            return None
        key = (template, x.base)
        if key not in bases:
            bases[key] = sp.IndexedBase(f"_F{len(bases)}")
        reps[p] = bases[key][x.indices]
    return diff.xreplace(reps)


def _proof(idx: tuple, how: str, keys: list, opaque: dict) -> Outcome:
    where = f" for every entry {', '.join(map(str, idx))}" if idx else ""
    split = f"sign cases of {', '.join(keys)}; " if keys else ""
    return proved(f"lhs − rhs is 0 in the sum normal form{where} ({how}{split}symbolic sizes)",
                  NAME, residual="0", keys=keys, general=True,
                  certificate={"route": "entrywise: exp split, Σ linear with constant factors "
                                        "out, sums named, exp/log/root normal form, rational "
                                        "cancellation" + (f"; {how.strip('; ')}" if how else ""),
                               "side_conditions": SIDE_CONDITIONS},
                  arbitrary=[f"{v}: {k.func} of a tensor, any real" for k, v in opaque.items()]
                  or None)
