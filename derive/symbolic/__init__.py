"""The SymPy engine: lower a checked claim to SymPy and try small strategies in order.

Each strategy either decides a statement (naming itself and carrying its evidence:
the residual, the solution set, the counterexample) or declines with a reason (a note).
Declining is only for declared limits: the strategy's share of the time budget is spent,
or the lowering says what it does not support.  Any other exception is a bug and goes on
to :class:`derive.engine.Engine`, which records it (strict mode: the claim is an error);
the time limit (``derive.limits.TimeLimit``) is always re-raised.
"""
from __future__ import annotations

from typing import Optional

from derive.engine import Context, Engine
from derive.limits import TimeLimit
from derive.outcome import Outcome, Verdict
from derive.symbolic.common import OutOfBudget, budget, is_approximate
from derive.symbolic.densities import density_evidence
from derive.symbolic.domains import undefined_outside
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.strategies.argopt import ArgOpt
from derive.symbolic.strategies.conditions import Conditions
from derive.symbolic.strategies.elementary import Elementary
from derive.symbolic.strategies.exp_bounds import ExpSumBounds
from derive.symbolic.strategies.expectations import Expectations
from derive.symbolic.strategies.fixed_sizes import FixedSizes
from derive.symbolic.strategies.indexed import IndexedSums
from derive.symbolic.strategies.invariant import RecurrenceInvariant
from derive.symbolic.strategies.kron_vec import KronVec
from derive.symbolic.strategies.convex_argmin import ConvexArgmin
from derive.symbolic.strategies.gaussian_orthogonality import GaussianOrthogonality
from derive.symbolic.strategies.leibniz import Leibniz
from derive.symbolic.strategies.matcalc import MatrixDifferential
from derive.symbolic.strategies.matrix_algebra import MatrixAlgebra
from derive.symbolic.strategies.matrix_recurrence import MatrixRecurrence
from derive.symbolic.strategies.random_forms import RandomForms
from derive.symbolic.strategies.recurrence import Recurrence, RecurrenceTerms, VectorRecurrence
from derive.symbolic.strategies.scalar_identity import ScalarIdentity
from derive.symbolic.strategies.telescoping import Telescoping
from derive.symbolic.strategies.unrolled import UnrolledRecurrence
from derive.symbolic.strategies.smt import Smt
from derive.symbolic.strategies.svd import SvdMatrixAlgebra
from derive.symbolic.strategies.vector_elementary import VectorElementary


SHARE = 0.4  # of the statement's time limit, per strategy: one slow strategy cannot starve the rest


class Guarded:
    """Run one strategy within its share of the time limit; declared limits become a note
    and a pass, internal errors propagate to the engine (recorded, never a pass)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        try:
            with budget(SHARE * ctx.options.symbolic_time_limit):
                outcome = self.inner.attempt(ctx)
            if outcome is not None and outcome.verdict == Verdict.REFUTED and is_approximate(ctx):
                ctx.notes.append(f"{self.name}: the sides differ exactly, but the statement "
                                 f"allows a tolerance")
                return None  # an exact difference may lie inside the tolerance
            if outcome is not None and outcome.verdict == Verdict.PROVED:
                outside = undefined_outside(lowering(ctx.checked), ctx.statement)
                if outside:
                    # SymPy's lowering simplified a partial function away (sqrt(x)**2 is x):
                    # the proof says nothing where the statement has no real value
                    ctx.notes.append(f"{self.name}: proof declined: it needs "
                                     f"{', '.join(map(str, outside))}, which the declarations "
                                     f"do not imply"[:300])
                    return None
                density_evidence(lowering(ctx.checked), ctx.statement, outcome)
            return outcome
        except TimeLimit:
            raise
        except StopIteration:  # raised from inside SymPy's simplify on some sums: a pass
            ctx.notes.append(f"{self.name}: SymPy raised StopIteration")
            return None
        except OutOfBudget:
            ctx.notes.append(f"{self.name}: used up its share of the time limit")
            return None
        except Unsupported as exc:
            ctx.notes.append(f"{self.name}: {exc}"[:300])
            return None


STRATEGIES = [Expectations(), RandomForms(), GaussianOrthogonality(), Leibniz(), Recurrence(),
              RecurrenceTerms(), VectorRecurrence(), MatrixRecurrence(), UnrolledRecurrence(),
              Telescoping(), RecurrenceInvariant(), Smt(), ArgOpt(), ConvexArgmin(),
              Conditions(), ScalarIdentity(), MatrixDifferential(), MatrixAlgebra(), SvdMatrixAlgebra(), IndexedSums(),
              Elementary(), VectorElementary(), ExpSumBounds(), KronVec(),
              FixedSizes()]

ENGINE = Engine("symbolic", [Guarded(s) for s in STRATEGIES])
