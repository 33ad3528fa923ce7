"""Decide semi-algebraic statements with z3: conditions, ``<=>``/``=>``, inequalities,
scalar identities with abs/max/min/roots, and ``argmin``/``argmax`` over the feasible set.

The negated claim, with every declared bound, sign, ``assume`` and the side conditions
that make its terms defined, goes to z3's nlsat (complete for real polynomial
arithmetic).  unsat is a proof, carried as a certificate (route, hypotheses, each side
condition and how it was discharged); sat is an exact counterexample, re-checked in
SymPy before it is reported; unknown or a time-out passes to the next strategy.
"""
from __future__ import annotations

import signal
import time
from typing import Optional

import sympy as sp
import z3

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk
from derive.symbolic.common import (at_point, holds_at, is_equality, is_rational_function, plain,
                                    proved, refuted)
from derive.symbolic.lower import Lowering, Unsupported, lowering
from derive.symbolic.smt import NotInFragment, Translation, describe, to_sympy

NAME = "smt"
TIMEOUT_MS = 3000   # per z3 call: an unknown passes to the next strategy
ROUTE = "z3 nlsat (QF_NRA, complete for real polynomial arithmetic): the negation is unsat"
_INEQ = {"<", "<=", ">", ">=", "!="}
STATS = {"seconds": 0.0, "calls": 0}  # z3 time in this process (benchmarks/symbolic_bench.py);
# kept out of the evidence, which must not change between runs with one seed


class Smt:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        low = lowering(ctx.checked)
        try:
            if is_equality(st) and _argopt_pair(st) is not None:
                return ArgOptSmt(ctx, low).decide(*_argopt_pair(st))
            if not plain(ctx, st):
                return None
            if isinstance(st, m.Logic) or (isinstance(st, m.Compare) and any(o in _INEQ for o in st.ops)):
                claim = low.condition(st)
            elif is_equality(st) and low.is_scalar(st.operands[0]) and low.is_scalar(st.operands[1]):
                left, right = low.scalar(st.operands[0]), low.scalar(st.operands[1])
                if is_rational_function(left - right):
                    return None  # cancel decides these exactly (scalar-identity)
                claim = sp.Eq(left, right, evaluate=False)
            else:
                return None
        except (Unsupported, NotInFragment, z3.Z3Exception) as exc:
            ctx.notes.append(f"{NAME}: {exc}"[:300])
            return None
        if claim is sp.true or claim is sp.false:
            return None
        try:
            return Prover(ctx, low).decide(claim)
        except z3.Z3Exception as exc:
            ctx.notes.append(f"{NAME}: z3 error {exc}"[:300])
            return None


def _argopt_pair(st: m.Compare):
    a, b = st.operands
    for call, other in ((a, b), (b, a)):
        if isinstance(call, m.Call) and call.func in ("argmin", "argmax") and len(call.args) == 2 \
                and isinstance(call.args[0], m.Name) and not _has_argopt(other):
            return call, other
    return None


def _has_argopt(e: m.Expr) -> bool:
    return any(isinstance(n, m.Call) and n.func in ("argmin", "argmax") for n in walk(e))


def closure(low: Lowering, symbols: set) -> set:
    """The symbols, with every symbol tied to them through a declared condition."""
    wanted = set(symbols)
    grown = True
    while grown:
        grown = False
        for c in low.conditions:
            fs = getattr(c, "free_symbols", set())
            if fs & wanted and not fs <= wanted:
                wanted |= {s for s in fs if s.is_Symbol}
                grown = True
    return wanted


def timeout_ms() -> int:
    """TIMEOUT_MS, or less when the strategy's budget (a SIGALRM timer) ends sooner: a z3
    call cannot be interrupted by the Python-level alarm, so it is told the time left."""
    left = signal.getitimer(signal.ITIMER_REAL)[0] if hasattr(signal, "getitimer") else 0.0
    if left > 0:
        return max(50, min(TIMEOUT_MS, int(left * 1000) - 20))
    return TIMEOUT_MS


def solver(t: Translation) -> z3.Solver:
    ints = any(v.is_int() for v in t.vars.values())
    s = z3.Solver(ctx=t.ctx) if ints else z3.SolverFor("QF_NRA", ctx=t.ctx)
    s.set("timeout", timeout_ms())
    return s


class Prover:
    """One statement's z3 session: hypotheses, side conditions, the negated claim."""

    def __init__(self, ctx: Context, low: Lowering) -> None:
        self.ctx, self.low = ctx, low
        self.solver_s = 0.0

    def check(self, t: Translation, formulas: list) -> z3.CheckSatResult:
        s = solver(t)
        s.add(*formulas)
        start = time.perf_counter()
        try:
            return s.check(), s
        finally:
            spent = time.perf_counter() - start
            self.solver_s += spent
            STATS["seconds"] += spent
            STATS["calls"] += 1

    def hypotheses(self, t: Translation, symbols: set, skip=()) -> tuple[list, list]:
        """z3 forms of the declared conditions on these symbols (and their names)."""
        hyps, used = [], []
        for c in self.low.conditions:
            fs = getattr(c, "free_symbols", set())
            if c is sp.true or not fs & symbols or c in skip:
                continue
            try:
                hyps.append(t.boolean(c))
                used.append(str(c))
            except NotInFragment:
                continue  # dropping a hypothesis only makes the proof obligation stronger
        return hyps, used

    def domains(self, t: Translation) -> list:
        out = []
        for s in list(t.vars):
            out.extend(t.domain(s))
        return out

    def decide(self, claim: sp.Basic) -> Optional[Outcome]:
        syms = closure(self.low, {s for s in claim.free_symbols if s.is_Symbol})
        for relax in (True, False):
            outcome = self._decide(claim, syms, relax)
            if outcome != "retry":
                return outcome
        return None

    def _decide(self, claim, syms, relax: bool):
        t = Translation(relax_integers=relax)
        goal = t.boolean(claim)
        hyps, used = self.hypotheses(t, syms)
        decl = hyps + self.domains(t) + t.aux
        defined = [sc.formula for sc in t.side]
        res, _ = self.check(t, decl + defined)
        if res != z3.sat:
            self.ctx.notes.append(f"{NAME}: the declarations leave no point where the statement is "
                                  f"defined ({res}); no proof from them")
            return None
        res, s = self.check(t, decl + defined + [z3.Not(goal)])
        if res == z3.unknown:
            self.ctx.notes.append(f"{NAME}: z3 answered unknown ({s.reason_unknown()})")
            return None
        if res == z3.sat:
            point = model_point(t, s.model())
            if relax and any(k.is_integer and not v.is_integer for k, v in point.items()):
                return "retry"  # the relaxed model is not integral: ask again with integer sorts
            return self.refutation(claim, point, t, s.model(), decl + defined + [z3.Not(goal)])
        guard = claim.args[0] if isinstance(claim, sp.Implies) else sp.true
        # without the roots' defining equations: r² = b itself forces b ≥ 0
        sides = self.discharge(t, hyps + self.domains(t), guard)
        if sides is None:
            return None
        cert = {"route": ROUTE, "hypotheses": used or ["(none beyond the types)"],
                "side_conditions": sides,
                "integers": "relaxed to reals (a proof over a superset of the domain)"
                if relax and any(k.is_integer for k in t.vars) else "exact sorts"}
        if isinstance(claim, sp.Implies):
            res, _ = self.check(t, decl + defined + [t.boolean(claim.args[0])])
            if res == z3.unsat:
                cert["vacuous"] = "the premise never holds on the declared domain (z3: unsat)"
        summary = "z3 finds no counterexample on the declared domain (negation unsat)" + (
            "; vacuously: the premise never holds" if "vacuous" in cert else "")
        return proved(summary, NAME, certificate=cert)

    def discharge(self, t: Translation, decl: list, guard) -> Optional[list]:
        """Each side condition: implied by the declarations, or (a polynomial denominator)
        a restriction to where the statement is defined.  None when one cannot stand."""
        out = []
        try:
            g = [t.boolean(guard)]
        except NotInFragment:
            g = []
        for sc in t.side:
            res, _ = self.check(t, decl + g + [z3.Not(sc.formula)])
            if res == z3.unsat:
                out.append({"condition": f"{sc.kind}: {sc.expr}",
                            "discharged": "implied by the declarations (z3: unsat)"})
            elif sc.kind == "denominator ≠ 0" and not sc.expr.has(sp.Abs, sp.Max, sp.Min,
                                                                  sp.Piecewise, sp.sign):
                out.append({"condition": f"{sc.kind}: {sc.expr}",
                            "discharged": "read where defined: the statement says nothing "
                                          "where this polynomial vanishes (a null set)"})
            else:
                self.ctx.notes.append(f"{NAME}: side condition {sc.kind} of {sc.expr} does not "
                                      f"follow from the declarations")
                return None
        return out

    def refutation(self, claim, point: dict, t: Translation, model, formulas) -> Optional[Outcome]:
        """Report a counterexample only after an exact check that it meets every lowered
        condition and falsifies the claim (SymPy; z3's own exact model for algebraic values)."""
        names = {str(k) for k in point}
        if any(isinstance(n, m.Name) and n.id in names for c in self.low.unlowered for n in walk(c)):
            self.ctx.notes.append(f"{NAME}: a counterexample exists but an assume could not be "
                                  f"stated; not reported")
            return None
        how = _exact_false(claim, point, self.low)
        if how is None:
            self.ctx.notes.append(f"{NAME}: z3's counterexample did not check in SymPy; not reported")
            return None
        shown = {str(k): describe(v) for k, v in sorted(point.items(), key=lambda kv: kv[0].name)}
        text = ", ".join(f"{k} = {v}" for k, v in shown.items())
        return refuted(f"false at {text} (z3 model, checked {how})", NAME, exact_point=point,
                       counterexample=shown)


def covered(low: Lowering, point: dict, extra: frozenset = frozenset()) -> bool:
    """Every declared condition touching the point's names can be checked at it (a
    condition z3 never saw, on a name the point leaves free, would go unchecked)."""
    names = set(point) | extra
    return all(getattr(c, "free_symbols", set()) <= names for c in low.conditions
               if getattr(c, "free_symbols", set()) & names)


def model_point(t: Translation, model) -> dict:
    return {s: to_sympy(model.evaluate(v, model_completion=True)) for s, v in t.vars.items()}


def _exact_false(claim, point: dict, low: Lowering) -> Optional[str]:
    """'in SymPy' or 'by z3's exact model' when the point falsifies the claim, else None."""
    if not covered(low, point):
        return None
    conds = [c for c in low.conditions if getattr(c, "free_symbols", set()) <= set(point)]
    algebraic = any(isinstance(v, sp.CRootOf) for v in point.values())
    try:
        value = at_point(claim, point)
        ok = holds_at(conds, point)
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
        value, ok = None, False
    if value is sp.false and ok:
        return "exactly in SymPy"
    if value is sp.true:
        return None  # the engines disagree about the point: never report it
    if algebraic:
        return "by z3's exact algebraic model (SymPy could not evaluate it)"
    return None


class ArgOptSmt(Prover):
    """``argmin(η, f) == r``: r feasible, no feasible η does better, and none ties."""

    def decide(self, call: m.Call, other: m.Expr) -> Optional[Outcome]:
        var = call.args[0].id
        info = self.low.info(var)
        if info is not None and info.role != "scalar":
            return None  # a vector or matrix variable: not this strategy's
        for n in walk(call.args[1]):
            i = self.low.info(n.id) if isinstance(n, m.Name) else None
            if i is not None and (i.random or i.role in ("sequence", "function")):
                return None
        eta = self.low.symbols.get(var) or sp.Symbol(var, real=True)
        f = self.low.scalar(call.args[1], {var: eta})
        r = self.low.scalar(other)
        while isinstance(f, sp.exp):
            f = f.args[0]  # exp is strictly increasing: the same optimisers
        if call.func == "argmax":
            f = -f
        if eta in r.free_symbols:
            return None
        if eta.is_integer and r.is_integer is False:
            return refuted(f"the claimed {r} is not an integer, and {eta} is", NAME, claimed=str(r))
        if eta.is_integer and r.is_integer is not True:
            return None  # integrality of an expression is not stated to z3
        params = closure(self.low, {s for s in (f.free_symbols | r.free_symbols) if s.is_Symbol}
                         - {eta}) - {eta}
        t = Translation(relax_integers=False)
        feas = [c for c in self.low.conditions if eta in getattr(c, "free_symbols", set())] + \
            _flag_conds(eta)
        params |= {s for c in feas for s in c.free_symbols if s.is_Symbol} - {eta}
        params = closure(self.low, params) - {eta}
        at_r = [c.subs(eta, r) for c in feas]
        z_eta = t.var(eta)
        fe = t.expr(f)
        before = len(t.side)
        z_r = t.expr(r)
        fr = t.expr(f.subs(eta, r))
        at_claim = t.side[before:]  # what r and f(r) need to be defined
        z_feas = [t.boolean(c) for c in feas]
        z_feas_r = [t.boolean(c) for c in at_r]
        hyps, used = self.hypotheses(t, params, skip=feas)
        pdecl = hyps + [d for s in t.vars if s != eta for d in t.domain(s)] + t.aux
        defined = [sc.formula for sc in t.side]
        res, _ = self.check(t, pdecl)
        if res != z3.sat:
            return None
        # 1. r is feasible for every admissible parameter value
        res, s = self.check(t, pdecl + [z3.Not(t.all(z_feas_r))])
        if res == z3.sat:
            point = {k: v for k, v in model_point(t, s.model()).items() if k != eta}
            return self._report_infeasible(point, r, list(zip(feas, at_r)), eta)
        if res != z3.unsat:
            return None
        # r and the objective at r are defined for every admissible parameter value, up
        # to the null set where a polynomial denominator vanishes
        for sc in at_claim:
            res, _ = self.check(t, pdecl + [z3.Not(sc.formula)])
            if res != z3.unsat and not (sc.kind == "denominator ≠ 0" and not sc.expr.has(
                    sp.Abs, sp.Max, sp.Min, sp.Piecewise, sp.sign)):
                self.ctx.notes.append(f"{NAME}: {sc.kind} of {sc.expr} at the claimed {r} does "
                                      f"not follow from the declarations")
                return None
        # 2. no feasible η does better; 3. none ties (the minimiser is unique)
        res, s = self.check(t, pdecl + z_feas + defined + [fe < fr])
        if res == z3.sat:
            point = model_point(t, s.model())
            return self._report_better(f, r, eta, point, call.func)
        if res != z3.unsat:
            return None
        res, _ = self.check(t, pdecl + z_feas + defined + [z_eta != z_r, fe <= fr])
        if res != z3.unsat:
            self.ctx.notes.append(f"{NAME}: {r} is optimal but not shown unique ({res})")
            return None
        word = "minimiser" if call.func == "argmin" else "maximiser"
        cert = {"route": "z3 nlsat: r is feasible (unsat of its negation), no feasible point is "
                         "better (unsat) and none ties (unsat)",
                "feasible_set": [str(c) for c in feas] + (["integer"] if eta.is_integer else []),
                "hypotheses": used or ["(none beyond the types)"],
                "side_conditions": [{"condition": f"{sc.kind}: {sc.expr}",
                                     "discharged": "the objective is compared only where defined"}
                                    for sc in t.side]}
        return proved(f"{r} is the unique {word} of the objective over the feasible set of {eta} "
                      f"(bounds and assumes included)", NAME, certificate=cert)

    def _report_infeasible(self, point, r, pairs, eta) -> Optional[Outcome]:
        if not covered(self.low, point, frozenset({eta})):
            return None
        rv = at_point(r, point) if point else r
        bad = [f"{c} with {eta} = {rv}" for c, c_r in pairs if _false(c_r, point)]
        if not bad or not holds_at([c for c in self.low.conditions
                                    if getattr(c, "free_symbols", set()) <= set(point)], point):
            return None
        where = ", ".join(f"{k} = {describe(v)}" for k, v in sorted(point.items(), key=lambda kv: kv[0].name))
        return refuted(f"{'at ' + where + ', ' if where else ''}the claimed {rv} is not feasible: "
                       f"{bad[0]} fails", NAME, counterexample={str(k): describe(v) for k, v in point.items()},
                       claimed=str(rv))

    def _report_better(self, f, r, eta, point, func) -> Optional[Outcome]:
        params = {k: v for k, v in point.items() if k != eta}
        if not covered(self.low, point):
            return None
        try:
            rv = at_point(r, params) if params else r
            better = at_point(f, point)
            base = at_point(f.subs(eta, r), params) if params else f.subs(eta, r)
            ok = holds_at(self.low.conditions, point) if all(
                getattr(c, "free_symbols", set()) <= set(point) for c in self.low.conditions) else \
                holds_at([c for c in self.low.conditions
                          if getattr(c, "free_symbols", set()) <= set(point)], point)
            lower = sp.Lt(better, base)
        except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
            return None
        if lower is not sp.true or not ok:
            return None
        sign = 1 if func == "argmin" else -1
        return refuted(f"{eta} = {describe(point[eta])} is feasible and better than the claimed {rv}: "
                       f"objective {sign * better} against {sign * base}", NAME,
                       counterexample={str(k): describe(v) for k, v in point.items()},
                       claimed=str(rv))


def _flag_conds(s: sp.Symbol) -> list:
    """The sign assumptions of the optimised variable as conditions (so they can be
    evaluated at the claimed optimiser too)."""
    out = []  # unevaluated: with the symbol's own assumptions Gt(η, 0) would be just True
    if s.is_positive:
        out.append(sp.Gt(s, 0, evaluate=False))
    elif s.is_nonnegative:
        out.append(sp.Ge(s, 0, evaluate=False))
    if s.is_negative:
        out.append(sp.Lt(s, 0, evaluate=False))
    elif s.is_nonpositive:
        out.append(sp.Le(s, 0, evaluate=False))
    if s.is_nonzero and not (s.is_positive or s.is_negative):
        out.append(sp.Ne(s, 0, evaluate=False))
    return out


def _false(cond, point) -> bool:
    try:
        return at_point(cond, point) is sp.false
    except (TypeError, ValueError, ZeroDivisionError):
        return False
