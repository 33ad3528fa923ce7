"""The random-algebra strategy: E/Var/Cov of linear and quadratic forms in random vectors
and matrices of symbolic size (derive/symbolic/random_algebra.py).  True identities are
proved with the rules and side conditions named; wrong ones (a missing trace, the wrong
dimension, dependence ignored, higher moments of a non-Gaussian law) are never proved."""
from __future__ import annotations

import pytest

from derive.engine import Context, Options
from derive.language.load import load_text
from derive.outcome import Verdict
from derive.semantics import check_claim
from derive.symbolic.strategies.random_forms import RandomForms
from tests.test_textbook import attempt_strategy


def attempt(decls: str, statement: str):
    """The strategy alone on one statement: (outcome or None, notes)."""
    text = "claim t\n" + "".join(f"  {line}\n" for line in decls.strip().splitlines()) + \
        f"  show {statement}\n"
    return attempt_strategy(RandomForms(), text)


QUAD = """let n : dim
let A : matrix[n, n]
let S : matrix[n, n] spd
let m, a, b : vector[n]
let x : vector[n] ~ normal(m, I[n])
let y : vector[n] ~ normal(m, S)"""

MAT = """let d1, d2 : dim
let s : real > 0
let Q : matrix[d1, d1]
let B : matrix[d2, d2]
let M : matrix[d2, d1]
let v : vector[d1]
let W : matrix[d2, d1] ~ normal(0, s^2)
let z : vector[d1] ~ normal(0, 1)"""

SQUARE = """let n : dim
let Q : matrix[n, n]
let U, V : matrix[n, n] ~ normal(0, 1)"""

OTHER = """let n, d : dim
let p : real in (0, 1)
let A : matrix[n, n]
let u : vector[n] ~ uniform(0, 1)
let e : vector[n] ~ any(mean = 0, var = 1)
let R : matrix[n, d] ~ bernoulli(p)"""

TRUE = [
    (QUAD, "E[xᵀ @ A @ x] == trace(A) + mᵀ @ A @ m"),
    (QUAD, "E[yᵀ @ A @ y] == trace(A @ S) + mᵀ @ A @ m"),
    (QUAD, "E[y @ yᵀ] == S + m @ mᵀ"),
    (QUAD, "E[x @ yᵀ] == m @ mᵀ"),
    (QUAD, "Cov[A @ y, y] == A @ S"),
    (QUAD, "Var[aᵀ @ y] == aᵀ @ S @ a"),
    (QUAD, "E[(aᵀ @ y) * (bᵀ @ y)] == aᵀ @ S @ b + (aᵀ @ m) * (bᵀ @ m)"),
    (QUAD, "E[norm(x - m)^2] == n"),
    (MAT, "E[Wᵀ @ W] == s^2 * d2 * I[d1]"),
    (MAT, "E[W @ Q @ Wᵀ] == s^2 * trace(Q) * I[d2]"),
    (MAT, "E[Wᵀ @ B @ W] == s^2 * trace(B) * I[d1]"),
    (MAT, "Var[W @ z] == s^2 * d1 * ones(d2)"),
    (MAT, "Var[W @ v] == s^2 * norm(v)^2 * ones(d2)"),
    (MAT, "Var[3 * W + M] == 9 * s^2 * ones(d2, d1)"),
    (MAT, "E[rms(W @ v)^2] == s^2 * norm(v)^2"),
    (MAT, "E[norm(W @ v)^2] / numel(W @ v) == s^2 * norm(v)^2"),
    (MAT, "E[norm(M + W, fro)^2] == norm(M, fro)^2 + d1 * d2 * s^2"),
    (SQUARE, "E[U @ Q @ U] == Qᵀ"),
    (SQUARE, "E[U @ V @ Uᵀ @ Vᵀ] == I[n]"),
    (SQUARE, "E[trace(U)^2] == n"),
    (SQUARE, "E[trace(U @ U)] == n"),
    (SQUARE, "E[(U @ U @ U)] == zeros(n, n)"),
    (SQUARE, "E[U @ Uᵀ @ U @ Uᵀ] == n * (2*n + 1) * I[n]"),            # Isserlis, 3 pairings
    (SQUARE, "E[U @ U @ U @ U] == (n + 2) * I[n]"),                   # E[u⁴] = 3 at n = 1
    (QUAD, "E[(xᵀ @ x)^2] == n^2 + 2*n + 2*(n + 2)*norm(m)^2 + norm(m)^4"),
    (OTHER, "E[uᵀ @ A @ u] == trace(A)/12 + sum(A)/4"),
    (OTHER, "E[eᵀ @ A @ e] == trace(A)"),
    (OTHER, "E[Rᵀ @ R] == n*p*(1 - p)*I[d] + n*p^2*ones(d, d)"),
]

FALSE = [
    (QUAD, "E[xᵀ @ A @ x] == mᵀ @ A @ m", "residual"),                    # the trace dropped
    (QUAD, "E[yᵀ @ A @ y] == trace(A) * trace(S) + mᵀ @ A @ m", "residual"),
    (QUAD, "E[x @ xᵀ] == E[x] @ E[x]ᵀ", "residual"),                      # x depends on x
    (QUAD, "Cov[A @ y, y] == S @ Aᵀ", "residual"),
    (MAT, "E[Wᵀ @ W] == s^2 * d1 * I[d1]", "residual"),                   # the wrong dimension
    (MAT, "Var[W @ v] == d1 * s^2 * ones(d2)", "residual"),
    (SQUARE, "E[U @ Q @ U] == Q", "residual"),
    (SQUARE, "E[trace(U @ U)] == n^2", "residual"),
    (OTHER, "E[uᵀ @ A @ u] == trace(A)/3", "residual"),
    (OTHER, "E[(eᵀ @ e)^2] == n^2 + 2*n", "4 times"),  # a fourth moment of any(…): not Gaussian
    (OTHER, "E[(uᵀ @ u) * u] == (n/3) * E[u]", "3 times"),              # a third moment of uniform
    (QUAD, "E[inv(x @ xᵀ + I[n])] == inv(E[x @ xᵀ] + I[n])", "inverse of a random"),
    (QUAD, "E[x] == x", "outside"),
    (QUAD, "E[(xᵀ @ x)^2] == n^2 + 2*n + norm(m)^4", "residual"),       # cross terms dropped
    (QUAD, "E[(xᵀ @ x)^4] == n^4", "more than Isserlis"),               # eight occurrences
]


@pytest.mark.parametrize("decls,statement", TRUE)
def test_true_identities_are_proved(decls, statement):
    outcome, notes = attempt(decls, statement)
    assert outcome is not None and outcome.verdict == Verdict.PROVED, notes


@pytest.mark.parametrize("decls,statement,why", FALSE)
def test_wrong_identities_are_declined_with_a_reason(decls, statement, why):
    outcome, notes = attempt(decls, statement)
    assert outcome is None
    assert any(why in n for n in notes), notes


def test_evidence_names_rules_draws_and_side_conditions():
    outcome, _ = attempt(QUAD, "E[yᵀ @ A @ y] == trace(A @ S) + mᵀ @ A @ m")
    cert = outcome.evidence["certificate"]
    assert "independent" in cert["side_conditions"]
    assert "covariance S" in cert["draws"]["y"]
    assert "E[L Zᵀ M Z R] = tr(K M)·L C R" in cert["rules"]
    assert any("one zero-mean factor" in r for r in cert["rules"])


def test_non_gaussian_draws_say_only_two_moments_are_used():
    outcome, _ = attempt(OTHER, "E[uᵀ @ A @ u] == trace(A)/12 + sum(A)/4")
    assert "only two moments used" in outcome.evidence["certificate"]["draws"]["u"]
    assert "variance 1/12" in outcome.evidence["certificate"]["draws"]["u"]


def test_odd_gaussian_products_vanish_but_odd_uniform_ones_are_declined():
    assert attempt(QUAD.replace("normal(m, I[n])", "normal(0, 1)"),
                   "E[(xᵀ @ x) * x] == zeros(n)")[0].verdict == Verdict.PROVED
    outcome, notes = attempt(OTHER, "E[(uᵀ @ u) * (u - E[u])] == zeros(n)")
    assert outcome is None and any("3 times" in n for n in notes)


def test_entrywise_variance_declined_when_entries_differ():
    outcome, notes = attempt(QUAD.replace("normal(m, I[n])", "normal(0, 1)"),
                             "Var[A @ x] == (trace(A @ Aᵀ)/n) * ones(n)")
    assert outcome is None and any("entries differ" in n for n in notes)


def test_scalar_draws_are_1x1_draws_and_elementwise_products_are_declined():
    decls = QUAD + "\nlet w : real ~ normal(1, 4)\nlet u : real ~ uniform(0, 1)"
    assert attempt(decls, "E[w * x] == m")[0].verdict == Verdict.PROVED
    assert attempt(decls, "E[w^2 * (x @ xᵀ)] == 5 * (I[n] + m @ mᵀ)")[0].verdict == Verdict.PROVED
    assert attempt(decls, "E[w^2 * (x @ xᵀ)] == I[n] + m @ mᵀ")[0] is None      # E[w²] = 5
    outcome, notes = attempt(decls, "E[u^3 * x] == m/4")                    # a third moment
    assert outcome is None and any("3 times" in n for n in notes)
    assert attempt(QUAD, "E[x ⊙ x] == ones(n) + m ⊙ m")[0] is None


def test_the_free_algebra_does_not_read_a_broadcast_scalar_as_the_identity():
    from derive.symbolic.strategies.matrix_algebra import MatrixAlgebra
    text = "claim t\n  let n : dim\n  let A : matrix[n, n]\n  show A + 1 == A + I[n]\n"
    (claim,) = load_text(text).claims
    checked, _ = check_claim(claim)
    ctx = Context(checked, claim.shows[0], 0, Options(seed=0))
    assert MatrixAlgebra().attempt(ctx) is None
    assert any("broadcasts" in n for n in ctx.notes)
