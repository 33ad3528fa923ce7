"""Shrink a counterexample: the smallest sizes and simplest parameters that still refute."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional

import torch

from derive.engine import Context
from derive.numeric.batch import counterexample, sides_at
from derive.numeric.instances import Unsatisfiable, choose_sizes, size_constraints_ok
from derive.numeric.lower import LoweringError

if TYPE_CHECKING:
    from derive.numeric.identity import IdentityStrategy

TIME_LIMIT = 1.0


def _refutes(strategy: "IdentityStrategy", ctx: Context, g: torch.Generator, device: torch.device,
             sizes: dict[str, int], simple: bool = False):
    try:
        choose_sizes(ctx.checked, g, sizes)  # checks the size-only assumptions
        for _ in range(2):
            res = strategy.check(ctx, g, device, sizes, 8, simple=simple)
            if res.clear is not None:
                return res
    except (Unsatisfiable, LoweringError, RuntimeError, ValueError, ZeroDivisionError):
        return None
    return None


def shrink(strategy: "IdentityStrategy", ctx: Context, g: torch.Generator, device: torch.device,
           sizes: dict[str, int]) -> Optional[dict[str, Any]]:
    """Greedy: lower each size towards 1 while the claim still fails; then round scalars."""
    start = time.perf_counter()
    best = dict(sizes)
    changed = True
    while changed and time.perf_counter() - start < TIME_LIMIT:
        changed = False
        for name in sorted(best, key=lambda k: -best[k]):
            info = ctx.checked.symbols.get(name)
            if info is None or info.role != "dim":
                continue
            for cand in range(1, best[name]):
                trial = {**best, name: cand}
                if not size_constraints_ok(ctx.checked, trial):
                    continue
                if _refutes(strategy, ctx, g, device, trial) is not None:
                    best = trial
                    changed = True
                    break
                if time.perf_counter() - start > TIME_LIMIT:
                    break
    res = _refutes(strategy, ctx, g, device, best, simple=True)
    if res is None:
        res = _refutes(strategy, ctx, g, device, best)
    if res is None or res.instance is None:
        return None  # re-checked at the shrunk sizes and no longer failing: not shown
    out: dict[str, Any] = {"sizes": best, "rechecked": True}
    if res is not None and res.instance is not None:
        i = res.clear or 0
        params = {}
        for k, v in res.instance.params.items():
            val = res.instance.env.get(k)
            if isinstance(val, torch.Tensor):
                x = val.reshape(-1)[i if val.numel() > i else 0]
                params[k] = str(complex(x.item())) if x.is_complex() else float(x)
            else:
                params[k] = v
        if params:
            out["params"] = params
        out["counterexample"] = counterexample(res)
        sides = sides_at(ctx, res)
        if sides:
            out["sides"] = sides
    return out
