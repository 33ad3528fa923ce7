"""Side conditions of the real-domain partial functions in a statement, read from the
model before SymPy sees it.

SymPy's lowering simplifies as it builds: ``sqrt(x)**2`` is ``x``, so a proof of
``sqrt(x)^2 == x`` for real x says nothing about x < 0, where the left side has no real
value.  Here every ``sqrt(a)`` (a ≥ 0), ``log(a)`` (a > 0) and real power ``a^p`` with a
non-integer p (a ≥ 0; a > 0 for p < 0) is collected with its argument lowered on its own.
A symbolic proof stands only where the statement is defined: each condition must follow
from the declarations (SymPy's sign assumptions, else z3 over the declared bounds and
assumptions) or be shared by both sides (both undefined together: the identity is read
where defined, like a polynomial denominator's null set).  Denominators are left to
that null-set reading (derive.symbolic.strategies.smt).
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.symbolic.lower import Lowering, Unsupported
from derive.symbolic.partial import side_conditions

def implied(low: Lowering, cond: sp.Basic, premise: Optional[sp.Basic] = None) -> bool:
    """Whether the declarations (and ``premise``) imply ``cond``."""
    if cond is sp.true:
        return True
    if cond is sp.false:
        return False
    if _signed(cond.lhs - cond.rhs, cond.rel_op == ">"):
        return True
    return _z3_implies(low, cond, premise)


REWRITE_S = 0.5   # seconds for each rewriting tried on an argument's sign


def _signed(a: sp.Expr, strict: bool) -> bool:
    """Whether SymPy's sign assumptions show a ≥ 0 (a > 0 when strict), with tensor
    entries as reals and a sum over a nonempty range read through its terms (Σ exp(zᵢ),
    Σ Aᵢₖ²); again after a few rewritings (1/((1 − σ(x))(1 + e⁻ˣ)) is eˣ)."""
    from derive.symbolic.common import within

    def ok(e: sp.Expr) -> bool:
        return bool(e.is_positive) if strict else bool(e.is_nonnegative)

    try:
        entries = {x: sp.Dummy(real=True) for x in a.atoms(sp.Indexed)}
        e = a.xreplace(entries) if entries else a
        for _ in range(4):
            sums = [t for t in e.atoms(sp.Sum) if _nonempty(t)]
            if not sums:
                break
            e = e.xreplace({t: t.function for t in sums})
        if ok(e):
            return True
        for rewrite in (sp.together, sp.cancel, sp.simplify):
            r = within(REWRITE_S, rewrite, e)
            if r is not None and ok(r):
                return True
    except (TypeError, ValueError, AttributeError, RecursionError):
        return False
    return False


def _nonempty(t: sp.Sum) -> bool:
    return all((hi - lo + 1).is_positive for _, lo, hi in t.limits)


def _z3_implies(low: Lowering, cond: sp.Basic, premise: Optional[sp.Basic]) -> bool:
    import z3

    from derive.symbolic.smt import NotInFragment, Translation
    from derive.symbolic.strategies.smt import closure, solver
    try:
        t = Translation(relax_integers=True)
        goal = t.boolean(cond)
        own_side = [sc.formula for sc in t.side]   # nested conditions: checked on their own
        hyps = []
        wanted = closure(low, set(cond.free_symbols))
        for c in low.conditions:
            if c is sp.true or not getattr(c, "free_symbols", set()) & wanted:
                continue
            try:
                hyps.append(t.boolean(c))
            except NotInFragment:
                continue   # a dropped hypothesis only makes the obligation stronger
        if premise is not None:
            try:
                hyps.append(t.boolean(premise))
            except NotInFragment:
                pass
        doms = [d for s in list(t.vars) for d in t.domain(s)]
        s = solver(t)
        s.add(*(hyps + doms + t.aux + own_side + [z3.Not(goal)]))
        return s.check() == z3.unsat
    except (NotInFragment, Unsupported, TypeError, ValueError, AttributeError, z3.Z3Exception):
        return False


def draw_supports(low: Lowering) -> list[sp.Basic]:
    """Where each declared scalar draw lives (x ~ exponential(λ): x ≥ 0): a draw never
    takes a value off its support, so conditions there hold surely."""
    from derive.symbolic import densities
    out: list[sp.Basic] = []
    for name, info in low.checked.symbols.items():
        if not (info.random and info.role == "scalar" and name in low.symbols):
            continue
        try:
            law, params = densities.law_and_parameters(low, info.dist, {})
        except (densities.NoClosedForm, Unsupported):   # no closed form: no fact
            continue
        make = densities.LOG_DENSITY.get(law.name)
        if make is not None:
            out += make(params, low.symbols[name])[2]
    return out


def undefined_outside(low: Lowering, st: m.Expr) -> list[sp.Basic]:
    """The side conditions of ``st`` that neither follow from the declarations nor are
    shared by every operand (so that outside them one side has a value and another not).
    Empty: a proof of ``st`` stands where it is read (always, in a complex claim: there
    the principal branches are defined everywhere)."""
    if _complex(low):
        return []
    premise = None
    if isinstance(st, m.Logic) and st.op == "=>":
        try:
            premise = low.condition(st.args[0])
        except (Unsupported, TypeError, ValueError, AttributeError, KeyError):
            premise = None
    supports = draw_supports(low)
    if supports:
        premise = sp.And(*supports, *([premise] if premise is not None else []))
    if isinstance(st, m.Compare):
        per_side = [side_conditions(low, x) for x in st.operands]
        conds = [c for cs in per_side for c in cs]
        shared = [c for c in conds if all(c in cs for cs in per_side)]
    else:
        conds, shared = side_conditions(low, st), []
    out = []
    for c in conds:
        if c in out or c in shared:
            continue
        if not implied(low, c, premise):
            out.append(c)
    return out


def _complex(low: Lowering) -> bool:
    from derive.semantics import walk
    if any(info.domain == "complex" for info in low.checked.symbols.values()):
        return True
    for st in low.checked.claim.statements:
        for v in vars(st).values():
            for item in (v if isinstance(v, (list, tuple)) else (v,)):
                if not isinstance(item, m.Expr):
                    continue
                for node in walk(item):
                    if (isinstance(node, m.Num) and node.imaginary) or (isinstance(node, m.Call) and
                            node.func in ("re", "im", "conj", "fft", "ifft", "eig")):
                        return True
    return False
