"""The bench: builds the computation of a cost expression and measures it, with caches.

The computation is the numeric engine's lowering (:class:`derive.numeric.lower.Evaluator`)
run on sampled inputs, so the evaluation order is exactly the written one.  Counts
(FLOPs, bytes) and wall-time samples are cached per (claim, seed, device, expression,
grid point), so a claim's second statement reuses what its first one measured.
"""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import torch

from derive import model as m
from derive.numeric.lower import Evaluator, LoweringError
from derive.semantics import CheckedClaim
from derive.timing import measure
from derive.timing.flops import CountResult, count
from derive.analysis import SizeError, claim_seed, reachable
from derive.timing.sizes import sample_env

DTYPE = torch.float32
_CACHE_LIMIT = 512
CPU_FLOPS_GUESS = 5e10   # FLOP/s of one core (fp32 matmul), to refuse runs far over budget
GPU_FLOPS_GUESS = 2e13
MAX_RUN_S = 2.0
_COUNTS: "OrderedDict[tuple, tuple[CountResult, float]]" = OrderedDict()
_TIMES: "OrderedDict[tuple, list[float]]" = OrderedDict()
_GPU_PEAK: "OrderedDict[tuple, int]" = OrderedDict()


class _Window(list):
    """A recurrence's history that forgets all but its last ``keep`` steps (as ``None``)."""

    keep = 2

    def append(self, value: Any) -> None:
        super().append(value)
        old = len(self) - self.keep - 1
        if old >= 0:
            self[old] = None


class StreamingEvaluator(Evaluator):
    """The lowering, but a recurrence keeps only its last two steps.

    ``w[t+1] = f(w[t])`` evaluated as written needs the previous state only; the lowering
    memoises the whole history (for random access), which would charge a streaming
    algorithm (FlashAttention's running max and sum) with memory for every step.  A step
    asked for after it was forgotten is recomputed from the start.
    """

    def sequence_value(self, ident: str, step: int) -> Any:
        hist = self.seq_hist.get(ident)
        if not isinstance(hist, _Window) or (step < len(hist) and hist[step] is None):
            self.seq_hist[ident] = _Window()
        return super().sequence_value(ident, step)


class _Counting(Evaluator):
    """The plain lowering, run on real tensors (a recurrence's many small steps)."""


class CannotMeasure(Exception):
    """The expression cannot be built or run (lowering error, unknown size, …)."""


def _remember(cache: OrderedDict, key: tuple, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _CACHE_LIMIT:
        cache.popitem(last=False)


def point_key(point: dict[str, int]) -> tuple:
    return tuple(sorted(point.items()))


@dataclass
class Bench:
    """Measurements of one claim's cost expressions on one device."""

    checked: CheckedClaim
    seed: int
    device: str  # "cpu" or "cuda"

    def __post_init__(self) -> None:
        self._envs: dict[tuple, dict[str, Any]] = {}
        claim = self.checked.claim
        # keyed by the model, not only the text: a mutant (derive mutate) keeps its claim's
        # text and id, and must never be answered with its claim's counts
        model = hashlib.sha1(repr(claim.statements).encode("utf-8")).hexdigest()
        self._claim_key = (claim.id, claim.text, claim.file, model, self.seed, self.device)

    # ------------------------------------------------------------ building
    def env(self, point: dict[str, int], exprs: Sequence[m.Expr]) -> dict[str, Any]:
        names = reachable(self.checked, exprs)
        key = point_key(point)
        env = self._envs.setdefault(key, {})
        missing = {n for n in names if n not in env}
        if missing or not env:
            try:
                env.update(sample_env(self.checked, missing | set(point), point, self.seed,
                                      self.device, DTYPE))
            except SizeError as exc:
                raise CannotMeasure(str(exc)) from exc
        return env

    def thunk(self, expr: m.Expr, point: dict[str, int], exprs: Sequence[m.Expr] = ()
              ) -> Callable[[], torch.Tensor]:
        """A zero-argument function computing ``expr`` as written on this point's inputs."""
        env = self.env(point, list(exprs) or [expr])
        dev = torch.device(self.device)
        checked = self.checked

        def run() -> torch.Tensor:
            ev = Evaluator(env, dev, DTYPE, checked)
            return ev.tensor(ev.ev(expr))

        return run

    # ------------------------------------------------------------ counting
    def count(self, expr: m.Expr, point: dict[str, int], need: str = "flops") -> CountResult:
        """FLOPs and bytes of one run (exact, cached).

        Counted on the ``meta`` device first (shapes only, no arithmetic: free at any size);
        a computation whose control flow reads values falls back to a real run.  An
        expression with a recurrence is run twice when both are needed: as written for
        FLOPs (each step once) and streaming for bytes (``need``: flops | memory | both).
        """
        sequences = any(self.checked.symbols[n].role == "sequence"
                        for n in reachable(self.checked, [expr]) if n in self.checked.symbols)
        need = need if sequences else "both"
        key = self._claim_key + (expr, point_key(point))
        for k in ((key + ("both",)), key + (need,)):
            if k in _COUNTS:
                return _COUNTS[k][0]
        key = key + (need,)
        if not sequences:
            result, elapsed = self._count_run(expr, point, Evaluator)
        elif need == "memory":
            result, elapsed = self._count_run(expr, point, StreamingEvaluator)
            result.memory_note = ("recurrences hold their last 2 steps; FLOPs of this streaming "
                                  "run include recomputed steps")
        else:
            result, elapsed = self._count_run(expr, point, _Counting)
            if need == "both":
                streamed, _ = self._count_run(expr, point, StreamingEvaluator)
                result.peak_bytes = streamed.peak_bytes
                result.memory_note = "recurrences hold their last 2 steps (peak of a streaming run)"
            else:
                result.memory_note = "bytes of the run that keeps every step of the recurrences"
        _remember(_COUNTS, key, (result, elapsed))
        return result

    def _count_run(self, expr: m.Expr, point: dict[str, int], kind: type
                   ) -> tuple[CountResult, Optional[float]]:
        """One counting run: on meta if the computation allows, else on the device."""
        env = self.env(point, [expr])
        meta_env = {k: (v.to("meta") if isinstance(v, torch.Tensor) else v) for k, v in env.items()}
        checked = self.checked

        def on_meta() -> torch.Tensor:
            ev = kind(meta_env, torch.device("meta"), DTYPE, checked)
            return ev.tensor(ev.ev(expr))

        def on_device() -> torch.Tensor:
            ev = kind(env, torch.device(self.device), DTYPE, checked)
            return ev.tensor(ev.ev(expr))

        if kind is Evaluator:  # a recurrence is many small steps: faster on real tensors
            try:
                result = count(on_meta)
                result.counted_on = "meta"
                return result, None
            except Exception:  # noqa: BLE001 - data-dependent code cannot run on meta: run it
                pass
        start = time.perf_counter()
        try:
            with measure.pinned_threads(self.device):
                result = count(on_device)
        except (LoweringError, RuntimeError, ValueError, TypeError, IndexError) as exc:
            raise CannotMeasure(f"cannot evaluate {type(expr).__name__}: {exc}") from exc
        result.counted_on = self.device
        return result, time.perf_counter() - start

    def count_seconds(self, expr: m.Expr, point: dict[str, int]) -> Optional[float]:
        """How long a real counting run took (None when counted on meta)."""
        base = self._claim_key + (expr, point_key(point))
        entry = _COUNTS.get(base + ("both",)) or _COUNTS.get(base + ("flops",))
        return None if entry is None else entry[1]

    def peak_bytes(self, expr: m.Expr, point: dict[str, int]) -> int:
        """Peak bytes: the allocator's statistics on a GPU, the tracker on CPU."""
        if not self.device.startswith("cuda"):
            return self.count(expr, point, "memory").peak_bytes
        key = self._claim_key + (expr, point_key(point))
        if key not in _GPU_PEAK:
            fn = self.thunk(expr, point)
            fn()  # warm the allocator and kernels
            _remember(_GPU_PEAK, key, measure.memory_peak(fn, self.device) or 0)
        return _GPU_PEAK[key]

    # ------------------------------------------------------------ timing
    def cached_times(self, expr: m.Expr, point: dict[str, int]) -> Optional[list[float]]:
        return _TIMES.get(self._claim_key + (expr, point_key(point)))

    def time_rounds(self, exprs: Sequence[m.Expr], point: dict[str, int], budget_s: float,
                    max_rounds: int, min_rounds: int = 5,
                    decided: Optional[Callable[[list[list[float]]], bool]] = None
                    ) -> measure.Rounds:
        """Interleaved randomized rounds of all ``exprs`` at one point (``decided``: an
        early-stopping rule asked at the planned looks of :func:`measure.measure_rounds`)."""
        fns = [self.thunk(e, point, exprs) for e in exprs]
        prior = []
        for e in exprs:
            flops = self.count(e, point).flops
            guess = flops / (GPU_FLOPS_GUESS if self.device.startswith("cuda") else CPU_FLOPS_GUESS)
            if guess > MAX_RUN_S:
                raise measure.TooSlow(f"one run needs about {guess:.0f} s ({flops:.3g} FLOPs); "
                                      f"time it at smaller sizes")
            prior.append(self.count_seconds(e, point) or 0.0)
        seed = claim_seed(self.seed, self.checked.claim.id, f"timing/rounds:{point_key(point)}")
        try:
            rounds = measure.measure_rounds(fns, device=self.device, budget_s=budget_s,
                                            min_rounds=min_rounds, max_rounds=max_rounds,
                                            seed=seed, prior_s=prior, decided=decided)
        except (LoweringError, RuntimeError, ValueError) as exc:
            raise CannotMeasure(f"cannot run the computation: {exc}") from exc
        for e, samples in zip(exprs, rounds.samples):
            key = self._claim_key + (e, point_key(point))
            _remember(_TIMES, key, list(samples) + (_TIMES.get(key) or []))
        return rounds


def clear_caches() -> None:
    """Forget every cached count and timing (benchmarks measure afresh each run)."""
    _COUNTS.clear()
    _TIMES.clear()
    _GPU_PEAK.clear()
