"""∂θ E[F] = E[∂θF + F·∂θ log p_θ] for scalar θ (derive/symbolic/strategies/leibniz.py)."""
from __future__ import annotations

from derive.outcome import Verdict
from derive.symbolic.strategies.leibniz import Leibniz
from tests.test_textbook import attempt_strategy

HEAD = """claim a "x"
  let θ : real > 0
  let f : real -> real smooth
  let x : real ~ {law}
  show {statement}
"""


def attempt(statement: str, law: str):
    return attempt_strategy(Leibniz(), HEAD.format(statement=statement, law=law))


def test_score_and_pathwise_routes_are_named():
    out, _ = attempt("grad(E[f(x)], θ) == E[(1/θ - x) * f(x)]", "exponential(θ)")
    assert out.verdict == Verdict.PROVED and out.evidence["scores"]
    assert out.evidence["certificate"]["route"].startswith("Leibniz rule (score function)")


def test_a_moving_support_or_a_wrong_integrand_declines():
    out, notes = attempt("grad(E[f(x)], θ) == E[-1/θ * f(x)]", "uniform(0, θ)")
    assert out is None and any("no symbolic density" in n or "support" in n for n in notes)
    out, notes = attempt("grad(E[f(x)], θ) == E[(x - 1/θ) * f(x)]", "exponential(θ)")
    assert out is None and any("not ∂θF + F·score" in n for n in notes)


def test_vector_parameter_in_the_free_algebra():
    text = """claim a "x"
  let k : dim
  let σ : real > 0
  let μ, v : vector[k]
  let f : vector[k] -> real smooth
  let x : vector[k] ~ normal(μ, σ^2)
  show {statement}
"""
    for statement, holds in [("grad(E[f(x)], μ) == E[(x - μ)/σ^2 * f(x)]", True),
                             ("grad(E[f(x)], μ) == E[(x - μ) * f(x)]", False)]:
        out, notes = attempt_strategy(Leibniz(), text.format(statement=statement))
        assert (out is not None and out.verdict == Verdict.PROVED) == holds, (statement, notes)
