"""Wall-time measurement that survives a noisy shared machine.

* CPU: torch is pinned to **one thread** while timing (two threads on a shared 2-core
  machine spread ±10 %, one thread ±2 %); garbage collection is paused.
* Warm-up by time: every function runs round-robin until ``warmup_s`` has passed (and
  at least once each); the last warm-up run estimates its cost.
* Rounds stop early (after 3) once every function's samples agree within 15 %; a noisy
  machine gets up to ``max_rounds`` within the budget.
* Short calls are batched (``inner`` calls per sample) so one sample lasts ≥ ``min_sample_s``.
* **Interleaved, randomized rounds**: each round runs every function once, in an order
  drawn from a seeded generator, so slow drifts of the machine hit all of them alike;
  the statistics are then taken per round (ratios within a round).
* GPU (guarded; needs CUDA): CUDA events around each run with synchronisation, an L2
  flush (writing a buffer twice the L2 size) before every run, one call per sample;
  runs shorter than 50 µs are flagged (launch overhead dominates).
"""
from __future__ import annotations

import gc
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
import torch

MIN_GPU_KERNEL_S = 50e-6
HEAVY_RUN_S = 0.2  # a prior run this long counts as the warm-up
HEAVY_MIN_ROUNDS = 3  # rounds at least, when one round lasts longer than HEAVY_RUN_S
MIN_HARD_CAP_S = 3.0  # the minimum rounds may always use this much
STABLE_ROUNDS = 3   # stop early after this many rounds if every function is steady:
STABLE_SPREAD = 1.15  # max/min of its samples at most this
LOOK_ROUNDS = (5, 10)  # pre-planned interim looks of a caller's stopping rule (then the end)


class TooSlow(Exception):
    """One round would take longer than the budget allows."""


@dataclass
class Rounds:
    """Samples (seconds per call) of each function, one per round, rounds aligned."""

    samples: list[list[float]]
    inner: list[int]
    warmup_s: float
    device: str
    threads: int
    short: list[bool] = field(default_factory=list)  # GPU: median below 50 µs

    @property
    def rounds(self) -> int:
        return len(self.samples[0]) if self.samples else 0


@contextmanager
def pinned_threads(device: str, threads: int = 1) -> Iterator[int]:
    """Pin torch's intra-op threads on CPU while timing; restore afterwards."""
    previous = torch.get_num_threads()
    gc_was = gc.isenabled()
    if device == "cpu":
        torch.set_num_threads(threads)
    gc.disable()
    try:
        yield torch.get_num_threads()
    finally:
        if gc_was:
            gc.enable()
        if device == "cpu":
            torch.set_num_threads(previous)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed_once(fn: Callable[[], Any], device: str) -> float:
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def _call_cpu(fn: Callable[[], Any], inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


class _Flusher:
    """Evict the GPU's L2 cache by writing a buffer twice its size."""

    def __init__(self, device: str) -> None:
        props = torch.cuda.get_device_properties(torch.device(device))
        size = max(int(getattr(props, "L2_cache_size", 0)) * 2, 64 << 20)
        self.buffer = torch.empty(size // 4, dtype=torch.float32, device=device)

    def flush(self) -> None:
        self.buffer.zero_()


def _call_cuda(fn: Callable[[], Any], flusher: _Flusher) -> float:
    flusher.flush()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3


def measure_rounds(fns: Sequence[Callable[[], Any]], *, device: str = "cpu", budget_s: float = 1.0,
                   min_rounds: int = 5, max_rounds: int = 15, warmup_s: float = 0.05,
                   min_sample_s: float = 2e-3, seed: int = 0,
                   max_budget_factor: float = 3.0,
                   prior_s: Optional[Sequence[float]] = None,
                   decided: Optional[Callable[[list[list[float]]], bool]] = None) -> Rounds:
    """Time every function of ``fns`` in interleaved randomized rounds within ``budget_s``.

    ``prior_s`` are durations of runs already made (the counting run): a function whose
    prior run lasted at least ``warmup_s`` counts as warm.  Raises :class:`TooSlow` if
    even ``min_rounds`` rounds would exceed ``max_budget_factor × budget_s``.

    ``decided`` (optional) is a caller's sequential stopping rule: it is asked only at the
    pre-planned rounds of ``LOOK_ROUNDS`` (so its error can be split over a fixed number
    of looks) and the rounds stop when it answers True.
    """
    rng = np.random.default_rng(seed)
    cuda = device.startswith("cuda")
    flusher = _Flusher(device) if cuda else None
    with pinned_threads("cuda" if cuda else "cpu") as threads:
        # ---- warm-up by time (a long prior run counts as warm: it already ran the kernels)
        last = [math.inf] * len(fns)
        from_prior = set()
        if prior_s is not None and not cuda:
            for i, p in enumerate(prior_s):
                if p >= HEAVY_RUN_S:
                    last[i] = p
                    from_prior.add(i)
        cold = [i for i in range(len(fns)) if i not in from_prior]
        start = time.perf_counter()
        while cold:
            for i in cold:
                last[i] = min(last[i], _timed_once(fns[i], device))
            spent = time.perf_counter() - start
            if spent >= warmup_s or spent > 0.5 * budget_s:
                break
        if cuda:
            inner = [1] * len(fns)
        else:
            inner = [max(1, min(1000, math.ceil(min_sample_s / max(t, 1e-9)))) for t in last]
        round_cost = sum(k * t for k, t in zip(inner, last))
        if min_rounds * round_cost > max_budget_factor * budget_s and from_prior:
            for i in from_prior:  # the prior run may have carried first-call overheads
                last[i] = min(last[i], _timed_once(fns[i], device))
            round_cost = sum(k * t for k, t in zip(inner, last))
        warm = time.perf_counter() - start
        if round_cost > HEAVY_RUN_S:
            min_rounds = min(min_rounds, HEAVY_MIN_ROUNDS)  # long runs are steady; fewer suffice
        cap = max(max_budget_factor * budget_s, MIN_HARD_CAP_S)
        if min_rounds * round_cost > cap:
            raise TooSlow(f"{min_rounds} rounds would take {min_rounds * round_cost:.2f} s, over "
                          f"the cap {cap:.2f} s")
        rounds = int(max(min_rounds, min(max_rounds, budget_s // max(round_cost, 1e-9))))
        samples: list[list[float]] = [[] for _ in fns]
        for r in range(rounds):
            for i in rng.permutation(len(fns)):
                if cuda:
                    samples[i].append(_call_cuda(fns[i], flusher))
                else:
                    samples[i].append(_call_cpu(fns[i], inner[i]))
            if r + 1 >= STABLE_ROUNDS and r + 1 < rounds and all(
                    max(s) <= STABLE_SPREAD * min(s) for s in samples):
                break  # every function is already steady to within STABLE_SPREAD
            if decided is not None and r + 1 in LOOK_ROUNDS and r + 1 < rounds and \
                    decided(samples):
                break  # the caller's rule is settled with its margin at a planned look
    short = [cuda and float(np.median(s)) < MIN_GPU_KERNEL_S for s in samples]
    return Rounds(samples, inner, warm, device, threads, short)


def device_name(device: str) -> str:
    """A human name of the device the timings ran on."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def cuda_available() -> bool:
    return torch.cuda.is_available()


def memory_peak(fn: Callable[[], Any], device: str) -> Optional[int]:
    """GPU peak bytes of one run (``None`` on CPU: use the counting mode there)."""
    if not device.startswith("cuda"):
        return None
    from derive.timing.memory import cuda_peak_bytes

    return cuda_peak_bytes(fn, torch.device(device))
