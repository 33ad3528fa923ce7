"""Growth of quantities that are not costs: ``depth ~ L·log n``, ``E[rms(W x)²] ~ d``.

The decider sends every ``~`` / ``in O(…)`` / ``in Ω(…)`` statement to the timing engine, so
the engine also decides the growth of plain quantities over the sweep:

* a formula of sizes (``let depth = L * ceil(log2(n))``) is evaluated exactly;
* a deterministic expression of tensors is evaluated once per size by the lowering;
* a random quantity is estimated at each size by the numeric engine
  (:func:`derive.numeric.growth.estimate_sweep`): independent replicates of seeded samples,
  a statistic (``E``, ``Var``, ``Std``, ``P``) per replicate — or, without one, the median
  |value| per replicate (its typical size) — their mean with a Student-t interval, and the
  draws taken.  The replicates give a bootstrap interval of the fitted exponent.

The growth rule is the one of :func:`derive.timing.verdicts.growth_rule` (its Ω mirror for
lower bounds); Monte-Carlo values are fitted through the mean of the replicates.

Monte Carlo is **sequential with two pre-planned looks** (group-sequential, Bonferroni):
each look's intervals are at level ``1 − (1 − CONFIDENCE) / LOOKS``, so the chance that
either look errs is at most ``1 − CONFIDENCE`` whatever the stopping.  The first look
draws within ``LOOK_BUDGETS[0]``; it decides only when its interval clears the rule's band
by ``LOOK1_MARGIN × tol`` (a wide margin).  Otherwise the second look draws a fresh set
within ``LOOK_BUDGETS[1]`` and decides as before.  A size whose interval contains 0 (the
quantity is not told apart from 0 there: its growth exponent is undefined) sends the first
look on to the second, and makes the second inconclusive.

**Budgets count draws (random scalars), per size and per look, never seconds**: nothing on
this path reads the clock, so the same seed gives the same replicates, intervals, fit and
verdict on any machine at any load.  The claim's own time limit (the runner's) stops a
claim as a whole, never a look part-way.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from derive import model as m
from derive.engine import Context
from derive.numeric import growth as mc
from derive.numeric.instances import make_generator, sample_environment
from derive.numeric.lower import Evaluator, LoweringError
from derive.outcome import Outcome, Verdict
from derive.semantics import walk
from derive.timing import stats
from derive.analysis import SizeError, claim_seed, reachable, size_value
from derive.timing.sizes import build_grid, size_names
from derive.timing.verdicts import ENGINE, not_evaluable, _r, growth_rule, growth_vars, source_of

LOOKS = 2                  # pre-planned looks of the sequential Monte-Carlo rule
LOOK_BUDGETS = (           # random scalars drawn per look: at one size, and in all
    mc.DrawBudget(per_size=1_000_000, total=3_000_000),
    mc.DrawBudget(per_size=4_000_000, total=12_000_000),
)
LOOK1_MARGIN = 0.5         # × EXPONENT_TOL: the first look decides only with this margin
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
        return _monte_carlo_growth(ctx, lhs, grid, gvars, bounds, big_o, strategy, evidence)
    values, table = [], []
    try:
        for point, b in zip(grid.points, bounds):
            try:
                value = size_value(lhs, point, checked)
            except SizeError:
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
    return Outcome(verdict, ENGINE, strategy, summary, evidence)


def _monte_carlo_growth(ctx: Context, lhs: m.Expr, grid, gvars: list[str], bounds: list[float],
                        big_o, strategy: str, evidence: dict[str, Any]) -> Outcome:
    """The sequential two-look rule on the numeric engine's per-size estimates."""
    checked = ctx.checked
    level = 1 - (1 - stats.CONFIDENCE) / LOOKS
    drawn: list[int] = []
    for look, budget in enumerate(LOOK_BUDGETS, 1):
        first = look == 1 and len(LOOK_BUDGETS) > 1
        try:
            sweep = mc.estimate_sweep(checked, ctx.index, lhs, grid.points, ctx.options.seed,
                                      budget, level, tag="look1" if first else "",
                                      first_look=first)
        except mc.BudgetExceeded as exc:
            evidence.update({"budget": budget.as_dict(), "draws": sum(drawn)})
            return Outcome(Verdict.INCONCLUSIVE, ENGINE, strategy, "the Monte-Carlo budget of "
                           f"draws does not cover the sweep (look {look} of {LOOKS}): {exc}",
                           evidence)
        except EVAL_ERRORS as exc:
            return not_evaluable(exc, "cannot evaluate the quantity over the sweep", evidence,
                                 strategy)
        drawn.append(sweep.draws)
        values, samples = mc.growth_samples(sweep)
        evidence.update({
            "decided_by": f"Monte-Carlo estimates by the numeric engine (look {look} of {LOOKS}: "
                          f"{sweep.method}; {level * 100:g}% intervals per look, Bonferroni over "
                          f"{LOOKS} looks; budgets in draws, never seconds)",
            "table": [{**s.as_dict(), "value": _r(v), "bound": _r(b)}
                      for s, v, b in zip(sweep.sizes, values, bounds)],
            "looks": look, "confidence": level, "budget": budget.as_dict(),
            "draws": {"this_look": sweep.draws, "all_looks": sum(drawn)}})
        unclear = [s for s in sweep.sizes if not s.excludes_zero()
                   or not all(math.isfinite(x) for x in s.replicates)]
        if unclear:
            if look < len(LOOK_BUDGETS):
                continue  # more draws may tell it from 0
            at = ", ".join(f"{k}={v}" for k, v in unclear[0].point.items())
            lo, hi = unclear[0].interval
            return Outcome(Verdict.INCONCLUSIVE, ENGINE, strategy, "the quantity is not told "
                           f"apart from 0 at {at} (its {level * 100:g}% interval "
                           f"[{lo:.3g}, {hi:.3g}] from {unclear[0].draws:,} draws contains 0); its "
                           "growth exponent is undefined there", evidence)
        if first:
            early, _ = growth_rule(gvars, grid.points, values, bounds, big_o, "values", {},
                                   samples, ctx.options.seed, level,
                                   LOOK1_MARGIN * stats.EXPONENT_TOL, center="mean")
            if early not in (Verdict.VERIFIED, Verdict.REFUTED):
                continue  # not clear with the margin: the second look decides
        verdict, summary = growth_rule(gvars, grid.points, values, bounds, big_o, "values",
                                       evidence, samples, ctx.options.seed, level,
                                       center="mean")
        return Outcome(verdict, ENGINE, strategy, summary + _mc_note(evidence, gvars, sweep, look),
                       evidence)
    raise AssertionError("unreachable: the last look always decides")


def _mc_note(evidence: dict[str, Any], gvars: list[str], sweep: mc.SweepEstimate,
             look: int) -> str:
    """What a Monte-Carlo growth verdict rests on: the excess exponent's interval, its
    confidence and the draws (the per-size estimates are in the evidence's table)."""
    excess = evidence.get("excess_exponent", {})
    parts = [f"{v} {excess[v]['exponent']:+g} [{excess[v]['interval'][0]:+g}, "
             f"{excess[v]['interval'][1]:+g}]" for v in gvars if v in excess]
    level = evidence.get("confidence", stats.CONFIDENCE)
    return (f"; excess exponent {', '.join(parts)} at {level * 100:g}% confidence per look "
            f"({stats.CONFIDENCE * 100:g}% over {LOOKS}), from "
            f"{evidence['draws']['all_looks']:,} draws ({len(sweep.sizes)} sizes × "
            f"{mc.REPLICATES} replicates, look {look} of {LOOKS})")


def _deterministic(ctx: Context, lhs: m.Expr, point: dict[str, int]) -> float:
    checked = ctx.checked
    g = make_generator(claim_seed(ctx.options.seed, checked.claim.id, f"growth:{point}"),
                       torch.device("cpu"))
    inst = sample_environment(checked, dict(point), g, torch.device("cpu"), torch.float64)
    ev = Evaluator(inst.env, torch.device("cpu"), torch.float64, checked)
    return float(mc.as_scalar(ev.ev(lhs))[0])
