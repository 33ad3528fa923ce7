"""Exact cost comparisons proved for every size (derive/timing/count_proof.py): the cases
of sizes fixed to 1, the cross-check, the polynomial certificate, and counterexamples the
formulas find off the grid (confirmed by counting there)."""
from __future__ import annotations

import sympy as sp

from derive.decide import decide_claim
from derive.engine import Options
from derive.outcome import Verdict
from derive.timing import count_proof
from tests.test_timing import checked_claims

MATMUL = """claim c.mm "matmul"
  let p, m, n : dim
  let A : matrix[p, m]
  let B : matrix[m, n]
  show flops[A @ B] {rel}
"""


def outcome(text: str):
    (checked,) = checked_claims(text).values()
    verdict, _, summary, evidence = decide_claim(checked, Options(seed=0))
    return verdict, summary, evidence["statements"][0]["evidence"]


def test_matmul_count_is_proved_in_every_case_of_sizes_fixed_to_1():
    verdict, summary, ev = outcome(MATMUL.format(rel="== 2*m*p*n"))
    assert verdict == Verdict.PROVED, summary
    proof = ev["symbolic_proof"]
    assert len(proof["cases"]) == 8            # every subset of {m, n, p} fixed to 1
    assert {tuple(c["sizes_fixed_to_1"]) for c in proof["cases"]} >= {(), ("m", "n", "p")}
    assert proof["cross_check"]["agree"] and proof["cross_check"]["count"] >= 8
    assert ev["measured_verdict"]["verdict"] == "verified"


def test_a_bound_touching_the_count_at_the_grid_is_refuted_off_it():
    verdict, summary, ev = outcome(MATMUL.format(
        rel="<= 2*m*p*n + (m - 16)*(m - 256)*(m - 1024)"))
    assert verdict == Verdict.REFUTED, summary
    assert "found from the exact count formulas" in summary
    assert ev["formula_counterexample"]["holds"] is False


def test_strict_order_fails_where_a_size_is_1():
    text = """claim c.order "order"
  let n : dim
  let A, B : matrix[n, n]
  let x : vector[n]
  show flops[A @ (B @ x)] {op} flops[(A @ B) @ x]
"""
    assert outcome(text.replace("{op}", "<="))[0] == Verdict.PROVED
    verdict, summary, ev = outcome(text.replace("{op}", "<"))
    assert verdict == Verdict.REFUTED and ev["formula_counterexample"]["sizes"] == {"n": 1}


def test_polynomial_certificate():
    n, k = sp.symbols("n k", positive=True)
    count_proof._holds(2 * k * n - 2 * n, ">=", False, [n, k], {})      # 2n(k − 1) ≥ 0
    for bad in (n - 3, (n - 5) ** 2 - 1):
        try:
            count_proof._holds(bad, ">=", False, [n], {})
        except count_proof.NoProof:
            continue
        raise AssertionError(f"{bad} ≥ 0 was certified for every n ≥ 2")
    assert count_proof._violation(n - 3, ">=", False, [n]) == {"n": 2}
