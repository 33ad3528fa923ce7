"""Sizes and inputs of a cost claim: the sweep grid, size arithmetic, sampled tensors.

The grid is the product of the claim's sweeps (``let n in [256, 512]``).  A dimension
with neither a sweep nor a value gets a default (stated in the evidence).  ``assume``
conditions that mention only sizes drop the grid points that violate them.

Inputs are sampled once per grid point from a generator seeded by the run's seed, the
point and the name, so the same seed gives the same tensors.  Their values do not
matter for cost; declared properties (``spd``, ``orthogonal``, …) are honoured so that
``inv`` and friends run on what the claim describes.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

import torch

from derive import model as m
from derive.analysis import SizeError, claim_seed, dim_at, size_condition, size_value, sweep_values
from derive.numeric.instances import structured
from derive.semantics import CheckedClaim, SymbolInfo
from derive.vocabulary.distributions import LAWS, args_of, law_of

DEFAULT_DIM = 256                         # a dimension with no sweep and no value
DEFAULT_GROWTH_SWEEP = (64, 128, 256, 512)  # a growth bound's dimension with no sweep
MAX_POINTS = 16
MAX_RANGE_VALUES = 8                      # sizes of a long sweep range that are timed


def int_shape(shape: tuple, sizes: dict[str, float]) -> tuple[int, ...]:
    out = []
    for d in shape:
        if d is None:
            raise SizeError("a shape is not known")
        v = dim_at(d, sizes)
        if v != int(v) or v < 1:
            raise SizeError(f"size {v} is not a positive integer")
        out.append(int(v))
    return tuple(out)


# ------------------------------------------------------------------ what an expression needs
def size_names(checked: CheckedClaim, names: Iterable[str]) -> set[str]:
    """The dimensions (dims, sweeps, integer scalars used as sizes) among and below ``names``."""
    out: set[str] = set()
    for ident in names:
        info = checked.symbols.get(ident)
        if info is None:
            continue
        if info.role in ("dim", "sweep") or (info.role == "scalar" and info.domain == "integer"
                                             and not info.random):
            out.add(ident)
        if info.role == "tensor":
            for d in info.vtype.shape:
                if d is not None:
                    out |= {s.name for s in d.free_symbols}
    return {n for n in out if checked.symbols.get(n) is not None
            and checked.symbols[n].dim_value is None}


@dataclass
class Grid:
    """Grid points (dicts of sizes), the swept names, and notes for the evidence."""

    names: list[str]
    points: list[dict[str, int]]
    fixed: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def build_grid(checked: CheckedClaim, needed: set[str], growth_vars: Iterable[str] = ()) -> Grid:
    """The sizes to evaluate at: sweeps × defaults, filtered by size-only ``assume``s."""
    axes: dict[str, list[int]] = {}
    fixed: dict[str, int] = {}
    notes: list[str] = []
    for ident, info in checked.sweeps.items():
        if ident in needed or ident in growth_vars:
            axes[ident] = sweep_values(checked, info, most=MAX_RANGE_VALUES)
    for ident in sorted(needed | set(growth_vars)):
        if ident in axes:
            continue
        info = checked.symbols.get(ident)
        if info is None or info.dim_value is not None:
            continue
        if info.role in ("dim", "scalar") and ident in growth_vars:
            axes[ident] = list(DEFAULT_GROWTH_SWEEP)
            notes.append(f"{info.text} has no sweep: swept over {list(DEFAULT_GROWTH_SWEEP)}")
        elif info.role in ("dim", "scalar", "index"):
            fixed[ident] = DEFAULT_DIM
            notes.append(f"{info.text} has no sweep or value: fixed at {DEFAULT_DIM}")
    names = list(axes)
    points = [dict(zip(names, combo), **fixed) for combo in itertools.product(*axes.values())]
    assumes = [st.condition for st in checked.claim.statements if isinstance(st, m.Assume)]
    kept = []
    for p in points:
        ok = True
        for cond in assumes:
            try:
                ok = ok and size_condition(cond, p, checked)
            except SizeError:
                continue  # not a condition on sizes: not ours to filter
        if ok:
            kept.append(p)
    if len(kept) < len(points):
        notes.append(f"{len(points) - len(kept)} grid point(s) dropped by 'assume'")
    if len(kept) > MAX_POINTS:
        notes.append(f"grid of {len(kept)} points thinned to {MAX_POINTS}")
        step = len(kept) / MAX_POINTS
        kept = [kept[int(i * step)] for i in range(MAX_POINTS - 1)] + [kept[-1]]
    return Grid(names, kept, fixed, notes)


# ------------------------------------------------------------------ sampling
class _SizeDraws:
    """The timing engine's side of a law's sampler: the same sampler the numeric engine
    uses (derive.vocabulary), on one unbatched tensor with float parameters."""

    def __init__(self, shape: tuple[int, ...], gen: torch.Generator) -> None:
        self.full, self.gen, self.dtype, self.device = shape, gen, torch.float64, gen.device

    def rand(self) -> torch.Tensor:
        return torch.rand(self.full, generator=self.gen, dtype=torch.float64)

    def randn(self) -> torch.Tensor:
        return torch.randn(self.full, generator=self.gen, dtype=torch.float64)

    def randbit(self) -> torch.Tensor:
        return torch.randint(0, 2, self.full, generator=self.gen).double()

    def num(self, v: Any) -> float:
        return float(v)

    def vector(self, v: Any) -> torch.Tensor:
        raise SizeError("a distribution with a vector parameter has no timing inputs")

    def is_matrix(self, v: Any) -> bool:
        return False

    def mvn(self, mean: Any, cov: Any) -> torch.Tensor:
        raise SizeError("a covariance matrix has no timing inputs")

    def multinomial(self, w: Any) -> torch.Tensor:
        raise SizeError("a categorical draw has no timing inputs")

    def require(self, ok: Any, message: str, value: Any) -> None:
        if not ok:
            raise SizeError(f"{message}, found {value}")


def _law_params(dist: Optional[m.Expr], sizes: dict, checked: CheckedClaim) -> tuple:
    """The law of a tensor's draws and its parameters as floats: computed from the sizes
    where they can be, else the law's example parameters (undeclared: normal(0, 1))."""
    law = law_of(dist) if dist is not None else LAWS["normal"]
    if law is None:
        raise SizeError(f"no sampler for the distribution of {dist}")
    args = args_of(dist) if dist is not None else ()
    if not args:
        if law.params and law.fallback is None:
            raise SizeError(f"{law.name}: no parameters to draw timing inputs with")
        return law, list(law.fallback or ())
    vals = []
    for k, a in enumerate(args):
        try:
            vals.append(size_value(a, sizes, checked))
        except SizeError:
            if law.fallback is None:
                raise
            vals.append(law.fallback[k])
    return law, vals


def _sample_tensor(info: SymbolInfo, shape: tuple[int, ...], gen: torch.Generator,
                   sizes: dict, checked: CheckedClaim) -> torch.Tensor:
    if not info.random:
        # the numeric engine's sampler: every declared property (permutation, rank(r),
        # adjacency, invertible, …) as the claim states it
        return structured(info.props, shape, gen, 1, torch.float64, _rank_arg(info, sizes, checked))[0]
    law, vals = _law_params(info.dist, sizes, checked)
    if law.sample is None:
        raise SizeError(f"{law.name}: sampling is not supported by the timing engine")
    x = law.sample(vals, _SizeDraws(shape, gen)).to(torch.float64)
    props = info.props
    if len(shape) == 2 and shape[0] == shape[1]:
        n = shape[0]
        if props & {"spd", "psd"}:
            x = x @ x.T / n + torch.eye(n, dtype=torch.float64)
        elif "symmetric" in props:
            x = (x + x.T) / 2
        if "orthogonal" in props:
            x = torch.linalg.qr(x)[0]
        if "diagonal" in props:
            x = torch.diag(torch.diagonal(x))
    elif len(shape) == 2 and props & {"orthogonal", "semi_orthogonal"}:
        q = torch.linalg.qr(x if shape[0] >= shape[1] else x.T)[0]
        x = q if shape[0] >= shape[1] else q.T
    if "positive" in props:
        x = x.abs() + 1e-3
    if "unit" in props:
        x = x / x.norm()
    if "simplex" in props:
        x = torch.softmax(x.reshape(-1), 0).reshape(shape)
    return x


def _rank_arg(info: SymbolInfo, sizes: dict, checked: CheckedClaim) -> Optional[int]:
    """The ``r`` of a tensor declared ``rank(r)``, at these sizes."""
    for p in getattr(info.statement.type, "props", ()):
        if p.name == "rank" and p.arg is not None:
            return int(size_value(p.arg, sizes, checked))
    return None


def _scalar_value(info: SymbolInfo, sizes: dict, checked: CheckedClaim) -> float:
    spec = info.statement.type if isinstance(info.statement, m.Decl) else None
    if isinstance(spec, m.ScalarType):
        if spec.interval is not None:
            try:
                lo = size_value(spec.interval.lo, sizes, checked)
                hi = size_value(spec.interval.hi, sizes, checked)
                if math.isfinite(lo) and math.isfinite(hi):
                    return (lo + hi) / 2
            except SizeError:
                pass
        value = 1.0
        for op, bound in spec.bounds:
            try:
                b = size_value(bound, sizes, checked)
            except SizeError:
                continue
            if op in (">", ">=") and not value > b:
                value = b + 1.0
            elif op in ("<", "<=") and not value < b:
                value = b - 1.0
            elif op == "!=" and value == b:
                value = b + 1.0
        return value
    return 1.0


def sample_env(checked: CheckedClaim, names: set[str], point: dict[str, int], seed: int,
               device: str, dtype: torch.dtype) -> dict[str, Any]:
    """Values for every name the computation reads: sizes as ints, tensors batched (1, …)."""
    env: dict[str, Any] = {}
    for ident, value in point.items():
        env[ident] = int(value)
    key = ",".join(f"{k}={v}" for k, v in sorted(point.items()))
    for ident in sorted(names):
        info = checked.symbols.get(ident)
        if info is None or ident in env:
            continue
        if info.role == "tensor":
            shape = int_shape(info.vtype.shape, point)
            gen = torch.Generator().manual_seed(claim_seed(seed, checked.claim.id,
                                                           f"timing/input:{key}|{ident}"))
            x = _sample_tensor(info, shape, gen, point, checked)
            env[ident] = x.to(dtype=dtype, device=device).unsqueeze(0).contiguous()
        elif info.role == "scalar":
            if info.domain == "integer":
                env[ident] = int(point.get(ident, DEFAULT_DIM))
            else:
                env[ident] = _scalar_value(info, point, checked)
        elif info.role == "dim":
            env[ident] = int(point.get(ident, DEFAULT_DIM))
        elif info.role == "function":
            raise SizeError(f"'{info.text}' is an arbitrary function; its cost is not defined")
    return env

