"""Closed forms of scalar recurrences ``let w[t+1] = f(w[t]), w[0] = w0``:
``show w[t] == C(t)`` is proved by induction (C(0) = w0 and C(t+1) = f(C(t)) both
simplify to identities in t and the parameters) and refuted by iterating the
recurrence exactly at seeded rational parameters until an iterate differs from C(t)."""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.symbolic.common import (defined_at, is_equality, is_exact_zero, proved, refuted,
                                    rng_for, sample_points, show, simplify_zero)
from derive.symbolic.lower import Unsupported, lowering

NAME = "recurrence-induction"
STEPS = 6


def _step_and_base(ctx: Context, seq: str):
    step = base = None
    for st in ctx.claim.statements:
        if isinstance(st, m.Recurrence):
            seqs = {eq.seq.id for eq in st.equations}
            if seq not in seqs:
                continue
            if len(seqs) > 1:
                raise Unsupported("several sequences in step")
            for eq in st.equations:
                if isinstance(eq.index, m.Num):
                    if eq.index.value != 0:
                        raise Unsupported("a start index other than 0")
                    base = eq.value
                elif isinstance(eq.index, m.BinOp) and eq.index.op == "+" \
                        and isinstance(eq.index.left, m.Name) and isinstance(eq.index.right, m.Num) \
                        and eq.index.right.value == 1:
                    step = (eq.index.left.id, eq.value)
                else:
                    raise Unsupported("a step other than t+1")
    if step is None or base is None:
        raise Unsupported("no step or start")
    return step, base


class Recurrence:
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
        try:
            (var, step), base = _step_and_base(ctx, seq)
            t = low.symbols[t_name]
            closed = low.scalar(rhs)
            current = {}

            def hook(e: m.Index, env: dict) -> sp.Expr:
                if e.base.id != seq or len(e.indices) != 1 or not isinstance(e.indices[0], m.Name) \
                        or e.indices[0].id != var:
                    raise Unsupported("the step uses other terms than w[t]")
                return current["w"]
            low.seq_hook = hook
            current["w"] = sp.Symbol("_w", real=True)
            w = current["w"]
            f = low.scalar(step)
            w0 = low.scalar(base)
        except (Unsupported, KeyError) as exc:
            ctx.notes.append(f"{NAME}: {exc}")
            return None
        finally:
            low.seq_hook = None
        f = f.subs(low.symbols.get(var, sp.Symbol(var)), t)  # the step may mention t itself
        params = {s for s in (f.free_symbols | closed.free_symbols | w0.free_symbols)
                  if s.is_Symbol and s not in (t, w)}
        for point in sample_points(low, params, rng_for(ctx, NAME), 4):
            got = defined_at([w0], point)
            value = None if got is None else got[0]
            for k in range(STEPS + 1):
                got = defined_at([closed], {**point, t: k})
                want = None if got is None else got[0]
                if value is None or want is None:
                    break
                gap = sp.nsimplify(value - want) if (value - want).is_Float else value - want
                if is_exact_zero(gap) is False:
                    return refuted(f"at {show(point)}, {seq}[{k}] = {value} but the closed form "
                                   f"gives {want}", NAME, counterexample={**show(point), t_name: k},
                                   iterate=str(value), closed_form_value=str(want))
                got = defined_at([f], {**point, w: value, t: k})
                value = None if got is None else got[0]
        base_gap = closed.subs(t, 0) - w0
        step_gap = closed.subs(t, t + 1) - f.subs(w, closed)
        if simplify_zero(base_gap) and simplify_zero(sp.powsimp(sp.expand(step_gap))):
            return proved(f"by induction on {t_name}: the closed form matches {seq}[0] and "
                          f"satisfies the step", NAME, base_residual="0", step_residual="0")
        return None


def _is_term(ctx: Context, e: m.Expr) -> bool:
    if not (isinstance(e, m.Index) and isinstance(e.base, m.Name) and len(e.indices) == 1
            and isinstance(e.indices[0], m.Name)):
        return False
    info = ctx.checked.symbols.get(e.base.id)
    t = ctx.checked.symbols.get(e.indices[0].id)
    return info is not None and info.role == "sequence" and t is not None \
        and t.role == "seq_index"
