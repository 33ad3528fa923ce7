"""Defined functions as scalars, 'at' after grad, and index ranges in the symbolic lowering."""
from __future__ import annotations

import sympy as sp

from derive.language.load import load_text
from derive.semantics import check_claim
from derive.symbolic.lower import lowering


def sides(text: str):
    loaded = load_text(text)
    checked, diags = check_claim(loaded.claims[0])
    assert checked is not None, [d.message for d in diags]
    return lowering(checked), loaded.claims[0].shows[0].statement.operands


def test_a_defined_function_of_scalars_is_a_scalar():
    low, (a, b) = sides("claim c\n  let p(u) = (3 * u - u^3) / 2\n  show p(2) * 3 == 1\n")
    assert low.is_scalar(a) and low.scalar(a) == -3


def test_a_defined_function_of_a_vector_is_not():
    low, (a, _) = sides("claim c\n  let n : dim\n  let v : vector[n]\n  let f(u) = u * v\n"
                        "  show f(2) == f(2)\n")
    assert not low.is_scalar(a)


def test_at_substitutes_after_differentiating():
    low, (a, _) = sides("claim c\n  let x : real\n  show grad(x^3, x) at (x = 2) == 12\n")
    assert low.scalar(a) == 12


def test_an_index_carries_its_range():
    low, _ = sides("claim c\n  let h : dim\n  let i : 1..h\n  show i <= h\n")
    i, h = low.symbols["i"], low.symbols["h"]
    assert sp.Le(i, h) in low.conditions and sp.Ge(i, 1) in low.conditions
