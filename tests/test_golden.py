"""The golden record: every corpus claim's verdict, engine and deciding strategies are pinned in
tests/golden/corpus.json, so a change of verdict is a reviewed diff, never an accident.

Regenerate (and commit the diff with the change that caused it):
    derive golden claims/ --file tests/golden/corpus.json --update
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from derive.audit import golden_diff, golden_dumps, golden_snapshot
from derive.engine import Options
from derive.outcome import Result, Verdict
from derive.runner import RunConfig, run

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "corpus.json"


@pytest.mark.slow
def test_corpus_verdicts_match_the_golden_file(monkeypatch):
    monkeypatch.chdir(ROOT)
    results = run(["claims"], RunConfig(options=Options(seed=0), jobs=2))
    changes = golden_diff(json.loads(GOLDEN.read_text(encoding="utf-8")), golden_snapshot(results))
    assert not changes, ("corpus verdicts changed; review, then regenerate with\n"
                         "  derive golden claims/ --file tests/golden/corpus.json --update\n"
                         + "\n".join(changes))


def _result(verdict: Verdict, strategy: str = "s") -> Result:
    return Result("a.b", "claims/x.claims", 3, None, None, verdict, "holds", True, "numeric", 0.1,
                  "", {"statements": [{"line": 5, "verdict": verdict.value, "engine": "numeric",
                                       "strategy": strategy}]})


def test_a_changed_verdict_or_strategy_is_a_readable_diff():
    old = golden_snapshot([_result(Verdict.PROVED)])
    assert golden_diff(old, golden_snapshot([_result(Verdict.PROVED)])) == []
    (line,) = golden_diff(old, golden_snapshot([_result(Verdict.VERIFIED)]))
    assert line.startswith("~ claims/x.claims::a.b: proved") and "-> " in line and "verified" in line
    (line,) = golden_diff(old, golden_snapshot([_result(Verdict.PROVED, "other")]))
    assert "other" in line
    assert golden_diff(old, {"claims": {}}) == ["- claims/x.claims::a.b: gone (was proved)"]


def test_the_golden_file_is_written_one_claim_per_line():
    text = golden_dumps(golden_snapshot([_result(Verdict.PROVED)]))
    assert json.loads(text)["claims"]["claims/x.claims::a.b"]["verdict"] == "proved"
    assert sum(1 for ln in text.splitlines() if "::" in ln) == 1
    assert GOLDEN.read_text(encoding="utf-8").count("::") >= 200
