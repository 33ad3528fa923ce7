"""The growth rule of ``~`` / ``in O(…)`` / ``in Ω(…)``: a verdict from values over a sweep.

The excess exponent of value/bound is fitted over the sweep (:mod:`derive.timing.stats`) and
compared with the tolerance; the Ω mirror is :func:`derive.timing.omega.omega_rule`.  One rule
for every growth statement: the timing engine applies it to costs and to exact values, the
numeric engine to its Monte-Carlo estimates of random values (:mod:`derive.numeric.growth`),
so it sits below the engines (layer ``lowering`` of ``tests/test_layering.py``).
"""
from __future__ import annotations

import math
from typing import Optional

from derive.outcome import Verdict
from derive.timing import stats


def _r(x: float, k: int = 4) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, max(k - int(math.floor(math.log10(abs(x)))) - 1, 0))


def growth_rule(gvars: list[str], points: list[dict[str, int]], values: list[float],
                bounds: list[float], big_o: bool, subject: str, evidence: dict,
                samples: Optional[list[list[float]]] = None, seed: int = 0,
                confidence: float = stats.CONFIDENCE, pad: float = 0.0, center: str = "median"
                ) -> tuple[Verdict, str]:
    """Decide Θ / O from values over the grid (exact, or with ``samples`` per point).

    With samples (Monte-Carlo estimates) a verdict also needs the bootstrap interval of
    the excess exponent to agree: inside ±2·tol to verify, beyond ±tol to refute.
    ``confidence`` is the interval's level (per look of a sequential rule); ``pad``
    widens the interval by that much on each side and narrows the band the fitted
    exponent must fall in by half of it (an early look decides only with that margin).
    ``center`` summarises a bootstrap resample of ``samples`` (see
    :func:`derive.timing.stats.fit_exponents`).
    """
    if big_o == "Ω":  # a lower bound: the mirror rule, derive/timing/omega.py
        from derive.timing.omega import omega_rule
        return omega_rule(gvars, points, values, bounds, subject, evidence, samples, seed,
                          confidence, pad, center)
    fit_value, fit_bound, resid = stats.fit_excess(gvars, points, values, bounds, samples, seed,
                                                   confidence, center)
    evidence["fitted_exponent"] = fit_value.as_dict(gvars)
    evidence["claimed_exponent"] = {v: _r(s, 3) for v, s in zip(gvars, fit_bound.slopes)}
    evidence["excess_exponent"] = resid.as_dict(gvars)
    tol = stats.EXPONENT_TOL
    evidence["tolerance"] = tol
    k_all = range(len(gvars))
    fits = [resid.slopes[k] for k in k_all]
    lasts = [resid.local[k][-1] if resid.local[k] else resid.slopes[k] for k in k_all]
    firsts = [resid.local[k][0] if resid.local[k] else resid.slopes[k] for k in k_all]
    lo, hi = [x - pad for x in resid.lo], [x + pad for x in resid.hi]
    ftol = tol - pad / 2
    desc = ", ".join(f"{v}^{_r(s, 3)}" for v, s in zip(gvars, fit_value.slopes))
    claimed = ", ".join(f"{v}^{_r(s, 3)}" for v, s in zip(gvars, fit_bound.slopes))
    if samples is not None:
        # Monte-Carlo estimates: the fitted exponent's bootstrap interval decides (refute
        # beyond ±tol, verify inside ±2·tol); as for exact values, a refutation also needs
        # the excess at the largest sizes beyond ±tol and, for "slower", not rising by more
        # than tol across the sweep (a constant term that still dominates, n + 1000 ~ n).
        if any(lo[k] > tol and lasts[k] > tol for k in k_all):
            return Verdict.REFUTED, (f"{subject} grow as {desc}, faster than the claimed "
                                     f"{claimed} (excess exponent interval above +{tol})")
        if big_o:
            if all(hi[k] <= 2 * tol and fits[k] <= ftol for k in k_all):
                return Verdict.VERIFIED, f"{subject} grow as {desc}, within the bound {claimed}"
        else:
            slower = [k for k in k_all if hi[k] < -tol and lasts[k] < -tol]
            if slower and all(lasts[k] - firsts[k] <= tol for k in slower):
                return Verdict.REFUTED, (f"{subject} grow as {desc}, slower than the claimed "
                                         f"{claimed} (excess exponent interval below −{tol})")
            if slower:
                return Verdict.INCONCLUSIVE, (
                    f"{subject} grow as {desc}, slower than the claimed {claimed} over the sweep, "
                    "but the excess exponent rises towards the largest sizes: lower-order terms "
                    "may still dominate; extend the sweep to larger sizes")
            if all(abs(fits[k]) <= ftol and lo[k] >= -2 * tol and hi[k] <= 2 * tol for k in k_all):
                return Verdict.VERIFIED, (f"{subject} grow as {desc}, matching the claimed "
                                          f"{claimed} (tolerance ±{tol})")
        return Verdict.INCONCLUSIVE, (f"{subject} grow as {desc} against the claimed {claimed}: "
                                      "the Monte-Carlo interval does not settle it")
    faster = [k for k in k_all if lasts[k] > tol and fits[k] > -tol]
    if faster:
        return Verdict.REFUTED, (f"{subject} grow as {desc}, faster than the claimed {claimed} "
                                 f"(excess exponent {_r(lasts[faster[0]], 3)} at the largest sizes)")
    if big_o:
        if all(f <= tol for f in fits):
            return Verdict.VERIFIED, f"{subject} grow as {desc}, within the bound {claimed} over the sweep"
        return Verdict.INCONCLUSIVE, (f"{subject} grow as {desc}: not clearly within the bound "
                                      f"{claimed} over the sweep")
    if all(abs(x) <= tol for x in lasts) and all(abs(f) <= 2 * tol for f in fits):
        return Verdict.VERIFIED, (f"{subject} grow as {desc}, matching the claimed {claimed} "
                                  f"(tolerance ±{tol})")
    slower = [k for k in k_all if lasts[k] < -tol]
    if slower and all(lasts[k] - firsts[k] <= tol for k in slower):
        k = slower[0]
        return Verdict.REFUTED, (f"{subject} grow as {desc}, slower than the claimed {claimed} "
                                 f"(excess exponent {_r(lasts[k], 3)})")
    return Verdict.INCONCLUSIVE, (f"{subject} grow as {desc} against the claimed {claimed}: "
                                  "lower-order terms still dominate the sweep; extend it to larger "
                                  "sizes")
