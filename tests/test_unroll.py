"""Recurrence terms for the high-precision referee (derive/numeric/unroll.py): the same
iterates as exact arithmetic, declined when the iteration is unstable."""
from __future__ import annotations

import pytest
import sympy as sp

from derive.language.load import load_text
from derive.numeric.unroll import exact_sequences
from derive.semantics import check_claim
from derive.symbolic.lower import Unsupported, lowering


def setup(text: str):
    loaded = load_text(text)
    checked, diags = check_claim(loaded.claims[0])
    assert checked is not None, [d.message for d in diags]
    return checked, lowering(checked), loaded.claims[0].shows[0].statement


def exact_at(values: dict):
    def subs(expr):
        return {s: values[s.name] for s in expr.free_symbols if s.name in values}
    return subs


def test_terms_match_exact_iteration():
    checked, low, st = setup("claim c\n  let b : real in (0, 1)\n  let g : real\n"
                             "  let m[t+1] = b*m[t] + g, m[0] = 0\n  show m[t] == 0\n")
    b, g = sp.Rational(999999, 1000000), sp.Rational(3, 7)
    t = low.symbols["t"]
    with exact_sequences(low, checked, exact_at({"b": b, "g": g}), {t: sp.Integer(40)}, 60):
        got = low.scalar(st.operands[0])
    want = g * (1 - b ** 40) / (1 - b)
    assert abs(got - want) <= abs(want) * sp.Float(10) ** -60


def test_two_sequences_in_step():
    checked, low, st = setup("claim c\n  let e[t+1] = e[t]/2 + 1, e[0] = 0\n"
                             "  let s[t+1] = s[t] + e[t], s[0] = 0\n  show s[t] == 0\n")
    t = low.symbols["t"]
    with exact_sequences(low, checked, exact_at({}), {t: sp.Integer(3)}, 60):
        got = low.scalar(st.operands[0])
    assert abs(got - sp.Rational(5, 2)) < sp.Float(10) ** -60   # e = 0, 1, 3/2: s[3] = 5/2


def test_an_unstable_iteration_is_declined():
    checked, low, st = setup("claim c\n  let w[t+1] = 4*w[t]*(1 - w[t]), w[0] = 1/3\n"
                             "  show w[t] <= 1\n")
    t = low.symbols["t"]
    with exact_sequences(low, checked, exact_at({}), {t: sp.Integer(400)}, 60):
        with pytest.raises(Unsupported, match="not stable"):
            low.scalar(st.operands[0])


def test_the_hook_is_restored():
    checked, low, st = setup("claim c\n  let w[t+1] = w[t] + 1, w[0] = 0\n  show w[t] >= 0\n")
    before = low.seq_hook
    with exact_sequences(low, checked, exact_at({}), {low.symbols["t"]: sp.Integer(2)}, 60):
        assert low.seq_hook is not before
    assert low.seq_hook is before
