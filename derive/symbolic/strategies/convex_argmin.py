"""``argmin(w, f) == r`` (and ``argmax``) over a vector w, for symbolic sizes, when f is
a quadratic in w with a positive definite curvature — least squares, ridge, steepest
descent under ‖·‖², Gaussian log-densities.

In the free algebra of :mod:`matcalc` (scalar words ⟨w⟩ that remember their words), w is
replaced by ``r + u`` for an arbitrary vector u and ``D(u) = f(r + u) − f(r)`` is
expanded.  The claim is proved when every term of D is of degree 2 in u and is, with a
coefficient the declarations make ≥ 0, a square — ⟨sᵀs⟩ (a word that is some s
transposed and reversed, then s) or the square of a scalar word — and a positive
multiple of ⟨uᵀu⟩ is among them.  Then D(u) ≥ c‖u‖² > 0 for every u ≠ 0: r is the unique
minimiser (for ``argmax``, f is negated).  A term of degree 1 left over means r is no
stationary point; anything else declines (the numeric search then decides).

``argmin(w, f) == argmin(w, g)`` (either may be argmax) is proved when g = c·f + k with
c > 0 by the declarations and k free of w (−c for an argmin against an argmax): the two
have the same minimisers.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.symbolic.common import proved, sides_with
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.strategies.matcalc import CalcAlgebra
from derive.symbolic.strategies.matrix_algebra import _commutes

NAME = "convex-argmin"
_OPT = ("argmin", "argmax")


class ArgminAlgebra(CalcAlgebra):
    """The calculus algebra plus the log-density of a normal vector: logpdf(normal(μ, Σ),
    x) = −½(x − μ)ᵀΣ⁻¹(x − μ) + k, with Σ = c·I (c > 0 by the declarations) or a
    declared spd Σ, and k = −½ log det(2πΣ) one constant symbol (an optimiser ignores it)."""

    def __init__(self, low) -> None:
        super().__init__(low)
        self.log_constants: set[sp.Symbol] = set()

    def _constants(self) -> set:
        return super()._constants() | self.log_constants

    def lower(self, e: m.Expr) -> sp.Expr:
        if isinstance(e, m.Call) and e.func == "logpdf" and len(e.args) == 2 and not e.kwargs:
            law, x = e.args
            if isinstance(law, m.Call) and law.func == "normal" and len(law.args) == 2 and \
                    self.low.vtype(x).kind == "tensor" and len(self.low.vtype(x).shape) == 1:
                return self._normal_logpdf(law.args[0], law.args[1], x)
        return super().lower(e)

    def _normal_logpdf(self, mean: m.Expr, cov: m.Expr, x: m.Expr) -> sp.Expr:
        d = self.reduce(self.lower(x) - self.lower(mean))
        c = self.reduce(self.lower(cov))
        if _commutes(c):
            if not (c if isinstance(c, sp.Basic) else sp.Integer(c)).is_positive:
                raise Unsupported("a normal covariance c·I with c not positive by the declarations")
            quad = self.reduce(self.transposed(d) * d) / c
        elif isinstance(cov, m.Name) and "spd" in self.low.info(cov.id).props:
            quad = self.reduce(self.transposed(d) * self.inverse[self.tensor(cov.id)] * d)
        else:
            raise Unsupported("logpdf of a normal vector with a covariance that is neither "
                              "c·I nor a declared spd matrix")
        k = sp.Symbol(f"−½logdet(2πΣ)⟦{sp.sstr(c) if _commutes(c) else cov.id}⟧")
        self.log_constants.add(k)
        self.conditions.append("logpdf(normal(μ, Σ), x) = −½(x − μ)ᵀΣ⁻¹(x − μ) − ½ log det(2πΣ)")
        return -quad / 2 + k


def _optimum(e: m.Expr) -> bool:
    return isinstance(e, m.Call) and e.func in _OPT and len(e.args) == 2 and not e.kwargs \
        and isinstance(e.args[0], m.Name)


class ConvexArgmin:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        sides = sides_with(ctx.statement, _optimum)
        if sides is None:
            return None
        a, b = sides
        var = a.args[0].id
        info = ctx.checked.symbols.get(var)
        if info is None or info.role != "tensor" or len(info.vtype.shape) != 1 or info.props \
                or info.random:
            return None
        alg = ArgminAlgebra(lowering(ctx.checked))
        try:
            if _optimum(b):
                return self._same_optimisers(ctx, alg, a, b)
            return self._minimiser(ctx, alg, a, b)
        except Unsupported as exc:
            ctx.notes.append(f"{NAME}: {exc}"[:300])
            return None

    # ------------------------------------------------------------ argmin(w, f) == r
    def _minimiser(self, ctx: Context, alg: CalcAlgebra, opt: m.Call, r_expr: m.Expr
                   ) -> Optional[Outcome]:
        var = opt.args[0].id
        sign = 1 if opt.func == "argmin" else -1
        f = sign * _scalar(alg, opt.args[1])
        w = alg.tensor(var)
        wt = alg.transpose[w]
        r = alg.reduce(alg.lower(r_expr))
        u = alg.atom("u⋆", alg.shapes[w])
        ut = alg.transpose[u]
        moved = alg.replace(f, {w: r + u, wt: alg.transposed(r) + ut}, {var})
        at_r = alg.replace(f, {w: r, wt: alg.transposed(r)}, {var})
        d = sp.expand(moved - at_r)
        squares, positive = [], False
        for term in sp.Add.make_args(d):
            if term == 0:
                continue
            coeff, factors = _split(alg, term, u, ut)
            degree = sum(k * _degree(alg, s, u, ut) for s, k in factors)
            if degree == 1:
                ctx.notes.append(f"{NAME}: the claimed point is not stationary (a term "
                                 f"{term} of degree 1 in the displacement)")
                return None
            if degree != 2 or not coeff.is_nonnegative:
                ctx.notes.append(f"{NAME}: f(r + u) − f(r) has a term {term} that is not a "
                                 f"nonnegative square in u")
                return None
            kind = _square(alg, factors, u, ut)
            if kind is None:
                ctx.notes.append(f"{NAME}: the term {term} is not a square")
                return None
            positive = positive or (kind == "uᵀu" and coeff.is_positive)
            squares.append(str(term))
        if not positive:
            ctx.notes.append(f"{NAME}: no positive multiple of ‖u‖² in f(r + u) − f(r): the "
                             f"curvature is not shown definite")
            return None
        what = "minimiser" if sign == 1 else "maximiser"
        objective = "f" if sign == 1 else "−f (f maximised)"
        return proved(f"with {objective}: f(r + u) − f(r) is a sum of nonnegative squares with "
                      f"a positive multiple of ‖u‖² (for general sizes): r is the unique {what}",
                      NAME,
                      general=True, residual="0", expansion=squares[:12],
                      certificate={"route": "free algebra: f(r + u) − f(r) = Σ cₖ·(square)ₖ, "
                                            "cₖ ≥ 0, one term c·uᵀu with c > 0",
                                   "side_conditions": sorted(set(alg.conditions)) or
                                   ["none beyond the declarations"]})

    # ------------------------------------------------------------ argmin == argmin
    def _same_optimisers(self, ctx: Context, alg: CalcAlgebra, a: m.Call, b: m.Call
                         ) -> Optional[Outcome]:
        if a.args[0].id != b.args[0].id:
            return None
        var = a.args[0].id
        f = (1 if a.func == "argmin" else -1) * _scalar(alg, a.args[1])
        g = (1 if b.func == "argmin" else -1) * _scalar(alg, b.args[1])
        w = alg.tensor(var)
        depends = sorted((s for s in f.free_symbols | g.free_symbols
                          if _reads(alg, s, {w, alg.transpose[w]})), key=str)
        if not depends:
            return None
        probe = next((p for p in depends if sp.diff(f, p) != 0), None)
        if probe is None:
            return None
        cf, cg = sp.diff(f, probe), sp.diff(g, probe)
        c = sp.simplify(cg / cf)
        rest = sp.expand(g - c * f)
        if c.free_symbols & set(depends) or not c.is_positive or \
                any(_reads(alg, s, {w, alg.transpose[w]}) for s in rest.free_symbols):
            ctx.notes.append(f"{NAME}: the two objectives are not positive multiples of each "
                             f"other up to a constant")
            return None
        return proved(f"the second objective is {sp.sstr(c)} (> 0) times the first plus a "
                      f"term free of {var}: the same optimisers", NAME, general=True,
                      residual="0", factor=sp.sstr(c),
                      certificate={"route": "g = c·f + k with c > 0 and k constant in the "
                                            "variable",
                                   "side_conditions": [f"{sp.sstr(c)} > 0 by the declarations"]})


def _scalar(alg: CalcAlgebra, e: m.Expr) -> sp.Expr:
    value = alg.reduce(alg.lower(e))
    if not _commutes(value):
        raise Unsupported("an objective that is not a scalar")
    return sp.expand(value)


def _reads(alg: CalcAlgebra, s: sp.Symbol, atoms: set) -> bool:
    word = alg.words.get(s)
    return word is not None and any(a in atoms for a in word) or \
        (word is None and s in getattr(alg, "calls", {}))


def _split(alg: CalcAlgebra, term: sp.Expr, u, ut) -> tuple[sp.Expr, list]:
    """(coefficient free of u, [(scalar word symbol reading u, power)])."""
    coeff, factors = sp.Integer(1), []
    for base, power in term.as_powers_dict().items():
        if base in alg.words and any(a in (u, ut) for a in alg.words[base]):
            factors.append((base, int(power)))
        else:
            coeff *= base ** power
    return coeff, factors


def _degree(alg: CalcAlgebra, s: sp.Symbol, u, ut) -> int:
    return sum(1 for a in alg.words[s] if a in (u, ut))


def _square(alg: CalcAlgebra, factors: list, u, ut) -> Optional[str]:
    """'uᵀu', 'sᵀs', 'square' (a scalar word squared), or None."""
    if len(factors) == 1 and factors[0][1] == 2:
        return "square"
    if len(factors) != 1 or factors[0][1] != 1:
        return None
    word = list(alg.words[factors[0][0]])
    if word == [ut, u]:
        return "uᵀu"
    mid = word[1] if len(word) == 3 and word[0] == ut and word[2] == u else None
    base = alg.inverse.get(mid) if mid is not None and mid not in alg.origin else mid
    if base in alg.origin:     # uᵀAu of a declared A, or of A⁻¹ (an spd A's inverse is spd)
        props = alg.low.info(alg.origin[base]).props
        if base is not mid:
            props = props & {"spd"}
        if "spd" in props:
            return "uᵀu"     # > 0 for u ≠ 0, as uᵀu is
        if "psd" in props:
            return "sᵀs"
    if len(word) % 2:
        return None
    half = len(word) // 2
    left, right = word[:half], word[half:]
    if [alg.transpose[x] for x in reversed(right)] == left:
        return "sᵀs"
    return None
