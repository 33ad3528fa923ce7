"""Tensor expressions as words over non-commuting matrix symbols, and equality of words.

Used where an identity holds in the algebra of matrices with symbolic sizes: a
recurrence's induction step (``A·Aᵗ = Aᵗ⁺¹``) and a recurrence unrolled at a literal
step (``x[2] = A B u₁ + B u₂``).  Declared vectors and matrices are non-commuting
symbols, scalars commute with everything, ``Mᵀ`` of a declared name is its own symbol
(the name itself when M is symmetric), a transpose of a product reverses it, ``x · y``
of vectors is the word xᵀy, and a power Aᵉ of one declared matrix stays a power whose
adjacent copies merge (Aᵃ·Aᵇ = Aᵃ⁺ᵇ for integers a, b ≥ 0, A⁰ = I).  Equality is
word by word, so it is sound for every size and incomplete (a 1×1 word is not moved
past another one).
"""
from __future__ import annotations

from typing import Callable, Optional

import sympy as sp

from derive import model as m
from derive.semantics import walk
from derive.symbolic.lower import Lowering, Unsupported, map_model

SYMMETRIC = frozenset({"symmetric", "spd", "psd"})
MAX_UNROLL = 16  # terms of a sum over a literal range written out


class Words:
    """The word lowering of one claim; ``special`` lowers nodes a caller owns (the
    stand-in for G[t]) or returns None."""

    def __init__(self, low: Lowering, special: Optional[Callable[[m.Expr], Optional[sp.Expr]]] = None,
                 owned: Optional[dict] = None):
        self.low = low
        self.special = special or (lambda e: None)
        self.owned = owned or {}  # name ↦ rank of the names only ``special`` understands

    # ------------------------------------------------------------ atoms
    def tensor(self, name: str, transposed: bool = False) -> sp.Symbol:
        info = self.low.info(name)
        if info is None or info.role != "tensor" or len(info.vtype.shape) not in (1, 2):
            raise Unsupported(f"'{name}' is not a declared vector or matrix")
        if transposed and not info.props & SYMMETRIC:
            return sp.Symbol(name + "ᵀ", commutative=False)
        return sp.Symbol(name, commutative=False)

    def transposed(self, x: sp.Expr) -> sp.Expr:
        """xᵀ: sums termwise, products reversed, each factor transposed."""
        if x.is_commutative:
            return x
        if isinstance(x, sp.Add):
            return sp.Add(*[self.transposed(a) for a in x.args])
        if isinstance(x, sp.Mul):
            c, nc = x.args_cnc()
            return sp.Mul(*c) * sp.Mul(*[self.transposed(f) for f in reversed(nc)])
        if isinstance(x, sp.Pow):
            return sp.Pow(self.transposed(x.base), x.exp, evaluate=False)
        if isinstance(x, sp.Symbol):
            name = x.name[:-1] if x.name.endswith("ᵀ") else x.name
            return self.tensor(name, transposed=not x.name.endswith("ᵀ"))
        raise Unsupported(f"transpose of {x}")

    # ------------------------------------------------------------ lowering
    def _scalar(self, e: m.Expr) -> Optional[sp.Expr]:
        if any(isinstance(x, m.Name) and x.id in self.owned for x in walk(e)):
            return None
        try:
            if self.low.is_scalar(e):
                value = self.low.scalar(e)  # scalars commute (t, c, u[1], sizes)
                # a contraction (C · B) stays a word, so that it meets Cᵀ @ x written out
                return None if value.has(sp.Sum) else value
        except Unsupported:
            return None
        return None

    def lower(self, e: m.Expr) -> sp.Expr:
        mine = self.special(e)
        if mine is not None:
            return mine
        s = self._scalar(e)
        if s is not None:
            return s
        if isinstance(e, m.Name):
            info = self.low.info(e.id)
            if info is not None and info.role == "define" and len(info.statement.names) == 1:
                return self.lower(info.statement.value)
            return self.tensor(e.id)
        if isinstance(e, m.Transpose):
            if isinstance(e.operand, m.Name) and getattr(self.low.info(e.operand.id), "role",
                                                         None) == "tensor":
                return self.tensor(e.operand.id, transposed=True)
            return self.transposed(self.lower(e.operand))
        if isinstance(e, m.Unary):
            return -self.lower(e.operand)
        if isinstance(e, m.Call) and e.func == "I":
            return sp.Integer(1)
        if isinstance(e, m.Call) and e.func == "zeros":
            return sp.Integer(0)
        if isinstance(e, m.Call) and e.func == "sum" and len(e.args) == 1 and e.kwargs:
            return self._literal_sum(e)
        if isinstance(e, m.Index):
            return self.lower(self._pick(e))
        if isinstance(e, m.BinOp):
            return self._binop(e)
        raise Unsupported(f"no matrix-word lowering for {type(e).__name__}")

    def _literal_sum(self, e: m.Call) -> sp.Expr:
        """sum(i = a..b, body) over a literal range: the terms written out."""
        if len(e.kwargs) != 1 or not isinstance(e.kwargs[0][1], m.Range):
            raise Unsupported("a sum that is not over one range")
        key, rng = e.kwargs[0]
        lo, hi = self.low.scalar(rng.lo), self.low.scalar(rng.hi)
        if not (lo.is_Integer and hi.is_Integer and 0 <= hi - lo + 1 <= MAX_UNROLL):
            raise Unsupported("a sum over a symbolic or long range")
        return sp.Add(*[self.lower(substitute(e.args[0], key, int(v)))
                        for v in range(int(lo), int(hi) + 1)])

    def _pick(self, e: m.Index) -> m.Expr:
        """K[k] of a defined block literal at a literal k: its k-th element."""
        base = e.base
        while isinstance(base, m.Name) and getattr(self.low.info(base.id), "role", None) == "define":
            base = self.low.info(base.id).statement.value
        if not isinstance(base, m.Block) or len(e.indices) != 1:
            raise Unsupported("an entry of a tensor in a matrix word")
        k = self.low.scalar(e.indices[0])
        if len(base.rows) > 1 and any(len(r) != 1 for r in base.rows):
            raise Unsupported("an entry of a block matrix")
        cells = base.rows[0] if len(base.rows) == 1 else tuple(r[0] for r in base.rows)
        if not all(self.low.is_scalar(c) for c in cells):
            raise Unsupported("an entry of stacked blocks")  # [r; s][1] is r[1], not r
        if not (k.is_Integer and 1 <= k <= len(cells)):
            raise Unsupported("a block entry at a symbolic or outside index")
        return cells[int(k) - 1]

    def _vector(self, e: m.Expr) -> bool:
        if isinstance(e, m.Name) and e.id in self.owned:
            return self.owned[e.id] == 1  # the stand-in has the sequence's checked rank
        if any(isinstance(x, m.Name) and x.id in self.owned for x in walk(e)):
            return False  # not known here: the · is declined
        t = self.low.vtype(e)
        return t.kind == "tensor" and len(t.shape) == 1

    def _binop(self, e: m.BinOp) -> sp.Expr:
        if e.op == "^":
            if not (isinstance(e.left, m.Name) and self.low.is_tensor(e.left)):
                raise Unsupported("a power of a compound matrix")
            return sp.Pow(self.lower(e.left), self.low.scalar(e.right), evaluate=False)
        if e.op == "·" and not (self._vector(e.left) and self._vector(e.right)):
            raise Unsupported("· of matrices (a trace, not a word)")
        a, b = self.lower(e.left), self.lower(e.right)
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op == "·":
            return self.transposed(a) * b  # x · y = xᵀy (a scalar times anything commutes)
        if e.op == "@" or (e.op == "*" and (a.is_commutative or b.is_commutative)):
            return a * b
        if e.op == "/" and b.is_number and b != 0:
            return a / b
        raise Unsupported(f"operator {e.op} in a matrix word")


def substitute(e: m.Expr, name: str, value: int) -> m.Expr:
    """``e`` with the bound name replaced by an integer literal."""
    from fractions import Fraction

    num = m.Num(Fraction(value), str(value), False)
    return map_model(e, lambda x: num if isinstance(x, m.Name) and x.id == name else None)


def _merged(expr: sp.Expr) -> dict:
    """expr as {word: coefficient}, adjacent powers of one matrix merged in each word;
    raises Unsupported when a matrix exponent is not a non-negative integer."""
    out: dict = {}
    for term in sp.Add.make_args(sp.expand(expr, power_exp=False)):
        coeff, factors = term.args_cnc()
        word: list = []
        for f in factors:
            base, exp = (f.base, f.exp) if isinstance(f, sp.Pow) else (f, sp.Integer(1))
            if not (exp.is_integer and exp.is_nonnegative):
                raise Unsupported(f"the matrix exponent {exp} may be negative or fractional")
            if word and word[-1][0] == base:
                word[-1] = (base, word[-1][1] + exp)
            else:
                word.append((base, exp))
        key = tuple((b, sp.expand(x)) for b, x in word if x != 0)
        out[key] = out.get(key, sp.Integer(0)) + sp.Mul(*coeff)
    return out


def same(x: sp.Expr, y: sp.Expr) -> bool:
    """x = y word by word (coefficients compared after expansion and power collection)."""
    wx, wy = _merged(x), _merged(y)
    for key in set(wx) | set(wy):
        gap = wx.get(key, sp.Integer(0)) - wy.get(key, sp.Integer(0))
        if sp.expand(sp.powsimp(sp.expand(gap, power_base=False))) != 0 and \
                sp.simplify(gap) != 0:
            return False
    return True
