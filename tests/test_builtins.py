"""The built-ins of issue #18: flip, convolve, conv with channels and groups, topk,
jacobian, diff, and the laws gumbel(μ, β) and student_t(ν) — types and shape errors,
numeric values against direct torch computations, symbolic proofs or declines,
determinism and formatting (docs/semantics.md, "Built-ins")."""
from __future__ import annotations

import math

import pytest
import sympy as sp
import torch
import torch.nn.functional as F

from derive.decide import decide_claim
from derive.engine import Options
from derive.fmt import format_claims
from derive.language.load import load_text
from derive.numeric.lower import evaluate
from derive.outcome import Verdict
from derive.semantics import check_claim, fmt_shape
from derive.vocabulary import LAWS, Declined


def _checked(text: str):
    (claim,) = load_text(text).claims
    return claim, *check_claim(claim)


def _claim(decls: str, show: str) -> str:
    body = "".join(f"  {line.strip()}\n" for line in decls.split(";") if line.strip())
    return f"claim t\n{body}  show {show}\n"


def _type(decls: str, expr: str) -> str:
    """The checked shape of ``expr`` (a claim ``show expr == expr``)."""
    from derive.analysis import type_of
    claim, checked, diags = _checked(_claim(decls, f"{expr} == {expr}"))
    assert checked is not None, [d.message for d in diags]
    return fmt_shape(type_of(checked, claim.shows[0].statement.operands[0]).shape)


def _errors(decls: str, show: str) -> list:
    _, checked, diags = _checked(_claim(decls, show))
    assert checked is None
    return diags


def _verdict(decls: str, show: str) -> tuple[Verdict, str]:
    _, checked, diags = _checked(_claim(decls, show))
    assert checked is not None, [d.message for d in diags]
    verdict, _, summary, _ = decide_claim(checked, Options(seed=0))
    return verdict, summary


# ------------------------------------------------------------------ types
@pytest.mark.parametrize("decls,expr,shape", [
    ("let x : vector[7]", "flip(x)", fmt_shape((7,))),
    ("let A : matrix[3, 4]", "flip(A, axis = 2)", fmt_shape((3, 4))),
    ("let x : vector[9]; let w : vector[3]", "convolve(x, w)", fmt_shape((7,))),
    ("let x : vector[9]; let w : vector[3]", "convolve(x, w, padding = 2)", fmt_shape((11,))),
    ("let X : tensor[4, 6, 6]; let W : tensor[8, 2, 3, 3]", "conv(X, W, groups = 2)",
     fmt_shape((8, 4, 4))),
    ("let X : matrix[3, 10]; let W : tensor[5, 3, 4]", "conv(X, W, stride = 2)",
     fmt_shape((5, 4))),
    ("let x : vector[9]", "topk(x, 4)", fmt_shape((4,))),
    ("let A : matrix[2, 5]; let x : vector[5]", "jacobian(A @ x, x)", fmt_shape((2, 5))),
    ("let x : vector[5]", "jacobian(sum(x), x)", fmt_shape((1, 5))),
    ("let t : real", "jacobian([t, t^2], t)", fmt_shape((2, 1))),
])
def test_shapes(decls, expr, shape):
    assert _type(decls, expr) == shape


@pytest.mark.parametrize("decls,show,message,hint", [
    ("let A : matrix[3, 3]", "topk(A, 2) == topk(A, 2)", "topk needs a vector", "vec(A)"),
    ("let x : vector[3]", "topk(x, 5) == topk(x, 5)", "more entries than x has", None),
    ("let X : tensor[4, 6, 6]; let W : tensor[8, 3, 3, 3]", "conv(X, W, groups = 2) == 0",
     "4 channels", "C/g"),
    ("let X : tensor[4, 6, 6]; let W : tensor[6, 2, 3, 3]", "conv(X, W, groups = 4) == 0",
     "must divide the 6 output channels", None),
    ("let x, w : vector[4]", "conv(x, w, groups = 2) == conv(x, w)", "needs channels",
     "leave out groups"),
    ("let x : vector[4]; let W : matrix[3, 3]", "conv(x, W) == conv(x, W)",
     "two vectors, two matrices, or channels", None),
    ("let A : matrix[3, 3]", "jacobian(A, A) == A", "a scalar or a vector f", "vec"),
    ("let A : matrix[3, 3]", "flip(A, axis = 3) == A", "axis must be a whole number", "axis = 1"),
    ("", "cdf(studentt(5), 0) == 1/2", "unknown function", "student_t(ν)"),
    ("let x : real ~ student_t(-1)", "E[x] == 0", "degrees of freedom", None),
    ("let b : real; let x : real ~ gumbel(0, b)", "E[x] == 0", "scale of gumbel", "real > 0"),
])
def test_errors_say_what_and_how(decls, show, message, hint):
    diags = _errors(decls, show)
    assert any(message in d.message for d in diags), [d.message for d in diags]
    if hint is not None:
        assert any(hint in (d.hint or "") for d in diags), [d.hint for d in diags]
    assert all(d.line >= 1 and d.column >= 1 for d in diags)


# ------------------------------------------------------------------ numeric values
def _eval(decls: str, expr: str, env: dict) -> torch.Tensor:
    claim, checked, diags = _checked(_claim(decls, f"{expr} == {expr}"))
    assert checked is not None, [d.message for d in diags]
    return evaluate(claim.shows[0].statement.operands[0], env, checked=checked)


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_flip_reverses_every_axis_or_one():
    A = _rand(3, 4)
    assert torch.equal(_eval("let A : matrix[3, 4]", "flip(A)", {"A": A}), A.flip(0, 1))
    assert torch.equal(_eval("let A : matrix[3, 4]", "flip(A, axis = 1)", {"A": A}), A.flip(0))
    assert torch.equal(_eval("let A : matrix[3, 4]", "flip(A, axis = 2)", {"A": A}), A.flip(1))
    x = _rand(5)
    assert torch.equal(_eval("let x : vector[5]", "flip(x)", {"x": x}), x.flip(0))


def test_convolve_is_the_true_convolution():
    x, w = _rand(9), _rand(3, seed=1)
    full = _eval("let x : vector[9]; let w : vector[3]", "convolve(x, w, padding = 2)",
                 {"x": x, "w": w})
    direct = torch.tensor([sum(float(x[a]) * float(w[i - a]) for a in range(9) if 0 <= i - a < 3)
                           for i in range(11)], dtype=torch.float64)   # Σₐ x[a] w[i − a]
    assert torch.allclose(full, direct, rtol=1e-12, atol=1e-12)
    X, W = _rand(6, 5), _rand(2, 3, seed=2)
    out = _eval("let X : matrix[6, 5]; let W : matrix[2, 3]", "convolve(X, W)", {"X": X, "W": W})
    ref = F.conv2d(X[None, None], W.flip(0, 1)[None, None])[0, 0]
    assert torch.allclose(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_grouped_conv_matches_torch(groups):
    X, W = _rand(4, 7, 6), _rand(8, 4 // groups, 3, 2, seed=3)
    decls = f"let X : tensor[4, 7, 6]; let W : tensor[8, {4 // groups}, 3, 2]"
    out = _eval(decls, f"conv(X, W, groups = {groups}, stride = 2, padding = 1)", {"X": X, "W": W})
    ref = F.conv2d(X[None], W, stride=2, padding=1, groups=groups)[0]
    assert out.shape == ref.shape and torch.allclose(out, ref, rtol=1e-12, atol=1e-12)
    flipped = _eval(decls, f"convolve(X, W, groups = {groups})", {"X": X, "W": W})
    assert torch.allclose(flipped, F.conv2d(X[None], W.flip(2, 3), groups=groups)[0])


def test_multichannel_1d_conv_matches_torch():
    X, W = _rand(3, 10), _rand(5, 3, 4, seed=4)
    out = _eval("let X : matrix[3, 10]; let W : tensor[5, 3, 4]", "conv(X, W)", {"X": X, "W": W})
    assert torch.allclose(out, F.conv1d(X[None], W)[0], rtol=1e-12, atol=1e-12)


def test_topk_is_sorted_descending():
    x = _rand(9)
    out = _eval("let x : vector[9]", "topk(x, 4)", {"x": x})
    assert torch.equal(out, torch.sort(x, descending=True).values[:4])


def test_jacobian_is_in_numerator_layout():
    A, x = _rand(2, 3), _rand(3, seed=5)
    out = _eval("let A : matrix[2, 3]; let x : vector[3]", "jacobian(tanh(A @ x), x)",
                {"A": A, "x": x})
    ref = torch.autograd.functional.jacobian(lambda v: torch.tanh(A @ v), x)
    assert out.shape == (2, 3) and torch.allclose(out, ref, rtol=1e-12, atol=1e-14)


def test_diff_is_grad():
    out = _eval("let t : real", "diff(sin(t^2), t)", {"t": torch.tensor(0.7, dtype=torch.float64)})
    assert float(out) == pytest.approx(2 * 0.7 * math.cos(0.49), rel=1e-14)


# ------------------------------------------------------------------ laws
def test_gumbel_moments_in_closed_form():
    mu, beta = sp.symbols("mu beta", positive=True)
    law = LAWS["gumbel"]
    assert sp.simplify(law.moment([mu, beta], 1) - (mu + beta * sp.EulerGamma)) == 0
    var = law.moment([mu, beta], 2) - law.moment([mu, beta], 1) ** 2
    assert sp.simplify(var - sp.pi ** 2 * beta ** 2 / 6) == 0
    # the third central moment of the standard law is 2ζ(3)
    m = [law.moment([0, 1], k) for k in range(4)]
    assert sp.simplify(m[3] - 3 * m[2] * m[1] + 2 * m[1] ** 3 - 2 * sp.zeta(3)) == 0


def test_student_t_moments_exist_only_below_nu():
    law = LAWS["student_t"]
    assert law.moment([sp.Integer(5)], 2) == sp.Rational(5, 3)
    assert law.moment([sp.Integer(7)], 4) == sp.Rational(49, 5)
    assert law.moment([sp.Integer(3)], 1) == 0
    for nu, k in ((5, 6), (5, 5), (2, 2), (1, 1)):
        with pytest.raises(Declined, match="no moment"):
            law.moment([sp.Integer(nu)], k)
    with pytest.raises(Declined, match="not a number"):
        law.moment([sp.Symbol("nu", positive=True)], 2)


def test_student_t_cdf_is_differentiable_in_x_only():
    law = LAWS["student_t"]
    d = law.torch_law([torch.tensor(4.0, dtype=torch.float64)])
    assert float(d.cdf(torch.tensor(0.0, dtype=torch.float64))) == pytest.approx(0.5)
    assert float(d.cdf(torch.tensor(2.0, dtype=torch.float64))) == pytest.approx(0.9419417, abs=1e-7)
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(d.cdf(x), x)            # the derivative in x is the density
    assert float(g) == pytest.approx(float(d.log_prob(x.detach()).exp()), rel=1e-12)
    nu = torch.tensor(4.0, dtype=torch.float64, requires_grad=True)
    with pytest.raises(Declined, match="in ν"):
        law.torch_law([nu]).cdf(torch.tensor(0.5, dtype=torch.float64))


# ------------------------------------------------------------------ verdicts
@pytest.mark.parametrize("decls,show,expected", [
    ("let n : dim; let x : vector[n]", "flip(flip(x)) == x", {Verdict.PROVED}),
    ("let n : dim; let x : vector[n]", "sum(flip(x)) == sum(x)", {Verdict.PROVED, Verdict.VERIFIED}),
    ("let n : dim; let x : vector[n]", "flip(x) == x", {Verdict.REFUTED}),
    ("let m, n : dim; let A : matrix[m, n]; let x : vector[n]", "jacobian(A @ x, x) == A",
     {Verdict.PROVED}),
    ("let A : matrix[3, 3]; let x : vector[3]", "jacobian(A @ x, x) == Aᵀ", {Verdict.REFUTED}),
    ("let x : real", "diff(x^3, x) == 3 * x^2", {Verdict.PROVED}),
    ("let x : real", "diff(x^3, x) == 3 * x^3", {Verdict.REFUTED}),
    ("let x : vector[9]; let w : vector[3]", "convolve(x, w) == conv(x, flip(w))",
     {Verdict.PROVED, Verdict.VERIFIED}),
    ("let x : vector[9]; let w : vector[3]", "convolve(x, w) == conv(x, w)", {Verdict.REFUTED}),
    ("let x : real ~ gumbel(1, 2)", "Var[x] == pi^2 * 4 / 6", {Verdict.PROVED}),
    ("let x : real ~ gumbel(1, 2)", "E[x] == 1", {Verdict.REFUTED}),
    ("let x : real ~ student_t(5)", "Var[x] == 5/3", {Verdict.PROVED}),
])
def test_verdicts(decls, show, expected):
    assert _verdict(decls, show)[0] in expected


def test_channels_without_groups_are_proved_at_symbolic_sizes():
    verdict, summary = _verdict(
        "let C, F, L, K : dim; let X : matrix[C, L]; let W : tensor[F, C, K]; let f : 1..F; "
        "let i : 1..L-K+1",
        "conv(X, W)[f, i] == sum(c = 1..C, sum(a = 1..K, X[c, i + a - 1] * W[f, c, a]))")
    assert verdict == Verdict.PROVED, summary


@pytest.mark.parametrize("decls,show", [
    ("let x : vector[6]", "sum(topk(x, 1)) == max(x)"),                      # no SymPy topk
    ("let X : tensor[2, 5, 5]; let W : tensor[2, 1, 2, 2]",
     "conv(X, W, groups = 2)[2, :, :] == conv(X[2, :, :], W[2, 1, :, :])"),  # no SymPy groups
])
def test_the_symbolic_engine_declines_what_it_cannot_express(decls, show):
    verdict, summary = _verdict(decls, show)
    assert verdict == Verdict.VERIFIED, summary   # numeric decides; nothing was proved


def test_a_moment_that_does_not_exist_is_never_passed():
    for show in ("E[x^6] == 375", "E[x^6] == -375", "E[x^6] == 1e10"):
        verdict, _ = _verdict("let x : real ~ student_t(5)", show)
        assert verdict not in (Verdict.PROVED, Verdict.VERIFIED)


def test_a_jacobian_of_a_statistic_is_declined_not_zero():
    verdict, summary = _verdict("let θ : real; let z : real ~ normal(0, 1)",
                                "jacobian(E[θ * z + θ], θ) == zeros(1, 1)")
    assert verdict not in (Verdict.PROVED, Verdict.VERIFIED), summary


def test_verdicts_are_deterministic():
    decls, show = "let x : vector[6]", "topk(x, 3)[1] >= topk(x, 3)[2]"
    assert _verdict(decls, show) == _verdict(decls, show)


def test_fmt_round_trips_the_new_calls():
    text = ("claim t\n  let X : tensor[4, 6, 6]\n  let W : tensor[8, 2, 3, 3]\n"
            "  let x : vector[5]\n  let u : real ~ gumbel(0, 1)\n"
            "  show conv(X,W,groups=2)==convolve(X,flip(W, axis=1),groups = 2)\n"
            "  show topk(flip(x),2)[1]>=jacobian(x,x)[1,1]+diff(u^2,u)*0 + euler_gamma\n")
    once = format_claims(text)
    assert once != text and "groups = 2" in once and "diff(u^2, u)" in once
    assert format_claims(once) == once


def test_a_convolution_costs_two_flops_per_tap():
    """2·out·(C/g)·K² (the weight's trailing axes hold one output's taps); flip and topk
    are reorderings and selections: 0 FLOPs."""
    from derive.timing.flops import count
    x, w = torch.randn(1, 4, 8, 8, dtype=torch.float64), torch.randn(6, 2, 3, 3, dtype=torch.float64)
    assert count(lambda: F.conv2d(x, w, groups=2)).flops == 2 * 6 * 36 * 2 * 9
    v, k = torch.randn(1, 1, 10, dtype=torch.float64), torch.randn(1, 1, 3, dtype=torch.float64)
    assert count(lambda: F.conv1d(v, k)).flops == 2 * 8 * 3
    r = count(lambda: torch.topk(torch.flip(v, (2,)), 3).values)
    assert r.flops == 0 and not r.defaulted
