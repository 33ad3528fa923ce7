"""Indices over a Kronecker product's axes split into block and in-block indices.

Entry r of an axis of size P·Q of X ⊗ Y reads X at a = ⌈r/Q⌉ and Y at b = r − (a − 1)Q
(``Lowering.entry``).  Writing r = (a − 1)Q + b with a ∈ 1..P and b ∈ 1..Q is a bijection
from the pairs onto 1..P·Q, so a sum over r becomes a double sum over (a, b) and a free
entry index r becomes the free pair (a, b) — both exact — after which ⌈((a − 1)Q + b)/Q⌉
is a (0 < b/Q ≤ 1) and the entries read X[a, …]·Y[b, …] with plain indices.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

_COUNT = iter(range(10 ** 9))


def _block_size(expr: sp.Expr, r: sp.Symbol, size: sp.Expr) -> Optional[sp.Expr]:
    """Q where expr reads ⌈r/Q⌉ and Q divides the range size (P = size/Q a polynomial)."""
    for c in expr.atoms(sp.ceiling):
        arg = sp.expand(c.args[0])
        q = sp.cancel(r / arg) if arg.has(r) else None
        if q is None or q.has(r) or not q.is_positive or not (q.is_Integer or q.free_symbols):
            continue
        num, den = sp.fraction(sp.cancel(size / q))
        if den == 1 and num.is_polynomial() and num.is_positive:
            return q
    return None


def _pair(q: sp.Expr) -> tuple:
    n = next(_COUNT)
    return (sp.Symbol(f"_ka{n}", integer=True, positive=True),
            sp.Symbol(f"_kb{n}", integer=True, positive=True))


def _settle_ceilings(expr: sp.Expr, pairs: list) -> sp.Expr:
    """⌈z + b/Q⌉ = z + 1 for an integer z and 1 ≤ b ≤ Q."""
    def settle(c: sp.ceiling) -> sp.Expr:
        for b, q in pairs:
            z = sp.expand(c.args[0] - b / q)
            if z.is_integer:
                return z + 1
        return c
    return expr.replace(lambda x: isinstance(x, sp.ceiling), settle)


def split_kron(expr: sp.Expr, ranges: dict) -> tuple[sp.Expr, dict]:
    """Split every free index (in ``ranges``, from 1) and every summation index (from 1)
    that some ⌈r/Q⌉ reads; returns the new expression and ranges."""
    if not expr.has(sp.ceiling):
        return expr, ranges
    pairs: list = []
    ranges = dict(ranges)
    for r, (lo, hi) in list(ranges.items()):
        q = _block_size(expr, r, hi) if lo == 1 else None
        if q is not None:
            a, b = _pair(q)
            expr = expr.xreplace({r: (a - 1) * q + b})
            del ranges[r]
            ranges[a], ranges[b] = (sp.Integer(1), sp.cancel(hi / q)), (sp.Integer(1), q)
            pairs.append((b, q))

    def split(s: sp.Sum) -> sp.Expr:
        body, limits, changed = s.function, list(s.limits), False
        bound = {v for v, _, _ in limits}
        for pos in range(len(limits) - 1, -1, -1):
            k, lo, hi = limits[pos]
            if (lo.free_symbols | hi.free_symbols) & bound:
                continue
            q = _block_size(body, k, hi) if lo == 1 else None
            if q is None:
                continue
            a, b = _pair(q)
            pairs.append((b, q))
            at = {k: (a - 1) * q + b}
            body = body.xreplace(at)
            limits = [(v, x.xreplace(at), y.xreplace(at)) for v, x, y in limits]
            limits[pos:pos + 1] = [(b, sp.Integer(1), q), (a, sp.Integer(1), sp.cancel(hi / q))]
            changed = True
        return sp.Sum(body, *limits) if changed else s
    expr = expr.replace(lambda x: isinstance(x, sp.Sum), split)
    return _settle_ceilings(expr, pairs), ranges
