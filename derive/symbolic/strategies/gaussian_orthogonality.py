"""``E[Z * g(Y)] == 0`` for an arbitrary declared function g: the defining property of a
conditional mean (``m(Y) = E[W | Y]`` iff ``E[(W − m(Y)) g(Y)] = 0`` for every g).

When Z and Y are affine in independent Gaussian draws they are jointly Gaussian, and a
zero cross-covariance makes them independent; then ``E[Z g(Y)] = E[Z]·E[g(Y)]``, which
is 0 when ``E[Z] = 0``.  Both facts are computed exactly in the free algebra of
:mod:`derive.symbolic.random_algebra` for symbolic sizes.  Anything else (a non-Gaussian
draw, a product of draws, a nonzero mean or covariance) declines: proof only.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk_defined
from derive.symbolic.common import proved, sides_with
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.random_algebra import RandomAlgebra

NAME = "gaussian-orthogonality"


class GaussianOrthogonality:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        sides = sides_with(ctx.statement, _is_expectation)
        if sides is None:
            return None
        a, b = sides
        split = _product_with_function(ctx, a.args[0])
        if split is None:
            return None
        z_expr, y_expr, func = split
        alg = RandomAlgebra(lowering(ctx.checked))
        try:
            if not _is_zero(alg, b):
                return None
            z, y = alg.reduce(alg.lower(z_expr)), alg.reduce(alg.lower(y_expr))
            for what, x in (("Z", z), ("Y", y)):
                if not _affine(alg, x):
                    ctx.notes.append(f"{NAME}: {what} is not affine in the draws")
                    return None
            if any(not d.gaussian for d in alg.draws.values()):
                ctx.notes.append(f"{NAME}: a draw that is not Gaussian")
                return None
            mean = alg.expectation(z)
            cov = alg.expectation(alg.centre(z) * alg.transposed(alg.centre(y)))
            for what, x in (("E[Z]", mean), ("Cov[Z, Y]", cov)):
                left = {k: v for k, v in alg.coefficients(x).items() if v != 0}
                if left:
                    ctx.notes.append(f"{NAME}: {what} is not 0")
                    return None
        except Unsupported as exc:
            ctx.notes.append(f"{NAME}: {exc}"[:300])
            return None
        facts = alg.evidence()
        return proved(f"Z and Y are affine in independent Gaussian draws with Cov[Z, Y] = 0, "
                      f"so independent, and E[Z] = 0: E[Z·{func}(Y)] = E[Z]·E[{func}(Y)] = 0 "
                      f"(for general sizes)", NAME, residual="0", general=True,
                      certificate={"route": "jointly Gaussian with zero cross-covariance ⇒ "
                                            "independent ⇒ the expectation factorises",
                                   "side_conditions": [
                                       "distinct declared draws are independent",
                                       f"E|{func}(Y)| and E‖Z‖ are finite ({func} is any "
                                       f"function for which the statement is defined)"],
                                   "draws": facts["draws"], "rules": facts["rules"]})


def _is_expectation(e: m.Expr) -> bool:
    return isinstance(e, m.Stat) and e.kind == "E" and len(e.args) == 1


def _product_with_function(ctx: Context, e: m.Expr) -> Optional[tuple]:
    """(Z, Y, g) for ``Z * g(Y)`` or ``g(Y) * Z`` with g a declared (opaque) function and
    no function call of that kind inside Z or Y."""
    if not (isinstance(e, m.BinOp) and e.op == "*"):
        return None
    for z, call in ((e.left, e.right), (e.right, e.left)):
        info = ctx.checked.symbols.get(getattr(call, "func", None) or "")
        if isinstance(call, m.Call) and info is not None and info.role == "function" and \
                len(call.args) == 1 and not call.kwargs:
            inside = list(walk_defined(z, ctx.checked.symbols)) + \
                list(walk_defined(call.args[0], ctx.checked.symbols))
            if any(isinstance(n, m.Call) and getattr(ctx.checked.symbols.get(n.func), "role",
                                                      None) == "function" for n in inside):
                return None
            return z, call.args[0], call.func
    return None


def _is_zero(alg: RandomAlgebra, e: m.Expr) -> bool:
    return sp.expand(alg.reduce(alg.lower(e))) == 0


def _affine(alg: RandomAlgebra, x: sp.Expr) -> bool:
    """At most one zero-mean part of a draw in every term (random scalars included)."""
    for c, word in alg._terms(x):
        count = sum(1 for a in word if a in alg.centred)
        count += sum(int(k) for s, k in c.as_powers_dict().items() if s in alg.random_scalars)
        if count > 1:
            return False
    return True
