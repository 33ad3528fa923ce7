"""The FLOP count of a cost expression as an exact formula of its growing sizes.

The lowering that :mod:`derive.timing.flops` counts is run once more, on fake tensors
whose growing sizes are symbolic (``FakeTensorMode`` with a ``ShapeEnv``: each size is a
``SymInt``).  The same counting rule (:func:`derive.timing.flops.count_op`) charges every
ATen call from the symbolic shapes, so the sum is a SymPy expression in the sizes: the
count at *every* size, not at the sizes tried.

Why the formula holds for all sizes ≥ 2 (the ``ShapeEnv``'s range of a size; 1 is a
special case torch specialises): the traced program is the one the lowering runs at
every size unless some Python decision read a size.  Every such decision goes through
the ``ShapeEnv``; one it cannot settle from the sizes' ranges alone is recorded as a
*guard*, a replacement (a size fixed to a number) or a narrowed range.  Any of those, a
data-dependent value (unbacked symbol), an operator the rule charges by its default, or
a recurrence makes the count decline (:class:`Decline`): the formula would hold only on
part of the sizes.  The caller still cross-checks the formula against measured counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import sympy as sp
import torch

from derive import model as m
from derive.numeric.lower import Evaluator
from derive.timing.flops import count_op, tensors_in
from derive.timing.memory import LiveBytes
from derive.analysis import reachable

DTYPE = torch.float32
# a symbolic size's sample value: distinct primes, none special (torch fixes sizes 0 and 1)
_HINTS = (4099, 4111, 4127, 4129, 4133, 4139, 4153, 4157)


class Decline(Exception):
    """The count has no single exact formula we can vouch for (the reason says why)."""


@dataclass
class SymbolicCount:
    """FLOPs of one expression as a formula of the growing sizes (SymPy, positive symbols)."""

    flops: sp.Expr
    symbols: dict[str, sp.Symbol]
    by_op: dict[str, sp.Expr] = field(default_factory=dict)
    peak_bytes: Optional[sp.Expr] = None      # traced with memory=True
    valid_from: int = 2                       # the formulas hold for every size ≥ this
    guards: list[str] = field(default_factory=list)
    decisions: tuple[bool, ...] = ()          # the truth values of tensors on this path

    def at(self, point: dict[str, int], kind: str = "flops") -> sp.Expr:
        """The formula (FLOPs, or peak bytes for ``kind`` memory) at integer sizes (exact)."""
        e = self.peak_bytes if kind == "memory" else self.flops
        return e.subs({s: sp.Integer(point[n]) for n, s in self.symbols.items()})

    def holds_at(self, point: dict[str, int]) -> bool:
        return all(point[n] >= self.valid_from for n in self.symbols)


def size_symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, positive=True)


# ------------------------------------------------------------------ sympy from torch's
def _from_torch(e: sp.Basic, names: dict[sp.Symbol, sp.Symbol]) -> sp.Expr:
    """Torch's size expression in our symbols; anything but + × ^ and floor division declines."""
    if isinstance(e, sp.Symbol):
        if e not in names:
            raise Decline(f"the count reads a size that is not a growing size ({e})")
        return names[e]
    if isinstance(e, (sp.Integer, sp.Rational)):
        return e
    head = type(e).__name__
    args = [_from_torch(a, names) for a in e.args]
    if isinstance(e, sp.Add):
        return sp.Add(*args)
    if isinstance(e, sp.Mul):
        return sp.Mul(*args)
    if isinstance(e, sp.Pow) and isinstance(e.exp, sp.Integer):
        return sp.Pow(args[0], e.exp)
    if head == "FloorDiv":
        return sp.floor(args[0] / args[1])
    if isinstance(e, (sp.floor, sp.log)):
        return type(e)(*args)
    raise Decline(f"the count has a term torch writes as {head}")


def as_expr(n: Any, names: dict[sp.Symbol, sp.Symbol]) -> sp.Expr:
    """One operator's charge (int, SymInt, or a SymPy formula from the rule) in our symbols."""
    if isinstance(n, bool):
        raise Decline("a charge is a truth value")
    if isinstance(n, int):
        return sp.Integer(n)
    if isinstance(n, torch.SymInt):
        return _from_torch(n.node.expr, names)
    if isinstance(n, sp.Basic):
        return _from_torch(n, names)
    raise Decline(f"a charge of type {type(n).__name__}")


# ------------------------------------------------------------------ the counting mode
_FFT = ("_fft_r2c", "_fft_c2c")
_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


def fft_result(name: str, args: tuple) -> torch.Tensor:
    """The (fake) result of a forward FFT, from its documented shape rule.

    torch's own fake FFT fixes every size to its sample value; the result of an FFT over
    ``dim`` has the input's shape (the last transformed axis ``n // 2 + 1`` when one-sided,
    ``_fft_r2c(x, dim, norm, onesided)``) and the complex dtype.  Any error in this rule
    shows in the cross-check against measured counts."""
    x, dims = args[0], list(args[1])
    shape = list(x.shape)
    if name == "_fft_r2c" and len(args) > 3 and args[3]:
        last = dims[-1] % x.dim()
        shape[last] = shape[last] // 2 + 1
    dtype = x.dtype if x.dtype.is_complex else _COMPLEX.get(x.dtype)
    if dtype is None:
        raise Decline(f"an FFT of {x.dtype}")
    return torch.empty(shape, dtype=dtype, device=x.device)


def _mode_class():
    from torch.utils._python_dispatch import TorchDispatchMode

    class SymbolicCostMode(TorchDispatchMode):
        """Charge every ATen call by the counting rule; keep the sum as a formula."""

        def __init__(self, names: dict[sp.Symbol, sp.Symbol], memory: bool,
                     schedule: list[bool]) -> None:
            super().__init__()
            self.names = names
            self.schedule = schedule          # the outcomes of tensor truth values, in order
            self.taken: list[bool] = []
            self.flops: sp.Expr = sp.Integer(0)
            self.by_op: dict[str, sp.Expr] = {}
            self.defaulted: list[str] = []
            self.live = LiveBytes() if memory else None

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            packet = getattr(func, "_overloadpacket", None)
            name = packet.__name__ if packet is not None else str(func)
            if name == "_local_scalar_dense" and args[0].dtype == torch.bool:
                # bool(tensor): a decision on values. Each outcome is one path, traced in
                # turn (trace_paths); 0 FLOPs and no allocation by the rule.
                k = len(self.taken)
                self.taken.append(self.schedule[k] if k < len(self.schedule) else True)
                return self.taken[-1]
            out = fft_result(name, args) if name in _FFT else func(*args, **kwargs)
            if getattr(func, "namespace", "") == "prim":
                return out  # metadata queries of fake tensors (prim.device): never on real ones
            n, defaulted = count_op(func, args, kwargs, out)
            if defaulted:
                self.defaulted.append(name)
            charge = as_expr(n, self.names)
            if charge != 0:
                self.flops += charge
                self.by_op[name] = self.by_op.get(name, sp.Integer(0)) + charge
            if self.live is not None:  # as CostMode tracks them (derive/timing/memory.py)
                inputs = tensors_in(args) + tensors_in(tuple(kwargs.values()))
                for t in tensors_in((out,)):
                    self.live.track(t, inputs)
            return out

    return SymbolicCostMode


# ------------------------------------------------------------------ symbolic shapes
def _symint(expr: Any, table: dict[str, Any]) -> Any:
    """A shape entry (SymPy in size names) as an int or SymInt over ``table``."""
    if isinstance(expr, int):
        return expr
    if not isinstance(expr, sp.Basic):
        raise Decline(f"a shape entry of type {type(expr).__name__}")
    if isinstance(expr, sp.Integer):
        return int(expr)
    if isinstance(expr, sp.Symbol):
        if expr.name not in table:
            raise Decline(f"no size for '{expr.name}'")
        return table[expr.name]
    if isinstance(expr, sp.Add):
        out = 0
        for a in expr.args:
            out = out + _symint(a, table)
        return out
    if isinstance(expr, sp.Mul):
        out = 1
        for a in expr.args:
            out = out * _symint(a, table)
        return out
    if isinstance(expr, sp.Pow) and isinstance(expr.exp, sp.Integer) and expr.exp > 0:
        base = _symint(expr.base, table)
        out = 1
        for _ in range(int(expr.exp)):
            out = out * base
        return out
    raise Decline(f"a shape written {expr} is not a polynomial of the sizes")


def _env(checked: Any, names: set[str], sizes: dict[str, Any]) -> dict[str, Any]:
    """Fake inputs: tensors of symbolic shape (batched (1, …)), sizes as SymInts."""
    env: dict[str, Any] = dict(sizes)
    for ident in sorted(names):
        info = checked.symbols.get(ident)
        if info is None or ident in env:
            continue
        if info.role == "tensor":
            shape = tuple(_symint(d, sizes) for d in info.vtype.shape)
            env[ident] = torch.empty((1,) + shape, dtype=DTYPE)
        elif info.role in ("sequence", "function"):
            raise Decline(f"'{ident}' is a {info.role}")
        elif info.role == "scalar":
            env[ident] = 0.5
        elif info.role == "dim":
            raise Decline(f"'{ident}' has no size")
    return env


_RELATIONS = (sp.StrictGreaterThan, sp.GreaterThan, sp.StrictLessThan, sp.LessThan, sp.Unequality)


def eventually_from(guards: list[sp.Basic], n: sp.Symbol) -> int:
    """The least integer ``N₀ ≥ 2`` with every guard true at every ``n ≥ N₀``; Decline if
    some guard fails for arbitrarily large ``n`` (or is not an inequality of ``n``)."""
    start = 2
    for g in guards:
        if not isinstance(g, _RELATIONS) or g.free_symbols - {n}:
            raise Decline(f"a guard {g} is not an inequality of one size")
        truth = sp.solve_univariate_inequality(g, n, relational=False,
                                               domain=sp.Interval(2, sp.oo))
        bad = sp.Interval(2, sp.oo) - truth
        if bad.is_empty:
            continue
        top = bad.sup
        if not (top.is_real and top.is_finite):
            raise Decline(f"the guard {g} fails for arbitrarily large {n}")
        first = int(sp.ceiling(top))
        if bad.contains(sp.Integer(first)) == sp.true:
            first += 1
        start = max(start, first)
    return start


def _guards(shape_env: Any, names: dict[sp.Symbol, sp.Symbol]) -> list[sp.Basic]:
    out = []
    for g in getattr(shape_env, "guards", []):
        e = g.expr
        if isinstance(e, _RELATIONS):
            out.append(type(e)(_from_torch(e.lhs, names), _from_torch(e.rhs, names)))
        else:
            raise Decline(f"the computation branches on its sizes (guard {e})")
    return out


def _check_shape_env(shape_env: Any, names: dict[sp.Symbol, sp.Symbol], eventual: bool
                     ) -> tuple[int, list[sp.Basic]]:
    """Decline unless the trace made no decision that depends on the sizes — or, with
    ``eventual`` and one size, only decisions that hold for every size from some N₀ on
    (then the formula holds there: returns N₀ and the guards)."""
    from torch.utils._sympy.numbers import int_oo

    ours = set(names)
    guards = [str(g.expr) for g in getattr(shape_env, "guards", [])]
    start, kept = 2, []
    if guards and not (eventual and len(ours) == 1):
        raise Decline("the computation branches on its sizes (guards " + "; ".join(guards[:3]) + ")")
    if guards:
        kept = _guards(shape_env, names)
        start = eventually_from(kept, next(iter(names.values())))
    if getattr(shape_env, "replacements", {}):
        raise Decline("a size was fixed to a number while counting "
                      f"({dict(list(shape_env.replacements.items())[:3])})")
    if getattr(shape_env, "deferred_runtime_asserts", {}):
        raise Decline("the computation asserts something about its values")
    extra = set(shape_env.var_to_range) - ours
    if extra:
        raise Decline("the computation reads tensor values (data-dependent sizes)")
    for s in ours:
        r = shape_env.var_to_range[s]
        if r.lower > max(start, 2) or r.upper not in (sp.oo, int_oo):
            raise Decline(f"a size's range was narrowed to {r}")
    return start, kept


def _trace_path(build: Callable[[dict[str, Any]], Callable[[], Any]], growing: list[str],
                fixed: Optional[dict[str, int]], memory: bool, schedule: list[bool]
                ) -> tuple[SymbolicCount, list[bool]]:
    """One run of the computation with the tensor truth values ``schedule`` (then True)."""
    from torch._dynamo.source import ConstantSource
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.symbolic_shapes import DimDynamic, ShapeEnv

    if len(growing) > len(_HINTS):
        raise Decline("too many growing sizes")
    shape_env = ShapeEnv()
    torch_to_ours: dict[sp.Symbol, sp.Symbol] = {}
    sizes: dict[str, Any] = {}
    for name, hint in zip(growing, _HINTS):
        s = shape_env.create_symbol(hint, ConstantSource(f"size_{name}"),
                                    dynamic_dim=DimDynamic.DYNAMIC)
        torch_to_ours[s] = size_symbol(name)
        sizes[name] = shape_env.create_symintnode(s, hint=hint)
    for name, value in (fixed or {}).items():
        sizes.setdefault(name, int(value))
    mode = _mode_class()(torch_to_ours, memory, schedule)
    try:
        with FakeTensorMode(shape_env=shape_env, allow_non_fake_inputs=False):
            with torch.no_grad():
                run = build(sizes)
                with mode:
                    result = run()
                    del result
    except Decline:
        raise
    except Exception as exc:  # noqa: BLE001 - data-dependent, unsupported on fake tensors, …
        raise Decline(f"not countable with symbolic sizes: {type(exc).__name__}: "
                      f"{str(exc).splitlines()[0][:160] if str(exc) else ''}") from exc
    start, guards = _check_shape_env(shape_env, torch_to_ours, eventual=memory)
    if mode.defaulted:
        raise Decline("the counting rule charges " + ", ".join(sorted(set(mode.defaulted))) +
                      " by its default (1 per output element)")
    peak = as_expr(mode.live.peak, torch_to_ours) if memory else None
    return SymbolicCount(sp.expand(mode.flops), {n: size_symbol(n) for n in growing}, mode.by_op,
                         None if peak is None else sp.expand(peak), start,
                         [sp.sstr(g) for g in guards], tuple(mode.taken)), mode.taken


MAX_PATHS = 8


def trace_paths(build: Callable[[dict[str, Any]], Callable[[], Any]], growing: list[str],
                fixed: Optional[dict[str, int]] = None, memory: bool = False,
                max_paths: int = MAX_PATHS) -> list[SymbolicCount]:
    """``build(sizes)`` makes the inputs (fake tensors; the sizes ``growing`` symbolic
    SymInts, ``fixed`` ints) and returns the computation, run charged by the counting rule
    — and, with ``memory``, its live bytes tracked as the bench tracks them.

    A truth value of a tensor (``if isfinite(A).all()``) is a decision on values the
    sizes do not fix: every outcome is traced (depth first), one formula per path, so the
    count of any input is one of them.  Any other read of values declines.

    Raises :class:`Decline` when no exact formula is obtained: for FLOPs one for every
    size ≥ 2; for memory (a running maximum, so a comparison of sizes at each new peak)
    one size may also hold from some N₀ on (``valid_from``)."""
    out: list[SymbolicCount] = []
    todo: list[list[bool]] = [[]]
    while todo:
        schedule = todo.pop()
        found, taken = _trace_path(build, growing, fixed, memory, schedule)
        out.append(found)
        todo.extend(taken[:i] + [False] for i in range(len(schedule), len(taken)))
        if len(out) + len(todo) > max_paths:
            raise Decline(f"more than {max_paths} paths through decisions on tensor values")
    return out


def trace(build: Callable[[dict[str, Any]], Callable[[], Any]], growing: list[str],
          fixed: Optional[dict[str, int]] = None, memory: bool = False) -> SymbolicCount:
    """The one formula of a computation that makes no decision on values (see
    :func:`trace_paths`)."""
    paths = trace_paths(build, growing, fixed, memory)
    if len(paths) > 1:
        raise Decline("the computation decides on tensor values: its count has several paths")
    return paths[0]


def symbolic_cost(checked: Any, expr: m.Expr, growing: list[str], fixed: dict[str, int],
                  memory: bool = False) -> list[SymbolicCount]:
    """FLOPs (and with ``memory`` peak live bytes) of ``expr`` as written (the numeric
    lowering), as formulas of the sizes ``growing`` (others ``fixed``), one per path
    through decisions on values; see :func:`trace_paths`."""
    names = reachable(checked, [expr])
    for ident in names:
        info = checked.symbols.get(ident)
        if info is not None and info.role in ("sequence", "function"):
            raise Decline(f"'{ident}' is a {info.role}: its cost is not one formula")

    def build(sizes: dict[str, Any]) -> Callable[[], Any]:
        env = _env(checked, names, sizes)

        def run() -> Any:
            ev = Evaluator(env, torch.device("cpu"), DTYPE, checked)
            return ev.tensor(ev.ev(expr))

        return run

    return trace_paths(build, growing, fixed, memory)
