"""Integrals with an error estimate: double-exponential (tanh-sinh) quadrature.

A fixed Gauss–Legendre rule refutes true integrals with integrable end singularities
(∫₋₁¹ dx/√(1−x²) = π) and returns a finite number for a divergent one.  Tanh-sinh nodes
cluster at the ends doubly exponentially, so end singularities converge; the distance of
a node to its end is computed directly (not as ``b − x``), so ``log(x)`` near 0 is
accurate.  Infinite ranges are mapped onto finite ones first.  The estimate of the error
is the change between the last two levels plus the size of the outermost band of terms;
when that is not small next to the value (a divergent or wildly oscillating integral)
the integral is reported as undefined, never as a number.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

LEVELS = 7             # step h = 2^-j for j = 0..LEVELS-1 (node count doubles each level)
U_MAX = 4.0            # nodes for |u| <= U_MAX (the weights there are ~e^-(π/2)e^4 ≈ 1e-37)
OUTER = 3.0            # the band |u| > OUTER measures how fast the terms die at the ends
DIVERGENT_REL = 1e-6   # a band or level change above this share of the value: not converged


class Estimate:
    """An integral's value and the estimate of its absolute error."""

    def __init__(self, value: torch.Tensor, error: float, converged: bool):
        self.value, self.error, self.converged = value, error, converged


def _nodes(h: float, device, dtype) -> torch.Tensor:
    n = int(round(U_MAX / h))
    return torch.arange(-n, n + 1, device=device, dtype=torch.float64) * h


def _map(u: torch.Tensor, lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Points in (lo, hi) and weights dx/du of the tanh-sinh map; infinite ends are first
    mapped by x = t/(1 − t²) (both infinite), x = lo + t/(1 − t) or x = hi − t/(1 − t)."""
    s = (math.pi / 2) * torch.sinh(u)
    dsdu = (math.pi / 2) * torch.cosh(u)
    # t in (−1, 1) with 1 ∓ t computed without cancellation
    one_minus = 2 / (1 + torch.exp(2 * s))        # 1 − tanh(s)
    one_plus = 2 / (1 + torch.exp(-2 * s))        # 1 + tanh(s)
    t = torch.tanh(s)
    dt = dsdu / torch.cosh(s) ** 2
    if math.isfinite(lo) and math.isfinite(hi):
        half = (hi - lo) / 2
        # near the lower end use lo + half·(1 + t), near the upper end hi − half·(1 − t)
        x = torch.where(u < 0, lo + half * one_plus, hi - half * one_minus)
        return x, half * dt
    if math.isfinite(lo):      # [lo, ∞): τ = (1 + t)/2 ∈ (0, 1), x = lo + τ/(1 − τ)
        tau, one_m_tau = one_plus / 2, one_minus / 2
        x = lo + tau / one_m_tau
        return x, (dt / 2) / one_m_tau ** 2
    if math.isfinite(hi):      # (−∞, hi]
        tau, one_m_tau = one_plus / 2, one_minus / 2
        x = hi - tau / one_m_tau
        return x, (dt / 2) / one_m_tau ** 2
    x = t / (one_minus * one_plus)                   # (−∞, ∞): x = t/(1 − t²)
    return x, dt * (1 + t * t) / (one_minus * one_plus) ** 2


def integrate(f: Callable[[torch.Tensor], torch.Tensor], lo: float, hi: float,
              dtype=torch.float64, device=None) -> Estimate:
    """∫ f over [lo, hi]; ``f`` maps a 1-D tensor of points to values with the points on
    the first axis (any trailing shape)."""
    sign = 1.0
    if lo > hi:
        lo, hi, sign = hi, lo, -1.0
    if lo == hi:
        return Estimate(torch.zeros(1, dtype=dtype, device=device), 0.0, True)
    h = 2.0 ** -(LEVELS - 1)
    u = _nodes(h, device, dtype)
    x, w = _map(u, lo, hi)
    inside = torch.isfinite(x) & (x > lo) & (x < hi) & (w > 0) & torch.isfinite(w)
    vals = f(torch.where(inside, x, torch.full_like(x, (lo + hi) / 2 if math.isfinite(lo + hi) else 0.0)).to(dtype))
    vals = vals.to(torch.float64) if not vals.is_complex() else vals
    shape = (-1,) + (1,) * (vals.dim() - 1)
    finite = torch.isfinite(vals.reshape(vals.shape[0], -1)).all(-1)
    outer = u.abs() > OUTER
    # a value that is not finite strictly inside the range: the integrand is undefined there
    if bool((inside & ~finite & ~outer).any()):
        nan = torch.full_like(vals[:1].sum(0, keepdim=True), math.nan)
        return Estimate(nan, math.inf, False)
    use = inside & finite
    terms = torch.where(use.reshape(shape), vals * w.reshape(shape), torch.zeros_like(vals))
    k = torch.round(u / h).to(torch.int64)
    sums = []
    for j in range(LEVELS):
        step = 2 ** (LEVELS - 1 - j)
        sel = (k % step) == 0
        sums.append(terms[sel].sum(0, keepdim=True) * (h * step))
    value = sums[-1]
    change = float((sums[-1] - sums[-2]).abs().max())
    band = float((terms[outer].abs().sum(0) * h).max()) if bool(outer.any()) else 0.0
    dropped = bool((inside & ~finite).any()) or bool((~inside & (u.abs() <= OUTER)).any())
    size = float(value.abs().max())
    error = change + band + 1e-15 * size
    converged = error <= DIVERGENT_REL * max(size, 1e-300) or error <= 1e-12
    if dropped and not converged:
        converged = False
    if not converged:
        value = torch.full_like(value, math.nan)
    return Estimate(sign * value, error, converged)
