"""Where the real partial functions of an expression are defined, read from the model
before SymPy's lowering simplifies them away (``sqrt(x)**2`` is ``x``): each ``sqrt(a)``
(a ≥ 0), ``log(a)`` (a > 0) and real power ``a^p`` with a non-integer p (a ≥ 0; a > 0 for
p < 0), with its argument lowered on its own.  Shared by the symbolic engine (a proof
stands only where these hold, :mod:`derive.symbolic.domains`) and the numeric engine's
high-precision referee (a side undefined there is undefined)."""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.symbolic.lower import Lowering, Unsupported


LOGS = {"log": 0, "log2": 0, "log10": 0}


def side_conditions(low: Lowering, e: m.Expr, env: Optional[dict] = None,
                    depth: int = 0) -> list[sp.Basic]:
    """Relationals (``a >= 0``, ``a > 0``) every real partial function in ``e`` needs;
    arguments that do not lower to a scalar (tensor entries, bound indices) are skipped."""
    env = env or {}
    out: list[sp.Basic] = []
    if depth > 8 or not isinstance(e, m.Expr):
        return out

    def arg(x: m.Expr) -> Optional[sp.Expr]:
        try:
            return low.scalar(x, env)
        except (Unsupported, TypeError, ValueError, AttributeError, KeyError, RecursionError):
            return None

    def add(rel) -> None:
        if rel is not sp.true and rel not in out:
            out.append(rel)

    if isinstance(e, m.Call):
        info = low.info(e.func)
        if e.func == "sqrt" and len(e.args) == 1:
            a = arg(e.args[0])
            if a is not None:
                add(sp.Ge(a, 0))
        elif e.func in LOGS and len(e.args) == 1:
            a = arg(e.args[0])
            if a is not None:
                add(sp.Gt(a, 0))
        elif e.func in ("logpdf", "pdf", "KL"):
            from derive.symbolic import densities   # parameters > 0, x in the support
            try:
                found = densities.conditions(low, e, env)
            except (Unsupported, TypeError, ValueError, AttributeError, KeyError, RecursionError):
                found = []
            for c in found:
                add(c)
        elif info is not None and info.role == "funcdef":
            inner = dict(env)
            try:
                for p, a in zip(info.statement.params, e.args):
                    inner[p.id] = low.scalar(a, env)
            except (Unsupported, TypeError, ValueError, AttributeError, KeyError, RecursionError):
                inner = None
            if inner is not None:
                for c in side_conditions(low, info.statement.body, inner, depth + 1):
                    add(c)
    elif isinstance(e, m.BinOp) and e.op in ("^", ".^"):
        p = arg(e.right)
        if p is not None and p.is_integer is not True:
            b = arg(e.left)
            if b is not None:
                add(sp.Gt(b, 0) if p.is_negative else sp.Ge(b, 0))
    elif isinstance(e, m.Name) and e.id not in env:
        info = low.info(e.id)
        if info is not None and info.role == "define" and isinstance(info.statement, m.Define) \
                and len(info.statement.names) == 1:
            for c in side_conditions(low, info.statement.value, env, depth + 1):
                add(c)
        return out
    for child in _children(e):
        for c in side_conditions(low, child, env, depth):
            add(c)
    return out


def _children(e: m.Expr):
    for v in vars(e).values():
        for item in (v if isinstance(v, tuple) else (v,)):
            if isinstance(item, m.Expr):
                yield item
            elif isinstance(item, tuple):
                for x in item:
                    if isinstance(x, m.Expr):
                        yield x
