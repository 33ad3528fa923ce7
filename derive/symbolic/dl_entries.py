"""Entrywise SymPy forms of the deep-learning built-ins the core lowering leaves out:
``log_softmax``, ``layer_norm`` and ``cross_entropy`` (docs/semantics.md), for symbolic
sizes.  Each is written through the definitions the numeric engine computes:

* ``log_softmax(z)[i] = zᵢ − log Σₖ exp(zₖ)`` (a vector: all entries; a matrix: each row);
* ``layer_norm(x)[i] = (xᵢ − x̄) / √(Σₖ (xₖ − x̄)²/n + eps)`` (a vector, or each row of a
  matrix), with ``eps`` absent (0) or a scalar SymPy proves ≥ 0 — otherwise the root's
  argument may be negative and the form is declined;
* ``cross_entropy(z, y) = log Σₖ exp(zₖ) − z_y`` for a class index y, and
  ``−Σₖ yₖ (zₖ − log Σⱼ exp(zⱼ))`` for a vector y.

An ``axis =`` keyword is declined (the axis rule is left to the numeric engine).  Called by
:class:`derive.symbolic.lower.Lowering` before it gives up on a call; None means "not
mine", and the lowering raises its usual :class:`Unsupported`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

import sympy as sp

from derive import model as m

if TYPE_CHECKING:  # pragma: no cover
    from derive.symbolic.lower import Lowering


def _lse(low: "Lowering", z: m.Expr, env: dict, k: sp.Symbol,
         row: Optional[sp.Expr] = None) -> sp.Expr:
    """log Σₖ exp(zₖ) over a vector, or over row ``row`` of a matrix (k: a fresh index)."""
    t = low.vtype(z, env)
    if row is None:
        return sp.log(sp.Sum(sp.exp(low.entry(z, (k,), env)), (k, 1, t.shape[0])))
    return sp.log(sp.Sum(sp.exp(low.entry(z, (row, k), env)), (k, 1, t.shape[1])))


def _known(t) -> bool:
    return t.kind == "tensor" and len(t.shape) in (1, 2) and all(d is not None for d in t.shape)


def entry_call(low: "Lowering", e: m.Call, idx: tuple, env: dict,
               fresh: Callable[[str], sp.Symbol]) -> Optional[sp.Expr]:
    """Entry ``idx`` of log_softmax / layer_norm of a vector or a matrix (by rows);
    ``fresh`` makes summation indices (the lowering's own)."""
    if e.func not in ("log_softmax", "layer_norm") or len(e.args) != 1:
        return None
    x = e.args[0]
    t = low.vtype(x, env)
    if not _known(t) or len(idx) != len(t.shape):
        return None
    row = idx[0] if len(t.shape) == 2 else None
    if e.func == "log_softmax":
        if e.kwargs:
            return None
        return low.entry(x, idx, env) - _lse(low, x, env, fresh("k"), row)
    keys = {k for k, _ in e.kwargs}
    if keys - {"eps"}:
        return None
    eps = sp.Integer(0)
    if e.kwarg("eps") is not None:
        eps = low.scalar(e.kwarg("eps"), env)
        if eps.is_nonnegative is not True:
            return None  # √(var + eps) may have no real value
    k = fresh("k")
    n = t.shape[-1]
    at = (lambda j: (row, j)) if row is not None else (lambda j: (j,))
    mean = sp.Sum(low.entry(x, at(k), env), (k, 1, n)) / n
    k2 = fresh("k")
    var = sp.Sum((low.entry(x, at(k2), env) - mean) ** 2, (k2, 1, n)) / n
    return (low.entry(x, idx, env) - mean) / sp.sqrt(var + eps)


def scalar_call(low: "Lowering", e: m.Call, env: dict,
                fresh: Callable[[str], sp.Symbol]) -> Optional[sp.Expr]:
    """cross_entropy(z, y) of a logit vector z, with a class index or a vector target."""
    if e.func != "cross_entropy" or len(e.args) != 2 or e.kwargs:
        return None
    z, y = e.args
    tz = low.vtype(z, env)
    if not (_known(tz) and len(tz.shape) == 1):
        return None
    lse = _lse(low, z, env, fresh("k"))
    if low.is_scalar(y, env):
        k = low.scalar(y, env)
        if not (k.is_integer and k.is_positive):
            return None  # the numeric engine refuses a non-integer class index
        return lse - low.entry(z, (k,), env)
    ty = low.vtype(y, env)
    if not (_known(ty) and ty.shape == tz.shape):
        return None
    k = fresh("k")
    return -sp.Sum(low.entry(y, (k,), env) * (low.entry(z, (k,), env) - lse), (k, 1, tz.shape[0]))
