"""Issue #15: instances, searches and tolerances that reach where claims fail."""
from __future__ import annotations

import math

import torch

from derive.numeric import adversarial, precise
from derive.numeric import integrals as quadrature
from derive.outcome import Verdict

from test_numeric import checked_claims, decide


def test_scalar_candidates_stay_in_the_domain():
    c = adversarial.scalar_candidates(0.0, 1.0, [])
    assert 0.0 in c and 1.0 in c and all(0.0 <= x <= 1.0 for x in c)
    assert any(0 < x < 1e-3 for x in c)                     # a tiny value above the lower end
    assert 0.0 not in adversarial.scalar_candidates(-math.inf, math.inf, [0.0])
    tame = adversarial.scalar_candidates(-math.inf, math.inf, [], tame=True)
    assert all(x == 0 or 1e-3 <= abs(x) <= 1e3 for x in tame)


def test_plain_tensors_include_constant_and_one_hot_members():
    g = torch.Generator().manual_seed(0)
    t = adversarial.wild_plain(torch.randn(4, 5, dtype=torch.float64, generator=g), g)
    assert torch.all(t[1] == t[1, 0])                       # constant, with an exact mean
    assert float(t[1].mean()) == float(t[1, 0])
    assert int((t[2] != 0).sum()) == 1                      # one-hot


def test_ill_conditioned_members_are_drawn():
    from derive.numeric.instances import structured
    g = torch.Generator().manual_seed(3)
    a = structured(frozenset({"invertible"}), (4, 4), g, 30, torch.float64, wild=True)
    assert float(torch.linalg.cond(a).max()) > 1e4


def test_short_values_have_exact_sums():
    for x in (6.732103, -0.1, 1e-7, 3.0):
        c = adversarial.short(x)
        assert sum([c] * 7) / 7 == c


def test_quadrature_end_singularities_and_divergence():
    e = quadrature.integrate(lambda x: 1 / torch.sqrt(1 - x ** 2), -1, 1)
    assert e.converged and abs(float(e.value) - math.pi) <= max(e.error, 1e-12)
    e = quadrature.integrate(torch.log, 0, 1)
    assert e.converged and abs(float(e.value) + 1) < 1e-10
    e = quadrature.integrate(lambda x: 1 / x, 1, math.inf)
    assert not e.converged and math.isnan(float(e.value))   # divergent: never a number
    e = quadrature.integrate(lambda x: torch.exp(-x ** 2), -math.inf, math.inf)
    assert abs(float(e.value) - math.sqrt(math.pi)) < 1e-12


def test_high_precision_decides_ties_and_undefined_sides():
    checked = checked_claims("claim t\n  let a, b : real\n  show sqrt(a * b) == sqrt(a) * sqrt(b)\n")[0]
    st = checked.claim.shows[0].statement
    env = {"a": torch.tensor([-2.0]), "b": torch.tensor([-3.0])}
    assert precise.decide(checked, st, env, 0) is False     # −√6 ≠ √6 (or undefined)
    env = {"a": torch.tensor([2.0]), "b": torch.tensor([3.0])}
    assert precise.decide(checked, st, env, 0) is True
    strict = checked_claims("claim s\n  let x : real\n  show exp(-x^2) < 1\n")[0]
    env = {"x": torch.tensor([1e-9])}
    assert precise.decide(strict, strict.claim.shows[0].statement, env, 0) is True  # 1 − 1e-18 < 1
    # SymPy lowers sqrt(x)**2 to x: the referee reads the radicand from the model
    sq = checked_claims("claim q\n  let x : real\n  show sqrt(x)^2 == x\n")[0]
    env = {"x": torch.tensor([-4.0], dtype=torch.float64)}
    assert precise.decide(sq, sq.claim.shows[0].statement, env, 0) is False
    env = {"x": torch.tensor([4.0], dtype=torch.float64)}
    assert precise.decide(sq, sq.claim.shows[0].statement, env, 0) is True


def test_float64_equation_ties_are_judged_against_the_rounding_of_the_inputs():
    checked = checked_claims("claim t\n  let c, x, y : real\n  show exp(c*x) == exp(c*y) <=> x == y\n")[0]
    eq = checked.claim.shows[0].statement.args[0]
    env = {"c": torch.tensor([-1000.0]), "x": torch.tensor([2.745]), "y": torch.tensor([0.758])}
    assert precise.input_rounding_explains(checked, eq, env, 0) is False   # both underflow to 0
    env = {"c": torch.tensor([0.0]), "x": torch.tensor([2.745]), "y": torch.tensor([0.758])}
    assert precise.input_rounding_explains(checked, eq, env, 0) is True    # 1 = 1 exactly
    soft = checked_claims("claim s\n  let c, x, y : real\n"
                          "  show log(1 + exp(c*x)) == log(1 + exp(c*y)) <=> x == y\n")[0]
    eq = soft.claim.shows[0].statement.args[0]
    env = {"c": torch.tensor([-1000.0]), "x": torch.tensor([0.541]), "y": torch.tensor([2.0])}
    assert precise.input_rounding_explains(soft, eq, env, 0) is False      # e^−541 against e^−2000
    placed = checked_claims("claim p\n  let x, y : real\n  show x^2 == y => x == y\n")[0]
    eq = placed.claim.shows[0].statement.args[0]
    env = {"x": torch.tensor([math.sqrt(2.0)], dtype=torch.float64), "y": torch.tensor([2.0])}
    assert precise.input_rounding_explains(placed, eq, env, 0) is True     # on x² = 2 up to rounding
    assert decide("claim n\n  let c : real != 0\n  let x, y : real\n"
                  "  show exp(c*x) == exp(c*y) <=> x == y\n").verdict == Verdict.VERIFIED


def test_strict_inequality_tied_by_rounding_is_not_verified():
    out = decide("claim s\n  let n : dim\n  let z : vector[n]\n  show sum(softmax(z)) < 1\n")
    assert out.verdict != Verdict.VERIFIED, out.summary


def test_a_large_intermediate_does_not_widen_the_tolerance():
    out = decide("claim l\n  let n : dim\n  let x : vector[n]\n"
                 "  show log(sum(exp(x + 50))) - 50 == max(x) + 1\n")
    assert out.verdict != Verdict.VERIFIED, out.summary
    true = decide("claim l\n  let n : dim\n  let x : vector[n]\n"
                  "  show log(sum(exp(x + 50))) - 50 == logsumexp(x)\n")
    assert true.verdict == Verdict.VERIFIED, true.summary


def test_sizes_beyond_32_are_reached():
    out = decide("claim s\n  let n : dim\n  let x : vector[n]\n  show sum(x) <= 4 * norm(x)\n")
    assert out.verdict == Verdict.REFUTED, out.summary
    assert out.evidence["sides"]["lhs"] > out.evidence["sides"]["rhs"]  # both sides shown


def test_recurrence_base_and_far_steps():
    base = decide("claim r\n  let y[t+1] = y[t] + 2, y[0] = 1\n  show y[t] >= 3 + 0 * y[t]^2\n")
    assert base.verdict == Verdict.REFUTED, base.summary
    far = decide("claim r\n  let c[t+1] = 1.01 * c[t], c[0] = 1\n  show c[t] <= 100\n")
    assert far.verdict == Verdict.REFUTED, far.summary


def test_not_equal_is_searched_on_its_surface():
    out = decide("claim t\n  let n : dim\n  let A : matrix[n, n] invertible\n  show trace(A) != 0\n")
    assert out.verdict == Verdict.REFUTED, out.summary
    ok = decide("claim t\n  let x : real\n  show x^2 + x + 1 != 0\n")
    assert ok.verdict == Verdict.VERIFIED, ok.summary
    under = decide("claim t\n  let x : real\n  show exp(x) - 0 != 0\n")   # 0 only by underflow
    assert under.verdict != Verdict.REFUTED, under.summary


def test_inequality_against_a_constant_is_searched_at_its_dips():
    """|trace(A)| ≥ 1e-8 fails only within 1e-8 of trace A = 0: a golden-section search
    refines the dip of |trace| along a line to rounding level."""
    out = decide("claim t\n  let n : dim\n  let A : matrix[n, n] symmetric\n"
                 "  show abs(trace(A)) >= 1e-8\n")
    assert out.verdict == Verdict.REFUTED, out.summary
    ok = decide("claim t\n  let x : real\n  show x^2 - 2*x + 1 >= 0\n")   # (x − 1)², −1e-16 at 1
    assert ok.verdict == Verdict.VERIFIED, ok.summary


def test_one_side_undefined_is_a_counterexample():
    out = decide("claim u\n  let x : real\n  show (x^3)^(1/3) == x\n")
    assert out.verdict == Verdict.REFUTED, out.summary


def test_undefined_instances_are_counted_in_the_summary():
    out = decide("claim u\n  let x : real\n  let n : dim\n  let v : vector[n]\n"
                 "  show sqrt(x) * 0 + sum(v) == sum(v) + sqrt(x) * 0\n")
    if out.verdict == Verdict.VERIFIED:
        assert "not judged" in out.summary and "undefined" in out.summary, out.summary


def test_structured_inputs_are_moved_by_the_search():
    from derive.numeric.search import _structured_leaf, _structured_value
    g = torch.Generator().manual_seed(0)
    a = torch.randn(2, 3, 3, dtype=torch.float64, generator=g)
    spd = a @ a.transpose(-1, -2) + torch.eye(3, dtype=torch.float64)
    leaf = _structured_leaf(spd, "spd") + 0.3
    moved = _structured_value(leaf, "spd", spd)
    assert float(torch.linalg.eigvalsh(moved).min()) > 0     # still positive definite
    q = torch.linalg.qr(a)[0]
    rot = _structured_value(torch.randn(2, 3, 3, dtype=torch.float64, generator=g), "orthogonal", q)
    assert torch.allclose(rot.transpose(-1, -2) @ rot, torch.eye(3, dtype=torch.float64).expand(2, 3, 3))
