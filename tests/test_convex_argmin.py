"""argmin/argmax over a vector proved by a sum-of-squares certificate of f(r + u) − f(r),
or by two objectives being positive multiples of each other up to a constant
(derive/symbolic/strategies/convex_argmin.py)."""
from __future__ import annotations

from derive.outcome import Verdict
from derive.symbolic.strategies.convex_argmin import ConvexArgmin
from tests.test_textbook import attempt_strategy

HEAD = """claim a "x"
  let n, d : dim
  let λ : real > 0
  let X : matrix[n, d]
  let y : vector[n]
  let w, a : vector[d]
  let A : matrix[d, d] {props}
  show {statement}
"""


def attempt(statement: str, props: str = "spd"):
    return attempt_strategy(ConvexArgmin(), HEAD.format(statement=statement, props=props))


def test_ridge_minimiser_has_a_sum_of_squares_certificate():
    out, _ = attempt("argmin(w, λ*norm(w)^2 + norm(X @ w - y)^2) == inv(Xᵀ @ X + λ*I[d]) @ Xᵀ @ y")
    assert out.verdict == Verdict.PROVED
    assert any("u⋆" in t for t in out.evidence["expansion"])
    assert "uᵀu" in out.evidence["certificate"]["route"]


def test_a_point_that_is_not_stationary_is_named():
    out, notes = attempt("argmin(w, norm(w - a)^2) == 2*a")
    assert out is None and any("not stationary" in n for n in notes)


def test_curvature_must_be_definite():
    out, notes = attempt("argmin(w, wᵀ @ A @ w - 2 * a · w) == inv(A) @ a", "symmetric invertible")
    assert out is None and any("not a" in n for n in notes)
    out, _ = attempt("argmin(w, wᵀ @ A @ w - 2 * a · w) == inv(A) @ a", "spd")
    assert out is not None and out.verdict == Verdict.PROVED


def test_same_optimisers_need_a_positive_factor():
    out, _ = attempt("argmin(w, norm(w - a)^2) == argmin(w, 5*norm(w - a)^2 + λ)")
    assert out.verdict == Verdict.PROVED and out.evidence["factor"] == "5"
    out, notes = attempt("argmin(w, norm(w - a)^2) == argmin(w, -norm(w - a)^2)")
    assert out is None and any("positive multiples" in n for n in notes)
