"""Identities between E/Var/Cov of linear and quadratic forms in random vectors and
matrices of symbolic size, decided in the free algebra with the pairing rules of
derive/symbolic/random_algebra.py.  Proof only: a nonzero residual is a note, never a
refutation (the numeric engine looks for a counterexample)."""
from __future__ import annotations

from typing import Optional

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk_defined
from derive.symbolic.common import is_equality, proved
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.random_algebra import RandomAlgebra
from derive.symbolic.strategies.matrix_algebra import MatrixAlgebra, _denominator_ok

NAME = "random-algebra"
SIDE_CONDITIONS = ("distinct declared draws are independent; each draw is its mean plus a "
                   "zero-mean part whose entries are iid (or, for a vector, have the declared "
                   "covariance); only the moments named under 'draws' are used")


class RandomForms:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st):
            return None
        nodes = list(walk_defined(st, ctx.checked.symbols))
        stats = [n for n in nodes if isinstance(n, (m.Stat, m.Cond))]
        if not stats or any(isinstance(s, m.Cond) or s.kind not in ("E", "Var", "Cov")
                            for s in stats):
            return None
        if not any(isinstance(n, m.Name) and getattr(ctx.checked.symbols.get(n.id), "random", False)
                   and ctx.checked.symbols[n.id].role == "tensor" for n in nodes):
            return None   # scalar draws only: the moments strategy's ground
        low = lowering(ctx.checked)
        alg = RandomAlgebra(low)
        try:
            residual = alg.lower(st.operands[0]) - alg.lower(st.operands[1])
            coeffs = alg.coefficients(residual)
            assumed = MatrixAlgebra()._assumed_nonzero(alg, low)
        except Unsupported as exc:
            ctx.notes.append(f"{NAME}: {exc}"[:300])
            return None
        if alg.random_left(residual):
            ctx.notes.append(f"{NAME}: a random value outside E/Var/Cov")
            return None
        nonzero = {k: v for k, v in coeffs.items() if v != 0}
        if nonzero:
            words = {("·".join(s.name for s in k) or "I"): str(v) for k, v in nonzero.items()}
            ctx.notes.append(f"{NAME}: residual {words}"[:300])
            return None
        for d in alg.denominators:
            if d.is_nonzero is not True and not _denominator_ok(d, assumed):
                ctx.notes.append(f"{NAME}: denominator {d} is not assumed nonzero")
                return None
        facts = alg.evidence()
        return proved("lhs − rhs averages to 0 in the free algebra: each draw split into its "
                      "mean and a zero-mean part, lone parts average to 0, pairs by "
                      "E[Z_ij Z_kl] = K_ik C_jl, for general sizes", NAME, residual="0",
                      general=True,
                      certificate={"route": f"{NAME}: pairing rules over independent draws",
                                   "side_conditions": SIDE_CONDITIONS,
                                   "draws": facts["draws"], "rules": facts["rules"]},
                      scalars=sorted(alg.scalars) or None)
