"""Isolation end to end through derive.runner.run: time limits, memory limits, crashes.

Two kinds of test:

* the runner's machinery, with engines that misbehave on purpose.  A ``sitecustomize`` on
  PYTHONPATH (inherited by the spawned workers) replaces ``derive.decide.engines`` with a fake
  engine that hangs, sleeps, allocates without end, kills its own process or exits, chosen
  by the claim id.  This is deterministic whatever state the real engines are in.
* the real corpus tests/bombs/: absurd sizes refused before allocation, and claims that are
  merely expensive for the real engines, run under small limits with every result reported.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from derive.engine import Options
from derive.outcome import Verdict
from derive.runner import RunConfig, run

HERE = Path(__file__).parent
BOMBS = HERE / "bombs"

FAKE_ENGINES = r'''
import os
if os.environ.get("DERIVE_FAKE_ENGINES") == "1":
    import signal, time
    import derive.decide as _decide
    from derive.engine import Engine
    from derive.outcome import Outcome, Verdict

    class _Misbehave:
        name = "misbehave"

        def attempt(self, ctx):
            cid = ctx.claim.id
            if ".alarm" in cid:
                return None
            if ".spin" in cid:            # pure Python loop: only the wall-clock kill stops it
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
                while True:
                    pass
            if ".sleep" in cid:
                time.sleep(3600)
            if ".grow" in cid:            # allocate until the address-space limit says no
                hoard = []
                while True:
                    hoard.append(bytearray(64 << 20))
            if ".huge" in cid:
                bytearray(1 << 45)
            if ".sigkill" in cid:         # what the kernel's OOM killer does
                os.kill(os.getpid(), signal.SIGKILL)
            if ".exit" in cid:
                os._exit(3)
            if ".segv" in cid:
                import ctypes
                ctypes.string_at(0)
            if ".raise" in cid:
                raise RuntimeError("engine bug")
            return Outcome(Verdict.PROVED, None, None, "fine")

    class _Alarm:
        name = "alarmed"

        def attempt(self, ctx):
            if ".alarm" in ctx.claim.id:  # SymPy-like pure Python work, stopped by SIGALRM
                while True:
                    sum(range(1000))
            return None

    _fake = {"symbolic": Engine("symbolic", [_Alarm()]), "numeric": Engine("numeric", [_Misbehave()])}
    _decide.engines = lambda: _fake
'''

MISBEHAVING = """
claim iso.ok.first
  let x : real
  show x == x

claim iso.spin
  let x : real
  show x == x

claim iso.ok.after_spin
  let x : real
  show x == x

claim iso.sleep
  let x : real
  show x == x

claim iso.grow
  let x : real
  show x == x

claim iso.ok.after_grow
  let x : real
  show x == x

claim iso.huge
  let x : real
  show x == x

claim iso.sigkill
  let x : real
  show x == x

claim iso.ok.after_kill
  let x : real
  show x == x

claim iso.exit
  let x : real
  show x == x

claim iso.segv
  let x : real
  show x == x

claim iso.raise
  let x : real
  show x == x

claim iso.alarm
  let x : real
  show x == x

claim iso.ok.last
  let x : real
  show x == x
"""


@pytest.fixture
def fake_engines(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FAKE_ENGINES, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(site)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
    monkeypatch.setenv("DERIVE_FAKE_ENGINES", "1")
    path = tmp_path / "iso.claims"
    path.write_text(MISBEHAVING, encoding="utf-8")
    return path


@pytest.mark.parametrize("jobs", [1, 2])
def test_misbehaving_claims_are_reported_and_the_run_goes_on(fake_engines, jobs):
    config = RunConfig(options=Options(symbolic_time_limit=0.5), time_limit=5.0,
                       memory_limit_mb=1024, jobs=jobs)
    start = time.monotonic()
    results = run([str(fake_engines)], config)
    elapsed = time.monotonic() - start
    by_id = {r.id: r for r in results}
    assert len(results) == 14 and len(by_id) == 14

    for cid in ("iso.ok.first", "iso.ok.after_spin", "iso.ok.after_grow", "iso.ok.after_kill",
                "iso.ok.last"):
        assert by_id[cid].verdict == Verdict.PROVED, (cid, by_id[cid].summary)

    for cid in ("iso.spin", "iso.sleep"):
        r = by_id[cid]
        assert r.verdict == Verdict.INCONCLUSIVE and "time limit" in r.summary, (cid, r.summary)
        assert r.evidence.get("isolation") and 4.9 <= r.seconds < 15, (cid, r.seconds)
        assert r.title is None and r.expected == "holds" and not r.as_expected

    for cid in ("iso.grow", "iso.huge"):
        r = by_id[cid]
        assert "memory" in r.summary, (cid, r.verdict, r.summary)
        assert r.verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR)

    r = by_id["iso.sigkill"]
    assert r.verdict == Verdict.ERROR and ("signal 9" in r.summary or "-9" in r.summary), r.summary
    assert "memory" in r.summary, r.summary
    r = by_id["iso.exit"]
    assert r.verdict == Verdict.ERROR and "crashed (exit code 3)" in r.summary, r.summary
    r = by_id["iso.segv"]
    assert r.verdict == Verdict.ERROR and ("signal 11" in r.summary or "-11" in r.summary), r.summary
    assert "memory" not in r.summary, "a segfault is not an out-of-memory kill: " + r.summary
    r = by_id["iso.raise"]
    assert r.verdict == Verdict.ERROR and "RuntimeError: engine bug" in r.summary, r.summary
    (fault,) = r.evidence["statements"][0]["evidence"]["internal_errors"]  # strict (conftest)
    assert fault["exception"] == "RuntimeError" and fault["where"]

    r = by_id["iso.alarm"]
    assert r.verdict == Verdict.INCONCLUSIVE and "SymPy did not finish" in r.summary, r.summary

    # two wall-clock kills of 5 s plus worker restarts, not a hang
    assert elapsed < 50, elapsed


def test_results_keep_file_order_despite_parallel_workers(fake_engines):
    results = run([str(fake_engines)], RunConfig(time_limit=2.0, memory_limit_mb=1024, jobs=3))
    lines = [r.line for r in results]
    assert lines == sorted(lines)


def test_refused_sizes_end_to_end():
    """Absurd sizes are errors with clear words, decided in well under a second each (no worker
    ever tries to allocate them: the memory limit is small and no worker dies)."""
    config = RunConfig(options=Options(symbolic_time_limit=2.0), time_limit=20.0,
                       memory_limit_mb=1024)
    start = time.monotonic()
    results = run([str(BOMBS / "refused.claims")], config)
    elapsed = time.monotonic() - start
    words = {
        "bomb.refused.tower": "tower of powers",
        "bomb.refused.dimension": "larger than the limit",
        "bomb.refused.factorial": "factorial",
        "bomb.refused.outer": "entries",
        "bomb.refused.kron": "entries",
        "bomb.refused.sweep": "entries",
        "bomb.refused.sum": "values",
        "bomb.refused.power_digits": "exponent",
        "bomb.refused.recurrence": "refused",
        "bomb.refused.eye": "entries",
    }
    by_id = {r.id: r for r in results}
    assert set(by_id) == set(words)
    for cid, word in words.items():
        r = by_id[cid]
        assert r.verdict == Verdict.ERROR and word in r.summary, (cid, r.verdict, r.summary)
        assert "died" not in r.summary and "time limit" not in r.summary
        assert r.seconds < 2.0, (cid, r.seconds)
    assert elapsed < 30, elapsed


def test_engine_bombs_are_all_reported():
    """Expensive claims for the real engines: each ends within its limit, every claim is
    reported, and the ordinary claims between the bombs are still decided."""
    config = RunConfig(options=Options(symbolic_time_limit=2.0, mc_budget=20_000),
                       time_limit=6.0, memory_limit_mb=1536)
    start = time.monotonic()
    results = run([str(BOMBS / "engines.claims")], config)
    elapsed = time.monotonic() - start
    by_id = {r.id: r for r in results}
    assert len(results) == 8 and len(by_id) == 8
    for r in results:
        assert r.summary.strip()
        assert r.seconds <= 6.0 + 5.0, (r.id, r.seconds)
        if r.id.startswith("bomb.after"):
            assert "isolation" not in r.evidence, (r.id, r.summary)
            assert "died" not in r.summary and "time limit" not in r.summary, (r.id, r.summary)
    report = "\n".join(f"{r.id}: {r.verdict.value}: {r.summary[:100]}" for r in results)
    print(report)
    assert elapsed < 60, (elapsed, report)


def test_costliest_claims_are_dispatched_first_and_results_keep_file_order():
    """The dispatch order is by a text estimate of cost (statistics, optimisers,
    recurrences, cost statements); the results still come back in file order."""
    from derive.runner import Job, expected_cost
    cheap = Job("a", "f", 1, "claim a\n  let x : real\n  show x + 0 == x\n")
    costly = Job("b", "f", 5, "claim b\n  let z : real ~ normal(0, 1)\n  show E[z^2] == 1\n"
                             "  show Var[z] == 1\n")
    assert expected_cost(costly) > expected_cost(cheap)


def test_results_come_back_in_file_order_whatever_the_dispatch(tmp_path):
    from derive.runner import RunConfig, run
    path = tmp_path / "order.claims"
    path.write_text("claim one\n  let x : real\n  show x + 0 == x\n\n"
                    "claim two\n  let y : real\n  show y * 1 == y\n\n"
                    "claim three\n  let z : real ~ normal(0, 1)\n  show E[z] == 0\n")
    results = run([str(path)], RunConfig(jobs=2, cache_dir=None))
    assert [r.id for r in results] == ["one", "two", "three"]
