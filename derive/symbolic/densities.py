"""``logpdf``, ``pdf`` and ``KL`` of the declared scalar families, in closed form.

Each continuous family's log-density is written out in SymPy with the conditions it needs
(a variance, rate or scale > 0; x in the support).  ``KL(p, q)`` is E_p[log p(X) − log q(X)]:

* two laws of one continuous family whose log-density ratio is a polynomial in X (normal:
  a quadratic; exponential: linear) — the mean is Σ cₖ·E_p[Xᵏ] from the law's exact moments,
  so the closed form is exact (no integral is approximated);
* two laws of one finitely-valued family (bernoulli) — a finite sum over the outcomes.

Anything else (different families, a ratio with log X or |X|, a covariance matrix, a
categorical) is :class:`NoClosedForm` (the lowering's Unsupported): the symbolic engine
declines and sampling decides.
The conditions (:func:`conditions`) go to the side-condition reader
(:mod:`derive.symbolic.partial`), so a proof stands only where the declarations imply
them, and the high-precision referee calls a side undefined outside them.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import sympy as sp

from derive import model as m
from derive.vocabulary.distributions import args_of, law_of


class NoClosedForm(Exception):
    """This density or divergence has no exact symbolic route here (the lowering turns it
    into its Unsupported: the symbolic engine declines)."""

FUNCS = ("logpdf", "pdf", "KL")

Density = tuple[sp.Expr, list, list]   # log-density at x; parameter and support conditions


def _normal(p: list, x: sp.Expr) -> Density:
    mu, v = p
    return -(x - mu) ** 2 / (2 * v) - sp.log(2 * sp.pi * v) / 2, [sp.Gt(v, 0, evaluate=False)], []


def _exponential(p: list, x: sp.Expr) -> Density:
    (lam,) = p
    return sp.log(lam) - lam * x, [sp.Gt(lam, 0, evaluate=False)], [sp.Ge(x, 0, evaluate=False)]


def _laplace(p: list, x: sp.Expr) -> Density:
    mu, b = p
    return -sp.Abs(x - mu) / b - sp.log(2 * b), [sp.Gt(b, 0, evaluate=False)], []


def _gamma(p: list, x: sp.Expr) -> Density:
    k, theta = p
    return ((k - 1) * sp.log(x) - x / theta - sp.loggamma(k) - k * sp.log(theta),
            [sp.Gt(k, 0, evaluate=False), sp.Gt(theta, 0, evaluate=False)],
            [sp.Gt(x, 0, evaluate=False)])


LOG_DENSITY: dict[str, Callable[[list, sp.Expr], Density]] = {
    "normal": _normal, "exponential": _exponential, "laplace": _laplace, "gamma": _gamma}


def law_and_parameters(low: Any, d: m.Expr, env: dict):
    """The law and its lowered scalar parameters (a matrix parameter is Unsupported)."""
    law = law_of(d)
    if law is None:
        raise NoClosedForm("a density of something that is not a distribution")
    args = args_of(d)
    if any(a is None for a in args) or len(args) != len(law.params):
        raise NoClosedForm(f"{law.name}: parameters missing")
    if not all(low.is_scalar(a, env) for a in args):
        raise NoClosedForm(f"a density of {law.name} with a tensor parameter")
    return law, [low.scalar(a, env) for a in args]


def _pmf(law, params: list) -> list[tuple[sp.Expr, sp.Expr]]:
    return [(_exact(v), _exact(w)) for v, w in law.outcomes(params)]


def _exact(v: object) -> sp.Expr:
    """An outcome or weight as SymPy: numbers converted exactly, never text."""
    if isinstance(v, sp.Basic):
        return v
    if isinstance(v, Fraction):
        return sp.Rational(v.numerator, v.denominator)
    if isinstance(v, bool) or not isinstance(v, int):
        raise NoClosedForm(f"an outcome that is not an exact number: {v!r}")
    return sp.Integer(v)


def lower(low: Any, e: m.Call, env: dict) -> sp.Expr:
    """``logpdf(d, x)``, ``pdf(d, x)`` or ``KL(p, q)`` as a SymPy expression."""
    return _value_and_conditions(low, e, env)[0]


def conditions(low: Any, e: m.Call, env: dict) -> list:
    """What ``e`` needs to be defined as a real number (see the module docstring)."""
    try:
        return _value_and_conditions(low, e, env)[1]
    except NoClosedForm:
        return []


def _value_and_conditions(low: Any, e: m.Call, env: dict) -> tuple[sp.Expr, list]:
    if e.func == "KL" and len(e.args) == 2:
        return _kl(low, e.args[0], e.args[1], env)
    if e.func in ("logpdf", "pdf") and len(e.args) == 2 and low.is_scalar(e.args[1], env):
        law, params = law_and_parameters(low, e.args[0], env)
        make = LOG_DENSITY.get(law.name)
        if make is None:
            raise NoClosedForm(f"{e.func} of {law.name}: no symbolic density")
        lp, conds, support = make(params, low.scalar(e.args[1], env))
        if e.func == "pdf":   # 0 off the support: a value everywhere, no condition on x
            inside = sp.And(*[c.func(c.lhs, c.rhs) for c in support])
            return sp.Piecewise((sp.exp(lp), inside), (0, True)), conds
        return lp, conds + support   # log 0 is no real number: x in the support is a condition
    raise NoClosedForm(f"{e.func} of these arguments")


def _kl(low: Any, dp: m.Expr, dq: m.Expr, env: dict) -> tuple[sp.Expr, list]:
    (law, pp), (law_q, pq) = law_and_parameters(low, dp, env), law_and_parameters(low, dq, env)
    if law.name != law_q.name:
        raise NoClosedForm(f"KL between {law.name} and {law_q.name}: different families")
    if law.outcomes is not None:
        conds: list = []
        total = sp.Integer(0)
        for (v, wp), (u, wq) in zip(_pmf(law, pp), _pmf(law, pq)):
            if v != u:
                raise NoClosedForm("KL: outcomes in different orders")
            conds += [sp.Gt(wp, 0, evaluate=False), sp.Gt(wq, 0, evaluate=False)]   # conservative: no 0·log 0 convention
            total += wp * sp.log(wp / wq)
        return total, conds
    make = LOG_DENSITY.get(law.name)
    if make is None or law.moment is None:
        raise NoClosedForm(f"KL of {law.name}: no symbolic density")
    x = sp.Dummy("x", real=True)
    lp, cp, _ = make(pp, x)   # same family: p's support is q's
    lq, cq, _ = make(pq, x)
    ratio = sp.expand(lp - lq)
    try:
        poly = sp.Poly(ratio, x)
    except sp.PolynomialError:
        raise NoClosedForm(f"KL of {law.name}: the log-density ratio is not a polynomial in x")
    if any(c.has(x) for c in poly.coeffs()):
        raise NoClosedForm(f"KL of {law.name}: the log-density ratio is not a polynomial in x")
    mean = sum((c * law.moment(pp, k) for (k,), c in poly.terms()), sp.Integer(0))
    return mean, cp + cq


def density_evidence(low: Any, statement: m.Expr, outcome: Any) -> None:
    """State, in a proof's evidence, the conditions its densities and KL divergences
    needed (each was found implied by the declarations before the proof was accepted)."""
    from derive.semantics import walk
    found: list = []
    for node in walk(statement):
        if isinstance(node, m.Call) and node.func in FUNCS:
            for c in conditions(low, node, {}):
                if c.free_symbols and str(c) not in found:
                    found.append(str(c))
    if found:
        outcome.evidence["density_conditions"] = {
            "conditions": found, "discharged": "implied by the declarations (checked before "
            "the proof was accepted); KL(p, q) is E_p[log p(X) − log q(X)] with p's exact moments"}
