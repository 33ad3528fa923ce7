"""The result cache: keys from the claim's model, engines and options; JSON on disk; only
changed claims are decided again (counted, not timed)."""
from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

import derive_fakes
from derive.cache import CACHE_FORMAT, ResultCache, cacheable, claim_hash, engine_versions
from derive.cli import main
from derive.engine import Options
from derive.language.load import load_text
from derive.outcome import Verdict
from derive.runner import RunConfig, run

CORPUS = """claim c.one "first"
  let x : real
  show x + x == 2*x

claim c.two
  let x : real
  show x*x >= 0      # a comment

claim c.wrong
  let x, y : real
  show x*y == x + y
  expect refuted
"""


def _claims(text: str):
    loaded = load_text(text, "t.claims")
    assert not loaded.broken
    return {c.id: c for c in loaded.claims}


def test_claim_hash_ignores_positions_comments_and_layout():
    a = _claims(CORPUS)
    moved = _claims("\n\n# a new preamble\n" + CORPUS.replace("x*x >= 0      # a comment",
                                                              "x * x>=0"))
    for cid in a:
        assert claim_hash(a[cid]) == claim_hash(moved[cid])
    changed = _claims(CORPUS.replace("x*x >= 0", "x*x > 0"))
    assert claim_hash(changed["c.two"]) != claim_hash(a["c.two"])
    assert claim_hash(changed["c.one"]) == claim_hash(a["c.one"])
    retitled = _claims(CORPUS.replace('"first"', '"other"'))
    assert claim_hash(retitled["c.one"]) != claim_hash(a["c.one"])


def test_key_depends_on_seed_options_and_engines(tmp_path):
    claim = _claims(CORPUS)["c.one"]
    k0 = ResultCache(tmp_path, Options(seed=0)).key(claim)
    assert k0 == ResultCache(tmp_path, Options(seed=0)).key(claim)
    assert k0 != ResultCache(tmp_path, Options(seed=1)).key(claim)
    assert k0 != ResultCache(tmp_path, Options(mc_budget=10)).key(claim)
    versions = engine_versions()
    assert versions["derive"] and versions["core"]
    assert set(versions) >= {"symbolic", "numeric", "timing", "sympy", "torch"}


def _write(tmp_path, text):
    path = tmp_path / "corpus.claims"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _run(path, cache_dir, seed=0):
    config = RunConfig(options=Options(seed=seed), isolate=False, cache_dir=str(cache_dir))
    return run([path], config), config.stats


def test_unchanged_corpus_is_not_decided_again(monkeypatch, tmp_path):
    calls = derive_fakes.install(monkeypatch)
    path = _write(tmp_path, CORPUS)
    cache_dir = tmp_path / "cache"
    first, stats = _run(path, cache_dir)
    assert (stats.decided, stats.cached) == (3, 0) and len(calls) == 3
    second, stats = _run(path, cache_dir)
    assert (stats.decided, stats.cached) == (0, 3) and len(calls) == 3
    assert [r.as_dict() for r in second] == [r.as_dict() for r in first]
    # a different seed is a different key
    _, stats = _run(path, cache_dir, seed=7)
    assert stats.decided == 3


def test_changing_one_claim_redecides_only_that_claim(monkeypatch, tmp_path):
    calls = derive_fakes.install(monkeypatch)
    cache_dir = tmp_path / "cache"
    path = _write(tmp_path, CORPUS)
    _run(path, cache_dir)
    calls.clear()
    # edit c.two's statement and insert a claim above everything: lines shift
    edited = "claim c.zero\n  let y : real\n  show y == y\n\n" + CORPUS.replace("x*x >= 0", "x*x + 1 > 0")
    _write(tmp_path, edited)
    results, stats = _run(path, cache_dir)
    assert sorted(calls) == ["c.two", "c.zero"]
    assert (stats.decided, stats.cached) == (2, 2)
    by_id = {r.id: r for r in results}
    # cached results were moved to their claims' new lines, statement lines too
    assert by_id["c.one"].line == 5 and by_id["c.wrong"].line == 13
    assert by_id["c.wrong"].evidence["statements"][0]["line"] == 15
    assert by_id["c.wrong"].verdict == Verdict.REFUTED and by_id["c.wrong"].as_expected


def test_cache_holds_json_only_and_survives_damage(monkeypatch, tmp_path):
    derive_fakes.install(monkeypatch)
    path = _write(tmp_path, CORPUS)
    cache_dir = tmp_path / "cache"
    _run(path, cache_dir)
    corpus = sorted((cache_dir / f"v{CACHE_FORMAT}" / "corpus").glob("*.json"))
    files = sorted(f for f in cache_dir.rglob("*.json") if f not in corpus)
    assert len(files) == 3 and len(corpus) == 1
    for f in files:
        outer = json.loads(f.read_text(encoding="utf-8"))
        assert set(outer) == {"payload", "tag"}
        entry = json.loads(outer["payload"])
        assert set(entry) == {"key", "claim", "result"} and f.stem == entry["key"]
    whole = json.loads(json.loads(corpus[0].read_text(encoding="utf-8"))["payload"])
    assert [r["id"] for r in whole["results"]] == ["c.one", "c.two", "c.wrong"]
    assert not [p for p in cache_dir.rglob("*") if p.is_file() and p.suffix != ".json"]
    files[0].write_text("{not json", encoding="utf-8")
    files[1].write_bytes(b"\x80\x81")
    corpus[0].write_text("[]", encoding="utf-8")
    _, stats = _run(path, cache_dir)
    assert (stats.decided, stats.cached) == (2, 1)


def test_unchanged_corpus_is_not_even_parsed(monkeypatch, tmp_path):
    import derive.runner

    derive_fakes.install(monkeypatch)
    path = _write(tmp_path, CORPUS)
    first, _ = _run(path, tmp_path / "cache")

    def no_plan(*a, **k):
        raise AssertionError("parsed an unchanged corpus")

    monkeypatch.setattr(derive.runner, "plan", no_plan)
    second, stats = _run(path, tmp_path / "cache")
    assert [r.as_dict() for r in second] == [r.as_dict() for r in first]
    assert (stats.decided, stats.cached) == (0, 3)
    # a different -k selection is a different run
    config = RunConfig(isolate=False, cache_dir=str(tmp_path / "cache"), select="c.one")
    with pytest.raises(AssertionError, match="parsed"):
        run([path], config)
    # so is a run after any engine changed
    from derive import cache as cache_module

    versions = dict(engine_versions())
    versions["timing"] = "edited"
    monkeypatch.setattr(cache_module, "engine_versions", lambda: versions)
    with pytest.raises(AssertionError, match="parsed"):
        _run(path, tmp_path / "cache")


def test_killed_workers_are_not_cached_but_engine_errors_are():
    r = derive_fakes.result("x", Verdict.INCONCLUSIVE, summary="time limit",
                            evidence={"isolation": "time limit: the claim ran past 1 s"})
    assert not cacheable(r)
    r = derive_fakes.result("x", Verdict.ERROR, summary="the worker died (exit code -9)",
                            evidence={"isolation": "the worker died"})
    assert not cacheable(r)
    # an engine bug is deterministic given the engine's code, which is part of the key
    assert cacheable(derive_fakes.result("x", Verdict.ERROR, summary="internal error: KeyError",
                                         evidence={"traceback": "..."}))
    assert cacheable(derive_fakes.result("x", Verdict.REFUTED))


def test_cli_second_run_uses_cache_and_no_cache_bypasses(monkeypatch, tmp_path):
    calls = derive_fakes.install(monkeypatch)
    path = _write(tmp_path, CORPUS)
    cache = str(tmp_path / "cache")
    runner = CliRunner()
    args = ["check", path, "--no-isolation", "--cache-dir", cache, "--no-repair"]  # repairs decide more
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert len(calls) == 3
    start = time.perf_counter()
    second = runner.invoke(main, args)
    elapsed = time.perf_counter() - start
    assert second.exit_code == 0
    assert len(calls) == 3  # nothing decided again
    assert "cache: 3 from" in second.stderr and "0 decided" in second.stderr
    assert second.stdout == first.stdout
    assert elapsed < 2.0
    third = runner.invoke(main, args + ["--no-cache"])
    assert third.exit_code == 0 and len(calls) == 6


@pytest.mark.slow
def test_cached_rerun_of_the_sketch_is_fast(tmp_path):
    """The real CLI (a process, isolated workers, real engines) re-checks an unchanged
    corpus from the cache without starting a worker."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).parent / "data" / "sketch.claims"
    shutil.copy(src, tmp_path / "sketch.claims")
    cmd = [sys.executable, "-m", "derive.cli", "check", "sketch.claims", "-k", "gd.scalar",
           "--format", "json", "--time-limit", "60"]
    before = engine_versions.__wrapped__()
    first = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    doc = json.loads(first.stdout)
    cacheable_count = sum(1 for c in doc["claims"] if "isolation" not in c["evidence"])
    start = time.perf_counter()
    second = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    assert json.loads(second.stdout)["summary"] == doc["summary"]
    if engine_versions.__wrapped__() != before:
        pytest.skip("the engines' source changed during the test")
    if cacheable_count == len(doc["claims"]):
        assert f"cache: {cacheable_count} from" in second.stderr and " 0 decided" in second.stderr
        assert elapsed < 2.0, elapsed


def test_an_interrupted_run_keeps_what_it_decided(monkeypatch, tmp_path):
    import derive.decide

    calls = derive_fakes.install(monkeypatch)

    def decide_then_stop(checked, options):
        if len(calls) == 2:
            raise KeyboardInterrupt
        return derive_fakes.fake_decide_claim(checked, options)

    monkeypatch.setattr(derive.decide, "decide_claim", decide_then_stop)
    path = _write(tmp_path, CORPUS)
    with pytest.raises(KeyboardInterrupt):
        _run(path, tmp_path / "cache")
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 2
    monkeypatch.setattr(derive.decide, "decide_claim", derive_fakes.fake_decide_claim)
    _, stats = _run(path, tmp_path / "cache")
    assert (stats.decided, stats.cached) == (1, 2)


def test_key_covers_only_the_engines_a_claim_is_routed_to(tmp_path, monkeypatch):
    from derive import cache as cache_module

    claims = _claims(CORPUS + "\nclaim c.cost\n  let n in [8, 16]\n  let A : matrix[n, n]\n"
                              "  show flops[A @ A] ~ n^3\n")
    assert cache_module.engines_for(claims["c.one"]) == {"symbolic", "numeric"}
    assert cache_module.engines_for(claims["c.cost"]) == {"timing"}
    before = ResultCache(tmp_path)
    versions = dict(engine_versions())
    versions["timing"] = "edited"
    monkeypatch.setattr(cache_module, "engine_versions", lambda: versions)
    after = ResultCache(tmp_path)
    assert after.key(claims["c.one"]) == before.key(claims["c.one"])
    assert after.key(claims["c.cost"]) != before.key(claims["c.cost"])
    versions["core"] = "edited"
    assert ResultCache(tmp_path).key(claims["c.one"]) != before.key(claims["c.one"])
