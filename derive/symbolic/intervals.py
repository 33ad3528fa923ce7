"""Solution sets of conditions in one real variable, as lists of intervals whose
endpoints are compared with decided signs — SymPy's own set equality is not trusted
(``Interval ∩ Interval`` with symbolic ends stays unevaluated)."""
from __future__ import annotations

from typing import Optional

import sympy as sp
from sympy.solvers.inequalities import solve_univariate_inequality

from derive.symbolic.common import sign_of
from derive.symbolic.lower import Lowering


class Undecided(Exception):
    """A set operation whose outcome depends on signs we could not decide."""


Pieces = list  # list[sp.Interval], pairwise disjoint is not required


def truth_set(cond: sp.Basic, v: sp.Symbol) -> sp.Set:
    """The set of real ``v`` where a relational holds (parameters stay symbolic)."""
    if cond is sp.true:
        return sp.S.Reals
    if cond is sp.false:
        return sp.S.EmptySet
    if isinstance(cond, sp.And):
        out = sp.S.Reals
        for a in cond.args:
            out = sp.Intersection(out, truth_set(a, v))
        return out
    if isinstance(cond, sp.Or):
        return sp.Union(*[truth_set(a, v) for a in cond.args])
    if isinstance(cond, sp.Not):
        return sp.Complement(sp.S.Reals, truth_set(cond.args[0], v))
    if isinstance(cond, (sp.Eq, sp.Ne)):
        return sp.solveset(cond, v, sp.S.Reals)
    if isinstance(cond, sp.Rel):
        if v not in cond.free_symbols:
            raise Undecided("condition does not involve the variable")
        return solve_univariate_inequality(cond, v, relational=False, domain=sp.S.Reals)
    raise Undecided(f"not a condition: {type(cond).__name__}")


def pieces(s: sp.Set, low: Lowering) -> Pieces:
    """A set as a list of intervals, deciding symbolic endpoint order with the assumptions."""
    if s is sp.S.EmptySet:
        return []
    if s is sp.S.Reals:
        return [sp.Interval(-sp.oo, sp.oo)]
    if isinstance(s, sp.Interval):
        return [s]
    if isinstance(s, sp.FiniteSet):
        return [sp.Interval(p, p) for p in s.args]
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
            c = _cmp(a.start, b.start, low)
            lo, lo_open = (a.start, a.left_open) if c > 0 else (b.start, b.left_open) if c < 0 else \
                (a.start, a.left_open or b.left_open)
            c = _cmp(a.end, b.end, low)
            hi, hi_open = (a.end, a.right_open) if c < 0 else (b.end, b.right_open) if c > 0 else \
                (a.end, a.right_open or b.right_open)
            width = _cmp(hi, lo, low)
            if width < 0 or (width == 0 and (lo_open or hi_open)):
                continue
            out.append(sp.Interval(lo, hi, lo_open, hi_open))
    return out


def same(xs: Pieces, ys: Pieces, low: Lowering) -> bool:
    """Equal as lists of intervals (exact endpoint and openness agreement)."""
    if len(xs) != len(ys):
        return False
    key = lambda iv: (str(iv.start), str(iv.end))  # noqa: E731
    for a, b in zip(sorted(xs, key=key), sorted(ys, key=key)):
        if _cmp(a.start, b.start, low) != 0 or _cmp(a.end, b.end, low) != 0:
            return False
        if a.start != -sp.oo and a.left_open != b.left_open:
            return False
        if a.end != sp.oo and a.right_open != b.right_open:
            return False
    return True


def contained(xs: Pieces, ys: Pieces, low: Lowering) -> bool:
    """Every interval of xs lies inside one interval of ys."""
    for a in xs:
        ok = False
        for b in ys:
            lo, hi = _cmp(a.start, b.start, low), _cmp(a.end, b.end, low)
            if lo < 0 or hi > 0:
                continue
            if lo == 0 and b.left_open and not a.left_open and a.start != -sp.oo:
                continue
            if hi == 0 and b.right_open and not a.right_open and a.end != sp.oo:
                continue
            ok = True
            break
        if not ok:
            return False
    return True


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
        return sp.nsimplify((a + b) / 2, rational=True) if not (a + b).is_Rational else (a + b) / 2
    if isinstance(s, (sp.Union, sp.Complement, sp.Intersection)):
        for part in getattr(s, "args", ()):
            if isinstance(s, sp.Union):
                p = point_in(part)
                if p is not None:
                    return p
    return None
