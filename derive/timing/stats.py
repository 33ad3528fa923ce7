"""Statistics of timings and counts: medians, bootstrap intervals, log–log exponent fits.

Everything is seeded: the same samples and seed give the same interval.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

CONFIDENCE = 0.95        # two-sided bootstrap intervals
BOOTSTRAP = 2000          # resamples
NOISE_BAND = 1.3          # a speed-up must be at least this large (unless the claim states more)
EXPONENT_TOL = 0.15       # |fitted − claimed| exponent accepted for Θ over the sweep
FIT_RESAMPLES = 400       # bootstrap resamples of an exponent fit


def median(xs: Sequence[float]) -> float:
    return float(np.median(np.asarray(xs, dtype=float)))


def spread(xs: Sequence[float]) -> float:
    """Relative spread: (p90 − p10) / median."""
    a = np.asarray(xs, dtype=float)
    med = float(np.median(a))
    if len(a) < 2 or med == 0:
        return 0.0
    return float((np.percentile(a, 90) - np.percentile(a, 10)) / med)


def bootstrap_median(xs: Sequence[float], seed: int, confidence: float = CONFIDENCE,
                     resamples: int = BOOTSTRAP) -> tuple[float, float, float]:
    """Median with a percentile-bootstrap interval (computed on logs: ratios are multiplicative)."""
    a = np.log(np.asarray(xs, dtype=float))
    med = float(np.median(a))
    if len(a) < 2:
        return math.exp(med), math.exp(med), math.exp(med)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(resamples, len(a)))
    meds = np.median(a[idx], axis=1)
    lo, hi = np.percentile(meds, [50 * (1 - confidence), 100 - 50 * (1 - confidence)])
    return math.exp(med), math.exp(float(lo)), math.exp(float(hi))


@dataclass
class Fit:
    """``log y ≈ a + Σ slope_k log x_k`` with a bootstrap interval of each slope."""

    slopes: list[float]
    lo: list[float]
    hi: list[float]
    local: list[list[float]]  # per variable: slopes between consecutive sizes (others at max)

    def as_dict(self, names: Sequence[str]) -> dict:
        return {name: {"exponent": round(s, 3), "interval": [round(l, 3), round(h, 3)],
                       "local": [round(x, 3) for x in loc]}
                for name, s, l, h, loc in zip(names, self.slopes, self.lo, self.hi, self.local)}


def _lstsq(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    A = np.column_stack([np.ones(len(X)), X])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return coef[1:]


def fit_exponents(points: Sequence[Sequence[float]], values: Sequence[float],
                  samples: Optional[Sequence[Sequence[float]]] = None, seed: int = 0,
                  confidence: float = CONFIDENCE, center: str = "median") -> Fit:
    """Fit exponents of ``values`` against the sizes in ``points`` (one row per point).

    ``samples`` (optional, one list per point) gives repeated measurements: the interval
    then comes from resampling them; exact counts get a zero-width interval.
    ``confidence`` is the two-sided level of that interval (lower it per look, Bonferroni,
    when a sequential rule looks more than once).  ``center`` is how a resample is
    summarised: its ``median`` (timings: robust to a stalled round) or its ``mean``
    (independent Monte-Carlo replicates, whose mean is the estimate ``values`` hold).
    """
    X = np.log(np.asarray(points, dtype=float))
    if X.ndim == 1:
        X = X[:, None]
    y = np.log(np.asarray(values, dtype=float))
    slopes = _lstsq(X, y)
    lo = hi = slopes
    if samples is not None and all(len(s) > 1 for s in samples):
        rng = np.random.default_rng(seed)
        raw = [np.asarray(s, dtype=float) for s in samples]
        # one design matrix for every resample: the bootstrap is a single lstsq
        yb = np.empty((len(raw), FIT_RESAMPLES))
        for i, s in enumerate(raw):
            idx = rng.integers(0, len(s), size=(FIT_RESAMPLES, len(s)))
            if center == "mean":
                yb[i] = np.log(np.maximum(s[idx].mean(axis=1), 1e-300))
            else:
                yb[i] = np.median(np.log(s)[idx], axis=1)
        A = np.column_stack([np.ones(len(X)), X])
        coef, *_ = np.linalg.lstsq(A, yb, rcond=None)
        b = coef[1:].T
        lo = np.percentile(b, 50 * (1 - confidence), axis=0)
        hi = np.percentile(b, 100 - 50 * (1 - confidence), axis=0)
    local = []
    for k in range(X.shape[1]):
        others_max = np.all(np.delete(X, k, axis=1) == np.delete(X, k, axis=1).max(axis=0), axis=1) \
            if X.shape[1] > 1 else np.ones(len(X), bool)
        sel = np.where(others_max)[0]
        order = sel[np.argsort(X[sel, k])]
        segs = []
        for i, j in zip(order, order[1:]):
            dx = X[j, k] - X[i, k]
            if dx > 0:
                segs.append(float((y[j] - y[i]) / dx))
        local.append(segs)
    return Fit([float(s) for s in slopes], [float(v) for v in np.atleast_1d(lo)],
               [float(v) for v in np.atleast_1d(hi)], local)


def fit_excess(gvars: Sequence[str], points: Sequence[dict], values: Sequence[float],
               bounds: Sequence[float], samples: Optional[Sequence[Sequence[float]]] = None,
               seed: int = 0, confidence: float = CONFIDENCE, center: str = "median"):
    """The fitted exponents of the values and of the bound over the grid, and of their ratio
    (with its interval from per-point ``samples`` when given): the shared start of the
    Θ/O rule and of its Ω mirror."""
    X = [[p[v] for v in gvars] for p in points]
    ratio_samples = None
    if samples is not None:
        ratio_samples = [[x / b for x in s] for s, b in zip(samples, bounds)]
    resid = fit_exponents(X, [v / b for v, b in zip(values, bounds)], ratio_samples, seed,
                          confidence, center)
    return fit_exponents(X, values), fit_exponents(X, bounds), resid

