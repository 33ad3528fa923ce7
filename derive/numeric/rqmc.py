"""Randomized quasi-Monte Carlo draws for the Monte-Carlo engine.

Every random entry a sample needs is one coordinate of a scrambled Sobol point
(``torch.quasirandom.SobolEngine``), mapped through its distribution's inverse CDF
(each law's ``inverse_cdf`` in derive.vocabulary).  ``REPLICATES``
independent scramblings give independent, unbiased replicate means, so the interval
comes from their spread (Student t, ``R − 1`` degrees of freedom) — honest although the
points inside one replicate are not independent.  For smooth integrands in a few
dimensions the error falls much faster than n^(−1/2) (benchmarks/mc_variance.py).

Claims whose draws do not fit (a covariance matrix, categorical, too many coordinates)
return ``None`` from :func:`layout` and keep plain Monte Carlo.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import torch

from derive import model as m
from derive.numeric.lower import Evaluator, LoweringError, rank
from derive.vocabulary.distributions import args_of, law_of

REPLICATES = 64            # independent scramblings (the t interval has R − 1 df)
MAX_DIM = 64               # Sobol coordinates per sample, at most (else plain MC)


@dataclass
class Slot:
    """One random name: its distribution and the Sobol coordinates it uses."""

    name: str
    dist: m.Expr
    shape: tuple
    start: int
    width: int


def layout(checked: Any, used: set, shapes: dict[str, tuple], max_dim: int = MAX_DIM
           ) -> Optional[list[Slot]]:
    """Coordinates for each used random name, or None when RQMC does not apply (or more
    than ``max_dim`` coordinates)."""
    slots: list[Slot] = []
    pos = 0
    for name, info in checked.symbols.items():
        if not info.random or name not in used or info.role in ("define", "function"):
            continue   # a definition is computed from the draws, not drawn
        if info.role not in ("scalar", "tensor") or info.dist is None or name not in shapes:
            return None
        law = law_of(info.dist)
        if law is None or law.inverse_cdf is None:
            return None   # no inverse CDF for this law: plain Monte Carlo
        shape = shapes[name]
        width = max(1, math.prod(shape))
        slots.append(Slot(name, info.dist, shape, pos, width))
        pos += width
    if not slots or pos > max_dim:
        return None
    return slots


def inverse_cdf(dist: m.Expr, u: torch.Tensor, ev: Evaluator, dtype: torch.dtype) -> torch.Tensor:
    """Draws from ``dist`` as a function of uniforms ``u`` (batch, *shape), float64 inside."""
    vals = [ev.ev(a) for a in args_of(dist)]

    def num(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            if v.numel() == 1:
                return float(v.reshape(-1)[0])
            if v.shape[0] == 1:
                v = v[0]
            return v.to(torch.float64)
        return float(v)

    law = law_of(dist)
    if law is None or law.inverse_cdf is None:
        raise LoweringError(f"no inverse CDF for '{getattr(dist, 'func', dist)}'")
    for p, v in zip(law.params, vals):
        if p.matrix and isinstance(v, torch.Tensor) and rank(v) == 2 and v.numel() > 1:
            raise LoweringError("a covariance matrix: plain Monte Carlo")
    out = law.inverse_cdf([num(v) for v in vals], u)
    return out.to(dtype)


class Replicate:
    """One scrambled Sobol sequence, drawn in consecutive chunks."""

    def __init__(self, dim: int, seed: int) -> None:
        self.engine = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed)

    def draw(self, n: int) -> torch.Tensor:
        u = self.engine.draw(n, dtype=torch.float64)
        # keep the inverse CDFs finite (a scrambled point is never exactly 0 or 1 in theory)
        return u.clamp(1e-16, 1 - 1e-16)


def fill(env: dict, slots: list[Slot], u: torch.Tensor, ev: Evaluator) -> None:
    """Overwrite the random names of ``env`` with the RQMC draws of ``u`` (batch, dim)."""
    n = u.shape[0]
    for s in slots:
        old = env[s.name]
        block = u[:, s.start:s.start + s.width].reshape((n,) + tuple(s.shape))
        dtype = old.dtype if isinstance(old, torch.Tensor) else torch.float64
        x = inverse_cdf(s.dist, block, ev, dtype)
        if isinstance(old, torch.Tensor):
            x = x.reshape(old.shape).to(old.device)
        env[s.name] = x
