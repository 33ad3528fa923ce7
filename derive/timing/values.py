"""Growth of quantities that are not costs: ``depth ~ L·log n``, ``E[rms(W x)²] ~ d``.

The decider sends every ``~`` / ``in O(…)`` / ``in Ω(…)`` statement to the timing engine, so
the engine also takes the growth of plain quantities over the sweep.  It builds the sweep and
the bound's values, then:

* a formula of sizes (``let depth = L * ceil(log2(n))``) is evaluated exactly;
* a deterministic expression of tensors is evaluated once per size by the lowering;
  both are fitted by the growth rule (:func:`derive.timing.exponents.growth_rule`);
* a random quantity is **routed to the numeric engine**, which decides it
  (:func:`derive.numeric.growth.decide_growth`): seeded replicate estimates at each size,
  a sequential rule with two pre-planned looks, budgets in draws, never seconds — the same
  seed gives the same verdict and evidence, exactly.
"""
from __future__ import annotations

import math
from typing import Any

import sympy as sp
import torch

from derive import model as m
from derive.engine import Context
from derive.numeric import growth as mc
from derive.numeric.instances import make_generator, sample_environment
from derive.numeric.lower import Evaluator, LoweringError
from derive.outcome import Outcome, Verdict
from derive.semantics import walk
from derive.analysis import SizeError, claim_seed, reachable, size_value
from derive.timing.sizes import build_grid, size_names
from derive.timing import wide
from derive.timing.verdicts import ENGINE, not_evaluable, _r, _size_filter, growth_rule, growth_vars, \
    source_of

EVAL_ERRORS = (SizeError, LoweringError, RuntimeError, ValueError, TypeError, IndexError)


def is_random(checked, e: m.Expr) -> bool:
    """Does the expression read a random name (directly or through definitions)?"""
    if any(isinstance(n, m.Stat) for n in walk(e)):
        return True
    return any(checked.symbols[n].random for n in reachable(checked, [e]) if n in checked.symbols)


def decide_value_growth(ctx: Context, lhs: m.Expr, bound: m.Expr, big_o: bool,
                        strategy: str) -> Outcome:
    checked = ctx.checked
    claim = checked.claim
    what = big_o if isinstance(big_o, str) else "O" if big_o else "Θ"
    evidence: dict[str, Any] = {"claim": f"{source_of(claim, lhs) or 'expression'} in "
                                         f"{what}({source_of(claim, bound) or 'bound'})"}
    gvars = growth_vars(checked, bound)
    needed = size_names(checked, reachable(checked, [lhs, bound]))
    grid = build_grid(checked, needed, gvars)
    gvars = [v for v in gvars if v in grid.names]
    sizes_seen = {v: sorted({p[v] for p in grid.points}) for v in gvars}
    if not gvars or any(len(s) < 2 for s in sizes_seen.values()):
        return Outcome(Verdict.INCONCLUSIVE, ENGINE, strategy, "a growth claim needs a sweep with "
                       "at least two sizes ('let n in [64, 128, 256]')", evidence)
    evidence.update({"sweep": sizes_seen, "grid_notes": grid.notes, "seed": ctx.options.seed})
    try:
        bounds = [size_value(bound, point, checked) for point in grid.points]
    except EVAL_ERRORS as exc:
        return not_evaluable(exc, "cannot evaluate the bound over the sweep", evidence, strategy)
    if any(not (b > 0) or not math.isfinite(b) for b in bounds):
        return Outcome(Verdict.INCONCLUSIVE, ENGINE, strategy, "the bound is zero or not finite "
                       "at some size; its growth exponent is undefined", evidence)
    if is_random(checked, lhs):
        try:   # the numeric engine decides: its estimates, its sequential rule, its budgets
            verdict, summary = mc.decide_growth(checked, ctx.index, lhs, grid.points, gvars,
                                                bounds, big_o, ctx.options.seed, evidence)
        except EVAL_ERRORS as exc:
            return not_evaluable(exc, "cannot evaluate the quantity over the sweep", evidence,
                                 strategy)
        return Outcome(verdict, ENGINE, strategy, summary, evidence)
    values, table, formula = [], [], True
    try:
        for point, b in zip(grid.points, bounds):
            try:
                value = size_value(lhs, point, checked)
            except SizeError:
                formula = False
                value = _deterministic(ctx, lhs, point)
            values.append(abs(value))
            table.append({**point, "value": _r(value), "bound": _r(b)})
    except EVAL_ERRORS as exc:
        return not_evaluable(exc, "cannot evaluate the quantity over the sweep", evidence, strategy)
    evidence.update({"decided_by": "exact values (a formula of sizes, or the lowering on "
                                   "deterministic inputs)", "table": table})
    if any(not (v > 0) or not math.isfinite(v) for v in values):
        return Outcome(Verdict.INCONCLUSIVE, ENGINE, strategy, "the quantity is zero or not "
                       "finite at some size; its growth exponent is undefined", evidence)
    verdict, summary = growth_rule(gvars, grid.points, values, bounds, big_o, "values", evidence,
                                   None, ctx.options.seed)
    if formula:
        verdict, summary = _wide_sizes(checked, lhs, bound, gvars, grid, big_o, verdict, summary,
                                       evidence)
    if formula and verdict == Verdict.VERIFIED:
        verdict, summary = _proved(checked, lhs, bound, gvars, grid, big_o, verdict, summary,
                                   evidence)
    return Outcome(verdict, ENGINE, strategy, summary, evidence)


def _proved(checked, lhs: m.Expr, bound: m.Expr, gvars: list[str], grid, big_o,
            verdict: Verdict, summary: str, evidence: dict[str, Any]) -> tuple[Verdict, str]:
    """A formula of sizes whose growth the asymptotic rules settle for every size ≥ 2
    (derive/timing/asymptotics.py): ``proved``; else the exact-value verdict stands."""
    from derive.timing.asymptotics import Undecided, decide
    from derive.timing.growth_proof import KINDS, bound_formula
    from derive.timing.symcount import size_symbol

    base = dict(grid.points[0])
    fixed = {k: v for k, v in base.items() if k not in gvars}
    if any(p[k] != v for p in grid.points for k, v in fixed.items()):
        return verdict, summary
    syms = {v: size_symbol(v) for v in gvars}
    kind = KINDS[big_o]
    try:
        value = bound_formula(lhs, checked, syms, fixed)
        g = sp.simplify(bound_formula(bound, checked, syms, fixed))
        proof = decide(value, g, [syms[v] for v in gvars], kind)
    except (Undecided, ValueError, TypeError, ZeroDivisionError, NotImplementedError) as exc:
        evidence["symbolic_proof"] = {"declined": str(exc)[:300]}
        return verdict, summary
    evidence["symbolic_proof"] = {"formula": sp.sstr(value), "bound": sp.sstr(g), "proof": proof,
                                  "certificate": {"route": "the formula of sizes and "
                                                  + proof.get("rule", "a limit")}}
    evidence["measured_verdict"] = {"verdict": verdict.value, "summary": summary}
    detail = proof.get("limit") or "; ".join(proof.get("terms", []))
    return Verdict.PROVED, f"proved: {sp.sstr(value)} for every size ≥ 2; {detail} ⇒ {kind}"


def _wide_sizes(checked, lhs: m.Expr, bound: m.Expr, gvars: list[str], grid, big_o,
                verdict: Verdict, summary: str, evidence: dict[str, Any]) -> tuple[Verdict, str]:
    """A formula of sizes is exact at any size: it is decided as exact counts are, by the
    ratio value/bound over rays of sizes out to 2^40 (:func:`derive.timing.wide.decide`), so
    a log factor is not taken for a small exponent over the sweep (``n·log n in O(n)``).
    The sweep rule's verdict stands where the formula cannot be evaluated that far."""
    try:
        result = wide.decide(checked, [], lhs, bound, gvars, dict(grid.points[0]), big_o,
                             grid.points, keep=_size_filter(checked))
    except (SizeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        evidence["wide_sizes"] = {"note": f"not evaluated over wide sizes: {exc}"}
        return verdict, summary
    if result is None:
        return verdict, summary
    text, wide_summary, wide_evidence = result
    evidence["wide_sizes"] = wide_evidence
    evidence["sweep_rule"] = {"verdict": verdict.value, "summary": summary,
                              "note": "the fitted exponents over the sweep describe; the ratio "
                                      "over wide sizes decides"}
    return Verdict(text), "values: " + wide_summary.replace("count / bound", "value / bound") \
        .replace("the count", "the value")


def _deterministic(ctx: Context, lhs: m.Expr, point: dict[str, int]) -> float:
    checked = ctx.checked
    g = make_generator(claim_seed(ctx.options.seed, checked.claim.id, f"growth:{point}"),
                       torch.device("cpu"))
    inst = sample_environment(checked, dict(point), g, torch.device("cpu"), torch.float64)
    ev = Evaluator(inst.env, torch.device("cpu"), torch.float64, checked)
    return float(mc.as_scalar(ev.ev(lhs))[0])
