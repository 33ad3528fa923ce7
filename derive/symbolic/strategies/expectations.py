"""Statements about ``E[…]``, ``Var[…]``, ``Std[…]`` and ``P[…]`` of declared random names:
closed forms by linearity, independence and the moments of the declared
distributions (iid sums over symbolic sizes: cumulants add), or — for functions of a few
scalar draws that are not polynomials (``relu``, ``abs``, ``exp(a z)``, indicators) — exact
Gaussian / uniform / exponential integrals and finite enumeration (derive/symbolic/gauss.py,
strategy ``exact-expectation``).  Then the identity is decided exactly — 0 after
simplification proves it, an exact nonzero difference at seeded rational parameters
refutes it.  With a stated tolerance (``within t``, ``rel r``) the exact difference is
compared with it instead; ``≈`` without one is left to Monte Carlo."""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk
from derive.symbolic.common import (defined_at, is_approximate, is_equality, is_exact_zero,
                                    proved, refuted, rng_for, sample_points, show, simplify_zero)
from derive.symbolic.gauss import ExactExpectation, exact_value, indicator
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.moments import Moments

NAME = "moments"
EXACT = "exact-expectation"


class Expectations:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st):
            return None
        stats = [n for n in walk(st) if isinstance(n, m.Stat)]
        if not stats or any(s.kind not in ("E", "Var", "Std", "P") for s in stats):
            return None
        low = lowering(ctx.checked)
        if not all(s.kind == "P" or low.is_scalar(s.args[0]) for s in stats):
            ctx.notes.append(f"{NAME}: expectation of a tensor")
            return None
        tolerance = self.tolerance(ctx)
        if is_approximate(ctx) and tolerance is None:
            return None   # ≈ with no stated tolerance: Monte Carlo's default applies
        moments = Moments(low)
        exact = ExactExpectation(moments)
        used_exact: list[bool] = []

        def hook(e: m.Stat, env: dict) -> sp.Expr:
            if e.kind == "P":
                used_exact.append(True)
                return exact.mean(indicator(low.condition(e.args[0], env)))
            x = low.scalar(e.args[0], env)
            try:
                if e.kind == "E":
                    return moments.mean(x)
                var = moments.variance(x)
            except Unsupported:
                used_exact.append(True)
                if e.kind == "E":
                    return exact.mean(x)
                var = exact.mean(x ** 2) - exact.mean(x) ** 2
            return var if e.kind == "Var" else sp.sqrt(var)

        low.stat_hook = hook
        try:
            a, b = (low.scalar(x) for x in st.operands)
        except Unsupported as exc:
            ctx.notes.append(f"{NAME}: {exc}")
            return None
        finally:
            low.stat_hook = None
        a, b = a.doit(), b.doit()  # sums of closed-form moments: Σᵢ 1/12 = n/12
        name = EXACT if used_exact else NAME
        diff = a - b
        try:
            if moments.atoms(diff):
                ctx.notes.append(f"{NAME}: a random name outside E/Var")
                return None
        except Unsupported:
            return None
        closed = {"lhs": str(sp.factor(a) if not used_exact else a),
                  "rhs": str(sp.factor(b) if not used_exact else b)}
        free = {s for s in diff.free_symbols if s.is_Symbol}
        if used_exact:
            closed.update({k: v for k, v in (("lhs_value", exact_value(a)),
                                             ("rhs_value", exact_value(b))) if v is not None})
        if tolerance is not None:
            return self.within(tolerance, a, b, low, free, ctx, name, closed)
        for point in sample_points(low, free, rng_for(ctx, NAME), 6):
            sides = defined_at([a, b], point)
            value = None if sides is None else sides[0] - sides[1]
            if value is not None and is_exact_zero(value) is False:
                rel = self.relative(sides)
                return refuted(f"in closed form lhs = {closed['lhs']}, rhs = {closed['rhs']}; they "
                               f"differ at {show(point)}{rel}", name, closed_form=closed,
                               counterexample=show(point), difference=str(value),
                               difference_value=exact_value(value, 15) or str(value))
        if simplify_zero(diff):
            how = ("exact integrals of the declared distributions" if used_exact else
                   "moments of the declared distributions, independence, iid sums add")
            return proved(f"in closed form both sides are {closed['lhs']} ({how})", name,
                          closed_form=closed, residual="0", general=True)
        return None

    @staticmethod
    def relative(sides: list) -> str:
        try:
            a, b = (complex(sp.N(x, 20)) for x in sides)
        except (TypeError, ValueError):
            return ""
        if b == 0:
            return f" (lhs ≈ {a.real:.6g})"
        return f" (lhs ≈ {a.real:.6g}, rhs ≈ {b.real:.6g}: {abs(a - b) / abs(b):.3%} apart)"

    @staticmethod
    def tolerance(ctx: Context) -> Optional[tuple[str, sp.Expr]]:
        show_ = ctx.show
        if show_.within is not None:
            return "within", sp.nsimplify(show_.within)
        if show_.rel is not None:
            return "rel", sp.nsimplify(show_.rel)
        return None

    def within(self, tolerance: tuple, a: sp.Expr, b: sp.Expr, low, free: set, ctx: Context,
               name: str, closed: dict) -> Optional[Outcome]:
        """|a − b| against a stated tolerance, exactly (60-digit evaluation of closed forms)."""
        kind, t = tolerance
        bound = t if kind == "within" else t * sp.Abs(b)
        points = sample_points(low, free, rng_for(ctx, NAME), 6) if free else [{}]
        for point in points:
            sides = defined_at([a, b, bound], point)
            if sides is None:
                continue
            gap = sp.N(sp.Abs(sides[0] - sides[1]) - sides[2], 60)
            if gap.is_number and gap > sp.Float(10) ** -40:
                return refuted(f"in closed form lhs = {closed['lhs']}, rhs = {closed['rhs']}; |lhs − "
                               f"rhs| exceeds the stated tolerance at {show(point)}"
                               f"{self.relative(sides[:2])}", name, closed_form=closed,
                               counterexample=show(point), excess=str(sp.N(gap, 15)))
        if free or not points:
            return None
        sides = defined_at([a, b, bound], {})
        if sides is not None:
            gap = sp.N(sp.Abs(sides[0] - sides[1]) - sides[2], 60)
            if gap.is_number and gap < -sp.Float(10) ** -40:
                return proved(f"in closed form lhs = {closed['lhs']}, rhs = {closed['rhs']}: within "
                              f"the stated tolerance{self.relative(sides[:2])}", name,
                              closed_form=closed, margin=str(sp.N(-gap, 15)))
        return None
