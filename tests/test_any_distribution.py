"""Moment-only draws, ``X ~ any(mean = μ, var = v)`` (issue #18): every law with that mean
and variance.  The language takes the parameters by name only; the symbolic engine uses
E[X], E[X²] and independence and declines everything else; the numeric engine decides a
statement once per member of the family and refutes when one member fails, naming it;
no engine ever draws ``any`` as a normal."""
from __future__ import annotations

import sympy as sp
import pytest
import torch

from derive import model as m
from derive.decide import decide_claim
from derive.engine import Context, Options
from derive.fmt import format_claims
from derive.language.load import load_text
from derive.outcome import Verdict
from derive.semantics import check_claim
from derive.vocabulary import LAWS, Declined
from derive.vocabulary.distributions import MEMBERS, args_of, law_of

HEAD = ("claim t\n  let μ : real\n  let σ : real > 0\n"
        "  let X : real ~ any(mean = μ, var = σ^2)\n")


def _checked(text: str):
    (claim,) = load_text(text).claims
    checked, diags = check_claim(claim)
    assert checked is not None, [d.message for d in diags]
    return checked


def _errors(text: str) -> list:
    (claim,) = load_text(text).claims
    checked, diags = check_claim(claim)
    assert checked is None
    return diags


def _ctx(text: str, seed: int = 0) -> Context:
    checked = _checked(text)
    return Context(checked, checked.claim.shows[0], 0, Options(seed=seed))


# ------------------------------------------------------------------ language
def test_keyword_parameters_in_the_law_order_and_fmt_round_trips():
    text = HEAD + "  show E[X] == μ\n"
    checked = _checked(text)
    dist = checked.symbols["X"].dist
    assert law_of(dist) is LAWS["any"]
    assert args_of(dist) == (dist.kwarg("mean"), dist.kwarg("var"))
    assert isinstance(args_of(dist)[0], m.Name) and args_of(dist)[0].text == "μ"
    swapped = text.replace("any(mean = μ, var = σ^2)", "any(var = σ^2, mean = μ)")
    assert args_of(_checked(swapped).symbols["X"].dist) == args_of(dist)   # order-free
    assert "any(mean = μ, var = σ^2)" in format_claims(text)
    assert format_claims(format_claims(text)) == format_claims(text)
    _checked("claim t\n  let n : dim\n  let x : vector[n] ~ any(mean = 0, var = 1)\n"
             "  show E[sum(x)] == 0\n")


@pytest.mark.parametrize("dist,message,hint", [
    ("any(0, 1)", "takes its parameters by name", "any(mean = 0, var = 1)"),
    ("any", "takes its parameters by name", "variance, not the standard deviation"),
    ("any(mean = 0, sd = 1)", "no parameter 'sd'", "did you mean 'var'"),
    ("any(mean = 0, variance = 1)", "no parameter 'variance'", "var = σ^2"),
    ("any(mean = 0)", "missing var", "any(mean = …, var = …)"),
    ("any(mean = 0, var = 1, var = 2)", "given twice: var", "any(mean = …, var = …)"),
    ("normal(mean = 0, var = 1)", "in order, not by name", "normal(0, 1)"),
    ("any(mean = 0, var = -1)", "variance of any(mean = μ, var = v) must be ≥ 0", None),
])
def test_bad_parameters_are_errors_with_hints(dist, message, hint):
    diags = _errors(f"claim t\n  let X : real ~ {dist}\n  show E[X] == 0\n")
    assert message in diags[0].message, diags[0].message
    assert diags[0].line == 2 and diags[0].column >= 16
    if hint is not None:
        assert hint in (diags[0].hint or ""), diags[0].hint


@pytest.mark.parametrize("show", ["pdf(any(mean = 0, var = 1), x) >= 0",
                                  "cdf(any(mean = 0, var = 1), x) <= 1",
                                  "logpdf(any, x) <= 0",
                                  "KL(any(mean = 0, var = 1), normal(0, 1)) >= 0"])
def test_any_has_no_density(show):
    diags = _errors(f"claim t\n  let x : real\n  show {show}\n")
    assert any("not one law: it has no density, cdf or KL" in d.message for d in diags)
    assert any("~ any(mean = 0, var = 1)" in (d.hint or "") for d in diags)


def test_vector_moments_and_properties_are_errors():
    diags = _errors("claim t\n  let x : real ~ any(mean = 1..3, var = 1)\n  show E[x] == 0\n")
    assert "must be scalars" in diags[0].message
    diags = _errors("claim t\n  let v : vector[3]\n  let x : vector[3] ~ any(mean = v, var = 1)\n"
                    "  show E[x[1]] == v[1]\n")
    assert "must be scalars" in diags[0].message and "independently" in diags[0].hint
    diags = _errors("claim t\n  let x : real positive ~ any(mean = 1, var = 1)\n"
                    "  show E[x] == 1\n")
    assert "cannot be declared 'positive'" in diags[0].message


# ------------------------------------------------------------------ vocabulary
def test_the_family_has_the_stated_moments_and_different_shapes():
    mu, v = sp.symbols("mu v", positive=True)
    fourth = set()
    family = LAWS["any"].family
    assert [len(group) for group in family] == [1, 1, 2, 2, 1, 1]   # atoms: nudged twins
    for group in family:
        for member in group:
            assert MEMBERS[member.name] is member and law_of(m.Call(member.name, ())) is member
        member = group[0]
        if len(group) == 1:
            assert sp.simplify(member.moment([mu, v], 1) - mu) == 0
            assert sp.simplify(member.moment([mu, v], 2) - v - mu ** 2) == 0
        for twin in group:     # nudged: the moments move by ≤ 1e-10 relative
            assert abs(float(twin.moment([sp.Integer(2), sp.Integer(3)], 1)) - 2) < 1e-10
            assert abs(float(twin.moment([sp.Integer(2), sp.Integer(3)], 2)) - 7) < 1e-9
        fourth.add(round(float(member.moment([sp.Integer(0), sp.Integer(1)], 4)), 6))
    assert fourth == {3, 1.8, 1, 3.25, 6, 4.2}
    skewed = next(g for g in family if g[0].name.startswith("any:skewed"))[0]
    assert abs(float(skewed.moment([sp.Integer(0), sp.Integer(1)], 3)) - 1.5) < 1e-9


def test_nudged_atoms_move_each_way_by_far_more_than_rounding():
    up, down = next(g for g in LAWS["any"].family if g[0].name.startswith("any:two-point"))
    lo_up, hi_up = (v for v, _ in up.outcomes([0.1, 0.64]))
    lo_down, hi_down = (v for v, _ in down.outcomes([0.1, 0.64]))
    assert lo_up < 0.1 - 0.8 < lo_down and hi_down < 0.1 + 0.8 < hi_up
    assert abs(hi_up - 0.9) < 1e-10 and abs(lo_down + 0.7) < 1e-10


def test_any_itself_knows_two_moments_and_nothing_else():
    law = LAWS["any"]
    mu, v = sp.symbols("mu v")
    assert law.moment([mu, v], 1) == mu and law.moment([mu, v], 2) == v + mu ** 2
    for k in (3, 4):
        with pytest.raises(Declined, match="only the first two moments"):
            law.moment([mu, v], k)
    for part in ("outcomes", "exact", "sample", "torch_law", "inverse_cdf", "reparam",
                 "score", "window"):
        assert getattr(law, part) is None, part
    assert not law.symmetric(args_of(_checked(HEAD + "  show E[X] == μ\n").symbols["X"].dist))


def test_no_engine_draws_any_as_a_normal():
    from derive.numeric import rqmc
    from derive.numeric.instances import _draw
    from derive.numeric.lower import LoweringError
    from derive.symbolic.gauss import ExactExpectation
    from derive.symbolic.lower import Unsupported, lowering
    from derive.symbolic.moments import Moments
    from derive.timing import sizes

    checked = _checked("claim t\n  let X : real ~ any(mean = 0, var = 1)\n  show E[X] == 0\n")
    info = checked.symbols["X"]
    with pytest.raises(sizes.SizeError, match="not supported by the timing engine"):
        sizes._sample_tensor(info, (3,), torch.Generator().manual_seed(0), {}, checked)
    assert rqmc.layout(checked, {"X"}, {"X": ()}) is None
    with pytest.raises(LoweringError, match="any: sample is not supported"):
        _draw(info.dist, (), None, torch.Generator(), 4, torch.float64, [])
    low = lowering(checked)
    x = low.scalar(m.Name("X"))
    with pytest.raises(Unsupported, match="exact expectation over any"):
        ExactExpectation(Moments(low)).mean(sp.Abs(x))
    with pytest.raises(Unsupported, match="E\\[X\\^4\\]"):
        Moments(low).mean(x ** 4)


# ------------------------------------------------------------------ symbolic
@pytest.mark.parametrize("show", ["E[X^4] == 3*σ^4", "E[X^3] == 0", "E[abs(X - μ)] == σ",
                                  "Var[X^2] == 2*σ^4", "P[X > μ] == 1/2",
                                  "E[exp(X)] == exp(μ + σ^2/2)",
                                  "E[relu(X - μ)] == σ/sqrt(2*pi)"])
def test_the_symbolic_engine_declines_what_needs_more_than_two_moments(show):
    from derive.symbolic import ENGINE
    outcome = ENGINE.decide(_ctx(HEAD + f"  show {show}\n"))
    assert outcome is None or outcome.verdict not in (Verdict.PROVED, Verdict.REFUTED)


@pytest.mark.parametrize("show,verdict", [
    ("E[X] == μ", Verdict.PROVED), ("Var[3*X + 1] == 9*σ^2", Verdict.PROVED),
    ("E[X^2] == σ^2 + μ^2", Verdict.PROVED), ("Var[X] == σ", Verdict.REFUTED),
])
def test_the_symbolic_engine_uses_the_two_moments(show, verdict):
    from derive.symbolic import ENGINE
    assert ENGINE.decide(_ctx(HEAD + f"  show {show}\n")).verdict == verdict


def test_iid_entries_are_independent():
    from derive.symbolic import ENGINE
    ctx = _ctx("claim t\n  let n : dim\n  let x : vector[n] ~ any(mean = 1, var = 2)\n"
               "  show Var[sum(x)] == 2*n\n")
    assert ENGINE.decide(ctx).verdict == Verdict.PROVED


# ------------------------------------------------------------------ numeric family
def test_a_refutation_names_the_member_that_fails():
    from derive.numeric import ENGINE
    outcome = ENGINE.decide(_ctx(HEAD + "  show P[X > μ] == 1/2\n"))
    assert outcome.verdict == Verdict.REFUTED
    assert outcome.evidence["family_member"].startswith("the skewed two-point law")
    assert "skewed two-point" in outcome.summary
    table = outcome.evidence["family"]
    assert list(table.values())[-1] == "refuted" and all(
        v == "verified" for v in list(table.values())[:-1])


def test_a_statement_true_for_the_normal_only_is_refuted():
    ctx = _ctx("claim t\n  let X : real ~ any(mean = 0, var = 1)\n  show E[X^4] == 3\n")
    verdict, _, summary, _ = decide_claim(ctx.checked, Options(seed=0))
    assert verdict == Verdict.REFUTED and "a law with the stated mean and variance" in summary


def test_verified_only_when_every_member_verifies_and_the_rate_is_split():
    from derive.numeric import ENGINE
    outcome = ENGINE.decide(_ctx("claim t\n  let X : real ~ any(mean = 0, var = 1)\n"
                                 "  show P[abs(X) >= 2] <= 1/4\n"))
    assert outcome.verdict == Verdict.VERIFIED
    assert len(outcome.evidence["family"]) == 6
    assert set(outcome.evidence["family"].values()) == {"verified"}
    assert outcome.evidence["family_false_refutation_rate"] == pytest.approx(1e-6 / 8)
    assert outcome.evidence["error_rate"] == pytest.approx(1e-6 / 8)   # what the member used


def test_one_member_undecided_leaves_the_statement_inconclusive():
    from derive.numeric.family import combine
    from derive.outcome import Outcome
    ok = Outcome(Verdict.VERIFIED, "numeric", "monte-carlo", "fine", {})
    open_ = Outcome(Verdict.INCONCLUSIVE, "numeric", "monte-carlo", "heavy tails", {})
    out = combine([("a", ok), ("b", open_), ("c", ok)], 3)
    assert out.verdict == Verdict.INCONCLUSIVE and "not decided for b" in out.summary
    assert combine([("a", ok), ("b", None)], 2).verdict == Verdict.INCONCLUSIVE
    assert combine([("a", None), ("b", None)], 2) is None
    assert combine([("a", ok), ("b", ok)], 3).verdict == Verdict.INCONCLUSIVE  # one never ran


def test_members_rewrite_the_declarations_and_keep_the_rest():
    from derive.numeric.family import as_member, moment_only
    checked = _checked(HEAD + "  let Y : real ~ normal(0, 1)\n  show E[X + Y] == μ\n")
    assert set(moment_only(checked)) == {"X"}
    for g, group in enumerate(LAWS["any"].family):
        for v, member in enumerate(group):
            one = as_member(checked, g, v)
            assert law_of(one.symbols["X"].dist) is member
            assert args_of(one.symbols["X"].dist) == args_of(checked.symbols["X"].dist)
            assert one.symbols["Y"].dist == checked.symbols["Y"].dist
            decls = [st for st in one.claim.statements if isinstance(st, m.Decl) and st.dist]
            assert law_of(decls[0].dist) is member
    assert law_of(checked.symbols["X"].dist) is LAWS["any"]     # the original is untouched


def test_a_tie_at_an_atom_is_not_decided_by_rounding():
    """0.1 + 2·0.1 rounds above 0.3: the skewed member's atom used to land beyond the
    boundary of a true strict Cantelli bound and refute it."""
    from derive.numeric import ENGINE
    outcome = ENGINE.decide(_ctx("claim t\n  let X : real ~ any(mean = 0.1, var = 0.01)\n"
                                 "  show P[X > 0.3] < 0.2\n"))
    assert outcome.verdict == Verdict.INCONCLUSIVE and "a tie at an atom" in outcome.summary


def test_settle_ties():
    from derive.numeric.family import settle_ties
    from derive.outcome import Outcome
    ok = Outcome(Verdict.VERIFIED, "numeric", "quadrature", "fine", {})
    bad = Outcome(Verdict.REFUTED, "numeric", "quadrature", "off", {})
    assert settle_ties([bad, bad], 2) is bad
    assert settle_ties([ok, ok], 2) is ok
    assert settle_ties([bad, ok], 2).verdict == Verdict.INCONCLUSIVE
    assert settle_ties([ok], 2).verdict == Verdict.INCONCLUSIVE      # the twin never ran
    assert settle_ties([bad], 1) is bad


def test_same_seed_same_verdict():
    from derive.numeric import ENGINE
    text = "claim t\n  let X, Y : real ~ any(mean = 1, var = 2)\n  show E[(X - Y)^2] == 4.1\n"
    first = ENGINE.decide(_ctx(text, seed=3))
    second = ENGINE.decide(_ctx(text, seed=3))
    assert first.verdict == second.verdict == Verdict.REFUTED
    assert first.summary == second.summary

    def timeless(ev: dict) -> dict:
        return {k: v for k, v in ev.items() if k != "seconds"}
    assert timeless(first.evidence) == timeless(second.evidence)


# ------------------------------------------------------------------ quadrature, a claimed 0
@pytest.mark.parametrize("law,show,verdict", [
    ("normal(0, 1)", "E[X] == 0", Verdict.VERIFIED),      # −1e-17 ± 1e-15: rounding only
    ("laplace(0, 1)", "E[X^3] == 0", Verdict.VERIFIED),
    ("normal(0, 1)", "E[X] == 1e-7", Verdict.REFUTED),    # the refutation scale is unchanged
    ("normal(0, 1)", "E[X] == 1e-4", Verdict.REFUTED),
    ("normal(0, 1)", "E[X^2] == 1 + 1e-5", Verdict.REFUTED),
    ("normal(0, 1)", "E[X^2] == 1 + 1e-7", Verdict.INCONCLUSIVE),  # between the two scales
])
def test_quadrature_verifies_a_claimed_zero_on_the_integrand_size(law, show, verdict):
    """E[z] == 0 used to stay undecided: |D| ≈ 1e-17 is never within 1e-9 of |0|; the
    integrand's size ∫|z|·φ = 0.8 is the scale for verifying, not for refuting."""
    from derive.numeric.quadrature import QuadratureStrategy
    ctx = _ctx(f"claim t\n  let X : real ~ {law}\n  show {show}\n")
    assert QuadratureStrategy().attempt(ctx).verdict == verdict


def test_exists_is_not_witnessed_by_one_member():
    """``exists: P`` is decided as ``not P``; a member that refutes ``not P`` witnesses P for
    that law only, not for every law with the stated moments."""
    ctx = _ctx("claim t\n  let X : real ~ any(mean = 0, var = 1)\n  show exists: X > 1.5\n")
    verdict, _, summary, _ = decide_claim(ctx.checked, Options(seed=0))
    assert verdict == Verdict.INCONCLUSIVE and "no witness for every such law" in summary
