"""Exact expectations of functions of a few independent scalar random draws.

``E[f]`` and ``P[A]`` where the random atoms are finitely-valued (a law's ``outcomes``:
``bernoulli``, ``rademacher`` — enumerated) and at most one continuous draw whose law has
an ``exact`` integral (``normal``, ``uniform``, ``exponential``; see derive/vocabulary).  ``f`` may be piecewise — ``relu``, ``abs``, ``max``/``min``, ``sign``,
indicators of comparisons — with kinks at the roots of polynomials in the draw; between
kinks each piece must be a sum of ``c · w^k · exp(a·w + b)``.  For a standard normal w a
piece integrates in closed form (complete the square, then the truncated moments
M_j(L, U) = ∫_L^U v^j φ(v) dv = [−v^{j−1} φ(v)]_L^U + (j − 1) M_{j−2}, M_0 = Φ(U) − Φ(L)
through ``erfc``); uniform and exponential pieces go to ``sympy.integrate``.  So
``E[relu(z)] = 1/√(2π)``, ``E[exp(a z)] = exp(a²/2)`` and ``P[z > 3.2] = erfc(1.6·√2)/2``
come out exactly — no sampling, no heavy-tail trouble.  Anything else raises
:class:`Unsupported` and the caller falls back (Monte Carlo).
"""
from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Optional

import sympy as sp

from derive.symbolic.lower import Unsupported
from derive.vocabulary.distributions import Law, args_of, law_of

MAX_ASSIGNMENTS = 256      # discrete atoms enumerated at most (2^8 combinations)
MAX_DEGREE = 12            # polynomial degree of a piece, at most
_KINKED = (sp.Max, sp.Min, sp.Abs, sp.sign, sp.Heaviside, sp.Piecewise)


def indicator(cond: sp.Basic) -> sp.Expr:
    """1 where ``cond`` holds, else 0 (a piecewise the integrator resolves)."""
    return sp.Piecewise((sp.Integer(1), cond), (sp.Integer(0), True))


class ExactExpectation:
    """E[·] of lowered expressions whose random atoms the ``Moments`` helper knows."""

    def __init__(self, moments) -> None:
        self.moments = moments
        self.low = moments.low

    def mean(self, x: sp.Expr) -> sp.Expr:
        if x.has(sp.Sum) or x.has(sp.Product):
            # Σᵢ x[i] is n draws, not one: substituting one draw for x[i] would be wrong
            raise Unsupported("a sum over random entries inside a non-polynomial function")
        atoms = sorted(self.moments.atoms(x), key=str)
        for a in atoms:
            if isinstance(a, sp.Indexed) and not all(i.is_Integer for i in a.indices):
                raise Unsupported("a random entry with a symbolic index")
            if isinstance(a, sp.Symbol) and a in self.moments.generic:
                raise Unsupported("a generic entry of an iid sum")
        self.moments._check_distinct(atoms)
        discrete, continuous = [], []
        for a in atoms:
            dist = self.moments.dist_of(a)
            law = law_of(dist)
            if law is not None and law.outcomes is not None:
                discrete.append((a, self._support(law, args_of(dist))))
            elif law is not None and law.exact is not None:
                continuous.append((a, law, args_of(dist)))
            else:
                raise Unsupported(f"exact expectation over {getattr(law, 'name', dist)}: "
                                  f"not supported by the symbolic engine")
        if len(continuous) > 1:
            raise Unsupported("more than one continuous random draw")
        combos = 1
        for _, sup in discrete:
            combos *= len(sup)
        if combos > MAX_ASSIGNMENTS:
            raise Unsupported("too many discrete outcomes to enumerate")
        total = sp.Integer(0)
        for choice in itertools.product(*[sup for _, sup in discrete]):
            weight = sp.Integer(1)
            sub = {}
            for (atom, _), (value, p) in zip(discrete, choice):
                sub[atom] = value
                weight *= p
            y = x.xreplace(sub)
            if continuous:
                atom, law, args = continuous[0]
                y = self._over(y, atom, law, args)
            else:
                y = _resolve_constant(y)
            total += weight * y
        return total

    def _support(self, law: Law, args: tuple) -> list[tuple[sp.Expr, sp.Expr]]:
        vals = [self.low.scalar(a) for a in args]
        return [(sp.Integer(v), sp.Rational(p.numerator, p.denominator)
                 if isinstance(p, Fraction) else p) for v, p in law.outcomes(vals)]

    def _over(self, y: sp.Expr, atom: sp.Basic, law: Law, args: tuple) -> sp.Expr:
        w = sp.Dummy("w", real=True)
        ex = law.exact([self.low.scalar(a) for a in args], w)
        if any(c.is_positive is not True for c in ex.positive):
            raise Unsupported(f"{law.name} with a parameter not known to be in its domain")
        if ex.density is None:   # the standard normal: closed-form Gaussian pieces
            return piecewise_integral(y.xreplace({atom: ex.x}), w, ex.lo, ex.hi, _gauss_piece)
        dens, conds = ex.density, ex.conds
        return piecewise_integral(y.xreplace({atom: ex.x}), w, ex.lo, ex.hi,
                                  lambda g, v, lo, hi: sp.integrate(g * dens, (v, lo, hi),
                                                                    conds=conds))


def _resolve_constant(y: sp.Expr) -> sp.Expr:
    return sp.piecewise_fold(y) if y.has(sp.Piecewise) else y


# ------------------------------------------------------------------ piecewise
def kinks(y: sp.Expr, w: sp.Symbol) -> list[sp.Expr]:
    """Expressions in w whose sign selects a branch of y."""
    out: list[sp.Expr] = []
    for node in sp.preorder_traversal(y):
        if not node.has(w):
            continue
        if isinstance(node, (sp.Max, sp.Min)):
            out.extend(a - b for a, b in itertools.combinations(node.args, 2))
        elif isinstance(node, (sp.Abs, sp.sign, sp.Heaviside)):
            out.append(node.args[0])
        elif isinstance(node, sp.Piecewise):
            for _, cond in node.args:
                out.extend(_relations(cond, w))
        elif isinstance(node, (sp.floor, sp.ceiling)):
            raise Unsupported("floor/ceil of a random draw")
    return [k for k in out if k.has(w)]


def _relations(cond: sp.Basic, w: sp.Symbol) -> list[sp.Expr]:
    if cond in (sp.true, sp.false) or not cond.has(w):
        return []
    if isinstance(cond, sp.core.relational.Relational):
        if isinstance(cond, (sp.Eq, sp.Ne)):
            return []   # a single point: probability 0 under a continuous law
        return [cond.lhs - cond.rhs]
    if isinstance(cond, (sp.And, sp.Or, sp.Not)):
        return [k for a in cond.args for k in _relations(a, w)]
    raise Unsupported(f"condition {cond.func.__name__}")


def roots_of(k: sp.Expr, w: sp.Symbol) -> list[sp.Expr]:
    try:
        poly = sp.Poly(sp.expand(k), w)
    except sp.PolynomialError as exc:
        raise Unsupported("a kink that is not polynomial in the draw") from exc
    if poly.degree() < 1:
        return []
    coeffs = poly.all_coeffs()
    if poly.degree() == 1:
        return [sp.simplify(-coeffs[1] / coeffs[0])]
    if any(c.free_symbols for c in coeffs):
        raise Unsupported("kinks of a nonlinear expression with free parameters")
    return list(sp.real_roots(poly))


def _less(a: sp.Expr, b: sp.Expr) -> bool:
    if a == -sp.oo or b == sp.oo:
        return not (a == b)
    if a == sp.oo or b == -sp.oo:
        return False
    d = sp.simplify(b - a)
    if d.is_positive is True:
        return True
    if d.is_nonpositive is True:
        return False
    raise Unsupported("kinks whose order depends on the parameters")


def breakpoints(y: sp.Expr, w: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> list[sp.Expr]:
    pts: list[sp.Expr] = []
    for k in kinks(y, w):
        for r in roots_of(k, w):
            if r.has(sp.I) or not (_less(lo, r) and _less(r, hi)):
                continue
            if any(sp.simplify(r - q) == 0 for q in pts):
                continue
            pts.append(r)
    # insertion sort with exact comparisons (few points)
    out: list[sp.Expr] = []
    for r in pts:
        i = 0
        while i < len(out) and _less(out[i], r):
            i += 1
        out.insert(i, r)
    return [lo] + out + [hi]


def _sign_on(k: sp.Expr, w: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> int:
    """The sign of kink k on the open interval (lo, hi) (no root of k inside it)."""
    if lo == -sp.oo and hi == sp.oo:
        t = sp.Integer(0)
    elif lo == -sp.oo:
        t = hi - 1
    elif hi == sp.oo:
        t = lo + 1
    else:
        t = (lo + hi) / 2
    v = sp.simplify(sp.expand(k).subs(w, t))
    if v.is_positive:
        return 1
    if v.is_negative:
        return -1
    if v.is_zero:
        return 0
    raise Unsupported("the sign of a kink depends on the parameters")


def resolve(y: sp.Expr, w: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """y on (lo, hi) with every branch chosen: a smooth expression in w."""
    if not y.has(w) or not y.args:
        return y
    if isinstance(y, sp.Piecewise):
        for expr, cond in y.args:
            if _holds(cond, w, lo, hi):
                return resolve(expr, w, lo, hi)
        raise Unsupported("no branch of a piecewise holds")
    args = [resolve(a, w, lo, hi) for a in y.args]
    if isinstance(y, (sp.Max, sp.Min)):
        best = args[0]
        for a in args[1:]:
            s = _sign_on(a - best, w, lo, hi)
            if (s > 0) == isinstance(y, sp.Max) and s != 0:
                best = a
        return best
    if isinstance(y, sp.Abs):
        return _sign_on(args[0], w, lo, hi) * args[0]
    if isinstance(y, sp.sign):
        return sp.Integer(_sign_on(args[0], w, lo, hi))
    if isinstance(y, sp.Heaviside):
        return sp.Integer(1 if _sign_on(args[0], w, lo, hi) > 0 else 0)
    return y.func(*args)


def _holds(cond: sp.Basic, w: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> bool:
    if cond is sp.true or cond is True:
        return True
    if cond is sp.false or cond is False:
        return False
    if not cond.has(w):
        v = sp.simplify(cond)
        if v in (sp.true, sp.false):
            return bool(v)
        raise Unsupported("a condition on the parameters")
    if isinstance(cond, sp.And):
        return all(_holds(a, w, lo, hi) for a in cond.args)
    if isinstance(cond, sp.Or):
        return any(_holds(a, w, lo, hi) for a in cond.args)
    if isinstance(cond, sp.Not):
        return not _holds(cond.args[0], w, lo, hi)
    if isinstance(cond, (sp.Eq,)):
        return False
    if isinstance(cond, sp.Ne):
        return True
    s = _sign_on(cond.lhs - cond.rhs, w, lo, hi)
    if isinstance(cond, (sp.StrictGreaterThan, sp.GreaterThan)):
        return s > 0
    return s < 0


def piecewise_integral(y: sp.Expr, w: sp.Symbol, lo: sp.Expr, hi: sp.Expr, piece) -> sp.Expr:
    pts = breakpoints(y, w, lo, hi)
    total = sp.Integer(0)
    for a, b in zip(pts, pts[1:]):
        g = resolve(y, w, a, b)
        total += piece(g, w, a, b)
    return total


# ------------------------------------------------------------------ Gaussian pieces
def _phi(v: sp.Expr) -> sp.Expr:
    if v in (sp.oo, -sp.oo):
        return sp.Integer(0)
    return sp.exp(-v ** 2 / 2) / sp.sqrt(2 * sp.pi)


def _cdf(v: sp.Expr) -> sp.Expr:
    if v == sp.oo:
        return sp.Integer(1)
    if v == -sp.oo:
        return sp.Integer(0)
    return sp.erfc(-v / sp.sqrt(2)) / 2


def truncated_moment(j: int, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """M_j(lo, hi) = ∫_lo^hi v^j φ(v) dv for a standard normal density φ."""
    if j == 0:
        if hi == sp.oo and lo != -sp.oo:
            return sp.erfc(lo / sp.sqrt(2)) / 2     # 1 − Φ(lo) without cancellation
        return _cdf(hi) - _cdf(lo)

    def edge(v: sp.Expr) -> sp.Expr:
        return sp.Integer(0) if v in (sp.oo, -sp.oo) else v ** (j - 1) * _phi(v)

    rest = (j - 1) * truncated_moment(j - 2, lo, hi) if j >= 2 else sp.Integer(0)
    return edge(lo) - edge(hi) + rest


def _gauss_piece(g: sp.Expr, w: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """∫_lo^hi g(w) φ(w) dw for g a sum of c · w^k · exp(a w + b)."""
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(g)):
        exps, rest = [], []
        for f in sp.Mul.make_args(term):
            base_exp = f if isinstance(f, sp.exp) else None
            if base_exp is None and f.is_Pow and isinstance(f.base, sp.exp) and f.exp.is_number:
                base_exp = sp.exp(f.base.args[0] * f.exp)
            (exps if base_exp is not None else rest).append(base_exp if base_exp is not None else f)
        expo = sp.expand(sum((e.args[0] for e in exps), sp.Integer(0)))
        try:
            pe = sp.Poly(expo, w)
            pr = sp.Poly(sp.Mul(*rest), w)
        except sp.PolynomialError as exc:
            raise Unsupported("a piece that is not c · w^k · exp(a w + b)") from exc
        if pe.degree() > 1 or pr.degree() > MAX_DEGREE:
            raise Unsupported("a piece that is not c · w^k · exp(a w + b)")
        if any(c.has(w) for c in pe.all_coeffs() + pr.all_coeffs()):
            raise Unsupported("a piece that is not c · w^k · exp(a w + b)")
        a = pe.coeff_monomial(w) if pe.degree() == 1 else sp.Integer(0)
        b = pe.coeff_monomial(1)
        shift_lo = lo if lo in (sp.oo, -sp.oo) else lo - a
        shift_hi = hi if hi in (sp.oo, -sp.oo) else hi - a
        inner = sp.Integer(0)
        for (k,), c in pr.terms():
            inner += c * sum(sp.binomial(k, j) * a ** (k - j) * truncated_moment(j, shift_lo, shift_hi)
                             for j in range(k + 1))
        total += sp.exp(b + a ** 2 / 2) * inner
    return total


def exact_value(e: sp.Expr, digits: int = 30) -> Optional[str]:
    """A decimal certificate of a closed form (None when it has free symbols)."""
    if e.free_symbols:
        return None
    return str(sp.N(e, digits))
