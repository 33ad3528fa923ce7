"""LAPACK calls that never see a non-finite matrix (one job: keep MKL quiet and the value honest)."""
from __future__ import annotations

from typing import Callable

import torch


def lapack(fn: Callable, t: torch.Tensor, *args, **kwargs):
    """``fn(t)`` for a batch of matrices with every non-finite matrix replaced by zeros
    and its outputs set to NaN: LAPACK writes "Intel oneMKL ERROR … DLASCL" to standard
    output for NaN or infinite input, and the value is undefined there anyway."""
    if t.dim() < 3 or bool(torch.isfinite(t).all()):
        return fn(t, *args, **kwargs)
    bad = ~torch.isfinite(t).flatten(1).all(1)
    shaped = bad.reshape((-1,) + (1,) * (t.dim() - 1))
    out = fn(torch.where(shaped, torch.zeros_like(t), t), *args, **kwargs)

    def undefined(o):
        if not isinstance(o, torch.Tensor) or o.dim() == 0 or o.shape[0] != bad.shape[0]:
            return o
        if not (o.is_floating_point() or o.is_complex()):
            o = o.to(t.real.dtype if t.is_complex() else t.dtype)
        return torch.where(bad.reshape((-1,) + (1,) * (o.dim() - 1)),
                           torch.full_like(o, float("nan")), o)
    if isinstance(out, tuple):  # svd, eigh, eig: every factor is undefined there
        return tuple(map(undefined, out))
    return undefined(out)
