"""Identities between elementary functions (sigmoid, tanh, softmax, logsumexp, relu,
abs, max, min, sign) proved for all reals: a case split on the signs of the piecewise
atoms' keys, then the exp/log normal form of each case's residual
(:mod:`derive.symbolic.elementary`).  Scalars, and tensor entries at a symbolic index
for symbolic sizes.  Refutation is left to the exact point search of scalar-identity
and to the numeric engine."""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive.engine import Context
from derive.outcome import Outcome
from derive.symbolic.common import is_equality, plain, proved, simplify_zero, within
from derive.symbolic.elementary import _PIECEWISE, cases, exp_log_zero, has_elementary, realify
from derive.symbolic.lower import Unsupported, lowering

NAME = "elementary-normal-form"
CASE_S = 0.5  # the fallback simplify of one case's residual


def _nonempty(count: sp.Expr) -> bool:
    return count.is_positive is True


def collapse_deltas(expr: sp.Expr, ranges: dict) -> sp.Expr:
    """Σₖ δ(k, j)·f(k) over k = lo..hi as f(j), where j is a free entry index whose range is
    exactly lo..hi (so j always lies in the summation range)."""
    def collapse(s: sp.Sum) -> sp.Expr:
        if len(s.limits) != 1:
            return s
        k, lo, hi = s.limits[0]
        for f in sp.Mul.make_args(s.function):
            if isinstance(f, sp.KroneckerDelta) and k in f.args:
                other = f.args[1] if f.args[0] == k else f.args[0]
                if other in ranges and tuple(ranges[other]) == (lo, hi):
                    return (s.function / f).subs(k, other)
        return s
    return expr.replace(lambda x: isinstance(x, sp.Sum), collapse)


def entry_deltas(diff: sp.Expr, idx: tuple, t) -> sp.Expr:
    """Σₖ δ(k, j)·f(k) collapsed for the free entry indices ``idx`` of a tensor type t."""
    if not diff.has(sp.KroneckerDelta):
        return diff
    return collapse_deltas(diff, {j: (sp.Integer(1), d) for j, d in zip(idx, t.shape)} if idx else {})


def stand_ins(low) -> dict:
    """Set the lowering's hook so that max(x)/min(x) of a tensor lowers to an arbitrary real
    (proofs only; the caller resets ``low.opaque_hook``): the model node → symbol map."""
    opaque: dict = {}

    def stand_in(e):
        key = e  # model nodes compare without their positions
        if key not in opaque:
            opaque[key] = sp.Symbol(f"_{e.func}{len(opaque)}", real=True)
        return opaque[key]
    low.opaque_hook = stand_in
    return opaque


def entry_residual(ctx: Context, name: str):
    """lhs − rhs of an equality as SymPy, at a symbolic entry index for a tensor, with
    max(x)/min(x) of a tensor as an arbitrary real (proofs only): (residual, entry indices,
    type, the stand-ins) — or None (not an equality of this kind; a note says why)."""
    st = ctx.statement
    if not is_equality(st) or not plain(ctx, st):
        return None
    low = lowering(ctx.checked)
    a, b = st.operands
    t = low.vtype(a)
    opaque = stand_ins(low)
    try:
        if t.kind == "tensor" and not t.is_scalar:
            if any(d is None for d in t.shape):
                return None
            idx = tuple(sp.Symbol(f"j{k}", integer=True, positive=True)
                        for k in range(len(t.shape)))
            diff = low.entry(a, idx) - low.entry(b, idx)
        elif low.is_scalar(a) and low.is_scalar(b):
            idx = ()
            diff = low.scalar(a) - low.scalar(b)
        else:
            return None
    except Unsupported as exc:
        ctx.notes.append(f"{name}: {exc}")
        return None
    finally:
        low.opaque_hook = None
    return diff, idx, t, opaque


def real_entries(diff: sp.Expr) -> Optional[sp.Expr]:
    """The residual with tensor entries read as reals (re(xᵢ) is xᵢ, |a| is a for a ≥ 0);
    None when a scalar name is not real (log and sign rules differ there)."""
    labels = {base.label for base in diff.atoms(sp.IndexedBase)}  # tensors are real
    if any(s.is_real is not True for s in diff.free_symbols - labels
           if s.is_Symbol and not isinstance(s, (sp.Indexed, sp.IndexedBase))):
        return None
    diff = diff.replace(lambda x: isinstance(x, sp.re) and isinstance(x.args[0], sp.Indexed),
                        lambda x: x.args[0])  # tensor entries are real (SymPy cannot know)
    return diff.replace(lambda x: isinstance(x, sp.Abs) and
                        realify(x.args[0]).is_nonnegative is True, lambda x: x.args[0])


class Elementary:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        lowered = entry_residual(ctx, NAME)
        if lowered is None:
            return None
        diff, idx, t, opaque = lowered
        if not has_elementary(diff) or diff.has(sp.Product):
            return None
        diff = entry_deltas(diff, idx, t)  # diag(v), I: collapse the deltas first
        if diff.has(sp.KroneckerDelta):
            return None
        diff = real_entries(diff)
        if diff is None:
            return None  # complex names: log and sign rules differ
        if any(s.has(*_PIECEWISE) for s in diff.atoms(sp.Sum, sp.Product)):
            return None  # a case split cannot pick one sign for every value of a bound index
        keys, n = set(), 0
        for case, chosen in cases(diff):
            n += 1
            keys |= {str(k) for k in chosen}
            if not (exp_log_zero(case, _nonempty) or
                    (not case.has(sp.Sum) and
                     within(CASE_S, simplify_zero, case, CASE_S, default=False))):
                ctx.notes.append(f"{NAME}: a case's residual did not vanish: {case}"[:300])
                return None
        where = f" for every entry {', '.join(map(str, idx))}" if idx else ""
        split = f"{n} sign cases of {', '.join(sorted(keys))}; " if keys else ""
        return proved(f"lhs − rhs is 0 in exp/log normal form{where} ({split}all reals)", NAME,
                      residual="0", cases=n, keys=sorted(keys),
                      certificate={"route": "case split on key signs, then exp(c·m) → Eₘ^c "
                                            "(Eₘ > 0) and log split over positive factors",
                                   "side_conditions": ["logs split only over arguments SymPy "
                                                       "proves positive",
                                                       "Σ of positive terms over a non-empty "
                                                       "range named as a positive symbol"]},
                      general=bool(idx) or diff.has(sp.Sum),
                      arbitrary=[f"{v}: {k.func} of a tensor, any real" for k, v in opaque.items()]
                      or None)
