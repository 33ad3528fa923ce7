"""Internal errors are never a pass: a fault injected into each engine's strategy is recorded
in the statement's evidence (non-strict) or makes the claim an ``error`` (strict)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from derive.cli import main
from derive.engine import Options
from derive.outcome import Verdict
from derive.runner import RunConfig, run

IDENTITY = """claim fault.identity
  let a, b : real
  show (a + b)^2 == a^2 + 2*a*b + b^2
"""
GROWTH = """claim fault.growth
  let n in [64, 128, 256]
  let A : matrix[n, n]
  let x : vector[n]
  show flops[A @ x] ~ n^2
"""


def _boom(*args, **kwargs):
    raise AttributeError("'Expr' object has no attribute 'renamed_attr'")


def _inject(monkeypatch, engine: str) -> str:
    """Make one strategy of ``engine`` raise; return the claim text that reaches it."""
    if engine == "symbolic":
        from derive.symbolic.strategies.scalar_identity import ScalarIdentity
        monkeypatch.setattr(ScalarIdentity, "attempt", _boom)
        return IDENTITY
    if engine == "numeric":
        from derive.numeric.identity import IdentityStrategy
        monkeypatch.setattr(IdentityStrategy, "attempt", _boom)
        return IDENTITY
    from derive.timing.strategies import Growth
    monkeypatch.setattr(Growth, "attempt", _boom)
    return GROWTH


def _decide(tmp_path, text: str, strict: bool):
    path = tmp_path / "c.claims"
    path.write_text(text, encoding="utf-8")
    config = RunConfig(options=Options(strict=strict), isolate=False)
    (result,) = run([str(path)], config)
    return result


@pytest.mark.parametrize("engine", ["symbolic", "numeric", "timing"])
def test_strict_mode_turns_an_injected_fault_into_an_error(tmp_path, monkeypatch, engine):
    text = _inject(monkeypatch, engine)
    result = _decide(tmp_path, text, strict=True)
    assert result.verdict == Verdict.ERROR
    assert not result.as_expected
    assert "internal error" in result.summary and "AttributeError" in result.summary
    assert "renamed_attr" in result.summary
    (st,) = result.evidence["statements"]
    (fault,) = st["evidence"]["internal_errors"]
    assert fault["engine"] == engine and fault["exception"] == "AttributeError"
    assert fault["where"].endswith(f"test_gate_faults.py:{_boom.__code__.co_firstlineno + 1}")


@pytest.mark.parametrize("engine", ["symbolic", "numeric", "timing"])
def test_lenient_mode_records_the_fault_and_goes_on(tmp_path, monkeypatch, engine):
    monkeypatch.delenv("DERIVE_STRICT", raising=False)
    text = _inject(monkeypatch, engine)
    result = _decide(tmp_path, text, strict=False)
    faults = [f for st in result.evidence["statements"]
              for f in st["evidence"].get("internal_errors", [])]
    assert faults and faults[0]["engine"] == engine
    assert faults[0]["exception"] == "AttributeError" and "renamed_attr" in faults[0]["message"]
    assert ":" in faults[0]["where"]
    if engine == "symbolic":  # the next strategies and the numeric engine still ran
        assert result.verdict == Verdict.VERIFIED
        assert result.evidence["statements"][0]["strategy"] != "scalar-identity"


def test_strict_env_var_is_enough(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVE_STRICT", "1")
    text = _inject(monkeypatch, "symbolic")
    assert _decide(tmp_path, text, strict=False).verdict == Verdict.ERROR


def test_check_strict_exits_1_and_explain_shows_the_fault(tmp_path, monkeypatch):
    monkeypatch.delenv("DERIVE_STRICT", raising=False)
    _inject(monkeypatch, "symbolic")
    path = tmp_path / "c.claims"
    path.write_text(IDENTITY, encoding="utf-8")
    runner = CliRunner()
    lenient = runner.invoke(main, ["check", str(path), "--no-isolation", "--no-cache"])
    assert lenient.exit_code == 0, lenient.output
    assert "internal errors on 1 claims (fault.identity)" in lenient.output  # stderr is mixed in
    strict = runner.invoke(main, ["check", str(path), "--no-isolation", "--no-cache", "--strict",
                                  "--format", "json"])
    assert strict.exit_code == 1
    doc = json.loads(strict.output)
    assert doc["claims"][0]["verdict"] == "error"
    shown = runner.invoke(main, ["explain", "fault.identity", str(path), "--no-isolation",
                                 "--no-cache"])
    assert "FAULT" in shown.output and "AttributeError" in shown.output
    assert "scalar-identity" in shown.output


def test_a_declining_strategy_says_why(tmp_path, monkeypatch):
    monkeypatch.delenv("DERIVE_STRICT", raising=False)
    result = _decide(tmp_path, IDENTITY, strict=False)
    (st,) = result.evidence["statements"]
    declined = st["evidence"]["declined"]
    assert declined and all(d["reason"] for d in declined)
    assert {d["strategy"] for d in declined} >= {"moments"}
