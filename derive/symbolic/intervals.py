"""Solution sets of conditions in one real variable, as lists of intervals whose
endpoints are compared with decided signs — SymPy's own set equality is not trusted
(``Interval ∩ Interval`` with symbolic ends stays unevaluated)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import sympy as sp
from sympy.solvers.inequalities import solve_univariate_inequality

from derive.symbolic.common import sign_of
from derive.symbolic.lower import Lowering


class Undecided(Exception):
    """A set operation whose outcome depends on signs we could not decide."""


@dataclass(frozen=True)
class Piece:
    """An interval [lo, hi] with open/closed ends; lo == hi (closed) is a point."""

    lo: sp.Expr
    hi: sp.Expr
    lo_open: bool
    hi_open: bool

    def __str__(self) -> str:
        if self.lo == self.hi:
            return f"{{{self.lo}}}"
        return f"{'(' if self.lo_open else '['}{self.lo}, {self.hi}{')' if self.hi_open else ']'}"


Pieces = list  # list[Piece]
REALS = Piece(-sp.oo, sp.oo, True, True)


PERIODIC = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)


def periodic_in(cond: sp.Basic, v: sp.Symbol) -> bool:
    """True when v occurs inside a periodic function: SymPy's inequality solver then
    answers over one period only (``solvify`` intersects with [0, period))."""
    return any(isinstance(f, PERIODIC) and v in f.free_symbols for f in sp.preorder_traversal(cond))


def truth_set(cond: sp.Basic, v: sp.Symbol, domain: Optional[sp.Set] = None,
              generic: bool = False) -> sp.Set:
    """The set of ``v`` in ``domain`` (default: the reals) where a condition holds.

    Only exact answers are given: a condition with periodic functions of v is solved
    only over a bounded interval where every root set is finite, otherwise
    :class:`Undecided`.  ``generic=True`` (counterexample candidates only, each checked
    exactly afterwards) accepts SymPy's one-period answers.
    """
    domain = sp.S.Reals if domain is None else domain
    if not generic and periodic_in(cond, v):
        if not (isinstance(domain, sp.Interval) and domain.start.is_finite and domain.end.is_finite):
            raise Undecided(f"{cond} is periodic in {v} over an unbounded domain")
        for rel in sp.preorder_traversal(cond):
            if isinstance(rel, sp.Rel):
                roots = sp.solveset(rel.lhs - rel.rhs, v, domain)
                if not isinstance(roots, sp.FiniteSet) and roots is not sp.S.EmptySet:
                    raise Undecided(f"roots of {rel} in {domain} are not a finite set")
    return _truth_set(cond, v, domain)


def _truth_set(cond: sp.Basic, v: sp.Symbol, domain: sp.Set) -> sp.Set:
    if cond is sp.true:
        return domain
    if cond is sp.false:
        return sp.S.EmptySet
    if v not in cond.free_symbols:
        # a condition on the parameters only: SymPy's solveset answers EmptySet for
        # Ne(a, b) in x, which made premises vanish and proofs vacuous
        raise Undecided(f"condition {cond} does not involve {v}")
    if isinstance(cond, sp.And):
        out = domain
        for a in cond.args:
            out = sp.Intersection(out, _truth_set(a, v, domain))
        return out
    if isinstance(cond, sp.Or):
        return sp.Union(*[_truth_set(a, v, domain) for a in cond.args])
    if isinstance(cond, sp.Not):
        return sp.Complement(domain, _truth_set(cond.args[0], v, domain))
    if isinstance(cond, (sp.Eq, sp.Ne)):
        return sp.solveset(cond, v, domain)
    if isinstance(cond, sp.Rel):
        return solve_univariate_inequality(cond, v, relational=False, domain=domain)
    raise Undecided(f"not a condition: {type(cond).__name__}")


def pieces(s: sp.Set, low: Lowering) -> Pieces:
    """A set as a list of pieces, deciding symbolic endpoint order with the assumptions."""
    if s is sp.S.EmptySet:
        return []
    if s is sp.S.Reals:
        return [REALS]
    if isinstance(s, sp.Interval):
        return [Piece(s.start, s.end, bool(s.left_open), bool(s.right_open))]
    if isinstance(s, sp.FiniteSet):
        if not all(p.is_real for p in s.args):
            raise Undecided("points not known to be real")
        return [Piece(p, p, False, False) for p in s.args]
    if isinstance(s, sp.Union):
        return [p for a in s.args for p in pieces(a, low)]
    if isinstance(s, sp.Intersection):
        parts = [pieces(a, low) for a in s.args]
        out = parts[0]
        for other in parts[1:]:
            out = intersect(out, other, low)
        return out
    raise Undecided(f"cannot split {type(s).__name__} into intervals")


def _cmp(a: sp.Expr, b: sp.Expr, low: Lowering) -> int:
    if a == b:
        return 0
    if a in (sp.oo, -sp.oo) or b in (sp.oo, -sp.oo):
        if a == -sp.oo or b == sp.oo:
            return -1
        return 1
    s = sign_of(a - b, low)
    if s is None:
        raise Undecided(f"cannot order {a} and {b}")
    return s


def intersect(xs: Pieces, ys: Pieces, low: Lowering) -> Pieces:
    out = []
    for a in xs:
        for b in ys:
            c = _cmp(a.lo, b.lo, low)
            lo, lo_open = (a.lo, a.lo_open) if c > 0 else (b.lo, b.lo_open) if c < 0 else \
                (a.lo, a.lo_open or b.lo_open)
            c = _cmp(a.hi, b.hi, low)
            hi, hi_open = (a.hi, a.hi_open) if c < 0 else (b.hi, b.hi_open) if c > 0 else \
                (a.hi, a.hi_open or b.hi_open)
            width = _cmp(hi, lo, low)
            if width < 0 or (width == 0 and (lo_open or hi_open)):
                continue
            out.append(Piece(lo, hi, lo_open, hi_open))
    return out


def same(xs: Pieces, ys: Pieces, low: Lowering) -> bool:
    """Equal as lists of pieces (exact endpoint and openness agreement)."""
    if len(xs) != len(ys):
        return False
    key = lambda p: (str(p.lo), str(p.hi))  # noqa: E731
    for a, b in zip(sorted(xs, key=key), sorted(ys, key=key)):
        if _cmp(a.lo, b.lo, low) != 0 or _cmp(a.hi, b.hi, low) != 0:
            return False
        if a.lo != -sp.oo and a.lo_open != b.lo_open:
            return False
        if a.hi != sp.oo and a.hi_open != b.hi_open:
            return False
    return True


def contained(xs: Pieces, ys: Pieces, low: Lowering) -> bool:
    """Every piece of xs lies inside one piece of ys."""
    for a in xs:
        ok = False
        for b in ys:
            lo, hi = _cmp(a.lo, b.lo, low), _cmp(a.hi, b.hi, low)
            if lo < 0 or hi > 0:
                continue
            if lo == 0 and b.lo_open and not a.lo_open and a.lo != -sp.oo:
                continue
            if hi == 0 and b.hi_open and not a.hi_open and a.hi != sp.oo:
                continue
            ok = True
            break
        if not ok:
            return False
    return True


def describe(ps: Pieces) -> str:
    return " ∪ ".join(str(p) for p in ps) if ps else "∅"


def point_in(s: sp.Set) -> Optional[sp.Expr]:
    """A rational point inside a numeric set (for counterexamples), or None."""
    if s is sp.S.EmptySet:
        return None
    if isinstance(s, sp.FiniteSet):
        return s.args[0] if s.args and s.args[0].is_real else None
    if isinstance(s, sp.Interval):
        a, b = s.start, s.end
        if a == -sp.oo and b == sp.oo:
            return sp.Integer(0)
        if a == -sp.oo:
            return sp.floor(b) - 1
        if b == sp.oo:
            return sp.ceiling(a) + 1
        if a == b:
            return a
        mid = (a + b) / 2
        return mid if mid.is_Rational else sp.nsimplify(mid.evalf(30), rational=True)
    if isinstance(s, sp.Union):
        for part in s.args:
            p = point_in(part)
            if p is not None:
                return p
    return None
