"""Deterministic stand-ins for the engines, for testing reports, cache, plugin and CLI.

``fake_decide_claim`` has the signature and evidence layout of
:func:`derive.decide.decide_claim`: a claim whose id contains ``wrong`` is refuted with a
counterexample at its first statement; ``cost`` in the id gives a verified timing claim
with a curve; everything else is proved.  ``CALLS`` counts the claims decided.
"""
from __future__ import annotations

from derive.outcome import Result, Verdict

CALLS: list[str] = []


def fake_decide_claim(checked, options):
    claim = checked.claim
    CALLS.append(claim.id)
    statements = []
    for show in claim.shows:
        if "wrong" in claim.id:
            st = {"verdict": "refuted", "engine": "numeric", "strategy": "random_instances",
                  "summary": "counterexample with relative error 0.5 at n=2",
                  "evidence": {"counterexample": {"sizes": {"n": 2}, "values": {"x": [1.0, 2.0]}},
                               "estimate": 0.5, "interval": [0.5, 0.5], "samples": 64}}
        elif "cost" in claim.id:
            st = {"verdict": "verified", "engine": "timing", "strategy": "growth",
                  "summary": "time grows as n^2.01",
                  "evidence": {"sizes": [128, 256, 512], "median_s": [0.001, 0.004, 0.016],
                               "exponent": 2.01}}
        else:
            st = {"verdict": "proved", "engine": "symbolic", "strategy": "simplify",
                  "summary": "simplifies to 0", "evidence": {}}
        statements.append({"line": show.pos.line, "statement": "show …", "seconds": 0.0, **st})
    verdict = (Verdict.REFUTED if "wrong" in claim.id else
               Verdict.VERIFIED if "cost" in claim.id else Verdict.PROVED)
    first = statements[0] if statements else {"engine": None, "summary": "no statements"}
    return verdict, first["engine"], first["summary"], {"seed": options.seed,
                                                        "statements": statements}


def install(monkeypatch) -> list[str]:
    """Patch the engines out (in this process); return the list of decided claim ids."""
    import derive.decide

    CALLS.clear()
    monkeypatch.setattr(derive.decide, "decide_claim", fake_decide_claim)
    return CALLS


def result(claim_id: str = "a.claim", verdict: Verdict = Verdict.PROVED, expected: str = "holds",
           file: str = "x.claims", line: int = 1, evidence: dict | None = None,
           summary: str = "summary", title: str | None = None, source: str | None = None,
           engine: str | None = "symbolic", seconds: float = 0.5) -> Result:
    """A synthetic Result."""
    from derive.outcome import as_expected

    return Result(claim_id, file, line, title, source, verdict, expected,
                  as_expected(verdict, expected), engine, seconds, summary, evidence or {})
