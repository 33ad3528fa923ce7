"""The engine protocol: an engine is an ordered list of small strategies.

A strategy looks at one ``show`` statement of a checked claim and either returns an
:class:`~derive.outcome.Outcome` or ``None`` ("not mine" / "cannot decide, pass on").
New kinds of claims are new strategies, not new branches in the runner.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Optional, Protocol

from derive import faults
from derive import model as m
from derive.outcome import Outcome, Verdict
from derive.semantics import CheckedClaim, walk


BUDGET_SCALE_ENV = "DERIVE_BUDGET_SCALE"


def budget_scale() -> float:
    """Every wall-clock budget of the engines is multiplied by ``$DERIVE_BUDGET_SCALE``
    (default 1).  The load-margin audit (``benchmarks/load_margin.py``) decides the corpus
    at a fraction of the budgets: a verdict that changes there depends on the machine's
    speed, and a busy CI machine would flip it."""
    try:
        scale = float(os.environ.get(BUDGET_SCALE_ENV, "1"))
    except ValueError:
        return 1.0
    return scale if 0 < scale <= 100 else 1.0


@dataclass(frozen=True)
class Options:
    """Run options every engine sees; part of the cache key."""

    seed: int = 0
    device: str = "auto"              # auto | cpu | cuda
    symbolic_time_limit: float = 10.0  # seconds for the SymPy engine per statement
    false_refutation_rate: float = 1e-6
    mc_budget: int = 4_000_000        # Monte-Carlo samples per statement, at most
    timing_repeats: int = 15
    strict: bool = False              # an internal error in any strategy fails the claim


@dataclass
class Context:
    """What a strategy gets: the checked claim, the statement, and the options."""

    checked: CheckedClaim
    show: m.Show
    index: int
    options: Options
    notes: list[str] = field(default_factory=list)  # why strategies passed, for 'unsupported'
    internal_errors: list[dict] = field(default_factory=list)  # faults.record of each crash
    declined: list[dict] = field(default_factory=list)  # {engine, strategy, reason} per pass

    @property
    def claim(self) -> m.Claim:
        return self.checked.claim

    @property
    def statement(self) -> m.Expr:
        return self.show.statement


class Strategy(Protocol):
    name: str

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        ...


@dataclass
class Engine:
    """Try each strategy in order; the first outcome wins.

    A strategy that raises (anything but a deliberate :class:`~derive.faults.Interrupt` or
    ``MemoryError``) has a bug: the error is recorded in ``ctx.internal_errors`` and the
    next strategy runs, or, in strict mode, :class:`~derive.faults.InternalFault` is raised.
    A strategy that passes is recorded in ``ctx.declined`` with the notes it left (its reason).
    """

    name: str
    strategies: list

    def decide(self, ctx: Context) -> Optional[Outcome]:
        for strategy in self.strategies:
            noted = len(ctx.notes)
            try:
                outcome = strategy.attempt(ctx)
            except (faults.Interrupt, MemoryError, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - a bug: recorded, never a pass
                rec = faults.record(self.name, strategy.name, exc)
                ctx.internal_errors.append(rec)
                if faults.strict_mode(ctx.options):
                    raise faults.InternalFault(rec) from exc
                continue
            if outcome is None:
                reason = "; ".join(ctx.notes[noted:]) or \
                    f"does not apply to this statement (it handles: {scope(strategy)})"
                ctx.declined.append({"engine": self.name, "strategy": strategy.name,
                                     "reason": reason[:300]})
                continue
            if outcome is not None:
                outcome.engine = outcome.engine or self.name
                outcome.strategy = outcome.strategy or strategy.name
                return outcome
        return None


def scope(strategy) -> str:
    """What a strategy handles, for a decline without a note of its own: its ``scope``, else
    the first line of its class's or module's docstring."""
    inner = getattr(strategy, "inner", strategy)
    for text in (getattr(inner, "scope", None), type(inner).__doc__,
                 getattr(sys.modules.get(type(inner).__module__), "__doc__", None)):
        if text and text.strip():
            line = text.strip().split("\n")[0].strip().rstrip(":")
            return line.replace("``", "")[:160]
    return getattr(strategy, "name", "?")


def unsupported(reason: str) -> Outcome:
    return Outcome(Verdict.UNSUPPORTED, None, None, reason)


def is_cost_statement(statement: m.Expr) -> bool:
    """Cost claims, and growth claims over a sweep, belong to the timing engine."""
    for node in walk(statement):
        if isinstance(node, (m.Cost, m.BigO)):
            return True
        if isinstance(node, m.Compare) and "~" in node.ops:
            return True
    return False
