"""Accumulators: a recurrence ``x[s+1] = x[s] + F(s), x[0] = x0`` whose increment F does
not read x is the running sum x[T] = x0 + Σ_{l=0}^{T−1} F(l) for every integer T ≥ 0
(telescoping; T = 0 is the empty sum), so an entry of x[T] at a symbolic T lowers to a sum
(``S[t+1] = S[t] + φ(K[t+1, :]) @ V[t+1, :]ᵀ`` in causal linear attention)."""
from __future__ import annotations

from derive import model as m
from derive.semantics import CheckedClaim, walk
from derive.symbolic.lower import accumulator


def running_sums(checked: CheckedClaim, e: m.Expr) -> frozenset:
    """The sequences named in ``e`` that are accumulators (their terms lower to sums)."""
    names = {x.id for x in walk(e) if isinstance(x, m.Name) and
             getattr(checked.symbols.get(x.id), "role", None) == "sequence"}
    return frozenset(s for s in names if accumulator(checked, s) is not None)
