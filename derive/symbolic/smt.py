"""Translate SymPy conditions of the semi-algebraic fragment into z3 (QF_NRA / nlsat).

Why z3: real-closed-field reasoning (nlsat) is a *decision procedure* for polynomial
(in)equalities over the reals, so "unsat" is a proof over the whole declared domain —
no generic parameter values, no sampled points — and "sat" comes with an exact model
(rationals, or algebraic numbers as root objects).  SymPy's solvers answer for generic
parameters only (``c·x = c·y`` solved in x gives {y}, which is wrong at c = 0).

The fragment: symbols (real or integer), rationals, + − ×, integer powers, division
(a side condition: the denominator is nonzero), rational powers through auxiliary roots
(``√b`` is r with r ≥ 0, r² = b, side condition b ≥ 0; odd roots alike, b ≥ 0), abs, max, min, sign, piecewise,
relations and the logical connectives.  Anything else (π, exp, log, sin, sums, indexed
entries) raises :class:`NotInFragment` and the caller passes.  Nothing here parses text.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

import sympy as sp
import z3

from derive.symbolic.lower import Unsupported

MAX_POWER = 16       # x^k is unrolled into products up to this degree
MAX_ROOT = 6         # x^(p/q) with q up to this


class NotInFragment(Unsupported):
    """The expression leaves the semi-algebraic fragment z3 decides."""


@dataclass
class SideCondition:
    """A condition a term needs to be defined (a denominator, a radicand)."""

    kind: str          # "denominator ≠ 0" or "radicand ≥ 0"
    expr: sp.Expr      # the SymPy term it is about, for the certificate
    formula: z3.BoolRef


@dataclass
class Translation:
    """z3 variables for SymPy symbols, auxiliary-root definitions and side conditions."""

    relax_integers: bool = False   # integers as reals (a sound relaxation for proofs)
    ctx: z3.Context = field(default_factory=z3.Context)
    vars: dict = field(default_factory=dict)       # sp.Symbol -> z3 var
    aux: list = field(default_factory=list)        # defining constraints of root variables
    side: list = field(default_factory=list)       # SideCondition
    _roots: dict = field(default_factory=dict)
    _fresh: itertools.count = field(default_factory=itertools.count)

    # ------------------------------------------------------------ symbols
    def var(self, s: sp.Symbol) -> z3.ArithRef:
        if s not in self.vars:
            if s.is_real is not True and s.is_integer is not True:
                raise NotInFragment(f"{s} is not known to be real")
            if s.is_integer and not self.relax_integers:
                self.vars[s] = z3.Int(s.name, self.ctx)
            else:
                self.vars[s] = z3.Real(s.name, self.ctx)
        v = self.vars[s]
        return z3.ToReal(v) if v.is_int() else v

    def domain(self, s: sp.Symbol) -> list:
        """The sign assumptions a symbol carries, as z3 constraints."""
        v = self.var(s)
        out = []
        if s.is_integer and self.relax_integers:
            pass  # kept real: the bounds below still hold of every integer value
        if s.is_positive:
            out.append(v >= 1 if s.is_integer else v > 0)
        elif s.is_nonnegative:
            out.append(v >= 0)
        if s.is_negative:
            out.append(v <= -1 if s.is_integer else v < 0)
        elif s.is_nonpositive:
            out.append(v <= 0)
        if s.is_nonzero and not (s.is_positive or s.is_negative):
            out.append(v != 0)
        return out

    def num(self, q: sp.Rational) -> z3.ArithRef:
        return z3.RealVal(Fraction(int(q.p), int(q.q)), self.ctx)

    # ------------------------------------------------------------ terms
    def expr(self, e: sp.Basic) -> z3.ArithRef:
        if e.is_Symbol:
            return self.var(e)
        if e.is_Rational:
            return self.num(e)
        if e.is_Add:
            return z3.Sum([self.expr(a) for a in e.args])
        if e.is_Mul:
            return self._product([self.expr(a) for a in e.args])
        if e.is_Pow:
            return self._pow(e)
        if isinstance(e, sp.Abs):
            a = self.expr(e.args[0])
            return z3.If(a >= 0, a, -a)
        if isinstance(e, (sp.Max, sp.Min)):
            args = [self.expr(a) for a in e.args]
            out = args[0]
            for a in args[1:]:
                out = z3.If(a > out, a, out) if isinstance(e, sp.Max) else z3.If(a < out, a, out)
            return out
        if isinstance(e, sp.sign):
            a = self.expr(e.args[0])
            zero = self.num(sp.Integer(0))
            return z3.If(a > 0, self.num(sp.Integer(1)), z3.If(a < 0, self.num(sp.Integer(-1)), zero))
        if isinstance(e, sp.Piecewise):
            return self._piecewise(e)
        raise NotInFragment(f"{type(e).__name__} is outside the semi-algebraic fragment")

    def _product(self, xs: list) -> z3.ArithRef:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out

    def _pow(self, e: sp.Pow) -> z3.ArithRef:
        base, exp = e.base, e.exp
        if not exp.is_Rational:
            raise NotInFragment(f"power with exponent {exp}")
        p, q = int(exp.p), int(exp.q)
        if abs(p) > MAX_POWER or q > MAX_ROOT:
            raise NotInFragment(f"power {exp} too large to unroll")
        b = self.expr(base)
        if q > 1:
            b = self._root(base, b, q)
        if p == 0:
            return self.num(sp.Integer(1))
        out = self._product([b] * abs(p))
        if p < 0:
            self.side.append(SideCondition("denominator ≠ 0", base ** (sp.Rational(abs(p), q)), out != 0))
            return 1 / out
        return out

    def _root(self, base: sp.Expr, b: z3.ArithRef, q: int) -> z3.ArithRef:
        """The real q-th root of ``base`` as a fresh variable r with r^q = base."""
        key = (base, q)
        if key in self._roots:
            return self._roots[key]
        r = z3.Real(f"root{next(self._fresh)}", self.ctx)
        self.aux.append(self._product([r] * q) == b)
        # every fractional power needs base ≥ 0, odd roots too: SymPy's (−8)^(1/3) is the
        # principal complex root and torch's is nan, neither the real root −2
        self.aux.append(r >= 0)
        self.side.append(SideCondition("radicand ≥ 0", base, b >= 0))
        self._roots[key] = r
        return r

    def _piecewise(self, e: sp.Piecewise) -> z3.ArithRef:
        pairs = [(self.expr(v), self.boolean(c)) for v, c in e.args]
        covered = self.any([c for _, c in pairs])
        self.side.append(SideCondition("some piece applies", e, covered))
        out = pairs[-1][0]
        for v, c in reversed(pairs[:-1]):
            out = z3.If(c, v, out)
        return out

    # ------------------------------------------------------------ conditions
    def all(self, xs: list) -> z3.BoolRef:
        return z3.And(xs) if xs else z3.BoolVal(True, self.ctx)

    def any(self, xs: list) -> z3.BoolRef:
        return z3.Or(xs) if xs else z3.BoolVal(False, self.ctx)

    def boolean(self, b: sp.Basic) -> z3.BoolRef:
        if b is sp.true or b is True:
            return z3.BoolVal(True, self.ctx)
        if b is sp.false or b is False:
            return z3.BoolVal(False, self.ctx)
        if isinstance(b, sp.And):
            return self.all([self.boolean(a) for a in b.args])
        if isinstance(b, sp.Or):
            return self.any([self.boolean(a) for a in b.args])
        if isinstance(b, sp.Not):
            return z3.Not(self.boolean(b.args[0]))
        if isinstance(b, sp.Implies):
            return z3.Implies(self.boolean(b.args[0]), self.boolean(b.args[1]))
        if isinstance(b, sp.Equivalent):
            args = [self.boolean(a) for a in b.args]
            return z3.And([args[0] == a for a in args[1:]])
        if isinstance(b, sp.Xor):
            return z3.Xor(*[self.boolean(a) for a in b.args])
        if isinstance(b, sp.Rel):
            lhs, rhs = self.expr(b.lhs), self.expr(b.rhs)
            op = b.rel_op
            return {"==": lambda: lhs == rhs, "!=": lambda: lhs != rhs, "<": lambda: lhs < rhs,
                    "<=": lambda: lhs <= rhs, ">": lambda: lhs > rhs, ">=": lambda: lhs >= rhs}[op]()
        raise NotInFragment(f"{type(b).__name__} is not a condition z3 can state")


def to_sympy(value: z3.ExprRef) -> sp.Expr:
    """An exact SymPy number for a z3 model value: a rational, or a real algebraic number
    as ``CRootOf`` of its defining polynomial (z3 numbers real roots from 1, SymPy from 0)."""
    if z3.is_int_value(value):
        return sp.Integer(value.as_long())
    if z3.is_rational_value(value):
        return sp.Rational(int(value.numerator_as_long()), int(value.denominator_as_long()))
    if z3.is_algebraic_value(value):
        coeffs = [c if isinstance(c, int) else c.as_long() for c in value.poly()]
        t = sp.Dummy("t")
        poly = sp.Poly(list(reversed(coeffs)), t)
        return sp.CRootOf(poly, value.index() - 1)
    raise NotInFragment(f"model value {value} is not a number")


def describe(value: sp.Expr) -> str:
    """A model value as text: rationals as such, algebraic numbers with their polynomial."""
    if isinstance(value, sp.CRootOf):
        return f"the root #{value.index + 1} of {value.poly.as_expr()} = 0 (≈ {sp.N(value, 12)})"
    return str(value)
