"""Gradients of scalar matrix expressions for symbolic sizes, by matrix differentials.

``grad(f, W)`` for a declared vector or matrix W and a scalar f built from products,
transposes, sums, scalar multiples, ``a · b``, ``trace``, ``‖v‖²`` and ``‖M‖_F²`` is
computed in the free non-commutative algebra of :mod:`matrix_algebra`: f reduces to a
rational function of scalar symbols, each a 1×1 word ⟨w⟩ or the trace tr⟨w⟩ of a square
word (canonical up to cyclic rotation and transposition).  The chain rule over those
symbols and the differential of each word, d tr(P·W·Q) = tr(P·dW·Q) = tr((PᵀQᵀ)ᵀ dW),
give ∇_W f = Σ ∂f/∂s · Σ PᵀQᵀ (for a use of Wᵀ: Q·P) — the Matrix Cookbook's
∂tr(AXB)/∂X = AᵀBᵀ.  ``expr at (X = value)`` substitutes in the words after
differentiating.  Every other matrix in f must be constant in W (a declared tensor, its
inverse, ``diag`` of a vector, an opaque expression of other names), and W must carry no
declared property (the algebra would use Wᵀ = W or W·Wᵀ = I before differentiating, where
``grad`` means the unconstrained gradient).  Proof-only: a nonzero residual declines.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome, Verdict
from derive.semantics import walk
from derive.symbolic.lower import Unsupported
from derive.symbolic.strategies.matrix_algebra import Algebra, MatrixAlgebra, _commutes, inline

NAME = "matrix-differential"
_CONSTANT_ROLES = ("dim", "scalar")
_VECTOR_NORMS = (None, "fro", 2)
ROUTE = ("matrix differential: f reduces to a rational function of scalar words ⟨w⟩ and "
         "traces tr⟨w⟩ in the free algebra; d tr(P·W·Q) = tr(P·dW·Q) gives ∇_W = Σ PᵀQᵀ "
         "(a use of Wᵀ gives Q·P), summed with ∂f/∂⟨w⟩ by the chain rule; lhs − rhs then "
         "reduces to 0 for general sizes")


class CalcAlgebra(Algebra):
    """The free algebra with traces, dot products, Frobenius norms, ``diag``, ``grad`` and
    ``at``; remembers the word behind every scalar symbol so it can be differentiated."""

    def __init__(self, low) -> None:
        super().__init__(low)
        self.words: dict[sp.Symbol, tuple] = {}  # ⟨w⟩ or tr⟨w⟩ → w
        self.traces: set[sp.Symbol] = set()  # the tr⟨w⟩ among them
        self.origin: dict[sp.Symbol, str] = {}  # a declared tensor's atom (and its ᵀ) → name
        self.derived: dict[sp.Symbol, m.Expr] = {}  # diag(v) atoms → the call
        self.conditions: list[str] = []  # side conditions used, for the certificate
        self.calls: dict[sp.Symbol, tuple] = {}  # f⟦j⟧ → (f, (E₁, …), shapes) of an opaque f
        self.differentiating = 0  # depth of grad(…) being lowered
        self.reads: dict[str, Optional[set]] = {}  # an opaque f → the names its body reads
        self.grads: dict[sp.Symbol, tuple] = {}  # ∂ᵢf⟦j⟧ → (f, (E₁, …), i, transposed?)

    # ------------------------------------------------------------ atoms
    def tensor(self, name: str) -> sp.Symbol:
        sym = super().tensor(name)
        self.origin[sym] = self.origin[self.transpose[sym]] = name
        return sym

    def _scalar_symbol(self, sub: list) -> sp.Symbol:
        sym = super()._scalar_symbol(sub)
        self.words.setdefault(sym, tuple(sub))
        return sym

    def _diag(self, e: m.Call) -> sp.Symbol:
        """``diag(v)`` of a vector: a symmetric square atom (its transpose is itself)."""
        for sym, known in self.derived.items():
            if known == e:
                return sym
        n = self._shape_of(e.args[0])[0]
        name = f"diag⟦{len(self.derived)}⟧"
        sym = self.atom(name, (n, n), name)
        self.derived[sym] = e
        _note(self.conditions, "diag(v) is symmetric: diag(v)ᵀ = diag(v)")
        return sym

    def _shape_of(self, e: m.Expr) -> tuple:
        t = self.low.vtype(e)
        if t.kind != "tensor" or t.is_scalar or len(t.shape) not in (1, 2) or \
                any(d is None for d in t.shape):
            raise Unsupported("an expression of unknown shape")
        return tuple(t.shape) if len(t.shape) == 2 else (t.shape[0], sp.Integer(1))

    # ------------------------------------------------------------ lowering
    def lower(self, e: m.Expr) -> sp.Expr:
        if isinstance(e, m.BinOp) and e.op == "^" and isinstance(e.right, m.Num) and \
                e.right.value == 2 and isinstance(e.left, m.Call) and e.left.func == "norm":
            return self._norm_squared(e.left)
        if isinstance(e, m.BinOp) and e.op == "·":
            if self.low.vtype(e.left).kind != "tensor":
                return self.lower(e.left) * self.lower(e.right)
            cols = self._shape_of(e.left)[1]
            if self._shape_of(e.right) != self._shape_of(e.left):
                raise Unsupported("a · b of different shapes")
            return self.trace(self.transposed(self.lower(e.left)) * self.lower(e.right), cols)
        if isinstance(e, m.Call) and not e.kwargs:
            if e.func == "trace" and len(e.args) == 1:
                shape = self._shape_of(e.args[0])
                if sp.simplify(shape[0] - shape[1]) != 0:
                    raise Unsupported("trace of a non-square matrix")
                return self.trace(self.lower(e.args[0]), shape[0])
            if e.func == "diag" and len(e.args) == 1 and len(self.low.vtype(e.args[0]).shape) == 1:
                return self._diag(e)
            if e.func == "grad" and len(e.args) == 2 and isinstance(e.args[1], m.Name):
                return self.gradient(e.args[0], e.args[1].id)
        if isinstance(e, m.Call) and e.func == "norm":
            raise Unsupported("a norm that is not squared (only ‖v‖² and ‖M‖_F² are in the algebra)")
        if isinstance(e, m.Subst):
            return self.substitute(e)
        if isinstance(e, m.Call) and getattr(self.low.info(e.func), "role", None) == "funcdef":
            return self._user_call(e)
        return super().lower(e)

    def _user_call(self, e: m.Call) -> sp.Expr:
        """A user function inlined; under ``grad``, one whose body needs an arbitrary
        matrix (``tanh(…)``) is rather kept whole for the chain rule (both are its value)."""
        before = len(self.opaques)
        try:
            value = super().lower(e)
        except Unsupported as exc:
            return self.opaque_call(e, exc)
        if self.differentiating and len(self.opaques) > before:
            try:
                return self.opaque_call(e, Unsupported("not an opaque call"))
            except Unsupported:
                return value
        return value

    # ------------------------------------------------------------ opaque functions
    def opaque_call(self, e: m.Call, why: Unsupported) -> sp.Symbol:
        """f(E₁, …, E_k) of a user function of vectors and matrices whose body is outside
        the algebra: a scalar symbol per (f, E₁, …, E_k), whose differential is
        Σᵢ tr(∂ᵢf(E)ᵀ dEᵢ) with each ∂ᵢf(E) an arbitrary matrix of Eᵢ's shape."""
        st = self.low.info(e.func).statement
        if not e.args or e.kwargs or len(st.params) != len(e.args) or \
                any(self.low.vtype(a).kind != "tensor" for a in e.args) or \
                not self.low.is_scalar(inline(st.body, st.params, e.args)):
            raise why
        shapes = tuple(self._shape_of(a) for a in e.args)
        params = {p.id for p in st.params}
        body = _names(self.low, st.body, params)
        self.reads[e.func] = None if body is None else body - params
        args = tuple(sp.expand(self.reduce(self.lower(a))) for a in e.args)
        return self.call_symbol(e.func, args, shapes)

    def call_symbol(self, func: str, args: tuple, shapes: tuple) -> sp.Symbol:
        for sym, known in self.calls.items():
            if known[:2] == (func, args):
                return sym
        sym = sp.Symbol(f"{func}⟦{len(self.calls)}⟧")
        self.calls[sym] = (func, args, shapes)
        return sym

    def grad_atom(self, func: str, args: tuple, i: int, shape: tuple) -> sp.Symbol:
        """∂ᵢfunc at args: one arbitrary matrix of the i-th argument's shape each."""
        for sym, known in self.grads.items():
            if known == (func, args, i, False):
                return sym
        sym = self.atom(f"∂{i + 1}{func}⟦{len(self.grads) // 2}⟧", shape)
        self.grads[sym] = (func, args, i, False)
        self.grads[self.transpose[sym]] = (func, args, i, True)
        _note(self.conditions, f"{func} is differentiable at its arguments (chain rule "
                               f"d {func}(E) = Σᵢ tr(∂ᵢ{func}(E)ᵀ dEᵢ), each ∂ᵢ{func}(E) an "
                               f"arbitrary matrix)")
        return sym

    def _norm_squared(self, call: m.Call) -> sp.Expr:
        """‖v‖² = vᵀv of a vector (2-norm or ``fro``), ‖M‖_F² = tr(MᵀM) of a matrix; the
        spectral norm of a matrix (``norm(M)``) is not in the algebra."""
        if call.kwargs or len(call.args) not in (1, 2):
            raise Unsupported("norm with these arguments")
        kind = None
        if len(call.args) == 2:
            k = call.args[1]
            kind = k.id if isinstance(k, m.Name) else (k.value if isinstance(k, m.Num) else "?")
        shape = self._shape_of(call.args[0])
        vector = len(self.low.vtype(call.args[0]).shape) == 1
        if (vector and kind not in _VECTOR_NORMS) or (not vector and kind != "fro"):
            raise Unsupported(f"the squared {'spectral ' if kind is None else ''}norm of a "
                              f"matrix (only ‖M‖_F² = tr(MᵀM) is in the algebra)")
        v = self.lower(call.args[0])
        return self.trace(self.transposed(v) * v, shape[1])

    def trace(self, x: sp.Expr, size: sp.Expr) -> sp.Expr:
        """tr of a square expression: c·I gives c·size; a word with a 1×1 rotation becomes
        its scalars (tr(uvᵀ) = vᵀu); any other word one symbol tr⟨w⟩ for its canonical
        rotation (cyclic trace, tr(w) = tr(wᵀ))."""
        out = sp.Integer(0)
        for c, word in self._terms(self.reduce(x)):
            out += c * (size if not word else self.word_trace(word))
        return out

    def word_trace(self, word: list) -> sp.Expr:
        rows, cols = self._shape(word)
        if sp.simplify(rows - cols) != 0:
            raise Unsupported("trace of a non-square word")
        for i in range(len(word)):
            if self.shapes[word[i]][0] == 1:
                return self.reduce(sp.Mul(*(word[i:] + word[:i])))
        back = [self.transpose[a] for a in reversed(word)]
        rotations = [w[i:] + w[:i] for w in (word, back) for i in range(len(w))]
        best = min(rotations, key=_spelling)
        key = "tr " + _spelling(best)
        if key not in self.scalars:
            self.scalars[key] = sp.Symbol(f"tr⟨{_spelling(best)}⟩")
        sym = self.scalars[key]
        self.words.setdefault(sym, tuple(best))
        self.traces.add(sym)
        return sym

    # ------------------------------------------------------------ differentiation
    def gradient(self, f: m.Expr, var: str) -> sp.Expr:
        """∇_var f by the matrix differential (module doc)."""
        info = self.low.info(var)
        if info is None or info.role != "tensor" or len(info.vtype.shape) not in (1, 2):
            raise Unsupported(f"grad with respect to '{var}', not a declared vector or matrix")
        if info.props:
            raise Unsupported(f"grad with respect to '{var}' declared {', '.join(sorted(info.props))}: "
                              f"the algebra would use the property before differentiating")
        w = self.tensor(var)
        wt = self.transpose[w]
        self.differentiating += 1
        try:
            value = self.reduce(self.lower(f))
        finally:
            self.differentiating -= 1
        if not _commutes(value):
            raise Unsupported("grad of an expression that is not 1×1")
        symbols = sorted(value.free_symbols, key=str)
        if not value.is_rational_function(*symbols):
            raise Unsupported("grad of a non-rational function of the scalar words")
        out = sp.Integer(0)
        for s in symbols:
            if s in self.words or s in self.calls:
                part = self._word_gradient(self.words[s], w, wt, var) if s in self.words \
                    else self._call_gradient(s, w, wt, var)
                if part != 0:
                    out += sp.diff(value, s) * part
            elif s not in self._constants():
                raise Unsupported(f"'{s}' in grad's argument may depend on '{var}'")
        _note(self.conditions, f"'{var}' is an unconstrained {_kind(info)} (no declared property)")
        _note(self.conditions, f"every other matrix and scalar in grad(…, {var}) is constant in "
                               f"'{var}' (declared, its inverse, diag of a vector, or built from "
                               f"other declared names)")
        return self.reduce(out)

    def _call_gradient(self, s: sp.Symbol, w: sp.Symbol, wt: sp.Symbol, var: str) -> sp.Expr:
        """d f(E) = Σᵢ tr(Gᵢᵀ dEᵢ), Gᵢ = ∂ᵢf(E): each word of Eᵢ, led by Gᵢᵀ, differentiated."""
        func, args, shapes = self.calls[s]
        reads = self.reads.get(func)
        if reads is None or var in reads:
            raise Unsupported(f"the body of {func} may read '{var}'")
        out = sp.Integer(0)
        for i, (arg, shape) in enumerate(zip(args, shapes)):
            lead = (self.transpose[self.grad_atom(func, args, i, shape)],)
            for c, word in self._terms(arg):
                if not c.free_symbols <= self._constants():
                    raise Unsupported(f"{func}'s argument has a coefficient that may depend on '{var}'")
                out += c * self._word_gradient(tuple(word), w, wt, var, lead=lead)
        return out

    def _word_gradient(self, word: tuple, w: sp.Symbol, wt: sp.Symbol, var: str,
                       lead: tuple = ()) -> sp.Expr:
        """Σ over the uses of W in tr(lead·word) of PᵀQᵀ (of Q·P for a use of Wᵀ); ``lead``
        is a fixed factor (∇f(E)ᵀ), not differentiated."""
        out = sp.Integer(0)
        for i, a in enumerate(word):
            before, after = sp.Mul(*lead, *word[:i]), sp.Mul(*word[i + 1:])
            if a == w:
                out += self.transposed(before) * self.transposed(after)
            elif a == wt:
                out += after * before
            else:
                deps = self._depends(a)
                if deps is None or var in deps:
                    raise Unsupported(f"{a.name} in grad's argument may depend on '{var}'")
        return out

    def _constants(self) -> set:
        return {self.low.symbols[k] for k, info in self.low.checked.symbols.items()
                if info.role in _CONSTANT_ROLES and not info.random and k in self.low.symbols}

    def _depends(self, atom: sp.Symbol, seen: frozenset = frozenset()) -> Optional[set]:
        """The declared names an atom depends on, or None when unknown."""
        if atom in self.origin:
            return {self.origin[atom]}
        inverse = self.inverse.get(atom)
        if inverse is not None and inverse in self.origin:
            return {self.origin[inverse]}
        expr = self.derived.get(atom) or next((e for e, s in self.opaques.items()
                                               if s in (atom, self.transpose.get(atom))), None)
        if expr is not None:
            return _names(self.low, expr)
        known = self.compound.get(atom) if atom in self.compound else \
            (sp.Add(*self.grads[atom][1]) if atom in self.grads else None)
        if known is not None and atom not in seen:
            out: set = set()
            if atom in self.grads:
                reads = self.reads.get(self.grads[atom][0])
                if reads is None:
                    return None
                out |= reads
            for _, word in self._terms(known):
                for a in word:
                    deps = self._depends(a, seen | {atom})
                    if deps is None:
                        return None
                    out |= deps
            return out
        return None

    # ------------------------------------------------------------ substitution
    def substitute(self, e: m.Subst) -> sp.Expr:
        """``expr at (X = value)``: simultaneous replacement of unconstrained declared
        tensors in the lowered expression, scalar words recomputed from their words."""
        values: dict[sp.Symbol, sp.Expr] = {}
        names = set()
        for name, value in e.bindings:
            info = self.low.info(name)
            if info is None or info.role != "tensor" or info.props:
                raise Unsupported(f"'at' binds '{name}', not an unconstrained declared tensor")
            sym = self.tensor(name)
            v = self.reduce(self.lower(value))
            values[sym], values[self.transpose[sym]] = v, self.transposed(v)
            names.add(name)
        before = len(self.denominators)
        inner = self.reduce(self.lower(e.expr))
        if any(not getattr(d, "is_number", True) for d in self.denominators[before:]):
            raise Unsupported("a division under 'at'")
        _note(self.conditions, "'at' replaces names after differentiating (in every word)")
        return self.replace(inner, values, names)

    def replace(self, x: sp.Expr, values: dict, names: set) -> sp.Expr:
        out = sp.Integer(0)
        for c, word in self._terms(x):
            new = [self._grad_at(a, values, names) if a in self.grads else values.get(a, a)
                   for a in word]
            for a in word:
                deps = self._depends(a)
                if a not in values and a not in self.grads and (deps is None or deps & names):
                    raise Unsupported(f"{a.name} depends on a name replaced by 'at'")
            scalars = {s: self._scalar_at(s, values, names) for s in c.free_symbols
                       if s in self.words}
            for s in c.free_symbols & set(self.calls):
                reads = self.reads.get(self.calls[s][0])
                if reads is None or reads & names:
                    raise Unsupported(f"the body of {self.calls[s][0]} reads a name replaced by 'at'")
            scalars.update({s: self.call_symbol(self.calls[s][0],
                                                self._args_at(self.calls[s][1], values, names),
                                                self.calls[s][2])
                            for s in c.free_symbols if s in self.calls})
            for s in c.free_symbols - set(scalars):
                if s not in self._constants():
                    raise Unsupported(f"'{s}' under 'at' may depend on a replaced name")
            out += c.xreplace(scalars) * sp.Mul(*new)
        return self.reduce(out)

    def _grad_at(self, atom: sp.Symbol, values: dict, names: set) -> sp.Symbol:
        func, args, i, transposed = self.grads[atom]
        reads = self.reads.get(func)
        if reads is None or reads & names:
            raise Unsupported(f"the body of {func} reads a name replaced by 'at'")
        shape = self.shapes[self.transpose[atom] if transposed else atom]
        g = self.grad_atom(func, self._args_at(args, values, names), i, shape)
        return self.transpose[g] if transposed else g

    def _args_at(self, args: tuple, values: dict, names: set) -> tuple:
        return tuple(sp.expand(self.replace(a, values, names)) for a in args)

    def _scalar_at(self, s: sp.Symbol, values: dict, names: set) -> sp.Expr:
        word = self.words[s]
        value = self.replace(sp.Mul(*word), values, names)
        return self.trace(value, self._shape(list(word))[0]) if s in self.traces else value


def _spelling(word) -> str:
    return "·".join(a.name for a in word)


def _note(conditions: list, text: str) -> None:
    if text not in conditions:
        conditions.append(text)


def _kind(info) -> str:
    return "vector" if len(info.vtype.shape) == 1 else "matrix"


def _names(low, expr: m.Expr, params: frozenset = frozenset()) -> Optional[set]:
    """The declared names an expression reads (besides ``params``), or None when it reads
    anything else (a definition, a user function, a bound index) not tracked."""
    out = set()
    for node in walk(expr):
        if isinstance(node, m.Name) and node.id not in params:
            info = low.info(node.id)
            if info is None:
                continue  # a constant (pi, fro) or a keyword argument's name
            if info.role not in ("tensor",) + _CONSTANT_ROLES or info.random:
                return None
            out.add(node.id)
        if isinstance(node, (m.Subst, m.Comprehension)) or \
                (isinstance(node, m.Call) and (node.kwargs or low.info(node.func) is not None)):
            return None  # a user function's body reads names of its own
    return out


def _uses_calculus(st: m.Expr) -> bool:
    for node in walk(st):
        if isinstance(node, m.Call) and node.func in ("grad", "trace", "diag"):
            return True
        if isinstance(node, (m.Subst,)) or (isinstance(node, m.BinOp) and node.op == "·"):
            return True
        if isinstance(node, m.Call) and node.func == "norm" and len(node.args) == 2:
            return True
    return False


class MatrixDifferential(MatrixAlgebra):
    """grad(f, W) for a vector or matrix W, trace, a · b and ‖M‖_F² in the free algebra
    for symbolic sizes (matrix differentials)."""

    name = NAME
    algebra = CalcAlgebra

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        if not _uses_calculus(ctx.statement):
            return None
        outcome = super().attempt(ctx)
        if outcome is None or outcome.verdict != Verdict.PROVED:
            return outcome
        conditions = outcome.evidence.get("side_conditions") or []
        outcome.evidence["certificate"] = {
            "route": ROUTE if any(isinstance(n, m.Call) and n.func == "grad"
                                  for n in walk(ctx.statement)) else
            "free algebra with traces: canonical cyclic rotations, tr(w) = tr(wᵀ), "
            "lhs − rhs reduces to 0 for general sizes",
            "side_conditions": conditions or ["none beyond the declarations"]}
        outcome.summary = f"matrix differential: {outcome.summary}"
        return outcome
