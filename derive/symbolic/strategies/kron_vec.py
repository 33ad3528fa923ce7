"""``vec`` and ``kron`` for symbolic sizes: vec(AXB) = (Bᵀ ⊗ A) vec X and its relatives.

An entry of a vector of length m·n is read through its column-major pair: entry
i = (c − 1)·m + r with r in 1..m and c in 1..n (a bijection, the language's ``vec``), so

* ``vec(M)[i] = M[r, c]`` for an m×n matrix M, and
* ``(P ⊗ Q) @ vec(Y)`` at i is Σₐ Σ_b P[c, b]·Q[r, a]·Y[a, b] for Q of size m×q and P of
  size n×p (the Kronecker entry (P ⊗ Q)[(c−1)m + r, (b−1)q + a] = P[c, b]·Q[r, a]).

Both sides must split their length the same way (the same m and n); the residual at a
symbolic pair (r, c) is then settled like any indexed sum.  Proof-only; refutation is left
to the fixed-size and numeric checks.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.symbolic.common import is_equality, plain, proved, within
from derive.symbolic.lower import Unsupported, fresh, lowering
from derive.symbolic.strategies.indexed import alpha_normal, canonical, settle

NAME = "vec-kron"
SETTLE_S = 1.5


def _call(e: m.Expr, name: str, arity: int) -> bool:
    return isinstance(e, m.Call) and e.func == name and len(e.args) == arity and not e.kwargs


class KronVec:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st) or not plain(ctx, st):
            return None
        a, b = st.operands
        if not any(_call(x, "vec", 1) or (isinstance(x, m.BinOp) and x.op == "@" and
                                          _call(x.left, "kron", 2)) for x in (a, b)):
            return None
        low = lowering(ctx.checked)
        r = sp.Symbol("_vec_r", integer=True, positive=True)  # names no claim can spell
        c = sp.Symbol("_vec_c", integer=True, positive=True)
        try:
            left, split_l = self._side(low, a, r, c)
            right, split_r = self._side(low, b, r, c)
        except Unsupported as exc:
            ctx.notes.append(f"{NAME}: {exc}")
            return None
        if any(sp.simplify(x - y) != 0 for x, y in zip(split_l, split_r)):
            ctx.notes.append(f"{NAME}: the sides split their length differently")
            return None
        ranges = {r: (sp.Integer(1), split_l[0]), c: (sp.Integer(1), split_l[1])}
        diff = within(SETTLE_S, settle, left - right, ranges, default=None)
        if diff is None:
            return None
        diff = sp.expand(diff)
        if diff != 0:
            diff = within(SETTLE_S, lambda: sp.expand(alpha_normal(canonical(diff))), default=diff)
        if diff != 0:
            ctx.notes.append(f"{NAME}: residual {diff}"[:300])
            return None
        return proved(f"lhs − rhs is 0 at every entry (c − 1)·{split_l[0]} + r, r ≤ {split_l[0]}, "
                      f"c ≤ {split_l[1]} "
                      f"(symbolic sizes)", NAME, residual="0", general=True,
                      certificate={"route": "column-major pair index; (P⊗Q)[(c−1)m+r, (b−1)q+a]"
                                            " = P[c,b]·Q[r,a]",
                                   "sizes": [str(split_l[0]), str(split_l[1])]})

    def _side(self, low, e: m.Expr, r: sp.Symbol, c: sp.Symbol):
        """The entry at the pair (r, c) and the split (m, n) of the side's length."""
        if _call(e, "vec", 1):
            t = low.vtype(e.args[0])
            if t.kind != "tensor" or len(t.shape) != 2 or any(d is None for d in t.shape):
                raise Unsupported("vec of a non-matrix")
            return low.entry(e.args[0], (r, c)), tuple(t.shape)
        if isinstance(e, m.BinOp) and e.op == "@" and _call(e.left, "kron", 2) and \
                _call(e.right, "vec", 1):
            p, q = e.left.args
            tp, tq, ty = low.vtype(p), low.vtype(q), low.vtype(e.right.args[0])
            if any(t.kind != "tensor" or len(t.shape) != 2 or any(d is None for d in t.shape)
                   for t in (tp, tq, ty)):
                raise Unsupported("kron of non-matrices")
            if sp.simplify(ty.shape[0] - tq.shape[1]) != 0 or \
                    sp.simplify(ty.shape[1] - tp.shape[1]) != 0:
                raise Unsupported("kron and vec sizes do not pair up")
            ia, ib = fresh("a"), fresh("b")
            body = low.entry(p, (c, ib)) * low.entry(q, (r, ia)) * low.entry(e.right.args[0], (ia, ib))
            total = sp.Sum(body, (ia, 1, tq.shape[1]), (ib, 1, tp.shape[1]))
            return total, (tq.shape[0], tp.shape[0])
        raise Unsupported("a side that is neither vec(M) nor kron(P, Q) @ vec(Y)")
