"""Lower typed claim expressions to torch and evaluate them, exactly as written.

Every value carries a leading *batch* axis (size 1 for a single instance, N for N
Monte-Carlo samples), so the same evaluator computes one instance and a batch of
samples.  The logical shape is ``value.shape[1:]``: ``()`` a scalar, ``(n,)`` a column
vector, ``(1, n)`` a row (a transposed vector), ``(m, n)`` a matrix.  Python ``int``
values are kept for sizes and indices (``n``, ``i`` in ``sum(i = 1..n, …)``).

Evaluation order is the tree's order: ``A @ u @ vᵀ @ A`` is ``((A u) vᵀ) A`` — the
timing engine builds the computation it times with :func:`evaluate`, so no
re-association happens here.

Public API: :func:`evaluate` (one expression, unbatched env in, unbatched tensor out),
:class:`Evaluator` (batched, reused by the numeric strategies) and
:class:`LoweringError`.
"""
from __future__ import annotations

import itertools
import math
import weakref
from contextlib import contextmanager
from fractions import Fraction
from typing import Any, Callable, Iterator, Optional, Union

import torch
import torch.nn.functional as F

from derive import model as m
from derive.numeric import functions as fx
from derive.numeric.affine import TooManyDraws, affine_draws, exact_moment
from derive.numeric.base import IllDefined, LoweringError, Value, is_tensor, rank
from derive.numeric.lapack import lapack
from derive.analysis import reachable
from derive.semantics import CheckedClaim, walk
from derive.vocabulary.distributions import law_of

CONSTANT_VALUES = {"pi": math.pi, "euler": math.e, "euler_gamma": 0.5772156649015329,
                   "inf": math.inf}


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` is cuda when present, else cpu."""
    if device in ("auto", None):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise LoweringError("device 'cuda' requested but no GPU is available")
    return torch.device(device)


def evaluate(expr: m.Expr, env: dict[str, Any], device: Union[str, torch.device] = "cpu",
             dtype: torch.dtype = torch.float64, checked: Optional[CheckedClaim] = None
             ) -> torch.Tensor:
    """Evaluate ``expr`` on one instance.

    ``env`` maps names to unbatched tensors (a vector is shape ``(n,)``), Python numbers
    (sizes, scalars) or callables (arbitrary functions).  ``checked`` supplies the
    claim's definitions, function definitions and recurrences.  Returns an unbatched
    tensor (a 0-d tensor for scalars).
    """
    dev = pick_device(device) if isinstance(device, str) else device
    batched = {k: (v.unsqueeze(0) if isinstance(v, torch.Tensor) else v) for k, v in env.items()}
    ev = Evaluator(batched, dev, dtype, checked)
    out = ev.tensor(ev.ev(expr))
    return out[0] if out.shape[0] == 1 else out


CONDITION_RTOL = 1e-9   # equations inside conditions hold up to this relative rounding
CONDITION_ATOL = 1e-12

MAX_EXACT_SUPPORT = 4096  # joint values of categorical indices a statistic is summed over


def finite_support(checked: Optional[CheckedClaim], e: m.Stat) -> Optional[list[tuple[str, m.Expr]]]:
    """The categorical indices a statistic's randomness consists of, each with its
    probability vector, or ``None`` when any other random name is involved (or none)."""
    if checked is None:
        return None
    out = []
    for name in sorted(reachable(checked, e.args)):
        info = checked.symbols.get(name)
        if info is None or not info.random:
            continue
        dist = info.dist
        law = law_of(dist)
        if info.role != "scalar" or not isinstance(dist, m.Call) or law is None \
                or not law.categories or len(dist.args) != 1:
            return None
        out.append((name, dist.args[0]))
    return out or None


class Evaluator:
    """Evaluate model expressions over a batched environment.

    ``env`` values are batched tensors (leading batch axis), Python numbers, tuples
    (svd results) or callables.  Definitions are evaluated lazily and cached.
    """

    def __init__(self, env: dict[str, Value], device: torch.device,
                 dtype: torch.dtype = torch.float64, checked: Optional[CheckedClaim] = None):
        self.env = env  # shared on purpose: instances fill it while drawing
        self.device = device
        self.dtype = dtype
        self.checked = checked
        self.cache: dict[str, Value] = {}
        self.seq_hist: dict[str, list] = {}
        self._scale: Optional[torch.Tensor] = None   # per-member max |intermediate|, when tracked
        self._overflow = torch.zeros(1, dtype=torch.bool, device=device)
        self._pending: list[torch.Tensor] = []        # noted magnitudes not yet folded in
        self.conds: Optional[list[torch.Tensor]] = None  # condition numbers of inverted matrices
        self.judged: dict = {}
        # whether the random names in env are Monte-Carlo samples (then a statistic may be
        # estimated from them) rather than one value per instance
        self.sampled = False
        # tensors whose magnitude is already in ``scale`` (id → weak reference): a value
        # read again (a name, a recurrence's stored step) adds nothing, so it is skipped
        self.noted: dict[int, weakref.ref] = {}

    def track(self, batch: int = 1) -> "Evaluator":
        """Record intermediate magnitudes and condition numbers (for rounding tolerances)."""
        self.scale = torch.zeros(batch, dtype=torch.float64, device=self.device)
        self.overflow = torch.zeros(batch, dtype=torch.bool, device=self.device)
        self.conds = []
        self.noted = {}
        return self

    def note_cond(self, t: torch.Tensor) -> None:
        if self.conds is not None and t.dim() == 3 and t.shape[-1] == t.shape[-2]:
            with torch.no_grad():
                c = lapack(torch.linalg.cond, t.detach().to(torch.float64) if not t.is_complex() else t.detach())
            self.conds.append(torch.nan_to_num(c, nan=1e300, posinf=1e300))

    @contextmanager
    def untracked(self) -> Iterator[None]:
        """Evaluations that are a search, not part of the value (an optimiser's grid and
        line search): their magnitudes must not widen the rounding tolerance, or a wrong
        ``argmin(M, f) == c`` passes because ``f`` was huge somewhere on the grid."""
        top = self
        while getattr(top, "parent", None) is not None and top.parent.scale is not None:
            top = top.parent
        scale, conds = top.scale, (len(top.conds) if top.conds is not None else None)
        overflow, noted = top.overflow, top.noted
        top.noted = {}  # what a search notes is discarded: it must not count as noted
        top.scale = None  # and nothing is noted meanwhile (restored below)
        try:
            yield
        finally:
            top.scale = scale
            top.overflow = overflow
            top.noted = noted
            if conds is not None:
                del top.conds[conds:]

    # ------------------------------------------------------------ helpers
    def child(self, overrides: dict[str, Value]) -> "Evaluator":
        """An evaluator with some names replaced (for ``at (…)`` and ``grad``)."""
        env = dict(self.env)
        env.update(overrides)
        out = Evaluator(env, self.device, self.dtype, self.checked)
        out.scale, out.conds, out.sampled = self.scale, self.conds, self.sampled
        out.parent = self
        return out

    def tensor(self, v: Value) -> torch.Tensor:
        """A batched tensor for ``v`` (Python numbers become shape ``(1,)``)."""
        if isinstance(v, torch.Tensor):
            if v.dtype == torch.bool:
                return v
            return v
        if isinstance(v, bool):
            return torch.tensor([v], device=self.device)
        if isinstance(v, complex):
            cd = torch.complex128 if self.dtype == torch.float64 else torch.complex64
            return torch.tensor([v], dtype=cd, device=self.device)
        if isinstance(v, (int, float, Fraction)):
            return torch.tensor([float(v)], dtype=self.dtype, device=self.device)
        raise LoweringError(f"expected a number or tensor, found {type(v).__name__}")

    def as_int(self, v: Value, what: str = "an index") -> int:
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, (int, torch.SymInt)):
            return v  # a SymInt: a symbolic size (derive/timing/symcount.py), kept symbolic
        if isinstance(v, float) and v == int(v):
            return int(v)
        if isinstance(v, Fraction) and v.denominator == 1:
            return int(v)
        if isinstance(v, torch.Tensor) and v.numel() >= 1:
            flat = v.reshape(-1)
            x = float(flat[0].real if flat.is_complex() else flat[0])
            if x == int(x) and bool((flat == flat[0]).all()):
                return int(x)
        raise LoweringError(f"{what} must be an integer, found {v!r}")

    def align(self, a: Value, b: Value) -> tuple[Value, Value]:
        """Make a scalar broadcast against a tensor (scalar shape ``(B,)`` → ``(B,1,…)``)."""
        if is_tensor(a) and is_tensor(b):
            ra, rb = rank(a), rank(b)
            # math.prod, not Size.numel(): with symbolic sizes (derive/timing/symcount.py)
            # numel() fixes every size to its sample value
            if ra != rb and (math.prod(a.shape[1:]) == 1 or math.prod(b.shape[1:]) == 1):
                # a 1×1 result is a scalar: n = 1 instances mix (1,1), (1,) and ()
                if math.prod(a.shape[1:]) == 1:
                    a, ra = a.reshape(a.shape[0]), 0
                else:
                    b, rb = b.reshape(b.shape[0]), 0
            if ra == 0 and rb > 0:
                a = a.reshape(a.shape + (1,) * rb)
            elif rb == 0 and ra > 0:
                b = b.reshape(b.shape + (1,) * ra)
            elif ra != rb and {ra, rb} == {1, 2}:
                # an n×1 matrix and an n-vector are the same column
                if ra == 2 and a.shape[2] == 1 and a.shape[1] == b.shape[1]:
                    a = a[:, :, 0]
                elif rb == 2 and b.shape[2] == 1 and b.shape[1] == a.shape[1]:
                    b = b[:, :, 0]
                elif ra == 2 and a.shape[1] == b.shape[1]:
                    b = b.unsqueeze(-1)  # a bias: the vector is added to every column
                elif rb == 2 and b.shape[1] == a.shape[1]:
                    a = a.unsqueeze(-1)
                else:
                    raise IllDefined(f"shape mismatch: {tuple(a.shape[1:])} and {tuple(b.shape[1:])}")
            elif ra != rb:
                raise IllDefined(f"shape mismatch: {tuple(a.shape[1:])} and {tuple(b.shape[1:])}")
            elif a.shape[1:] != b.shape[1:]:
                raise IllDefined(f"shape mismatch: {tuple(a.shape[1:])} and {tuple(b.shape[1:])}")
        return a, b

    def elementwise(self, a: Value, b: Value, fn: Callable) -> Value:
        if not is_tensor(a) and not is_tensor(b):
            try:
                return fn(a, b)
            except (ZeroDivisionError, OverflowError):
                a = self.tensor(a)
        a, b = self.align(a, b)
        return fn(a, b)

    def unary(self, v: Value, fn: Callable) -> torch.Tensor:
        return fn(self.tensor(v))

    @staticmethod
    def scalarize(t: torch.Tensor) -> torch.Tensor:
        """A 1×1 (or length-1 from a row product) result is a scalar."""
        return t.reshape(t.shape[0])

    # ------------------------------------------------------------ dispatch
    def ev(self, e: m.Expr, scope: Optional[dict[str, Value]] = None) -> Value:
        method = getattr(self, "e_" + type(e).__name__, None)
        if method is None:
            raise LoweringError(f"cannot evaluate {type(e).__name__} numerically")
        v = method(e, scope or {})
        if isinstance(v, torch.Tensor) and v.dim() == 0:
            v = v.reshape(1)  # keep the batch axis
        self.note_scale(v)
        return v

    # The magnitudes are folded in batches: one stack-and-reduce per PENDING_FOLD noted
    # values instead of five small tensor operations each (the interpreter notes every node).
    PENDING_FOLD = 64

    @property
    def scale(self) -> Optional[torch.Tensor]:
        if self._pending:
            self._fold()
        return self._scale

    @scale.setter
    def scale(self, value: Optional[torch.Tensor]) -> None:
        self._pending = []  # a new (or restored) scale: what was pending is not part of it
        self._scale = value

    @property
    def overflow(self) -> torch.Tensor:
        """Per member: whether some intermediate overflowed to ±inf (then a NaN side is
        inf − inf, not a value outside a function's domain)."""
        if self._pending:
            self._fold()
        return self._overflow

    @overflow.setter
    def overflow(self, value: torch.Tensor) -> None:
        if self._pending:
            self._fold()
        self._overflow = value

    def _fold(self) -> None:
        pending, self._pending = self._pending, []
        if self._scale is None:
            return
        n = self._scale.shape[0]
        with torch.no_grad():
            stacked = torch.stack([p.expand(n) if p.shape[0] == 1 else p for p in pending])
            inf = (stacked == math.inf).any(0)
            top = torch.nan_to_num(stacked, nan=0.0, posinf=0.0).amax(0)
            self._scale = torch.maximum(self._scale, top)
            self._overflow = self._overflow | inf

    def note_scale(self, v: Value) -> None:
        """Widen the per-member magnitude that rounding tolerances are relative to (the
        largest finite |intermediate|; an infinite one marks the member as overflowed)."""
        if not isinstance(v, torch.Tensor) or self._scale is None or not v.numel() \
                or v.dtype == torch.bool:
            return
        top = self
        while getattr(top, "parent", None) is not None and top.parent._scale is not None:
            top = top.parent
        seen = top.noted.get(id(v))
        if seen is not None and seen() is v:
            return
        s = v.detach().abs()  # detached: no autograd bookkeeping
        if s.dim() > 1:
            s = s.reshape(s.shape[0], -1).amax(-1)
        elif s.dim() == 0:
            s = s.reshape(1)
        if s.dtype != torch.float64:
            s = s.to(torch.float64)
        if s.shape[0] not in (1, top._scale.shape[0]):
            s = s.amax().reshape(1)  # an internal batch (quadrature nodes, a grid)
        top._pending.append(s)
        if len(top._pending) >= self.PENDING_FOLD:
            top._fold()
        try:
            top.noted[id(v)] = weakref.ref(v)
        except TypeError:
            pass

    def e_Num(self, e: m.Num, scope) -> Value:
        if e.imaginary:
            return complex(0, float(e.value))
        if e.value.denominator == 1:
            return int(e.value)
        return float(e.value)

    def e_Name(self, e: m.Name, scope) -> Value:
        return self.lookup(e.id, scope)

    def lookup(self, ident: str, scope: dict) -> Value:
        if ident in scope:
            return scope[ident]
        if ident in self.env:
            return self.env[ident]
        if ident in self.cache:
            return self.cache[ident]
        info = self.checked.symbols.get(ident) if self.checked is not None else None
        if info is not None and info.role == "define":
            self.define(info.statement)
            if ident in self.cache:
                return self.cache[ident]
        if ident in CONSTANT_VALUES and (info is None):
            return CONSTANT_VALUES[ident]
        if ident == "fro":
            return "fro"
        raise LoweringError(f"'{ident}' has no value")

    def define(self, d: m.Define) -> None:
        value = self.ev(d.value)
        if len(d.names) == 1:
            self.cache[d.names[0].id] = value
            return
        if not isinstance(value, tuple) or len(value) < len(d.names):
            raise LoweringError("several names need a function returning several values (svd)")
        for name, v in zip(d.names, value):
            self.cache[name.id] = v

    def e_Unary(self, e: m.Unary, scope) -> Value:
        v = self.ev(e.operand, scope)
        return -v

    def e_Transpose(self, e: m.Transpose, scope) -> Value:
        v = self.ev(e.operand, scope)
        r = rank(v)
        if r == 0:
            return v
        if r == 1:
            return v.unsqueeze(1)
        if r == 2:
            if v.shape[1] == 1 and v.shape[2] != 1:
                return v[:, 0, :]
            return v.transpose(-1, -2)
        raise LoweringError("transpose needs a vector or a matrix")

    def e_BinOp(self, e: m.BinOp, scope) -> Value:
        a = self.ev(e.left, scope)
        b = self.ev(e.right, scope)
        return self.binop(e.op, a, b)

    def binop(self, op: str, a: Value, b: Value) -> Value:
        if op == "+":
            return self.elementwise(a, b, lambda x, y: x + y)
        if op == "-":
            return self.elementwise(a, b, lambda x, y: x - y)
        if op in ("*", "⊙"):
            return self.elementwise(a, b, lambda x, y: x * y)
        if op == "/":
            if not is_tensor(a) and not is_tensor(b) and b == 0:
                return self.tensor(a) / b
            return self.elementwise(a, b, lambda x, y: x / y)
        if op == "@":
            return self.matmul(a, b)
        if op == "·":
            return self.inner(a, b)
        if op == "^":
            if rank(a) == 2 and a.shape[1] == a.shape[2]:
                return self.matpow(a, b)
            return self.power(a, b)
        if op == ".^":
            return self.power(a, b)
        raise LoweringError(f"unknown operator {op}")

    def power(self, a: Value, b: Value) -> Value:
        if not is_tensor(a) and not is_tensor(b):
            try:
                r = a ** b
                if isinstance(r, complex) and not isinstance(a, complex) and not isinstance(b, complex):
                    return float("nan")
                return r
            except (ZeroDivisionError, OverflowError):
                return self.tensor(a) ** b
        if not is_tensor(a):
            a = self.tensor(a)
        out = self.elementwise(a, b, lambda x, y: torch.pow(x, y))
        if is_tensor(out) and not out.dtype == torch.bool:
            # x^p amplifies the relative error its base carries p-fold (the iterated
            # squarings that x^(2^j) is compared with carry 2^j·eps): widen the scale by |p|
            p = b.abs() if is_tensor(b) else abs(b)
            if (bool((p > 1).any()) if is_tensor(p) else p > 1):
                self.note_scale(self.elementwise(out, p, lambda x, y: x.abs() * y))
        return out

    def matpow(self, a: torch.Tensor, b: Value) -> torch.Tensor:
        k = self.as_int(b, "a matrix power's exponent")
        return torch.linalg.matrix_power(a, k)

    def matmul(self, a: Value, b: Value) -> Value:
        if is_tensor(a) and is_tensor(b) and rank(b) == 0 and rank(a) == 2 and a.shape[2] == 1:
            return a[:, :, 0] * b.unsqueeze(-1)  # n×1 @ (a 1-vector made scalar) is a vector
        if is_tensor(a) and rank(a) == 1 and a.shape[1] == 1 and is_tensor(b) and rank(b) == 2 \
                and b.shape[1] != 1:
            a = a.reshape(a.shape[0])  # a 1-vector (made so by a 1×1 result) is a scalar
        if not is_tensor(a) or not is_tensor(b) or rank(a) == 0 or rank(b) == 0:
            return self.elementwise(a, b, lambda x, y: x * y)  # lenient: scalar @ tensor
        if a.dtype != b.dtype:
            common = torch.promote_types(a.dtype, b.dtype)
            a, b = a.to(common), b.to(common)
        ra, rb = rank(a), rank(b)
        if ra == 1:
            a = a.unsqueeze(-1)  # a column n×1
        if rb == 1:
            if a.shape[-1] != b.shape[-1]:
                raise IllDefined(f"shape mismatch in '@': {tuple(a.shape[1:])} @ {tuple(b.shape[1:])}")
            out = torch.matmul(a, b.unsqueeze(-1)).squeeze(-1)  # (B, m)
            if ra == 2 and a.shape[1] == 1:
                return self.scalarize(out)
            return out
        if a.shape[-1] != b.shape[-2]:
            raise IllDefined(f"shape mismatch in '@': {tuple(a.shape[1:])} @ {tuple(b.shape[1:])}")
        out = torch.matmul(a, b)
        if out.shape[-1] == 1 and out.shape[-2] == 1:
            return self.scalarize(out)
        return out

    def inner(self, a: Value, b: Value) -> Value:
        if rank(a) == 0 or rank(b) == 0:
            return self.elementwise(a, b, lambda x, y: x * y)
        a, b = self.align(a, b)
        if rank(a) == 1 and not a.is_complex() and a.dtype == b.dtype:
            return torch.linalg.vecdot(a, b)  # no n-sized temporary
        prod = a * b
        return prod.reshape(prod.shape[0], -1).sum(-1)

    # ------------------------------------------------------------ structure
    def e_Range(self, e: m.Range, scope) -> Value:
        return (self.as_int(self.ev(e.lo, scope)), self.as_int(self.ev(e.hi, scope)))

    def e_Slice(self, e: m.Slice, scope) -> Value:
        return slice(None)

    def e_Index(self, e: m.Index, scope) -> Value:
        if isinstance(e.base, m.Name) and self.is_sequence(e.base.id, scope):
            if len(e.indices) != 1:
                raise LoweringError("a sequence takes one index")
            step = self.as_int(self.ev(e.indices[0], scope), "a sequence index")
            return self.sequence_value(e.base.id, step)
        base = self.ev(e.base, scope)
        if not is_tensor(base):
            base = self.tensor(base)
        extra = len(e.indices) - rank(base)
        if extra > 0:  # a length-1 axis made implicit (x[1], A[1, 1], V[j, :] of an N×1 V)
            for i in e.indices[rank(base):]:
                if isinstance(i, m.Slice):
                    continue  # ':' over a length-1 axis keeps its one entry
                lo, hi = self.e_Range(i, scope) if isinstance(i, m.Range) else \
                    (self.as_int(self.ev(i, scope)),) * 2
                if lo != 1 or hi != 1:
                    raise IllDefined("index outside 1..1 (a length-1 axis)")
            e = m.Index(e.base, e.indices[:rank(base)])
            if not e.indices:
                return base
        batched = [self.ev(i, scope) for i in e.indices
                   if not isinstance(i, (m.Slice, m.Range))]
        if any(is_tensor(v) and v.reshape(-1).numel() > 1 and
               not bool((v.reshape(-1) == v.reshape(-1)[0]).all()) for v in batched):
            return self.gather(base, e, scope)
        key: list = [slice(None)]
        for idx in e.indices:
            if isinstance(idx, m.Slice):
                key.append(slice(None))
            elif isinstance(idx, m.Range):
                lo, hi = self.e_Range(idx, scope)
                size = base.shape[len(key)] if len(key) < base.dim() else 0
                if lo < 1 or hi > size or hi < lo - 1:  # x[k+1..n] at k = n is empty, not an error
                    raise IllDefined(f"slice {lo}..{hi} is outside 1..{size}")
                key.append(slice(lo - 1, hi))
            else:
                i = self.as_int(self.ev(idx, scope))
                size = base.shape[len(key)] if len(key) < base.dim() else 0
                if not 1 <= i <= size:
                    raise IllDefined(f"index {i} is outside 1..{size}")
                key.append(i - 1)
        return base[tuple(key)]

    def gather(self, base: torch.Tensor, e: m.Index, scope) -> torch.Tensor:
        """Index with a random (per-sample) index: one entry per batch member."""
        vals = [None if isinstance(i, m.Slice) else self.ev(i, scope) for i in e.indices]
        batch = max([base.shape[0]] + [v.reshape(-1).shape[0] for v in vals if is_tensor(v)])
        base = base.expand(batch, *base.shape[1:])
        key: list = [torch.arange(batch, device=base.device)]
        for axis, v in enumerate(vals, start=1):
            if v is None:
                key.append(slice(None))
                continue
            idx = (self.tensor(v).reshape(-1).round().long() - 1).expand(batch) if is_tensor(v) \
                else torch.full((batch,), self.as_int(v) - 1, device=base.device)
            if bool(((idx < 0) | (idx >= base.shape[axis])).any()):
                raise IllDefined(f"index outside 1..{base.shape[axis]}")
            key.append(idx)
        return base[tuple(key)]

    def e_Block(self, e: m.Block, scope) -> Value:
        rows = [[self.ev(x, scope) for x in row] for row in e.rows]
        flat = [v for row in rows for v in row]
        if all(rank(v) == 0 for v in flat):
            ts = [self.tensor(v) for v in flat]
            batch = max(t.shape[0] for t in ts)
            ts = [t.expand(batch) for t in ts]
            stacked = torch.stack(ts, dim=-1)
            if len(rows) == 1:
                return stacked
            return stacked.reshape(batch, len(rows), len(rows[0]))
        batch = max(self.tensor(v).shape[0] for v in flat)

        def block(v: Value) -> torch.Tensor:
            t = self.tensor(v)
            if rank(t) == 0:
                t = t.reshape(t.shape[0], 1, 1)
            elif rank(t) == 1:
                t = t.unsqueeze(-1)
            return t.expand(batch, *t.shape[1:])

        try:
            out = torch.cat([torch.cat([block(v) for v in row], dim=-1) for row in rows], dim=-2)
        except RuntimeError as exc:  # blocks whose heights or widths do not line up
            shapes = [[tuple(self.tensor(v).shape[1:]) for v in row] for row in rows]
            raise IllDefined(f"the blocks do not fit together: shapes {shapes}") from exc
        if out.shape[-1] == 1:
            return out[..., 0]
        return out

    def e_Comprehension(self, e: m.Comprehension, scope) -> Value:
        values: list[Value] = []

        def loop(k: int, sc: dict) -> None:
            if k == len(e.clauses):
                values.append(self.ev(e.body, sc))
                return
            name, rng = e.clauses[k]
            lo, hi = self.e_Range(rng, sc)
            for i in range(lo, hi + 1):
                loop(k + 1, {**sc, name: i})

        loop(0, dict(scope))
        if not values:
            return torch.zeros(1, 0, dtype=self.dtype, device=self.device)
        ts = [self.tensor(v) for v in values]
        batch = max(t.shape[0] for t in ts)
        return torch.stack([t.expand(batch) for t in ts], dim=-1)

    def e_Subst(self, e: m.Subst, scope) -> Value:
        overrides = {name: self.ev(value, scope) for name, value in e.bindings}
        inner_scope = {k: v for k, v in scope.items() if k not in overrides}
        return self.child(overrides).ev(e.expr, inner_scope)

    # ------------------------------------------------------------ sequences
    def is_sequence(self, ident: str, scope: dict) -> bool:
        if ident in scope or ident in self.env or self.checked is None:
            return False
        info = self.checked.symbols.get(ident)
        return info is not None and info.role == "sequence"

    def sequence_value(self, ident: str, step: int) -> Value:
        """``w[step]`` by iterating the recurrence from its start value."""
        if step < 0:
            raise IllDefined(f"sequence index {step} is negative")
        rec: m.Recurrence = self.checked.symbols[ident].statement
        hist = self.seq_hist.setdefault(ident, [])
        starts = {self.as_int(self.ev(eq.index)): eq for eq in rec.equations
                  if eq.seq.id == ident and isinstance(eq.index, m.Num)}
        steps = [eq for eq in rec.equations if eq.seq.id == ident and not isinstance(eq.index, m.Num)]
        if not steps:
            raise LoweringError(f"sequence '{ident}' has no step")
        eq = steps[0]
        var = next((n.id for n in _names(eq.index)), None)
        if var is None:
            raise LoweringError("a recurrence step needs an index variable")
        offset = self.as_int(self.ev(eq.index, {var: 0}))
        while len(hist) <= step:
            s = len(hist)
            if s in starts:
                hist.append(self.ev(starts[s].value))
            elif s - offset >= 0:
                hist.append(self.ev(eq.value, {var: s - offset}))
            else:
                raise IllDefined(f"sequence '{ident}' has no value at {s}")
        return hist[step]

    # ------------------------------------------------------------ statistics
    def e_Stat(self, e: m.Stat, scope) -> Value:
        """Sample statistics over the batch axis (the Monte-Carlo samples) — or, when the
        only randomness is categorical indices, the exact statistic per instance."""
        support = finite_support(self.checked, e) if self.checked is not None else None
        if support is not None:
            return self.exact_stat(e, scope, support)
        draws = affine_draws(self.checked, e)
        if draws is not None:  # an affine function of normal draws: exact mean and covariance
            try:
                return exact_moment(self, e, scope, draws)
            except TooManyDraws:
                if not self.sampled:
                    raise  # the draws here are instances, not samples: nothing to average
        if e.kind == "P":
            ev = self.tensor(self.ev(e.args[0], scope)).to(self.dtype)
            return ev.mean(0, keepdim=True)
        x = self.tensor(self.ev(e.args[0], scope))
        if e.kind == "E":
            return x.mean(0, keepdim=True)
        if e.kind == "Var":
            return x.var(0, keepdim=True, unbiased=True)
        if e.kind == "Std":
            return x.var(0, keepdim=True, unbiased=True).sqrt()
        if e.kind == "Cov":
            y = self.tensor(self.ev(e.args[1], scope))
            xc, yc = x - x.mean(0, keepdim=True), y - y.mean(0, keepdim=True)
            n = max(x.shape[0] - 1, 1)
            if rank(x) == 0 and rank(y) == 0:
                return (xc * yc).sum(0, keepdim=True) / n
            xc = xc.reshape(xc.shape[0], -1)
            yc = yc.reshape(yc.shape[0], -1)
            return (xc.transpose(0, 1) @ yc).unsqueeze(0) / n
        raise LoweringError(f"unknown statistic {e.kind}")

    def exact_stat(self, e: m.Stat, scope, support: list[tuple[str, m.Expr]]) -> Value:
        """``E``, ``Var``, ``Std``, ``Cov``, ``P`` as weighted sums over every joint value of
        independent categorical indices (``i ~ categorical(ones(n)/n)``: the average over
        the n rows), per instance of the other inputs."""
        weights = []
        for _, prob in support:
            p = self.tensor(self.ev(prob, scope)).to(self.dtype)
            p = p.reshape(p.shape[0], -1)
            weights.append(p / p.sum(-1, keepdim=True))
        if math.prod(w.shape[1] for w in weights) > MAX_EXACT_SUPPORT:
            raise LoweringError(f"the joint support of {', '.join(n for n, _ in support)} has more "
                                f"than {MAX_EXACT_SUPPORT} values")
        batch = max(w.shape[0] for w in weights)
        moments: dict[str, Any] = {}

        def add(key: str, value: torch.Tensor, weight: torch.Tensor) -> None:
            w = weight.reshape((weight.shape[0],) + (1,) * (value.dim() - 1))
            moments[key] = moments.get(key, 0) + w * value

        for combo in itertools.product(*(range(w.shape[1]) for w in weights)):
            weight = torch.ones(batch, dtype=self.dtype, device=self.device)
            overrides: dict[str, Value] = {}
            for (name, _), w, k in zip(support, weights, combo):
                weight = weight * w[:, k]
                overrides[name] = torch.full((batch,), float(k + 1), dtype=self.dtype,
                                             device=self.device)
            child = self.child(overrides)
            x = self.tensor(child.ev(e.args[0], scope))
            if e.kind == "P":
                x = x.to(self.dtype)  # the event's indicator
            add("x", x, weight)
            if e.kind in ("Var", "Std"):
                add("xx", x * x, weight)
            elif e.kind == "Cov":
                y = self.tensor(child.ev(e.args[1], scope))
                add("y", y, weight)
                if rank(x) == 0 and rank(y) == 0:
                    add("xy", x * y, weight)
                else:
                    xf, yf = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
                    add("xy", xf.unsqueeze(-1) * yf.unsqueeze(-2), weight)
        mean = moments["x"]
        if e.kind in ("E", "P"):
            return mean
        if e.kind in ("Var", "Std"):
            var = (moments["xx"] - mean * mean).clamp_min(0)
            return var if e.kind == "Var" else var.sqrt()
        if e.kind == "Cov":
            my = moments["y"]
            if mean.dim() <= 1 and my.dim() <= 1:
                return moments["xy"] - mean * my
            mx, my = mean.reshape(mean.shape[0], -1), my.reshape(my.shape[0], -1)
            return moments["xy"] - mx.unsqueeze(-1) * my.unsqueeze(-2)
        raise LoweringError(f"unknown statistic {e.kind}")

    def e_Cost(self, e: m.Cost, scope) -> Value:
        raise LoweringError(f"{e.kind}[…] is measured by the timing engine")

    # ------------------------------------------------------------ conditions
    def e_Compare(self, e: m.Compare, scope) -> Value:
        vals = [self.ev(x, scope) for x in e.operands]
        result: Optional[torch.Tensor] = None
        for op, a, b in zip(e.ops, vals, vals[1:]):
            c = self.compare(op, a, b)
            result = c if result is None else (result & c)
        return result

    def compare(self, op: str, a: Value, b: Value) -> torch.Tensor:
        a, b = self.align(self.tensor(a), self.tensor(b))
        fns = {"==": torch.eq, "!=": torch.ne, "<": torch.lt, "<=": torch.le, ">": torch.gt,
               ">=": torch.ge}
        if op == "≈":
            c = torch.isclose(a, b, rtol=1e-2, atol=1e-8)
        elif op in ("==", "!=") and (a.is_floating_point() or b.is_floating_point()):
            # An equation inside a condition is true up to rounding (≈ 1e-9 relative), so a
            # point placed on it (η := 1/(σ1² + σs²)) satisfies it despite float error.
            a, b = a.to(torch.float64), b.to(torch.float64)
            c = torch.isclose(a, b, rtol=CONDITION_RTOL, atol=CONDITION_ATOL)
            c = c if op == "==" else ~c
        elif op in fns:
            c = fns[op](a, b)
        else:
            raise LoweringError(f"cannot evaluate '{op}' as a condition")
        if c.dim() > 1:
            c = c.reshape(c.shape[0], -1)
            c = c.any(-1) if op == "!=" else c.all(-1)
        return c

    def e_Logic(self, e: m.Logic, scope) -> Value:
        vals = [self.tensor(self.ev(a, scope)).bool() for a in e.args]
        if e.op == "and":
            out = vals[0]
            for v in vals[1:]:
                out = out & v
            return out
        if e.op == "or":
            out = vals[0]
            for v in vals[1:]:
                out = out | v
            return out
        if e.op == "not":
            return ~vals[0]
        if e.op == "=>":
            return (~vals[0]) | vals[1]
        if e.op == "<=>":
            return vals[0] == vals[1]
        raise LoweringError(f"unknown logic {e.op}")

    # ------------------------------------------------------------ calls
    def e_Call(self, e: m.Call, scope) -> Value:
        info = self.checked.symbols.get(e.func) if self.checked is not None else None
        if e.func in scope or e.func in self.env:
            fn = scope.get(e.func, self.env.get(e.func))
            if callable(fn):
                return fn(*[self.ev(a, scope) for a in e.args])
        if info is not None and info.role == "funcdef":
            fd: m.FuncDef = info.statement
            args = [self.ev(a, scope) for a in e.args]
            if len(args) != len(fd.params):
                raise LoweringError(f"{e.func} takes {len(fd.params)} arguments")
            return self.ev(fd.body, {p.id: v for p, v in zip(fd.params, args)})
        if info is not None and info.role == "function":
            raise LoweringError(f"function '{e.func}' has no instance")
        return fx.call(self, e, scope)


def _names(e: m.Expr):
    return [n for n in walk(e) if isinstance(n, m.Name)]

