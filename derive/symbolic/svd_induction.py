"""Induction for matrix-valued recurrences in the svd-algebra:
``let G[t+1] = f(G[t]), s[t+1] = g(s[t]), G[0] = G₀, s[0] = s₀`` and ``show G[t] == C(t)``
where C mentions the other sequences only at t.  Base: G₀ == C with every term at its
start value.  Step: f(C(t)) == C(t+1), where each other sequence's current term u[t] is an
arbitrary value of its type (a stand-in name) and u[t+1] is its step at that value.  Both
are decided in the free algebra, so the claim holds for every t ≥ 0."""
from __future__ import annotations

from fractions import Fraction
from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.semantics import SymbolInfo
from derive.symbolic.lower import Unsupported
from derive.symbolic.strategies.recurrence import _map

STAND_IN = "{}⟨t⟩"  # the current term of another sequence (not a name the grammar spells)
HOLD = "{}⟨hold⟩"  # a placeholder while the index itself is rewritten


def recurrences(ctx: Context) -> dict[str, list]:
    """seq → [step variable, step value, start value] for every first-order recurrence."""
    out: dict[str, list] = {}
    for st in ctx.claim.statements:
        if not isinstance(st, m.Recurrence):
            continue
        for eq in st.equations:
            entry = out.setdefault(eq.seq.id, [None, None, None])
            if isinstance(eq.index, m.Num) and eq.index.value == 0:
                entry[2] = eq.value
            elif isinstance(eq.index, m.BinOp) and eq.index.op == "+" and \
                    isinstance(eq.index.left, m.Name) and isinstance(eq.index.right, m.Num) \
                    and eq.index.right.value == 1:
                entry[0], entry[1] = eq.index.left.id, eq.value
            else:
                raise Unsupported("a recurrence other than x[t+1] = f(x[t]), x[0] = x₀")
    if any(None in v for v in out.values()):
        raise Unsupported("a sequence without its step or its start")
    return out


def _terms_at(e: m.Expr, var: str, recs: dict, replace, bare: Optional[m.Expr]) -> m.Expr:
    """``e`` with every sequence term x[var] replaced by ``replace(x)`` and ``var`` itself
    by ``bare`` (declined when None); any other use of a sequence is declined.  Terms go
    to placeholders first, so ``bare`` never rewrites the index inside a replacement."""
    def hold(node):
        if isinstance(node, m.Index) and isinstance(node.base, m.Name) and node.base.id in recs:
            if len(node.indices) == 1 and isinstance(node.indices[0], m.Name) and \
                    node.indices[0].id == var:
                return m.Name(HOLD.format(node.base.id))
            raise Unsupported("a sequence term other than at the step's index")
        return None

    def free(node):
        if isinstance(node, m.Name) and node.id == var:
            if bare is None:
                raise Unsupported(f"'{var}' used outside a sequence term")
            return bare
        return None
    held = {HOLD.format(u): u for u in recs}
    out = _map(_map(e, hold), free)
    return _map(out, lambda n: replace(held[n.id]) if isinstance(n, m.Name) and n.id in held
                else None)


def induction_cases(ctx: Context, seq: str, t: str, closed: m.Expr,
                    recs: dict) -> tuple[tuple, tuple, dict]:
    """((base lhs, base rhs), (step lhs, step rhs), stand-ins: name → start value)."""
    stand = {u: m.Name(STAND_IN.format(u), STAND_IN.format(u)) for u in recs if u != seq}

    def current(u: str) -> m.Expr:
        if u == seq:
            raise Unsupported("the closed form mentions the sequence itself")
        return stand[u]
    t_name = m.Name(t, t)
    now = _terms_at(closed, t, recs, current, t_name)
    base = (recs[seq][2], _terms_at(closed, t, recs, lambda u: recs[u][2],
                                    m.Num(Fraction(0), "0")))

    def hypothesis(u: str) -> m.Expr:
        return now if u == seq else stand[u]

    def stepped(u: str) -> m.Expr:
        var, value, _ = recs[u]
        return _terms_at(value, var, recs, hypothesis, t_name)
    step = (stepped(seq), _terms_at(closed, t, recs, stepped,
                                    m.BinOp("+", t_name, m.Num(Fraction(1), "1"))))
    return base, step, {stand[u].id: recs[u][2] for u in stand}


class StandIns:
    """Temporarily declares each stand-in as an arbitrary value of its start value's type."""

    def __init__(self, low, starts: dict):
        self.low, self.starts = low, starts

    def __enter__(self):
        symbols = self.low.checked.symbols
        for name, start in self.starts.items():
            t = self.low.vtype(start)
            if t.kind == "tensor" and not t.is_scalar and None not in t.shape:
                symbols[name] = SymbolInfo(name, name, "tensor", t)
            elif t.kind == "scalar" or t.is_scalar:
                symbols[name] = SymbolInfo(name, name, "scalar", t)
                self.low.symbols[name] = sp.Symbol(name, real=True)
            else:
                raise Unsupported("a sequence of unknown type")
        return self

    def __exit__(self, *exc) -> Optional[bool]:
        for name in self.starts:
            self.low.checked.symbols.pop(name, None)
            self.low.symbols.pop(name, None)
        return None
