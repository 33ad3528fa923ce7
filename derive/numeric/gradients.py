"""Gradient claims: ``grad(f, x) == …`` by autograd in float64 at random points.

Random points avoid the kinks of relu/abs/max with probability one; the comparison
uses the same rounding tolerance and shrinking as other identities.
"""
from __future__ import annotations

from derive import model as m
from derive.numeric import common
from derive.numeric.identity import IdentityStrategy, applies


class GradientStrategy(IdentityStrategy):
    """Identities that involve ``grad`` or ``jacobian``: autograd against the claimed expression."""

    name = "autograd"
    handles_grad = True

    def wants(self, statement: m.Expr) -> bool:
        return applies(statement) and common.calls(statement, common.DERIVATIVES)
