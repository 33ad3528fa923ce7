"""Conditions, inequalities, ``<=>`` and ``=>`` over the free real scalars.

Proof: pick one variable, solve each side over the reals (the other names stay
symbolic, with their assumptions), intersect with the variable's declared domain and
compare the interval endpoints with decided signs.  An integer with a finite declared
range (a 0/1 label, a small count) is split into its cases first: each value substituted,
each case proved over the remaining names (:func:`finite_cases`).  Refutation: instantiate the
parameters at seeded rational points, solve numerically, and exhibit a point where the
statement is exactly false (checked by substitution into the statement itself).
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.symbolic.common import (holds_at, proved, refuted, rng_for, sample_points,
                                    show, sign_of, truth_at, within)
from derive.symbolic.intervals import (Undecided, contained, describe, intersect, periodic_in,
                                       pieces, point_in, same, truth_set)
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.common import plain, special_points

NAME = "conditions"
POINTS = 8
MAX_CASES = 16  # joint values of the finite-range integers, at most, for a proof by cases
GUIDED_S = 0.75  # the solver-guided counterexample search, after the proof failed
_INEQ = {"<", "<=", ">", ">=", "!="}


def is_condition_statement(st: m.Expr) -> bool:
    if isinstance(st, m.Logic):
        return True
    return isinstance(st, m.Compare) and any(op in _INEQ for op in st.ops)


class Conditions:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_condition_statement(st) or not plain(ctx, st):
            return None
        low = lowering(ctx.checked)
        try:
            claim = low.condition(st)
        except Unsupported as exc:
            ctx.notes.append(f"{NAME}: {exc}")
            return None
        if claim is sp.true:
            return proved("the statement is true as written", NAME)
        free = sorted((s for s in claim.free_symbols if s.is_Symbol), key=lambda s: s.name)
        if any(s.is_real is not True for s in free) or claim.has(sp.Indexed, sp.Sum):
            return None
        bad = self.sampled(ctx, claim, free)
        if bad is not None:
            return refuted(f"false at {_fmt(bad)}", NAME, counterexample=show(bad))
        outcome = self.prove(ctx, st, claim, free)
        if outcome is not None:
            return outcome
        bad = within(GUIDED_S, self.guided, ctx, claim, free)
        if bad is not None:
            return refuted(f"false at {_fmt(bad)}", NAME, counterexample=show(bad))
        return None

    # ---------------------------------------------------------------- refute
    def sampled(self, ctx: Context, claim: sp.Basic, free: list) -> Optional[dict]:
        low = lowering(ctx.checked)
        points = special_points(low, free, [claim], rng_for(ctx, NAME + "/special")) + \
            sample_points(low, free, rng_for(ctx, NAME), POINTS)
        for point in points:
            if _false_at(claim, point):
                return point
        return None

    def guided(self, ctx: Context, claim: sp.Basic, free: list) -> Optional[dict]:
        low = lowering(ctx.checked)
        rng = rng_for(ctx, NAME + "/guided")
        for v in free:  # guided: solve in v with the others fixed at rational values
            if v.is_integer:
                continue
            others = [s for s in free if s != v]
            for params in sample_points(low, others, rng, 3):
                inst = claim.subs(params)
                try:
                    wrong = truth_set(_negate(inst), v, generic=True)
                    dom = low.domain_set(v).subs(params)
                    cand = point_in(sp.Intersection(wrong, dom))
                except (Undecided, NotImplementedError, TypeError, ValueError):
                    continue
                if cand is None:
                    continue
                point = {**params, v: cand}
                if holds_at(low.conditions, point) and _false_at(claim, point):
                    return point
        return None

    # ---------------------------------------------------------------- prove
    def prove(self, ctx: Context, st: m.Expr, claim: sp.Basic, free: list) -> Optional[Outcome]:
        low = lowering(ctx.checked)
        if not free:
            return None
        cases = finite_cases(low, free) if len(free) > 1 else None
        if cases is not None:
            return self.by_cases(ctx, st, claim, free, cases)
        if isinstance(st, m.Compare) and len(free) > 1 and len(st.ops) == 1 and st.ops[0] != "!=":
            rel = claim
            gap = rel.gts - rel.lts if isinstance(rel, sp.Rel) else None
            if gap is not None:
                s = sign_of(gap, low)
                strict = isinstance(rel, (sp.StrictGreaterThan, sp.StrictLessThan))
                if s == 1 or (s == 0 and not strict):
                    return proved(f"{rel.gts} − {rel.lts} has a decided sign under the assumptions",
                                  NAME, difference=str(sp.factor(gap)), certificate={
                                      "route": "the difference of the sides factors into terms of "
                                               "known sign (SymPy sign facts of the declarations)",
                                      "side_conditions": [{"condition": f"sign of {sp.factor(gap)}",
                                                           "discharged": "decided for every value "
                                                           "of the declared names"}]})
        if len(free) > 1:
            # solving in one variable answers for generic values of the others (c·x = c·y
            # gives x = y, wrong at c = 0): without every parameter case, no proof
            ctx.notes.append(f"{NAME}: solution sets in one variable would hold only for generic "
                             f"values of the others; declined")
            return None
        for v in free:
            if v.is_integer:
                continue
            try:
                dom_set = low.domain_set(v)
                dom = pieces(dom_set, low)
                outcome = self._prove_in(claim, st, v, dom, low, dom_set)
            except (Undecided, NotImplementedError, TypeError, ValueError) as exc:
                ctx.notes.append(f"{NAME}: in {v}: {exc}")
                continue
            if outcome is not None:
                return outcome
        return None

    def by_cases(self, ctx: Context, st: m.Expr, claim: sp.Basic, free: list,
                 cases: list[dict]) -> Optional[Outcome]:
        """A proof by cases over the finite-range integers: every joint value substituted
        and the case proved over the remaining names (a case that is false, or that no
        route proves, leaves the statement unproved: refutation is the samplers' job)."""
        proofs = []
        for case in cases:
            inst = claim.subs(case)
            if inst is sp.true:
                proofs.append(f"{_fmt(case)}: true as written")
                continue
            if inst is sp.false:
                return None
            rest = sorted((s for s in inst.free_symbols if s.is_Symbol), key=lambda s: s.name)
            if not rest or any(s in case for s in rest):
                return None
            outcome = self.prove(ctx, st, inst, rest)
            if outcome is None:
                return None
            proofs.append(f"{_fmt(case)}: {outcome.summary}")
        names = ", ".join(sorted({str(k) for c in cases for k in c}))
        return proved(f"by cases over {names} ({len(cases)} values): " + "; ".join(proofs), NAME,
                      cases=proofs, certificate={
                          "route": f"a proof by cases over the finite declared range of {names}",
                          "side_conditions": [{"condition": f"{names} takes only the values "
                                               f"{', '.join(_fmt(c) for c in cases)}",
                                               "discharged": "the declared integer range, "
                                               "enumerated"}]})

    def _prove_in(self, claim, st, v, dom, low, dom_set) -> Optional[Outcome]:
        cert = _certificate(claim, v, dom)

        def sol(c):
            return intersect(pieces(truth_set(c, v, dom_set), low), dom, low)
        if isinstance(claim, sp.Equivalent) and len(claim.args) == 2:
            a, b = sol(claim.args[0]), sol(claim.args[1])
            if not a and not b:
                raise Undecided("both solution sets came out empty: a vacuous proof is left to "
                                "a procedure that certifies the emptiness")
            if same(a, b, low):
                return proved(f"both sides hold exactly for {v} in {_pieces(a)}", NAME,
                              variable=str(v), solution_set=_pieces(a), certificate=cert)
            return None
        if isinstance(claim, sp.Implies):
            a, b = sol(claim.args[0]), sol(claim.args[1])
            if not a:
                raise Undecided("the premise set came out empty: a vacuous proof is left to "
                                "a procedure that certifies the emptiness")
            if contained(a, b, low):
                return proved(f"{_pieces(a)} ⊆ {_pieces(b)} for {v}", NAME, variable=str(v),
                              premise_set=_pieces(a), conclusion_set=_pieces(b), certificate=cert)
            return None
        a = sol(claim)
        if same(a, dom, low) or contained(dom, a, low):
            return proved(f"holds for every {v} in its domain {_pieces(dom)}", NAME,
                          variable=str(v), solution_set=_pieces(a), certificate=cert)
        return None


def finite_cases(low, free: list) -> Optional[list[dict]]:
    """Every joint value of the free integers whose declared range is finite (at most
    ``MAX_CASES``), or None when there are none, a range is infinite or too large, or no
    other name would be left to solve in."""
    ranges = {}
    for s in free:
        if not s.is_integer:
            continue
        dom = low.domain_set(s)
        if not isinstance(dom, (sp.Range, sp.FiniteSet)) or not dom.is_finite_set \
                or len(dom) > MAX_CASES:
            continue
        ranges[s] = [sp.Integer(v) for v in dom]
    if not ranges or len(ranges) == len(free):
        return None
    cases: list[dict] = [{}]
    for s, values in ranges.items():
        cases = [{**c, s: v} for c in cases for v in values]
        if len(cases) > MAX_CASES:
            return None
    return cases


def _certificate(claim: sp.Basic, v: sp.Symbol, dom) -> dict:
    """How a one-variable solution-set proof stands: exact sets, no parameter cases."""
    sides = [{"condition": f"{v} is the only free name",
              "discharged": "no parameter cases: the solution sets are exact, not generic"},
             {"condition": f"{v} in its declared domain {_pieces(dom)}",
              "discharged": "the sets are intersected with it"}]
    if periodic_in(claim, v):
        sides.append({"condition": "periodic functions of " + str(v),
                      "discharged": "solved over the bounded domain, with finitely many roots there"})
    return {"route": f"solution sets in {v} (SymPy solveset / univariate inequalities) compared "
                     f"with decided endpoint order", "side_conditions": sides}


def _negate(claim: sp.Basic) -> sp.Basic:
    if isinstance(claim, sp.Equivalent):
        a, b = claim.args
        return sp.Or(sp.And(a, sp.Not(b)), sp.And(b, sp.Not(a)))
    if isinstance(claim, sp.Implies):
        return sp.And(claim.args[0], sp.Not(claim.args[1]))
    return sp.Not(claim)


def _false_at(claim: sp.Basic, point: dict) -> bool:
    """Certainly false at the point (never on SymPy's few-digit comparison of numbers)."""
    return truth_at(claim, point) is False


def _pieces(ps) -> str:
    return describe(ps)


def _fmt(point: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in sorted(point.items(), key=lambda kv: str(kv[0])))
