"""Value growth over random quantities: ``E[norm(x)^2] ~ n``, ``Var[mean(x)] ~ 1/n``.

The numeric engine decides these (:func:`decide_growth`); the timing engine, which takes
every growth statement, builds the sweep and routes a random quantity here
(:mod:`derive.timing.values`).  The values come from the numeric engine's machinery —
seeded generators (:func:`~derive.analysis.statement_seed`),
:func:`~derive.numeric.instances.sample_environment`, the lowering's sample statistics, and
the replicate interval of :func:`~derive.numeric.intervals.rqmc_interval`:

* At each size the quantity is estimated in ``REPLICATES`` independent replicates, each a
  batch of samples drawn from its own generator (seeded from the run seed, the claim, the
  statement, the look, the size and the replicate number).  A quantity with a statistic
  (``E``, ``Var``, ``Std``, ``P``, also inside a formula such as ``E[a] / E[b]``) is evaluated
  with each statistic estimated over the replicate's batch; a random quantity without one is
  summarised by its median |value| over the batch (its typical size).
* The estimate at a size is the mean of its replicates; its interval is the Student-t
  interval on the replicate estimates at the stated confidence (each replicate is an
  independent estimate, as for randomized QMC).
* **Budgets count draws (random scalars), never seconds.**  :class:`DrawBudget` caps the draws
  at each size and over the statement; the replicate batch size follows from the budget, the
  draws one sample needs and a memory cap, with a floor (the smallest replicate set) and a
  hard ceiling per size.  Nothing here reads the clock, so the same seed gives the same
  estimates, intervals and verdict on any machine, at any load.  When even the smallest
  replicate set exceeds the ceiling, :class:`BudgetExceeded` says so (the caller's verdict
  is inconclusive).
* Draws and arithmetic are float32 on one CPU thread (float64 again if float32 gives a zero
  or non-finite estimate); the CPU generator is used whatever the device, so the numbers do
  not depend on the machine.
* The decision is the growth rule (:func:`derive.timing.exponents.growth_rule`, shared with
  cost growth) on these estimates, sequential with two pre-planned looks: see
  :func:`decide_growth`.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import torch

from derive import model as m
from derive.analysis import statement_seed
from derive.numeric.instances import make_generator, sample_environment
from derive.numeric.intervals import rqmc_interval
from derive.numeric.lower import Evaluator, LoweringError
from derive.outcome import Verdict
from derive.semantics import walk
from derive.timing import stats
from derive.timing.exponents import _r, growth_rule

REPLICATES = 8             # independent replicates (batches) per size
CHUNK_ELEMENTS = 1 << 21   # random entries per replicate batch, at most (memory)
MAX_BATCH = 512            # samples per replicate, at most
MIN_BATCH = 16             # samples per replicate the memory cap leaves at least
MIN_STAT_BATCH = 4         # samples per replicate at least, for a statistic
MIN_TYPICAL_BATCH = 2      # … for a typical size (median |value|); 1 at a first look
DTYPE = torch.float32
CPU = torch.device("cpu")


@dataclass(frozen=True)
class DrawBudget:
    """Random scalars that may be drawn: at one size, and over the whole sweep.

    A size draws at most ``per_size`` and its even share of what is left of ``total``, but
    never fewer than the smallest replicate set (``REPLICATES`` × the smallest batch: a
    quantity whose one sample is large, a 1024 × 512 matrix, still gets its replicates) and
    never more than ``ceiling``: a size whose smallest replicate set exceeds it is not
    estimated (:class:`BudgetExceeded`).  All counts; none of them seconds.
    """

    per_size: int
    total: int
    ceiling: int = 64_000_000

    def as_dict(self) -> dict[str, int]:
        return {"per_size": self.per_size, "total": self.total, "ceiling": self.ceiling}


class BudgetExceeded(ValueError):
    """Even the smallest replicate set at a size needs more draws than the ceiling allows."""


@dataclass
class SizeEstimate:
    """The quantity at one size: replicate estimates, their mean and its interval."""

    point: dict[str, int]
    replicates: list[float]    # one estimate per independent replicate (signed)
    batch: int                 # samples per replicate
    draws: int                 # random scalars drawn at this size (every dtype tried)
    estimate: float            # mean of the replicates
    half_width: float          # of the Student-t interval at ``confidence``
    confidence: float
    dtype: str

    @property
    def interval(self) -> tuple[float, float]:
        return self.estimate - self.half_width, self.estimate + self.half_width

    @property
    def samples(self) -> int:
        return self.batch * len(self.replicates)

    def excludes_zero(self) -> bool:
        lo, hi = self.interval
        return lo > 0 or hi < 0

    def as_dict(self) -> dict[str, Any]:
        lo, hi = self.interval
        return {**self.point, "draws": self.draws, "samples": self.samples,
                "replicates": len(self.replicates), "estimate": _sig(self.estimate),
                "interval": [_sig(lo), _sig(hi)], "confidence": round(self.confidence, 6),
                "dtype": self.dtype}


@dataclass
class SweepEstimate:
    """Every size's estimate, the draws they took and the budget they had."""

    sizes: list[SizeEstimate]
    budget: DrawBudget
    statistic: bool            # a statistic per replicate (else median |value|)
    draws: int = field(init=False)

    def __post_init__(self) -> None:
        self.draws = sum(s.draws for s in self.sizes)

    @property
    def method(self) -> str:
        what = ("the statistic over each replicate's batch" if self.statistic
                else "the median |value| over each replicate's batch (its typical size)")
        return (f"{REPLICATES} independent replicates per size, {what}; estimate = their "
                f"mean, interval = Student t on the replicates")


def _sig(x: float, digits: int = 6) -> float:
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def has_statistic(lhs: m.Expr) -> bool:
    return any(isinstance(n, m.Stat) for n in walk(lhs))


@contextmanager
def one_thread() -> Iterator[None]:
    """One intra-op thread while estimating: float sums then add in one fixed order."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def draws_per_sample(checked, point: dict[str, int], dtype: torch.dtype = DTYPE) -> int:
    """Random scalars one sample needs (every random name's entries)."""
    g = make_generator(0, CPU)
    inst = sample_environment(checked, dict(point), g, CPU, dtype, mc_batch=1)
    return max(1, sum(int(v[0].numel()) for k, v in inst.env.items()
                      if isinstance(v, torch.Tensor) and checked.symbols.get(k) is not None
                      and checked.symbols[k].random))


def batch_size(per_sample: int, draws: int, smallest: int, ceiling: int) -> int:
    """Samples per replicate: what ``draws`` allows over ``REPLICATES`` replicates, capped by
    memory; at least ``smallest`` unless that needs more than ``ceiling`` draws
    (:class:`BudgetExceeded`)."""
    cap = int(max(MIN_BATCH, min(MAX_BATCH, CHUNK_ELEMENTS // per_sample)))
    size = max(smallest, min(cap, draws // (REPLICATES * per_sample)))
    if REPLICATES * size * per_sample > ceiling:
        raise BudgetExceeded(f"{REPLICATES} replicates of {smallest} samples need "
                             f"{REPLICATES * smallest * per_sample:,} draws; the ceiling is "
                             f"{ceiling:,} at one size")
    return int(size)


def estimate_sweep(checked, index: int, lhs: m.Expr, points: Sequence[dict[str, int]],
                   run_seed: int, budget: DrawBudget, confidence: float, tag: str = "",
                   first_look: bool = False) -> SweepEstimate:
    """Estimate the random quantity ``lhs`` at every size in ``points`` (one statement).

    ``index`` is the statement's index in its claim and ``tag`` names the look; both go into
    the generators' seeds, so looks and statements draw independent samples.
    """
    statistic = has_statistic(lhs)
    out: list[SizeEstimate] = []
    left = budget.total
    with one_thread(), torch.no_grad():
        for k, point in enumerate(points):
            allowed = max(0, min(budget.per_size, left // (len(points) - k)))
            est = _estimate_point(checked, index, lhs, point, run_seed, allowed, budget.ceiling,
                                  confidence, tag, statistic, first_look)
            left -= est.draws
            out.append(est)
    return SweepEstimate(out, budget, statistic)


def _estimate_point(checked, index: int, lhs: m.Expr, point: dict[str, int], run_seed: int,
                    allowed: int, ceiling: int, confidence: float, tag: str, statistic: bool,
                    first_look: bool) -> SizeEstimate:
    smallest = MIN_STAT_BATCH if statistic else (1 if first_look else MIN_TYPICAL_BATCH)
    drawn, got = 0, None
    for dtype in (DTYPE, torch.float64):
        per_sample = draws_per_sample(checked, point, dtype)
        try:
            size = batch_size(per_sample, allowed - drawn, smallest, ceiling - drawn)
        except BudgetExceeded:
            if got is None:
                raise
            break  # no draws left for the float64 retry: the float32 estimate stands
        reps = _replicates(checked, index, lhs, point, run_seed, size, tag, dtype, statistic)
        drawn += REPLICATES * size * per_sample
        got = (reps, size, dtype)
        if all(x != 0 and math.isfinite(x) for x in reps):
            break
    reps, size, dtype = got
    mean, half, _ = rqmc_interval(reps, 1 - confidence)
    return SizeEstimate(dict(point), reps, size, drawn, mean, half, confidence,
                        str(dtype).replace("torch.", ""))


def _replicates(checked, index: int, lhs: m.Expr, point: dict[str, int], run_seed: int,
                size: int, tag: str, dtype: torch.dtype, statistic: bool) -> list[float]:
    out: list[float] = []
    for r in range(REPLICATES):
        g = make_generator(statement_seed(run_seed, checked.claim.id, index,
                                          f"growth{tag}:{sorted(point.items())}:{r}"), CPU)
        inst = sample_environment(checked, dict(point), g, CPU, dtype, mc_batch=size)
        ev = Evaluator(inst.env, CPU, dtype, checked)
        ev.sampled = True  # mc_batch draws: a statistic may be estimated from them
        v = as_scalar(ev.ev(lhs))
        if statistic:
            out.append(float(v.reshape(-1)[0]))
        else:
            out.append(float(v.abs().median()))
    return out


def as_scalar(v: Any) -> torch.Tensor:
    """A lowered value as a float64 vector over the batch (|z| for a complex one)."""
    t = v if isinstance(v, torch.Tensor) else torch.tensor([float(v)], dtype=torch.float64)
    if t.dim() > 1 and t[0].numel() == 1:
        t = t.reshape(t.shape[0])
    if t.dim() != 1:
        raise LoweringError("the quantity is not a scalar")
    if t.is_complex():
        t = t.abs()
    return t.to(torch.float64)


def growth_samples(sweep: SweepEstimate) -> tuple[list[float], list[list[float]]]:
    """Positive values and replicate lists for a log–log fit: |estimate| per size, and the
    replicates with the estimate's sign taken out (a replicate of the other sign, possible
    only when the interval is near 0, is kept at a tiny positive value)."""
    values, samples = [], []
    for s in sweep.sizes:
        sign = -1.0 if s.estimate < 0 else 1.0
        values.append(abs(s.estimate))
        samples.append([max(sign * x, 1e-300) for x in s.replicates])
    return values, samples


# ------------------------------------------------------------------ the decision
LOOKS = 2                  # pre-planned looks of the sequential Monte-Carlo rule
LOOK_BUDGETS = (           # random scalars drawn per look: at one size, and in all
    DrawBudget(per_size=1_000_000, total=3_000_000),
    DrawBudget(per_size=4_000_000, total=12_000_000),
)
LOOK1_MARGIN = 0.5         # × EXPONENT_TOL: the first look decides only with this margin


def decide_growth(checked, index: int, lhs: m.Expr, points: Sequence[dict[str, int]],
                  gvars: list[str], bounds: list[float], big_o: Any, run_seed: int,
                  evidence: dict[str, Any]) -> tuple[Verdict, str]:
    """Decide ``lhs ~ bound`` (``big_o``: ``True`` for O, ``"Ω"``, else Θ) for a random ``lhs``
    from estimates at ``points`` (``bounds``: the bound's value at each), by the sequential
    two-look rule; ``evidence`` is filled in.

    Each look's intervals are at level ``1 − (1 − CONFIDENCE) / LOOKS`` (Bonferroni), so the
    chance that either look errs is at most ``1 − CONFIDENCE`` whatever the stopping.  The
    first look draws within ``LOOK_BUDGETS[0]`` and decides only when its interval clears
    the rule's band by ``LOOK1_MARGIN × tol``; otherwise the second draws a fresh set within
    ``LOOK_BUDGETS[1]`` and decides.  A size whose interval contains 0 sends the first look
    on and makes the second inconclusive.  The budgets count draws, never seconds: the same
    seed gives the same verdict and evidence, exactly.  Errors evaluating ``lhs`` propagate
    (the caller says whether the claim is ill-defined).
    """
    level = 1 - (1 - stats.CONFIDENCE) / LOOKS
    drawn: list[int] = []
    for look, budget in enumerate(LOOK_BUDGETS, 1):
        first = look == 1 and len(LOOK_BUDGETS) > 1
        try:
            sweep = estimate_sweep(checked, index, lhs, points, run_seed, budget, level,
                                   tag="look1" if first else "", first_look=first)
        except BudgetExceeded as exc:
            evidence.update({"budget": budget.as_dict(), "draws": sum(drawn)})
            return Verdict.INCONCLUSIVE, ("the Monte-Carlo budget of draws does not cover the "
                                          f"sweep (look {look} of {LOOKS}): {exc}")
        drawn.append(sweep.draws)
        values, samples = growth_samples(sweep)
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
            return Verdict.INCONCLUSIVE, (
                f"the quantity is not told apart from 0 at {at} (its {level * 100:g}% interval "
                f"[{lo:.3g}, {hi:.3g}] from {unclear[0].draws:,} draws contains 0); its growth "
                "exponent is undefined there")
        if first:
            early, _ = growth_rule(gvars, list(points), values, bounds, big_o, "values", {},
                                   samples, run_seed, level, LOOK1_MARGIN * stats.EXPONENT_TOL,
                                   center="mean")
            if early not in (Verdict.VERIFIED, Verdict.REFUTED):
                continue  # not clear with the margin: the second look decides
        verdict, summary = growth_rule(gvars, list(points), values, bounds, big_o, "values",
                                       evidence, samples, run_seed, level, center="mean")
        return verdict, summary + _note(evidence, gvars, sweep, look)
    raise AssertionError("unreachable: the last look always decides")


def _note(evidence: dict[str, Any], gvars: list[str], sweep: SweepEstimate, look: int) -> str:
    """What a Monte-Carlo growth verdict rests on: the excess exponent's interval, its
    confidence and the draws (the per-size estimates are in the evidence's table)."""
    excess = evidence.get("excess_exponent", {})
    parts = [f"{v} {excess[v]['exponent']:+g} [{excess[v]['interval'][0]:+g}, "
             f"{excess[v]['interval'][1]:+g}]" for v in gvars if v in excess]
    level = evidence.get("confidence", stats.CONFIDENCE)
    return (f"; excess exponent {', '.join(parts)} at {level * 100:g}% confidence per look "
            f"({stats.CONFIDENCE * 100:g}% over {LOOKS}), from "
            f"{evidence['draws']['all_looks']:,} draws ({len(sweep.sizes)} sizes × "
            f"{REPLICATES} replicates, look {look} of {LOOKS})")
