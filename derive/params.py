"""Distribution parameters checked against their domains (part of the semantic pass).

``bernoulli(2)`` or ``exponential(λ)`` with λ possibly negative is no distribution, and
an engine that computes its moments anyway "proves" statements about nothing.  So each
parameter must be *shown* to lie in its domain from the declarations and ``assume``
lines (ranges from :mod:`derive.bounds`); one whose range cannot be established is an
error with a hint naming the declaration that would establish it.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Callable, Optional

from derive import model as m
from derive.bounds import (ANYTHING, INF, NONNEGATIVE, NONREAL, POSITIVE, PROBABILITY, Bounds,
                           Range, add, intersect, neg)
from derive.language.names import pretty
from derive.vocabulary import LAWS, Param
from derive.vocabulary.distributions import args_of

ZERO, ONE = Fraction(0), Fraction(1)
FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}
Report = Callable[[str, m.Pos, str], None]
DOMAINS = {"real": None, "positive": POSITIVE, "nonnegative": NONNEGATIVE,
           "probability": PROBABILITY}   # a Param's domain word -> its range


def conditions(claim: m.Claim) -> list[tuple[m.Expr, str, m.Expr]]:
    """Every ``x op y`` that an ``assume`` (through ``and`` and chains) asserts."""
    out = []
    stack = [a.condition for a in claim.statements if isinstance(a, m.Assume)]
    while stack:
        c = stack.pop()
        if isinstance(c, m.Logic) and c.op == "and":
            stack.extend(c.args)
        elif isinstance(c, m.Compare):
            for op, x, y in zip(c.ops, c.operands, c.operands[1:]):
                if op in FLIP:
                    out.append((x, op, y))
    return out


def _bounded(r: Range, op: str, by: Range) -> Range:
    """The part of ``r`` where ``x op y`` can hold for some y in ``by`` (``!=`` and other
    relations narrow nothing)."""
    if op in (">", ">="):
        return intersect(r, Range(by.lo, INF, by.lo_open or op == ">", True))
    if op in ("<", "<="):
        return intersect(r, Range(-INF, by.hi, True, by.hi_open or op == "<"))
    if op == "==":
        return intersect(r, by)
    return r


class ParamChecker:
    """Ranges of one claim's names; checks each distribution's parameters."""

    def __init__(self, claim: m.Claim, symbols: dict, report: Report):
        self.symbols = symbols
        self.report = report
        self.conds = conditions(claim)
        self.busy: set[str] = set()
        self.bounds = Bounds(self.range_of_name)
        for d in claim.statements:  # declared bounds that name another name are relations
            if isinstance(d, m.Decl) and isinstance(d.type, m.ScalarType) and d.dist is None:
                for name in d.names:
                    self.conds.extend((name, op, e) for op, e in d.type.bounds if op in FLIP)

    # ------------------------------------------------------------ ranges of names
    def range_of_name(self, ident: str) -> Optional[Range]:
        info = self.symbols.get(ident)
        if info is None or info.random or ident in self.busy:
            return None
        self.busy.add(ident)
        try:
            r = self._declared(info)
            for x, op, y in self.conds:
                if isinstance(x, m.Name) and x.id == ident:
                    r = _bounded(r, op, self.bounds.of(y))
                if isinstance(y, m.Name) and y.id == ident:
                    r = _bounded(r, FLIP[op], self.bounds.of(x))
            return r
        finally:
            self.busy.discard(ident)

    def _declared(self, info) -> Range:
        st = info.statement
        if info.role in ("dim", "sweep"):
            return Range(ONE, INF, False, True)
        if info.role == "define" and isinstance(st, m.Define) and len(st.names) == 1:
            return self.bounds.of(st.value)
        if info.role == "index" and isinstance(st, m.Decl) and isinstance(st.type, m.IndexType):
            lo, hi = self.bounds.of(st.type.range.lo), self.bounds.of(st.type.range.hi)
            return Range(lo.lo, hi.hi, lo.lo_open, hi.hi_open)
        if info.role == "tensor":
            if "positive" in info.props:
                return POSITIVE
            if info.props & {"simplex", "adjacency", "permutation"}:
                return PROBABILITY
            return ANYTHING
        if info.role == "scalar" and info.domain == "complex":
            return NONREAL
        if info.role != "scalar" or not isinstance(st, m.Decl) or \
                not isinstance(st.type, m.ScalarType):
            return ANYTHING
        spec, r = st.type, ANYTHING
        if spec.interval is not None:
            lo, hi = self.bounds.of(spec.interval.lo), self.bounds.of(spec.interval.hi)
            r = Range(lo.lo, hi.hi, lo.lo_open or not spec.interval.lo_closed,
                      hi.hi_open or not spec.interval.hi_closed)
        return r  # bounds (`> 0`) arrive through self.conds

    # ------------------------------------------------------------ the checks
    def check(self, dist: m.Expr, types: list, density: bool) -> None:
        """Report each parameter of ``dist`` that can leave its domain.  ``types`` are the
        parameters' types (None where unknown or random: not checked); ``density``: the
        distribution is the argument of pdf/logpdf/cdf/KL, so a variance must be > 0."""
        if not isinstance(dist, m.Call):
            return
        name, args = dist.func, args_of(dist)
        law = LAWS.get(name)
        if law is None or len(args) != len(types) or len(args) != len(law.params):
            return
        for arg, t, param in zip(args, types, law.params):
            if t is None:
                continue
            tensor = t.kind == "tensor" and len(t.shape) == 2 and not t.is_scalar
            if param.matrix and tensor:
                if not self.psd(arg, density):
                    what = "positive definite" if density else "positive semidefinite"
                    self.report(f"the covariance of {name}(μ, Σ) must be {what}; derive cannot "
                                f"establish that from the declarations", arg.pos,
                                self._matrix_hint(arg, density))
                continue
            need = self._domain(param, density)
            if need is None:
                continue
            want, words = need
            r = self.bounds.of(arg)
            if _inside(r, want):
                continue
            if r.lo == r.hi and not isinstance(r.lo, float):  # a constant outside the domain
                self.report(f"{words}, found {r.lo}", arg.pos,
                            f"for example {law.example}")
            else:
                self.report(f"{words}; derive cannot establish that from the declarations "
                            f"(its range here is {_show(r)})", arg.pos,
                            self._hint(arg, param))
        if law.ordered and len(args) == 2 and all(t is not None for t in types):
            a, b = args
            if not self._less(a, b):
                self.report(f"{name}(a, b) needs a < b; derive cannot establish that from the "
                            "declarations", dist.pos,
                            f"add 'assume {_text(a, 'a')} < {_text(b, 'b')}' or declare the "
                            f"ends' ranges")

    @staticmethod
    def _domain(param: Param, density: bool) -> Optional[tuple[Range, str]]:
        """The range a parameter must lie in, and the words saying so (None: any real)."""
        if density and param.density_domain is not None:
            return DOMAINS[param.density_domain], param.density_words
        want = DOMAINS[param.domain]
        return None if want is None else (want, param.words)

    def _less(self, a: m.Expr, b: m.Expr) -> bool:
        gap = None  # b = a + gap, or a = b - gap: the range of gap decides
        if isinstance(b, m.BinOp) and b.op == "+":
            gap = b.right if b.left == a else b.left if b.right == a else None
        if gap is None and isinstance(a, m.BinOp) and a.op == "-" and a.left == b:
            gap = a.right
        if gap is not None and self.bounds.of(gap).at_least(ZERO, True):
            return True
        if add(self.bounds.of(b), neg(self.bounds.of(a))).at_least(ZERO, True):
            return True
        for x, op, y in self.conds:
            if (op == "<" and x == a and y == b) or (op == ">" and x == b and y == a):
                return True
        return False

    def psd(self, e: m.Expr, strict: bool) -> bool:
        """Is the matrix ``e`` positive semidefinite (definite when ``strict``) by rules
        the declarations support: declared psd/spd, I, nonnegative multiples, sums,
        A Aᵀ, diag of a nonnegative vector."""
        if isinstance(e, m.Name):
            info = self.symbols.get(e.id)
            if info is None:
                return False
            if info.role == "define" and isinstance(info.statement, m.Define) \
                    and len(info.statement.names) == 1 and e.id not in self.busy:
                self.busy.add(e.id)
                try:
                    return self.psd(info.statement.value, strict)
                finally:
                    self.busy.discard(e.id)
            return "spd" in info.props or (not strict and "psd" in info.props)
        if isinstance(e, m.Call):
            if e.func == "I":
                return True
            if e.func == "zeros":
                return not strict
            if e.func == "diag" and e.args:
                return _inside(self.bounds.of(e.args[0]), POSITIVE if strict else NONNEGATIVE)
            if e.func == "inv" and e.args:
                return self.psd(e.args[0], True)
            return False
        if isinstance(e, m.BinOp):
            if e.op == "+":
                return (self.psd(e.left, strict) and self.psd(e.right, False)) or \
                    (self.psd(e.left, False) and self.psd(e.right, strict))
            if e.op in ("*", "/"):
                for s, mat in ((e.left, e.right), (e.right, e.left)) if e.op == "*" else \
                        ((e.right, e.left),):
                    if self._scalar_expr(s) and self.psd(mat, strict):
                        want = POSITIVE if (strict or e.op == "/") else NONNEGATIVE
                        return _inside(self.bounds.of(s), want)
                return False
            if e.op == "@" and not strict:
                return (isinstance(e.right, m.Transpose) and e.right.operand == e.left) or \
                    (isinstance(e.left, m.Transpose) and e.left.operand == e.right)
        return False

    def _scalar_expr(self, e: m.Expr) -> bool:
        if isinstance(e, m.Num):
            return True
        if isinstance(e, m.Name):
            info = self.symbols.get(e.id)
            return info is not None and info.vtype.kind == "scalar"
        if isinstance(e, (m.BinOp, m.Unary)):
            return all(self._scalar_expr(c) for c in
                       ((e.left, e.right) if isinstance(e, m.BinOp) else (e.operand,)))
        return False

    # ------------------------------------------------------------ hints
    def _hint(self, arg: m.Expr, param: Param) -> str:
        inner = arg
        if isinstance(arg, m.BinOp) and arg.op == "^" and isinstance(arg.left, m.Name):
            inner = arg.left  # σ^2
        if isinstance(inner, m.Name) and param.decl and self._is_scalar_decl(inner):
            return f"declare it: let {inner.text or pretty(inner.id)} : {param.decl}"
        if param.domain == "nonnegative" and not param.decl:   # a weight vector
            return "weights must be nonnegative, e.g. ones(n) / n, or a vector declared simplex"
        return "state its range in the declarations (e.g. let λ : real > 0) or with 'assume'"

    def _is_scalar_decl(self, name: m.Name) -> bool:
        info = self.symbols.get(name.id)
        return info is not None and info.role == "scalar"

    def _matrix_hint(self, arg: m.Expr, density: bool) -> str:
        word = "spd" if density else "psd"
        if isinstance(arg, m.Name):
            return f"declare it: let {arg.text or pretty(arg.id)} : matrix[…] {word}"
        return f"use a matrix declared {word}, I[n], or a nonnegative multiple or sum of them"


def _inside(r: Range, want: Range) -> bool:
    lo_ok = isinstance(want.lo, float) or r.at_least(want.lo, want.lo_open)
    hi_ok = isinstance(want.hi, float) or r.at_most(want.hi, want.hi_open)
    return lo_ok and hi_ok


def _show(r: Range) -> str:
    if not r.real:
        return "possibly complex"

    def end(v) -> str:
        if isinstance(v, float):
            return "∞" if v > 0 else "-∞"
        return str(v)
    return f"{'(' if r.lo_open else '['}{end(r.lo)}, {end(r.hi)}{')' if r.hi_open else ']'}"


def _text(e: m.Expr, placeholder: str) -> str:
    if isinstance(e, m.Name):
        return e.text or pretty(e.id)
    if isinstance(e, m.Num):
        return e.text
    return placeholder
