"""The timing engine: costs (``time[…]``, ``flops[…]``, ``memory[…]``) and their growth.

* :mod:`~derive.timing.flops` — exact FLOP counts of the lowered computation (counting rule)
* :mod:`~derive.timing.memory` — peak live bytes (CPU tracker, CUDA allocator statistics)
* :mod:`~derive.timing.measure` — wall time: one thread, warm-up, interleaved random rounds
* :mod:`~derive.timing.stats` — medians, bootstrap intervals, exponent fits
* :mod:`~derive.timing.verdicts` — the rules that turn numbers into verdicts
"""
from __future__ import annotations

from derive.engine import Engine
from derive.timing.strategies import Comparison, DeviceGuard, Growth, Leftover

ENGINE = Engine("timing", [DeviceGuard(), Growth(), Comparison(), Leftover()])

__all__ = ["ENGINE"]
