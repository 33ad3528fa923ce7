"""Proofs of FLOP growth for all sizes: the symbolic count, its cross-check, the asymptotic
rule and every way the route declines (derive/timing/symcount.py, asymptotics.py,
growth_proof.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp
import torch

from derive import model as m
from derive.decide import decide_claim
from derive.engine import Options
from derive.timing import asymptotics, growth_proof, symcount, wide
from derive.timing.flops import count
from tests.test_timing import checked_claims

ROOT = Path(__file__).resolve().parents[1]
n, p, q = (symcount.size_symbol(x) for x in ("n", "p", "q"))




def statements(checked) -> list[dict]:
    _, _, _, evidence = decide_claim(checked, Options(seed=0))
    return evidence["statements"]


def cost_of(checked) -> m.Cost:
    show = next(s for s in checked.claim.statements if isinstance(s, m.Show))
    st = show.statement
    return st.expr if isinstance(st, m.BigO) else st.operands[0]


# ----------------------------------------------------------------- the symbolic count
def test_trace_counts_a_matmul_chain_and_softmax_exactly():
    def build(s):
        a, b = torch.empty(s["p"], s["q"]), torch.empty(s["q"], s["p"])
        return lambda: torch.softmax(a @ b, dim=-1) + 1

    got = symcount.trace(build, ["p", "q"])
    assert sp.expand(got.flops - (2 * p * p * q + 5 * p * p + p * p)) == 0
    for pv, qv in [(3, 5), (17, 2), (40, 41)]:
        real = count(lambda: torch.softmax(torch.randn(pv, qv) @ torch.randn(qv, pv), -1) + 1)
        assert got.at({"p": pv, "q": qv}) == real.flops


def test_trace_fft_is_the_rules_floor_of_5_n_log2_n():
    got = symcount.trace(lambda s: (lambda x: lambda: torch.fft.fft(x))(torch.empty(s["n"])),
                         ["n"])
    assert got.flops == sp.floor(5 * n * sp.log(n, 2))
    for nv in (2, 3, 100, 1021, 4096):
        assert got.at({"n": nv}) == count(lambda: torch.fft.fft(torch.randn(nv))).flops


def test_trace_declines_a_branch_on_sizes():
    def build(s):
        a = torch.empty(s["n"], s["n"])
        return lambda: a @ a if s["n"] > 100 else a + a

    with pytest.raises(symcount.Decline, match="branches on its sizes"):
        symcount.trace(build, ["n"])


def test_trace_declines_a_size_fixed_to_its_sample_value():
    with pytest.raises(symcount.Decline):
        symcount.trace(lambda s: lambda: torch.empty(int(s["n"])) * 2, ["n"])


def test_trace_declines_data_dependent_shapes():
    def build(s):
        x = torch.empty(s["n"])
        return lambda: x[x > 0].sum()

    with pytest.raises(symcount.Decline):
        symcount.trace(build, ["n"])


def test_decisions_on_tensor_values_are_traced_on_every_path():
    def build(s):
        a = torch.empty(s["n"], s["n"])
        return lambda: a @ a if bool(torch.isfinite(a).all()) else a + a

    paths = symcount.trace_paths(build, ["n"])
    # isfinite is abs, ne, eq, mul (4 per entry) and all 1 per entry, on either path
    assert sorted(sp.sstr(f.flops) for f in paths) == ["2*n**3 + 5*n**2", "6*n**2"]
    a = torch.randn(7, 7)
    real = count(lambda: a @ a if bool(torch.isfinite(a).all()) else a + a).flops
    assert real == next(f for f in paths if f.decisions == (True,)).at({"n": 7})
    assert {f.decisions for f in paths} == {(True,), (False,)}
    with pytest.raises(symcount.Decline, match="several paths"):
        symcount.trace(build, ["n"])


def test_a_value_read_that_is_not_a_truth_value_declines():
    def build(s):
        a = torch.empty(s["n"])
        return lambda: a * float(a.sum())

    with pytest.raises(symcount.Decline):
        symcount.trace_paths(build, ["n"])


def test_trace_declines_an_operator_charged_by_the_default_rule():
    with pytest.raises(symcount.Decline, match="by its default"):
        symcount.trace(lambda s: lambda: torch.special.bessel_j0(torch.empty(s["n"])), ["n"])


def test_trace_memory_peak_holds_from_where_its_guards_do():
    def build(s):
        q, k = torch.empty(s["n"], 32), torch.empty(s["n"], 32)
        return lambda: torch.softmax(q @ k.T / 2.0, dim=-1) @ k

    got = symcount.trace(build, ["n"], memory=True)
    assert got.valid_from > 2 and got.guards           # the peak's order changes at small n
    for nv in (got.valid_from, got.valid_from + 1, 100, 1021):
        q, k = torch.randn(nv, 32), torch.randn(nv, 32)
        real = count(lambda: torch.softmax(q @ k.T / 2.0, dim=-1) @ k)
        assert got.at({"n": nv}, "memory") == real.peak_bytes


def test_memory_of_several_sizes_with_a_branching_peak_declines():
    def build(s):
        a = torch.empty(s["p"], s["q"])
        return lambda: (a @ a.T).sum() + (a.T @ a).sum()

    with pytest.raises(symcount.Decline, match="branches"):
        symcount.trace(build, ["p", "q"], memory=True)


def test_eventually_from():
    assert symcount.eventually_from([sp.StrictGreaterThan(n, 100)], n) == 101
    assert symcount.eventually_from([sp.GreaterThan(n, 100)], n) == 100
    assert symcount.eventually_from([sp.Unequality(n, 7)], n) == 8
    assert symcount.eventually_from([sp.GreaterThan(8 * n ** 2, 4 * n ** 2 + 128 * n)], n) == 32
    with pytest.raises(symcount.Decline):
        symcount.eventually_from([sp.StrictLessThan(n, 100)], n)


# ----------------------------------------------------------------- the asymptotic rule
@pytest.mark.parametrize("count_, bound, kind, holds", [
    (2 * n ** 2, n ** 2 + 10 ** 6, "O", True),
    (2 * n ** 2, n ** 2 + 10 ** 6, "Θ", True),
    (2 * n ** 2, n + 10 ** 12, "O", False),
    (2 * n ** 3, n ** 2, "Θ", False),
    (2 * n ** 3, n ** sp.Rational(31, 10), "Θ", False),
    (2 * n ** 3, n ** sp.Rational(31, 10), "O", True),
    (sp.floor(5 * n * sp.log(n, 2)), n, "O", False),
    (sp.floor(5 * n * sp.log(n, 2)), n * sp.log(n), "Θ", True),
    (sp.floor(5 * n * sp.log(n, 2)), n ** 2, "Ω", False),
    (2 * n ** 3, n ** 2 * sp.log(n), "Ω", True),
    (sp.floor(2 * n ** 3 / 3) + n, n ** 3, "Θ", True),
])
def test_one_size_limits(count_, bound, kind, holds):
    if holds:
        assert asymptotics.decide(count_, bound, [n], kind)["limit_value"]
    else:
        with pytest.raises(asymptotics.Undecided):
            asymptotics.decide(count_, bound, [n], kind)


def test_bound_must_stay_positive():
    with pytest.raises(asymptotics.Undecided, match="positive"):
        asymptotics.decide(2 * n, 1 / n - 1, [n], "O")


@pytest.mark.parametrize("count_, bound, kind, orders, holds", [
    (2 * p * q * q, p * p * q, "Θ", [], False),          # Gram matrix, exponents swapped
    (2 * p * q * q, p * q * q, "Θ", [], True),
    (2 * p * q * q + 2 * q ** 3, p * q * q, "Θ", [], False),   # q ≫ p allowed
    (2 * p * q * q + 2 * q ** 3, p * q * q, "Θ", [(0, 1)], True),  # p ≥ q kept
    (2 * p * p * q, p ** 3 + q ** 3, "O", [], False),    # true (AM-GM) but not termwise
    (2 * p * p * q, p ** 3 + q ** 3, "Θ", [], False),    # false: q ≫ p
    (2 * p * q - p, p * q, "Θ", [], False),               # negative term: no lower bound
    (2 * p * q - p, p * q, "O", [], True),
])
def test_several_sizes_termwise(count_, bound, kind, orders, holds):
    if holds:
        assert asymptotics.decide(count_, bound, [p, q], kind, orders)["terms"]
    else:
        with pytest.raises(asymptotics.Undecided):
            asymptotics.decide(count_, bound, [p, q], kind, orders)


def test_up_sets_follow_the_orders():
    # x0 ≥ x1: a set holding 1 must hold 0
    assert asymptotics.up_sets(2, [(0, 1)]) == [(0,), (0, 1)]
    assert asymptotics.below((0, 1), (1, 0), asymptotics.up_sets(2, [(0, 1)]))
    assert not asymptotics.below((0, 1), (1, 0), asymptotics.up_sets(2, []))


# ----------------------------------------------------------------- the whole route
CLAIMS = """
claim gp.a "matvec"
  let n in [64, 128, 256]
  let A : matrix[n, n]
  let x : vector[n]
  show flops[A @ x] in O(n^2 + 10^6)

claim gp.b "wall time is never proved"
  let n in [64, 128, 256]
  let A : matrix[n, n]
  let x : vector[n]
  show time[A @ x] in O(n^3)

claim gp.c "a recurrence is not one formula"
  let n in [64, 128, 256]
  let A : matrix[n, n]
  let w[t+1] = A @ w[t], w[0] = ones(n)
  show flops[w[3]] ~ n^2
"""


def test_proved_with_evidence_and_cross_check():
    checked = checked_claims(CLAIMS)["gp.a"]
    (st,) = statements(checked)
    assert st["verdict"] == "proved"
    assert "under derive's FLOP counting rule" in st["summary"]
    proof = st["evidence"]["symbolic_proof"]
    assert proof["symbolic_count"] == "2*n**2"
    sizes = [r["sizes"]["n"] for r in proof["cross_check"]["sizes"]]
    assert {64, 128, 256} <= set(sizes) and len(sizes) >= 3 + growth_proof.MIN_EXTRA
    assert proof["certificate"]["route"].startswith("symbolic FLOPs")


@pytest.mark.parametrize("cid", ["gp.b", "gp.c"])
def test_wall_time_and_recurrences_are_not_proved(cid):
    (st,) = statements(checked_claims(CLAIMS)[cid])
    assert st["verdict"] != "proved"


def test_cross_check_declines_when_the_formula_is_not_the_count():
    checked = checked_claims(CLAIMS)["gp.a"]
    cost = cost_of(checked)
    (formula,) = symcount.symbolic_cost(checked, cost.arg, ["n"], {})
    meta = lambda pt: wide.meta_count(checked, cost.arg, pt).flops  # noqa: E731
    grid = [{"n": 64}, {"n": 128}]
    assert growth_proof.cross_check([formula], meta, meta, grid, growth_proof.extra_points(
        {"n": 64}, ["n"]))
    # off by one at a single extra size only: the sweep alone would not see it
    wrong = symcount.SymbolicCount(formula.flops + sp.Piecewise((1, sp.Eq(n, 1021)), (0, True)),
                                   formula.symbols)
    with pytest.raises(symcount.Decline, match="BUG"):
        growth_proof.cross_check([wrong], meta, meta, grid, growth_proof.extra_points(
            {"n": 64}, ["n"]))
    # a count that passed through a float (2^53 and beyond round) is no exact evidence
    rounded = lambda pt: float(meta(pt))  # noqa: E731
    with pytest.raises(symcount.Decline, match="not an exact integer"):
        growth_proof.cross_check([formula], rounded, meta, grid, growth_proof.extra_points(
            {"n": 64}, ["n"]))


def _claims_of(path: Path) -> dict:
    return checked_claims(path.read_text())


def test_no_false_claim_of_the_adversarial_file_gets_a_proof():
    """The proof route is asked on refuted statements too: it must decline every one
    (a proof there would be an error, but the route itself must not be the one to fail)."""
    path = ROOT / "tests" / "soundness" / "growth_proof.claims"
    for cid, checked in _claims_of(path).items():
        false = checked.claim.expect == "refuted"
        for st in statements(checked):
            if false:
                assert st["verdict"] == "refuted", (cid, st["summary"])
                assert "declined" in st["evidence"].get("symbolic_proof", {"declined": 1}), cid
            else:
                assert st["verdict"] in ("proved", "verified"), (cid, st["summary"])


# ----------------------------------------------------------------- products of one-size factors
def test_separable_products_with_roundings_are_bounded_at_every_size_from_2():
    L, N = symcount.size_symbol("L"), symcount.size_symbol("n")
    depth = sp.ceiling(sp.log(2 * L) / sp.log(2)) * sp.ceiling(sp.log(N + 1) / sp.log(2))
    proof = asymptotics.decide(depth, sp.log(L) * sp.log(N), [L, N], "Θ")
    assert "one-size factors" in proof["rule"] and len(proof["terms"]) == 2
    for count, bound in [(L * sp.ceiling(sp.log(N) / sp.log(2)) ** 2, L * sp.log(N)),  # log²
                         (N / L, N),                                              # 1/L → 0
                         (L * (20 - sp.floor(sp.log(N) / sp.log(2))), L),         # sign unknown
                         (L * (sp.ceiling(sp.log(N) / sp.log(2)) - 1), L * sp.log(N))]:  # 0 at n=2
        with pytest.raises(asymptotics.Undecided):
            asymptotics.decide(count, bound, [L, N], "Θ")
