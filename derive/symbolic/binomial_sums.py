"""The binomial theorem for sums over a symbolic size, applied as Σ is lowered.

``Σ_{l=a}^{n} C(n, l)·c·rˡ = c·((1 + r)ⁿ − Σ_{l<a} C(n, l)·rˡ)`` for an integer n ≥ 0 and a
small constant a (C(n, l) = 0 for l > n, so the identity also holds when the range is
empty).  SymPy's own summation gives this only under a convergence condition (|r| ≤ 1)
and leaves the sum unevaluated otherwise, so ``Σ_{l=1}^{L} C(L, l)·s^(l−1) == ((1+s)^L −
1)/s`` went unproved for s > 0.  The term must be exactly ``C(n, l)`` times ``c·rˡ`` with
c and r free of l (checked by simplification); anything else is left to SymPy.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

MAX_LOW = 4   # the lower limit a: the subtracted head has a terms


def binomial_sum(body: sp.Expr, i: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> Optional[sp.Expr]:
    """Σ_{i=lo}^{hi} body in closed form by the binomial theorem, or None."""
    if not (isinstance(lo, sp.Integer) and 0 <= int(lo) <= MAX_LOW):
        return None
    if not (hi.is_integer and hi.is_nonnegative) or hi.has(i):
        return None
    picks = [f for f in sp.Mul.make_args(body)
             if isinstance(f, sp.binomial) and f.args[0] == hi and f.args[1] == i]
    if len(picks) != 1:
        return None
    rest = body / picks[0]
    if rest.has(sp.binomial, sp.Sum, sp.Product, sp.Piecewise):
        return None
    ratio = sp.simplify(sp.powsimp(rest.subs(i, i + 1) / rest))
    if ratio.has(i) or ratio.has(sp.nan, sp.zoo):
        return None
    head = rest.subs(i, 0)
    if head.has(sp.nan, sp.zoo) or sp.simplify(sp.powsimp(rest - head * ratio ** i)) != 0:
        return None
    partial = sum((sp.binomial(hi, k) * ratio ** k for k in range(int(lo))), sp.Integer(0))
    return head * ((1 + ratio) ** hi - partial)
