"""``show exists: P`` — "P holds for some values of the claim's names" (the textbook's
"not in general", "there are matrices with …").

It is decided by duality, with no engine of its own: ``exists: P`` holds exactly when the
universal statement ``not P`` is false, so the engines decide ``not P`` and the verdict is
read back:

- ``not P`` refuted: its counterexample is a witness of P. An exact (symbolic, cross-checked)
  counterexample makes ``exists: P`` proved; a numeric one (re-checked against rounding, as
  every numeric refutation is) makes it verified.
- ``not P`` proved: no value satisfies P, so ``exists: P`` is refuted — with a proof.
- ``not P`` verified (no counterexample found): no witness was found, which is no evidence
  that none exists — ``inconclusive``, never refuted.
- anything else (error, inconclusive, unsupported) carries over.

With a moment-only draw (``X ~ any(mean = μ, var = v)``: every law with those moments) a
numeric refutation of ``not P`` fails for one law of the family the numeric engine checks,
which witnesses P for that law only, not for every law with those moments: inconclusive.
A symbolic one uses only the two moments, so it witnesses P for all of them.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome, Verdict
from derive.vocabulary.distributions import law_of

# == and != are exact complements for tensors too (equal means every entry equal); an
# ordering of tensors is not (not all(a < b) is not all(a >= b)), so it is wrapped in 'not'
_COMPLEMENT = {"==": "!=", "!=": "=="}


def negation(statement: m.Expr) -> m.Expr:
    """``not P``, written the way the engines know best: a flipped == / !=, else ``not``."""
    if isinstance(statement, m.Compare) and len(statement.ops) == 1 \
            and statement.ops[0] in _COMPLEMENT:
        return replace(statement, ops=(_COMPLEMENT[statement.ops[0]],))
    if isinstance(statement, m.Logic) and statement.op == "not":
        return statement.args[0]
    return m.Logic("not", (statement,), statement.pos)


def decide_exists(ctx: Context, decide: Callable[[Context], Outcome]) -> Outcome:
    """Decide ``show exists: P`` from the universal verdict on ``not P`` (module doc)."""
    show = replace(ctx.show, statement=negation(ctx.show.statement), exists=False)
    inner = Context(ctx.checked, show, ctx.index, ctx.options)
    outcome = decide(inner)
    ctx.internal_errors.extend(inner.internal_errors)
    negated = {"negation": outcome.as_dict(), "reading": "exists: P is decided as not P for all values"}
    v = outcome.verdict
    if v == Verdict.REFUTED and outcome.engine != "symbolic" and _moment_only(ctx):
        return Outcome(Verdict.INCONCLUSIVE, outcome.engine, outcome.strategy,
                       f"the negation fails for one law with the stated moments, which is no "
                       f"witness for every such law: {outcome.summary}", negated)
    if v == Verdict.REFUTED:
        exact = outcome.engine == "symbolic"
        return Outcome(Verdict.PROVED if exact else Verdict.VERIFIED, outcome.engine,
                       outcome.strategy, f"a witness exists, for the negation fails: {outcome.summary}", negated)
    if v == Verdict.PROVED:
        return Outcome(Verdict.REFUTED, outcome.engine, outcome.strategy,
                       f"no values satisfy the statement: its negation is proved "
                       f"({outcome.summary})", negated)
    if v == Verdict.VERIFIED:
        return Outcome(Verdict.INCONCLUSIVE, outcome.engine, outcome.strategy,
                       f"no witness found ({outcome.summary}); a search that finds none does "
                       f"not show that none exists", negated)
    return Outcome(v, outcome.engine, outcome.strategy, outcome.summary, negated)


def _moment_only(ctx: Context) -> bool:
    """Whether the claim draws a name from a moment-only law (``any(mean = …, var = …)``)."""
    return any(info.random and info.dist is not None and getattr(law_of(info.dist), "family", ())
               for info in ctx.checked.symbols.values())
