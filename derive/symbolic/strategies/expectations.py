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
from derive.semantics import walk, walk_defined
from derive.symbolic.common import (defined_at, is_approximate, is_equality, is_exact_zero,
                                    proved, refuted, rng_for, sample_points, show, simplify_zero)
from derive.symbolic.gauss import ExactExpectation, exact_value, indicator
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.moments import Moments
from derive.vocabulary.distributions import args_of, law_of

NAME = "moments"
EXACT = "exact-expectation"


def _operand(s) -> m.Expr:
    """The argument of ``E[x]`` / ``E[x | y]`` (the first of ``Cov[x, y]``)."""
    return s.arg if isinstance(s, m.Cond) else s.args[0]


def almost_surely(diff: sp.Expr, draws: set, a: sp.Expr, b: sp.Expr, low, moments: Moments,
                  ctx: Context, name: str) -> Optional[Outcome]:
    """A statement that holds ``E[x | y]``, a function of the draws y: true when it holds
    almost surely.  A difference that is 0 as a function proves it.  A difference that
    (at seeded parameters) is a nonzero polynomial in draws with continuous laws refutes
    it: such a polynomial vanishes only on a null set, and every continuous law here has
    a density (checked at the point: normal(0, 0) is a point mass, at which a polynomial
    may vanish).  Otherwise (a discrete draw, a non-polynomial difference, a tensor
    entry) the symbolic engine declines: a point off the support or a null set is no
    counterexample."""
    closed = {"lhs": str(a), "rhs": str(b)}
    names = ", ".join(sorted(str(d) for d in draws))
    if simplify_zero(diff):
        return proved(f"in closed form both sides are {closed['lhs']} as functions of the "
                      f"draws left free ({names}), so they agree surely", name,
                      closed_form=closed, residual="0", general=True)
    densities = []   # each draw's conditions for a density (normal: variance > 0)
    for d in draws:
        dist = moments.dist_of(d) if isinstance(d, sp.Symbol) else None
        law = law_of(dist) if dist is not None else None
        if law is None or law.discrete or law.exact is None:
            ctx.notes.append(f"{NAME}: an almost-sure statement in a discrete, tensor or "
                             f"unintegrable draw ({d}): left to sampling")
            return None
        try:
            params = [low.scalar(a) for a in args_of(dist)]
        except Unsupported:
            return None
        densities.extend(law.exact(params, sp.Dummy("w", real=True)).positive)
    free = {s for s in diff.free_symbols if s.is_Symbol} - set(draws)
    free |= {s for c in densities for s in c.free_symbols if s.is_Symbol}
    for point in (sample_points(low, free, rng_for(ctx, NAME), 6) if free else [{}]):
        if not all(sp.sympify(c).xreplace(point).is_positive is True for c in densities):
            continue   # a degenerate law here (normal(0, 0) is a point): no density
        try:
            poly = sp.Poly(sp.expand(diff.xreplace(point)), *sorted(draws, key=str))
        except sp.PolynomialError:
            return None
        if poly.free_symbols - set(draws):
            continue
        if any(is_exact_zero(c) is False for c in poly.coeffs()):
            return refuted(f"lhs − rhs = {sp.factor(poly.as_expr())} at {show(point) or 'every point'}: "
                           f"a nonzero polynomial in the continuous draws {names}, so the sides "
                           f"differ with probability 1", name, closed_form=closed,
                           counterexample=show(point), difference=str(poly.as_expr()))
    return None


class Expectations:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st):
            return None
        stats = [n for n in walk(st) if isinstance(n, (m.Stat, m.Cond))]
        stats += [n for n in walk_defined(st, ctx.checked.symbols) if isinstance(n, m.Cond)]
        if not stats or any(s.kind not in ("E", "Var", "Std", "P") for s in stats):
            return None
        low = lowering(ctx.checked)
        if not all(s.kind == "P" or low.is_scalar(_operand(s)) for s in stats):
            ctx.notes.append(f"{NAME}: expectation of a tensor")
            return None
        tolerance = self.tolerance(ctx)
        if is_approximate(ctx) and tolerance is None:
            return None   # ≈ with no stated tolerance: Monte Carlo's default applies
        moments = Moments(low)
        exact = ExactExpectation(moments)
        used_exact: list[bool] = []

        def hook(e, env: dict) -> sp.Expr:
            mom, ex = moments, exact
            if isinstance(e, m.Cond):   # E[x | y]: y held fixed, the other draws averaged
                mom = moments.given(frozenset(g.id for g in e.given))
                ex = ExactExpectation(mom)
            if e.kind == "P":
                used_exact.append(True)
                return ex.mean(indicator(low.condition(_operand(e), env)))
            x = low.scalar(_operand(e), env)
            try:
                if e.kind == "E":
                    return mom.mean(x)
                var = mom.variance(x)
            except Unsupported:
                used_exact.append(True)
                if e.kind == "E":
                    return ex.mean(x)
                var = ex.mean(x ** 2) - ex.mean(x) ** 2
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
            draws = moments.atoms(diff)
        except Unsupported:
            return None
        if draws:
            if not any(isinstance(s, m.Cond) for s in stats):
                ctx.notes.append(f"{NAME}: a random name outside E/Var")
                return None
            if tolerance is not None:   # |lhs − rhs| ≤ t almost surely: left to sampling
                ctx.notes.append(f"{NAME}: an almost-sure statement with a tolerance")
                return None
            return almost_surely(diff, draws, a, b, low, moments, ctx, "exact-expectation"
                                 if used_exact else NAME)
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
