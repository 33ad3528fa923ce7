"""Θ / O / Ω of an exact count formula against a bound, decided symbolically.

One growing size ``n``: the limit ``L = lim count(n) / g(n)`` as ``n → ∞`` (SymPy), with
``g`` eventually positive.  Θ holds when ``0 < L < ∞``, O when ``L < ∞``, Ω when
``L > 0``.  A floor in the count (``⌊5·n·log₂n⌋``, ``⌊2n³/3⌋``) is within 1 of its
argument, so it is replaced by the argument when the floors' coefficients are o(g).

Several growing sizes: the statement proved is the strongest reading — uniform bounds
``c₁·g ≤ count ≤ c₂·g`` at *every* size ≥ 1 in the region the claim allows (the orders
``u ≥ v`` it keeps), so every regime (all sizes together, one size alone, p ≫ q) is
covered at once.  Both sides must be sums of monomials; a monomial ``x^α`` is at most
``x^β`` on the region exactly when, for every set ``U`` of sizes closed upwards under the
orders, ``Σ_{i∈U} (β − α)_i ≥ 0`` (write ``log x`` as a positive mix of the indicator
vectors of its level sets).  O holds when every positive monomial of the count is below
some monomial of the bound (all of the bound's coefficients positive); Ω when every
monomial of the bound is below some monomial of a count with no negative term.  What
neither rule settles declines: a joint limit is never guessed.
"""
from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from typing import Any, Optional

import sympy as sp

BIG = 2 ** 200            # where a limit is sanity-checked against the formula's value


class Undecided(Exception):
    """The rule cannot settle the statement (the reason says why)."""


# ------------------------------------------------------------------ one growing size
def _floors_removed(count: sp.Expr, n: sp.Symbol) -> tuple[sp.Expr, list[sp.Expr]]:
    """(count with every floor replaced by its argument, the floors' coefficients)."""
    floors = sorted(count.atoms(sp.floor), key=sp.default_sort_key)
    if not floors:
        return count, []
    if any(f.args[0].has(sp.floor) for f in floors):
        raise Undecided("a floor inside a floor")
    poly = sp.Poly(count, *floors)
    if poly.total_degree() > 1:
        raise Undecided("floors multiplied together")
    coeffs = [poly.coeff_monomial(f) for f in floors]
    smooth = sp.expand(poly.coeff_monomial(1) + sum(c * f.args[0] for c, f in zip(coeffs, floors)))
    return smooth, coeffs


def _limit(e: sp.Expr, n: sp.Symbol) -> sp.Expr:
    value = sp.limit(e, n, sp.oo)
    if value is sp.oo:
        return value
    if not (value.is_real and value.is_finite) or value.is_negative:
        raise Undecided(f"the limit of {e} is {value}")
    return value


def _value_at(e: sp.Expr, n: sp.Symbol, at: int) -> float:
    return float(sp.N(e.subs(n, sp.Integer(at)), 30))


def univariate(count: sp.Expr, bound: sp.Expr, n: sp.Symbol, kind: str) -> dict[str, Any]:
    """Proof of ``count ∈ kind(bound)`` as ``n → ∞`` (kind Θ, O or Ω), or Undecided."""
    if count.has(sp.ceiling) or bound.has(sp.floor, sp.ceiling):
        raise Undecided("a ceiling in the count, or a rounding in the bound")
    g_limit = sp.limit(bound, n, sp.oo)
    if not (g_limit is sp.oo or (g_limit.is_real and g_limit.is_positive)):
        raise Undecided(f"the bound tends to {g_limit}: it must stay positive")
    smooth, coeffs = _floors_removed(count, n)
    for c in coeffs:
        if _limit(sp.Abs(c) / bound, n) != 0:
            raise Undecided("a floor's rounding is not negligible against the bound")
    ratio = sp.simplify(smooth / bound)
    L = _limit(ratio, n)
    # a SymPy limit is checked against the ratio's value far out (a guard, not a proof)
    far, near = _value_at(ratio, n, BIG), _value_at(ratio, n, 2 ** 20)
    if L is sp.oo:
        sane = far > near
    elif L == 0:
        sane = far < near or far == 0
    else:
        sane = abs(far / float(L) - 1) < 0.1
    if not sane:
        raise Undecided(f"the limit {L} disagrees with the ratio's value at n = 2^200")
    holds = {"Θ": L != 0 and L is not sp.oo, "O": L is not sp.oo, "Ω": L != 0}[kind]
    if not holds:
        raise Undecided(f"count / bound → {L}: {kind} does not follow")
    return {"limit": f"lim_{{{n}→∞}} count / bound = {sp.sstr(L)}",
            "limit_value": sp.sstr(L),
            **({"floors": "each floor is within 1 of its argument; their coefficients are "
                          "o(bound)"} if coeffs else {})}


# ------------------------------------------------------------------ several growing sizes
def _monomials(e: sp.Expr, syms: list[sp.Symbol], what: str) -> list[tuple[Fraction, tuple]]:
    """``e`` as (coefficient, exponent vector) terms; exponents rational, no other function."""
    out = []
    for term in sp.Add.make_args(sp.expand(e)):
        coeff, rest = term.as_coeff_Mul()
        if not coeff.is_Rational:
            raise Undecided(f"{what} has a coefficient {coeff}")
        powers = rest.as_powers_dict() if rest != 1 else {}
        exps = []
        for s in syms:
            a = powers.pop(s, sp.Integer(0))
            if not a.is_Rational:
                raise Undecided(f"{what} has a power {s}^{a}")
            exps.append(Fraction(int(a.p), int(a.q)))
        if any(k != 1 for k in powers):
            raise Undecided(f"{what} is not a sum of monomials of the sizes ({term})")
        out.append((Fraction(int(coeff.p), int(coeff.q)), tuple(exps)))
    return out


def up_sets(k: int, orders: list[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Nonempty index sets closed upwards: with ``(u, v)`` (x_u ≥ x_v), v ∈ U ⇒ u ∈ U."""
    out = []
    for r in range(1, k + 1):
        for u_set in combinations(range(k), r):
            if all(u in u_set for u, v in orders if v in u_set):
                out.append(u_set)
    return out


def below(alpha: tuple, beta: tuple, sets: list[tuple[int, ...]]) -> bool:
    """``x^α ≤ x^β`` at every size ≥ 1 in the ordered region."""
    return all(sum(beta[i] - alpha[i] for i in u_set) >= 0 for u_set in sets)


def _show(e: tuple, syms: list[sp.Symbol]) -> str:
    parts = [f"{s}^{a}" if a != 1 else str(s) for s, a in zip(syms, e) if a != 0]
    return "·".join(parts) or "1"


def multivariate(count: sp.Expr, bound: sp.Expr, syms: list[sp.Symbol], kind: str,
                 orders: list[tuple[int, int]]) -> dict[str, Any]:
    """Proof of uniform bounds ``count ≤ c·g`` (O), ``g ≤ c·count`` (Ω), or both (Θ)."""
    if count.has(sp.floor) or count.has(sp.log):
        raise Undecided("a floor or logarithm in a count of several sizes")
    c_terms = _monomials(count, syms, "the count")
    g_terms = _monomials(bound, syms, "the bound")
    if any(c <= 0 for c, _ in g_terms):
        raise Undecided("the bound has a negative term")
    sets = up_sets(len(syms), orders)
    upper: list[str] = []
    lower: list[str] = []
    if kind in ("Θ", "O"):
        for c, a in c_terms:
            if c <= 0:
                continue
            hit = next((b for _, b in g_terms if below(a, b, sets)), None)
            if hit is None:
                raise Undecided(f"the count's term {_show(a, syms)} is not below any term of "
                                "the bound in every regime")
            upper.append(f"{_show(a, syms)} ≤ {_show(hit, syms)}")
    if kind in ("Θ", "Ω"):
        if any(c < 0 for c, _ in c_terms):
            raise Undecided("the count has a negative term (a lower bound needs all positive)")
        for _, b in g_terms:
            hit = next((a for _, a in c_terms if below(b, a, sets)), None)
            if hit is None:
                raise Undecided(f"the bound's term {_show(b, syms)} is not below any term of "
                                "the count in every regime")
            lower.append(f"{_show(b, syms)} ≤ {_show(hit, syms)}")
    terms = ([f"count ≤ c·bound termwise ({', '.join(upper)})"] if upper else []) + \
        ([f"bound ≤ c·count termwise ({', '.join(lower)})"] if lower else [])
    return {"rule": "termwise at every size ≥ 1" + (
                " with " + ", ".join(f"{syms[u]} ≥ {syms[v]}" for u, v in orders)
                if orders else "") + " (all regimes at once)",
            "terms": terms}


# ------------------------------------------------------------------ products of one-size factors
def _by_size(e: sp.Expr, syms: list[sp.Symbol], what: str) -> tuple[sp.Expr, dict]:
    """``e`` = constant × Π factor(x) with each factor reading one size, or Undecided."""
    const, parts = sp.Integer(1), {s: sp.Integer(1) for s in syms}
    for f in sp.Mul.make_args(e):
        free = f.free_symbols
        if not free:
            const *= f
        elif len(free) == 1 and next(iter(free)) in parts:
            parts[next(iter(free))] *= f
        else:
            raise Undecided(f"{what} is not a product of factors of one size each ({f})")
    return const, parts


def _rounding_bounds(e: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(lower, upper) continuous bounds: ⌈a⌉ ∈ [a, a + 1], ⌊a⌋ ∈ [a − 1, a], for a factor
    in which every rounding appears with a nonnegative sign (a sum or product of them)."""
    rounded = list(e.atoms(sp.ceiling)) + list(e.atoms(sp.floor))
    if any(r.args[0].has(sp.ceiling, sp.floor) for r in rounded):
        raise Undecided("a rounding inside a rounding")
    lo = {r: (r.args[0] if isinstance(r, sp.ceiling) else r.args[0] - 1) for r in rounded}
    hi = {r: (r.args[0] + 1 if isinstance(r, sp.ceiling) else r.args[0]) for r in rounded}
    marks = {r: sp.Dummy("r") for r in rounded}
    marked = e.xreplace(marks)
    for r, d in marks.items():
        if not sp.diff(marked, d).is_nonnegative:
            raise Undecided(f"a rounding {r} enters with a sign that is not known")
    return e.xreplace(lo), e.xreplace(hi)


def _positive_from_2(e: sp.Expr, x: sp.Symbol) -> bool:
    y = sp.Symbol("y", nonnegative=True)
    return bool(sp.simplify(e.subs(x, y + 2)).is_positive)


def separable(count: sp.Expr, bound: sp.Expr, syms: list[sp.Symbol], kind: str
              ) -> dict[str, Any]:
    """Uniform bounds at every size ≥ 2 when count and bound are products of factors of one
    size each (``⌈log₂ 2L⌉·⌈log₂(n + 1)⌉`` against ``log L · log n``): each size's ratio
    f(x)/g(x) lies between continuous functions that are positive on [2, ∞) with finite
    positive limits (roundings replaced by their bounds), so it is bounded above and away
    from 0 there, and the product of the ratios is too — every regime at once."""
    c_const, c_parts = _by_size(count, syms, "the count")
    g_const, g_parts = _by_size(bound, syms, "the bound")
    if not (c_const.is_positive and g_const.is_positive):
        raise Undecided("a constant factor is not positive")
    notes = []
    for x in syms:
        f, g = c_parts[x], g_parts[x]
        lo, hi = _rounding_bounds(f)
        if not (_positive_from_2(g, x) and _positive_from_2(lo, x)):
            raise Undecided(f"the factors of {x} are not shown positive for {x} ≥ 2")
        low, high = _limit(sp.simplify(lo / g), x), _limit(sp.simplify(hi / g), x)
        if kind in ("Θ", "O") and high is sp.oo:
            raise Undecided(f"the count's factor of {x} outgrows the bound's")
        if kind in ("Θ", "Ω") and low == 0:
            raise Undecided(f"the bound's factor of {x} outgrows the count's")
        notes.append(f"({sp.sstr(f)}) / ({sp.sstr(g)}) → [{sp.sstr(low)}, {sp.sstr(high)}]")
    return {"rule": "products of one-size factors: each ratio bounded above and away from 0 "
                    "at every size ≥ 2 (positive on [2, ∞), finite positive limits; roundings "
                    "within 1 of their argument)",
            "terms": notes}


def decide(count: sp.Expr, bound: sp.Expr, syms: list[sp.Symbol], kind: str,
           orders: Optional[list[tuple[int, int]]] = None) -> dict[str, Any]:
    """The proof's evidence, or :class:`Undecided`."""
    if len(syms) == 1:
        return univariate(count, bound, syms[0], kind)
    try:
        return multivariate(count, bound, syms, kind, orders or [])
    except Undecided as first:
        try:
            return separable(count, bound, syms, kind)
        except Undecided:
            raise first from None
