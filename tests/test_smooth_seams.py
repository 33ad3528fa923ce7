"""The numeric lowering of smooth functions has the exact derivatives at the seams of
their stable formulas: autograd through max/abs/relu pieces takes a one-sided slope there
(softplus written as max(x, 0) + log1p(e^{−|x|}) had derivative 1 at 0, not σ(0) = 1/2)."""
from __future__ import annotations

import mpmath
import pytest
import sympy as sp
import torch

from derive.numeric.functions import ELEMENTWISE
from derive.symbolic.lower import _ELEMENTWISE

SMOOTH = ["softplus", "logsigmoid", "gelu", "sigmoid", "tanh", "exp", "sin", "cos"]
POINTS = [0.0, -0.0, 5e-324, -5e-324, 1e-8, -1e-8, 0.5, -0.5, 1.0, -1.0, 5.0, -5.0]


def exact(name: str, order: int, at: float) -> float:
    x = sp.Symbol("x", real=True)
    f = sp.lambdify(x, sp.diff(_ELEMENTWISE[name](x), x, order), "mpmath")
    with mpmath.workdps(40):
        return float(f(mpmath.mpf(at)))


@pytest.mark.parametrize("name", SMOOTH)
def test_value_and_two_derivatives_match_the_exact_ones(name):
    for at in POINTS:
        t = torch.tensor(at, dtype=torch.float64, requires_grad=True)
        y = ELEMENTWISE[name](t)
        (g,) = torch.autograd.grad(y, t, create_graph=True)
        (h,) = torch.autograd.grad(g, t)
        for order, got in enumerate((y, g, h)):
            want = exact(name, order, at)
            assert abs(float(got.detach()) - want) <= 1e-13 * max(1.0, abs(want)), (name, at, order)


def test_softplus_keeps_full_precision_far_out():
    t = torch.tensor([-800.0, -40.0, 40.0, 800.0], dtype=torch.float64)
    out = ELEMENTWISE["softplus"](t)
    assert out[0] == 0.0 and out[3] == 800.0
    assert abs(float(out[1]) - float(mpmath.log1p(mpmath.exp(-40)))) <= 1e-30
    assert float(out[2]) == 40.0 + float(mpmath.log1p(mpmath.exp(-40)))


def test_softplus_derivative_is_finite_at_the_extremes():
    t = torch.tensor([-800.0, 0.0, 800.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(ELEMENTWISE["softplus"](t).sum(), t)
    assert g.tolist() == [0.0, 0.5, 1.0]
