"""Symbolic log-densities and KL divergences of the declared families
(derive/symbolic/densities.py): closed forms, the conditions they state, and the cases
they decline."""
from __future__ import annotations

import pytest
import sympy as sp

from derive.language.load import load_text
from derive.outcome import Verdict
from derive.semantics import check_claim
from derive.symbolic import densities
from derive.symbolic.lower import Unsupported, lowering
from tests.test_symbolic import one


def lowered(decls: str, expr: str):
    """The lowering of a claim's statement ``expr == 0`` and its left side's model."""
    text = f"claim c\n{decls}  show {expr} == 0\n"
    loaded = load_text(text)
    checked, diags = check_claim(loaded.claims[0])
    assert checked is not None, [d.message for d in diags]
    st = loaded.claims[0].shows[0].statement
    return lowering(checked), st.operands[0]


def kl(decls: str, expr: str) -> sp.Expr:
    low, e = lowered(decls, expr)
    return densities.lower(low, e, {})


def test_kl_of_normals_is_the_textbook_closed_form():
    value = kl("  let m1, m2 : real\n  let s1, s2 : real in (0, inf)\n",
               "KL(normal(m1, s1^2), normal(m2, s2^2))")
    m1, m2, s1, s2 = sorted(value.free_symbols, key=str)
    want = sp.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - sp.Rational(1, 2)
    assert sp.simplify(sp.expand_log(value - want, force=True)) == 0


def test_kl_is_not_symmetric():
    decls = "  let a, b : real in (0, inf)\n"
    forward = kl(decls, "KL(exponential(a), exponential(b))")
    backward = kl(decls, "KL(exponential(b), exponential(a))")
    a, b = sorted(forward.free_symbols, key=str)
    gap = (forward - backward).subs({a: 1, b: 2})
    assert abs(float(gap)) > 0.1


def test_kl_of_bernoulli_laws_sums_over_the_outcomes():
    value = kl("  let p, q : real in (0, 1)\n", "KL(bernoulli(p), bernoulli(q))")
    p, q = sorted(value.free_symbols, key=str)
    at = value.subs({p: sp.Rational(1, 2), q: sp.Rational(1, 4)})
    want = sp.log(2) / 2 + sp.log(sp.Rational(2, 3)) / 2
    assert abs(float(at - want)) < 1e-15


@pytest.mark.parametrize("expr, why", [
    ("KL(normal(0, 1), exponential(1))", "different families"),
    ("KL(laplace(0, 1), laplace(1, 1))", "not a polynomial"),
    ("KL(gamma(2, 1), gamma(3, 1))", "not a polynomial"),
])
def test_kl_declines_what_has_no_exact_route(expr, why):
    low, e = lowered("", expr)
    with pytest.raises(Unsupported, match=why):
        low.scalar(e)


def test_the_conditions_name_every_parameter_and_the_support():
    low, e = lowered("  let l : real in (0, inf)\n  let x : real\n", "logpdf(exponential(l), x)")
    conds = {str(c) for c in densities.conditions(low, e, {})}
    assert conds == {"l > 0", "x >= 0"}
    low, e = lowered("  let p, q : real in (0, 1)\n", "KL(bernoulli(p), bernoulli(q))")
    conds = {str(c) for c in densities.conditions(low, e, {})}
    assert conds == {"p > 0", "q > 0", "1 - p > 0", "1 - q > 0"}


def test_pdf_is_zero_off_the_support():
    low, e = lowered("", "pdf(exponential(2), -1)")
    assert densities.lower(low, e, {}) == 0


def test_a_proof_states_its_density_conditions():
    o = one("claim c\n  let m1, m2 : real\n  let s : real in (0, inf)\n"
            "  show KL(normal(m1, s^2), normal(m2, s^2)) == (m1 - m2)^2/(2*s^2)\n")
    assert o.verdict is Verdict.PROVED
    assert o.evidence["density_conditions"]["conditions"] == ["s**2 > 0"]


def test_a_missing_log_term_is_refuted_exactly():
    o = one("claim c\n  let m1, m2 : real\n  let s1, s2 : real in (0, inf)\n"
            "  show KL(normal(m1, s1^2), normal(m2, s2^2)) == (s1^2 + (m1 - m2)^2)/(2*s2^2) - 1/2\n")
    assert o.verdict is Verdict.REFUTED


def test_bernoulli_on_the_closed_interval_is_not_proved():
    o = one("claim c\n  let p : real in [0, 1]\n  let q : real in (0, 1)\n"
            "  show KL(bernoulli(p), bernoulli(q)) == p*log(p/q) + (1 - p)*log((1 - p)/(1 - q))\n")
    assert o is None or o.verdict is not Verdict.PROVED
