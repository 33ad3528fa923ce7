"""A small fixed-seed slice of the front-end fuzzer (benchmarks/fuzz.py runs 100 000 inputs).

No exception may escape load + semantic pass + size guards, and no input may take more than
2 s.  Hypothesis drives the grammar-aware generator and the corpus byte mutations with a
fixed seed (derandomize) so CI sees the same inputs every run; a plain seeded loop adds
volume cheaply.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).parent))

import fuzzing as F  # noqa: E402

FIXED = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                 suppress_health_check=list(HealthCheck), print_blob=True)


def run_one(data: bytes) -> None:
    start = time.process_time()  # CPU seconds: a busy CI machine must not fake a hang
    with F.deadline(30.0):
        F.front_end(data)
    took = time.process_time() - start
    assert took < 2.0, f"front end took {took:.2f} s of CPU on {data[:200]!r}"


@FIXED
@given(F.claims())
def test_generated_claims_never_crash_the_front_end(text):
    run_one(text.encode("utf-8"))


@FIXED
@given(F.mutants())
def test_mutated_corpus_never_crashes_the_front_end(data):
    run_one(data)


def test_seeded_slice():
    r = random.Random(20241122)
    pool = F.seed_corpus()
    crashes = {}
    for i in range(600):
        data = F.ClaimGen(r).document().encode() if i % 2 else F.mutate_bytes(r, r.choice(pool), pool)
        sig = F.crash_of(data)
        if sig:
            crashes.setdefault(sig, data)
    assert not crashes, "\n".join(f"{s}: {d[:300]!r}" for s, d in crashes.items())


def test_generator_covers_the_grammar():
    """The generator reaches the constructs it claims to, and much of it parses."""
    from derive.language.load import load_text

    r = random.Random(1)
    texts = [F.ClaimGen(r, break_rate=0.0).document() for _ in range(300)]
    joined = "\n".join(texts)
    for construct in ("let", "show", "assume", "expect", "source", "tags", " ~ ", " in [", "..",
                      "for i in", "[", ";", "@", "⊙", "·", "ᵀ", "^", "E[", "time[", " at (",
                      "=>", "<=>", "within", "->", "w[t+1]", "sum(i =", "softmax(", "I[",
                      "|", "‖", "√", "⊗", " if ", " else ", "E[", "gelu("):
        assert construct in joined, construct
    parsed = sum(1 for t in texts if not load_text(t).broken)
    assert parsed > 100, parsed


def test_mutations_change_inputs_and_stay_bytes():
    r = random.Random(3)
    pool = F.seed_corpus()
    assert pool, "no corpus to mutate"
    out = [F.mutate_bytes(r, pool[0], pool) for _ in range(50)]
    assert all(isinstance(o, bytes) for o in out)
    assert sum(o != pool[0] for o in out) >= 45


def test_crash_signature_and_minimizer():
    def boom(data: bytes) -> bool:
        return b"X" in data

    small = F.minimize(b"line one\nline X two\nline three\n", boom, budget_s=5)
    assert small == b"X"
    try:
        {}["missing"]
    except KeyError as exc:
        assert F.signature(exc).startswith("KeyError at")


def test_hang_detection():
    with pytest.raises(F.Hang):
        with F.deadline(0.2):
            while True:
                sum(range(100))
