"""Explicit lowering at fixed sizes: every tensor becomes a SymPy ``Matrix`` of entry
symbols (or of given rational values), vectors are columns, a 1×1 result is a scalar.

Used where sizes are literal (a proof for those sizes is the general proof) and as the
"holds for n ≤ k" fallback when a size is symbolic.
"""
from __future__ import annotations

from typing import Callable, Optional, Union

import sympy as sp

from derive import model as m
from derive.semantics import walk
from derive.symbolic.common import as_sympy
from derive.symbolic.lower import _ELEMENTWISE, Lowering, Unsupported, number

Value = Union[sp.Expr, sp.MatrixBase]
MAX_ENTRIES = 400


def entry_symbol(name: str, i: int, j: int) -> sp.Symbol:
    return sp.Symbol(f"{name}[{i + 1},{j + 1}]", real=True)


class Explicit:
    """Evaluate model expressions to SymPy scalars and matrices at fixed dimensions."""

    def __init__(self, low: Lowering, dims: dict, values: Optional[dict] = None):
        self.low = low
        self.dims = dims            # dim Symbol -> int
        self.values = values or {}  # name -> Matrix or scalar (overrides entry symbols)
        self.tensors: dict[str, sp.Matrix] = {}
        self.defined: dict[str, Value] = {}  # values of ``let`` definitions, evaluated once

    # ------------------------------------------------------------ names
    def size(self, d) -> int:
        if d is None:
            raise Unsupported("unknown size")
        v = as_sympy(d).subs(self.dims)
        if not v.is_Integer or v < 1:
            raise Unsupported(f"size {d} is not a positive integer here")
        return int(v)

    def tensor(self, name: str) -> sp.Matrix:
        if name in self.values:
            return self.values[name]
        if name not in self.tensors:
            self.tensors[name] = self.symbolic(name)
        return self.tensors[name]

    def shape(self, name: str) -> tuple[int, int]:
        shape = [self.size(d) for d in self.low.info(name).vtype.shape]
        if len(shape) == 1:
            shape.append(1)
        if len(shape) != 2 or shape[0] * shape[1] > MAX_ENTRIES:
            raise Unsupported("only vectors and matrices of moderate size")
        return shape[0], shape[1]

    def symbolic(self, name: str, draw=None) -> sp.Matrix:
        """The matrix of a tensor: entry symbols, or ``draw()`` values, honouring its props."""
        info = self.low.info(name)
        rows, cols = self.shape(name)
        cell: dict = {}

        def at(i: int, j: int):
            if "diagonal" in info.props and i != j:
                return sp.Integer(0)
            if "symmetric" in info.props:
                i, j = min(i, j), max(i, j)
            if (i, j) not in cell:
                cell[(i, j)] = entry_symbol(name, i, j) if draw is None else draw()
            return cell[(i, j)]
        return sp.Matrix(rows, cols, at)

    # ------------------------------------------------------------ evaluation
    def ev(self, e: m.Expr, env: Optional[dict] = None) -> Value:
        env = env or {}
        method = getattr(self, "e_" + type(e).__name__, None)
        if method is None:
            raise Unsupported(f"no explicit lowering for {type(e).__name__}")
        return _unbox(method(e, env))

    def e_Num(self, e: m.Num, env: dict) -> Value:
        return number(e)

    def e_Name(self, e: m.Name, env: dict) -> Value:
        if e.id in env:
            return env[e.id]
        if e.id in self.values:
            return self.values[e.id]
        info = self.low.info(e.id)
        if info is None:
            return self.low.scalar(e)
        if info.role == "tensor":
            return self.tensor(e.id)
        if info.role in ("dim", "sweep"):
            return sp.Integer(self.size(self.low.symbols[e.id]))
        if info.role == "define" and len(info.statement.names) == 1:
            if env:
                return self.ev(info.statement.value, env)
            if e.id not in self.defined:  # X8 = [I, A, …, A^7] used twice is built once
                self.defined[e.id] = self.ev(info.statement.value, env)
            return self.defined[e.id]
        if info.role in ("scalar", "index", "seq_index"):
            sym = self.low.symbols[e.id]
            return self.dims.get(sym, sym)
        raise Unsupported(f"'{e.id}' ({info.role})")

    def e_Unary(self, e: m.Unary, env: dict) -> Value:
        return -self.ev(e.operand, env)

    def e_Transpose(self, e: m.Transpose, env: dict) -> Value:
        v = self.ev(e.operand, env)
        return v.T if isinstance(v, sp.MatrixBase) else v

    def e_Subst(self, e: m.Subst, env: dict) -> Value:
        """``expr at (x = a)``: evaluate with the names bound to the new values."""
        new = {name: self.ev(value, env) for name, value in e.bindings}
        if any(name in env for name in new):
            raise Unsupported("substituting a bound name")
        saved, defined = dict(self.values), self.defined
        self.values.update(new)
        self.defined = {}  # definitions depend on the substituted names
        try:
            return self.ev(e.expr, env)
        finally:
            self.values, self.defined = saved, defined

    def e_BinOp(self, e: m.BinOp, env: dict) -> Value:
        a, b = self.ev(e.left, env), self.ev(e.right, env)
        ma, mb = isinstance(a, sp.MatrixBase), isinstance(b, sp.MatrixBase)
        op = e.op
        if op == "@":
            a = a if ma else sp.Matrix([[a]])   # a 1×1 tensor that was unboxed
            b = b if mb else sp.Matrix([[b]])
            if a.shape[1] != b.shape[0]:
                raise Unsupported("'@' shapes differ at this size")
            return a * b
        if op == "·":
            if ma and mb:
                return sum((x * y for x, y in zip(a, b)), sp.Integer(0))
            return a * b
        if op in ("+", "-"):
            if ma != mb:  # a scalar broadcasts over every entry
                a = a if ma else sp.ones(*b.shape) * a
                b = b if mb else sp.ones(*a.shape) * b
            return a + b if op == "+" else a - b
        if op in ("*", "⊙"):
            if ma and mb:
                return a.multiply_elementwise(b)
            return a * b
        if op == "/":
            if ma and mb:
                return a.multiply_elementwise(b.applyfunc(lambda x: 1 / x))
            if mb:
                return b.applyfunc(lambda x: a / x)
            return a / b
        if op == ".^":
            if ma:
                return a.applyfunc(lambda x: x ** b) if not mb else \
                    sp.Matrix(a.shape[0], a.shape[1], lambda i, j: a[i, j] ** b[i, j])
            return a ** b
        if op == "^":
            if ma:
                if not (b.is_Integer and b >= 0):
                    raise Unsupported("matrix power with a symbolic exponent")
                return a ** int(b)
            return a ** b
        raise Unsupported(f"operator {op}")

    def e_Index(self, e: m.Index, env: dict) -> Value:
        base = self.ev(e.base, env)
        if not isinstance(base, sp.MatrixBase):
            raise Unsupported("indexing a scalar")
        idx = []
        for i in e.indices:
            if isinstance(i, m.Slice):
                idx.append(slice(None))
            else:
                v = self.ev(i, env)
                if not v.is_Integer:
                    raise Unsupported("symbolic index at fixed size")
                idx.append(int(v) - 1)
        if len(idx) == 1:
            if base.shape[1] == 1:
                return base[idx[0], 0] if isinstance(idx[0], int) else base
            out = base[idx[0], :]
        else:
            out = base[idx[0], idx[1]]
        if isinstance(out, sp.MatrixBase) and sum(isinstance(i, slice) for i in idx) == 1:
            out = out.reshape(len(out), 1)  # one sliced axis: a vector, i.e. a column
        return out

    def e_Block(self, e: m.Block, env: dict) -> Value:
        rows = [[self.ev(x, env) for x in row] for row in e.rows]
        if all(not isinstance(x, sp.MatrixBase) for row in rows for x in row):
            if len(rows) == 1:
                return sp.Matrix(rows[0])
            return sp.Matrix(rows)
        blocks = [[x if isinstance(x, sp.MatrixBase) else sp.Matrix([[x]]) for x in row]
                  for row in rows]
        for row in blocks:
            if len({b.shape[0] for b in row}) != 1:
                raise ValueError("blocks of one row differ in height")
        stacked = [sp.Matrix.hstack(*row) for row in blocks]
        if len({r.shape[1] for r in stacked}) != 1:
            raise ValueError("block rows differ in width")
        return sp.Matrix.vstack(*stacked)  # explicit at once: BlockMatrix.as_explicit is slow

    def e_Call(self, e: m.Call, env: dict) -> Value:
        f = e.func
        info = self.low.info(f)
        if info is not None and info.role == "funcdef":
            inner = dict(env)
            for p, a in zip(info.statement.params, e.args):
                inner[p.id] = self.ev(a, env)
            return self.ev(info.statement.body, inner)
        if f == "grad":
            return self._grad(e, env, self._diff)
        if f == "jacobian":
            return self._grad(e, env, self._jacobian)
        if f in ("sum", "prod") and any(isinstance(v, m.Range) for _, v in e.kwargs):
            return self._binder(e, env)
        if f == "norm" and len(e.args) == 2 and isinstance(e.args[1], m.Name) \
                and e.args[1].id in ("fro", "inf") and self.low.info(e.args[1].id) is None:
            x = self.ev(e.args[0], env)
            cells = list(x) if isinstance(x, sp.MatrixBase) else [x]
            if e.args[1].id == "inf":
                return sp.Max(*[sp.Abs(c) for c in cells])
            return sp.sqrt(sum((c ** 2 for c in cells), sp.Integer(0)))
        args = [self.ev(a, env) for a in e.args]
        x = args[0] if args else None
        mx = isinstance(x, sp.MatrixBase)
        if args and not mx and not e.kwargs and f in ("sum", "mean", "trace", "det", "prod"):
            return x  # a 1×1 tensor is a scalar
        if f == "inv" and not mx and x is not None:
            return 1 / x
        if f in _ELEMENTWISE and len(args) == 1:
            return x.applyfunc(_ELEMENTWISE[f]) if mx else _ELEMENTWISE[f](x)
        if f in ("I", "zeros", "ones") and not all(getattr(a, "is_Integer", False) for a in args):
            raise Unsupported(f"{f} of a symbolic size")
        if f == "I":
            return sp.eye(int(x))
        if f in ("zeros", "ones"):
            dims = [int(a) for a in args] + ([1] if len(args) == 1 else [])
            return (sp.zeros if f == "zeros" else sp.ones)(*dims)
        if f == "inv" and mx:
            return x.inv()
        if f == "det" and mx:
            return x.det()
        if f == "trace" and mx:
            return x.trace()
        if f == "sum" and mx and not e.kwargs:
            return sum(x, sp.Integer(0))
        if f == "mean" and mx and not e.kwargs:
            return sum(x, sp.Integer(0)) / len(x)
        if f == "dot" and len(args) == 2:
            return sum((p * q for p, q in zip(args[0], args[1])), sp.Integer(0))
        if f == "outer" and len(args) == 2:
            return args[0] * args[1].T
        if f == "diag" and mx:
            if x.shape[1] == 1:
                return sp.diag(*list(x))
            return sp.Matrix([x[i, i] for i in range(min(x.shape))])
        if f == "norm" and mx and len(args) == 1 and x.shape[1] == 1:
            return sp.sqrt(sum((v ** 2 for v in x), sp.Integer(0)))
        if f in ("max", "min") and len(args) >= 2 and not any(isinstance(a, sp.MatrixBase)
                                                              for a in args):
            return (sp.Max if f == "max" else sp.Min)(*args)
        if f == "flip" and len(args) == 1:
            return self._flip(e, x)
        if f == "conv" and len(args) == 2:
            return self._conv(e, args, env)
        if f == "convolve" and len(args) == 2:   # the kernel reversed: a 1-D kernel is a column
            w = args[1]
            return self._conv(e, [x, self._flip(e, w) if isinstance(w, sp.MatrixBase) else w], env)
        raise Unsupported(f"function {f} at fixed sizes")

    def _binder(self, e: m.Call, env: dict) -> Value:
        binders = [(k, v) for k, v in e.kwargs if isinstance(v, m.Range)]
        total = None

        def rec(level: int, inner: dict):
            nonlocal total
            if level == len(binders):
                v = self.ev(e.args[0], inner)
                if total is None:
                    total = v
                elif e.func == "sum":
                    total = total + v
                elif isinstance(v, sp.MatrixBase) or isinstance(total, sp.MatrixBase):
                    total = total.multiply_elementwise(v)
                else:
                    total = total * v
                return
            key, rng = binders[level]
            lo, hi = self.ev(rng.lo, inner), self.ev(rng.hi, inner)
            if not (lo.is_Integer and hi.is_Integer):
                raise Unsupported("symbolic range at fixed sizes")
            for i in range(int(lo), int(hi) + 1):
                rec(level + 1, {**inner, key: sp.Integer(i)})
        rec(0, dict(env))
        if total is None:
            return sp.Integer(0 if e.func == "sum" else 1)
        return total

    def _grad(self, e: m.Call, env: dict, diff: Callable[[Value, Value], Value]) -> Value:
        """``diff(f, x)`` (the gradient or the Jacobian) differentiated symbolically, then
        instantiated at x's given value."""
        target = e.args[1]
        if not isinstance(target, m.Name):
            raise Unsupported("gradient with respect to an expression")
        given = self.values.pop(target.id, None)  # differentiate symbolically, then instantiate
        defined = self.defined
        if given is not None:
            self.defined = {}  # definitions evaluated with the given value do not apply
        try:
            f = self.ev(e.args[0], env)
            x = self.ev(target, env)
        finally:
            if given is not None:
                self.values[target.id] = given
                self.defined = defined
        out = diff(f, x)
        if given is None:
            return out
        if isinstance(given, sp.MatrixBase) and not isinstance(x, sp.MatrixBase):
            given = given[0, 0]
        subs = dict(zip(x, given)) if isinstance(x, sp.MatrixBase) else {x: given}
        return out.subs(subs)

    def _diff(self, f: Value, x: Value) -> Value:
        if isinstance(f, sp.MatrixBase):
            raise Unsupported("gradient of a tensor")
        if isinstance(x, sp.MatrixBase):
            if not all(isinstance(v, sp.Symbol) for v in x):
                raise Unsupported("gradient with respect to a non-variable")
            syms = list(dict.fromkeys(x))
            if f.is_polynomial(*syms):  # one expansion, then cheap partial derivatives
                poly = sp.Poly(f, *syms)
                return x.applyfunc(lambda v: poly.diff(v).as_expr())
            return x.applyfunc(lambda v: sp.diff(f, v))
        if not isinstance(x, sp.Symbol):
            raise Unsupported("gradient with respect to a non-variable")
        return sp.diff(f, x)

    def _jacobian(self, f: Value, x: Value) -> Value:
        """Entry [i, j] = ∂fᵢ/∂xⱼ; a scalar f is one row, a scalar x one column."""
        fs = list(f) if isinstance(f, sp.MatrixBase) else [f]
        xs = list(x) if isinstance(x, sp.MatrixBase) else [x]
        if isinstance(f, sp.MatrixBase) and f.shape[1] != 1 or \
                isinstance(x, sp.MatrixBase) and x.shape[1] != 1:
            raise Unsupported("Jacobian of a matrix")
        if not all(isinstance(v, sp.Symbol) for v in xs):
            raise Unsupported("Jacobian with respect to a non-variable")
        return sp.Matrix(len(fs), len(xs), lambda i, j: sp.diff(fs[i], xs[j]))

    def _flip(self, e: m.Call, x: Value) -> Value:
        """Rows and columns reversed (a column vector: its entries), or axis = k only."""
        if not isinstance(x, sp.MatrixBase):
            return x
        axis = e.kwarg("axis")
        if axis is not None and not (isinstance(axis, m.Num) and axis.value in (1, 2)):
            raise Unsupported("flip along a computed axis")
        rows = axis is None or axis.value == 1
        cols = axis is None or axis.value == 2
        r, c = x.shape
        return sp.Matrix(r, c, lambda i, j: x[r - 1 - i if rows else i, c - 1 - j if cols else j])

    def _conv(self, e: m.Call, args: list, env: dict) -> Value:
        if e.kwarg("groups") is not None or \
                len(self.low.vtype(e.args[0]).shape) != len(self.low.vtype(e.args[1]).shape):
            raise Unsupported("convolution with channels at fixed sizes")
        x, w = (a if isinstance(a, sp.MatrixBase) else sp.Matrix([[a]]) for a in args)
        stride = e.kwarg("stride")
        pad = e.kwarg("padding")
        s = self.ev(stride, env) if stride is not None else sp.Integer(1)
        p = self.ev(pad, env) if pad is not None else sp.Integer(0)
        if not (getattr(s, "is_Integer", False) and getattr(p, "is_Integer", False)) or s < 1 or p < 0:
            raise Unsupported("conv stride and padding must be known integers here")
        s, p = int(s), int(p)
        one_d = self.low.vtype(e.args[0]).shape and len(self.low.vtype(e.args[0]).shape) == 1
        if one_d:
            x = x.T
            w = w.T
        if p:
            big = sp.zeros(x.shape[0] + 2 * p, x.shape[1] + 2 * p) if not one_d else \
                sp.zeros(1, x.shape[1] + 2 * p)
            big[(p if not one_d else 0):(p if not one_d else 0) + x.shape[0], p:p + x.shape[1]] = x
            x = big
        oh = (x.shape[0] - w.shape[0]) // s + 1
        ow = (x.shape[1] - w.shape[1]) // s + 1
        if oh < 1 or ow < 1:
            raise Unsupported("kernel larger than the input")
        out = sp.Matrix(oh, ow, lambda i, j: sum(
            (x[i * s + a, j * s + b] * w[a, b] for a in range(w.shape[0]) for b in range(w.shape[1])),
            sp.Integer(0)))
        return out.T if one_d else out


FUNCTIONS = frozenset(_ELEMENTWISE) | {
    "grad", "sum", "prod", "mean", "trace", "det", "inv", "I", "zeros", "ones", "dot", "outer",
    "diag", "norm", "max", "min", "conv", "convolve", "flip", "jacobian"}


def unsupported_function(low: Lowering, e: m.Expr) -> Optional[str]:
    """The first function that :class:`Explicit` cannot evaluate in ``e`` or in the
    definitions it uses, else None: a cheap check before any matrix is built."""
    seen: set = set()
    todo = [e]
    while todo:
        for node in walk(todo.pop()):
            if isinstance(node, m.Call) and node.func not in FUNCTIONS:
                info = low.info(node.func)
                if info is None or info.role != "funcdef":
                    return node.func
                if node.func not in seen:
                    seen.add(node.func)
                    todo.append(info.statement.body)
            elif isinstance(node, m.Name) and node.id not in seen:
                seen.add(node.id)
                info = low.info(node.id)
                if info is not None and info.role in ("define", "funcdef") and \
                        info.statement is not None:
                    body = getattr(info.statement, "value", None) or \
                        getattr(info.statement, "body", None)
                    if body is not None:
                        todo.append(body)
    return None


def _unbox(v: Value) -> Value:
    """A 1×1 result is a scalar."""
    if isinstance(v, sp.MatrixBase) and v.shape == (1, 1):
        return v[0, 0]
    return v
