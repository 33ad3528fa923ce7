"""The engine protocol: an engine is an ordered list of small strategies.

A strategy looks at one ``show`` statement of a checked claim and either returns an
:class:`~derive.outcome.Outcome` or ``None`` ("not mine" / "cannot decide, pass on").
New kinds of claims are new strategies, not new branches in the runner.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol

from derive import model as m
from derive.outcome import Outcome, Verdict
from derive.semantics import CheckedClaim


@dataclass(frozen=True)
class Options:
    """Run options every engine sees; part of the cache key."""

    seed: int = 0
    device: str = "auto"              # auto | cpu | cuda
    symbolic_time_limit: float = 10.0  # seconds for the SymPy engine per statement
    false_refutation_rate: float = 1e-6
    mc_budget: int = 4_000_000        # Monte-Carlo samples per statement, at most
    timing_repeats: int = 15


@dataclass
class Context:
    """What a strategy gets: the checked claim, the statement, and the options."""

    checked: CheckedClaim
    show: m.Show
    index: int
    options: Options
    notes: list[str] = field(default_factory=list)  # why strategies passed, for 'unsupported'

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
    """Try each strategy in order; the first outcome wins."""

    name: str
    strategies: list

    def decide(self, ctx: Context) -> Optional[Outcome]:
        for strategy in self.strategies:
            outcome = strategy.attempt(ctx)
            if outcome is not None:
                outcome.engine = outcome.engine or self.name
                outcome.strategy = outcome.strategy or strategy.name
                return outcome
        return None


def unsupported(reason: str) -> Outcome:
    return Outcome(Verdict.UNSUPPORTED, None, None, reason)
