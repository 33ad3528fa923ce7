"""The pytest plugin: ``pytest claims/`` collects one item per claim, failures show the
evidence, markers select timing/gpu/slow claims, the project's own run is undisturbed,
and the items run under pytest-xdist."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CLAIMS = """claim p.good "holds"
  let x : real
  show x + x == 2*x

claim p.wrong "does not hold"
  let x, y : real
  show x*y == x + y

claim p.cost "matrix products"
  tags slow_ok
  let n in [64, 128]
  let A : matrix[n, n] ~ normal(0, 1)
  show time[A @ A] ~ n^3

claim p.gpu
  let n in [64, 128]
  let A : matrix[n, n] ~ normal(0, 1)
  show time[A @ A] < time[A @ A @ A] on cuda
"""

BROKEN = """claim p.broken
  let x : real
  show x + q == 1
"""

# the engines, faked in every process (xdist workers load the conftest too)
CONFTEST = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import derive.decide
import derive_fakes
derive.decide.decide_claim = derive_fakes.fake_decide_claim
"""


@pytest.fixture()
def project(pytester, monkeypatch):
    # The conftest below fakes the engines in-process (pytester runs pytest in this process):
    # record the real decide_claim so it is restored for the tests that follow.
    import derive.decide

    monkeypatch.setattr(derive.decide, "decide_claim", derive.decide.decide_claim)
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    pytester.makeconftest(CONFTEST)
    (pytester.path / "claims").mkdir()
    (pytester.path / "claims" / "p.claims").write_text(CLAIMS, encoding="utf-8")
    (pytester.path / "tests" / "data").mkdir(parents=True)
    (pytester.path / "tests" / "data" / "t.claims").write_text(BROKEN, encoding="utf-8")
    (pytester.path / "tests" / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    return pytester


def test_collects_one_item_per_claim(project):
    result = project.runpytest("claims", "--collect-only", "-q", "--derive-no-cache")
    result.stdout.fnmatch_lines(["claims/p.claims::p.good", "claims/p.claims::p.wrong",
                                 "claims/p.claims::p.cost", "claims/p.claims::p.gpu",
                                 "*4 tests collected*"])


def test_failure_shows_the_evidence(project):
    result = project.runpytest("claims", "--derive-no-cache", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "*p.wrong: refuted, expected holds [[]*p.claims:7[]]*",
        "*counterexample with relative error 0.5 at n=2*",
        "*counterexample: {\"sizes\": {\"n\": 2}, \"values\": {\"x\": [[]1.0, 2.0[]]}}*",
        "FAILED claims/p.claims::p.wrong*",
    ])


def test_markers_select_timing_gpu_and_tags(project):
    result = project.runpytest("claims", "-m", "timing", "--derive-no-cache", "-q")
    result.assert_outcomes(passed=2, deselected=2)
    result = project.runpytest("claims", "-m", "gpu", "--derive-no-cache", "-q")
    result.assert_outcomes(passed=1, deselected=3)
    result = project.runpytest("claims", "-m", "not slow", "--derive-no-cache", "-q")
    result.assert_outcomes(passed=1, failed=1, deselected=2)
    result = project.runpytest("claims", "-m", "slow_ok", "--derive-no-cache", "-q",
                               "--strict-markers")
    result.assert_outcomes(passed=1, deselected=3)


def test_project_run_over_testpaths_is_not_disturbed(project):
    result = project.runpytest("-q")  # testpaths = tests holds a broken claim file
    result.assert_outcomes(passed=1)
    result = project.runpytest("tests", "-q")  # named, but test data is not a corpus
    result.assert_outcomes(passed=1)
    result = project.runpytest("tests/data/t.claims", "-q")  # a file named itself is collected
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*'q' is not declared*", "*show x + q == 1*"])
    result = project.runpytest("-q", "--derive", "tests")
    result.assert_outcomes(passed=1, failed=1)


def test_results_are_cached_between_runs(project):
    result = project.runpytest("claims", "-q", "--derive-cache-dir", "cache")
    result.assert_outcomes(passed=3, failed=1)
    files = list((project.path / "cache").rglob("*.json"))
    assert len(files) == 4


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="pytest-xdist not installed")
def test_runs_under_xdist(project):
    result = project.runpytest_subprocess("claims", "-n", "2", "--derive-no-cache",
                                          "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*2 workers*"])
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["FAILED claims/p.claims::p.wrong*"])


def test_shards_partition_the_claims(project):
    seen = []
    for k in (1, 2, 3):
        result = project.runpytest("claims", "--collect-only", "-q", "--derive-no-cache",
                                   f"--derive-shard={k}/3")
        seen += [ln.split("::")[1] for ln in result.stdout.lines if "p.claims::" in ln]
    assert sorted(seen) == ["p.cost", "p.good", "p.gpu", "p.wrong"]
    result = project.runpytest("claims", "--derive-shard=4/3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


NOTES = """# Notes

Some prose, then a claim block:

```claim
claim md.good
  let x : real
  show x + x == 2*x
```

```python
print("not a claim")
```
"""


def test_markdown_claim_blocks_are_collected_when_asked(project):
    (project.path / "claims" / "notes.md").write_text(NOTES, encoding="utf-8")
    (project.path / "claims" / "plain.md").write_text("# no claims here\n", encoding="utf-8")
    off = project.runpytest("claims/notes.md", "--collect-only", "-q", "--derive-no-cache")
    assert "md.good" not in off.stdout.str()
    on = project.runpytest("claims", "--derive-markdown", "--collect-only", "-q",
                           "--derive-no-cache")
    on.stdout.fnmatch_lines(["claims/notes.md::md.good", "*5 tests collected*"])
    assert "plain.md" not in on.stdout.str()


def test_markdown_ini_setting_runs_the_blocks(project):
    (project.path / "claims" / "notes.md").write_text(NOTES, encoding="utf-8")
    project.makeini("[pytest]\ntestpaths = tests\nderive_markdown = true\n")
    result = project.runpytest("claims/notes.md", "-q", "--derive-no-cache")
    result.assert_outcomes(passed=1)


def test_notebook_claim_blocks_are_collected_when_asked(project):
    import shutil

    pytest.importorskip("nbformat")
    course = Path(__file__).resolve().parent / "data" / "course.ipynb"
    shutil.copy(course, project.path / "claims" / "course.ipynb")
    off = project.runpytest("claims", "--collect-only", "-q", "--derive-no-cache")
    assert "nb.gd.stable" not in off.stdout.str()
    on = project.runpytest("claims", "--derive-notebooks", "--collect-only", "-q",
                           "--derive-no-cache")
    on.stdout.fnmatch_lines(["claims/course.ipynb::nb.gd.stable",
                             "claims/course.ipynb::nb.square_of_sum"])
