"""Matrix identities with the SVD, diagonal matrices, pinv, symbolic powers and dot
products for symbolic sizes: the matrix-algebra strategy over
:class:`derive.symbolic.svd_algebra.SvdAlgebra`.  It runs after the plain algebra, so it
only sees what that one declined; its evidence lists every side condition it used.

It also proves ``norm(a) >= norm(b)`` (or the squares) of vectors by Pythagoras: when
bᵀ(a − b) reduces to 0, ‖a‖² = ‖b‖² + ‖a − b‖² ≥ ‖b‖² (the minimum-norm solution, the
length of a projection)."""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.symbolic.common import is_equality, proved
from derive.symbolic.lower import Lowering, Unsupported, lowering
from derive.symbolic.strategies.matrix_algebra import (Algebra, MatrixAlgebra, _is_norm,
                                                       _matrix_statement)
from derive.symbolic.strategies.recurrence import _is_term
from derive.symbolic.svd_algebra import SvdAlgebra
from derive.symbolic.svd_induction import StandIns, induction_cases, recurrences


class SvdMatrixAlgebra(MatrixAlgebra):
    name = "svd-algebra"
    refused = ("argmin", "argmax", "integrate")
    roles = ("tensor", "define")  # U, S, V of svd(X) are definitions

    def make_algebra(self, low: Lowering) -> Algebra:
        return SvdAlgebra(low)

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        if is_equality(ctx.statement) and _is_term(ctx, ctx.statement.operands[0]):
            return self.induction(ctx)
        sides = _norm_comparison(ctx.statement)
        if sides is None and _comparison(ctx.statement) is not None:
            return self.unit_bound(ctx, *_comparison(ctx.statement))
        if sides is None:
            return super().attempt(ctx)
        if not _matrix_statement(ctx, ctx.statement, self.refused, self.roles):
            return None
        low = lowering(ctx.checked)
        alg = self.make_algebra(low)
        big, small = sides
        try:
            ta, tb = low.vtype(big), low.vtype(small)
            if not (len(ta.shape) == len(tb.shape) == 1 and None not in ta.shape + tb.shape
                    and alg.square((ta.shape[0], tb.shape[0]))):
                raise Unsupported("a comparison of norms of other than two vectors of one length")
            a, b = alg.lower(big), alg.lower(small)
            nonzero = {k: v for k, v in alg.coefficients(alg.transposed(b) * (a - b)).items() if v != 0}
            assumed = self._assumed_nonzero(alg, low)
        except Unsupported as exc:
            ctx.notes.append(f"{self.name}: {exc}")
            return None
        if nonzero:
            ctx.notes.append(f"{self.name}: bᵀ(a − b) does not reduce to 0 for ‖a‖ ≥ ‖b‖")
            return None
        if not self.denominators_ok(ctx, alg, assumed):
            return None
        return proved("‖a‖² = ‖b‖² + ‖a − b‖² ≥ ‖b‖² since bᵀ(a − b) reduces to 0 in the free "
                      "algebra for general sizes (Pythagoras)", self.name, general=True,
                      side_conditions=alg.side_conditions() or None, residual="0")

    def induction(self, ctx: Context) -> Optional[Outcome]:
        """show x[t] == C(t) for a matrix recurrence, by induction in the algebra."""
        lhs, closed = ctx.statement.operands
        seq, t = lhs.base.id, lhs.indices[0].id
        low = lowering(ctx.checked)
        conditions: list[str] = []
        try:
            recs = recurrences(ctx)
            if seq not in recs:
                return None
            base, step, starts = induction_cases(ctx, seq, t, closed, recs)
            with StandIns(low, starts):
                for case, (a, b) in (("base", base), ("step", step)):
                    if not (_matrix_statement(ctx, a, self.refused, self.roles) or
                            _matrix_statement(ctx, b, self.refused, self.roles)):
                        raise Unsupported(f"the {case} case is not a matrix identity")
                    alg = self.make_algebra(low)
                    nonzero = {k: v for k, v in alg.coefficients(alg.lower(a) - alg.lower(b)).items()
                               if v != 0}
                    if nonzero:
                        raise Unsupported(f"the {case} case does not reduce to 0")
                    if not self.denominators_ok(ctx, alg, self._assumed_nonzero(alg, low)):
                        return None
                    conditions += alg.side_conditions()
        except Unsupported as exc:
            ctx.notes.append(f"{self.name}: {exc}")
            return None
        return proved(f"by induction on {t}: {seq}[0] equals the closed form, and one step of "
                      f"the recurrence applied to it (the other sequences' terms at {t} "
                      f"arbitrary) gives the closed form at {t} + 1, both in the free algebra",
                      self.name, general=True, base_residual="0", step_residual="0",
                      side_conditions=list(dict.fromkeys(conditions)) or None)

    def unit_bound(self, ctx: Context, big: m.Expr, small: m.Expr) -> Optional[Outcome]:
        """big − small = c₀ + Σₖ cₖ·uₖᵀvₖ of declared unit vectors (uᵀu = 1) with numbers
        c₀ ≥ Σₖ|cₖ|: then big − small ≥ 0, since |uᵀv| ≤ ‖u‖‖v‖ = 1."""
        if not _matrix_statement(ctx, ctx.statement, self.refused, self.roles):
            return None
        low = lowering(ctx.checked)
        alg = self.make_algebra(low)
        try:
            delta = alg.reduce(alg.lower(big) - alg.lower(small))
        except Unsupported as exc:
            ctx.notes.append(f"{self.name}: {exc}")
            return None
        delta, bounded = alg.unit_inner_products(delta)
        delta = sp.expand(delta)
        if not delta.is_commutative or delta.free_symbols - set(bounded) or \
                any(sp.diff(delta, b).free_symbols for b in bounded):
            ctx.notes.append(f"{self.name}: the difference is not c₀ + Σ cₖ·uᵀv over unit vectors")
            return None
        c0 = delta.subs({b: 0 for b in bounded})
        slack = c0 - sum(abs(sp.diff(delta, b)) for b in bounded)
        if not (slack.is_number and slack >= 0):
            ctx.notes.append(f"{self.name}: the constant {c0} does not cover the inner products")
            return None
        return proved(f"the difference is {delta} ≥ {slack} since |uᵀv| ≤ ‖u‖‖v‖ = 1 for "
                      f"declared unit vectors (Cauchy–Schwarz)", self.name, general=True,
                      side_conditions=[f"{sym}: |·| ≤ 1, both vectors declared unit"
                                       for sym in bounded] or None)


def _comparison(st: m.Expr) -> Optional[tuple]:
    """(big, small) of ``a <= b`` or ``b >= a``; None for any other statement."""
    if not (isinstance(st, m.Compare) and len(st.ops) == 1 and st.ops[0] in (">=", "<=")):
        return None
    left, right = st.operands
    return (left, right) if st.ops[0] == ">=" else (right, left)


def _norm_comparison(st: m.Expr) -> Optional[tuple]:
    """(a, b) of ``norm(a) >= norm(b)``, ``norm(b) <= norm(a)`` or the same with both
    norms squared; None for any other statement."""
    sides = _comparison(st)
    if sides is None:
        return None
    inner = []
    for side in sides:
        squared = isinstance(side, m.BinOp) and side.op == "^" and \
            isinstance(side.right, m.Num) and side.right.value == 2
        if squared:
            side = side.left
        if not _is_norm(side):
            return None
        inner.append((squared, side.args[0]))
    if inner[0][0] != inner[1][0]:
        return None
    return inner[0][1], inner[1][1]
