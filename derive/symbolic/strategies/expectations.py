"""Statements about ``E[…]``, ``Var[…]`` and ``Std[…]`` of declared random names:
closed forms by linearity, independence and the moments of the declared
distributions (iid sums over symbolic sizes: cumulants add), then the identity is
decided exactly — 0 after simplification proves it, an exact nonzero difference at
seeded rational parameters refutes it."""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk
from derive.symbolic.common import (defined_at, is_equality, is_exact_zero, proved, refuted,
                                    rng_for, sample_points, show, simplify_zero)
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.moments import Moments

NAME = "moments"


class Expectations:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st):
            return None
        stats = [n for n in walk(st) if isinstance(n, m.Stat)]
        if not stats or any(s.kind not in ("E", "Var", "Std") for s in stats):
            return None
        low = lowering(ctx.checked)
        if not all(low.is_scalar(s.args[0]) for s in stats):
            ctx.notes.append(f"{NAME}: expectation of a tensor")
            return None
        moments = Moments(low)

        def hook(e: m.Stat, env: dict) -> sp.Expr:
            x = low.scalar(e.args[0], env)
            if e.kind == "E":
                return moments.mean(x)
            var = moments.variance(x)
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
        diff = a - b
        try:
            if moments.atoms(diff):
                ctx.notes.append(f"{NAME}: a random name outside E/Var")
                return None
        except Unsupported:
            return None
        closed = {"lhs": str(sp.factor(a)), "rhs": str(sp.factor(b))}
        free = {s for s in diff.free_symbols if s.is_Symbol}
        for point in sample_points(low, free, rng_for(ctx, NAME), 6):
            sides = defined_at([a, b], point)
            value = None if sides is None else sides[0] - sides[1]
            if value is not None and is_exact_zero(value) is False:
                return refuted(f"in closed form lhs = {closed['lhs']}, rhs = {closed['rhs']}; they "
                               f"differ at {show(point)}", NAME, closed_form=closed,
                               counterexample=show(point), difference=str(value))
        if simplify_zero(diff):
            return proved(f"in closed form both sides are {closed['lhs']} (moments of the declared "
                          f"distributions, independence, iid sums add)", NAME, closed_form=closed,
                          residual="0", general=True)
        return None
