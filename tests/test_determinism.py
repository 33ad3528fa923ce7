"""The same seed gives byte-identical JSON apart from timings.

``derive check tests/data/sketch.claims --format json --seed 3`` runs twice; the outputs are
compared byte for byte after removing what measures time:
* every ``"seconds"`` field (wall-clock time of a claim or statement);
* the measurements of the timing engine (statements it decided: their evidence and summary,
  and fields ending in ``_s`` such as ``median_s``), since those are measured durations.
Everything else (verdicts, counterexamples, Monte-Carlo estimates, seeds) must be identical.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKETCH = ROOT / "tests" / "data" / "sketch.claims"

_SECONDS = re.compile(r'"seconds": -?[0-9.eE+-]+')


def strip_timings(node):
    """A copy with timing measurements removed (see the module docstring)."""
    if isinstance(node, dict):
        if node.get("engine") == "timing":
            return {k: ("<timing>" if k in ("evidence", "summary", "verdict", "as_expected")
                        else strip_timings(v)) for k, v in node.items() if k != "seconds"}
        return {k: strip_timings(v) for k, v in node.items()
                if k != "seconds" and not k.endswith("_s")}
    if isinstance(node, list):
        return [strip_timings(x) for x in node]
    return node


def _no_cache_flag() -> list[str]:
    """A result cache would make the second run a copy of the first: switch it off."""
    help_text = subprocess.run([sys.executable, "-m", "derive.cli", "check", "--help"],
                               capture_output=True, text=True, timeout=120).stdout
    return ["--no-cache"] if "--no-cache" in help_text else []


def run_check(seed: int, cwd: Path) -> str:
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-m", "derive.cli", "check", str(SKETCH), "--format",
                           "json", "--seed", str(seed), "--time-limit", "60",
                           "--symbolic-time-limit", "5"] + _no_cache_flag(),
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return proc.stdout


def normalised(text: str) -> str:
    doc = json.loads(text)
    summary = doc.pop("summary", None)
    by_engine = doc.pop("by_engine", None)
    doc = strip_timings(doc)
    if not any(c.get("engine") == "timing" for c in doc.get("claims", [])):
        doc["summary"], doc["by_engine"] = summary, by_engine  # nothing measured: keep the counts
    return json.dumps(doc, indent=2, ensure_ascii=False)


def test_same_seed_same_json(tmp_path):
    first = run_check(3, tmp_path)
    second = run_check(3, tmp_path)
    assert not (tmp_path / ".derive-cache").exists(), "the runs must not share a cache"
    doc = json.loads(first)
    assert len(doc["claims"]) >= 13
    assert all(c["evidence"].get("seed", 3) == 3 for c in doc["claims"])
    if not any(c.get("engine") == "timing" for c in doc["claims"]) and \
            "median_s" not in first and "_s\"" not in first:
        # no timing measurements at all: the raw bytes agree once the seconds are blanked
        assert _SECONDS.sub('"seconds": 0', first) == _SECONDS.sub('"seconds": 0', second)
    assert normalised(first) == normalised(second)


def test_strip_timings_keeps_what_matters():
    doc = {"claims": [{"id": "a", "seconds": 1.5, "verdict": "verified",
                       "evidence": {"seed": 3, "statements": [
                           {"engine": "timing", "seconds": 2, "summary": "ratio 3.1",
                            "evidence": {"median_s": 0.1}},
                           {"engine": "numeric", "seconds": 0.2, "summary": "max error 1e-9",
                            "evidence": {"samples": 10, "warmup_s": 0.3}}]}}]}
    out = strip_timings(doc)
    text = json.dumps(out)
    assert "seconds" not in text and "median_s" not in text and "warmup_s" not in text
    assert "max error 1e-9" in text and '"samples": 10' in text and '"seed": 3' in text
    other = json.loads(json.dumps(doc))
    other["claims"][0]["evidence"]["statements"][1]["summary"] = "max error 2e-9"
    assert strip_timings(other) != out  # a real difference is still seen
