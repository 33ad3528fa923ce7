"""Verdicts, per-statement outcomes and per-claim results (the JSON report's contract)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Optional


class Verdict(str, Enum):
    PROVED = "proved"            # a symbolic proof for all values in the declared domains
    VERIFIED = "verified"        # numeric evidence at stated confidence, no proof
    REFUTED = "refuted"          # a counterexample, or evidence against at stated confidence
    INCONCLUSIVE = "inconclusive"  # tried, could not decide (time limit, too noisy, …)
    UNSUPPORTED = "unsupported"  # no engine handles this kind of statement yet
    SKIPPED = "skipped"          # not run here (e.g. 'on cuda' without a GPU)
    ERROR = "error"              # the claim is malformed, or the engines disagree

    def __str__(self) -> str:
        return self.value


# How statements combine into a claim verdict: the first that any statement has wins.
_PRECEDENCE = [Verdict.ERROR, Verdict.REFUTED, Verdict.INCONCLUSIVE, Verdict.UNSUPPORTED,
               Verdict.SKIPPED, Verdict.VERIFIED, Verdict.PROVED]


def combine(verdicts: list[Verdict]) -> Verdict:
    for v in _PRECEDENCE:
        if v in verdicts:
            return v
    return Verdict.UNSUPPORTED


@dataclass
class Outcome:
    """The decision on one ``show`` statement by one engine strategy."""

    verdict: Verdict
    engine: Optional[str]
    strategy: Optional[str]
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        return d


EXPECTED_OK = {
    "holds": {Verdict.PROVED, Verdict.VERIFIED},
    "proved": {Verdict.PROVED},
    "verified": {Verdict.VERIFIED, Verdict.PROVED},
    "refuted": {Verdict.REFUTED},
    "inconclusive": {Verdict.INCONCLUSIVE},
    "any": set(Verdict) - {Verdict.ERROR},
}


def as_expected(verdict: Verdict, expected: str) -> bool:
    if verdict == Verdict.SKIPPED:
        return True  # a skip is reported, not failed: the claim could not run here
    return verdict in EXPECTED_OK.get(expected, set())


@dataclass
class Result:
    """One claim's result, exactly the fields of the JSON report (plus statements)."""

    id: Optional[str]
    file: str
    line: int
    title: Optional[str]
    source: Optional[str]
    verdict: Verdict
    expected: str
    as_expected: bool
    engine: Optional[str]
    seconds: float
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Result":
        d = dict(d)
        d["verdict"] = Verdict(d["verdict"])
        return cls(**d)
