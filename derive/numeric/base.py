"""The base of the numeric lowering: the value type, its two errors, and small helpers that
the evaluator (:mod:`~derive.numeric.lower`), its function table
(:mod:`~derive.numeric.functions`) and the instance builder
(:mod:`~derive.numeric.instances`) share.  The evaluator dispatches calls to the function
table and the table evaluates its arguments with the evaluator; both import this module,
so neither has to import the other at its top.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Union

import numpy as np
import torch

from derive import model as m
from derive.semantics import walk

if TYPE_CHECKING:
    from derive.numeric.lower import Evaluator
    from derive.semantics import SymbolInfo

Value = Union[int, float, complex, bool, torch.Tensor, tuple, Callable]


class LoweringError(Exception):
    """The expression cannot be evaluated numerically (unknown name, bad shapes, …)."""


class IllDefined(LoweringError):
    """The claim itself is at fault on a concrete instance: it reads an entry or a step it
    never defines (``x[T+1]`` of a sequence known up to ``T``, ``A[n+1, 1]``) or combines
    shapes that do not fit once its sizes are distinct numbers.  Reported as an error of
    the claim, not as a gap of the engine."""

    def summary(self, where: str = "") -> str:
        """The one-line verdict summary every engine gives for it."""
        return (f"ill-defined claim: {self}{where} (the claim uses a value or shape it does not "
                "define; check index ranges and sizes)")


def rank(v: Value) -> int:
    """Logical rank: 0 for scalars, 1 for vectors, 2 for matrices/rows."""
    return v.dim() - 1 if isinstance(v, torch.Tensor) else 0


def is_tensor(v: Value) -> bool:
    return isinstance(v, torch.Tensor)


def leggauss(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [-1, 1]."""
    return np.polynomial.legendre.leggauss(n)


def scalar_range(info: SymbolInfo, ev: Evaluator, wide: bool = False) -> tuple[float, float]:
    """The declared [lo, hi] of a scalar (open ends are nudged inside)."""
    spec = info.statement.type if isinstance(info.statement, m.Decl) else None
    lo, hi = -math.inf, math.inf
    if isinstance(spec, m.ScalarType):
        for op, bound in spec.bounds:
            b = as_float(ev.ev(bound))
            if op in (">", ">="):
                lo = max(lo, b + (1e-9 if op == ">" else 0.0))
            elif op in ("<", "<="):
                hi = min(hi, b - (1e-9 if op == "<" else 0.0))
        if spec.interval is not None:
            iv = spec.interval
            a, b = as_float(ev.ev(iv.lo)), as_float(ev.ev(iv.hi))
            lo = max(lo, a if iv.lo_closed else a + 1e-9 * max(1.0, abs(a)))
            hi = min(hi, b if iv.hi_closed else b - 1e-9 * max(1.0, abs(b)))
    return lo, hi


def as_float(v: Value) -> float:
    """A number, or a tensor's first entry, as a float."""
    if isinstance(v, torch.Tensor):
        return float(v.reshape(-1)[0])
    return float(v)


def reaches_stat(e: m.Expr, checked) -> bool:
    """Whether ``e`` uses a statistic, directly or through definitions (``let S = Cov[…]``)."""
    seen: set = set()
    stack = [e]
    while stack:
        for node in walk(stack.pop()):
            if isinstance(node, m.Stat):
                return True
            if isinstance(node, m.Name) and node.id not in seen:
                seen.add(node.id)
                info = checked.symbols.get(node.id)
                st = getattr(info, "statement", None)
                if info is not None and info.role == "define" and isinstance(st, m.Define):
                    stack.append(st.value)
    return False
