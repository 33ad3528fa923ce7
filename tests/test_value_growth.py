"""Growth of random values (``E[norm(x)^2] ~ n``): the numeric engine estimates the value at
each size within a budget of draws and decides (derive/numeric/growth.py); the timing engine,
which takes every growth statement, routes random values there (derive/timing/values.py).
Same seed, same verdict and the same numbers, whatever the clock says."""
from __future__ import annotations

import itertools
import json
import time

import pytest

from derive.engine import BUDGET_SCALE_ENV, Context, Options
from derive.language.load import load_text
from derive.numeric import growth as mc
from derive.outcome import Verdict
from derive.semantics import check_claim
from derive.timing import ENGINE


def checked_claims(text: str) -> dict:
    loaded = load_text(text)
    assert not loaded.diagnostics, loaded.diagnostics
    out = {}
    for claim in loaded.claims:
        checked, diags = check_claim(claim, text.split("\n"))
        assert checked is not None, diags
        out[claim.id] = checked
    return out


def decide_one(text: str, seed: int = 0):
    """The timing engine's outcome on the first statement of the (single) claim."""
    (checked,) = checked_claims(text).values()
    return ENGINE.decide(Context(checked, checked.claim.shows[0], 0, Options(seed=seed)))


SQNORM = """
claim vg.sqnorm "E‖x‖² grows as n"
  let n in [64, 128, 256, 512]
  let x : vector[n] ~ normal(0, 1)
  show E[norm(x)^2] ~ {bound}
"""

# a claim whose first look does not decide (its excess exponent, about 0.17, is not clear
# of the O(1) band by the first look's margin), so both looks run: the determinism tests
# cover both
TWO_LOOKS = """
claim vg.offset "n + 1000 is not O(1)"
  let n in [64, 128, 256, 512]
  let x : vector[n] ~ normal(0, 1)
  show E[norm(x)^2 + 1000] in O(1)
  expect refuted
"""


def _jumping_clock(monkeypatch) -> None:
    """A machine that is suddenly very slow: every clock read is 1000 s after the last."""
    ticks = itertools.count()
    for name in ("perf_counter", "monotonic", "time"):
        monkeypatch.setattr(time, name, lambda: 1000.0 * next(ticks))


@pytest.mark.parametrize("text, looks", [(SQNORM.format(bound="n"), 1), (TWO_LOOKS, 2)])
def test_same_seed_same_verdict_and_numbers_on_a_slow_machine(monkeypatch, text, looks):
    first = decide_one(text).as_dict()
    again = decide_one(text).as_dict()
    assert again == first
    monkeypatch.setenv(BUDGET_SCALE_ENV, "0.1")   # every engine budget a tenth …
    _jumping_clock(monkeypatch)                    # … and a clock that races ahead
    slowed = decide_one(text).as_dict()
    assert slowed == first
    assert first["verdict"] == ("verified" if looks == 1 else "refuted")
    assert first["evidence"]["looks"] == looks
    assert first["evidence"]["draws"]["all_looks"] > first["evidence"]["draws"]["this_look"] \
        if looks == 2 else first["evidence"]["draws"]["all_looks"] > 0


def test_the_estimates_read_no_clock(monkeypatch):
    (checked,) = checked_claims(SQNORM.format(bound="n")).values()
    lhs = checked.claim.shows[0].statement.operands[0]

    def stop(*_):
        raise AssertionError("the value-growth estimate read the clock")

    for name in ("perf_counter", "monotonic", "time", "process_time"):
        monkeypatch.setattr(time, name, stop)
    sweep = mc.estimate_sweep(checked, 0, lhs, [{"n": 64}, {"n": 128}], 0,
                              mc.DrawBudget(per_size=200_000, total=300_000), 0.975)
    assert [s.point for s in sweep.sizes] == [{"n": 64}, {"n": 128}]


def test_seed_changes_the_draws_not_the_verdict():
    a, b = decide_one(SQNORM.format(bound="n"), 0), decide_one(SQNORM.format(bound="n"), 1)
    assert a.verdict == b.verdict == Verdict.VERIFIED
    assert a.evidence["table"][0]["estimate"] != b.evidence["table"][0]["estimate"]


def test_evidence_states_draws_estimates_intervals_confidence_and_fit():
    out = decide_one(SQNORM.format(bound="n"))
    assert out.verdict == Verdict.VERIFIED
    ev = out.evidence
    look = ev["looks"]
    budget = mc.LOOK_BUDGETS[look - 1]
    assert ev["budget"] == budget.as_dict()
    assert ev["confidence"] == pytest.approx(1 - 0.05 / mc.LOOKS)
    assert "numeric engine" in ev["decided_by"] and "never seconds" in ev["decided_by"]
    rows = ev["table"]
    assert [r["n"] for r in rows] == [64, 128, 256, 512]
    for r in rows:
        lo, hi = r["interval"]
        assert lo <= r["estimate"] <= hi
        assert lo <= r["n"] <= hi * 1.0001 or abs(r["estimate"] / r["n"] - 1) < 0.05  # E‖x‖² = n
        assert r["confidence"] == ev["confidence"]
        assert r["replicates"] == mc.REPLICATES and r["samples"] >= mc.REPLICATES
        assert 0 < r["draws"] <= budget.per_size
        assert r["draws"] == r["samples"] * r["n"]   # n random scalars per sample
    assert sum(r["draws"] for r in rows) == ev["draws"]["this_look"] <= budget.total
    fit = ev["fitted_exponent"]["n"]
    assert fit["interval"][0] <= fit["exponent"] <= fit["interval"][1]
    assert abs(fit["exponent"] - 1) < 0.05
    assert ev["excess_exponent"]["n"]["interval"][0] <= 0 <= ev["excess_exponent"]["n"]["interval"][1] \
        or abs(ev["excess_exponent"]["n"]["exponent"]) < 0.02


GROWTH = """
claim vg.var_mean "Var of a mean falls as 1/n"
  let n in [64, 128, 256, 512]
  let x : vector[n] ~ normal(0, 1)
  show Var[mean(x)] ~ 1/n

claim vg.var_mean.const
  let n in [64, 128, 256, 512]
  let x : vector[n] ~ normal(0, 1)
  show Var[mean(x)] ~ 1
  expect refuted

claim vg.std_sum.omega
  let n in [64, 128, 256, 512]
  let x : vector[n] ~ normal(0, 1)
  show Std[sum(x)] in Ω(n)
  expect refuted

claim vg.std_sum.o
  let n in [64, 128, 256, 512]
  let x : vector[n] ~ normal(0, 1)
  show Std[sum(x)] in O(n)
"""


def test_true_and_false_growth_of_random_values():
    assert decide_one(SQNORM.format(bound="n")).verdict == Verdict.VERIFIED
    assert decide_one(SQNORM.format(bound="n^2")).verdict == Verdict.REFUTED
    for cid, checked in checked_claims(GROWTH).items():
        out = ENGINE.decide(Context(checked, checked.claim.shows[0], 0, Options()))
        want = Verdict.REFUTED if checked.claim.expect == "refuted" else Verdict.VERIFIED
        assert out.verdict == want, (cid, out.summary)


def test_a_value_not_told_apart_from_zero_has_no_growth():
    out = decide_one(SQNORM.format(bound="sqrt(n)").replace("E[norm(x)^2]", "E[sum(x)]"))
    assert out.verdict == Verdict.INCONCLUSIVE      # E Σx = 0: only the noise grows as √n
    assert "not told apart from 0" in out.summary and out.evidence["looks"] == 2


def test_a_dominant_constant_term_is_not_a_refutation():
    out = decide_one(SQNORM.format(bound="n").replace("E[norm(x)^2]", "E[norm(x)^2 + 1000]"))
    assert out.verdict == Verdict.INCONCLUSIVE and "lower-order" in out.summary


def test_a_small_budget_draws_the_smallest_replicates_and_a_ceiling_stops(monkeypatch):
    monkeypatch.setattr(mc, "LOOKS", 1)
    monkeypatch.setattr(mc, "LOOK_BUDGETS", (mc.DrawBudget(1000, 4000, ceiling=20_000),))
    out = decide_one(SQNORM.format(bound="n"))      # 8 replicates of 4 samples fit everywhere
    assert [r["samples"] for r in out.evidence["table"]] == [8 * mc.MIN_STAT_BATCH] * 4
    assert out.evidence["draws"]["all_looks"] == 32 * (64 + 128 + 256 + 512)
    monkeypatch.setattr(mc, "LOOK_BUDGETS", (mc.DrawBudget(1000, 4000, ceiling=10_000),))
    out = decide_one(SQNORM.format(bound="n"))      # … but not at n = 512 (16,384 draws)
    assert out.verdict == Verdict.INCONCLUSIVE
    assert "budget of draws" in out.summary and out.evidence["budget"]["ceiling"] == 10_000


def test_batch_size_follows_the_budget_and_the_memory_cap():
    assert mc.batch_size(64, 8 * 64 * 100, 4, 10**9) == 100
    assert mc.batch_size(64, 10**12, 4, 10**13) == mc.MAX_BATCH
    assert mc.batch_size(1 << 20, 10**12, 1, 10**13) == mc.MIN_BATCH   # memory cap
    assert mc.batch_size(1000, 8 * 1000 * 3, 4, 10**9) == 4           # the floor
    with pytest.raises(mc.BudgetExceeded):
        mc.batch_size(1000, 8 * 1000 * 3, 4, 8 * 1000 * 4 - 1)


def _numeric_decision(text: str, seed: int) -> str:
    """The numeric engine's decision on the claim's first statement, as evidence JSON."""
    from derive.timing.sizes import build_grid
    from derive.timing.verdicts import growth_vars
    (checked,) = checked_claims(text).values()
    lhs, bound = checked.claim.shows[0].statement.operands
    points = build_grid(checked, {"n"}, ["n"]).points
    bounds = [float(p["n"]) for p in points]
    evidence: dict = {}
    verdict, summary = mc.decide_growth(checked, 0, lhs, points, growth_vars(checked, bound),
                                        bounds, False, seed, evidence)
    return json.dumps({"verdict": verdict.value, "summary": summary, "evidence": evidence},
                      sort_keys=True)


@pytest.mark.parametrize("text", [SQNORM.format(bound="n"), TWO_LOOKS.replace(" in O(1)", " ~ n")])
def test_the_numeric_decision_is_exactly_reproducible(monkeypatch, text):
    """Same seed → byte-identical evidence JSON, even on a machine whose clock races ahead;
    another seed → other draws."""
    first = _numeric_decision(text, 5)
    _jumping_clock(monkeypatch)
    monkeypatch.setenv(BUDGET_SCALE_ENV, "0.1")
    assert _numeric_decision(text, 5) == first
    assert _numeric_decision(text, 6) != first
    assert json.loads(first)["evidence"]["draws"]["all_looks"] > 0


def test_the_timing_engine_routes_random_values_to_the_numeric_decision(monkeypatch):
    calls = []

    def decide(*args, **kwargs):
        calls.append(args[2])
        return Verdict.INCONCLUSIVE, "recorded"

    monkeypatch.setattr(mc, "decide_growth", decide)
    out = decide_one(SQNORM.format(bound="n"))
    assert out.summary == "recorded" and len(calls) == 1
    # a formula of sizes is not random: the timing engine evaluates it exactly
    exact = decide_one("""
claim vg.exact
  let n in [64, 128, 256, 512]
  let depth = 3 * n
  show depth ~ n
""")
    # exact values over wide sizes, then proved by the limit rule (3n/n → 3)
    assert exact.verdict == Verdict.PROVED and len(calls) == 1
    assert exact.evidence["measured_verdict"]["verdict"] == "verified"


@pytest.mark.parametrize("formula, bound, want", [
    ("n * log(n)", "n", Verdict.REFUTED),           # a log factor, local exponent ≈ 0.12
    ("n * log(n)", "n * log(n)", Verdict.PROVED),      # then proved by the limit rule
    ("n + 1000 * sqrt(n)", "n", Verdict.PROVED),   # √n dominates the sweep, not the limit
])
def test_a_formula_of_sizes_is_decided_over_wide_sizes(formula, bound, want):
    """A formula is exact at any size: value/bound over rays out to 2^40 decides, so the
    sweep's small local exponent of a log factor does not pass for Θ(n)."""
    out = decide_one(f"""
claim vg.formula
  let n in [512, 1024, 2048, 4096]
  let h = {formula}
  show h ~ {bound}
""")
    assert out.verdict == want, out.summary
    assert "rays" in out.evidence["wide_sizes"] and "sweep_rule" in out.evidence
