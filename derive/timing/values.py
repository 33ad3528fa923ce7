"""Growth of quantities that are not costs: ``depth ~ L·log n``, ``E[rms(W x)²] ~ d``.

The decider sends every ``~`` / ``in O(…)`` statement to the timing engine, so the engine
also decides the growth of plain quantities over the sweep:

* a formula of sizes (``let depth = L * ceil(log2(n))``) is evaluated exactly;
* a deterministic expression of tensors is evaluated once per size by the lowering;
* a random quantity is estimated by Monte Carlo with the numeric engine's sampler: in
  ``CHUNKS`` independent chunks of samples, a statistic (``E``, ``Var``, ``Std``, ``P``) is
  computed per chunk; a random quantity without one is summarised by its median |value|
  per chunk (its typical size).  The chunks give a bootstrap interval of the exponent.

The growth rule is the one of :func:`derive.timing.verdicts.growth_rule`.

Monte Carlo is **sequential with two pre-planned looks** (group-sequential, Bonferroni):
each look's interval is at level ``1 − (1 − CONFIDENCE) / LOOKS``, so the chance that
either look errs is at most ``1 − CONFIDENCE`` whatever the stopping.  The first look
spends ``LOOK1_BUDGET_DRAWS`` random scalars; it decides only when its interval clears the
rule's band by ``LOOK1_MARGIN × tol`` (a wide margin).  Otherwise the second look draws a
fresh, full ``MC_BUDGET_DRAWS`` set of chunks and decides as before.  Budgets count draws,
never seconds: the same seed gives the same chunks and the same verdict on any machine.  Draws and arithmetic are float32
(float64 again if float32 gives a zero or non-finite estimate).
"""
from __future__ import annotations

import math
from typing import Any

import torch

from derive import model as m
from derive.engine import Context
from derive.numeric.instances import claim_seed, make_generator, sample_environment
from derive.numeric.lower import Evaluator, LoweringError
from derive.outcome import Outcome, Verdict
from derive.semantics import walk
from derive.timing import stats
from derive.timing.measure import pinned_threads
from derive.timing.sizes import SizeError, build_grid, reachable, size_names, size_value
from derive.timing.verdicts import ENGINE, not_evaluable, _r, growth_rule, growth_vars, source_of

CHUNKS = 8
MIN_CHUNKS = 4
MC_BUDGET_DRAWS = 12_000_000   # random scalars of Monte Carlo per statement (second look)
CHUNK_ELEMENTS = 1 << 21   # random entries per chunk, at most
MAX_CHUNK = 512
MIN_CHUNK = 16
LOOKS = 2                  # pre-planned looks of the sequential Monte-Carlo rule
LOOK1_BUDGET_DRAWS = 3_000_000  # random scalars of the first look per statement
LOOK1_MARGIN = 0.5         # × EXPONENT_TOL: the first look decides only with this margin
MC_DTYPE = torch.float32


def is_random(checked, e: m.Expr) -> bool:
    """Does the expression read a random name (directly or through definitions)?"""
    if any(isinstance(n, m.Stat) for n in walk(e)):
        return True
    return any(checked.symbols[n].random for n in reachable(checked, [e]) if n in checked.symbols)


def _chunk_size(checked, names: set[str], point: dict[str, int]) -> int:
    total = 0
    for n in names:
        info = checked.symbols.get(n)
        if info is not None and info.random and info.role == "tensor":
            try:
                total += math.prod(int(size_value_dim(d, point)) for d in info.vtype.shape)
            except (SizeError, TypeError):
                total += 1
        elif info is not None and info.random:
            total += 1
    return int(max(MIN_CHUNK, min(MAX_CHUNK, CHUNK_ELEMENTS // max(total, 1))))


def size_value_dim(d: Any, point: dict[str, int]) -> float:
    if d is None:
        raise SizeError("unknown size")
    free = {s: point[s.name] for s in d.free_symbols if s.name in point}
    v = d.subs(free) if free else d
    if not v.is_number:
        raise SizeError("a size has no value")
    return float(v)


def _scalar(v: Any) -> torch.Tensor:
    t = v if isinstance(v, torch.Tensor) else torch.tensor([float(v)], dtype=torch.float64)
    if t.dim() > 1 and t[0].numel() == 1:
        t = t.reshape(t.shape[0])
    if t.dim() != 1:
        raise LoweringError("the quantity is not a scalar")
    if t.is_complex():
        t = t.abs()
    return t.to(torch.float64)


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
    random = is_random(checked, lhs)
    names = reachable(checked, [lhs])
    has_stat = any(isinstance(n, m.Stat) for n in walk(lhs))
    looks = [(LOOK1_BUDGET_DRAWS, "look1", LOOK1_MARGIN * stats.EXPONENT_TOL),
             (MC_BUDGET_DRAWS, "", 0.0)] if random else [(0, "", 0.0)]
    level = 1 - (1 - stats.CONFIDENCE) / LOOKS
    for look, (budget, tag, pad) in enumerate(looks, 1):
        values, bounds, samples, table = [], [], [], []
        try:
            with pinned_threads("cpu"):
                _evaluate_grid(ctx, lhs, bound, grid, random, names, values, bounds, samples,
                               table, budget, tag)
        except (SizeError, LoweringError, RuntimeError, ValueError, TypeError, IndexError) as exc:
            return not_evaluable(exc, "cannot evaluate the quantity over the sweep", evidence,
                                  strategy)
        how = ("exact values (a formula of sizes, or the lowering on deterministic inputs)"
               if not random else f"Monte-Carlo estimates (look {look} of {LOOKS}: "
               f"{min(len(s) for s in samples)}–{max(len(s) for s in samples)} chunks per size, "
               f"{'the statistic per chunk' if has_stat else 'median |value| per chunk'}; "
               f"{level * 100:g}% interval per look, Bonferroni over {LOOKS} looks)")
        evidence.update({"decided_by": how, "sweep": sizes_seen, "grid_notes": grid.notes,
                         "table": table, "seed": ctx.options.seed})
        if any(not (v > 0) or not math.isfinite(v) for v in values) or any(b <= 0 for b in bounds):
            return Outcome(Verdict.INCONCLUSIVE, ENGINE, strategy, "the quantity or the bound is "
                           "zero or not finite at some size; its growth exponent is undefined",
                           evidence)
        if samples and any(min(s) <= 0 for s in samples):
            samples = [[max(x, 1e-300) for x in s] for s in samples]
        if not random:
            verdict, summary = growth_rule(gvars, grid.points, values, bounds, big_o, "values",
                                           evidence, None, ctx.options.seed)
            return Outcome(verdict, ENGINE, strategy, summary, evidence)
        if pad:
            early, _ = growth_rule(gvars, grid.points, values, bounds, big_o, "values", {},
                                   samples, ctx.options.seed, level, pad)
            if early not in (Verdict.VERIFIED, Verdict.REFUTED):
                continue  # not clear with the margin: the second look decides
        verdict, summary = growth_rule(gvars, grid.points, values, bounds, big_o, "values",
                                       evidence, samples, ctx.options.seed, level)
        evidence["looks"] = look
        return Outcome(verdict, ENGINE, strategy, summary, evidence)
    raise AssertionError("unreachable: the last look always decides")


def _evaluate_grid(ctx: Context, lhs: m.Expr, bound: m.Expr, grid, random: bool, names: set[str],
                   values: list, bounds: list, samples: list, table: list,
                   budget: int = MC_BUDGET_DRAWS, tag: str = "") -> None:
    """Fill values (and Monte-Carlo chunk estimates) of the quantity at every grid point."""
    checked = ctx.checked
    for point in grid.points:
        bounds.append(size_value(bound, point, checked))
        if not random:
            try:
                value = size_value(lhs, point, checked)
            except SizeError:
                value = _deterministic(ctx, lhs, point)
            values.append(abs(value))
            table.append({**point, "value": _r(value), "bound": _r(bounds[-1])})
            continue
        est = _monte_carlo(ctx, lhs, point, names, budget // len(grid.points), tag=tag)
        if any(not (x > 0) or not math.isfinite(x) for x in est):
            est = _monte_carlo(ctx, lhs, point, names, budget // len(grid.points), tag=tag,
                               dtype=torch.float64)
        samples.append(est)
        values.append(stats.median(est))
        table.append({**point, "value": _r(values[-1]), "chunk_spread": _r(stats.spread(est), 3),
                      "bound": _r(bounds[-1])})


def _deterministic(ctx: Context, lhs: m.Expr, point: dict[str, int]) -> float:
    checked = ctx.checked
    g = make_generator(claim_seed(ctx.options.seed, checked.claim.id, f"growth:{point}"),
                       torch.device("cpu"))
    inst = sample_environment(checked, dict(point), g, torch.device("cpu"), torch.float64)
    ev = Evaluator(inst.env, torch.device("cpu"), torch.float64, checked)
    return float(_scalar(ev.ev(lhs))[0])


def _draws_per_sample(checked, point: dict[str, int], dtype: torch.dtype) -> int:
    """Random scalars one sample needs (every random name's entries)."""
    g = make_generator(0, torch.device("cpu"))
    inst = sample_environment(checked, dict(point), g, torch.device("cpu"), dtype, mc_batch=1)
    return max(1, sum(int(v[0].numel()) for k, v in inst.env.items()
                      if isinstance(v, torch.Tensor) and checked.symbols.get(k) is not None
                      and checked.symbols[k].random))


def _monte_carlo(ctx: Context, lhs: m.Expr, point: dict[str, int], names: set[str],
                 budget_draws: int, tag: str = "", dtype: torch.dtype = MC_DTYPE) -> list[float]:
    """``CHUNKS`` chunk estimates at one point, their size fixed by a budget of draws.

    The chunk size is ``budget_draws / (CHUNKS · draws per sample)`` samples, at least 2
    (4 for a statistic; 1 at the first look), at most the memory cap of :func:`_chunk_size`:
    a count, never seconds, so the same seed gives the same chunks and the same verdict.
    """
    checked = ctx.checked
    has_stat = any(isinstance(n, m.Stat) for n in walk(lhs))
    cap = _chunk_size(checked, names, point)
    smallest = 4 if has_stat else (1 if tag == "look1" else 2)
    per_sample = _draws_per_sample(checked, point, dtype)
    size = int(max(smallest, min(cap, budget_draws // (CHUNKS * per_sample))))
    out: list[float] = []
    for chunk in range(CHUNKS):
        g = make_generator(claim_seed(ctx.options.seed, checked.claim.id,
                                      f"{ctx.index}:growth{tag}:{sorted(point.items())}:{chunk}"),
                           torch.device("cpu"))
        inst = sample_environment(checked, dict(point), g, torch.device("cpu"), dtype,
                                  mc_batch=size)
        ev = Evaluator(inst.env, torch.device("cpu"), dtype, checked)
        with torch.no_grad():
            v = _scalar(ev.ev(lhs))
        if has_stat or v.numel() == 1:
            out.append(float(v.reshape(-1)[0].abs()))
        else:
            out.append(float(v.abs().median()))
    return out
