"""Sums over shifted ranges brought to ranges that start at 1 and read unshifted entries,
so that Σ_{l=2}^{n+1} v[l−1] meets Σ_{l=1}^{n} v[l] and a split ‖x[k+1..n]‖² meets the
difference Σ_{1}^{n} − Σ_{1}^{k}.

Both rewrites are identities of SymPy's ``Sum`` for every integer range, empty or not:
SymPy sums follow Karr's convention, under which Σ_{i=a}^{b} f(i) = Σ_{i=1}^{b−a+1}
f(i + a − 1) and Σ_{a}^{b} + Σ_{b+1}^{c} = Σ_{a}^{c} hold whatever a, b, c are (the
lowering turns a range that may be empty in the mathematical sense into a piecewise
before any Sum is built, see ``Lowering.binder``).
"""
from __future__ import annotations

from typing import Optional

import sympy as sp


def _offset(body: sp.Expr, i: sp.Symbol) -> Optional[sp.Expr]:
    """The s with every index that mentions i being i + s, when there is one such s ≠ 0."""
    offsets = set()
    for x in body.atoms(sp.Indexed):
        for k in x.indices:
            if i in k.free_symbols:
                s = sp.expand(k - i)
                if i in s.free_symbols:
                    return None
                offsets.add(s)
    if len(offsets) != 1:
        return None
    s = offsets.pop()
    if s == 0 or not s.is_integer or s.is_negative:
        return None
    return s


def shift_sums(expr: sp.Expr) -> sp.Expr:
    """Every one-index sum started at 1, and Σ_{i=1}^{m} f(i + s) written as
    Σ_{i=1}^{m+s} f(i) − Σ_{i=1}^{s} f(i) for the one offset s its entries share."""
    def move(s: sp.Sum) -> sp.Expr:
        if len(s.limits) != 1:
            return s
        i, lo, hi = s.limits[0]
        body = s.function
        if not (lo.is_integer and hi.is_integer):
            return s  # Karr's identities are for integer ranges
        if lo != 1:
            body, hi = body.xreplace({i: i + lo - 1}), sp.expand(hi - lo + 1)
        off = _offset(body, i)
        if off is None:
            return sp.Sum(body, (i, 1, hi))
        body = sp.expand(body.xreplace({i: i - off}))
        return sp.Sum(body, (i, 1, sp.expand(hi + off))) - sp.Sum(body, (i, 1, off))
    return expr.replace(lambda x: isinstance(x, sp.Sum), move)


MAX_UNROLL = 16  # terms of a sum over a literal range written out


def unroll_literal(expr: sp.Expr) -> sp.Expr:
    """A sum over a literal range of at most MAX_UNROLL terms written out term by term
    (Σ_{h=1}^{3} Wₕrₕ = W₁r₁ + W₂r₂ + W₃r₃), so that it meets the same terms written
    by hand; ranges of other indices that mention h get its value too."""
    def out(s: sp.Sum) -> sp.Expr:
        for pos, (i, lo, hi) in enumerate(s.limits):
            if lo.is_Integer and hi.is_Integer and 0 <= hi - lo + 1 <= MAX_UNROLL:
                rest = s.limits[:pos] + s.limits[pos + 1:]
                terms = []
                for v in range(int(lo), int(hi) + 1):
                    body = s.function.xreplace({i: sp.Integer(v)})
                    limits = [(x, a.xreplace({i: sp.Integer(v)}), b.xreplace({i: sp.Integer(v)}))
                              for x, a, b in rest]
                    terms.append(sp.Sum(body, *limits) if limits else body)
                return sp.Add(*terms)
        return s
    return expr.replace(lambda x: isinstance(x, sp.Sum), out)


def merged_products(expr: sp.Expr) -> sp.Expr:
    """Each product of sums over independent ranges as one sum over all their indices
    (Σᵢ f · Σⱼ g = Σᵢⱼ f g, finite sums), bound indices renamed apart; applied inside
    every subexpression (a denominator too), after expanding."""
    def merge(term: sp.Expr) -> sp.Expr:
        if not isinstance(term, sp.Mul):
            return term
        sums = [f for f in term.args if isinstance(f, sp.Sum)]
        if len(sums) < 2:
            return term
        body, limits = sp.Integer(1), []
        for s in sums:
            fresh = {v: sp.Dummy(f"m{v.name}", integer=True) for v, _, _ in s.limits}
            body *= s.function.xreplace(fresh)
            limits += [(fresh[v], lo, hi) for v, lo, hi in s.limits]
        bound = {v for v, _, _ in limits}
        if any((lo.free_symbols | hi.free_symbols) & bound for _, lo, hi in limits):
            return term
        rest = sp.Mul(*[f for f in term.args if not isinstance(f, sp.Sum)])
        return rest * sp.Sum(body, *limits)

    def walk(e: sp.Expr) -> sp.Expr:
        if e.is_Atom or isinstance(e, sp.Indexed):
            return e
        e = e.func(*[walk(a) for a in e.args])
        if isinstance(e, sp.Add):
            return sp.Add(*[merge(t) for t in e.args])
        return merge(e)
    return walk(sp.expand(expr))
