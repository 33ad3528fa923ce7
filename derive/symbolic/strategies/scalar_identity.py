"""Scalar identities ``a == b``: exact evaluation at seeded rational points first (a
point where the sides differ exactly is a proof of falsity), then rewriting of
``a − b`` (cancel, expand, trigsimp, simplify) to 0 for a proof."""
from __future__ import annotations

from typing import Optional

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk
from derive.symbolic.common import (defined_at, plain, is_equality, is_exact_zero, proved, refuted,
                                    rng_for, sample_points, show, simplify_zero, special_points)
from derive.symbolic.lower import Unsupported, lowering

NAME = "scalar-identity"
POINTS = 8
SPECIAL = 12  # interesting points first: 0, ±1, domain ends, roots of the factors, large values


class ScalarIdentity:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st) or not plain(ctx, st):
            return None
        low = lowering(ctx.checked)
        a, b = st.operands
        if not (low.is_scalar(a) and low.is_scalar(b)):
            return None
        try:
            left, right = low.scalar(a), low.scalar(b)
        except Unsupported as exc:
            ctx.notes.append(f"{NAME}: {exc}")
            return None
        diff = left - right
        complex_ok = any(s.is_real is not True for s in diff.free_symbols)
        if diff.has(*_UNSAFE):
            return None
        free = {s for s in diff.free_symbols if s.is_Symbol}
        points = special_points(low, free, [diff], rng_for(ctx, NAME + "/special"), SPECIAL) + \
            sample_points(low, free, rng_for(ctx, NAME), POINTS)
        for point in points:
            sides = defined_at([left, right], point, complex_ok)
            if sides is None:
                continue
            value = sides[0] - sides[1]
            if is_exact_zero(value) is False:
                where = f"at {_fmt(point)}" if point else "for every value"
                return refuted(f"the sides differ {where}: lhs − rhs = {value}", NAME,
                               counterexample=show(point), difference=str(value))
        if simplify_zero(diff):
            return proved("lhs − rhs simplifies to 0", NAME, residual="0", points_checked=POINTS,
                          certificate={"route": "identity: lhs − rhs rewrites to 0 (cancel, expand, "
                                                "trigsimp or simplify)",
                                       "side_conditions": [{"condition": "denominators and roots of "
                                                            "both sides",
                                                            "discharged": "the identity is read "
                                                            "where both sides are defined"}]})
        return None


import sympy as _sp
_UNSAFE = (_sp.Indexed, _sp.Sum, _sp.Product)


def _fmt(point: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in sorted(point.items(), key=lambda kv: str(kv[0])))
