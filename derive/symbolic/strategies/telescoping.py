"""A residual recurrence unrolled for a symbolic number of steps:
``let x[s+1] = x[s] + F(s), x[0] = x0`` gives ``x[T] == x0 + sum(l = 0..T-1, F(l))``.

The sum telescopes: x[T] − x[0] = Σ_{l=0}^{T−1} (x[l+1] − x[l]) and each difference is
F(l) by the step, whatever F is (it may read x[l] itself, a layer's weights W[l+1], …),
for every integer T ≥ 0 (T = 0: the empty sum is 0).  Side conditions, checked on the
model, else the strategy declines: the step is literally ``x[s] + F(s)``; the right side
is the start value plus a sum over ``l = 0..T−1`` whose body is F with s renamed l
(compared as model trees, so nothing is assumed about F); T is a step index or a size.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk
from derive.symbolic.common import is_equality, proved
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.lower import map_model as _map
from derive.symbolic.strategies.recurrence import _step_and_base

NAME = "recurrence-telescoping"


def _renamed(e: m.Expr, old: str, new: str) -> m.Expr:
    return _map(e, lambda x: m.Name(new, new, x.pos) if isinstance(x, m.Name) and x.id == old
                else None)


def _term(e: m.Expr, seq: str, var: str) -> bool:
    """e is x[s]: the sequence at the step's own index."""
    return isinstance(e, m.Index) and isinstance(e.base, m.Name) and e.base.id == seq and \
        len(e.indices) == 1 and isinstance(e.indices[0], m.Name) and e.indices[0].id == var


def _sum_part(e: m.Expr) -> Optional[m.Call]:
    if isinstance(e, m.Call) and e.func == "sum" and len(e.args) == 1 and len(e.kwargs) == 1 \
            and isinstance(e.kwargs[0][1], m.Range):
        return e
    return None


class Telescoping:
    """``x[T] == x[0] + Σ_{l<T} F(l)`` for a step ``x[s+1] = x[s] + F(s)``."""

    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st):
            return None
        lhs, rhs = st.operands
        if not (isinstance(lhs, m.Index) and isinstance(lhs.base, m.Name) and len(lhs.indices) == 1
                and getattr(ctx.checked.symbols.get(lhs.base.id), "role", None) == "sequence"):
            return None
        if not (isinstance(rhs, m.BinOp) and rhs.op == "+"):
            return None
        seq = lhs.base.id
        low = lowering(ctx.checked)
        try:
            (var, step), base = _step_and_base(ctx, seq)
            if not (isinstance(step, m.BinOp) and step.op == "+" and _term(step.left, seq, var)):
                raise Unsupported("the step is not x[s] + F(s)")
            total = _sum_part(rhs.right) or _sum_part(rhs.left)
            start = rhs.left if total is rhs.right else rhs.right
            if total is None or start != base:
                raise Unsupported("the right side is not x[0] + sum(l = 0..T-1, …)")
            key, rng = total.kwargs[0]
            steps = low.scalar(lhs.indices[0])
            if not (steps.is_integer and steps.is_nonnegative):
                raise Unsupported("the number of steps is not a non-negative integer")
            if low.scalar(rng.lo) != 0 or sp.expand(low.scalar(rng.hi) - (steps - 1)) != 0:
                raise Unsupported("the sum does not run over 0..T-1")
            if any(isinstance(x, m.Name) and x.id == key for x in walk(step.right)) or \
                    _renamed(step.right, var, key) != total.args[0]:
                raise Unsupported("the summand is not the step's increment")
        except (Unsupported, KeyError) as exc:
            ctx.notes.append(f"{NAME}: {exc}"[:300])
            return None
        return proved(f"the sum telescopes: {seq}[T] − {seq}[0] = Σ_{{l<T}} ({seq}[l+1] − "
                      f"{seq}[l]), each difference the step's increment", NAME, residual="0",
                      general=True, side_conditions=["T is an integer ≥ 0 (T = 0: empty sum)",
                                                     "the summand is the step's increment "
                                                     "as written"])
