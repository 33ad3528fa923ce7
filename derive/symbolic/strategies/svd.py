"""Matrix identities with the SVD, diagonal matrices, pinv, symbolic powers and dot
products for symbolic sizes: the matrix-algebra strategy over
:class:`derive.symbolic.svd_algebra.SvdAlgebra`.  It runs after the plain algebra, so it
only sees what that one declined; its evidence lists every side condition it used.

Four more routes, each a sufficient condition checked in the same algebra:
* ``norm(a) >= norm(b)`` (or the squares) of two vectors of one length by Pythagoras: when
  bᵀ(a − b) reduces to 0, ‖a‖² = ‖b‖² + ‖a − b‖² ≥ ‖b‖² (the minimum-norm solution);
* ``a <= b`` when b − a = c₀ + Σₖ cₖ·uₖᵀvₖ over declared unit vectors with numbers
  c₀ ≥ Σₖ|cₖ| (Cauchy–Schwarz, uᵀu = 1);
* block rows ``[A₁, A₂, …]`` compared block by block when both sides split alike;
* ``show x[t] == C(t)`` for a matrix recurrence by induction (svd_induction).
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.semantics import walk_defined
from derive.outcome import Outcome
from derive.symbolic.common import is_equality, proved
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.strategies.matrix_algebra import (Algebra, MatrixAlgebra, _is_norm,
                                                       _matrix_statement)
from derive.symbolic.strategies.recurrence import _is_term
from derive.symbolic.svd_algebra import SvdAlgebra
from derive.symbolic.svd_induction import StandIns, induction_cases, recurrences


class SvdMatrixAlgebra(MatrixAlgebra):
    name = "svd-algebra"
    refused = ("argmin", "argmax", "integrate")
    roles = ("tensor", "define")  # U, S, V of svd(X) are definitions
    algebra = SvdAlgebra

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        if is_equality(ctx.statement) and _is_term(ctx, ctx.statement.operands[0]):
            return self.induction(ctx)
        if is_equality(ctx.statement) and any(_block_row(n, ctx) for n in
                                              walk_defined(ctx.statement, ctx.checked.symbols)):
            return self.block_rows(ctx)
        sides = _norm_comparison(ctx.statement)
        if sides is None and _comparison(ctx.statement) is not None:
            return self.unit_bound(ctx, *_comparison(ctx.statement))
        if sides is None:
            return super().attempt(ctx)
        if not _matrix_statement(ctx, ctx.statement, self.refused, self.roles):
            return None
        low = lowering(ctx.checked)
        alg = self.algebra(low)
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
                      side_conditions=alg.conditions or None, residual="0")

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
                    alg = self.algebra(low)
                    nonzero = {k: v for k, v in alg.coefficients(alg.lower(a) - alg.lower(b)).items()
                               if v != 0}
                    if nonzero:
                        raise Unsupported(f"the {case} case does not reduce to 0")
                    if not self.denominators_ok(ctx, alg, self._assumed_nonzero(alg, low)):
                        return None
                    conditions += alg.conditions
        except Unsupported as exc:
            ctx.notes.append(f"{self.name}: {exc}")
            return None
        return proved(f"by induction on {t}: {seq}[0] equals the closed form, and one step of "
                      f"the recurrence applied to it (the other sequences' terms at {t} "
                      f"arbitrary) gives the closed form at {t} + 1, both in the free algebra",
                      self.name, general=True, base_residual="0", step_residual="0",
                      side_conditions=list(dict.fromkeys(conditions)) or None)

    def block_rows(self, ctx: Context) -> Optional[Outcome]:
        """A == B for block rows [A₁, A₂, …] (nested rows flattened, L @ [B₁, B₂] =
        [L B₁, L B₂]): equal when both sides split into blocks of the same widths and
        each pair of blocks is equal in the algebra."""
        if not _matrix_statement(ctx, ctx.statement, self.refused, self.roles):
            return None
        low = lowering(ctx.checked)
        alg = self.algebra(low)
        try:
            a, b = (_blocks(alg, ctx, side) for side in ctx.statement.operands)
            if len(a) != len(b) or any(not alg.square((wa, wb)) for (_, wa), (_, wb) in zip(a, b)):
                raise Unsupported("the two sides split into blocks of different widths")
            for k, ((x, _), (y, _)) in enumerate(zip(a, b)):
                if any(v != 0 for v in alg.coefficients(x - y).values()):
                    raise Unsupported(f"block {k + 1} differs")
        except Unsupported as exc:
            ctx.notes.append(f"{self.name}: {exc}")
            return None
        if not self.denominators_ok(ctx, alg, self._assumed_nonzero(alg, low)):
            return None
        return proved(f"both sides are block rows of {len(a)} blocks of equal widths, equal block "
                      f"by block in the free algebra", self.name, general=True, residual="0",
                      side_conditions=alg.conditions or None)

    def unit_bound(self, ctx: Context, big: m.Expr, small: m.Expr) -> Optional[Outcome]:
        """big − small = c₀ + Σₖ cₖ·uₖᵀvₖ of declared unit vectors (uᵀu = 1) with numbers
        c₀ ≥ Σₖ|cₖ|: then big − small ≥ 0, since |uᵀv| ≤ ‖u‖‖v‖ = 1."""
        if not _matrix_statement(ctx, ctx.statement, self.refused, self.roles):
            return None
        low = lowering(ctx.checked)
        alg = self.algebra(low)
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


def _block_row(e: m.Expr, ctx: Context) -> bool:
    """A one-row block literal of matrices ([I[n], A]), not a vector literal."""
    if not (isinstance(e, m.Block) and len(e.rows) == 1):
        return False
    low = lowering(ctx.checked)
    return all(len(low.vtype(x).shape) == 2 for x in e.rows[0])


def _blocks(alg: Algebra, ctx: Context, e: m.Expr) -> list[tuple]:
    """(block, width) of e as a block row: literals flattened, defined names read through,
    a left factor distributed over the blocks; anything else is one block."""
    info = ctx.checked.symbols.get(e.id) if isinstance(e, m.Name) else None
    if info is not None and info.role == "define" and len(info.statement.names) == 1:
        return _blocks(alg, ctx, info.statement.value)
    if _block_row(e, ctx):
        return [b for x in e.rows[0] for b in _blocks(alg, ctx, x)]
    if isinstance(e, m.BinOp) and e.op == "@":
        right = _blocks(alg, ctx, e.right)
        if len(right) > 1:
            left = alg.lower(e.left)
            return [(alg.reduce(left * x), w) for x, w in right]
    shape = alg.low.vtype(e).shape
    if len(shape) != 2 or None in shape:
        raise Unsupported("a block of unknown shape")
    return [(alg.lower(e), alg.dim(shape[1]))]


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
