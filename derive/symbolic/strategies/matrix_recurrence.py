"""Closed forms of matrix-valued recurrences with matrix coefficients,
``let G[t+1] = A @ G[t], G[0] = I[n]`` and ``show G[t] == A^t``, proved by induction
on t in the algebra of matrix words: C(0) = G[0] and step(C(t)) = C(t+1).

Matrices are non-commuting symbols, scalars commute with everything, and a power Aᵉ
of one matrix is kept as a power: in a word, adjacent powers of the same matrix merge
(Aᵃ·Aᵇ = Aᵃ⁺ᵇ, true for every square A when a, b ≥ 0 are integers, with A⁰ = I).
Side conditions, each checked, else the strategy declines: every exponent of a matrix
is a non-negative integer for every t ≥ 0 (no inverses are introduced), only names of
declared tensors are raised to a power, and no division by anything but a nonzero
number.  The strategy only proves; a failed induction is left to the other strategies
(the numeric engine iterates the recurrence and finds the counterexample).
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk
from derive.symbolic.common import is_equality, proved
from derive.symbolic.lower import Lowering, Unsupported, lowering
from derive.symbolic.strategies.recurrence import _is_term, _map, _step_and_base

NAME = "recurrence-induction-matrix"
_SYMMETRIC = frozenset({"symmetric", "spd", "psd"})


class Words:
    """Model expressions as non-commutative SymPy expressions (tensors as symbols)."""

    def __init__(self, low: Lowering, current: str, current_sym: sp.Symbol):
        self.low = low
        self.current = current      # the stand-in name of G[t]
        self.current_sym = current_sym

    def tensor(self, name: str, transposed: bool = False) -> sp.Symbol:
        info = self.low.info(name)
        if info is None or info.role != "tensor" or len(info.vtype.shape) not in (1, 2):
            raise Unsupported(f"'{name}' is not a declared vector or matrix")
        if transposed and not info.props & _SYMMETRIC:
            return sp.Symbol(name + "ᵀ", commutative=False)
        return sp.Symbol(name, commutative=False)

    def lower(self, e: m.Expr) -> sp.Expr:
        if isinstance(e, m.Name) and e.id == self.current:
            return self.current_sym
        if not any(isinstance(x, m.Name) and x.id == self.current for x in walk(e)) and \
                self.low.is_scalar(e):
            return self.low.scalar(e)  # scalars commute (t, c, sizes)
        if isinstance(e, m.Name):
            info = self.low.info(e.id)
            if info is not None and info.role == "define" and len(info.statement.names) == 1:
                return self.lower(info.statement.value)
            return self.tensor(e.id)
        if isinstance(e, m.Transpose) and isinstance(e.operand, m.Name):
            return self.tensor(e.operand.id, transposed=True)
        if isinstance(e, m.Unary):
            return -self.lower(e.operand)
        if isinstance(e, m.Call) and e.func == "I":
            return sp.Integer(1)
        if isinstance(e, m.Call) and e.func == "zeros":
            return sp.Integer(0)
        if isinstance(e, m.BinOp):
            return self._binop(e)
        raise Unsupported(f"no matrix-word lowering for {type(e).__name__}")

    def _binop(self, e: m.BinOp) -> sp.Expr:
        a = self.lower(e.left)
        if e.op == "^":
            if not (isinstance(e.left, m.Name) and self.low.is_tensor(e.left)):
                raise Unsupported("a power of a compound matrix")
            return sp.Pow(a, self.low.scalar(e.right), evaluate=False)
        b = self.lower(e.right)
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op == "@" or (e.op == "*" and (a.is_commutative or b.is_commutative)):
            return a * b
        if e.op == "/" and b.is_number and b != 0:
            return a / b
        raise Unsupported(f"operator {e.op} in a matrix recurrence")


def _merged(expr: sp.Expr) -> dict:
    """expr as {word: coefficient}, adjacent powers of one matrix merged in each word;
    raises Unsupported when a matrix exponent is not a non-negative integer."""
    out: dict = {}
    for term in sp.Add.make_args(sp.expand(expr, power_exp=False)):
        coeff, factors = term.args_cnc()
        word: list = []
        for f in factors:
            base, exp = (f.base, f.exp) if isinstance(f, sp.Pow) else (f, sp.Integer(1))
            if not (sp.sympify(exp).is_integer and sp.sympify(exp).is_nonnegative):
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


class MatrixRecurrence:
    """``show G[t] == C(t)`` for a tensor-valued recurrence whose step multiplies G[t] by
    matrices (on either side) and adds terms: induction in the algebra of matrix words."""

    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st):
            return None
        lhs, rhs = st.operands
        if not _is_term(ctx, lhs):
            lhs, rhs = rhs, lhs
        if not _is_term(ctx, lhs):
            return None
        seq, t_name = lhs.base.id, lhs.indices[0].id
        low = lowering(ctx.checked)
        current = "⟨" + seq + "[t]⟩"  # no claim can spell this name
        try:
            (var, step), base = _step_and_base(ctx, seq)
            shape = low.vtype(base)
            if shape.kind != "tensor" or shape.is_scalar or len(shape.shape) not in (1, 2):
                return None

            def stand_in(node):
                if isinstance(node, m.Index) and isinstance(node.base, m.Name) and \
                        node.base.id == seq:
                    if len(node.indices) == 1 and isinstance(node.indices[0], m.Name) and \
                            node.indices[0].id in (var, t_name):
                        return m.Name(current, current, node.pos)
                    raise Unsupported("the step uses other terms than the previous one")
                if isinstance(node, m.Name) and node.id == var:
                    return m.Name(t_name, t_name, node.pos)
                return None
            t = low.symbols[t_name]
            g = sp.Symbol(current, commutative=False)
            words = Words(low, current, g)
            stepped = words.lower(_map(step, stand_in))
            closed, start = words.lower(rhs), words.lower(base)
            if g in closed.free_symbols or g in start.free_symbols:
                raise Unsupported("the closed form mentions the sequence")
            base_ok = same(closed.xreplace({t: sp.Integer(0)}), start)
            step_ok = base_ok and same(stepped.xreplace({g: closed}),
                                       closed.xreplace({t: t + 1}))
        except (Unsupported, KeyError) as exc:
            ctx.notes.append(f"{NAME}: {exc}"[:300])
            return None
        if not (base_ok and step_ok):
            ctx.notes.append(f"{NAME}: the {'step' if base_ok else 'start'} does not match "
                             f"the closed form in the word algebra")
            return None
        return proved(f"by induction on {t_name} ≥ 0 in the algebra of matrix words: the closed "
                      f"form equals {seq}[0] and satisfies the step", NAME,
                      base_residual="0", step_residual="0", general=True,
                      side_conditions=["matrix exponents are non-negative integers for t ≥ 0 "
                                       "(Aᵃ·Aᵇ = Aᵃ⁺ᵇ, A⁰ = I)",
                                       "scalars commute with matrices; matrices do not commute",
                                       "symmetric matrices equal their transposes"])
