"""Interval machinery for Monte-Carlo verdicts whose stated error rate holds.

* :func:`clopper_pearson` — the exact binomial interval for a probability: valid for any
  n and any p (rare events included), unlike a normal interval whose sd is 0 with no hits.
* :class:`TailWatch` — a heavy-tail diagnostic of a sample: the largest draw's share of
  the sum of squared deviations and the effective sample size of the variance estimate.
  A sample mean of a heavy-tailed quantity (lognormal ``exp(5.5 z)``) misses the far tail
  mass and its sample sd understates the error, so a delta-method interval is invalid;
  such a sample may neither refute nor verify.
* :func:`rqmc_interval` — an interval from independent randomized-QMC replicates (Student
  t on the replicate means: each scrambled Sobol replicate is an unbiased, independent
  estimate, so the interval is honest even though the points within one are not iid).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from scipy import stats as sst

MAX_DRAW_SHARE = 0.1       # largest draw's share of Σ(x − x̄)² above which the sample is heavy
MIN_VAR_ESS = 50.0         # (Σd²)² / Σd⁴ below which the sample variance is not to be trusted


def clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    """Two-sided exact binomial interval for p from k successes in n trials at level 1 − α."""
    if n <= 0:
        return 0.0, 1.0
    lo = 0.0 if k <= 0 else float(sst.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k >= n else float(sst.beta.isf(alpha / 2, k + 1, n - k))
    return lo, hi


def t_quantile(level: float, df: int) -> float:
    """The two-sided Student-t quantile for a 1 − level interval."""
    return float(sst.t.isf(level / 2, max(df, 1)))


def rqmc_interval(means: Sequence[float], alpha: float) -> tuple[float, float, float]:
    """(centre, half-width) … from independent replicate means: t interval at level 1 − α.

    Returns ``(mean, half_width, standard_error)``."""
    xs = torch.tensor(list(means), dtype=torch.float64)
    r = xs.numel()
    mu = float(xs.mean())
    se = float(xs.std(unbiased=True)) / math.sqrt(r) if r > 1 else math.inf
    return mu, t_quantile(alpha, r - 1) * se, se


@dataclass
class TailReport:
    """Heavy-tail diagnostics of one feature column (the worst column is reported)."""

    largest_share: float
    variance_ess: float

    @property
    def heavy(self) -> bool:
        return self.largest_share > MAX_DRAW_SHARE or self.variance_ess < MIN_VAR_ESS

    def as_dict(self) -> dict:
        return {"largest_draw_share": round(self.largest_share, 5),
                "variance_ess": round(self.variance_ess, 1),
                "thresholds": {"largest_draw_share": MAX_DRAW_SHARE, "variance_ess": MIN_VAR_ESS},
                "heavy": self.heavy}


class TailWatch:
    """Streaming Σd², Σd⁴ and max d² of features around a centre fixed at the first chunk."""

    def __init__(self) -> None:
        self.centre: Optional[torch.Tensor] = None
        self.s2: Optional[torch.Tensor] = None
        self.s4: Optional[torch.Tensor] = None
        self.mx: Optional[torch.Tensor] = None

    def add(self, f: torch.Tensor) -> None:
        if self.centre is None:
            self.centre = f.mean(0)
        d2 = (f - self.centre) ** 2
        s2, s4, mx = d2.sum(0), (d2 * d2).sum(0), d2.max(0).values
        if self.s2 is None:
            self.s2, self.s4, self.mx = s2, s4, mx
        else:
            self.s2, self.s4, self.mx = self.s2 + s2, self.s4 + s4, torch.maximum(self.mx, mx)

    def report(self, columns: Optional[Sequence[int]] = None) -> Optional[TailReport]:
        """The worst column's diagnostics (constant columns are skipped)."""
        if self.s2 is None:
            return None
        idx = list(range(self.s2.numel())) if columns is None else list(columns)
        reps = []
        for j in idx:
            s2, s4, mx = float(self.s2[j]), float(self.s4[j]), float(self.mx[j])
            if s2 > 0:
                reps.append(TailReport(mx / s2, s2 * s2 / s4 if s4 > 0 else math.inf))
        return max(reps, key=lambda r: (r.heavy, r.largest_share), default=None)
