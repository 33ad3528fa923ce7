"""Softmax, logsumexp, log-softmax, cross-entropy, layer norm, blocks and sign over symbolic
sizes: the entrywise lowerings, the sum normal form, and the two strategies built on them
(vector-normal-form, exp-sum-bounds) — proofs of the true class members, and no proof of
the near misses (tests/soundness/vector_elementary.claims holds the full adversarial set)."""
from __future__ import annotations

import pytest
import sympy as sp

from derive.engine import Context, Options
from derive.language.load import load_text
from derive.limits import time_limit
from derive.outcome import Verdict
from derive.semantics import check_claim
from derive.symbolic.blocks import split_stacked
from derive.symbolic.lower import Unsupported, lowering
from derive.symbolic.strategies.exp_bounds import ExpSumBounds
from derive.symbolic.strategies.vector_elementary import VectorElementary
from derive.symbolic.sum_normal import merged_summand, name_sums, sum_zero


def context(text: str, show: int = 0) -> Context:
    loaded = load_text(text)
    assert not loaded.broken, [d.message for d in loaded.diagnostics]
    (claim,) = loaded.claims
    checked, diags = check_claim(claim)
    assert checked is not None, [d.message for d in diags]
    return Context(checked, claim.shows[show], show, Options())


def attempt(strategy, text: str):
    with time_limit(30):
        return strategy.attempt(context(text))


VEC = "claim c\n  let n : dim\n  let c : real\n  let z, u : vector[n]\n  let y : 1..n\n"


# ---------------------------------------------------------------- lowerings
def test_log_softmax_entry_is_z_minus_logsumexp():
    ctx = context(VEC + "  show log_softmax(z) == z\n")
    low = lowering(ctx.checked)
    j = sp.Symbol("j", integer=True, positive=True)
    e = low.entry(ctx.statement.operands[0], (j,))
    (s,) = e.atoms(sp.Sum)
    (zj,) = [x for x in e.atoms(sp.Indexed) if x.indices == (j,)]
    assert isinstance(s.function, sp.exp) and sp.expand(e - (zj - sp.log(s))) == 0


def test_layer_norm_with_an_eps_of_unknown_sign_is_not_lowered():
    ctx = context("claim c\n  let n : dim\n  let e : real\n  let x : vector[n]\n"
                  "  show layer_norm(x, eps = e) == x\n")
    low = lowering(ctx.checked)
    with pytest.raises(Unsupported):
        low.entry(ctx.statement.operands[0], (sp.Integer(1),))


def test_cross_entropy_with_an_index_and_with_a_distribution():
    ctx = context(VEC + "  show cross_entropy(z, y) == cross_entropy(z, u)\n")
    low = lowering(ctx.checked)
    a, b = (low.scalar(x) for x in ctx.statement.operands)
    assert ("z", (low.symbols["y"],)) in {(x.base.label.name, x.indices) for x in a.atoms(sp.Indexed)}
    assert any(x.base.label.name == "u" for x in b.atoms(sp.Indexed))


# ---------------------------------------------------------------- the normal form
k = sp.Symbol("k", integer=True)
n = sp.Symbol("n", integer=True, positive=True)
z = sp.IndexedBase("z")
m_ = sp.Symbol("m", real=True)


def test_exp_factor_leaves_the_sum_and_cancels():
    lhs = sp.exp(z[1] - m_) / sp.Sum(sp.exp(z[k] - m_), (k, 1, n))
    rhs = sp.exp(z[1]) / sp.Sum(sp.exp(z[k]), (k, 1, n))
    assert sum_zero(lhs - rhs)
    assert not sum_zero(lhs - sp.exp(z[1]) / sp.Sum(sp.exp(2 * z[k]), (k, 1, n)))


def test_sums_of_terms_of_unknown_sign_are_named_real_not_positive():
    named, names = name_sums(sp.Sum(z[k], (k, 1, n)) + sp.Sum(sp.exp(z[k]), (k, 1, n)))
    signs = sorted(bool(s.is_positive) for s in names.values())
    assert signs == [False, True]


def test_piecewise_summands_merge_over_one_range_only():
    same = sp.Sum(z[k] * sp.sign(z[k]), (k, 1, n)) - sp.Sum(sp.Abs(z[k]), (k, 1, n))
    summand, rest, _ = merged_summand(same)
    assert rest == 0 and not summand.has(sp.Sum)
    other = sp.Sum(sp.Abs(z[k]), (k, 1, n)) - sp.Sum(sp.Abs(z[k]), (k, 1, n + 1))
    assert merged_summand(other) is None


def test_a_stacked_sum_splits_at_the_boundary():
    a, b = sp.IndexedBase("a"), sp.IndexedBase("b")
    n1, n2 = sp.symbols("n1 n2", integer=True, positive=True)
    body = sp.Piecewise((a[k], sp.Le(k, n1)), (b[k - n1], True))
    out = split_stacked(sp.Sum(body, (k, 1, n1 + n2)))
    assert not out.has(sp.Piecewise)
    assert {s.limits[0][2] for s in out.atoms(sp.Sum)} == {n1, n2}


# ---------------------------------------------------------------- strategies
@pytest.mark.parametrize("show", [
    "softmax(z - max(z)) == softmax(z)",
    "log(softmax(z)) == z - logsumexp(z)",
    "z · sign(z) == norm(z, 1)",
    "sum(relu(z)) - sum(relu(-z)) == sum(z)",
    "onehot(y, n) · log_softmax(z) == -cross_entropy(z, y)",
])
def test_vector_normal_form_proves(show):
    out = attempt(VectorElementary(), VEC + f"  show {show}\n")
    assert out is not None and out.verdict == Verdict.PROVED
    assert out.evidence["certificate"]["side_conditions"]


@pytest.mark.parametrize("show", [
    "softmax(c * z) == softmax(z)",
    "softmax(z + u) == softmax(z)",
    "log_softmax(z) == z - max(z)",
    "sign(z) ⊙ z == z",
    "sum(relu(z)) == norm(z, 1)",
    "onehot(y, n) · log_softmax(z) == log_softmax(z)[1]",
])
def test_vector_normal_form_never_proves_a_near_miss(show):
    out = attempt(VectorElementary(), VEC + f"  show {show}\n")
    assert out is None or out.verdict != Verdict.PROVED


def test_tiled_merge_with_a_missing_rescale_is_not_proved():
    text = ("claim c\n  let n1, n2 : dim\n  let x1, v1 : vector[n1]\n  let x2, v2 : vector[n2]\n"
            "  let m1 = max(x1)\n  let m2 = max(x2)\n  let mm = max(m1, m2)\n"
            "  show (exp(m1 - mm) * (v1 · exp(x1 - m1)) + {r}(v2 · exp(x2 - m2))) / "
            "(exp(m1 - mm) * sum(exp(x1 - m1)) + exp(m2 - mm) * sum(exp(x2 - m2))) == "
            "(v1 · exp(x1) + v2 · exp(x2)) / (sum(exp(x1)) + sum(exp(x2)))\n")
    good = attempt(VectorElementary(), text.format(r="exp(m2 - mm) * "))
    assert good is not None and good.verdict == Verdict.PROVED
    bad = attempt(VectorElementary(), text.format(r=""))
    assert bad is None or bad.verdict != Verdict.PROVED


@pytest.mark.parametrize("show, ok", [
    ("max(z) <= logsumexp(z) <= max(z) + log(n)", True),
    ("cross_entropy(z, y) >= 0", True),
    ("logsumexp(z) >= z[y]", True),
    ("logsumexp(z) <= max(z)", False),
    ("cross_entropy(z, y) <= log(n)", False),
    ("logsumexp(2*z) <= max(z) + log(n)", False),
    ("logsumexp(z) >= max(z) + log(n)", False),
])
def test_exp_sum_bounds(show, ok):
    out = attempt(ExpSumBounds(), VEC + f"  show {show}\n")
    assert (out is not None and out.verdict == Verdict.PROVED) == ok


@pytest.mark.parametrize("assume, ok", [("i != j", True), ("i == j", False), ("i >= 1", False)])
def test_a_delta_is_zero_only_under_an_assumption_that_says_so(assume, ok):
    text = ("claim c\n  let n : dim\n  let x : vector[n]\n  let i, j : 1..n\n"
            f"  assume {assume}\n  show grad((x - mean(x))[j], x)[i] == -1/n\n")
    out = attempt(VectorElementary(), text)
    assert (out is not None and out.verdict == Verdict.PROVED) == ok


def test_small_numeric_sums_are_written_out_and_cuts_need_integers():
    from derive.symbolic.blocks import unroll_small
    h = sp.Symbol("h", integer=True)
    assert unroll_small(sp.Sum(z[h], (h, 1, 3))) == z[1] + z[2] + z[3]
    assert unroll_small(sp.Sum(z[h], (h, 1, n))).has(sp.Sum)
    a, b = sp.IndexedBase("a"), sp.IndexedBase("b")
    half = sp.Piecewise((a[k], sp.Le(2 * k, n)), (b[k], True))  # k ≤ n/2: not an integer cut
    assert split_stacked(sp.Sum(half, (k, 1, n))).has(sp.Piecewise)


def test_entrywise_atoms_only_for_functions_of_one_entry():
    from derive.symbolic.strategies.vector_elementary import entrywise_atoms
    A = sp.IndexedBase("A")
    i = sp.Symbol("i", integer=True)
    one = sp.Sum(sp.Max(A[i, k], 0) * z[k], (k, 1, n)) + sp.Max(A[i, 1], 0)
    out = entrywise_atoms(one)
    assert not out.has(sp.Max)  # one fresh tensor for both uses of max(A[·,·], 0)
    assert {b.label.name for b in out.atoms(sp.IndexedBase)} == {"z", "_F0"}
    assert entrywise_atoms(sp.Sum(sp.Max(A[i, k] * z[k], 0), (k, 1, n))) is None


def test_unused_ranges_become_their_length():
    from derive.symbolic.sum_normal import unused_limits
    h = sp.Symbol("h", integer=True)
    assert unused_limits(sp.Sum(z[k], (k, 1, n), (h, 1, 3))) == 3 * sp.Sum(z[k], (k, 1, n))
