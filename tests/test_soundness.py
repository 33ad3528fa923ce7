"""Soundness of the combiner: no symbolic ``proved`` without a passing numeric cross-check, and
a disagreement between the engines is an ``error`` naming both engines' evidence.

The engines are replaced by small fakes (monkeypatching ``derive.decide.engines``) so each
combination of verdicts is exercised exactly; the last test checks the real engines on the
sketch corpus.
"""
from __future__ import annotations

from typing import Optional

import pytest

from derive import decide
from derive.engine import Engine, Options
from derive.language.load import load_text
from derive.outcome import Outcome, Verdict
from derive.semantics import check_claim

CLAIM = """claim sound.c
  let x, y : real
  show x + y == y + x
  show x * y == y * x
"""


class Fixed:
    """A strategy that answers with a fixed verdict (or None), and counts its calls."""

    def __init__(self, name: str, verdict: Optional[Verdict], summary: str = "", evidence=None,
                 only: Optional[int] = None):
        self.name = name
        self.verdict = verdict
        self.summary = summary or f"{name} says {verdict.value if verdict else 'nothing'}"
        self.evidence = evidence or {}
        self.calls = 0
        self.only = only  # answer only for this statement index (others: pass)

    def attempt(self, ctx) -> Optional[Outcome]:
        self.calls += 1
        if self.verdict is None or (self.only is not None and ctx.index != self.only):
            return None
        return Outcome(self.verdict, None, None, self.summary, dict(self.evidence))


def checked_claim(text: str = CLAIM):
    loaded = load_text(text)
    (claim,) = loaded.claims
    checked, diags = check_claim(claim, text.split("\n"))
    assert checked is not None, diags
    return checked


def install(monkeypatch, symbolic=None, numeric=None, timing=None):
    found = {}
    for name, strategy in (("symbolic", symbolic), ("numeric", numeric), ("timing", timing)):
        if strategy is not None:
            found[name] = Engine(name, [strategy])
    monkeypatch.setattr(decide, "engines", lambda: found)
    return found


def decide_one(text: str = CLAIM):
    return decide.decide_claim(checked_claim(text), Options(seed=7))


def test_disagreement_proved_vs_counterexample_is_an_error(monkeypatch):
    install(monkeypatch,
            symbolic=Fixed("simplify", Verdict.PROVED, "difference simplifies to 0",
                           {"residual": "0"}),
            numeric=Fixed("instances", Verdict.REFUTED, "counterexample x=1, y=2",
                          {"counterexample": {"x": 1, "y": 2}}))
    verdict, engine, summary, evidence = decide_one()
    assert verdict == Verdict.ERROR
    assert engine == "symbolic+numeric"
    assert "engines disagree" in summary and "proved" in summary and "refuted" in summary
    assert "difference simplifies to 0" in summary and "counterexample x=1, y=2" in summary
    st = evidence["statements"][0]
    assert st["verdict"] == "error"
    assert st["evidence"]["symbolic"]["evidence"]["residual"] == "0"
    assert st["evidence"]["numeric"]["evidence"]["counterexample"] == {"x": 1, "y": 2}


def test_disagreement_refuted_vs_verified_is_an_error(monkeypatch):
    install(monkeypatch, symbolic=Fixed("s", Verdict.REFUTED, "x=0 violates it"),
            numeric=Fixed("n", Verdict.VERIFIED, "all 200 instances agree"))
    verdict, _, summary, evidence = decide_one()
    assert verdict == Verdict.ERROR
    assert "x=0 violates it" in summary and "all 200 instances agree" in summary
    assert {"symbolic", "numeric"} <= set(evidence["statements"][0]["evidence"])


class FixedAt(Fixed):
    """A symbolic refutation carrying its exact counterexample (as derive.symbolic does)."""

    def __init__(self, point):
        super().__init__("s", Verdict.REFUTED, "false at the point", {"counterexample": {
            k: str(v) for k, v in point.items()}})
        self.point = point

    def attempt(self, ctx):
        out = super().attempt(ctx)
        if self.point:
            out.exact_point = dict(self.point)
        return out


def test_disagreement_is_settled_at_the_symbolic_counterexample(monkeypatch):
    """Random instances miss k = 9; evaluated there (float64 and 60 digits) the statement
    fails, so the symbolic refutation stands.  A counterexample the statement does not
    fail at (k = 8), or none, leaves the disagreement an error."""
    import sympy as sp
    text = "claim k9\n  let k : integer\n  show k^2 != 2*k + 63\n"
    for point, want in (({"k": sp.Integer(9)}, Verdict.REFUTED), ({"k": sp.Integer(8)}, Verdict.ERROR),
                        ({}, Verdict.ERROR)):
        install(monkeypatch, symbolic=FixedAt(point), numeric=Fixed("n", Verdict.VERIFIED, "all agree"))
        verdict, _, summary, _ = decide_one(text)
        assert verdict == want, (point, summary)
    periodic = "claim c\n  let x : real\n  show cos(x) == 0  =>  x == pi/2\n"
    install(monkeypatch, symbolic=FixedAt({"x": -sp.pi / 2}), numeric=Fixed("n", Verdict.VERIFIED, "all agree"))
    assert decide_one(periodic)[0] == Verdict.REFUTED


def test_agreement_keeps_the_proof_and_records_the_cross_check(monkeypatch):
    install(monkeypatch, symbolic=Fixed("s", Verdict.PROVED, "simplifies to 0"),
            numeric=Fixed("n", Verdict.VERIFIED, "max error 1e-15"))
    verdict, engine, _, evidence = decide_one()
    assert verdict == Verdict.PROVED and engine == "symbolic"
    for st in evidence["statements"]:
        assert st["verdict"] == "proved"
        assert st["evidence"]["cross_check"]["verdict"] == "verified"
        assert st["evidence"]["cross_check"]["summary"] == "max error 1e-15"


def test_agreeing_refutation_stays_refuted(monkeypatch):
    install(monkeypatch, symbolic=Fixed("s", Verdict.REFUTED, "x=1"),
            numeric=Fixed("n", Verdict.REFUTED, "x=1.5"))
    verdict, engine, _, evidence = decide_one()
    assert verdict == Verdict.REFUTED and engine == "symbolic"
    assert evidence["statements"][0]["evidence"]["cross_check"]["verdict"] == "refuted"


def test_one_disagreeing_statement_makes_the_claim_an_error(monkeypatch):
    install(monkeypatch, symbolic=Fixed("s", Verdict.PROVED),
            numeric=Fixed("n", Verdict.REFUTED, "x=3", only=1))
    # statement 0: numeric passes (None) -> cross-check unavailable; statement 1: disagreement
    verdict, _, summary, evidence = decide_one()
    assert verdict == Verdict.ERROR
    assert [s["verdict"] for s in evidence["statements"]][1] == "error"


def test_every_symbolic_verdict_is_cross_checked(monkeypatch):
    numeric = Fixed("n", Verdict.VERIFIED)
    install(monkeypatch, symbolic=Fixed("s", Verdict.PROVED), numeric=numeric)
    decide_one()
    assert numeric.calls == 2  # once per statement, although the symbolic engine decided both


@pytest.mark.parametrize("numeric_verdict", [None, Verdict.UNSUPPORTED, Verdict.INCONCLUSIVE])
def test_no_proof_without_a_passing_cross_check(monkeypatch, numeric_verdict):
    """The issue's rule: a symbolic 'proved' needs a numeric cross-check that passed.  When the
    numeric engine cannot check the statement, the result may not be a bare 'proved'."""
    install(monkeypatch, symbolic=Fixed("s", Verdict.PROVED, "simplifies to 0"),
            numeric=Fixed("n", numeric_verdict))
    verdict, _, _, evidence = decide_one()
    assert verdict != Verdict.PROVED
    for st in evidence["statements"]:
        check = st["evidence"].get("cross_check") or \
            st["evidence"].get("symbolic", {}).get("evidence", {}).get("cross_check")
        assert check is not None, "the cross-check must be recorded"
        assert st["evidence"].get("symbolic") or st["verdict"] != "inconclusive", \
            "the symbolic proof is kept in the evidence"
        if st["verdict"] == "proved":
            assert check.get("verdict") in ("verified", "proved"), (
                f"'proved' without a passing numeric cross-check (numeric said {check})")


def test_numeric_alone_never_claims_a_proof_from_the_combiner(monkeypatch):
    install(monkeypatch, symbolic=Fixed("s", None), numeric=Fixed("n", Verdict.VERIFIED))
    verdict, engine, _, _ = decide_one()
    assert verdict == Verdict.VERIFIED and engine == "numeric"


def test_inconclusive_symbolic_falls_back_to_numeric(monkeypatch):
    install(monkeypatch, symbolic=Fixed("s", Verdict.INCONCLUSIVE, "SymPy gave up"),
            numeric=Fixed("n", Verdict.VERIFIED, "agree"))
    verdict, engine, _, _ = decide_one()
    assert verdict == Verdict.VERIFIED and engine == "numeric"


def test_symbolic_time_limit_is_inconclusive_not_proved(monkeypatch):
    class Slow:
        name = "slow"

        def attempt(self, ctx):
            while True:
                sum(range(1000))

    install(monkeypatch, symbolic=Slow(), numeric=Fixed("n", None))
    verdict, _, summary, _ = decide.decide_claim(checked_claim(), Options(symbolic_time_limit=0.2))
    assert verdict == Verdict.INCONCLUSIVE and "time limit" in summary


def test_real_engines_never_prove_without_cross_check():
    """On the sketch corpus with the installed engines: every 'proved' statement carries a
    numeric cross-check that agreed."""
    from pathlib import Path

    from derive.runner import RunConfig, run

    if "symbolic" not in _installed():
        pytest.skip("the symbolic engine is not installed")
    sketch = Path(__file__).parent / "data" / "sketch.claims"
    results = run([str(sketch)], RunConfig(options=Options(seed=1, symbolic_time_limit=5.0),
                                            time_limit=60.0, jobs=1))
    proved = 0
    for r in results:
        for st in r.evidence.get("statements", []):
            if st.get("verdict") == "proved" and st.get("engine") == "symbolic":
                proved += 1
                links = st["evidence"].get("links")   # a chain: each link's proof was checked
                for check in ([l.get("cross_check", {}) for l in links] if links else
                              [st["evidence"].get("cross_check", {})]):
                    # passed, or found no counterexample with only sub-1e-9 doubts it could
                    # not settle (decide.ROUNDING_DOUBT: noted in the cross-check's evidence)
                    settled = check.get("verdict") in ("verified", "proved")
                    doubts = (check.get("verdict") == "inconclusive" and "note" in check
                              and check.get("evidence", {}).get("largest_relative_error", 1) <= 1e-9)
                    assert settled or doubts, (r.id, st["statement"], check)


def _installed() -> set:
    try:
        return set(decide.engines())
    except Exception:  # an engine package mid-construction
        return set()


FALSE_EQUIVALENCES = [
    "claim vacuous.iff\n  let a, b : real\n  show a == 2*b  <=>  a == 3*b\n",
    "claim vacuous.implies\n  let a, b : real\n  show a == 2*b  =>  a == 3*b\n",
]


@pytest.mark.parametrize("text", FALSE_EQUIVALENCES)
def test_numeric_engine_does_not_verify_false_equivalences_vacuously(monkeypatch, text):
    """Found by derive mutate: at random points both equations are false, so 'false <=> false'
    must not count as evidence that the equivalence holds."""
    real = _installed_engines()
    if "numeric" not in real:
        pytest.skip("the numeric engine is not installed")
    monkeypatch.setattr(decide, "engines", lambda: {"numeric": real["numeric"]})
    verdict, _, summary, _ = decide_one(text)
    assert verdict != Verdict.VERIFIED, summary


def _installed_engines() -> dict:
    try:
        return dict(decide.engines())
    except Exception:  # noqa: BLE001 - an engine package mid-construction
        return {}
