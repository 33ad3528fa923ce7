"""Inequalities and conditions about the terms of a scalar recurrence, proved by induction
with z3: ``show P(w[t])`` for ``let w[t+1] = f(w[t]), w[0] = w0`` holds for every t ≥ 0
when P(w0) holds (base) and P(w) implies P(f(w)) for every w and every admissible
parameter (step) — both decided by z3's nlsat as "the negation is unsat".

Only a proof is reported.  A failed step says nothing about the claim (P may hold along
every orbit without being inductive: ``w[t] <= 1`` for ``w[t+1] = w[t]/2 + 1/2``, w0 ≤ 1
is inductive, ``w[t] < 2`` for ``w[t+1] = w[t]²`` from w0 = 1 is not, yet true), so the
strategy then passes and the other engines decide.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp
import z3

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk
from derive.symbolic.common import proved
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.smt import NotInFragment, Translation
from derive.symbolic.strategies.recurrence import _step_and_base
from derive.symbolic.strategies.smt import Prover, closure

NAME = "recurrence-invariant"
ROUTE = ("induction on t with z3 nlsat: P(w0) and P(w) ⇒ P(f(w)) for every w and every "
         "admissible parameter (each negation unsat)")


def _terms(ctx: Context, st: m.Expr) -> Optional[tuple[str, str]]:
    """(sequence, step name) when every sequence term of the statement is ``w[t]`` of one
    scalar sequence and the step name t appears nowhere else."""
    seq = t = None
    for node in walk(st):
        if isinstance(node, m.Index) and isinstance(node.base, m.Name):
            info = ctx.checked.symbols.get(node.base.id)
            if info is None or info.role != "sequence":
                continue
            if len(node.indices) != 1 or not isinstance(node.indices[0], m.Name):
                return None
            if seq not in (None, node.base.id) or t not in (None, node.indices[0].id):
                return None
            seq, t = node.base.id, node.indices[0].id
    if seq is None:
        return None
    uses = sum(1 for n in walk(st) if isinstance(n, m.Name) and n.id == t)
    terms = sum(1 for n in walk(st) if isinstance(n, m.Index) and isinstance(n.base, m.Name)
                and n.base.id == seq)
    return (seq, t) if uses == terms else None


class RecurrenceInvariant:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not (isinstance(st, m.Logic) or (isinstance(st, m.Compare) and all(
                op in ("<", "<=", ">", ">=") for op in st.ops))):
            return None
        found = _terms(ctx, st)
        if found is None:
            return None
        seq, t_name = found
        low = lowering(ctx.checked)
        w = sp.Symbol("_w", real=True)
        current = {"w": w}
        try:
            (var, step), base = _step_and_base(ctx, seq)

            def hook(e: m.Index, env: dict) -> sp.Expr:
                if e.base.id != seq or len(e.indices) != 1 or not isinstance(e.indices[0], m.Name):
                    raise Unsupported("other terms than w[t]")
                return current["w"]
            low.seq_hook = hook
            if not low.is_scalar(base):
                return None  # a tensor-valued sequence: the entrywise strategies' job
            prop = low.condition(st)
            f = low.scalar(step)
            w0 = low.scalar(base)
            current["w"] = f
            prop_next = low.condition(st)
        except (Unsupported, KeyError) as exc:
            ctx.notes.append(f"{NAME}: {exc}"[:300])
            return None
        finally:
            low.seq_hook = None
        if low.symbols.get(var) in f.free_symbols or low.symbols.get(t_name) in f.free_symbols:
            return None  # a step that depends on t: not this strategy's
        if w0.has(sp.Indexed) or f.has(sp.Indexed, sp.Sum):
            return None
        prover = Prover(ctx, low)
        base_claim = prop.subs(w, w0)
        try:
            if not self._unsat(prover, low, base_claim, None):
                return None
            inductive = self._unsat(prover, low, prop_next, prop)
            strengthened = None
            if not inductive:
                # P alone may not be inductive while P and the start value's declared range
                # are (w² ≤ 1 needs w ≥ −1 too): try that invariant, whose base is declared
                q = [c.subs(w0, w) for c in low.conditions
                     if isinstance(w0, sp.Symbol) and getattr(c, "free_symbols", set()) == {w0}]
                if isinstance(w0, sp.Symbol):  # signs the lowering keeps as assumptions
                    q += [r for r, known in ((w > 0, w0.is_positive), (w >= 0, w0.is_nonnegative),
                                             (w < 0, w0.is_negative), (w <= 0, w0.is_nonpositive))
                          if known]
                if q:
                    inv = sp.And(prop, *q)
                    inv_next = sp.And(prop_next, *[c.subs(w, f) for c in q])
                    if self._unsat(prover, low, inv_next, inv):
                        inductive, strengthened = True, sp.And(*q)
            if not inductive:
                ctx.notes.append(f"{NAME}: the statement is not inductive for this step (z3 "
                                 f"finds w with P(w) and not P(f(w))); no proof by induction")
                return None
        except (NotInFragment, Unsupported, z3.Z3Exception) as exc:
            ctx.notes.append(f"{NAME}: {exc}"[:300])
            return None
        return proved(f"by induction on {t_name} with z3: {seq}[0] satisfies it and the step "
                      f"keeps it (every w with it, every admissible parameter)", NAME,
                      certificate={"route": ROUTE, "base": str(base_claim),
                                   "step": f"{prop} ⇒ {prop_next}",
                                   "invariant": str(prop) if strengthened is None else
                                   f"{prop} and {strengthened} (the start value's declared "
                                   f"range, which {seq}[0] meets by declaration)"})

    @staticmethod
    def _unsat(prover: Prover, low, goal, premise) -> bool:
        """Whether ``premise ⇒ goal`` holds on the declared domain: the declarations, the
        side conditions of every term (a step undefined at some w proves nothing), and the
        negation are unsat together; integers are relaxed to reals (a superset)."""
        t = Translation(relax_integers=True)
        syms = {s for s in goal.free_symbols if s.is_Symbol}
        if premise is not None:
            syms |= {s for s in premise.free_symbols if s.is_Symbol}
        syms = closure(low, syms)
        g = t.boolean(goal)
        pre = [t.boolean(premise)] if premise is not None else []
        hyps, _ = prover.hypotheses(t, syms)
        decl = hyps + prover.domains(t) + t.aux
        # every term must be defined wherever the premise holds: a side condition that can
        # fail there would make the step's conclusion meaningless
        for sc in t.side:
            res, _ = prover.check(t, decl + pre + [z3.Not(sc.formula)])
            if res != z3.unsat:
                return False
        res, _ = prover.check(t, decl + pre + [z3.Not(g)])
        return res == z3.unsat
