"""The binomial theorem for Σ over a symbolic size (derive/symbolic/binomial_sums.py)."""
from __future__ import annotations

import sympy as sp

from derive.symbolic.binomial_sums import binomial_sum

n = sp.Symbol("n", integer=True, positive=True)
l = sp.Symbol("l", integer=True)
x = sp.Symbol("x", real=True)


def brute(body: sp.Expr, lo: int, size: int, at: dict) -> sp.Expr:
    return sum((body.subs({n: size, l: k, **at}) for k in range(lo, size + 1)), sp.Integer(0))


def test_closed_form_matches_the_sum_for_small_sizes_and_any_ratio():
    for body, lo in [(sp.binomial(n, l) * x ** l, 0), (sp.binomial(n, l) * x ** (l - 1), 1),
                     (3 * sp.binomial(n, l) * (-x) ** l, 2), (sp.binomial(n, l) * 2 ** l, 4)]:
        closed = binomial_sum(body, l, sp.Integer(lo), n)
        assert closed is not None
        for size in range(0, 7):
            for v in (sp.Rational(-5, 2), sp.Rational(7, 3), sp.Integer(3)):
                assert sp.simplify(closed.subs({n: size, x: v}) - brute(body, lo, size, {x: v})) == 0


def test_terms_that_are_not_geometric_are_left_alone():
    assert binomial_sum(l * sp.binomial(n, l), l, sp.Integer(0), n) is None
    assert binomial_sum(sp.binomial(n, l) * x ** (l ** 2), l, sp.Integer(0), n) is None
    assert binomial_sum(sp.binomial(n + 1, l) * x ** l, l, sp.Integer(0), n) is None   # top ≠ hi
    assert binomial_sum(sp.binomial(n, l) * x ** l, l, sp.Integer(0), n - 1) is None
    assert binomial_sum(sp.binomial(n, l) * x ** l, l, sp.Integer(9), n) is None     # long head
    real = sp.Symbol("r", real=True)
    assert binomial_sum(sp.binomial(real, l) * x ** l, l, sp.Integer(0), real) is None
