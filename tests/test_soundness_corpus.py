"""The adversarial soundness corpus, tests/soundness/*.claims: every claim states its truth
(``expect refuted`` for a false claim, anything else for a true one) and why, in a comment.

The gate: no false claim is proved or verified, no true claim is refuted.  Claims that
derive still gets wrong are listed, with the reason, in tests/soundness/known-unsound.txt;
the list may only shrink: a listed claim that is now decided soundly fails the test until
it is taken off.  `python benchmarks/soundness.py` prints the figures.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from derive.audit import soundness_class, unsound
from derive.engine import Options
from derive.runner import RunConfig, run

ROOT = Path(__file__).resolve().parents[1]
SOUNDNESS = ROOT / "tests" / "soundness"
KNOWN = SOUNDNESS / "known-unsound.txt"


def known_unsound() -> dict[str, str]:
    """``id  class  # why`` lines of the ledger of claims derive still decides wrongly."""
    out = {}
    if KNOWN.exists():
        for ln in KNOWN.read_text(encoding="utf-8").splitlines():
            ln = ln.split("#", 1)[0].strip()
            if ln:
                out[ln.split()[0]] = ln
    return out


FILES = sorted(SOUNDNESS.glob("*.claims"))


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_no_false_pass_and_no_false_refutation(path):
    results = run([str(path)], RunConfig(options=Options(seed=0), jobs=1, time_limit=60))
    assert results, f"{path} holds no claims"
    known = known_unsound()
    bad = {r.id: f"{cls}: {r.summary[:200]}" for r, cls in unsound(results)}
    new = {k: v for k, v in bad.items() if k not in known}
    assert not new, "unsound verdicts:\n" + "\n".join(f"{k}: {v}" for k, v in new.items())
    ids = {r.id for r in results}
    healed = [k for k in known if k in ids and k not in bad]
    assert not healed, f"now decided soundly, take off {KNOWN.name}: {healed}"
    # a claim that says `expect proved` is a proof derive has and must keep
    weak = {r.id: f"{r.verdict.value}: {r.summary[:200]}" for r in results
            if r.expected == "proved" and r.verdict.value != "proved"}
    assert not weak, "expected proofs lost:\n" + "\n".join(f"{k}: {v}" for k, v in weak.items())


def test_textbook_identities_come_in_pairs_of_a_proof_and_a_refuted_wrong_variant():
    """Issue 17: at least 40 textbook identities, each expected proved, each with a wrong
    variant (id ``….wrong``) expected refuted; the test above holds derive to both."""
    from derive.runner import plan

    _, errors, claims = plan([str(p) for p in FILES if p.stem.startswith("textbook_")])
    assert not errors
    expect = {c.id: c.expect for c in claims}
    pairs = [i for i, e in expect.items() if e == "proved" and expect.get(i + ".wrong") == "refuted"]
    assert len(pairs) >= 40, pairs


def test_every_soundness_claim_states_its_truth_in_a_comment():
    from derive.runner import plan

    if not FILES:
        pytest.skip("no soundness corpus yet")
    jobs, errors, claims = plan([str(SOUNDNESS)])
    assert not errors, [f"{e.file}:{e.line}: {e.summary}" for e in errors]
    silent = [c.id for c in claims if "#" not in c.text]
    assert not silent, f"claims without a comment stating their truth: {silent}"


def test_soundness_classes():
    from derive.outcome import Result, Verdict

    def r(v, expect):
        return Result("x", "f", 1, None, None, v, expect, False, None, 0.0, "")
    assert soundness_class(r(Verdict.PROVED, "refuted")) == "false proved"
    assert soundness_class(r(Verdict.VERIFIED, "refuted")) == "false verified"
    assert soundness_class(r(Verdict.REFUTED, "holds")) == "false refuted"
    assert soundness_class(r(Verdict.INCONCLUSIVE, "holds")) == "undecided"
    assert soundness_class(r(Verdict.REFUTED, "refuted")) == "correct"
