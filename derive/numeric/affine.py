"""Exact moments of statistics whose argument is affine in independent normal draws.

Why: ``Cov[W − A Y, Y] == zeros(d, n)`` with ``Y = X W + √λ N`` (``W``, ``N`` normal) is an
exact zero that Monte Carlo cannot resolve (it estimates ±0.002 at its draw budget, with
no relative scale to judge that against), yet the mean and covariance of an affine
function of independent draws depend only on their means and variances: for
``x = x₀ + Σₖ Jₖ zₖ`` with independent ``zₖ`` of mean μₖ and variance vₖ,
E[x] = x(μ), Cov[x, y] = Σₖ vₖ Jₖ(x) Jₖ(y)ᵀ, Var[x] = Σₖ vₖ Jₖ(x)².  Each column is
x at μ + √vₖ eₖ minus x at μ — exact for an affine x, up to rounding.  Then the
statement is a for-all statement over the other inputs, checked on random instances like
an identity (derive/numeric/identity.py).

Affinity is decided on the model, never from values (a piecewise-linear ``relu`` is
affine near a point and not globally): sums, differences, products in which one factor
is free of the draws, division by a draw-free value, transposes, indexing at draw-free
indices, ``sum``/``mean``/``trace`` of one argument, through definitions; a statistic
inside is a fixed value.  The draws must be declared ``~ normal(μ, v)`` with μ and v free
of other draws (each declared name is an independent group of iid entries), and v must be
a scalar (a covariance matrix makes the entries dependent; declined at evaluation).
"""
from __future__ import annotations

from typing import Any, Optional

import torch

from derive import model as m
from derive.numeric.base import LoweringError
from derive.semantics import CheckedClaim, children
from derive.vocabulary.distributions import law_of

MAX_ENTRIES = 512  # scalar draws a statistic is differentiated over (one evaluation each)


class TooManyDraws(LoweringError):
    """More normal entries than :data:`MAX_ENTRIES`: the exact route declines (an evaluator
    over sampled draws then estimates the statistic from them; one over instances cannot)."""
_LINEAR_CALLS = {"sum", "mean", "trace"}
_PRODUCTS = {"*", "@", "⊙", "·"}


class _Degree:
    """Degree (0: free of the draws, 1: affine, None: neither) of expressions of a claim."""

    def __init__(self, checked: CheckedClaim) -> None:
        self.checked = checked
        self.memo: dict[str, Optional[int]] = {}
        self.draws: set[str] = set()

    def name(self, ident: str) -> Optional[int]:
        if ident in self.memo:
            return self.memo[ident]
        self.memo[ident] = None  # a cycle (never in a checked claim) is not affine
        info = self.checked.symbols.get(ident)
        st = getattr(info, "statement", None)
        if info is None:
            deg: Optional[int] = 0
        elif info.role == "define" and isinstance(st, m.Define):
            deg = self.of(st.value)
        elif info.role in ("funcdef", "sequence"):
            deg = 0 if self.free(st) else None
        elif isinstance(st, m.Decl) and st.dist is not None:
            deg = 1 if info.role in ("scalar", "tensor") and self.normal(st.dist) else None
            if deg == 1:
                self.draws.add(ident)
        else:
            deg = 0
        self.memo[ident] = deg
        return deg

    def normal(self, dist: m.Expr) -> bool:
        law = law_of(dist)
        return law is not None and law.name == "normal" and isinstance(dist, m.Call) \
            and len(dist.args) == 2 and not dist.kwargs and all(self.free(a) for a in dist.args)

    def free(self, node: Any) -> bool:
        """No draw is read outside a statistic (through definitions and function bodies)."""
        if node is None or isinstance(node, m.Stat):
            return True
        if isinstance(node, m.Name):
            info = self.checked.symbols.get(node.id)
            if info is None:
                return True
            st = info.statement
            if isinstance(st, m.Decl):
                return st.dist is None
            if node.id in self.memo:
                return self.memo[node.id] == 0
            self.memo[node.id] = None
            body = st.value if isinstance(st, m.Define) else st.body if isinstance(st, m.FuncDef) \
                else st
            ok = self.free(body) if body is not st else all(
                self.free(eq.value) for eq in getattr(st, "equations", ()))
            self.memo[node.id] = 0 if ok else None
            return ok
        if isinstance(node, m.Call) and node.func in self.checked.symbols \
                and not self.free(m.Name(node.func, node.func)):
            return False
        return all(self.free(c) for c in children(node))

    def of(self, e: Any) -> Optional[int]:
        if isinstance(e, m.Stat) or isinstance(e, (m.Num, m.Slice)):
            return 0
        if isinstance(e, m.Name):
            return self.name(e.id)
        if isinstance(e, m.BinOp):
            a, b = self.of(e.left), self.of(e.right)
            if a is None or b is None:
                return None
            if e.op in ("+", "-"):
                return max(a, b)
            if e.op in _PRODUCTS:
                return None if a and b else a + b
            if e.op == "/":
                return a if b == 0 else None
            return 0 if a == b == 0 else None
        if isinstance(e, m.Unary) and e.op in ("-", "+"):
            return self.of(e.operand)
        if isinstance(e, m.Transpose):
            return self.of(e.operand)
        if isinstance(e, m.Index):
            if not all(self.free(i) for i in e.indices):
                return None
            return self.of(e.base)
        if isinstance(e, m.Call) and e.func in _LINEAR_CALLS and len(e.args) == 1 \
                and not getattr(e, "kwargs", ()):
            return self.of(e.args[0])
        return 0 if self.free(e) else None


def _analysis(checked: Optional[CheckedClaim], e: m.Stat) -> Optional[_Degree]:
    if checked is None or e.kind not in ("E", "Var", "Std", "Cov"):
        return None
    deg = _Degree(checked)
    if any(deg.of(a) is None for a in e.args) or not deg.draws:
        return None
    return deg


def affine_draws(checked: Optional[CheckedClaim], e: m.Stat) -> Optional[list[str]]:
    """The normal draws a statistic's arguments are affine in (sorted), or None when it is
    not such a statistic (``P``, a non-affine argument, another law, no draw at all)."""
    deg = _analysis(checked, e)
    return None if deg is None else sorted(deg.draws)


def _fixed_definitions(ev, e: m.Stat) -> dict[str, Any]:
    """The values of the draw-free definitions the arguments read, computed once (every
    evaluation at a moved draw would otherwise recompute them, nested statistics included)."""
    deg = _analysis(ev.checked, e)
    out = {}
    for ident, d in (deg.memo.items() if deg is not None else ()):
        info = ev.checked.symbols.get(ident)
        if d == 0 and info is not None and info.role == "define" and ident not in ev.env:
            out[ident] = ev.ev(m.Name(ident, ident))
    return out


def exact_moment(ev, e: m.Stat, scope, draws: list[str]) -> Any:
    """E, Var, Std or Cov of an affine function of the named normal draws, per instance of
    the other inputs (``ev`` is the numeric Evaluator)."""
    base: dict[str, torch.Tensor] = {}
    scales: dict[str, torch.Tensor] = {}
    for name in draws:
        st = ev.checked.symbols[name].statement
        shape = tuple(ev.as_int(ev.ev(s, scope), "a size") for s in getattr(st.type, "shape", ()))
        mu = ev.tensor(ev.ev(st.dist.args[0], scope)).to(ev.dtype)
        var = ev.tensor(ev.ev(st.dist.args[1], scope)).to(ev.dtype)
        if var.reshape(var.shape[0], -1).shape[1] != 1:
            raise LoweringError("a normal draw with a covariance matrix: its entries are dependent")
        batch = max(mu.shape[0], var.shape[0])
        if mu.dim() == 1:
            mu = mu.reshape((mu.shape[0],) + (1,) * len(shape))
        base[name] = mu.expand((batch,) + shape).clone()
        scales[name] = var.reshape(-1).clamp_min(0).sqrt()
    if sum(t[0].numel() for t in base.values()) > MAX_ENTRIES:
        raise TooManyDraws(f"more than {MAX_ENTRIES} normal entries to differentiate over")

    fixed = _fixed_definitions(ev, e)

    def at(overrides: dict) -> list[torch.Tensor]:
        child = ev.child({**fixed, **overrides})
        return [ev.tensor(child.ev(a, scope)).to(ev.dtype) for a in e.args]

    centre = at(base)
    columns: list[list[torch.Tensor]] = []
    for name in draws:
        for k in range(base[name][0].numel()):
            moved = base[name].clone()
            flat = moved.reshape(moved.shape[0], -1)
            flat[:, k] = flat[:, k] + scales[name]
            values = at({**base, name: flat.reshape(moved.shape)})
            columns.append([v - c for v, c in zip(values, centre)])
    if e.kind == "E":
        return centre[0]
    if e.kind in ("Var", "Std"):
        var = sum((c[0] * c[0] for c in columns), torch.zeros_like(centre[0]))
        return var if e.kind == "Var" else var.sqrt()
    x, y = centre
    if x.dim() <= 1 and y.dim() <= 1:
        return sum((c[0] * c[1] for c in columns), torch.zeros_like(x * y))
    out = None
    for cx, cy in columns:
        term = cx.reshape(cx.shape[0], -1).unsqueeze(-1) * cy.reshape(cy.shape[0], -1).unsqueeze(-2)
        out = term if out is None else out + term
    if out is None:
        return torch.zeros(x.shape[0], x[0].numel(), y[0].numel(), dtype=ev.dtype, device=ev.device)
    return out
