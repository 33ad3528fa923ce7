"""Ranges of constant expressions from the declarations and ``assume`` lines.

The semantic pass uses them to check distribution parameters (``exponential(λ)`` needs
λ > 0): a parameter is accepted only when its range, computed by interval arithmetic over
the model (never from text), lies inside the domain.  The analysis is conservative: what
it cannot bound is (-∞, ∞), so a parameter it cannot place is reported, never assumed.
Tensor expressions are ranged entrywise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional, Union

from derive import model as m

INF = math.inf
Num = Union[Fraction, float]  # a Fraction, or ±inf as a float


@dataclass(frozen=True)
class Range:
    """An interval of reals; an open end is not attained (an infinite end is always open)."""

    lo: Num = -INF
    hi: Num = INF
    lo_open: bool = True
    hi_open: bool = True
    real: bool = True  # False: the value may be complex (or undefined): no bound holds

    def at_least(self, c: Fraction, strict: bool) -> bool:
        """Is every value ≥ c (> c when ``strict``)?"""
        return self.real and (self.lo > c or (self.lo == c and (not strict or self.lo_open)))

    def at_most(self, c: Fraction, strict: bool) -> bool:
        return self.real and (self.hi < c or (self.hi == c and (not strict or self.hi_open)))


ANYTHING = Range()
NONREAL = Range(real=False)
COMPLEX_FUNCS = {"fft", "ifft", "eig", "eigvals", "conj", "logpdf", "pdf", "cdf", "KL"}


def point(v: Fraction) -> Range:
    return _make(v, False, v, False)


BIG = Fraction(10) ** 60
GRAIN = 10 ** 30


def _outward(v: Num, down: bool) -> Num:
    """``v`` rounded outward (down for a lower end) to a small number: 1e300^64 must not
    build a 20 000-digit fraction, and a float operand must not overflow."""
    if isinstance(v, float):
        return v
    if abs(v) > BIG:
        return -INF if (down and v < 0) else INF if (not down and v > 0) else (BIG if v > 0 else -BIG)
    if v.denominator > GRAIN:
        scaled = v * GRAIN
        whole = scaled.numerator // scaled.denominator
        return Fraction(whole if down or scaled == whole else whole + 1, GRAIN)
    return v


def _make(lo: Num, lo_open: bool, hi: Num, hi_open: bool) -> Range:
    """A range whose infinite ends are open, its ends rounded outward to small numbers."""
    lo2, hi2 = _outward(lo, True), _outward(hi, False)
    return Range(lo2, hi2, (lo_open and lo2 == lo) or isinstance(lo2, float),
                 (hi_open and hi2 == hi) or isinstance(hi2, float))


def add(a: Range, b: Range) -> Range:
    return _make(a.lo + b.lo, a.lo_open or b.lo_open, a.hi + b.hi, a.hi_open or b.hi_open)


def neg(a: Range) -> Range:
    return Range(-a.hi, -a.lo, a.hi_open, a.lo_open)


def _times(x: Num, xo: bool, y: Num, yo: bool) -> list[tuple[Num, bool]]:
    """Candidate extreme products of two endpoints (value, open)."""
    zero_x, zero_y = x == 0, y == 0
    if (zero_x and not xo) or (zero_y and not yo):
        return [(Fraction(0), False)]  # an attained 0 times anything is an attained 0
    if (zero_x and isinstance(y, float)) or (zero_y and isinstance(x, float)):
        sign = 1 if (x + y) > 0 else -1  # 0⁺·∞: anything between 0 and ±∞
        return [(Fraction(0), True), (sign * INF, True)]
    return [(x * y, xo or yo)]


def mul(a: Range, b: Range) -> Range:
    cands = []
    for x, xo in ((a.lo, a.lo_open), (a.hi, a.hi_open)):
        for y, yo in ((b.lo, b.lo_open), (b.hi, b.hi_open)):
            cands.extend(_times(x, xo, y, yo))
    lo = min(v for v, _ in cands)
    hi = max(v for v, _ in cands)
    lo_open = all(o for v, o in cands if v == lo)
    hi_open = all(o for v, o in cands if v == hi)
    return _make(lo, lo_open, hi, hi_open)


def _inv_end(v: Num) -> Num:
    if isinstance(v, float):
        return Fraction(0)
    return v ** -1 if v != 0 else INF


def reciprocal(a: Range) -> Range:
    if a.at_least(Fraction(0), True):  # all positive
        hi = INF if a.lo == 0 else _inv_end(a.lo)
        return _make(_inv_end(a.hi), a.hi_open or isinstance(a.hi, float), hi, a.lo_open)
    if a.at_most(Fraction(0), True):
        return neg(reciprocal(neg(a)))
    return ANYTHING


def power(a: Range, k: Fraction) -> Range:
    """``a ^ k`` for a constant exponent."""
    if k.denominator == 1:
        n = int(k)
        if n == 0:
            return point(Fraction(1))
        if n < 0:
            return reciprocal(power(a, Fraction(-n)))
        out = a
        for _ in range(min(n, 64) - 1):
            out = mul(out, a)
        if n % 2 == 0:  # an even power is ≥ 0 (interval products lose that)
            nonneg = Range(Fraction(0), INF, False, True)
            if a.at_least(Fraction(0), True) or a.at_most(Fraction(0), True):
                nonneg = Range(Fraction(0), INF, True, True)
            out = intersect(out, nonneg)
        return out
    if a.at_least(Fraction(0), True):  # a fractional power of a positive base
        return Range(Fraction(0), INF, True, True)
    if k > 0 and a.at_least(Fraction(0), False):
        return Range(Fraction(0), INF, False, True)
    return ANYTHING


def intersect(a: Range, b: Range) -> Range:
    if a.lo > b.lo or (a.lo == b.lo and a.lo_open):
        lo, lo_open = a.lo, a.lo_open
    else:
        lo, lo_open = b.lo, b.lo_open
    if a.hi < b.hi or (a.hi == b.hi and a.hi_open):
        hi, hi_open = a.hi, a.hi_open
    else:
        hi, hi_open = b.hi, b.hi_open
    return Range(lo, hi, lo_open, hi_open)


def hull(a: Range, b: Range) -> Range:
    lo = min(a.lo, b.lo)
    hi = max(a.hi, b.hi)
    lo_open = (a.lo_open if a.lo == lo else True) and (b.lo_open if b.lo == lo else True)
    hi_open = (a.hi_open if a.hi == hi else True) and (b.hi_open if b.hi == hi else True)
    return Range(lo, hi, lo_open, hi_open)


POSITIVE = Range(Fraction(0), INF, True, True)
NONNEGATIVE = Range(Fraction(0), INF, False, True)
UNIT = Range(Fraction(0), Fraction(1), True, True)
PROBABILITY = Range(Fraction(0), Fraction(1), False, False)
_ELEMENTWISE = {
    "exp": lambda r: POSITIVE, "sigmoid": lambda r: UNIT, "softmax": lambda r: UNIT,
    "abs": lambda r: POSITIVE if r.at_least(Fraction(0), True) or r.at_most(Fraction(0), True)
    else NONNEGATIVE,
    "relu": lambda r: r if r.at_least(Fraction(0), False) else NONNEGATIVE,
    "sqrt": lambda r: POSITIVE if r.at_least(Fraction(0), True) else
    NONNEGATIVE if r.at_least(Fraction(0), False) else NONREAL,  # √ of a negative: complex
    "norm": lambda r: NONNEGATIVE, "rms": lambda r: NONNEGATIVE,
}


class Bounds:
    """Ranges of expressions of one claim: ``lookup(name)`` gives a declared name's range
    (the caller folds in bounds, intervals and ``assume`` lines)."""

    def __init__(self, lookup: Callable[[str], Optional[Range]]):
        self.lookup = lookup

    def of(self, e: m.Expr, depth: int = 0) -> Range:
        """The range of ``e``; NONREAL when any part may be complex (a complex name, ``2j``,
        fft) or when a part's range is itself not real."""
        if depth > 40:
            return ANYTHING
        out = self._of(e, depth + 1)
        return out

    def _of(self, e: m.Expr, d: int) -> Range:
        if isinstance(e, m.Num):
            return NONREAL if e.imaginary else point(e.value)
        if isinstance(e, m.Name):
            if e.id == "pi":
                return Range(Fraction(3), Fraction(4), True, True)
            if e.id == "euler":
                return Range(Fraction(2), Fraction(3), True, True)
            if e.id == "euler_gamma":
                return Range(Fraction(1, 2), Fraction(3, 5), True, True)
            return self.lookup(e.id) or ANYTHING
        if isinstance(e, m.Unary) and e.op == "-":
            r = self.of(e.operand, d)
            return neg(r) if r.real else NONREAL
        if isinstance(e, m.Transpose):
            return self.of(e.operand, d)
        if isinstance(e, m.BinOp):
            return self.binop(e, d)
        if isinstance(e, m.Call):
            return self.call(e, d)
        if isinstance(e, m.Block):
            items = [x for row in e.rows for x in row]
            out = None
            for x in items:
                r = self.of(x, d)
                if not r.real:
                    return NONREAL
                out = r if out is None else hull(out, r)
            return out or ANYTHING
        return ANYTHING

    def binop(self, e: m.BinOp, d: int) -> Range:
        a = self.of(e.left, d)
        if not a.real:
            return NONREAL
        if e.op in ("^", ".^") and isinstance(e.right, m.Num) and not e.right.imaginary:
            return power(a, e.right.value)
        b = self.of(e.right, d)
        if not b.real:
            return NONREAL
        if e.op == "+":
            return add(a, b)
        if e.op == "-":
            return add(a, neg(b))
        if e.op in ("*", "⊙"):
            return mul(a, b)
        if e.op == "/":
            return mul(a, reciprocal(b))
        return ANYTHING  # @, ·: sums of products, not ranged here

    def call(self, e: m.Call, d: int) -> Range:
        if e.func == "ones":
            return point(Fraction(1))
        if e.func == "zeros":
            return point(Fraction(0))
        if e.func == "I":
            return PROBABILITY
        args = [self.of(a, d) for a in e.args]
        if e.func in COMPLEX_FUNCS or any(not r.real for r in args):
            return NONREAL
        if e.func in _ELEMENTWISE and args:
            return _ELEMENTWISE[e.func](args[0])
        if e.func in ("max", "min") and args:
            out = args[0]
            for r in args[1:]:
                out = hull(out, r)  # wider than needed, never narrower
            return out
        if e.func == "mean" and args and not e.kwargs:
            return args[0]
        if e.func == "sum" and args and not e.kwargs:  # of a tensor's entries
            if args[0].at_least(Fraction(0), True):
                return POSITIVE
            if args[0].at_least(Fraction(0), False):
                return NONNEGATIVE
        return ANYTHING
