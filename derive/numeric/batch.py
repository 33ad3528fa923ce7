"""One batch of random instances judged: its record, both sides at a failing member, and
the failing instance in JSON — shared by the identity strategy and its helpers (the
violation search, the shrinker, the equation-surface search).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from derive import model as m
from derive.engine import Context
from derive.numeric.instances import Instance
from derive.numeric.lower import Evaluator, IllDefined, LoweringError, Value

SETTLE_MAX = 4  # doubtful members re-evaluated in high precision per batch (identity, surface)
SETTLE_ALL_MAX = 32  # doubtful members that all must hold: beyond SETTLE_MAX, while cheap
SETTLE_ALL_S = 1.0   # seconds of high-precision re-evaluation per batch past the first SETTLE_MAX


@dataclass
class Batch:
    """The outcome of one batch of instances."""

    tried: int = 0
    undefined: int = 0
    worst: float = 0.0            # largest (error / allowed) ratio among defined members
    worst_rel: float = 0.0        # largest relative error / violation
    clear: Optional[int] = None   # index of a clear counterexample
    unclear: bool = False         # some member above tolerance but not clearly
    precision_checked: int = 0    # members above tolerance that a re-evaluation explained
    one_sided: int = 0            # members with one side undefined (NaN) and the other not
    blind: int = 0                # passed on the intermediate-based model alone (no re-evaluation ran)
    sensitive: int = 0            # clear discrepancies the computation's own rounding reaches (chaos)
    why: dict = field(default_factory=dict)   # undefined members by reason
    settled: Optional[str] = None  # how a counterexample was confirmed, when not plain float64
    instance: Optional[Instance] = None
    tol_rel: float = 0.0


def flat2(v: Value, ev: Evaluator) -> torch.Tensor:
    t = ev.tensor(v)
    if t.dtype == torch.bool:
        t = t.to(torch.float64)
    return t.reshape(t.shape[0], -1)


def pair(a: Value, b: Value, ev: Evaluator) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sides as (batch, entries), broadcasting scalars; a shape mismatch is an error."""
    x, y = flat2(a, ev), flat2(b, ev)
    if x.shape[1] != y.shape[1]:
        if x.shape[1] == 1:
            x = x.expand(x.shape[0], y.shape[1])
        elif y.shape[1] == 1:
            y = y.expand(y.shape[0], x.shape[1])
        else:
            raise IllDefined(f"the sides have {x.shape[1]} and {y.shape[1]} entries")
    batch = max(x.shape[0], y.shape[0])
    return x.expand(batch, x.shape[1]), y.expand(batch, y.shape[1])


def sides_at(ctx: Context, res: Batch) -> dict[str, Any]:
    """Both sides at the failing member and their absolute and relative difference,
    computed on the compared values themselves (never on an intermediate)."""
    st = ctx.statement
    if res.instance is None or not isinstance(st, m.Compare) or len(st.operands) != 2:
        return {}
    i = res.clear or 0
    try:
        batch = max([v.shape[0] for v in res.instance.env.values() if isinstance(v, torch.Tensor)] + [1])
        ev = Evaluator(res.instance.env, torch.device("cpu") if not any(
            isinstance(v, torch.Tensor) and v.is_cuda for v in res.instance.env.values())
            else next(v.device for v in res.instance.env.values() if isinstance(v, torch.Tensor)),
            torch.float64, ctx.checked).track(batch)
        with torch.no_grad():
            a, b = (ev.tensor(ev.ev(x)) for x in st.operands)
    except (LoweringError, RuntimeError, ValueError, ZeroDivisionError, OverflowError, StopIteration):
        return {}
    x, y = pair(a, b, ev)
    x, y = x[i if x.shape[0] > i else 0], y[i if y.shape[0] > i else 0]
    if x.is_complex() or y.is_complex():
        return {}
    if x.numel() == 1:
        lhs, rhs = float(x), float(y)
        diff = abs(lhs - rhs)
        rel = diff / max(abs(lhs), abs(rhs)) if max(abs(lhs), abs(rhs)) > 0 else (0.0 if diff == 0 else math.inf)
        return {"lhs": lhs, "rhs": rhs, "difference": diff, "relative": rel}
    d = (x - y).abs()
    j = int(torch.nan_to_num(d, nan=math.inf).argmax())
    size = max(float(x.abs().max()), float(y.abs().max()))
    return {"lhs": [round(float(v), 9) for v in x[:16].tolist()],
            "rhs": [round(float(v), 9) for v in y[:16].tolist()],
            "worst_entry": j + 1, "difference": float(d[j]),
            "relative": float(d[j]) / size if size > 0 else math.inf}


def counterexample(res: Batch) -> dict[str, Any]:
    """A small, JSON-friendly description of the failing instance."""
    out: dict[str, Any] = {}
    if res.instance is None:
        return out
    i = res.clear or 0
    out["sizes"] = dict(res.instance.sizes)
    vals = {}
    for k, v in res.instance.env.items():
        if isinstance(v, torch.Tensor) and v.numel() <= 64 * max(1, v.shape[0]) and v.dtype.is_floating_point:
            row = v[i if v.shape[0] > i else 0]
            vals[k] = [round(float(x), 6) for x in row.reshape(-1).tolist()] if row.dim() else \
                round(float(row), 6)
        elif isinstance(v, (int, float)) and k not in out["sizes"]:
            vals[k] = v
    out["values"] = vals
    return out


def domain_conditions(ctx: Context, name: str) -> list[m.Expr]:
    """The declared bounds/interval of a scalar, as comparison expressions."""
    info = ctx.checked.symbols[name]
    spec = getattr(info.statement, "type", None)
    if not isinstance(spec, m.ScalarType):
        return []
    me = m.Name(name)
    conds: list[m.Expr] = [m.Compare((op,), (me, bound)) for op, bound in spec.bounds]
    if spec.interval is not None:
        iv = spec.interval
        conds.append(m.Compare((">=" if iv.lo_closed else ">",), (me, iv.lo)))
        conds.append(m.Compare(("<=" if iv.hi_closed else "<",), (me, iv.hi)))
    return conds
