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
from derive.semantics import SymbolInfo, walk
from derive.symbolic.common import (defined_at, is_equality, is_exact_zero, proved, refuted,
                                    rng_for, sample_points, show, sides_with, sign_of,
                                    simplify_zero)
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.lower import map_model as _map

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
        sides = sides_with(ctx.statement, lambda e: _is_term(ctx, e))
        if sides is None:
            return None
        lhs, rhs = sides
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


CLOSED = "recurrence-closed-form"


def _offset(e: m.Expr, t_name: str) -> Optional[int]:
    """k for an index written ``t`` or ``t + k`` (k a non-negative integer literal)."""
    if isinstance(e, m.Name) and e.id == t_name:
        return 0
    if isinstance(e, m.BinOp) and e.op == "+" and isinstance(e.left, m.Name) and \
            e.left.id == t_name and isinstance(e.right, m.Num) and e.right.value == int(e.right.value) \
            and e.right.value >= 0:
        return int(e.right.value)
    return None


def _never_one(a: sp.Expr, low, sign_of) -> bool:
    """a ≠ 1 for every value the declarations allow (one symbol: no root of a − 1 in its
    declared domain; several: the sign of a − 1 decided)."""
    free = [s for s in a.free_symbols if s.is_Symbol]
    if not free:
        return a != 1
    if len(free) == 1 and a.is_rational_function(free[0]):
        roots = sp.solveset(sp.numer(sp.together(a - 1)), free[0], low.domain_set(free[0]))
        return roots is sp.S.EmptySet
    return sign_of(a - 1, low) in (1, -1)


class RecurrenceTerms:
    """Statements about the terms ``w[t]``, ``w[t+1]``, … of a first-order scalar recurrence
    that are not a closed form of ``w[t]`` itself.

    *Step route*: with only ``w[t]`` and ``w[t+1]``, replace ``w[t+1]`` by the step f(w[t])
    and ``w[t]`` by a free real ``_w``; an identity for every real ``_w`` holds at each t.
    *Closed-form route*: for an affine step ``w[t+1] = a·w[t] + b`` (a, b free of t and w,
    a − 1 provably nonzero under the declarations) the solution
    ``C(t) = aᵗ(w0 − b/(1 − a)) + b/(1 − a)`` is checked by induction (C(0) = w0,
    C(t+1) = a·C(t) + b) and substituted for every ``w[t+k]``.
    """

    name = CLOSED

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st):
            return None
        terms = [n for n in walk(st) if isinstance(n, m.Index) and isinstance(n.base, m.Name)
                 and (ctx.checked.symbols.get(n.base.id) or None) is not None
                 and ctx.checked.symbols[n.base.id].role == "sequence"]
        if not terms or any(len(n.indices) != 1 for n in terms):
            return None
        if any(isinstance(n, (m.Stat, m.Cond, m.Cost, m.BigO)) or
               (isinstance(n, m.Call) and n.func in ("argmin", "argmax", "integrate"))
               for n in walk(st)):
            return None  # statistics and optimisation belong to other strategies
        seqs = {n.base.id for n in terms}
        if len(seqs) != 1:
            return None
        seq = seqs.pop()
        t_names = {i.id for n in terms for i in walk(n.indices[0]) if isinstance(i, m.Name)
                   and (ctx.checked.symbols.get(i.id) or None) is not None
                   and ctx.checked.symbols[i.id].role == "seq_index"}
        if len(t_names) != 1:
            return None
        t_name = t_names.pop()
        offsets = {_offset(n.indices[0], t_name) for n in terms}
        if None in offsets:
            return None
        low = lowering(ctx.checked)
        try:
            (var, step), base = _step_and_base(ctx, seq)
            t = low.symbols[t_name]
            w = sp.Symbol("_w", real=True)
            f, w0 = self._step(low, seq, var, step, base, w)
            f = f.subs(low.symbols.get(var, sp.Symbol(var)), t)
            if f.has(t):
                return None  # a step that depends on t: not handled here
            a_side, b_side = st.operands
            route = None
            if offsets <= {0, 1}:
                values = {0: w, 1: f}
                diff = self._lower_with(low, seq, t_name, values, a_side, b_side)
                if simplify_zero(diff):
                    route = "step"
            if route is None:
                a = sp.diff(f, w)
                b = sp.expand(f - a * w)
                if a.has(w) or not _never_one(a, low, sign_of):
                    return None
                closed = a ** t * (w0 - b / (1 - a)) + b / (1 - a)
                if not (simplify_zero(closed.subs(t, 0) - w0) and
                        simplify_zero(sp.expand(closed.subs(t, t + 1) - (a * closed + b)))):
                    return None
                values = {k: closed.subs(t, t + k) for k in offsets}
                diff = self._lower_with(low, seq, t_name, values, a_side, b_side)
                if not simplify_zero(sp.powsimp(sp.expand(diff))):
                    return None
                route = "closed form"
        except (Unsupported, KeyError) as exc:
            ctx.notes.append(f"{CLOSED}: {exc}")
            return None
        finally:
            low.seq_hook = None
        if route == "step":
            return proved(f"for every {t_name}: with {seq}[{t_name}+1] replaced by the step, "
                          f"the identity holds for every value of {seq}[{t_name}]", CLOSED,
                          route="step", residual="0")
        return proved(f"by the closed form {seq}[{t_name}] = {sp.sstr(closed)} (proved by "
                      f"induction; step coefficient ≠ 1 under the declarations)", CLOSED,
                      route="closed form", closed_form=str(closed), residual="0",
                      side_conditions=[f"{a} - 1 != 0"])

    @staticmethod
    def _step(low, seq, var, step, base, w):
        def hook(e: m.Index, env: dict) -> sp.Expr:
            if e.base.id != seq or len(e.indices) != 1 or not isinstance(e.indices[0], m.Name) \
                    or e.indices[0].id != var:
                raise Unsupported("the step uses other terms than w[t]")
            return w
        low.seq_hook = hook
        try:
            if not low.is_scalar(base):  # the start value fixes the sequence's shape
                raise Unsupported("a vector-valued recurrence")
            return low.scalar(step), low.scalar(base)
        finally:
            low.seq_hook = None

    @staticmethod
    def _lower_with(low, seq, t_name, values, a_side, b_side):
        def hook(e: m.Index, env: dict) -> sp.Expr:
            k = _offset(e.indices[0], t_name) if e.base.id == seq and len(e.indices) == 1 else None
            if k is None or k not in values:
                raise Unsupported("a term other than w[t + k]")
            return values[k]
        low.seq_hook = hook
        try:
            return low.scalar(a_side) - low.scalar(b_side)
        finally:
            low.seq_hook = None


VECTOR = "recurrence-induction-entrywise"
_CURRENT = "_seq_t"  # the stand-in tensor for w[t] (not a name the grammar can spell)




class VectorRecurrence:
    """Closed forms of tensor-valued recurrences with scalar coefficients,
    ``v[t+1] = β·v[t] + (1 − β)·g``: ``w[t]`` in the step is replaced by a stand-in tensor of
    the start value's shape, every entry j is lowered, and ``show v[t] == C(t)`` is proved
    by induction entrywise (C(0) = v[0] and C(t+1) = step(C(t)) at entry j, for a symbolic
    j and symbolic sizes).  A step that reads other entries of w[t] (a matrix product)
    leaves a stand-in entry behind and is declined."""

    name = VECTOR

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        from dataclasses import replace as dc_replace
        sides = sides_with(ctx.statement, lambda e: _is_term(ctx, e))
        if sides is None:
            return None
        lhs, rhs = sides
        seq, t_name = lhs.base.id, lhs.indices[0].id
        low = lowering(ctx.checked)
        symbols = ctx.checked.symbols
        if _CURRENT in symbols:
            return None
        try:
            (var, step), base = _step_and_base(ctx, seq)
            shape = low.vtype(base)
            if shape.kind != "tensor" or shape.is_scalar or any(d is None for d in shape.shape):
                return None
            t = low.symbols[t_name]

            def stand_in(node):
                if isinstance(node, m.Index) and isinstance(node.base, m.Name) and \
                        node.base.id == seq:
                    if len(node.indices) == 1 and isinstance(node.indices[0], m.Name) and \
                            node.indices[0].id in (var, t_name):  # t may be renamed first
                        return m.Name(_CURRENT, _CURRENT, node.pos)
                    raise Unsupported("the step uses other terms than w[t]")
                if isinstance(node, m.Name) and node.id == var:
                    return m.Name(t_name, t_name, node.pos)
                return None
            step_model = _map(step, stand_in)
            symbols[_CURRENT] = SymbolInfo(_CURRENT, _CURRENT, "tensor", dc_replace(shape))
            idx = tuple(sp.Symbol(f"j{k}", integer=True, positive=True)
                        for k in range(len(shape.shape)))
            f = low.entry(step_model, idx)
            w0 = low.entry(base, idx)
            closed = low.entry(rhs, idx)
        except (Unsupported, KeyError) as exc:
            ctx.notes.append(f"{VECTOR}: {exc}")
            return None
        finally:
            symbols.pop(_CURRENT, None)
        here = sp.IndexedBase(_CURRENT, shape=tuple(shape.shape))[idx]
        stepped = f.xreplace({here: closed})
        if closed.has(sp.Sum) or any(getattr(x, "base", None) is not None and
                                     str(x.base) == _CURRENT for x in stepped.atoms(sp.Indexed)):
            ctx.notes.append(f"{VECTOR}: the step reads other entries of {seq}[{t_name}]")
            return None
        base_gap = closed.subs(t, 0) - w0
        step_gap = closed.subs(t, t + 1) - stepped
        if simplify_zero(base_gap) and simplify_zero(sp.powsimp(sp.expand(step_gap))):
            where = ", ".join(map(str, idx))
            return proved(f"by induction on {t_name}, entry by entry ({where}, symbolic sizes): "
                          f"the closed form matches {seq}[0] and satisfies the step", VECTOR,
                          base_residual="0", step_residual="0", general=True)
        return None
