"""What the declarations say about entries, applied to an entrywise residual.

Three facts, each an equality that holds for every value the declarations allow, so
rewriting with it never changes what a residual means:

* a declared index ``let i : lo..hi`` ranges over lo..hi — conditions such as ``i ≤ n``
  left behind by delta summation are decided on that range (``indexed.resolve``);
* an assumed ``i != j`` (or ``i < j``, ``i > j``) makes ``δ(i, j)`` zero, an assumed
  ``i == j`` makes it one;
* a symmetric matrix (``symmetric``, ``spd``, ``psd``) has ``A[p, q] = A[q, p]``, so each
  of its entries is written with its two indices in one fixed order.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.symbolic.lower import Lowering, Unsupported

SYMMETRIC = frozenset({"symmetric", "spd", "psd"})


def index_ranges(low: Lowering) -> dict:
    """Each declared index symbol ↦ (lo, hi) of its declared range (where it lowers)."""
    out = {}
    for name, info in low.checked.symbols.items():
        st = info.statement
        if info.role != "index" or name not in low.symbols or not isinstance(st, m.Decl) \
                or not isinstance(st.type, m.IndexType):
            continue
        try:
            out[low.symbols[name]] = (low.scalar(st.type.range.lo), low.scalar(st.type.range.hi))
        except Unsupported:
            continue
    return out


def _relation(low: Lowering, a: sp.Expr, b: sp.Expr) -> Optional[bool]:
    """True when an assumption says a == b, False when one says a ≠ b, else None."""
    for c in low.conditions:
        if not isinstance(c, (sp.Eq, sp.Ne, sp.StrictLessThan, sp.StrictGreaterThan)):
            continue
        if {c.lhs, c.rhs} != {a, b}:
            continue
        return isinstance(c, sp.Eq)
    return None


def assumed_deltas(expr: sp.Expr, low: Lowering) -> sp.Expr:
    """δ(a, b) replaced by 0 or 1 where an assumption relates a and b directly."""
    def settle(d: sp.KroneckerDelta) -> sp.Expr:
        rel = _relation(low, *d.args)
        return d if rel is None else sp.Integer(1 if rel else 0)
    return expr.replace(lambda x: isinstance(x, sp.KroneckerDelta), settle)


def symmetric_entries(expr: sp.Expr, low: Lowering) -> sp.Expr:
    """Entries A[p, q] of a declared-symmetric A with (p, q) in printed order."""
    def sym(x: sp.Basic) -> bool:
        if not isinstance(x, sp.Indexed) or len(x.indices) != 2:
            return False
        info = low.info(str(x.base.label))
        return info is not None and info.role == "tensor" and bool(info.props & SYMMETRIC)

    def order(x: sp.Indexed) -> sp.Indexed:
        p, q = x.indices
        return x if sp.default_sort_key(p) <= sp.default_sort_key(q) else x.base[q, p]
    return expr.replace(sym, order)


def with_facts(expr: sp.Expr, low: Lowering) -> sp.Expr:
    """Both rewrites; the declared index ranges go to ``resolve`` separately."""
    return symmetric_entries(assumed_deltas(expr, low), low)


def _real_entry(x: sp.Basic, low: Lowering) -> bool:
    if not isinstance(x, sp.Indexed):
        return False
    info = low.info(str(x.base.label))
    return info is not None and info.role == "tensor" and info.domain != "complex"


def nonnegative_sum(e: sp.Expr, low: Lowering) -> bool:
    """A sum whose summand is a product of even powers of real entries (‖A‖²_F)."""
    if not isinstance(e, sp.Sum):
        return False
    for f in sp.Mul.make_args(e.function):
        base, exp = (f.base, f.exp) if isinstance(f, sp.Pow) else (f, sp.Integer(1))
        if not (exp.is_Integer and exp.is_even and _real_entry(base, low)):
            return False
    return True


def sqrt_products(expr: sp.Expr, low: Lowering) -> sp.Expr:
    """√X·√Y as √(X·Y) where X and Y are sums of even powers of real entries (both ≥ 0,
    so the two sides are equal)."""
    def merge(term: sp.Mul) -> sp.Expr:
        roots = [f for f in term.args if isinstance(f, sp.Pow) and f.exp == sp.S.Half
                 and nonnegative_sum(f.base, low)]
        if len(roots) < 2:
            return term
        rest = sp.Mul(*[f for f in term.args if f not in roots])
        return rest * sp.sqrt(sp.Mul(*[f.base for f in roots]))
    return expr.replace(lambda x: isinstance(x, sp.Mul), merge)
