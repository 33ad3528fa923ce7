"""One analysis of a checked claim, shared by every engine.

The engines used to re-derive the same facts each in its own way, and got different
answers (a sweep ``let n in 1..100`` had all its values in the numeric engine and eight in
the timing engine, through two functions of one name).  This module holds the one
implementation of each, below the engines (layer ``analysis`` of ``tests/test_layering.py``):

* :func:`reachable` — the dependency closure of expressions: every declared name they use,
  through definitions, function bodies, recurrences, declared shapes and distributions;
* :func:`size_value`, :func:`size_condition`, :func:`dim_at` — a size (a model expression
  or a SymPy dimension) and a condition on sizes evaluated at one point;
* :func:`sweep_values` — the values of a ``let n in …`` sweep;
* :func:`claim_seed`, :func:`statement_seed` — the seeds of every random stream, from the
  run seed, the claim, the statement and a salt naming the use (never Python's ``hash``);
* :func:`type_of` — the type (kind and symbolic shape) of any expression of the claim, by
  the semantic pass's own rules, computed once per expression and claim.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any, Iterable, Optional

from derive import model as m
from derive.semantics import SCALAR, Checker, CheckedClaim, SymbolInfo, VType, walk


# ------------------------------------------------------------------ dependencies
def reachable(checked: CheckedClaim, exprs: Iterable[m.Expr], shapes: bool = True) -> set[str]:
    """Every declared name the expressions use, through definitions, function bodies,
    recurrences (their values and indices), and the distributions of declared names
    (``x ~ normal(mu, s)`` uses ``mu`` and ``s``) — and their shapes (``x: R^n`` uses ``n``)
    unless ``shapes`` is false: the names a value is computed from, without the sizes."""
    seen: set[str] = set()
    stack = list(exprs)
    while stack:
        node = stack.pop()
        for sub in walk(node):
            ident = sub.id if isinstance(sub, m.Name) else sub.func if isinstance(sub, m.Call) else None
            if ident is None or ident in seen or ident not in checked.symbols:
                continue
            seen.add(ident)
            st = checked.symbols[ident].statement
            if isinstance(st, m.Define):
                stack.append(st.value)
            elif isinstance(st, m.FuncDef):
                stack.append(st.body)
            elif isinstance(st, m.Recurrence):
                for eq in st.equations:
                    stack.extend([eq.value, eq.index])
            elif isinstance(st, m.Decl):
                if shapes:
                    stack.extend(getattr(st.type, "shape", None) or ())
                if st.dist is not None:
                    stack.append(st.dist)
    return seen


# ------------------------------------------------------------------ sizes at a point
class SizeError(Exception):
    """A size expression cannot be evaluated (unknown name, not a number, …)."""


_FUNCS = {"log": math.log, "log2": math.log2, "sqrt": math.sqrt, "exp": math.exp,
          "floor": math.floor, "ceil": math.ceil, "abs": abs}


SIZE_OPS = ("+", "-", "*", "/", "^", "⊙", ".^")


def size_arith(op: str, a: Any, b: Any) -> Any:
    """``a op b`` for an operator of :data:`SIZE_OPS` — on floats (a size at a point) or on
    SymPy expressions (a size formula); a division by 0 raises ZeroDivisionError."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op in ("*", "⊙"):
        return a * b
    if op == "/":
        if b == 0:
            raise ZeroDivisionError("division by zero in a size")
        return a / b
    return a ** b


def size_value(e: m.Expr, sizes: dict[str, float], checked: Optional[CheckedClaim] = None,
               costs: Optional[dict] = None) -> float:
    """Evaluate a size expression (numbers, sizes, + − * / ^, log, sqrt, …) to a float.

    ``costs`` gives values for ``time[…]``/``flops[…]``/``memory[…]`` nodes, so the sides of
    a cost comparison (``time[B] / 4``) evaluate here too.
    """
    if isinstance(e, m.Cost):
        if costs is None or e not in costs:
            raise SizeError(f"{e.kind}[…] has no value here")
        return float(costs[e])
    if isinstance(e, m.Num):
        if e.imaginary:
            raise SizeError("a size cannot be imaginary")
        return float(e.value)
    if isinstance(e, m.Name):
        if e.id in sizes:
            return float(sizes[e.id])
        info = checked.symbols.get(e.id) if checked is not None else None
        if info is not None and info.dim_value is not None:
            return dim_at(info.dim_value, sizes)
        if info is not None and info.role == "define" and len(info.statement.names) == 1:
            return size_value(info.statement.value, sizes, checked)
        if info is None and e.id == "pi":
            return math.pi
        if info is None and e.id == "euler":
            return math.e
        if info is None and e.id == "euler_gamma":
            return 0.5772156649015329
        raise SizeError(f"'{e.text or e.id}' has no size value")
    if isinstance(e, m.Unary):
        return -size_value(e.operand, sizes, checked, costs)
    if isinstance(e, m.BinOp) and e.op in SIZE_OPS:
        a, b = size_value(e.left, sizes, checked, costs), size_value(e.right, sizes, checked, costs)
        try:
            return size_arith(e.op, a, b)
        except ZeroDivisionError:
            raise SizeError("division by zero in a size") from None
    if isinstance(e, m.Call) and e.func in _FUNCS and len(e.args) == 1 and not e.kwargs:
        return float(_FUNCS[e.func](size_value(e.args[0], sizes, checked, costs)))
    if isinstance(e, m.Call) and e.func in ("max", "min") and e.args and not e.kwargs:
        vals = [size_value(a, sizes, checked, costs) for a in e.args]
        return max(vals) if e.func == "max" else min(vals)
    raise SizeError(f"not a size expression: {type(e).__name__}")


def size_condition(e: m.Expr, sizes: dict[str, float], checked: Optional[CheckedClaim] = None
                   ) -> bool:
    """Evaluate a condition on sizes (comparisons, and/or/not/=>)."""
    if isinstance(e, m.Compare) and "~" not in e.ops and "≈" not in e.ops:
        vals = [size_value(x, sizes, checked) for x in e.operands]
        ops = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
               "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
        return all(ops[o](a, b) for o, a, b in zip(e.ops, vals, vals[1:]))
    if isinstance(e, m.Logic):
        out = m.connective(e.op, [size_condition(a, sizes, checked) for a in e.args])
        if out is not None:
            return out
    raise SizeError("not a condition on sizes")


_DIM_CACHE: dict[tuple, float] = {}


def dim_at(d: Any, sizes: dict[str, float]) -> float:
    """A declared dimension (a SymPy size such as ``n - k + 1``, or a number) with the sizes
    substituted; :class:`SizeError` names the sizes it lacks.  Memoised: Monte Carlo asks
    for the same shapes once per chunk."""
    if isinstance(d, (int, float)):
        return float(d)
    if d.is_Integer:
        return float(int(d))
    names = sorted(s.name for s in d.free_symbols)
    missing = [n for n in names if n not in sizes]
    if missing:
        raise SizeError(f"no size for {', '.join(missing)}")
    key = (d, tuple((n, sizes[n]) for n in names))
    hit = _DIM_CACHE.get(key)
    if hit is not None:
        return hit
    v = d.subs({s: sizes[s.name] for s in d.free_symbols})
    if not v.is_number:
        raise SizeError(f"size {d} has no value")
    if len(_DIM_CACHE) > 4096:
        _DIM_CACHE.clear()
    _DIM_CACHE[key] = float(v)
    return float(v)


# ------------------------------------------------------------------ sweeps
def sweep_values(checked: CheckedClaim, info: SymbolInfo, most: Optional[int] = None) -> list[int]:
    """The sizes of one ``let n in …`` sweep, in their written order: a list's entries, or
    every integer of a range — at most ``most`` of them when given (a longer range keeps its
    ends and geometrically spaced sizes between: a cost is timed at a few sizes only)."""
    values = info.statement.values
    if isinstance(values, m.Block):
        return [_integer(size_value(v, {}, checked)) for row in values.rows for v in row]
    if isinstance(values, m.Range):
        lo = _integer(size_value(values.lo, {}, checked))
        hi = _integer(size_value(values.hi, {}, checked))
        if hi < lo:
            return []
        if most is None or hi - lo + 1 <= most:
            return list(range(lo, hi + 1))
        ratio = (hi / max(lo, 1)) ** (1 / (most - 1))
        return sorted({int(round(max(lo, 1) * ratio ** k)) for k in range(most)})
    raise SizeError("a sweep is a list or a range of sizes")


def _integer(v: float) -> int:
    if not math.isfinite(v) or v != int(v):
        raise SizeError(f"a sweep value must be an integer, not {v:g}")
    return int(v)


# ------------------------------------------------------------------ seeds
def claim_seed(run_seed: int, claim_id: str, salt: str = "") -> int:
    """A stable 63-bit seed from the run seed, the claim id and a salt naming the use (a
    SHA-256 digest: not Python's salted ``hash()``, and not a 32-bit CRC that two uses
    could share)."""
    digest = hashlib.sha256(f"{run_seed}:{claim_id}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def statement_seed(run_seed: int, claim_id: str, index: int, salt: str = "") -> int:
    """The seed of one statement's stream (``index``: its place in the claim)."""
    return claim_seed(run_seed, claim_id, f"{index}:{salt}")


# ------------------------------------------------------------------ types per node
def type_of(checked: CheckedClaim, e: m.Expr, bound: Iterable[str] = ()) -> VType:
    """The type of ``e`` (a statement, a subexpression, or one an engine builds from them)
    with ``bound`` names (binders, function parameters) read as scalars — by the semantic
    pass's rules, so no engine infers shapes its own way.  Model nodes compare by value, so
    the cache is keyed by the expression itself (never by ``id``, which is reused)."""
    state = checked.__dict__.setdefault("_types", {})
    key: Any = (e, frozenset(bound))
    try:
        hit = state.get(key)
    except TypeError:  # a node holding something unhashable: typed, not cached
        hit, key = None, None
    if hit is not None:
        return hit
    typer = state.get("typer")
    if typer is None:
        typer = state["typer"] = Checker(checked.claim)
        typer.symbols = checked.symbols
    typer.bound.append({k: SCALAR for k in bound})
    saved = len(typer.diags)
    try:
        out = typer.expr(e)
    finally:
        typer.bound.pop()
        del typer.diags[saved:]
    if key is not None:
        state[key] = out
    return out
