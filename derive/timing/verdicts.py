"""Verdict rules of the timing engine: growth over a sweep, and cost comparisons.

Growth (``a ~ f`` is Θ, ``a in O(f)``) is decided from **exact counts**: FLOPs of the
expression as written for ``time[…]`` and ``flops[…]``, peak live bytes for
``memory[…]``.  Where the counts can be taken on the meta device, the ratio count / f
over sizes 2^8 … 2^40 along rays covering every regime decides (derive/timing/wide.py:
bounded with no trend for Θ, bounded for O; log factors and lower-order terms included).
Otherwise the sweep decides as follows.  The exponents of ``count / f`` against the swept sizes (least squares
on logs, and the local slope between the two largest sizes) must be within
``EXPONENT_TOL`` of 0 for Θ and not above it for O.  Lower-order terms only pull a
count's slope *down* (towards them), so a slope above the tolerance at the top of the
sweep refutes; a slope below it refutes Θ unless the local slopes are still climbing
(then the sweep is too small to tell: inconclusive).  Fitted wall-time exponents are
reported as supporting evidence only.  A FLOP or memory growth claim whose count has one
exact formula for all sizes is then *proved* (derive/timing/growth_proof.py); the
measured verdict stays in the evidence.

Comparisons are decided at every grid point.  FLOPs and bytes compare exactly.  Wall
times compare by the median over interleaved rounds of the per-round ratio with a
bootstrap interval; a claimed speed-up is accepted only when the interval excludes 1
*and* the median ratio is at least ``NOISE_BAND`` (1.3×) or the factor the claim
states (``time[A] < time[B] / 4`` needs 4×); it is refuted only when the interval
excludes 1 on the other side and the median is beyond the band.  Between: inconclusive.
The rounds may stop early at pre-planned looks (rounds 5 and 10, then the last): an
interim look stops only when the statement is settled with its interval a further
``EARLY_MARGIN`` beyond the boundary; every look's interval is at the Bonferroni level
``1 − 0.05 / 3``, so optional stopping keeps the error within 5 %.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

import torch

from derive import faults
from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome, Verdict
from derive.semantics import walk
from derive.timing import stats, wide
from derive.timing.asymptotics import Undecided
from derive.numeric.lower import IllDefined
from derive.timing.bench import Bench, CannotMeasure
from derive.timing.exponents import _r, growth_rule
from derive.timing.measure import LOOK_ROUNDS, TooSlow, device_name
from derive.analysis import SizeError, reachable, size_condition, size_value
from derive.timing.sizes import Grid, build_grid, size_names

STATEMENT_BUDGET_S = 2.0     # wall-clock seconds of timed rounds per statement (CPU)
GROWTH_TIME_BUDGET_S = 0.5   # supporting wall-time fit of a growth statement
DEFAULT_TIME_REL = Fraction(1, 10)
TIME_LOOKS = len(LOOK_ROUNDS) + 1   # interim looks at the planned rounds, then the last round
TIME_LEVEL = 1 - (1 - stats.CONFIDENCE) / TIME_LOOKS   # Bonferroni: per-look interval level
EARLY_MARGIN = 1.25          # an interim look stops only this far (×) beyond the boundary
ENGINE = "timing"


# ------------------------------------------------------------------ helpers
def costs_in(e: m.Expr) -> list[m.Cost]:
    """Distinct cost nodes of an expression, in source order."""
    out: list[m.Cost] = []
    for node in walk(e):
        if isinstance(node, m.Cost) and node not in out:
            out.append(node)
    out.sort(key=lambda c: (c.pos.line, c.pos.column))
    return out


def source_of(claim: m.Claim, node: m.Expr) -> str:
    """The text of ``node`` as written in the claim (empty if positions are missing)."""
    pos = getattr(node, "pos", None)
    if pos is None or not pos.line or pos.line != pos.end_line:
        return ""
    lines = claim.text.split("\n")
    k = pos.line - claim.pos.line
    if not 0 <= k < len(lines):
        return ""
    return lines[k][pos.column - 1:pos.end_column - 1]


def environment(bench: Bench) -> dict[str, Any]:
    threads = 1 if bench.device == "cpu" else torch.get_num_threads()
    return {"device": bench.device, "device_name": device_name(bench.device),
            "threads_while_timing": threads, "torch": torch.__version__, "dtype": "float32",
            "seed": bench.seed}


def _count_value(bench: Bench, cost: m.Cost, point: dict[str, int]) -> float:
    """The exact measure a growth claim is decided on: FLOPs, or peak bytes for memory."""
    if cost.kind == "memory":
        return float(bench.peak_bytes(cost.arg, point))
    return float(bench.count(cost.arg, point).flops)


def _outcome(verdict: Verdict, summary: str, evidence: dict, strategy: str) -> Outcome:
    return Outcome(verdict, ENGINE, strategy, summary, evidence)


def ill_defined(exc: BaseException) -> Optional[IllDefined]:
    """``exc`` or its cause when it says the claim itself is ill-defined."""
    while exc is not None:
        if isinstance(exc, IllDefined):
            return exc
        exc = exc.__cause__
    return None


def not_evaluable(exc: BaseException, what: str, evidence: dict, strategy: str) -> Outcome:
    """``error`` when the claim reads values it never defines, else ``inconclusive``."""
    bad = ill_defined(exc)
    if bad is not None:
        return _outcome(Verdict.ERROR, bad.summary(), {**evidence, "reason": f"ill-defined: {bad}"},
                        strategy)
    return _outcome(Verdict.INCONCLUSIVE, f"{what}: {exc}", evidence, strategy)


# ------------------------------------------------------------------ growth
def growth_vars(checked, bound: m.Expr) -> list[str]:
    """The swept variables of a growth claim: the claim's sweeps, else the bound's sizes."""
    names = {n.id for n in walk(bound) if isinstance(n, m.Name)}
    sweeps = list(checked.sweeps)
    if sweeps:
        return sweeps
    return sorted(n for n in names if n in checked.symbols
                  and checked.symbols[n].role in ("dim", "scalar") and not checked.symbols[n].random)


def decide_growth(ctx: Context, bench: Bench, lhs: m.Expr, bound: m.Expr, big_o: bool,
                  strategy: str) -> Outcome:
    checked = ctx.checked
    claim = checked.claim
    costs = costs_in(lhs)
    what = big_o if isinstance(big_o, str) else "O" if big_o else "Θ"
    evidence: dict[str, Any] = {"claim": f"{source_of(claim, lhs) or 'expression'} in "
                                         f"{what}({source_of(claim, bound) or 'bound'})"}
    if not costs:
        return _outcome(Verdict.UNSUPPORTED, "growth of a quantity that is not a cost "
                        "(time[…], flops[…], memory[…]) is not measured by the timing engine",
                        evidence, strategy)
    gvars = growth_vars(checked, bound)
    needed = size_names(checked, reachable(checked, [lhs, bound]))
    grid = build_grid(checked, needed, gvars)
    gvars = [v for v in gvars if v in grid.names]
    if not gvars:
        return _outcome(Verdict.INCONCLUSIVE, "no size to sweep: declare one with "
                        "'let n in [64, 128, 256]'", evidence, strategy)
    sizes_seen = {v: sorted({p[v] for p in grid.points}) for v in gvars}
    if any(len(s) < 2 for s in sizes_seen.values()):
        return _outcome(Verdict.INCONCLUSIVE, "a growth claim needs at least two sizes per swept "
                        "variable", {**evidence, "sizes": sizes_seen}, strategy)
    kinds = sorted({c.kind for c in costs})
    table, values, bounds = [], [], []
    try:
        for point in grid.points:
            counts = {c: _count_value(bench, c, point) for c in costs}
            value = size_value(lhs, point, checked, counts)
            f = size_value(bound, point, checked)
            row = {**point, "value": value, "bound": _r(f)}
            for c in costs:
                res = bench.count(c.arg, point, "memory" if c.kind == "memory" else "flops")
                row[f"flops[{source_of(claim, c.arg) or c.kind}]"] = res.flops
                row[f"peak_bytes[{source_of(claim, c.arg) or c.kind}]"] = res.peak_bytes
                if res.memory_note:
                    row["note"] = res.memory_note
            table.append(row)
            values.append(value)
            bounds.append(f)
    except (CannotMeasure, SizeError) as exc:
        return not_evaluable(exc, "cannot evaluate the cost", evidence, strategy)
    measure_name = "peak live bytes" if kinds == ["memory"] else "FLOPs" if "memory" not in kinds \
        else "FLOPs and bytes"
    evidence.update({
        "decided_by": f"exact {measure_name} of the expression as written (counting rule in "
                      "derive/timing/flops.py), load-independent" +
                      ("; wall time is supporting evidence only" if "time" in kinds else ""),
        "sweep": sizes_seen, "grid_notes": grid.notes, "table": table})
    if any(v <= 0 for v in values) or any(b <= 0 for b in bounds):
        return _outcome(Verdict.INCONCLUSIVE, "a cost or the bound is zero at some size; its growth "
                        "exponent is undefined", evidence, strategy)
    if "time" in kinds:
        evidence["wall_time"] = _supporting_times(bench, costs, lhs, grid, gvars, checked, ctx)
    evidence["environment"] = environment(bench)
    subject = "/".join(sorted({"FLOPs" if k != "memory" else "bytes" for k in kinds}))
    verdict, summary = growth_rule(gvars, grid.points, values, bounds, big_o, subject, evidence)
    try:
        wide_result = wide.decide(checked, costs, lhs, bound, gvars, dict(grid.points[0]), big_o,
                                  grid.points, keep=_size_filter(checked))
    except (CannotMeasure, SizeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        wide_result = None
        evidence["wide_sizes"] = {"note": f"not counted over wide sizes: {exc}"}
    if wide_result is not None:
        verdict_text, wide_summary, wide_evidence = wide_result
        evidence["wide_sizes"] = wide_evidence
        evidence["sweep_rule"] = {"verdict": verdict.value, "summary": summary,
                                  "note": "the fitted exponents over the sweep describe; the "
                                          "ratio over wide sizes decides"}
        verdict = Verdict(verdict_text)
        summary = f"{subject}: {wide_summary}; over the sweep they grow as " + \
            ", ".join(f"{v}^{_r(s_, 3)}" for v, s_ in zip(gvars, stats.fit_exponents(
                [[p[v] for v in gvars] for p in grid.points], values).slopes))
    if isinstance(lhs, m.Cost) and lhs.kind in ("flops", "memory") and bench.device == "cpu":
        verdict, summary = _prove(ctx, bench, lhs, bound, big_o, gvars, grid, verdict,
                                  summary, evidence)
    return _outcome(verdict, summary, evidence, strategy)


SMALL_EXTRA = 128   # an extra size the bench may run for real (its values decide a branch)


def _exact_count(bench: Bench, cost: m.Cost, point: dict[str, int]) -> int:
    """The bench's count (FLOPs, or peak bytes for memory) as an exact integer."""
    if cost.kind == "memory":
        return int(bench.peak_bytes(cost.arg, point))
    return int(bench.count(cost.arg, point).flops)


def _extra_count(checked, bench: Bench, cost: m.Cost, point: dict[str, int]) -> int:
    """A count at a size beyond the sweep: on meta; where the computation reads values
    (meta cannot run it), by the bench on sampled values, for small sizes only."""
    try:
        res = wide.meta_count(checked, cost.arg, point)
        return int(res.peak_bytes if cost.kind == "memory" else res.flops)
    except wide.NotWide:
        if max(point.values(), default=0) > SMALL_EXTRA:
            raise
        return _exact_count(bench, cost, point)


def _prove(ctx: Context, bench: Bench, cost: m.Cost, bound: m.Expr, big_o, gvars: list[str],
           grid: Grid, verdict: Verdict, summary: str, evidence: dict) -> tuple[Verdict, str]:
    """``proved`` when the exact formula of the count (FLOPs, or peak bytes) settles the
    claim for all sizes (derive/timing/growth_proof.py); else the measured verdict stands.  A proof against a
    measured refutation is a disagreement between two exact routes: an error, not a pass."""
    from derive.timing import growth_proof

    checked = ctx.checked
    proof, why = _guarded(ctx, "growth-proof", lambda: growth_proof.prove(
        checked, cost, bound, big_o, gvars, grid.points,
        measured=lambda p: _exact_count(bench, cost, p),
        meta=lambda p: _extra_count(checked, bench, cost, p)))
    if proof is None:
        evidence["symbolic_proof"] = {"declined": why}
        return verdict, summary
    evidence["symbolic_proof"] = proof
    if verdict == Verdict.REFUTED:
        return Verdict.ERROR, (f"BUG: the exact cost formula proves the claim ({why}) but the "
                               f"measured counts refute it ({summary})")
    evidence["measured_verdict"] = {"verdict": verdict.value, "summary": summary}
    return Verdict.PROVED, why


def _guarded(ctx: Context, route: str, attempt: Any, passes: tuple = ()
             ) -> tuple[Optional[dict], str]:
    """Run a proof route: a bug in it is recorded (strict mode: the claim is an error),
    never a pass; exceptions in ``passes`` are the route's answers and propagate."""
    try:
        return attempt()
    except (faults.Interrupt, MemoryError, KeyboardInterrupt) + passes:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug of the proof route: recorded, never a pass
        rec = faults.record(ENGINE, route, exc)
        ctx.internal_errors.append(rec)
        if faults.strict_mode(ctx.options):
            raise faults.InternalFault(rec) from exc
        return None, f"internal error of the proof route: {type(exc).__name__}: {exc}"[:300]


def _size_filter(checked):
    """The claim's size-only ``assume``s as a filter on points (others are not ours)."""
    assumes = [st.condition for st in checked.claim.statements if isinstance(st, m.Assume)]

    def keep(point: dict[str, int]) -> bool:
        for cond in assumes:
            try:
                if not size_condition(cond, point, checked):
                    return False
            except SizeError:
                continue
        return True

    return keep


def _supporting_times(bench: Bench, costs: list[m.Cost], lhs: m.Expr, grid: Grid,
                      gvars: list[str], checked, ctx: Context) -> dict[str, Any]:
    """Fitted wall-time exponent (supporting evidence for a ``time[…]`` growth claim)."""
    time_costs = [c for c in costs if c.kind == "time"]
    if len(time_costs) != 1 or lhs != time_costs[0]:
        return {"note": "wall time is fitted only for a single time[…]"}
    cost = time_costs[0]
    medians, samples, rows, points = [], [], [], []
    per_point = GROWTH_TIME_BUDGET_S / max(len(grid.points), 1)
    for point in grid.points:
        got = bench.cached_times(cost.arg, point)
        if not got:
            try:
                rounds = bench.time_rounds([cost.arg], point, per_point, ctx.options.timing_repeats,
                                           min_rounds=3)
            except (TooSlow, CannotMeasure):
                continue
            got = rounds.samples[0]
        points.append([point[v] for v in gvars])
        samples.append(got)
        medians.append(stats.median(got))
        rows.append({**{v: point[v] for v in gvars}, "median_s": _r(stats.median(got)),
                     "spread": _r(stats.spread(got), 3), "runs": len(got)})
    out: dict[str, Any] = {"per_size": rows}
    if len({tuple(p) for p in points}) >= 2:
        fit = stats.fit_exponents(points, medians, samples, seed=bench.seed)
        out["fitted_exponent"] = fit.as_dict(gvars)
    return out


# ------------------------------------------------------------------ comparisons
TRUE, FALSE, UNKNOWN = True, False, None


@dataclass
class PointState:
    """Lazily measured values at one grid point."""

    point: dict[str, int]
    rounds: Optional[dict[m.Cost, list[float]]] = None
    short: bool = False
    detail: list[dict] = field(default_factory=list)


class Comparer:
    """Three-valued truth of a statement at grid points (cost comparisons, size conditions)."""

    def __init__(self, ctx: Context, bench: Bench, statement: m.Expr, points: int):
        self.ctx = ctx
        self.bench = bench
        self.statement = statement
        self.time_costs = [c for c in costs_in(statement) if c.kind == "time"]
        self.points_left = points
        self.spent = 0.0
        self.claim = ctx.checked.claim
        self.early = False  # an interim look: decide only with EARLY_MARGIN, else unknown

    def truth(self, e: m.Expr, st: PointState) -> Optional[bool]:
        if isinstance(e, m.Logic):
            vals = []
            for a in e.args:
                v = self.truth(a, st)
                vals.append(v)
                if e.op == "=>" and len(vals) == 1 and v is FALSE:
                    return TRUE
                if e.op == "and" and v is FALSE:
                    return FALSE
                if e.op == "or" and v is TRUE:
                    return TRUE
            return _kleene(e.op, vals)
        if isinstance(e, m.Compare) and costs_in(e):
            result: Optional[bool] = TRUE
            for op, a, b in zip(e.ops, e.operands, e.operands[1:]):
                v = self.compare(op, a, b, st)
                result = _kleene("and", [result, v])
                if result is FALSE:
                    return FALSE
            return result
        if not costs_in(e):
            try:
                return size_condition(e, st.point, self.ctx.checked)
            except SizeError as exc:
                st.detail.append({"unknown": str(exc)})
                return UNKNOWN
        st.detail.append({"unknown": f"cannot decide a {type(e).__name__} of costs"})
        return UNKNOWN

    # ---- one comparison
    def compare(self, op: str, a: m.Expr, b: m.Expr, st: PointState) -> Optional[bool]:
        kinds = {c.kind for c in costs_in(a) + costs_in(b)}
        text = f"{source_of(self.claim, a)} {op} {source_of(self.claim, b)}".strip()
        if op == "~":
            st.detail.append({"comparison": text, "unknown": "growth inside a condition"})
            return UNKNOWN
        if "time" in kinds and len(kinds) > 1:
            st.detail.append({"comparison": text, "unknown": "wall time compared with a count"})
            return UNKNOWN
        try:
            if "time" in kinds:
                return self.compare_time(op, a, b, st, text)
            return self.compare_exact(op, a, b, st, text)
        except (CannotMeasure, SizeError) as exc:
            st.detail.append({"comparison": text, "unknown": str(exc)})
            bad = ill_defined(exc)
            if bad is not None:
                st.detail.append({"ill_defined": bad.summary()})
            return UNKNOWN

    def _counts(self, exprs: list[m.Expr], point: dict[str, int]) -> dict[m.Cost, float]:
        out = {}
        for side in exprs:
            for c in costs_in(side):
                out[c] = float(self.bench.peak_bytes(c.arg, point) if c.kind == "memory"
                               else self.bench.count(c.arg, point).flops)
        return out

    def compare_exact(self, op: str, a: m.Expr, b: m.Expr, st: PointState, text: str
                      ) -> Optional[bool]:
        values = self._counts([a, b], st.point)
        x, y = size_value(a, st.point, self.ctx.checked, values), \
            size_value(b, st.point, self.ctx.checked, values)
        show = self.ctx.show
        if op == "≈":
            if show.within is not None:
                ok = abs(x - y) <= float(show.within)
            else:
                rel = float(show.rel) if show.rel is not None else 1e-2
                ok = abs(x - y) <= rel * max(abs(x), abs(y))
        else:
            ok = {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y,
                  "!=": x != y}[op]
        st.detail.append({"comparison": text, "left": _r(x), "right": _r(y),
                          "ratio": _r(y / x) if x else None, "holds": ok, "exact": True})
        return ok

    def _ensure_rounds(self, st: PointState) -> None:
        if st.rounds is not None:
            return
        exprs = [c.arg for c in self.time_costs]
        unique = list(dict.fromkeys(exprs))
        left = max(STATEMENT_BUDGET_S - self.spent, 0.1 * STATEMENT_BUDGET_S)
        budget = left / max(self.points_left, 1)
        start = time.perf_counter()

        def decided(samples: list[list[float]]) -> bool:
            """Interim look: is the statement at this point settled with the margin?"""
            by = dict(zip(unique, samples))
            look = PointState(st.point, {c: list(by[c.arg]) for c in self.time_costs})
            self.early = True
            try:
                return self.truth(self.statement, look) is not UNKNOWN
            finally:
                self.early = False

        try:
            rounds = self.bench.time_rounds(unique, st.point, budget,
                                            max(self.ctx.options.timing_repeats, 5),
                                            decided=decided)
        finally:
            self.spent += time.perf_counter() - start
        by_expr = dict(zip(unique, rounds.samples))
        st.rounds = {c: by_expr[c.arg] for c in self.time_costs}
        st.short = any(rounds.short)
        st.detail.append({"timing": {
            source_of(self.claim, c) or c.kind: {
                "median_s": _r(stats.median(by_expr[c.arg])),
                "spread": _r(stats.spread(by_expr[c.arg]), 3),
                "flops": self.bench.count(c.arg, st.point).flops}
            for c in self.time_costs}, "rounds": rounds.rounds, "calls_per_sample": rounds.inner,
            "warmup_s": _r(rounds.warmup_s, 3)})

    def compare_time(self, op: str, a: m.Expr, b: m.Expr, st: PointState, text: str
                     ) -> Optional[bool]:
        try:
            self._ensure_rounds(st)
        except TooSlow as exc:
            st.detail.append({"comparison": text, "unknown": f"too slow to time: {exc}"})
            return UNKNOWN
        checked = self.ctx.checked
        n = len(next(iter(st.rounds.values())))
        xs = [size_value(a, st.point, checked, {c: s[r] for c, s in st.rounds.items()})
              for r in range(n)]
        ys = [size_value(b, st.point, checked, {c: s[r] for c, s in st.rounds.items()})
              for r in range(n)]
        if any(v <= 0 for v in xs + ys):
            st.detail.append({"comparison": text, "unknown": "a side is not positive"})
            return UNKNOWN
        seed = self.bench.seed
        ones = {c: 1.0 for c in self.time_costs}
        a_costs, b_costs = bool(costs_in(a)), bool(costs_in(b))
        if op in ("==", "!="):
            st.detail.append({"comparison": text, "unknown": "exact equality of wall times cannot "
                              "be decided; write ≈ … rel r"})
            return UNKNOWN
        if op == "≈":
            if self.ctx.show.within is not None:
                st.detail.append({"comparison": text, "unknown": "an absolute tolerance on times; "
                                  "use rel"})
                return UNKNOWN
            rel = float(self.ctx.show.rel if self.ctx.show.rel is not None else DEFAULT_TIME_REL)
            med, lo, hi = stats.bootstrap_median([x / y for x, y in zip(xs, ys)], seed,
                                                 TIME_LEVEL)
            band = (1 + rel) * stats.NOISE_BAND * (EARLY_MARGIN if self.early else 1.0)
            inside = 1 / (1 + rel) <= lo and hi <= 1 + rel and not self.early
            outside = hi < 1 / band or lo > band
            verdict = TRUE if inside else FALSE if outside else UNKNOWN
            st.detail.append({"comparison": text, "ratio_left_over_right": _r(med),
                              "interval": [_r(lo), _r(hi)], "rel": rel, "holds": verdict})
            return verdict
        if op in ("<", "<="):
            stat = [y / x for x, y in zip(xs, ys)]
            factor = (size_value(a, st.point, checked, ones) / size_value(b, st.point, checked, ones)
                      if a_costs and b_costs else 1.0)
        else:
            stat = [x / y for x, y in zip(xs, ys)]
            factor = (size_value(b, st.point, checked, ones) / size_value(a, st.point, checked, ones)
                      if a_costs and b_costs else 1.0)
        factor = factor if factor > 0 else 1.0
        verdict, med, lo, hi, need = speedup_verdict(stat, factor, seed, TIME_LEVEL,
                                                     EARLY_MARGIN if self.early else 1.0)
        why = None
        if st.short:
            verdict = UNKNOWN
            why = "GPU runs shorter than 50 µs: launch overhead dominates; use larger sizes"
        elif verdict is UNKNOWN:
            why = (f"within the noise band: speed-up {_r(med * factor, 3)}× "
                   f"[{_r(lo * factor, 3)}, {_r(hi * factor, 3)}] needs to clear "
                   f"{_r(max(factor, stats.NOISE_BAND), 3)}× (or fall below "
                   f"{_r(factor / stats.NOISE_BAND, 3)}×) with its interval excluding {_r(factor, 3)}×")
        row = {"comparison": text, "speedup": _r(med * factor),
               "interval": [_r(lo * factor), _r(hi * factor)],
               "claimed_factor": _r(factor), "required": _r(need * factor), "holds": verdict}
        if why:
            row["unknown"] = why
        st.detail.append(row)
        return verdict


def speedup_verdict(stat: list[float], factor: float, seed: int,
                    confidence: float = stats.CONFIDENCE, margin: float = 1.0
                    ) -> tuple[Optional[bool], float, float, float, float]:
    """The noise-band rule on per-round values of ``claimed side / other side``.

    ``stat`` > 1 means the claim holds in that round; ``factor`` is the speed-up the claim
    states (4 for ``time[A] < time[B] / 4``).  True when the bootstrap interval excludes 1
    and the median reaches ``max(1, NOISE_BAND / factor)`` (so the raw speed-up is at least
    max(factor, 1.3)); False when the interval is below 1 and the median below
    1 / NOISE_BAND; otherwise None.  Returns (verdict, median, lo, hi, needed).
    ``margin`` > 1 (an interim look of a sequential rule) asks more: the whole interval
    at least ``margin × needed`` for True, at most ``1 / (margin × NOISE_BAND)`` for False.
    """
    med, lo, hi = stats.bootstrap_median(stat, seed, confidence)
    need = max(1.0, stats.NOISE_BAND / factor)
    if margin > 1:
        verdict = TRUE if lo >= margin * need else \
            FALSE if hi <= 1 / (margin * stats.NOISE_BAND) else UNKNOWN
        return verdict, med, lo, hi, need
    if lo > 1 and med >= need:
        return TRUE, med, lo, hi, need
    if hi < 1 and med <= 1 / stats.NOISE_BAND:
        return FALSE, med, lo, hi, need
    return UNKNOWN, med, lo, hi, need


def _kleene(op: str, vals: list[Optional[bool]]) -> Optional[bool]:
    if op == "and":
        return FALSE if FALSE in vals else UNKNOWN if UNKNOWN in vals else TRUE
    if op == "or":
        return TRUE if TRUE in vals else UNKNOWN if UNKNOWN in vals else FALSE
    if op == "not":
        return None if vals[0] is None else not vals[0]
    if op == "=>":
        a, b = vals
        if a is FALSE or b is TRUE:
            return TRUE
        if a is TRUE and b is FALSE:
            return FALSE
        return UNKNOWN
    if op == "<=>":
        a, b = vals
        return UNKNOWN if a is None or b is None else a == b
    return UNKNOWN


def decide_comparison(ctx: Context, bench: Bench, strategy: str) -> Outcome:
    checked = ctx.checked
    statement = ctx.statement
    needed = size_names(checked, reachable(checked, [statement]))
    grid = build_grid(checked, needed)
    evidence: dict[str, Any] = {"grid_notes": grid.notes}
    if not grid.points:
        return _outcome(Verdict.INCONCLUSIVE, "no grid point satisfies the assumptions", evidence,
                        strategy)
    has_time = any(c.kind == "time" for c in costs_in(statement))
    if not has_time:
        extra = regime_points(checked, grid)
        if extra:
            grid.points = grid.points + extra
            evidence["grid_notes"] = grid.notes + [
                f"{len(extra)} more size(s) with each unswept size alone small or large "
                "(exact counts are free): a cost rule must hold in every regime, not only "
                "where all sizes are equal"]
    comparer = Comparer(ctx, bench, statement, len(grid.points))
    results, states = [], []
    for point in grid.points:
        st = PointState(point)
        value = comparer.truth(statement, st)
        comparer.points_left -= 1
        states.append(st)
        results.append(value)
        if value is FALSE and has_time:
            break  # one refuting size is enough (exact counts go on, for the crossover)
    evidence["points"] = [{"sizes": st.point, "holds": v, "detail": st.detail}
                          for st, v in zip(states, results)]
    if has_time:
        evidence["decided_by"] = ("wall time: median per-round ratio of interleaved randomized runs "
                                  f"with a {TIME_LEVEL * 100:.3g}% bootstrap interval (Bonferroni "
                                  f"over {TIME_LOOKS} planned looks), "
                                  f"noise band {stats.NOISE_BAND}×; FLOPs shown for context")
    else:
        evidence["decided_by"] = "exact counts (FLOPs / peak live bytes) at every size"
    cross = _crossover(states, grid)
    if cross is not None:
        evidence["crossover"] = cross
    evidence["environment"] = environment(bench)
    def sizes(st: PointState) -> str:
        return ", ".join(f"{k}={v}" for k, v in st.point.items()) or "the declared sizes"

    if FALSE in results:
        st = states[results.index(FALSE)]
        return _outcome(Verdict.REFUTED, f"fails at {sizes(st)}: {_describe(st)}", evidence, strategy)
    if all(v is TRUE for v in results):
        last = states[-1]
        summary = f"holds at all {len(states)} size(s); at {sizes(last)}: {_describe(last)}"
        if not has_time and bench.device == "cpu":
            return _prove_comparison(ctx, bench, needed, grid, summary, evidence, strategy)
        return _outcome(Verdict.VERIFIED, summary, evidence, strategy)
    bad = next((d["ill_defined"] for st in states for d in st.detail if "ill_defined" in d), None)
    if bad is not None:
        return _outcome(Verdict.ERROR, bad, evidence, strategy)
    st = states[results.index(UNKNOWN)]
    reason = next((d["unknown"] for d in st.detail if "unknown" in d), "undecided")
    return _outcome(Verdict.INCONCLUSIVE, f"undecided at {sizes(st)}: {reason}", evidence, strategy)


def _prove_comparison(ctx: Context, bench: Bench, needed: set[str], grid: Grid, summary: str,
                      evidence: dict, strategy: str) -> Outcome:
    """``proved`` when the exact count formulas settle the comparison at every size
    (derive/timing/count_proof.py); else the measured ``verified`` stands."""
    from derive.timing import count_proof

    checked = ctx.checked
    try:
        proof, why = _guarded(ctx, "count-proof", lambda: count_proof.prove_comparison(
            checked, ctx.statement, needed, grid.points,
            measured=lambda c, p: _exact_count(bench, c, p),
            meta=lambda c, p: _extra_count(checked, bench, c, p)),
            passes=(count_proof.Counterexample,))
    except count_proof.Counterexample as found:
        return _confirm_counterexample(ctx, bench, found, summary, evidence, strategy)
    if proof is None:
        evidence["symbolic_proof"] = {"declined": why}
        return _outcome(Verdict.VERIFIED, summary, evidence, strategy)
    evidence["symbolic_proof"] = proof
    evidence["measured_verdict"] = {"verdict": Verdict.VERIFIED.value, "summary": summary}
    return _outcome(Verdict.PROVED, why, evidence, strategy)


def _confirm_counterexample(ctx: Context, bench: Bench, found: Any, summary: str,
                            evidence: dict, strategy: str) -> Outcome:
    """A failure the count formulas predict off the grid, decided by counting there (on
    the meta device: the sizes may be far too large to run)."""
    from derive.timing import count_proof

    checked = ctx.checked
    try:
        holds, detail = count_proof.confirm(checked, ctx.statement, found.point,
                                            lambda c, p: _extra_count(checked, bench, c, p))
    except (CannotMeasure, SizeError, wide.NotWide, Undecided) as exc:
        holds, detail = None, {"unknown": str(exc)}
    evidence["formula_counterexample"] = {"sizes": found.point, "holds": holds, **detail}
    if holds is False:
        where = ", ".join(f"{k}={v}" for k, v in found.point.items())
        return _outcome(Verdict.REFUTED, f"fails at {where} (found from the exact count "
                        f"formulas, confirmed by counting there): {detail['comparison']}",
                        evidence, strategy)
    return _outcome(Verdict.VERIFIED, summary, evidence, strategy)


REGIME_SIZES = (16, 1024)    # an unswept size alone this small or large (others at default)


def regime_points(checked, grid: Grid) -> list[dict[str, int]]:
    """Points where one unswept dimension at a time is small or large.

    Dims with no sweep sit at one default value, where ``p == q == r == s`` and a rule
    between two orders of a matrix chain holds vacuously; exact counts cost little, so
    the comparison is also made with each such size alone at 16 and at 1024."""
    free = [k for k in grid.fixed if checked.symbols.get(k) is not None
            and checked.symbols[k].role == "dim"]
    if not free or not grid.points:
        return []
    keep = _size_filter(checked)
    out: list[dict[str, int]] = []
    base = grid.points[-1]
    for k in free:
        for v in REGIME_SIZES:
            p = {**base, k: v}
            if p not in grid.points and p not in out and keep(p):
                out.append(p)
    return out


def _describe(st: PointState) -> str:
    for d in st.detail:
        if "speedup" in d:
            return (f"{d['comparison']}: speed-up {_r(d['speedup'], 3)}× "
                    f"[{_r(d['interval'][0], 3)}, {_r(d['interval'][1], 3)}]")
        if "exact" in d:
            return f"{d['comparison']}: {d['left']:g} vs {d['right']:g}"
        if "ratio_left_over_right" in d:
            return f"{d['comparison']}: ratio {d['ratio_left_over_right']} {d['interval']}"
    return "see evidence"


def _crossover(states: list[PointState], grid: Grid) -> Optional[dict[str, Any]]:
    """Where the first comparison's ratio crosses its threshold along a single swept size."""
    if len(grid.names) != 1 or len(states) < 2:
        return None
    name = grid.names[0]
    pts = []
    for st in states:
        row = next((d for d in st.detail if "speedup" in d or "exact" in d), None)
        if row is None:
            return None
        if "speedup" in row:
            pts.append((st.point[name], row["speedup"] / max(row["claimed_factor"], 1e-300)))
        elif row.get("ratio"):
            pts.append((st.point[name], row["ratio"]))
        else:
            return None
    for (n0, r0), (n1, r1) in zip(pts, pts[1:]):
        if r0 > 0 and r1 > 0 and (r0 - 1) * (r1 - 1) < 0:
            t = -math.log(r0) / (math.log(r1) - math.log(r0))
            at = math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0)))
            return {"variable": name, "between": [n0, n1], "estimate": _r(at, 3)}
    return None
