"""Shared pieces of the numeric strategies: device choice, statement shape, evidence."""
from __future__ import annotations

import os
from typing import Any, Optional

import torch

from derive import model as m
from derive.engine import Context
from derive.analysis import statement_seed
from derive.numeric.base import reaches_stat  # noqa: F401 - used by the strategies as common.reaches_stat
from derive.numeric.instances import make_generator
from derive.numeric.lower import IllDefined, pick_device
from derive.outcome import Outcome, Verdict
from derive.semantics import children, walk

DEFAULT_REL = 0.004  # Monte Carlo's default relative tolerance: separates constants 0.5 % apart

EVIDENCE_KEYS = ("samples", "estimate", "interval", "error_rate", "tolerance",
                 "parameter_points", "device", "dtype", "seed")

_threads_set = False


def set_threads() -> None:
    """Few threads: the corpus runs many workers on few shared cores."""
    global _threads_set
    if not _threads_set:
        want = int(os.environ.get("DERIVE_TORCH_THREADS", "1"))
        if torch.get_num_threads() != want:
            torch.set_num_threads(want)
        _threads_set = True


def device_of(ctx: Context) -> torch.device:
    return pick_device(ctx.options.device)


def generator_for(ctx: Context, salt: str, device: torch.device) -> tuple[torch.Generator, int]:
    """A generator seeded from the run seed, the claim id, the statement index and ``salt``."""
    seed = statement_seed(ctx.options.seed, ctx.claim.id, ctx.index, salt)
    return make_generator(seed, device), seed


def nodes(e: m.Expr) -> list[m.Expr]:
    return list(walk(e))


def has(e: m.Expr, kind: type) -> bool:
    return any(isinstance(n, kind) for n in walk(e))


DERIVATIVES = frozenset({"grad", "jacobian"})   # calls the autograd strategy handles


def calls(e: m.Expr, names: set[str]) -> bool:
    return any(isinstance(n, m.Call) and n.func in names for n in walk(e))


def evidence(ctx: Context, seed: int, device: torch.device, dtype: torch.dtype, *,
             samples: int, estimate: Any, interval: Any, error_rate: Optional[float],
             tolerance: Any, parameter_points: list, **extra: Any) -> dict[str, Any]:
    """The evidence every numeric verdict carries (keys in :data:`EVIDENCE_KEYS`)."""
    ev = {"samples": samples, "estimate": estimate, "interval": interval,
          "error_rate": error_rate, "tolerance": tolerance, "parameter_points": parameter_points,
          "device": str(device), "dtype": str(dtype).replace("torch.", ""), "seed": seed,
          "run_seed": ctx.options.seed}
    ev.update(extra)
    return ev


def outcome(verdict: Verdict, summary: str, ev: dict[str, Any]) -> Outcome:
    return Outcome(verdict, None, None, summary, ev)


def ill_defined(ctx: Context, exc: IllDefined, seed: int, device: torch.device,
                dtype: torch.dtype) -> Outcome:
    """An ``error`` verdict for a claim that reads values it never defines (see
    :class:`~derive.numeric.lower.IllDefined`): the claim must be fixed, not the engine."""
    return outcome(Verdict.ERROR, exc.summary(" on a random instance"),
                   evidence(ctx, seed, device, dtype, samples=0, estimate=None, interval=None,
                            error_rate=None, tolerance=None, parameter_points=[],
                            reason=f"ill-defined: {exc}"))


def fmt(x: float) -> str:
    return f"{x:.3g}"


def walk_outside_stats(e: m.Expr, stats: list):
    """The nodes of ``e`` outside statistics; each outermost statistic met is appended to
    ``stats`` instead of being entered."""

    stack = [e]
    while stack:
        node = stack.pop()
        if isinstance(node, m.Stat):
            stats.append(node)
            continue
        yield node
        stack.extend(reversed(list(children(node))))
