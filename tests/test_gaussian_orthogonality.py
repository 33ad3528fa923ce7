"""E[Z·g(Y)] = 0 from joint Gaussianity and zero covariance
(derive/symbolic/strategies/gaussian_orthogonality.py): proved, or declined with a reason."""
from __future__ import annotations

import pytest

from derive.outcome import Verdict
from derive.symbolic.strategies.gaussian_orthogonality import GaussianOrthogonality
from tests.test_textbook import attempt_strategy

HEAD = """claim a "x"
  let x, z : real ~ {law}
  let g : real -> real smooth
  let y = x + z
  show {statement}
"""


def attempt(statement: str, law: str = "normal(0, 1)"):
    return attempt_strategy(GaussianOrthogonality(), HEAD.format(statement=statement, law=law))


def test_the_conditional_mean_of_a_gaussian_sum():
    out, _ = attempt("E[(x - y/2) * g(y)] == 0")
    assert out.verdict == Verdict.PROVED
    assert "independent" in out.evidence["certificate"]["route"]


@pytest.mark.parametrize("statement,law,why", [
    ("E[(x - y) * g(y)] == 0", "normal(0, 1)", "Cov[Z, Y] is not 0"),
    ("E[(x + 1) * g(z)] == 0", "normal(0, 1)", "E[Z] is not 0"),
    ("E[(x * z) * g(y)] == 0", "normal(0, 1)", "not affine"),
    ("E[(x - y/2) * g(y)] == 0", "uniform(-1, 1)", "not Gaussian"),
])
def test_declines_say_why(statement, law, why):
    out, notes = attempt(statement, law)
    assert out is None and any(why in n for n in notes), notes
