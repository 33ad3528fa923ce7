"""Expectations and variances from the moments of declared distributions.

A random expression is split into ``a + Σ bₜ Sₜ + P``: a constant part, sums over a
symbolic range whose summand uses only the i-th entries of iid random vectors (so the
terms are independent across i and cumulants add: Var Σᵢ fᵢ = n·Var f), and a
polynomial P in individual random entries and scalars.  Moments of a monomial factor
over independent atoms (distinct entries and distinct names are independent).
No sampling and no sympy.stats: closed forms for symbolic n in well under a second.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.symbolic.lower import Lowering, Unsupported
from derive.vocabulary.distributions import Declined, args_of, law_of


def raw_moment(dist: m.Expr, k: int, low: Lowering) -> sp.Expr:
    """E[X^k] for one draw of a declared distribution (its law's closed-form moments)."""
    law = law_of(dist)
    if k == 0:
        return sp.Integer(1)
    if law is None or law.moment is None:
        raise Unsupported(f"moments of {getattr(law, 'name', dist)}: not supported by the "
                          f"symbolic engine")
    try:   # a moment-only law (any(mean = …, var = …)) knows E[X] and E[X²], nothing more
        return law.moment([low.scalar(a) for a in args_of(dist)], k)
    except Declined as exc:
        raise Unsupported(str(exc)) from exc


class Moments:
    """E and Var of lowered random expressions for one claim."""

    def __init__(self, low: Lowering, fixed: frozenset = frozenset()):
        self.low = low
        self.generic: dict[sp.Symbol, m.Expr] = {}  # generic i-th entry -> its distribution
        self.fixed = fixed  # draws held fixed (E[x | y]): constants here, random outside

    def given(self, names: frozenset) -> "Moments":
        """The same claim with the draws ``names`` held fixed as well: E[· | names]."""
        return Moments(self.low, self.fixed | names)

    # ------------------------------------------------------------ atoms
    def dist_of(self, atom: sp.Basic) -> Optional[m.Expr]:
        if atom in self.generic:
            return self.generic[atom]
        name = atom.base.label.name if isinstance(atom, sp.Indexed) else getattr(atom, "name", None)
        if name in self.fixed:
            return None
        info = self.low.info(name) if name else None
        if info is not None and info.random and info.role in ("scalar", "tensor"):
            if info.dist is None:
                raise Unsupported(f"{name} is random but has no distribution")
            return info.dist
        if info is not None and info.random:
            raise Unsupported(f"{name} is a random {info.role}")
        return None

    def atoms(self, x: sp.Expr) -> set:
        found = set()
        for a in sp.preorder_traversal(x):
            if isinstance(a, (sp.Indexed, sp.Symbol)) and not isinstance(a, sp.Dummy):
                if isinstance(a, sp.Symbol) and a in self.generic:
                    found.add(a)
                elif self.dist_of(a) is not None:
                    found.add(a)
        return {a for a in found if not (isinstance(a, sp.Symbol) and any(
            isinstance(b, sp.Indexed) and b.base.label == a for b in found))}

    def bases(self, x: sp.Expr) -> set:
        out = set()
        for a in self.atoms(x):
            out.add(a.base.label.name if isinstance(a, sp.Indexed) else a.name)
        return out

    # ------------------------------------------------------------ expectation
    def mean(self, x: sp.Expr) -> sp.Expr:
        const, sums, poly = self.split(x)
        out = const + self.poly_mean(poly)
        for coeff, (body, i, lo, hi) in sums:
            out += coeff * (hi - lo + 1) * self.poly_mean(body)
        return out

    def variance(self, x: sp.Expr) -> sp.Expr:
        _, sums, poly = self.split(x)
        out = self.poly_cov(poly, poly)
        for c1, s1 in sums:
            if poly != 0 and self.bases(poly) & self.sum_bases(s1):
                raise Unsupported("a sum and a separate term share random entries")
            for c2, s2 in sums:
                out += c1 * c2 * self.sum_cov(s1, s2)
        return out

    def sum_bases(self, s: tuple) -> set:
        return {str(self.generic_base(a)) for a in self.atoms(s[0])}

    def generic_base(self, a: sp.Symbol) -> str:
        return a.name.split("⟨")[0]

    def sum_cov(self, s1: tuple, s2: tuple) -> sp.Expr:
        body1, _, lo1, hi1 = s1
        body2, _, lo2, hi2 = s2
        if not (self.sum_bases(s1) & self.sum_bases(s2)):
            return sp.Integer(0)
        if sp.simplify(lo1 - lo2) != 0 or sp.simplify(hi1 - hi2) != 0:
            raise Unsupported("sums over different ranges share random entries")
        return (hi1 - lo1 + 1) * self.poly_cov(body1, body2)

    def poly_cov(self, a: sp.Expr, b: sp.Expr) -> sp.Expr:
        if a == 0 or b == 0:
            return sp.Integer(0)
        return sp.expand(self.poly_mean(sp.expand(a * b)) - self.poly_mean(a) * self.poly_mean(b))

    def poly_mean(self, x: sp.Expr) -> sp.Expr:
        """E of a polynomial in independent random atoms (moments multiply)."""
        x = sp.expand(x)
        if x == 0:
            return sp.Integer(0)
        atoms = sorted(self.atoms(x), key=str)
        if not atoms:
            return x
        self._check_distinct(atoms)
        try:
            poly = sp.Poly(x, *atoms)
        except sp.PolynomialError as exc:
            raise Unsupported("not a polynomial in the random variables") from exc
        if any(a in c.free_symbols for c in poly.coeffs() for a in atoms):
            raise Unsupported("not a polynomial in the random variables")
        out = sp.Integer(0)
        for powers, coeff in poly.terms():
            term = coeff
            for atom, k in zip(atoms, powers):
                if k:
                    term *= raw_moment(self.dist_of(atom), k, self.low)
            out += term
        return sp.expand(out)

    def _check_distinct(self, atoms: list) -> None:
        """Entries of one random tensor are independent only if their indices surely differ."""
        by_base: dict = {}
        for a in atoms:
            if isinstance(a, sp.Indexed):
                by_base.setdefault(a.base.label, []).append(a.indices)
        for idxs in by_base.values():
            if len(idxs) > 1 and not all(i.is_Integer for t in idxs for i in t):
                raise Unsupported("entries with symbolic indices may coincide")

    # ------------------------------------------------------------ structure
    def split(self, x: sp.Expr) -> tuple:
        """x = const + Σ coeff·Sum(iid body) + poly (see module doc)."""
        const, sums, poly = sp.Integer(0), [], sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(x)):
            found = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
            if not found:
                if self.atoms(term):
                    poly += term
                else:
                    const += term
                continue
            if len(found) > 1:
                raise Unsupported("a product of sums")
            s = found[0]
            coeff = sp.Mul(*[f for f in sp.Mul.make_args(term) if f is not s])
            if self.atoms(coeff):
                raise Unsupported("a random factor outside a sum")
            sums.append((coeff, self.iid_body(s)))
        return const, sums, poly

    def iid_body(self, s: sp.Sum) -> tuple:
        if len(s.limits) != 1:
            raise Unsupported("nested sums")
        i, lo, hi = s.limits[0]
        body = s.function
        if body.has(sp.Sum):
            raise Unsupported("nested sums")
        subs = {}
        for a in sp.preorder_traversal(body):
            if isinstance(a, sp.Indexed) and i in a.free_symbols:
                info = self.low.info(a.base.label.name)
                if info is None or not info.random or a.base.label.name in self.fixed:
                    raise Unsupported("a constant tensor inside a random sum")
                if a.indices != (i,):
                    raise Unsupported("summand not of the i-th entries of iid vectors")
                gen = sp.Symbol(f"{a.base.label.name}⟨i⟩")
                self.generic[gen] = info.dist
                subs[a] = gen
        generic = body.xreplace(subs)
        if i in generic.free_symbols:
            raise Unsupported("summand depends on the index otherwise")
        if any(not (isinstance(a, sp.Symbol) and a in self.generic) for a in self.atoms(generic)):
            raise Unsupported("summand shares a random scalar across terms")
        return generic, i, lo, hi
