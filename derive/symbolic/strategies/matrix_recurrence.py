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
from derive.symbolic.common import proved, sides_with
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.lower import map_model as _map
from derive.symbolic.strategies.recurrence import _is_term, _step_and_base
from derive.symbolic.words import Words, same

NAME = "recurrence-induction-matrix"


class MatrixRecurrence:
    """``show G[t] == C(t)`` for a tensor-valued recurrence whose step multiplies G[t] by
    matrices (on either side) and adds terms: induction in the algebra of matrix words."""

    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        sides = sides_with(ctx.statement, lambda e: _is_term(ctx, e))
        if sides is None:
            return None
        lhs, rhs = sides
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
            words = Words(low, lambda e: g if isinstance(e, m.Name) and e.id == current else None,
                          {current: len(shape.shape)})
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
