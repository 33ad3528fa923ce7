"""Inequalities with a sum of exponentials over a symbolic range: logsumexp against the
max, cross-entropy ≥ 0.  Two facts about ``S = Σₖ₌₁ᴺ exp(xₖ)`` (positive terms, N ≥ 1):

* with ``M = max(x)`` of the same N entries: ``exp(M) ≤ S ≤ N·exp(M)`` (one term is
  exp(M), none exceeds it), so ``S = exp(M)·t`` with t ∈ [1, N];
* with an index y declared in 1..N: ``S ≥ exp(x_y)`` (one of the terms), so
  ``S = exp(x_y)·t`` with t ≥ 1.

After the substitution the difference of the sides goes through the exp/log normal form;
when its derivative in t has one sign on t ≥ 1, its least value on the interval is at one
end, and that value must be ≥ 0 (> 0 for a strict inequality).  Anything else — several
sums, no fact that matches, a derivative of unknown sign, the least value at t = ∞ —
declines; refutation is left to the numeric engine."""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.symbolic.common import plain, proved, within
from derive.symbolic.elementary import _exp_atoms, _logs
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.strategies.elementary import stand_ins
from derive.symbolic.strategies.vector_elementary import index_ranges
from derive.symbolic.sum_normal import normal_sums, split_exps

NAME = "exp-sum-bounds"
STEP_S = 1.0  # one link's normal form and derivative
_OPS = {"<=": (1, False), "<": (1, True), ">=": (-1, False), ">": (-1, True)}


def _anchors(low, s: sp.Sum, opaque: dict, indices: dict) -> list:
    """(anchor exponent, t's upper end, the fact used) for ``s = Σ exp(g(k))``."""
    k, lo, hi = s.limits[0]
    g = s.function.args[0]
    out = []
    for node, sym in opaque.items():
        if node.func != "max" or len(node.args) != 1:
            continue
        t = low.vtype(node.args[0])
        if not (t.kind == "tensor" and len(t.shape) == 1 and t.shape[0] is not None):
            continue
        try:
            same = sp.expand(low.entry(node.args[0], (k,)) - g) == 0
        except Unsupported:
            continue
        if same and lo == 1 and sp.expand(hi - t.shape[0]) == 0 and hi.is_positive:
            out.append((sym, hi, f"exp({sym}) ≤ {s} ≤ {hi}·exp({sym}) ({sym} = max of its terms' "
                                 f"exponents)"))
    for y, (ylo, yhi) in indices.items():
        if ylo == lo and sp.expand(yhi - hi) == 0:
            out.append((g.xreplace({k: y}), sp.oo, f"{s} ≥ exp({g.xreplace({k: y})}) ({y} in "
                                                   f"{lo}..{hi})"))
    return out


def _least(r: sp.Expr, t: sp.Symbol, top: sp.Expr) -> Optional[sp.Expr]:
    """The least value of r over t ∈ [1, top] when r is monotone there (else None)."""
    s = sp.Symbol("_s", nonnegative=True)
    slope = sp.diff(r, t).xreplace({t: 1 + s})
    slope = sp.factor(sp.together(slope))
    if slope.is_nonnegative:
        return r.xreplace({t: sp.Integer(1)})
    if slope.is_nonpositive and top is not sp.oo:
        return r.xreplace({t: top})
    return None


def _nonnegative(low, r: sp.Expr, strict: bool, opaque: dict, indices: dict) -> Optional[str]:
    """The fact that shows r ≥ 0 (r > 0), or None."""
    e = normal_sums(r)
    sums = list(e.atoms(sp.Sum))
    if len(sums) != 1 or len(sums[0].limits) != 1 or not isinstance(sums[0].function, sp.exp):
        return None
    (s,) = sums
    for anchor, top, fact in _anchors(low, s, opaque, indices):
        t = sp.Symbol("_t", positive=True)
        x = split_exps(e.xreplace({s: sp.exp(anchor) * t}))
        x, exps = _exp_atoms(x)
        if x.has(sp.exp, sp.Sum):
            continue
        for _ in range(2):
            x = _logs(x, exps)
        x = sp.expand(x)
        try:
            least = _least(x, t, top)
        except (sp.PolynomialError, NotImplementedError):
            least = None
        if least is None:
            continue
        least = sp.simplify(least)
        if (least.is_positive if strict else (least.is_nonnegative or least == 0)):
            return fact
    return None


class ExpSumBounds:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not (isinstance(st, m.Compare) and all(op in _OPS for op in st.ops)) or \
                not plain(ctx, st):
            return None
        low = lowering(ctx.checked)
        opaque = stand_ins(low)
        try:
            if not all(low.is_scalar(x) for x in st.operands):
                return None
            sides = [low.scalar(x) for x in st.operands]
        except Unsupported as exc:
            ctx.notes.append(f"{NAME}: {exc}")
            return None
        finally:
            low.opaque_hook = None
        if not any(x.has(sp.Sum) for x in sides):
            return None
        indices = index_ranges(ctx)
        facts = []
        for op, a, b in zip(st.ops, sides, sides[1:]):
            sign, strict = _OPS[op]
            fact = within(STEP_S, _nonnegative, low, sign * (b - a), strict, opaque, indices,
                          default=None)
            if fact is None:
                ctx.notes.append(f"{NAME}: no bound on the sum of exponentials settles "
                                 f"{a} {op} {b}"[:300])
                return None
            facts.append(fact)
        return proved("each link holds: the sum of exponentials written as its anchor term "
                      "times t, the difference monotone in t, ≥ 0 at the interval's end",
                      NAME, general=True,
                      certificate={"route": "Σ exp substituted by exp(anchor)·t, exp/log normal "
                                            "form, monotone in t, least value at an end",
                                   "side_conditions": facts + [
                                       "max(x) is the largest of the sum's own exponents "
                                       "(same entries, same range 1..N, N ≥ 1)",
                                       "an index declared in the sum's range picks one term"]},
                      arbitrary=[f"{v}: {k.func} of a tensor" for k, v in opaque.items()] or None)
