"""Control variates from the known moments of declared Gaussian draws.

Where randomized QMC does not apply (more than 64 random coordinates per sample, a
covariance matrix, a statistic of a ``P`` event) but every draw is ``normal``, each draw is
written x = μ + L·ε and the standard coordinates ε have known moments: E[ε] = 0 and
E[ε² − 1] = 0.  A feature f (x, (x − c)², …) is replaced by f − β·C, where C are those
controls — one pair per coordinate when there are few (≤ ``MAX_CONTROLS``), else one pair per
declared name (Σε/√w, Σ(ε² − 1)/√(2w)) — and β is the least-squares coefficient of f on C
fitted on an **independent** earlier sample (the point's pilot).  With β fixed before the
sample is drawn, f − β·C has exactly the mean of f, so every interval built on the sample
means stays honest; only its variance shrinks (by the share of f's variance linear in the
controls: ‖x‖², smooth functions of a few draws).
"""
from __future__ import annotations

import math
from typing import Optional

import torch

MAX_CONTROLS = 16         # per-coordinate controls up to this many, else per declared name
RIDGE = 1e-10             # relative ridge of the controls' covariance (rank-deficient controls)


def controls(eps: torch.Tensor, widths: list[int]) -> torch.Tensor:
    """The control columns (n, k) of standard coordinates ``eps`` (n, d), mean 0 exactly."""
    if 2 * eps.shape[1] <= MAX_CONTROLS:
        return torch.cat([eps, eps * eps - 1], dim=1)
    cols, pos = [], 0
    for w in widths:
        block = eps[:, pos:pos + w]
        pos += w
        cols += [block.sum(1) / math.sqrt(w), (block * block - 1).sum(1) / math.sqrt(2 * w)]
    return torch.stack(cols, dim=1)


class Regression:
    """Running sums of features f and controls C for the coefficient β of f on C."""

    def __init__(self) -> None:
        self.n = 0
        self.sf: Optional[torch.Tensor] = None
        self.sc: Optional[torch.Tensor] = None
        self.sfc: Optional[torch.Tensor] = None
        self.scc: Optional[torch.Tensor] = None

    def add(self, f: torch.Tensor, c: torch.Tensor) -> None:
        parts = (f.sum(0), c.sum(0), f.T @ c, c.T @ c)
        if self.sf is None:
            self.sf, self.sc, self.sfc, self.scc = parts
        else:
            self.sf, self.sc = self.sf + parts[0], self.sc + parts[1]
            self.sfc, self.scc = self.sfc + parts[2], self.scc + parts[3]
        self.n += f.shape[0]

    def beta(self) -> Optional[torch.Tensor]:
        """β (features × controls), or None with too few samples to fit it."""
        if self.sf is None or self.n < 4 * self.scc.shape[0] + 16:
            return None
        mf, mc = self.sf / self.n, self.sc / self.n
        cfc = self.sfc / self.n - torch.outer(mf, mc)
        ccc = self.scc / self.n - torch.outer(mc, mc)
        ccc = ccc + RIDGE * float(ccc.diagonal().abs().max().clamp_min(1e-300)) \
            * torch.eye(ccc.shape[0], dtype=ccc.dtype, device=ccc.device)
        beta = torch.linalg.solve(ccc, cfc.T).T
        return beta if bool(torch.isfinite(beta).all()) else None
