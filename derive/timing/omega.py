"""Lower bounds ``cost in Ω(g)``: the ratio cost/g stays bounded below over the sweep.

The mirror image of the O rule in :func:`derive.timing.exponents.growth_rule`: the excess
exponent of cost/g is fitted over the sweep; a clearly negative exponent at the largest
sizes (cost growing slower than g) refutes, and an exponent not below −tol everywhere
verifies.  Kept beside the O rule rather than inside it so each rule reads on its own.
"""
from __future__ import annotations

from typing import Optional

from derive.outcome import Verdict
from derive.timing import stats


def _r(x: float, digits: int = 3) -> float:
    return round(float(x), digits)


def omega_rule(gvars: list[str], points: list[dict[str, int]], values: list[float],
               bounds: list[float], subject: str, evidence: dict,
               samples: Optional[list[list[float]]] = None, seed: int = 0,
               confidence: float = stats.CONFIDENCE, pad: float = 0.0,
               center: str = "median") -> tuple[Verdict, str]:
    """Decide Ω from values over the grid (exact, or Monte-Carlo ``samples`` per point)."""
    fit_value, fit_bound, resid = stats.fit_excess(gvars, points, values, bounds, samples, seed,
                                                   confidence, center)
    evidence["fitted_exponent"] = fit_value.as_dict(gvars)
    evidence["claimed_exponent"] = {v: _r(s) for v, s in zip(gvars, fit_bound.slopes)}
    evidence["excess_exponent"] = resid.as_dict(gvars)
    tol = stats.EXPONENT_TOL
    evidence["tolerance"] = tol
    ks = range(len(gvars))
    fits = [resid.slopes[k] for k in ks]
    lasts = [resid.local[k][-1] if resid.local[k] else resid.slopes[k] for k in ks]
    firsts = [resid.local[k][0] if resid.local[k] else resid.slopes[k] for k in ks]
    desc = ", ".join(f"{v}^{_r(s)}" for v, s in zip(gvars, fit_value.slopes))
    claimed = ", ".join(f"{v}^{_r(s)}" for v, s in zip(gvars, fit_bound.slopes))
    if samples is not None:
        lo, hi = [x - pad for x in resid.lo], [x + pad for x in resid.hi]
        ftol = tol - pad / 2
        # as for exact values, the excess at the largest sizes must be below −tol too and
        # not rising by more than tol across the sweep (a dominant lower-order term)
        slower = [k for k in ks if hi[k] < -tol and lasts[k] < -tol]
        if slower and all(lasts[k] - firsts[k] <= tol for k in slower):
            return Verdict.REFUTED, (f"{subject} grow as {desc}, slower than the claimed lower "
                                     f"bound {claimed} (excess exponent interval below −{tol})")
        if all(lo[k] >= -2 * tol and fits[k] >= -ftol for k in ks):
            return Verdict.VERIFIED, f"{subject} grow as {desc}, at least the lower bound {claimed}"
        return Verdict.INCONCLUSIVE, (f"{subject} grow as {desc} against the lower bound "
                                      f"{claimed}: the Monte-Carlo interval does not settle it")
    slower = [k for k in ks if lasts[k] < -tol and fits[k] < tol]
    if slower:
        return Verdict.REFUTED, (f"{subject} grow as {desc}, slower than the claimed lower bound "
                                 f"{claimed} (excess exponent {_r(lasts[slower[0]])} at the "
                                 f"largest sizes)")
    if all(f >= -tol for f in fits):
        return Verdict.VERIFIED, (f"{subject} grow as {desc}, at least the lower bound {claimed} "
                                  f"over the sweep")
    return Verdict.INCONCLUSIVE, (f"{subject} grow as {desc}: not clearly above the lower bound "
                                  f"{claimed} over the sweep")
