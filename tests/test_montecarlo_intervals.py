"""Interval machinery of Monte-Carlo and growth verdicts (issue #16): exact binomial
intervals, RQMC replicates, the heavy-tail diagnostic, hint re-checks, exact and
quadrature expectations, and the wide-size growth rule."""
from __future__ import annotations

import math

import pytest
import sympy as sp
import torch
from scipy import integrate, stats

from derive.numeric import rqmc
from derive.numeric.hints import recheck
from derive.numeric.intervals import TailWatch, clopper_pearson, rqmc_interval
from derive.outcome import Verdict
from derive.symbolic.gauss import truncated_moment
from derive.timing.wide import classify
from tests.test_numeric import decide


# ------------------------------------------------------------------ Clopper–Pearson
def test_clopper_pearson_matches_known_values_and_handles_no_hits():
    lo, hi = clopper_pearson(5, 10, 0.05)
    assert lo == pytest.approx(0.18709, abs=1e-4) and hi == pytest.approx(0.81291, abs=1e-4)
    lo, hi = clopper_pearson(0, 1000, 0.05)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 1000), rel=1e-9)
    lo, hi = clopper_pearson(1000, 1000, 0.05)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 1000), rel=1e-9)


def test_clopper_pearson_covers_a_rare_probability():
    """Coverage at p = 1e-3, n = 2000 over 400 binomial draws: at least the nominal 95 %."""
    g = torch.Generator().manual_seed(3)
    p, n = 1e-3, 2000
    ks = torch.binomial(torch.full((400,), float(n)), torch.full((400,), p), generator=g)
    covered = sum(lo <= p <= hi for lo, hi in (clopper_pearson(int(k), n, 0.05) for k in ks))
    assert covered >= 0.95 * 400


# ------------------------------------------------------------------ RQMC
def _rqmc_means(f, dim: int, reps: int, n: int, seed: int) -> list[float]:
    out = []
    for r in range(reps):
        u = rqmc.Replicate(dim, seed * 1000 + r).draw(n)
        z = math.sqrt(2.0) * torch.erfinv(2 * u - 1)
        out.append(float(f(z).mean()))
    return out


def test_rqmc_replicates_are_unbiased_and_their_t_interval_covers():
    """E[z₁² + z₂²] = 2: the replicate t interval (95 %) covers it in most of 40 runs."""
    f = lambda z: (z ** 2).sum(1)  # noqa: E731
    hits = 0
    for seed in range(40):
        mu, hw, _ = rqmc_interval(_rqmc_means(f, 2, 16, 256, seed), 0.05)
        hits += abs(mu - 2.0) <= hw
    assert hits >= 34


def test_rqmc_is_much_narrower_than_plain_at_equal_draws():
    """A smooth 2-D integrand: the RQMC standard error is ≥ 10× below the plain one."""
    f = lambda z: torch.exp(0.5 * z[:, 0]) * torch.cos(z[:, 1])  # noqa: E731
    _, _, se_q = rqmc_interval(_rqmc_means(f, 2, 32, 4096, 1), 0.05)
    g = torch.Generator().manual_seed(1)
    plain = f(torch.randn(32 * 4096, 2, generator=g, dtype=torch.float64))
    se_p = float(plain.std()) / math.sqrt(plain.numel())
    assert se_q * 10 <= se_p


def test_monte_carlo_uses_rqmc_for_few_draws_and_states_the_precision():
    out = decide("claim c\n  let z, w : real ~ normal(0, 1)\n  show E[max(z, w)] == 1/sqrt(pi)\n")
    assert out.verdict == Verdict.VERIFIED, out.summary
    assert "randomized QMC" in out.evidence["method"]
    assert "tolerance ±0.40%" in out.summary and "half-width reached" in out.summary
    assert out.evidence["precision"]["worst_ratio"] <= 1


def test_constants_half_a_percent_apart_are_not_both_verified():
    text = "claim c\n  let z, w : real ~ normal(0, 1)\n  show E[max(z, w)] == {c}/sqrt(pi)\n"
    assert decide(text.format(c="1.005")).verdict == Verdict.REFUTED
    assert decide(text.format(c="0.995")).verdict == Verdict.REFUTED


# ------------------------------------------------------------------ heavy tails, rare events
def test_tail_watch_flags_a_lognormal_sample_and_not_a_normal_one():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(100_000, 1, generator=g, dtype=torch.float64)
    heavy, light = TailWatch(), TailWatch()
    heavy.add(torch.exp(4.5 * z))
    light.add(z)
    assert heavy.report().heavy and not light.report().heavy


def test_a_heavy_tailed_true_claim_is_never_refuted_by_sampling():
    out = decide("claim c\n  let z, w : real ~ normal(0, 1)\n  show E[exp(3*z + 3*w)] == exp(9)\n")
    assert out.verdict == Verdict.INCONCLUSIVE and "heavy-tailed" in out.summary, out.summary
    assert out.evidence["tail_diagnostic"]["heavy"]


def test_probability_zero_is_not_verified_by_sampling_and_one_hit_refutes_it():
    never = decide("claim c\n  let z, w : real ~ normal(0, 1)\n  show P[z + w > 40] == 0\n")
    assert never.verdict == Verdict.INCONCLUSIVE, never.summary
    rare = decide("claim c\n  let z, w : real ~ normal(0, 1)\n  show P[z + w > 6] == 0\n")
    assert rare.verdict == Verdict.REFUTED, rare.summary
    # 1.1e-5 is rare for plain sampling: importance sampling's hits refute "== 0"
    assert "importance sampling" in rare.evidence["method"], rare.evidence["method"]


# ------------------------------------------------------------------ hints
def test_hint_recheck_rejects_the_nearest_constant_of_a_noisy_ratio():
    rows = [({"d": 2}, math.sqrt(2 / math.pi), 1e-4, 3.3)]
    assert recheck(rows, math.sqrt(2 / math.pi))
    assert not recheck(rows, math.pi / 4)


# ------------------------------------------------------------------ exact and quadrature
@pytest.mark.parametrize("j", range(6))
def test_truncated_gaussian_moments_match_numeric_integration(j):
    lo, hi = -0.7, 2.3
    exact = float(sp.N(truncated_moment(j, sp.Rational(-7, 10), sp.Rational(23, 10)), 20))
    ref, _ = integrate.quad(lambda v: v ** j * stats.norm.pdf(v), lo, hi, epsabs=1e-14)
    assert exact == pytest.approx(ref, rel=1e-10, abs=1e-14)


def test_quadrature_decides_a_one_draw_expectation_without_a_closed_form():
    ref, _ = integrate.quad(lambda v: math.tanh(v) ** 2 * stats.norm.pdf(v), -40, 40,
                            epsabs=1e-13, limit=200)
    out = decide(f"claim c\n  let z : real ~ normal(0, 1)\n  show E[tanh(z)^2] == {ref!r}\n")
    assert out.verdict == Verdict.VERIFIED, out.summary
    off = decide(f"claim c\n  let z : real ~ normal(0, 1)\n  show E[tanh(z)^2] == {ref * 1.001!r}\n")
    assert off.verdict == Verdict.REFUTED, off.summary


def test_quadrature_gets_the_far_lognormal_tail_and_a_rare_event():
    out = decide("claim c\n  let z : real ~ normal(0, 1)\n  show E[exp(5.5*z)] == exp(15.125)\n")
    assert out.verdict == Verdict.VERIFIED, out.summary
    rare = decide("claim c\n  let z : real ~ normal(0, 1)\n  show P[z > 7] == 0\n")
    assert rare.verdict == Verdict.REFUTED, rare.summary


# ------------------------------------------------------------------ growth over wide sizes
def _ray(f):
    return [f(2.0 ** k) for k in range(8, 41)]


def test_wide_growth_rule_tells_log_factors_and_lower_order_terms_apart():
    assert classify(_ray(lambda n: 5 * math.log2(n)))[0] == "growing"          # n log n vs n
    assert classify(_ray(lambda n: 1 / math.log2(n)))[0] == "falling"          # n/log n vs n
    kind, limit = classify(_ray(lambda n: 2 + 1e6 / n))                        # lower order
    assert kind == "converging" and limit == pytest.approx(2, rel=1e-6)
    assert classify(_ray(lambda n: 1 / n))[0] == "vanishing"                   # n vs n²
    assert classify(_ray(lambda n: 3.0))[0] == "flat"
    assert classify(_ray(lambda n: n ** 0.1))[0] == "growing"                  # n³ vs n^2.9
