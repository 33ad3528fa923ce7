"""Lower typed claim nodes to SymPy objects — from the model, never from text.

Scalars become SymPy expressions whose symbols carry the assumptions of their
declarations (real, positive, nonzero, integer, dims ≥ 1).  Entries of tensors are
lowered *indexed*: ``entry(x, (i,))`` is ``x[i]`` (an ``Indexed``), so sums, means,
inner products and gradients work for symbolic sizes.  Anything this module cannot
express raises :class:`Unsupported`, and the strategy that asked passes.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Optional

import sympy as sp

from derive import model as m
from derive.analysis import type_of
from derive.semantics import SCALAR, CheckedClaim, SymbolInfo, VType, dim_symbol, walk


class Unsupported(Exception):
    """The node has no SymPy lowering here; the asking strategy passes."""


_COUNTER = itertools.count()

_ELEMENTWISE = {
    "abs": sp.Abs, "sqrt": sp.sqrt, "exp": sp.exp, "log": sp.log, "sin": sp.sin,
    "cos": sp.cos, "tanh": sp.tanh, "sign": sp.sign, "floor": sp.floor, "ceil": sp.ceiling,
    "sigmoid": lambda x: 1 / (1 + sp.exp(-x)), "relu": lambda x: sp.Max(x, 0),
    "re": sp.re, "im": sp.im, "conj": sp.conjugate,
    "softplus": lambda x: sp.log(1 + sp.exp(x)), "logsigmoid": lambda x: -sp.log(1 + sp.exp(-x)),
    "gelu": lambda x: x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
}


def fresh(prefix: str = "i") -> sp.Symbol:
    """A fresh integer summation index (never clashes with a claim's names)."""
    return sp.Symbol(f"_{prefix}{next(_COUNTER)}", integer=True)


def size_expr(n: object) -> sp.Expr:
    """A checked shape's dimension (an int or a SymPy expression) as SymPy, never parsed."""
    return sp.Integer(n) if isinstance(n, int) and not isinstance(n, bool) else n


def number(n: m.Num) -> sp.Expr:
    value = sp.Rational(n.value.numerator, n.value.denominator)
    return value * sp.I if n.imaginary else value


@dataclass
class Lowering:
    """The SymPy view of one checked claim: symbols with assumptions, conditions, lowering."""

    checked: CheckedClaim
    symbols: dict[str, sp.Symbol] = field(default_factory=dict)
    conditions: list = field(default_factory=list)      # scalar relationals from bounds/assume
    unlowered: list = field(default_factory=list)  # assumes not lowered (kept, not dropped)
    dims: dict[str, sp.Symbol] = field(default_factory=dict)
    stat_hook: Optional[Callable] = None  # set by the moments strategy: Stat, Cond -> value
    seq_hook: Optional[Callable] = None   # set by the recurrence strategy: w[t] -> value
    opaque_hook: Optional[Callable] = None  # set by proof-only strategies: max(x) -> a symbol

    def __post_init__(self) -> None:
        for name, info in self.checked.symbols.items():
            sym = self._make_symbol(info)
            if sym is not None:
                self.symbols[name] = sym
                if info.role in ("dim", "sweep"):
                    self.dims[name] = sym
        for st in self.checked.claim.statements:
            if isinstance(st, m.Decl) and isinstance(st.type, m.ScalarType):
                for name in st.names:
                    self._bound_conditions(name.id, st.type)
            elif isinstance(st, m.Decl) and isinstance(st.type, m.IndexType):
                for name in st.names:   # i : 1..h is lo ≤ i ≤ h
                    sym = self.symbols.get(name.id)
                    try:
                        lo, hi = (self.scalar(b) for b in (st.type.range.lo, st.type.range.hi))
                    except Unsupported:
                        continue
                    if sym is not None:
                        self.conditions += [sp.Ge(sym, lo), sp.Le(sym, hi)]
            elif isinstance(st, m.Assume):
                try:
                    self.conditions.append(self.condition(st.condition))
                except Unsupported:
                    self.unlowered.append(st.condition)

    # ------------------------------------------------------------ symbols
    def _make_symbol(self, info: SymbolInfo) -> Optional[sp.Symbol]:
        if info.role in ("dim", "sweep"):
            return dim_symbol(info.name)
        if info.role == "index":
            return sp.Symbol(info.name, integer=True, positive=True)
        if info.role == "seq_index":
            return sp.Symbol(info.name, integer=True, nonnegative=True)
        if info.role != "scalar":
            return None
        if info.domain == "complex":
            return sp.Symbol(info.name)
        kw: dict = {"integer": True} if info.domain == "integer" else {"real": True}
        spec = getattr(info.statement, "type", None)
        for op, bound in getattr(spec, "bounds", ()):
            if isinstance(bound, m.Num) and bound.value == 0 and not bound.imaginary:
                key = {">": "positive", ">=": "nonnegative", "!=": "nonzero", "<": "negative",
                       "<=": "nonpositive"}.get(op)
                if key:
                    kw[key] = True
        interval = getattr(spec, "interval", None)
        if interval is not None and isinstance(interval.lo, m.Num):
            if interval.lo.value > 0 or (interval.lo.value == 0 and not interval.lo_closed):
                kw["positive"] = True
            elif interval.lo.value == 0:
                kw["nonnegative"] = True
        if "positive" in info.props:
            kw["positive"] = True
        if "nonzero" in info.props:
            kw["nonzero"] = True
        return sp.Symbol(info.name, **kw)

    def _bound_conditions(self, name: str, spec: m.ScalarType) -> None:
        sym = self.symbols.get(name)
        if sym is None:
            return
        ops = {">": sp.Gt, ">=": sp.Ge, "<": sp.Lt, "<=": sp.Le, "!=": sp.Ne}
        try:
            for op, bound in spec.bounds:
                if op in ops:
                    self.conditions.append(ops[op](sym, self.scalar(bound)))
            if spec.interval is not None:
                lo, hi = self.scalar(spec.interval.lo), self.scalar(spec.interval.hi)
                self.conditions.append(sp.Ge(sym, lo) if spec.interval.lo_closed else sp.Gt(sym, lo))
                self.conditions.append(sp.Le(sym, hi) if spec.interval.hi_closed else sp.Lt(sym, hi))
        except Unsupported:
            pass

    def domain_set(self, sym: sp.Symbol) -> sp.Set:
        """The declared domain of a scalar symbol as a real set (its bounds and interval)."""
        dom: sp.Set = sp.S.Reals
        if sym.is_integer:
            dom = sp.S.Integers
        for cond in self.conditions:
            if isinstance(cond, sp.Rel) and cond.free_symbols == {sym}:
                try:
                    dom = dom.intersect(cond.as_set())
                except (NotImplementedError, TypeError):
                    continue
        if sym.is_positive:
            dom = dom.intersect(sp.Interval.open(0, sp.oo))
        elif sym.is_nonnegative:
            dom = dom.intersect(sp.Interval(0, sp.oo))
        if sym.is_nonzero and not sym.is_positive:
            dom = dom - sp.FiniteSet(0)
        return dom

    # ------------------------------------------------------------ types
    def vtype(self, e: m.Expr, env: Optional[dict] = None) -> VType:
        return type_of(self.checked, e, tuple(env or ()))

    def is_scalar(self, e: m.Expr, env: Optional[dict] = None) -> bool:
        t = self.vtype(e, env)
        if t.kind == "scalar" or t.is_scalar:
            return True
        if t.kind == "any" and any(isinstance(n, m.Call) and getattr(
                self.info(n.func), "role", None) == "funcdef" for n in walk(e)):
            # a defined function is untyped: p(1) with p(u) = (3u − u³)/2, and ω(i)·c, are
            # scalars when they lower to one (tensor arithmetic or a tensor name raises)
            try:
                v = self.scalar(e, env)
                return isinstance(v, sp.Expr) and not isinstance(v, (sp.MatrixBase, sp.MatrixExpr))
            except Unsupported:
                return False
        return False

    def is_tensor(self, e: m.Expr, env: Optional[dict] = None) -> bool:
        t = self.vtype(e, env)
        return t.kind == "tensor" and not t.is_scalar

    def info(self, name: str) -> Optional[SymbolInfo]:
        return self.checked.symbols.get(name)

    # ------------------------------------------------------------ scalars
    def scalar(self, e: m.Expr, env: Optional[dict] = None) -> sp.Expr:
        """A scalar expression as SymPy (tensor parts lowered entrywise with sums)."""
        env = env or {}
        if isinstance(e, m.Num):
            return number(e)
        if isinstance(e, m.Name):
            return self._name(e, env)
        if isinstance(e, m.Unary):
            return -self.scalar(e.operand, env)
        if isinstance(e, m.BinOp):
            return self._binop(e, env)
        if isinstance(e, m.Call):
            return self._call(e, env)
        if isinstance(e, m.Index):
            if isinstance(e.base, m.Name) and self.seq_hook is not None and \
                    getattr(self.info(e.base.id), "role", None) == "sequence":
                return self.seq_hook(e, env)
            return self._entry_index(e, (), env)
        if isinstance(e, (m.Stat, m.Cond)) and self.stat_hook is not None:
            return self.stat_hook(e, env)
        if isinstance(e, m.Subst):
            inner = dict(env)
            for name, value in e.bindings:
                inner[name] = self.scalar(value, env)
            try:
                return self.scalar(e.expr, inner)
            except Unsupported:
                # grad(f(x), x) at (x = 1): differentiate in the declared x, then put 1 in
                free = {n: self.symbols.get(n) for n, _ in e.bindings}
                if any(n in env or not isinstance(s, sp.Symbol) for n, s in free.items()):
                    raise
                body = self.scalar(e.expr, env)
                return body.xreplace({free[n]: inner[n] for n, _ in e.bindings})
        if isinstance(e, m.Transpose) and self.is_scalar(e.operand, env):
            return self.scalar(e.operand, env)
        raise Unsupported(f"no scalar lowering for {type(e).__name__}")

    def _name(self, e: m.Name, env: dict) -> sp.Expr:
        if e.id in env:
            value = env[e.id]
            if isinstance(value, sp.Basic):
                return value
            raise Unsupported(f"'{e.id}' is bound to a tensor")
        if e.id in self.symbols:
            return self.symbols[e.id]
        info = self.info(e.id)
        if info is not None and info.role == "define" and isinstance(info.statement, m.Define) \
                and len(info.statement.names) == 1:
            if info.vtype.kind == "scalar" or info.vtype.is_scalar:
                return self.scalar(info.statement.value, env)
        if info is None:
            const = {"pi": sp.pi, "euler": sp.E, "euler_gamma": sp.EulerGamma,
                     "inf": sp.oo}.get(e.id)
            if const is not None:
                return const
        if info is not None and info.role == "tensor" and info.vtype.is_scalar:
            return self.entry(e, (sp.Integer(1), sp.Integer(1)), env)
        raise Unsupported(f"'{e.id}' is not a scalar")

    def _binop(self, e: m.BinOp, env: dict) -> sp.Expr:
        op = e.op
        if op in ("@", "·"):
            return self._contract(e, env)
        if self.is_tensor(e.left, env) or self.is_tensor(e.right, env):
            raise Unsupported("tensor arithmetic in a scalar position")
        a, b = self.scalar(e.left, env), self.scalar(e.right, env)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op in ("*", "⊙"):
            return a * b
        if op == "/":
            return a / b
        if op in ("^", ".^"):
            return a ** b
        raise Unsupported(f"operator {op}")

    def _contract(self, e: m.BinOp, env: dict) -> sp.Expr:
        """``x · y`` and 1×1 products ``vᵀ @ M @ u`` as sums of entries."""
        if e.op == "·":
            ta = self.vtype(e.left, env)
            if ta.kind != "tensor":
                return self.scalar(e.left, env) * self.scalar(e.right, env)
            idx = tuple(fresh() for _ in ta.shape)
            body = self.entry(e.left, idx, env) * self.entry(e.right, idx, env)
            return _sum(body, idx, ta.shape)
        t = self.vtype(e, env)
        if not (t.kind == "scalar" or t.is_scalar):
            raise Unsupported("a matrix product is not a scalar")
        return self._entry_binop(e, (sp.Integer(1), sp.Integer(1)), VType("scalar"), env)

    def _call(self, e: m.Call, env: dict) -> sp.Expr:
        f = e.func
        info = self.info(f)
        if info is not None and info.role == "funcdef":
            params = info.statement.params
            inner = dict(env)
            for p, a in zip(params, e.args):
                inner[p.id] = self.scalar(a, env)
            return self.scalar(info.statement.body, inner)
        if f in ("logpdf", "pdf", "KL"):
            from derive.symbolic import densities   # the declared families' closed forms
            try:
                return densities.lower(self, e, env)
            except densities.NoClosedForm as exc:
                raise Unsupported(str(exc)) from exc
        if f in _ELEMENTWISE and len(e.args) == 1 and self.is_scalar(e.args[0], env):
            return _ELEMENTWISE[f](self.scalar(e.args[0], env))
        if f in ("max", "min") and len(e.args) == 1 and self.opaque_hook is not None:
            return self.opaque_hook(e)  # an unknown real: a proof for all of them covers it
        if f in ("max", "min") and len(e.args) >= 2:
            args = [self.scalar(a, env) for a in e.args]
            return sp.Max(*args) if f == "max" else sp.Min(*args)
        if f == "binomial" and len(e.args) == 2:
            return sp.binomial(self.scalar(e.args[0], env), self.scalar(e.args[1], env))
        if f == "factorial" and len(e.args) == 1:
            return sp.factorial(self.scalar(e.args[0], env))
        if f in ("sum", "prod", "mean") and len(e.args) == 1:
            return self._reduce(e, env)
        if f == "var" and len(e.args) == 1 and not e.kwargs:
            mean = self._reduce(m.Call("mean", e.args), env)
            return self._reduce(m.Call("mean", (m.BinOp("⊙", e.args[0], e.args[0]),)), env) - mean ** 2
        if f == "where" and len(e.args) == 3:
            return sp.Piecewise((self.scalar(e.args[1], env), self.condition(e.args[0], env)),
                                (self.scalar(e.args[2], env), True))
        if f == "numel" and len(e.args) == 1 and not e.kwargs:
            t = self.vtype(e.args[0], env)  # the product of the checked shape
            if t.kind == "scalar" or t.is_scalar:
                return sp.Integer(1)
            if t.kind == "tensor" and all(d is not None for d in t.shape):
                size = sp.Mul(*[sp.Integer(d) if isinstance(d, int) else d for d in t.shape])
                rename = {}  # the checker's symbols by name → this lowering's (same names)
                for sym in size.free_symbols:
                    mine = self.symbols.get(sym.name) or self.dims.get(sym.name)
                    if mine is None:
                        raise Unsupported(f"numel: unknown size {sym.name}")
                    rename[sym] = mine
                return size.xreplace(rename)
        if f == "logsumexp" and len(e.args) == 1 and not e.kwargs:
            t = self.vtype(e.args[0], env)
            if t.kind == "tensor" and all(d is not None for d in t.shape):
                idx = tuple(fresh() for _ in t.shape)  # log Σ exp(xᵢ), over every entry
                return sp.log(_sum(sp.exp(self.entry(e.args[0], idx, env)), idx, t.shape))
        if f == "grad" and len(e.args) == 2 and self.is_scalar(e.args[1], env):
            var = self.scalar(e.args[1], env)
            if not isinstance(var, (sp.Symbol, sp.Indexed)):
                raise Unsupported("gradient with respect to an expression")
            return sp.diff(self.scalar(e.args[0], env), var)
        if f == "dot" and len(e.args) == 2:
            return self._contract(m.BinOp("·", e.args[0], e.args[1]), env)
        if f == "trace" and len(e.args) == 1:
            t = self.vtype(e.args[0], env)
            if t.kind == "tensor" and len(t.shape) == 2:
                i = fresh()
                return _sum(self.entry(e.args[0], (i, i), env), (i,), t.shape[:1])
        if f == "norm" and len(e.args) == 2 and isinstance(e.args[1], m.Name) \
                and e.args[1].id == "fro" and self.info("fro") is None:
            t = self.vtype(e.args[0], env)
            if t.kind == "tensor" and all(d is not None for d in t.shape):
                idx = tuple(fresh() for _ in t.shape)
                return sp.sqrt(_sum(self.entry(e.args[0], idx, env) ** 2, idx, t.shape))
        if f == "norm" and len(e.args) == 2 and isinstance(e.args[1], m.Num) and \
                e.args[1].value == 1 and self.vtype(e.args[0], env).kind == "tensor" and \
                len(self.vtype(e.args[0], env).shape) == 1:
            i = fresh()  # the 1-norm of a vector: Σ |xᵢ|
            return _sum(sp.Abs(self.entry(e.args[0], (i,), env)), (i,),
                        self.vtype(e.args[0], env).shape)
        if f == "norm" and (len(e.args) == 1 or len(e.args) == 2 and isinstance(e.args[1], m.Num)
                            and e.args[1].value == 2 and not e.args[1].imaginary):
            t = self.vtype(e.args[0], env)  # norm(x) and norm(x, 2) of a vector: √Σ xᵢ²
            if t.kind == "tensor" and len(t.shape) == 1:
                i = fresh()
                return sp.sqrt(_sum(self.entry(e.args[0], (i,), env) ** 2, (i,), t.shape))
        from derive.symbolic.dl_entries import scalar_call  # cross_entropy
        out = scalar_call(self, e, env, fresh)
        if out is not None:
            return out
        raise Unsupported(f"function {f}")

    def _reduce(self, e: m.Call, env: dict) -> sp.Expr:
        binders = [(k, v) for k, v in e.kwargs if isinstance(v, m.Range)]
        if binders:
            inner = dict(env)
            limits = []
            for key, rng in binders:
                i = fresh(key)
                inner[key] = i
                limits.append((i, self.scalar(rng.lo, env), self.scalar(rng.hi, env)))
            body = self.scalar(e.args[0], inner)
            return self.binder(e.func, body, limits)
        if e.kwargs:
            raise Unsupported("reduction along an axis")
        t = self.vtype(e.args[0], env)
        if t.kind != "tensor" or any(d is None for d in t.shape):
            raise Unsupported("reduction of a non-tensor")
        idx = tuple(fresh() for _ in t.shape)
        body = self.entry(e.args[0], idx, env)
        if e.func == "prod":
            out = body
            for i, d in zip(idx, t.shape):
                out = sp.Product(out, (i, 1, d))
            return out
        total = _sum(body, idx, t.shape)
        return total / sp.Mul(*t.shape) if e.func == "mean" else total

    def binder(self, func: str, body: sp.Expr, limits: list) -> sp.Expr:
        """Σ or Π over inclusive ranges with the mathematical empty-range convention.

        SymPy follows Karr: Σ_{i=a}^{b} = −Σ_{i=b+1}^{a−1} when b < a − 1 (and Π its
        reciprocal), where mathematics says 0 (and 1).  A range not known to be
        nonempty-or-just-empty (b − a + 1 ≥ 0 from the signs and the declared conditions)
        becomes a piecewise: the Karr value where b ≥ a − 1, else 0 (or 1).
        """
        out = body
        for i, lo, hi in reversed(limits):
            if func == "sum":   # Σ C(n, l)·c·rˡ by the binomial theorem (empty ranges too)
                from derive.symbolic.binomial_sums import binomial_sum
                closed = binomial_sum(out, i, lo, hi)
                if closed is not None:
                    out = closed
                    continue
            inner = (sp.Sum if func == "sum" else sp.Product)(out, (i, lo, hi))
            count = hi - lo + 1
            if self.nonnegative(count):
                out = inner
            else:
                out = sp.Piecewise((inner, sp.Ge(count, 0)),
                                   (sp.Integer(0 if func == "sum" else 1), True))
        return out

    def nonnegative(self, e: sp.Expr) -> bool:
        """e ≥ 0 from the symbols' signs, or as (a − b) + (something ≥ 0) for a declared a ≥ b."""
        if e.is_nonnegative:
            return True
        for c in self.conditions:
            if isinstance(c, (sp.GreaterThan, sp.StrictGreaterThan, sp.LessThan, sp.StrictLessThan)):
                gap = c.gts - c.lts
                if e.free_symbols and (sp.expand(e - gap)).is_nonnegative:
                    return True
        return False

    # ------------------------------------------------------------ entries
    def entry(self, e: m.Expr, idx: tuple, env: Optional[dict] = None) -> sp.Expr:
        """Entry ``idx`` (1-based SymPy integers or symbols) of a tensor expression."""
        env = env or {}
        if isinstance(e, m.Index):
            return self._entry_index(e, idx, env)
        t = self.vtype(e, env)
        if t.kind == "scalar":
            return self.scalar(e, env)
        if t.kind != "tensor":
            raise Unsupported("an expression of unknown shape")
        if len(idx) != len(t.shape) and not (len(t.shape) == 1 and len(idx) == 2):
            raise Unsupported("index rank mismatch")
        if isinstance(e, m.Name):
            if e.id in env:
                raise Unsupported("bound tensor")
            info = self.info(e.id)
            if info is None:
                raise Unsupported(f"unknown {e.id}")
            if info.role == "define" and len(info.statement.names) == 1:
                return self.entry(info.statement.value, idx, env)
            if info.role != "tensor":
                raise Unsupported(f"{e.id} is not a tensor")
            base = sp.IndexedBase(e.id, shape=info.vtype.shape)
            return base[_fit(idx, info.vtype.shape)]
        if isinstance(e, m.Unary):
            return -self.entry(e.operand, idx, env)
        if isinstance(e, m.Transpose):
            inner = self.vtype(e.operand, env)
            if len(inner.shape) == 1:
                return self.entry(e.operand, (idx[-1],), env)
            return self.entry(e.operand, (idx[1], idx[0]), env)
        if isinstance(e, m.BinOp):
            return self._entry_binop(e, idx, t, env)
        if isinstance(e, m.Index):
            return self._entry_index(e, idx, env)
        if isinstance(e, m.Call):
            info = self.info(e.func)
            if info is not None and info.role == "funcdef" and not e.kwargs and \
                    len(e.args) == len(info.statement.params):
                if all(self.is_scalar(a, env) for a in e.args):
                    inner = dict(env)  # Ah(i) with scalar arguments: the body's entry, i bound
                    for p, a in zip(info.statement.params, e.args):
                        inner[p.id] = self.scalar(a, env)
                    return self.entry(info.statement.body, idx, inner)
                return self.entry(inline(info.statement.body, info.statement.params, e.args),
                                  idx, env)  # φ(Q[i, :]): the body with the argument in place
            if e.func in _ELEMENTWISE and len(e.args) == 1:
                return _ELEMENTWISE[e.func](self.entry(e.args[0], idx, env))
            if e.func == "kron" and len(e.args) == 2 and len(idx) == len(t.shape):
                # (X ⊗ Y)[(a − 1)Q + b, …] = X[a, …]·Y[b, …] with Q the size of Y's axis:
                # a = ⌈r/Q⌉, b = r − (a − 1)Q (derive.symbolic.kron_split splits r later)
                inner = self.vtype(e.args[1], env).shape
                outer_idx = tuple(sp.ceiling(r / q) for r, q in zip(idx, inner))
                inner_idx = tuple(r - (a - 1) * q for r, a, q in zip(idx, outer_idx, inner))
                return self.entry(e.args[0], outer_idx, env) * self.entry(e.args[1], inner_idx, env)
            if e.func == "softmax" and len(e.args) == 1 and not e.kwargs and len(t.shape) == 1:
                k = fresh("k")  # exp(xᵢ) / Σₖ exp(xₖ)
                return sp.exp(self.entry(e.args[0], idx, env)) / \
                    _sum(sp.exp(self.entry(e.args[0], (k,), env)), (k,), t.shape)
            if e.func == "softmax" and len(e.args) == 1 and not e.kwargs and len(t.shape) == 2 \
                    and len(idx) == 2:
                k = fresh("k")  # over the last axis: exp(Mᵢⱼ) / Σₖ exp(Mᵢₖ)
                return sp.exp(self.entry(e.args[0], idx, env)) / \
                    _sum(sp.exp(self.entry(e.args[0], (idx[0], k), env)), (k,), t.shape[1:])
            if e.func == "grad" and len(e.args) == 2:
                var = self.entry(e.args[1], idx, env)
                if not isinstance(var, sp.Indexed):
                    raise Unsupported("gradient with respect to an expression")
                f = self.scalar(e.args[0], env)
                if squared_nested_sum(f):
                    raise Unsupported("gradient of a power of nested sums (slow in SymPy)")
                return sp.diff(f, var)
            if e.func in ("conv", "convolve") and len(e.args) == 2:
                return self._entry_conv(e, idx, env, flipped=e.func == "convolve")
            if e.func == "flip" and len(e.args) == 1 and len(idx) == len(t.shape):
                return self.entry(e.args[0], self._flipped(e, idx, t.shape), env)
            if e.func == "jacobian" and len(e.args) == 2 and len(idx) == 2:
                return self._entry_jacobian(e, idx, env)
            if e.func in ("sum", "prod") and len(e.args) == 1 and e.kwargs and \
                    all(isinstance(v, m.Range) for _, v in e.kwargs):
                inner, limits = dict(env), []
                for key, rng in e.kwargs:
                    i = fresh(key)
                    inner[key] = i
                    limits.append((i, self.scalar(rng.lo, env), self.scalar(rng.hi, env)))
                body = self.entry(e.args[0], idx, inner)
                return self.binder(e.func, body, limits)
            if e.func in ("diag", "inv") and len(e.args) == 1 and not e.kwargs and len(idx) == 2:
                inner = e.args[0] if e.func == "diag" else self._defined(e.args[0])
                if e.func == "diag":
                    inner = e
                if isinstance(inner, m.Call) and inner.func == "diag" and len(inner.args) == 1 \
                        and len(self.vtype(inner.args[0], env).shape) == 1:
                    d = self.entry(inner.args[0], (idx[0],), env)  # diag(v)ᵢⱼ = δᵢⱼ vᵢ
                    return sp.KroneckerDelta(idx[0], idx[1]) * (d if e.func == "diag" else 1 / d)
            if e.func == "I" and len(idx) == 2:
                return sp.KroneckerDelta(idx[0], idx[1])
            if e.func in ("rowsum", "colsum") and len(e.args) == 1:
                shape = self.vtype(e.args[0], env).shape
                j = fresh()
                pair = (idx[0], j) if e.func == "rowsum" else (j, idx[0])
                return _sum(self.entry(e.args[0], pair, env), (j,),
                            (shape[1] if e.func == "rowsum" else shape[0],))
            if e.func == "onehot" and len(e.args) == 2:
                return sp.KroneckerDelta(idx[0], self.scalar(e.args[0], env))
            if e.func in ("zeros", "ones"):
                return sp.Integer(0 if e.func == "zeros" else 1)
            from derive.symbolic.dl_entries import entry_call  # log_softmax, layer_norm
            out = entry_call(self, e, idx, env, fresh)
            if out is not None:
                return out
        if isinstance(e, m.Block):
            from derive.symbolic.blocks import block_entry  # [A; B]: piecewise in the index
            out = block_entry(self, e, idx, env)
            if out is not None:
                return out
        raise Unsupported(f"no entrywise lowering for {type(e).__name__}")

    def _defined(self, e: m.Expr) -> m.Expr:
        """A name defined by ``let x = …`` replaced by its value (other nodes unchanged)."""
        while isinstance(e, m.Name):
            info = self.info(e.id)
            if info is None or info.role != "define" or len(info.statement.names) != 1:
                break
            e = info.statement.value
        return e

    def _entry_binop(self, e: m.BinOp, idx: tuple, t: VType, env: dict) -> sp.Expr:
        la, lb = self.vtype(e.left, env), self.vtype(e.right, env)
        if e.op in ("+", "-", "*", "⊙", "/", ".^"):
            # a vector against a matrix is a bias added to every column (its row index only)
            ia = idx[:1] if len(la.shape) == 1 and len(idx) == 2 else idx
            ib = idx[:1] if len(lb.shape) == 1 and len(idx) == 2 else idx
            a = self.scalar(e.left, env) if la.kind == "scalar" else self.entry(e.left, ia, env)
            b = self.scalar(e.right, env) if lb.kind == "scalar" else self.entry(e.right, ib, env)
            return {"+": a + b, "-": a - b, "*": a * b, "⊙": a * b, "/": a / b,
                    ".^": a ** b}[e.op]
        if e.op == "@" and isinstance(e.left, m.Block) and isinstance(e.right, m.Block):
            pairs = block_pairs(self, e.left, e.right, env)  # [A, B] @ [r; s] = A@r + B@s
            return sp.Add(*[self.entry(m.BinOp("@", a, b, e.pos), idx, env) for a, b in pairs])
        if e.op == "@":
            inner = la.shape[1] if len(la.shape) == 2 else sp.Integer(1)
            k = fresh("k")
            if len(t.shape) == 2:
                row, col = idx
            elif len(t.shape) == 1:
                row, col = idx[0], sp.Integer(1)
            else:
                row, col = sp.Integer(1), sp.Integer(1)
            a = self.entry(e.left, (row, k) if len(la.shape) == 2 else (row,), env)
            b = self.entry(e.right, (k, col) if len(lb.shape) == 2 else (k,), env)
            return sp.Sum(a * b, (k, 1, inner)) if inner != 1 else (a * b).subs(k, 1)
        if e.op == "^" and lb.kind == "scalar" and la.kind == "scalar":
            return self.scalar(e, env)
        if e.op == "^" and len(la.shape) == 2 and len(idx) == 2:
            k = _literal_power(e.right)  # Aᵏ of a literal k ≥ 1 is the product A @ … @ A
            if k is not None:
                chain = e.left
                for _ in range(k - 1):
                    chain = m.BinOp("@", chain, e.left, e.pos)
                return self.entry(chain, idx, env) if k > 1 else self.entry(e.left, idx, env)
        raise Unsupported(f"entrywise {e.op}")

    def _flipped(self, e: m.Call, idx: tuple, shape: tuple) -> tuple:
        """flip's entry map: index i on a reversed axis of size n reads n + 1 − i."""
        axis = e.kwarg("axis")
        which = None
        if axis is not None:
            if not (isinstance(axis, m.Num) and axis.value.denominator == 1):
                raise Unsupported("flip along a computed axis")
            which = int(axis.value) - 1
        if any(d is None for d in shape):
            raise Unsupported("flip of an unknown size")
        return tuple(n + 1 - i if which is None or k == which else i
                     for k, (i, n) in enumerate(zip(idx, shape)))

    def _entry_jacobian(self, e: m.Call, idx: tuple, env: dict) -> sp.Expr:
        """jacobian(f, x)[i, j] = ∂fᵢ/∂xⱼ; a scalar f or x has the single index 1."""
        f, x = e.args
        ft, xt = self.vtype(f, env), self.vtype(x, env)
        one = (lambda t: t.kind == "scalar" or (t.kind == "tensor" and t.is_scalar))
        fi = self.scalar(f, env) if one(ft) else self.entry(f, (idx[0],), env)
        var = self.scalar(x, env) if one(xt) else self.entry(x, (idx[1],), env)
        if not isinstance(var, (sp.Symbol, sp.Indexed)):
            raise Unsupported("Jacobian with respect to an expression")
        if squared_nested_sum(fi):
            raise Unsupported("Jacobian of a power of nested sums (slow in SymPy)")
        return sp.diff(fi, var)

    def _entry_conv(self, e: m.Call, idx: tuple, env: dict, flipped: bool = False) -> sp.Expr:
        """Cross-correlation: out[i] = Σₐ x[(i−1)s + a]·w[a] (no padding); convolve reads
        the kernel reversed, w[k + 1 − a].  With channels (w one axis more than x) and no
        groups: out[f, i] = Σ_c Σₐ x[c, (i−1)s + a]·w[f, c, a]; groups are declined."""
        groups = e.kwarg("groups")
        if groups is not None and not (isinstance(groups, m.Num) and groups.value == 1):
            raise Unsupported("grouped convolution entrywise")
        pad = e.kwarg("padding")
        if pad is not None and not (isinstance(pad, m.Num) and pad.value == 0):
            raise Unsupported("padded convolution entrywise")
        stride = e.kwarg("stride")
        s = self.scalar(stride, env) if stride is not None else sp.Integer(1)
        kernel = self.vtype(e.args[1], env).shape
        if any(k is None for k in kernel):
            raise Unsupported("conv shapes")
        if len(kernel) == len(idx) + 1 and len(idx) in (2, 3):    # channels
            c = fresh("c")
            f, spatial, kernel = idx[0], idx[1:], kernel[2:]
            offs = tuple(fresh("a") for _ in kernel)
            taps = tuple(k + 1 - a for k, a in zip(kernel, offs)) if flipped else offs
            body = self.entry(e.args[0], (c,) + tuple((i - 1) * s + a for i, a in
                                                      zip(spatial, offs)), env) \
                * self.entry(e.args[1], (f, c) + taps, env)
            return _sum(body, (c,) + offs, self.vtype(e.args[1], env).shape[1:2] + kernel)
        if len(kernel) != len(idx):
            raise Unsupported("conv shapes")
        offs = tuple(fresh("a") for _ in kernel)
        taps = tuple(k + 1 - a for k, a in zip(kernel, offs)) if flipped else offs
        body = self.entry(e.args[0], tuple((i - 1) * s + a for i, a in zip(idx, offs)), env) \
            * self.entry(e.args[1], taps, env)
        return _sum(body, offs, kernel)

    def _entry_index(self, e: m.Index, idx: tuple, env: dict) -> sp.Expr:
        if isinstance(e.base, m.Name) and len(e.indices) == 1 and \
                getattr(self.info(e.base.id), "role", None) == "sequence":
            return self._entry_accumulated(e, idx, env)
        it = iter(idx)
        full = []
        for i in e.indices:
            if isinstance(i, m.Slice):
                k = next(it, None)
                if k is None:
                    raise Unsupported("a slice in a scalar position")
                full.append(k)
            elif isinstance(i, m.Range):  # x[a..b]: entry k is x[a + k - 1]
                k = next(it, None)
                if k is None:
                    raise Unsupported("a slice in a scalar position")
                full.append(self.scalar(i.lo, env) + k - 1)
            else:
                full.append(self.scalar(i, env))
        full.extend(it)
        return self.entry(e.base, tuple(full), env)

    def _entry_accumulated(self, e: m.Index, idx: tuple, env: dict) -> sp.Expr:
        """x[T] of an accumulator x[s+1] = x[s] + F(s): x0 + Σ_{l=0}^{T−1} F(l), entrywise."""
        rule = accumulator(self.checked, e.base.id)
        if rule is None:
            raise Unsupported(f"{e.base.id}[…] is not a running sum")
        var, increment, start = rule
        if self.vtype(increment, {**env, var: None}).shape != self.vtype(start, env).shape:
            raise Unsupported("the increment and the start differ in shape")
        steps = self.scalar(e.indices[0], env)
        if not (steps.is_integer and steps.is_nonnegative):
            raise Unsupported("a step that is not a non-negative integer")
        k = fresh("l")
        body = self.entry(increment, idx, {**env, var: k})
        return self.entry(start, idx, env) + self.binder("sum", body, [(k, sp.Integer(0), steps - 1)])

    # ------------------------------------------------------------ conditions
    def _scalar_terms(self, a: m.Expr, b: m.Expr, env: dict) -> bool:
        """With a sequence hook set (a strategy that lowers ``w[t]`` itself), a side the
        types leave as 'any' is a scalar when it lowers to a scalar expression."""
        try:
            return all(isinstance(self.scalar(x, env), sp.Expr) and
                       not isinstance(self.scalar(x, env), sp.MatrixBase) for x in (a, b))
        except Unsupported:
            return False

    def condition(self, e: m.Expr, env: Optional[dict] = None) -> sp.Basic:
        """A condition (comparison chain or logic) as a SymPy Boolean over scalars."""
        env = env or {}
        if isinstance(e, m.Logic):
            args = [self.condition(a, env) for a in e.args]
            return {"and": lambda: sp.And(*args), "or": lambda: sp.Or(*args),
                    "not": lambda: sp.Not(args[0]), "=>": lambda: sp.Implies(*args),
                    "<=>": lambda: sp.Equivalent(*args)}[e.op]()
        if isinstance(e, m.Compare):
            parts = []
            for op, a, b in zip(e.ops, e.operands, e.operands[1:]):
                if op not in _RELS:
                    raise Unsupported(f"comparison {op}")
                if not (self.is_scalar(a, env) and self.is_scalar(b, env)) and not (
                        self.seq_hook is not None and self._scalar_terms(a, b, env)):
                    raise Unsupported("comparison of tensors")
                parts.append(_RELS[op](self.scalar(a, env), self.scalar(b, env), evaluate=False))
            return sp.And(*parts) if len(parts) > 1 else parts[0]
        raise Unsupported("not a condition")


_RELS = {"==": sp.Eq, "!=": sp.Ne, "<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge}


def block_pairs(low: "Lowering", row: m.Block, col: m.Block, env: dict) -> list:
    """The pairs (Aₕ, rₕ) of a block row [A₁, …, Aₖ] times a block column [r₁; …; rₖ]
    whose partitions match (width of Aₕ = height of rₕ for every h, checked on the
    types), so that the product is Σₕ Aₕ rₕ; else Unsupported."""
    if len(row.rows) != 1 or any(len(r) != 1 for r in col.rows) or \
            len(row.rows[0]) != len(col.rows):
        raise Unsupported("block product of unmatched partitions")
    pairs = list(zip(row.rows[0], (r[0] for r in col.rows)))
    for a, b in pairs:
        ta, tb = low.vtype(a, env), low.vtype(b, env)
        if ta.kind != "tensor" or tb.kind != "tensor" or len(ta.shape) != 2 or \
                len(tb.shape) not in (1, 2) or ta.shape[1] is None or tb.shape[0] is None or \
                sp.simplify(_dim(ta.shape[1]) - _dim(tb.shape[0])) != 0:
            raise Unsupported("block product of unmatched partitions")
    return pairs


def _dim(d) -> sp.Expr:
    return sp.Integer(d) if isinstance(d, int) else d


MAX_POWER = 6  # Aᵏ entrywise is a (k − 1)-fold nested sum


def _literal_power(e: m.Expr) -> Optional[int]:
    """k for a literal integer exponent 1 ≤ k ≤ MAX_POWER, else None."""
    if isinstance(e, m.Num) and not e.imaginary and e.value.denominator == 1 \
            and 1 <= e.value <= MAX_POWER:
        return int(e.value)
    return None


def sum_depth(e: sp.Basic) -> int:
    if isinstance(e, sp.Sum):
        return 1 + sum_depth(e.function)
    return max((sum_depth(a) for a in e.args), default=0)


def squared_nested_sum(e: sp.Expr) -> bool:
    """Powers of nested sums expand into products SymPy's delta summation handles slowly."""
    return any(isinstance(p, sp.Pow) and p.exp.is_number and p.exp != 1
               and sum_depth(p.base) >= 2 for p in sp.preorder_traversal(e))


def _fit(idx: tuple, shape: tuple) -> tuple:
    """Drop unit axes so a row ``vᵀ`` (1×n) indexes the vector ``v`` by its column."""
    if len(idx) == len(shape):
        return idx
    if len(shape) == 1 and len(idx) == 2:
        return (idx[0],) if idx[1] == 1 else (idx[1],)
    raise Unsupported("index rank mismatch")


def _sum(body: sp.Expr, idx: tuple, shape: tuple) -> sp.Expr:
    out = body
    for i, d in zip(idx, shape):
        if d is None:
            raise Unsupported("unknown size")
        out = sp.Sum(out, (i, 1, d))
    return out


def map_model(e, fn):
    """The model tree ``e`` with ``fn`` applied bottom-up (``fn`` returns a node or None)."""
    from dataclasses import fields, is_dataclass, replace
    if isinstance(e, tuple):
        return tuple(map_model(x, fn) for x in e)
    if not (is_dataclass(e) and isinstance(e, m.Expr)):
        return e
    changes = {}
    for f in fields(e):
        v = getattr(e, f.name)
        if isinstance(v, (m.Expr, tuple)):
            nv = map_model(v, fn)
            if nv is not v:
                changes[f.name] = nv
    out = replace(e, **changes) if changes else e
    got = fn(out)
    return out if got is None else got


def inline(body: m.Expr, params: tuple, args: tuple) -> m.Expr:
    """A function's body with its parameters replaced by the call's arguments (the body
    may only bind names of its own through ``sum``/comprehensions, which are declined)."""
    table = {p.id: a for p, a in zip(params, args)}
    for node in walk(body):
        if isinstance(node, (m.Call,)) and any(isinstance(v, m.Range) for _, v in node.kwargs):
            raise Unsupported("a function body with a bound index")
    return map_model(body, lambda n: table.get(n.id) if isinstance(n, m.Name) else None)


def accumulator(checked: CheckedClaim, seq: str) -> Optional[tuple[str, m.Expr, m.Expr]]:
    """(s, F, x0) when ``seq``'s only equations are ``seq[s+1] = seq[s] + F`` and
    ``seq[0] = x0`` with neither F nor x0 mentioning ``seq``; else None."""
    step = base = None
    for st in checked.claim.statements:
        if not isinstance(st, m.Recurrence):
            continue
        for eq in st.equations:
            if eq.seq.id != seq:
                continue
            if isinstance(eq.index, m.Num) and eq.index.value == 0 and base is None:
                base = eq.value
            elif isinstance(eq.index, m.BinOp) and eq.index.op == "+" and \
                    isinstance(eq.index.left, m.Name) and isinstance(eq.index.right, m.Num) and \
                    eq.index.right.value == 1 and step is None:
                step = (eq.index.left.id, eq.value)
            else:
                return None
    if step is None or base is None:
        return None
    var, value = step
    if not (isinstance(value, m.BinOp) and value.op == "+" and isinstance(value.left, m.Index)
            and isinstance(value.left.base, m.Name) and value.left.base.id == seq
            and len(value.left.indices) == 1 and isinstance(value.left.indices[0], m.Name)
            and value.left.indices[0].id == var):
        return None
    if any(isinstance(x, m.Name) and x.id == seq for part in (value.right, base)
           for x in walk(part)):
        return None
    return var, value.right, base


def lowering(checked: CheckedClaim) -> Lowering:
    """The (cached) lowering of a checked claim."""
    cached = getattr(checked, "_sympy_lowering", None)
    if cached is None:
        cached = Lowering(checked)
        try:
            object.__setattr__(checked, "_sympy_lowering", cached)
        except AttributeError:
            pass
    return cached
