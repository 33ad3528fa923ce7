"""Textbook notation (issue #18): each spelling means the built-in it names, shapes follow,
the deep-learning built-ins agree with torch's reference implementations, and the habits
the language cannot read get a hint that points the right way."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from derive import model as m
from derive.language.load import load_text
from derive.numeric.lower import evaluate
from derive.semantics import check_claim, fmt_shape

HEAD = "claim t\n  let m, n : dim\n  let x, y : vector[n]\n  let A, B : matrix[n, n]\n" \
       "  let C : matrix[m, n]\n  let s, t : real\n  let k : 1..n\n"


def show_of(statement: str):
    """The model of one show statement (and its checked claim)."""
    text = HEAD + f"  show {statement}\n"
    loaded = load_text(text, "t.claims")
    assert not loaded.diagnostics, [d.render() for d in loaded.diagnostics]
    (claim,) = loaded.claims
    checked, diags = check_claim(claim, text.split("\n"))
    assert checked is not None, [d.render() for d in diags]
    return claim.shows[0].statement, checked


def first_error(statement: str, head: str = HEAD):
    text = head + f"  show {statement}\n"
    loaded = load_text(text, "bad.claims")
    if loaded.diagnostics:
        return loaded.diagnostics[0]
    (claim,) = loaded.claims
    checked, diags = check_claim(claim, text.split("\n"))
    assert checked is None and diags, f"no error for {statement!r}"
    return diags[0]


@pytest.mark.parametrize("textbook,explicit", [
    ("|s - t| >= 0", "abs(s - t) >= 0"),
    ("|x · y| <= ‖x‖ * ‖y‖", "abs(x · y) <= norm(x) * norm(y)"),
    ("‖x‖₂ == ‖x‖_2", "norm(x, 2) == norm(x, 2)"),
    ("‖x‖₁ == ‖x‖_1", "norm(x, 1) == norm(x, 1)"),
    ("‖A‖_F == ‖A‖_{F}", "norm(A, fro) == norm(A, fro)"),
    ("‖x‖_∞ == ‖x‖_inf", "norm(x, inf) == norm(x, inf)"),
    ("√s == √(s + 1)", "sqrt(s) == sqrt(s + 1)"),
    ("√s * t == 2", "sqrt(s) * t == 2"),
    ("A ⊗ B == B ⊗ A", "kron(A, B) == kron(B, A)"),
    ("tr(A) == Tr(B)", "trace(A) == trace(B)"),
    ("(s if s > t else t) == 1", "where(s > t, s, t) == 1"),
    ("‖(s if s > 0 else 0)‖ >= 0", "norm(where(s > 0, s, 0)) >= 0"),
    ("‖x‖² == ‖x‖₂²", "norm(x)^2 == norm(x, 2)^2"),
    ("[|s|, |t|] == [|t|, |s - |t||]", "[abs(s), abs(t)] == [abs(t), abs(s - abs(t))]"),
    ("(1 if s > 0 else -1 if s < 0 else 0) == 0", "where(s > 0, 1, where(s < 0, -1, 0)) == 0"),
    ("sum(x[k..n]) == 0", "sum(x[k..n]) == 0"),
])
def test_textbook_spelling_is_the_builtin(textbook, explicit):
    assert show_of(textbook)[0] == show_of(explicit)[0]


def test_theta_after_in_is_growth_not_an_upper_bound():
    text = "claim g\n  let n in [8, 16]\n  let A : matrix[n, n]\n  show flops[A @ A] in Θ(n^3)\n" \
           "  show flops[A @ A] in Ω(n^3)\n  show flops[A @ A] in O(n^3)\n"
    (claim,) = load_text(text, "g.claims").claims
    theta, omega, big_o = (s.statement for s in claim.shows)
    assert isinstance(theta, m.Compare) and theta.ops == ("~",)
    assert isinstance(omega, m.BigO) and omega.kind == "Ω"
    assert isinstance(big_o, m.BigO) and big_o.kind == "O"


@pytest.mark.parametrize("expr,shape", [
    ("x[2..n]", "vector[n - 1]"), ("x[1..k]", "vector[k]"), ("C[1..2, :]", "[2 × n]"),
    ("rowsum(C)", "vector[m]"), ("colsum(C)", "vector[n]"), ("onehot(k, n)", "vector[n]"),
    ("log_softmax(x)", "vector[n]"), ("layer_norm(C)", "[m × n]"), ("gelu(C)", "[m × n]"),
    ("(x if s > 0 else y)", "vector[n]"),
])
def test_shapes(expr, shape):
    assert fmt_shape(_type(expr).shape) == shape


@pytest.mark.parametrize("expr", ["var(x)", "cross_entropy(x, k)", "cross_entropy(x, y)"])
def test_reductions_are_scalars(expr):
    assert _type(expr).is_scalar


def _type(expr: str):
    """The inferred type of an expression in the HEAD context."""
    from derive.semantics import Checker

    statement, checked = show_of(f"{expr} == {expr}")
    chk = Checker(checked.claim)
    chk.run()
    return chk.expr(statement.operands[0])


# ---------------------------------------------------------------- numeric lowering
def _ev(expr: str, **env):
    statement, checked = show_of(f"{expr} == {expr}")
    return evaluate(statement.operands[0], env, checked=checked)


Z = torch.tensor([0.3, -1.2, 2.5, 0.0], dtype=torch.float64)
W = torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.2, 0.1, -0.7, 1.5]], dtype=torch.float64)


@pytest.mark.parametrize("expr,reference", [
    ("softplus(x)", F.softplus(Z)),
    ("logsigmoid(x)", F.logsigmoid(Z)),
    ("gelu(x)", Z * 0.5 * (1 + torch.erf(Z / math.sqrt(2)))),
    ("log_softmax(x)", torch.log_softmax(Z, 0)),
    ("var(x)", Z.var(unbiased=False)),
    ("layer_norm(x)", (Z - Z.mean()) / Z.var(unbiased=False).sqrt()),
    ("layer_norm(x, eps = 1)", (Z - Z.mean()) / (Z.var(unbiased=False) + 1).sqrt()),
    ("cross_entropy(x, 3)", F.cross_entropy(Z.unsqueeze(0), torch.tensor([2]))),
    ("cross_entropy(x, softmax(y))", -(torch.softmax(-Z, 0) * torch.log_softmax(Z, 0)).sum()),
    ("onehot(2, n)", torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64)),
    ("|s|", torch.tensor(2.0, dtype=torch.float64)),
    ("√t", torch.tensor(3.0, dtype=torch.float64)),
    ("(s if s > 0 else t)", torch.tensor(9.0, dtype=torch.float64)),
    ("x[2..3]", Z[1:3]),
])
def test_numeric_lowering_matches_torch(expr, reference):
    got = _ev(expr, x=Z, y=-Z, n=4, m=2, s=-2.0, t=9.0, k=2, A=torch.eye(4), B=torch.eye(4),
              C=W)
    assert torch.allclose(got.to(torch.float64), reference.to(torch.float64), atol=1e-12), got


def test_row_and_column_sums_and_kron():
    env = dict(x=Z, y=Z, n=4, m=2, s=1.0, t=1.0, k=1, A=torch.eye(4), B=torch.eye(4), C=W)
    assert torch.allclose(_ev("rowsum(C)", **env), W.sum(1))
    assert torch.allclose(_ev("colsum(C)", **env), W.sum(0))
    a = torch.arange(16, dtype=torch.float64).reshape(4, 4)
    assert torch.allclose(_ev("A ⊗ B", **{**env, "A": a}), torch.kron(a, torch.eye(4)))
    assert torch.allclose(_ev("‖C‖_F", **env), torch.linalg.matrix_norm(W, "fro"))
    assert torch.allclose(_ev("‖C‖₂", **env), torch.linalg.matrix_norm(W, 2))


# ---------------------------------------------------------------- hints
@pytest.mark.parametrize("statement,words", [
    ("(A @ B)^T == Bᵀ @ Aᵀ", ["'^T'", "ᵀ", ".T"]),
    ("sigma(s) == s", ["unknown function 'σ'", "sigmoid(x)", "declared scalar"]),
    ("I @ x == x", ["identity matrix", "I[n]"]),
    ("flops[A @ B] == O(n^3)", ["unknown function 'O'", "in O(n^2)"]),
    ("flops[A @ B] = O(n^3)", ["unexpected '='", "with 'in' or '~'"]),
    ("s = t", ["unexpected '='", "equality is '=='"]),
    ("sum(i in 1..n, x[i]) == sum(x)", ["sum(i = a..b, body)"]),
    ("|s >= 0", ["a second '|'"]),
    ("‖x >= 0", ["a second '‖'"]),
    ("|A| == det(A)", ["ambiguous", "det(A)", "abs(x)"]),
    ("sum(|x|) >= 0", ["ambiguous", "abs(x)"]),
    ("‖A‖ >= 0", ["needs a subscript", "‖A‖₂", "‖A‖_F"]),
    ("s if s > 0 else t >= 0", ["a condition, not a value", "parentheses"]),
    ("(s if s else t) == s", ["must be a comparison"]),
    ("(x if x > 0 else y) == x", ["compares vectors or matrices", "relu"]),
    ("x[3..2] == x[3..2]", ["empty"]),
    ("softmax(1..n) == x", ["is an index, not an argument", "x[a..b]"]),
    ("ln(s) == s", ["log(x)"]),
    ("Var(x) == 0", ["Var[…]", "var(x)"]),
    ("xᵀ y == 0", ["unexpected 'y'", "a product needs an operator", "xᵀ @ y"]),
    ("2 s == 0", ["a product needs an operator"]),
    ("s^{2} >= 0", ["unexpected character '{'", "parentheses"]),
    ("\\sigma >= 0", ["σ or sigma"]),
    ("A^⊤ == A", ["a transpose is ᵀ"]),
    ("∑ x >= 0", ["sum(i = 1..n, body)"]),
    ("∇ s == 0", ["grad(f, x)"]),
    ("cross_entropy(x, s) == 0", ["class index", "let y : 1..n"]),
    ("cross_entropy(C, k) == 0", ["vector of logits"]),
])
def test_textbook_habits_get_a_hint(statement, words):
    d = first_error(statement)
    message = d.message + " " + (d.hint or "")
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"


def test_sigma_declared_as_a_scalar_suggests_a_product():
    d = first_error("σ(s) == σ", HEAD + "  let σ : real > 0\n")
    assert "declared as a value" in d.hint and "σ * (…)" in d.hint


def test_pi_is_called_a_constant():
    d = first_error("π == π", "claim t\n  let π : real\n")
    assert "reserved" in d.message and "constant" in d.message and "function" not in d.message


def test_bar_outside_a_pair_points_to_abs_and_conditioning():
    d = first_error("X | Y == 0", "claim t\n  let X, Y : real ~ normal(0, 1)\n")
    assert "unexpected '|'" in d.message and "|x|" in d.hint and "E[X | Y > 0]" in d.hint


def test_simplex_matrix_is_an_error():
    d = first_error("sum(Q) == m", "claim t\n  let m, n : dim\n  let Q : matrix[m, n] simplex\n")
    assert "property of vectors" in d.message


def test_new_builtins_are_reserved():
    d = first_error("var == 1", "claim t\n  let var : real\n")
    assert "reserved" in d.message


def test_slice_outside_the_vector_is_ill_defined_not_wrapped():
    from derive.numeric.lower import IllDefined

    env = dict(x=Z, y=Z, n=4, m=2, s=1.0, t=1.0, k=1, A=torch.eye(4), B=torch.eye(4), C=W)
    for bad in ("x[1..5]", "x[n..k]"):  # past the end; reversed (4..1)
        with pytest.raises(IllDefined):
            _ev(bad, **env)
    assert _ev("x[k+3..n-1]", **env).numel() == 0  # 4..3: empty, as x[k+1..n] at k = n


def test_slice_starting_at_zero_is_an_error():
    d = first_error("sum(x[0..2]) == 0")
    assert "starts at 0, before 1" in d.message


RANDOM = "claim t\n  let X, Y : real ~ normal(0, 1)\n"


def _random_show(statement: str):
    text = RANDOM + f"  show {statement}\n"
    loaded = load_text(text, "t.claims")
    assert not loaded.diagnostics, [d.render() for d in loaded.diagnostics]
    (claim,) = loaded.claims
    checked, diags = check_claim(claim, text.split("\n"))
    assert checked is not None, [d.render() for d in diags]
    return claim.shows[0].statement


@pytest.mark.parametrize("conditioned,definition", [
    ("P[X > 0 | Y > 0] == 1/2", "P[X > 0 and Y > 0] / P[Y > 0] == 1/2"),
    ("E[X | X > 0 and Y < 1] == 1", "E[(X if X > 0 and Y < 1 else 0)] / P[X > 0 and Y < 1] == 1"),
    ("E[|X| | Y > 0] == 1", "E[(abs(X) if Y > 0 else 0)] / P[Y > 0] == 1"),
])
def test_conditioning_on_an_event_is_its_definition(conditioned, definition):
    assert _random_show(conditioned) == _random_show(definition)


@pytest.mark.parametrize("statement,words", [
    ("E[X | X + Y] == 0", ["conditioning on an expression", "E[X | a + b > 0]"]),
    ("Var[X | Y > 0] == 1", ["Var[… | …] is not supported", "E[X^2 | B] - E[X | B]^2"]),
])
def test_conditioning_that_is_not_supported_says_so(statement, words):
    d = first_error(statement, RANDOM)
    message = d.message + " " + (d.hint or "")
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"


def test_a_random_name_without_a_type_gets_the_declaration_shape():
    d = first_error("E[z] == 0", HEAD + "  let z ~ normal(0, 1)\n")
    assert "unexpected '~'" in d.message
    assert "let z : real ~ normal(0, 1)" in d.hint and "vector[n]" in d.hint
