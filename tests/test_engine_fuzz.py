"""A fixed-seed slice of the engine fuzzer (benchmarks/engine_fuzz.py runs thousands).

Each claim's truth is known by construction (and false ones are confirmed by evaluating
both sides); the symbolic and numeric engines, each alone, must never contradict it and
never crash.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import engine_fuzzing as EF  # noqa: E402


def test_generator_truth_is_confirmed_by_evaluation():
    r = random.Random(5)
    for fc in EF.claims(3, 60):
        assert ("expect refuted" in fc.text) == (not fc.truth)
    e = EF.gen(r, 3)
    rhs, _ = EF.rewrite(r, e)
    assert EF.differ(e, rhs, r) in (False, None)  # a rewriting never changes the value


def test_fixed_seed_slice_has_no_disagreement_and_no_failure():
    findings = []
    for fc in EF.claims(0, 24):
        findings.extend(EF.judge(fc, EF.decide_alone(fc, time_limit=2.0)))
    assert not findings, "\n".join(f"{f.engine} {f.verdict}: {f.summary}\n{f.claim.text}"
                                   for f in findings)


def test_judge_counts_a_false_pass_and_a_crash():
    fc = EF.FuzzClaim("x", "claim x\n", False, "t")
    kinds = [f.kind for f in EF.judge(fc, [("numeric", "verified", ""), ("symbolic", "crash", "")])]
    assert kinds == ["disagreement", "failure"]
