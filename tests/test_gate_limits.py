"""Limits hold without isolation: the claim's time limit is a SIGALRM timer that composes
with the engines' nearer limits; the memory limit an RLIMIT_AS restored afterwards."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from derive.limits import ClaimTimeLimit, TimeLimit, claim_limit, time_limit
from derive.engine import Options
from derive.outcome import Verdict
from derive.runner import RunConfig, memory_limit_in_process, run

HANG = Path(__file__).parent / "bombs" / "hang.claims"
ROOT = Path(__file__).resolve().parent.parent


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_a_hanging_claim_stops_at_the_time_limit_without_isolation():
    start = time.monotonic()
    (result,) = run([str(HANG)], RunConfig(options=Options(), isolate=False, time_limit=5))
    elapsed = time.monotonic() - start
    assert elapsed < 7, elapsed
    assert result.verdict == Verdict.INCONCLUSIVE and "time limit" in result.summary
    assert "isolation" in result.evidence  # never cached
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # nothing left armed


def test_the_cli_without_isolation_honours_time_limit():
    cmd = [sys.executable, "-m", "derive.cli", "check", str(HANG), "--no-isolation",
           "--time-limit", "5", "--no-cache", "--format", "json"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    elapsed = time.monotonic() - start
    assert proc.returncode == 1 and '"inconclusive"' in proc.stdout
    (claim,) = __import__("json").loads(proc.stdout)["claims"]
    assert 4.9 <= claim["seconds"] < 7, claim["seconds"]  # the claim itself: stopped at 5 s
    assert elapsed < 7 + 15, elapsed  # plus the interpreter's and torch's start on a busy host


def test_an_inner_limit_fires_first_and_the_outer_one_survives_it():
    start = time.monotonic()
    with pytest.raises(ClaimTimeLimit):
        with claim_limit(1.5):
            with pytest.raises(TimeLimit):
                with time_limit(0.3):
                    _spin(5)
            assert time.monotonic() - start < 1.0
            assert signal.getitimer(signal.ITIMER_REAL)[0] > 0  # the claim's timer re-armed
            _spin(5)
    assert 1.3 < time.monotonic() - start < 2.5
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_outer_limit_that_is_nearer_wins_over_a_longer_inner_one():
    start = time.monotonic()
    with pytest.raises(ClaimTimeLimit):
        with claim_limit(0.5):
            with time_limit(10):
                _spin(5)
    assert time.monotonic() - start < 1.5


def test_the_claim_limit_is_not_swallowed_by_broad_handlers():
    start = time.monotonic()
    with pytest.raises(ClaimTimeLimit):
        with claim_limit(0.3):
            for _ in range(50):
                try:
                    _spin(0.1)
                except Exception:  # noqa: BLE001 - what a careless strategy does
                    pass
    assert time.monotonic() - start < 1.5


def test_memory_limit_holds_in_process_and_is_restored():
    resource = pytest.importorskip("resource")
    before = resource.getrlimit(resource.RLIMIT_AS)
    with memory_limit_in_process(1024):  # 1 GiB on top of what the test process holds
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        assert soft != resource.RLIM_INFINITY and soft >= 1024 ** 3
        if before[0] != resource.RLIM_INFINITY:
            assert soft <= before[0]
    assert resource.getrlimit(resource.RLIMIT_AS) == before


def test_memory_limit_stops_a_huge_allocation_in_process():
    pytest.importorskip("resource")
    code = ("from derive.runner import memory_limit_in_process\n"
            "import sys\n"
            "with memory_limit_in_process(2048):\n"
            "    try:\n"
            "        b = bytearray(8 * 1024 ** 3)\n"
            "    except MemoryError:\n"
            "        sys.exit(3)\n"
            "sys.exit(0)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 3


# ---------------------------------------------------------------- guards at the largest sizes
GUARDED = """claim g.cube_sum
  let n : dim
  show sum(i = 1..n^3, 1/i^2) <= 2

claim g.int_square
  let N : integer >= 1
  let x : real
  show sum(i = 1..N^2, x) == N^2 * x

claim g.int_ok
  let N : integer >= 1
  let x : real
  show sum(i = 1..N, x) == N * x

claim g.bounded
  let N : integer in [1, 100]
  let x : real
  show sum(i = 1..N^2, x) == N^2 * x

claim g.rec_far
  let a : real
  let T : integer >= 1
  let w[t+1] = a * w[t], w[0] = 1
  show w[T^2] == a^(T^2)

claim g.rec_ok
  let a : real
  let T : integer >= 1
  let w[t+1] = a * w[t], w[0] = 1
  show w[T] == a^T

claim g.prod_square
  let n : dim
  show prod(i = 1..n^2, 1 + 1/i^2) <= 4
"""


def _refusals(text: str) -> dict[str, list[str]]:
    from derive import guards
    from derive.language.load import load_text
    from derive.semantics import check_claim

    loaded = load_text(text, "g.claims")
    out = {}
    for claim in loaded.claims:
        checked, diags = check_claim(claim, text.split("\n"))
        assert checked is not None, diags
        out[claim.id] = [d.message for d in guards.check(checked)]
    return out


def test_guards_evaluate_work_at_the_largest_sizes_the_engines_use():
    got = _refusals(GUARDED)
    for refused in ("g.cube_sum", "g.int_square", "g.rec_far", "g.prod_square"):
        assert got[refused] and "largest sizes" in got[refused][0], (refused, got[refused])
    assert "6.87e10" in got["g.cube_sum"][0]
    for fine in ("g.int_ok", "g.bounded", "g.rec_ok"):
        assert got[fine] == [], (fine, got[fine])


def test_the_guard_refuses_before_any_engine_runs(monkeypatch, tmp_path):
    import derive.decide

    monkeypatch.setattr(derive.decide, "decide_statement",
                        lambda ctx: pytest.fail("an engine ran on a refused claim"))
    path = tmp_path / "g.claims"
    path.write_text(GUARDED.split("\n\n")[0] + "\n", encoding="utf-8")
    (result,) = run([str(path)], RunConfig(options=Options(), isolate=False))
    assert result.verdict == Verdict.ERROR and "refused before running" in result.summary


def test_the_guard_knows_the_engines_largest_sizes():
    from derive.guards import DEFAULT
    from derive.numeric.identity import LARGE_MENU
    from derive.numeric.instances import LARGE_INTEGER_OFFSETS

    assert DEFAULT.max_engine_dim >= max(LARGE_MENU)
    assert DEFAULT.max_engine_int_offset >= max(LARGE_INTEGER_OFFSETS)


NESTED = """claim n.formula
  let n : dim
  show sum(i = 1..n, sum(j = 1..n, 1/(i + j)^2)) <= 2

claim n.tensor
  let n : dim
  let A : matrix[n, n]
  show sum(i = 1..n, sum(j = 1..n, A[i, j])) == sum(A)

claim n.constant
  let x : real > 0
  show sum(i = 1..3000, sum(j = 1..4000, x / (i + j))) >= 0
"""


def test_nested_sums_multiply_at_the_sizes_the_engines_use():
    got = _refusals(NESTED)
    assert got["n.formula"] and "1.68e7" in got["n.formula"][0] and "nested" in got["n.formula"][0]
    assert got["n.tensor"] == []  # tensors: the engines stay at 32 and below
    assert got["n.constant"] and "1.2e7" in got["n.constant"][0]


def test_the_guard_and_the_numeric_engine_agree_on_formula_only_claims():
    from derive.guards import DEFAULT, Guard
    from derive.numeric.identity import MODERATE_MENU, formula_only
    from derive.numeric.instances import SIZE_MENU
    from derive.runner import collect_files
    from derive.language.load import load_path
    from derive.semantics import check_claim

    assert DEFAULT.max_engine_tensor_dim >= max(MODERATE_MENU + SIZE_MENU)
    seen = 0
    for path in collect_files([str(ROOT / "claims")]):
        for claim in load_path(path).claims:
            checked, _ = check_claim(claim)
            if checked is not None:
                seen += 1
                assert Guard(checked).formula_only() == formula_only(checked), claim.id
    assert seen > 100
