"""The matrix-differential strategy (derive/symbolic/strategies/matcalc.py): gradients for
symbolic sizes proved in the free algebra, wrong gradients never proved, and the declines
that keep it sound (constrained variables, elementwise functions, unsquared or spectral
norms, matrices that depend on the variable)."""
from __future__ import annotations

import pytest

from derive.language.load import load_text
from derive.outcome import Verdict
from derive.semantics import check_claim
from derive.symbolic.lower import lowering
from derive.symbolic.strategies.matcalc import CalcAlgebra, MatrixDifferential
from tests.test_textbook import attempt_strategy


def attempt(text: str):
    """The strategy's outcome on the claim's only statement, and its notes."""
    return attempt_strategy(MatrixDifferential(), text)


AE = """claim ae
  let m, n, k : dim
  let X : matrix[m, n]
  let W1 : matrix[k, m]
  let W2 : matrix[m, k]
  show {s}
"""

SQ = """claim sq
  let n : dim
  let A, B, W, Z, X : matrix[n, n]
  let S : matrix[n, n] symmetric
  let Q : matrix[n, n] orthogonal
  let x, b, s, y : vector[n]
  show {s}
"""


def proved(text: str):
    out, notes = attempt(text)
    assert out is not None and out.verdict == Verdict.PROVED, notes
    return out


def declined(text: str) -> str:
    out, notes = attempt(text)
    assert out is None, out
    return " ".join(notes)


def test_autoencoder_gradients_proved_with_route_and_side_conditions():
    out = proved(AE.format(s="grad(norm(X - W2 @ W1 @ X, fro)^2, W2) == "
                             "2 * (W2 @ W1 - I[m]) @ X @ Xᵀ @ W1ᵀ"))
    cert = out.evidence["certificate"]
    assert cert["route"].startswith("matrix differential")
    assert any("'W2' is an unconstrained matrix" in c for c in cert["side_conditions"])
    assert out.evidence["general"] is True
    proved(AE.format(s="grad(norm(X - W2 @ W1 @ X, fro)^2, W1) == 2 * W2ᵀ @ (W2 @ W1 - I[m]) @ X @ Xᵀ"))


@pytest.mark.parametrize("wrong", [
    "grad(norm(X - W2 @ W1 @ X, fro)^2, W1) == W2ᵀ @ (W2 @ W1 - I[m]) @ X @ Xᵀ",          # no 2
    "grad(norm(X - W2 @ W1 @ X, fro)^2, W2) == 2 * (W2 @ W1 - I[m]) @ X @ Xᵀ @ W1ᵀ @ W2ᵀ @ W2",
])
def test_wrong_autoencoder_gradients_leave_a_residual(wrong):
    assert "residual" in declined(AE.format(s=wrong))


@pytest.mark.parametrize("wrong", [
    "grad(norm(X - W @ Z, fro)^2, W) == 2 * (W @ Z - X) @ Z",        # missing transpose
    "grad(norm(X - W @ Z, fro)^2, W) == 2 * Zᵀ @ (W @ Z - X)",       # wrong side
    "grad(xᵀ @ A @ x, x) == 2 * A @ x",                              # needs A symmetric
    "grad(trace(A @ W @ B), W) == Bᵀ @ Aᵀ",                          # reversed product
    "grad(trace(W @ W @ A), W) == 2 * Wᵀ @ Aᵀ",                      # two uses differ
    "grad((b · x)^2, x) == (b · x) * b",                             # lost factor 2
])
def test_wrong_gradients_are_never_proved(wrong):
    assert "residual" in declined(SQ.format(s=wrong))


@pytest.mark.parametrize("right", [
    "grad(norm(X - W @ Z, fro)^2, W) == 2 * (W @ Z - X) @ Zᵀ",
    "grad(xᵀ @ A @ x, x) == (A + Aᵀ) @ x",
    "grad(xᵀ @ S @ x, x) == 2 * S @ x",
    "grad(trace(A @ W @ B), W) == Aᵀ @ Bᵀ",
    "grad(trace(W @ W @ A), W) == Aᵀ @ Wᵀ + Wᵀ @ Aᵀ",
    "grad((b · x)^2, x) == 2 * (b · x) * b",
    "grad((xᵀ @ x)^2, x) == 4 * (xᵀ @ x) * x",
    "grad(norm(y - diag(s) @ x)^2, x) == -2 * diag(s) @ (y - diag(s) @ x)",
    "grad(norm(W @ x)^2, W) at (W = A @ B) == 2 * A @ B @ x @ xᵀ",
    "grad(norm(X - W @ Z, fro)^2, W) at (Z = zeros(n, n)) == 0",
    "trace(A @ B @ X) == trace(Xᵀ @ Bᵀ @ Aᵀ)",
    "norm(A, fro)^2 == trace(A @ Aᵀ)",
    "A · B == trace(Aᵀ @ B)",
    "trace(I[n] - A) == n - trace(A)",
])
def test_right_gradients_and_trace_identities_are_proved(right):
    proved(SQ.format(s=right))


@pytest.mark.parametrize("wrong", [
    "trace(A @ B @ X) == trace(A @ X @ B)",      # not a cyclic rotation
    "trace(A @ B) == trace(Aᵀ @ B)",             # transposing one factor only
])
def test_trace_words_are_canonical_only_up_to_rotation_and_transposition(wrong):
    assert "residual" in declined(SQ.format(s=wrong))


def test_trace_of_transposed_rotation_and_substituted_trace_symbols():
    proved(SQ.format(s="trace(A @ Bᵀ) == trace(B @ Aᵀ)"))
    proved(SQ.format(s="grad(trace(W @ A @ W), W) at (W = A) == 2 * Aᵀ @ Aᵀ"))
    proved(SQ.format(s="grad(trace(W @ A @ W) * trace(Wᵀ @ B), W) at (W = zeros(n, n)) == 0"))
    proved(SQ.format(s="grad(trace(W @ A @ W) * trace(Wᵀ @ B), W) at (B = zeros(n, n)) == 0"))
    assert "residual" in declined(
        SQ.format(s="grad(trace(W @ A @ W) * trace(Wᵀ @ B), W) at (A = B) == 0"))


def test_substitution_of_the_variable_itself():
    assert "residual" in declined(SQ.format(s="grad(norm(X - W @ Z, fro)^2, W) at (W = zeros(n, n)) == 0"))
    proved(SQ.format(s="grad(norm(X - W @ Z, fro)^2, W) at (W = zeros(n, n)) == -2 * X @ Zᵀ"))


def test_gradient_of_a_trace_sandwich_is_the_cookbook_formula():
    loaded = load_text(SQ.format(s="grad(trace(A @ W @ B), W) == Aᵀ @ Bᵀ"))
    checked, _ = check_claim(loaded.claims[0])
    alg = CalcAlgebra(lowering(checked))
    grad_call = checked.claim.shows[0].statement.operands[0]
    g = alg.gradient(grad_call.args[0], "W")
    assert str(g) == "Aᵀ*Bᵀ"
    assert any(str(s).startswith("tr⟨") for s in alg.words)


OPAQUE = """claim opaque
  let n : dim
  let A, B, W, W1, W2, X : matrix[n, n]
  let x, w : vector[n]
  let f(V) = sum(tanh(V @ X))
  let g(V) = sum(tanh(V @ A))
  let h(A1, A2) = w · tanh(A2 @ tanh(A1 @ x))
  show {s}
"""


def test_chain_rule_through_an_opaque_function_names_its_side_condition():
    out = proved(OPAQUE.format(s="grad(f(A @ B), A) == (grad(f(W), W) at (W = A @ B)) @ Bᵀ"))
    assert any("differentiable" in c for c in out.evidence["certificate"]["side_conditions"])
    proved(OPAQUE.format(s="grad(f(A @ B), B) == Aᵀ @ (grad(f(W), W) at (W = A @ B))"))
    proved(OPAQUE.format(s="grad(h(W, W), W) == (grad(h(W1, W), W1) at (W1 = W)) + "
                           "(grad(h(W, W2), W2) at (W2 = W))"))


@pytest.mark.parametrize("template, statement, reason", [
    (SQ, "grad(trace(A @ Sᵀ), S) == A", "declared symmetric"),
    (SQ, "grad(trace(Q @ Qᵀ @ A), Q) == 0", "declared orthogonal"),
    (SQ, "grad(norm(tanh(W @ x))^2, W) == 2 * tanh(W @ x) @ xᵀ", "may depend on 'W'"),
    (SQ, "grad(norm(diag(s) @ x)^2, s) == 2 * diag(s) @ x", "may depend on 's'"),
    (SQ, "grad(norm(W @ x - y), W) == (W @ x - y) @ xᵀ / norm(W @ x - y)", "not squared"),
    (SQ, "grad(norm(W)^2, W) == 2 * W", "spectral"),
    (SQ, "grad(norm(W @ x)^2, W) at (S = A) == 2 * W @ x @ xᵀ", "not an unconstrained"),
    (OPAQUE, "grad(f(A @ B), A) == Bᵀ @ (grad(f(W), W) at (W = A @ B))", "residual"),
    (OPAQUE, "grad(f(A @ B), A) == (grad(f(W), W) at (W = B @ A)) @ Bᵀ", "residual"),
    (OPAQUE, "grad(h(W, W), W) == (grad(h(W1, W), W1) at (W1 = W))", "residual"),
    (OPAQUE, "grad(g(B), A) == 0", "may read 'A'"),
    (OPAQUE, "(grad(g(W), W) at (A = zeros(n, n))) == grad(g(W), W)", "replaced by 'at'"),
])
def test_declines_outside_the_algebra_and_wrong_chain_rules(template, statement, reason):
    assert reason in declined(template.format(s=statement))
