"""Exact moments of affine functions of normal draws (derive/numeric/affine.py): which
statistics qualify (decided on the model, never from values).  What they evaluate to:
tests/test_numeric.py (test_affine_statistics_of_normal_draws_are_exact) and
tests/soundness/repair_affine.claims."""
from __future__ import annotations

import pytest

from derive.numeric.affine import affine_draws
from tests.test_numeric import checked_claims, decide

HEAD = """claim affine
  let d, k : dim
  let σ : real > 0
  let M : matrix[k, d]
  let S : matrix[d, d]
  let W : vector[d] ~ normal(0, σ^2)
  let V : vector[d] ~ normal(0, 1)
  let x, y : real ~ normal(1, 1)
  let i : integer ~ categorical(ones(d) / d)
  let u : real ~ uniform(0, 1)
  let Y = M @ W + V[1] * ones(k)
  let C = Cov[W, W]
  show {s}
"""


def draws(s: str):
    checked = checked_claims(HEAD.format(s=s))[0]
    stat = checked.claim.shows[0].statement.operands[0]
    return affine_draws(checked, stat)


@pytest.mark.parametrize("s,expected", [
    ("Cov[M @ W + ones(k), W] == M", ["W"]),
    ("Cov[Y, W] == M", ["V", "W"]),                  # through a definition
    ("Var[2 * x - y / σ + 3] == 5", ["x", "y"]),
    ("E[sum(W) + trace(S)] == 0", ["W"]),
    ("Cov[C @ W, W] == S", ["W"]),                   # a statistic inside is a fixed value
    ("Cov[W[1], W[2]] == 0", ["W"]),
])
def test_affine_statistics_qualify(s, expected):
    assert draws(s) == expected


@pytest.mark.parametrize("s", [
    "Cov[relu(W), W] == S",        # piecewise linear: affine only locally
    "Var[x * y] == 1",             # a product of two draws
    "Var[x^2] == 1",
    "E[sign(x) * y] == 0",
    "Var[x / y] == 1",             # division by a draw
    "Cov[W[i], W] == S[1, :]",     # a random index (categorical)
    "Var[u] == 1/12",              # another law
    "P[x > 0] == 1/2",             # a probability is not a moment of an affine function
    "E[σ] == σ",                   # no draw at all
])
def test_other_statistics_do_not(s):
    assert draws(s) is None


def test_a_covariance_matrix_is_declined():
    """normal(0, S) with a matrix S has dependent entries: no exact route (Monte Carlo)."""
    text = """claim dependent
  let d : dim
  let S : matrix[d, d] spd
  let W : vector[d] ~ normal(0, S)
  show Cov[W, W] == S
"""
    out = decide(text)
    assert out is None or "exact moments" not in out.summary
