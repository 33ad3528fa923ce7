"""``show exists: P``: parsed, checked, printed, and decided by duality (derive/existential.py):
a counterexample of ``not P`` is a witness, a proof of ``not P`` refutes, and a search that
finds no witness is never a refutation."""
from __future__ import annotations

import pytest

from derive import model as m
from derive.decide import decide_claim
from derive.engine import Options
from derive.existential import negation
from derive.exprtext import statement_text
from derive.outcome import Verdict
from test_language import first_error, load_ok


def verdict(text: str) -> tuple[Verdict, str]:
    (checked,) = load_ok(text)
    v, _, summary, _ = decide_claim(checked, Options(seed=0))
    return v, summary


def test_both_spellings_parse_to_one_model():
    a = load_ok("claim a\n  let x : real\n  show exists: x > 1\n")[0].claim.shows[0]
    b = load_ok("claim a\n  let x : real\n  show ∃: x > 1\n")[0].claim.shows[0]
    assert a.exists and b.exists and a == b
    plain = load_ok("claim a\n  let x : real\n  show x > 1\n")[0].claim.shows[0]
    assert not plain.exists and plain != a


def test_exists_prints_and_round_trips():
    show = load_ok("claim a\n  let x : real\n  show  ∃ :x>1\n")[0].claim.shows[0]
    assert statement_text(show) == "show exists: x > 1"


def test_negation_flips_equalities_and_wraps_orderings():
    x, one = m.Name("x", "x"), m.Num(1, "1")
    assert negation(m.Compare(("==",), (x, one))).ops == ("!=",)
    assert negation(m.Compare(("!=",), (x, one))).ops == ("==",)
    wrapped = negation(m.Compare(("<",), (x, one)))  # tensors: not all(a < b) ≠ all(a >= b)
    assert isinstance(wrapped, m.Logic) and wrapped.op == "not"
    assert negation(wrapped) == m.Compare(("<",), (x, one))


@pytest.mark.parametrize("text, want", [
    ("show exists: x ~ n", "growth"),
    ("show exists: x ≈ 1", "value statement"),
    ("show exists: x > 1 within 0.1", "within"),
])
def test_exists_without_an_existential_reading_is_an_error(text, want):
    d = first_error(f"claim a\n  let n : dim\n  let x : real\n  {text}\n")
    assert want in d.message + (d.hint or "")


def test_a_witness_proves_and_no_witness_refutes():
    v, summary = verdict("claim w\n  let x : real\n  show exists: x^2 > x + 1\n")
    assert v == Verdict.PROVED and "witness" in summary
    v, summary = verdict("claim n\n  let x : real\n  show exists: x^2 < 0\n")
    assert v == Verdict.REFUTED and "negation is proved" in summary


def test_a_numeric_witness_verifies():
    v, summary = verdict("claim s\n  let n : dim\n  let A, B : matrix[n, n] spd\n"
                         "  show exists: inv(A + B) != inv(A) + inv(B)\n")
    assert v in (Verdict.VERIFIED, Verdict.PROVED) and "witness" in summary


def test_no_witness_found_is_inconclusive_never_refuted():
    # TRUE statement whose negation no engine can prove and no search refutes: an SPD
    # matrix's diagonal is positive, so no witness exists — but a search cannot show that
    v, summary = verdict("claim d\n  let n : dim\n  let A : matrix[n, n] spd\n  let i : 1..n\n"
                         "  show exists: A[i, i] <= 0\n")
    assert v == Verdict.INCONCLUSIVE and "does not show that none exists" in summary
