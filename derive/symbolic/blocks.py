"""Block matrices ``[A; B]``, ``[A, B]`` entrywise for symbolic sizes, and sums over a
stacked index split at the blocks' boundary.

An entry of a block matrix is a ``Piecewise`` on the row (then the column) index:
``[A; B][i, j] = A[i, j] if i ≤ h_A else B[i − h_A, j]``.  A sum over such an index,
``Σₖ₌ₗₒ^{hi} f(k)`` with a piece ``… if k ≤ c`` inside f (at any depth: in an exponent,
an inner sum), is ``Σₖ₌ₗₒ^{c} f(k)|_{k ≤ c} + Σ_{k'=1}^{hi − c} f(c + k')|_{k > c}`` when
both lengths are provably ≥ 0 — so the softmax over ``[K₁; K₂] @ q`` becomes the two
tiles' sums.  A sum over a small numeric range (``Σ_{h=1}^{3}``) is written out, so a block
row of three heads meets a sum over the heads.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import sympy as sp

from derive import model as m
from derive.semantics import block_extent as _hw

if TYPE_CHECKING:  # pragma: no cover
    from derive.symbolic.lower import Lowering


def block_entry(low: "Lowering", e: m.Block, idx: tuple, env: dict) -> Optional[sp.Expr]:
    """Entry ``idx`` of a block matrix whose parts are scalars, vectors and matrices."""
    types = [[low.vtype(x, env) for x in row] for row in e.rows]
    if any(t.kind not in ("scalar", "tensor") for row in types for t in row):
        return None
    if all(t.kind == "scalar" for row in types for t in row):
        return None  # a literal of numbers: left to the fixed-size lowering
    i, j = (idx[0], sp.Integer(1)) if len(idx) == 1 else idx
    row_pieces, top = [], sp.Integer(0)
    for r, row in enumerate(e.rows):
        height = _hw(types[r][0])[0]
        col_pieces, left = [], sp.Integer(0)
        for x, t in zip(row, types[r]):
            h, w = _hw(t)
            if h is None or w is None:
                return None
            ii, jj = i - top, j - left
            if t.kind == "scalar" or t.is_scalar:
                value = low.scalar(x, env)
            elif len(t.shape) == 1:
                value = low.entry(x, (ii,), env)
            else:
                value = low.entry(x, (ii, jj), env)
            col_pieces.append((value, sp.Le(j, left + w)))
            left = left + w
        col_pieces[-1] = (col_pieces[-1][0], True)
        inner = col_pieces[0][0] if len(col_pieces) == 1 else sp.Piecewise(*col_pieces)
        row_pieces.append((inner, sp.Le(i, top + height)))
        top = top + height
    row_pieces[-1] = (row_pieces[-1][0], True)
    return row_pieces[0][0] if len(row_pieces) == 1 else sp.Piecewise(*row_pieces)


def _cut(piece: sp.Piecewise, k: sp.Symbol) -> Optional[sp.Expr]:
    """c when the piece's first condition is k ≤ c (c free of k), also as a·k + b ≤ 0
    with a positive rational a (SymPy's form of 2h ≥ h + k)."""
    cond = piece.args[0].cond
    if not isinstance(cond, (sp.LessThan, sp.GreaterThan)):  # k ≤ c, printed c ≥ k
        return None
    d = sp.expand(cond.lts - cond.gts)
    a = sp.diff(d, k)
    if not (a.is_Rational and a > 0) or k in (d - a * k).free_symbols:
        return None
    return sp.expand(-(d - a * k) / a)


SMALL = 8  # a sum over a numeric range of at most this many terms is written out


def unroll_small(e: sp.Expr) -> sp.Expr:
    """Σ over a numeric range of at most SMALL terms written out term by term (the other
    ranges of the same sum must not depend on its index)."""
    def unroll(s: sp.Sum) -> sp.Expr:
        for pos, (v, lo, hi) in enumerate(s.limits):
            if not (lo.is_Integer and hi.is_Integer and 0 <= hi - lo + 1 <= SMALL):
                continue
            others = s.limits[:pos] + s.limits[pos + 1:]
            if any(v in (a.free_symbols | b.free_symbols) for _, a, b in others):
                continue
            terms = [s.function.xreplace({v: sp.Integer(x)}) for x in range(int(lo), int(hi) + 1)]
            return sp.Add(*[sp.Sum(t, *others) if others else t for t in terms])
        return s
    return e.replace(lambda x: isinstance(x, sp.Sum), unroll)


def split_stacked(e: sp.Expr) -> sp.Expr:
    """Every sum over a stacked index split at its first boundary (innermost first)."""
    def split(s: sp.Sum) -> sp.Expr:
        if len(s.limits) != 1:
            return s
        k, lo, hi = s.limits[0]
        for p in s.function.atoms(sp.Piecewise):
            c = _cut(p, k)
            if c is None or c.is_integer is not True or not (
                    sp.expand(c - lo + 1).is_nonnegative and sp.expand(hi - c).is_nonnegative):
                continue
            first = s.function.replace(lambda x: isinstance(x, sp.Piecewise) and _cut(x, k) == c,
                                       lambda x: x.args[0].expr)
            kp = sp.Dummy("k", integer=True, positive=True)
            second = s.function.xreplace({k: c + kp})  # k > c: the first piece's test fails
            if second.has(sp.Piecewise) and any(_cut(q, kp) is not None and
                                                sp.expand(_cut(q, kp)).is_nonpositive
                                                for q in second.atoms(sp.Piecewise)):
                return s  # SymPy did not drop the failed test: leave the sum alone
            return sp.Sum(first, (k, lo, c)) + sp.Sum(second, (kp, 1, sp.expand(hi - c)))
        return s
    return e.replace(lambda x: isinstance(x, sp.Sum) and x.function.has(sp.Piecewise), split)
