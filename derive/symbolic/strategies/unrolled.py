"""Statements about a tensor recurrence at literal steps (``x[2] == A @ B * u[1] + B * u[2]``,
``Cᵀ @ x[4] == sum(i = 0..4, K[5 - i] * u[i + 1])``): every term x[k] is unrolled by the
recurrence, k steps down to x[0], and both sides are compared in the algebra of matrix
words (derive.symbolic.words) — for symbolic sizes, since nothing is evaluated entrywise.

Side conditions, else the strategy declines: each term's step is a literal integer
0 ≤ k ≤ MAX_STEPS, the recurrence has one step ``x[t+1] = f(x[t], t)`` and a start
``x[0]``, and everything else lowers to words (declared matrices and vectors, scalars,
literal sums, entries of a defined block literal).  It only proves.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk
from derive.symbolic.common import is_equality, proved
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.strategies.recurrence import _step_and_base
from derive.symbolic.words import Words, same, substitute

NAME = "recurrence-unrolled"
MAX_STEPS = 12


def _terms(ctx: Context, e: m.Expr) -> list:
    return [x for x in walk(e) if isinstance(x, m.Index) and isinstance(x.base, m.Name)
            and getattr(ctx.checked.symbols.get(x.base.id), "role", None) == "sequence"]


class UnrolledRecurrence:
    """Identities about x[k] for literal k of a tensor recurrence, by unrolling it."""

    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st) or not _terms(ctx, st):
            return None
        low = lowering(ctx.checked)
        values: dict = {}
        steps: dict = {}

        def term(e: m.Expr) -> Optional[sp.Expr]:
            if not (isinstance(e, m.Index) and isinstance(e.base, m.Name) and
                    getattr(ctx.checked.symbols.get(e.base.id), "role", None) == "sequence"):
                return None
            if len(e.indices) != 1:
                raise Unsupported("a sequence term with several indices")
            k = low.scalar(e.indices[0])
            if not (k.is_Integer and 0 <= k <= MAX_STEPS):
                raise Unsupported("a sequence term at a symbolic or far step")
            seq, k = e.base.id, int(k)
            if (seq, k) not in values:
                if seq not in steps:
                    steps[seq] = _step_and_base(ctx, seq)
                (var, step), base = steps[seq]
                values[(seq, k)] = words.lower(base if k == 0 else substitute(step, var, k - 1))
            return values[(seq, k)]
        words = Words(low, term)
        try:
            a, b = st.operands
            equal = same(words.lower(a), words.lower(b))
        except (Unsupported, KeyError) as exc:
            ctx.notes.append(f"{NAME}: {exc}"[:300])
            return None
        if not equal:
            ctx.notes.append(f"{NAME}: the unrolled sides differ as matrix words")
            return None
        unrolled = ", ".join(f"{s}[{k}]" for s, k in sorted(values))
        return proved(f"{unrolled} unrolled by the recurrence; both sides agree word by word "
                      f"in the matrix algebra (symbolic sizes)", NAME, residual="0",
                      general=True, unrolled=unrolled,
                      side_conditions=["literal steps only", "scalars commute with matrices; "
                                       "matrices do not commute"])
