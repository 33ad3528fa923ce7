"""Memory of a lowered computation: live bytes of the tensors it allocates.

CPU: ``tracemalloc`` does not see torch's allocator, so :class:`LiveBytes` follows every
tensor an ATen call returns (inside :class:`~derive.timing.flops.CostMode`): an output
whose storage is not one of the call's inputs' is a new allocation of
``storage.nbytes()``; it is released when the last tensor seen on that storage is
garbage-collected.  ``peak`` is the largest sum of live allocations during the run, so
inputs made before the run are not charged and intermediates freed early are not
double-counted.  Deterministic: it depends on shapes and on the evaluation order only.

GPU: :func:`cuda_peak_bytes` uses the caching allocator's statistics
(``max_memory_allocated`` minus the baseline before the run).
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import torch


class LiveBytes:
    """Live and peak bytes of the storages allocated by tracked calls."""

    def __init__(self) -> None:
        self.refs: dict[int, list[int]] = {}  # storage key -> [tensors alive, bytes]
        self.current = 0
        self.peak = 0
        self.total = 0

    @staticmethod
    def _key(t: torch.Tensor) -> int:
        """The storage's identity (its C++ object), stable across views and meta tensors."""
        try:
            storage = t.untyped_storage()
        except (RuntimeError, NotImplementedError):
            return 0
        return storage._cdata if storage.nbytes() > 0 else 0

    def track(self, t: torch.Tensor, inputs: tuple = ()) -> None:
        """Note an output tensor of a call whose tensor arguments are ``inputs``."""
        key = self._key(t)
        if key == 0:
            return
        entry = self.refs.get(key)
        if entry is None:
            if any(isinstance(a, torch.Tensor) and self._key(a) == key for a in inputs):
                return  # a view of (or in-place write to) an untracked input
            nbytes = t.untyped_storage().nbytes()
            entry = self.refs[key] = [0, nbytes]
            self.current += nbytes
            self.total += nbytes
            self.peak = max(self.peak, self.current)
        entry[0] += 1
        weakref.finalize(t, self._release, key)

    def _release(self, key: int) -> None:
        entry = self.refs.get(key)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] <= 0:
            self.current -= entry[1]
            del self.refs[key]


def cuda_peak_bytes(fn: Callable[[], Any], device: torch.device) -> int:
    """Peak bytes allocated on ``device`` while ``fn`` runs, above the baseline before it."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    result = fn()
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - base
    del result
    return int(max(peak, 0))
