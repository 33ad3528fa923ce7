"""derive mutate: mutation operators on the model, and kill rates end to end."""
from __future__ import annotations

import json
from fractions import Fraction

import pytest

from derive import model as m
from derive import mutants
from derive import mutate as M
from derive.engine import Options
from derive.language.load import load_text
from derive.runner import RunConfig
from derive.semantics import check_claim


def claim_of(text: str) -> m.Claim:
    loaded = load_text(text)
    assert not loaded.broken, loaded.diagnostics
    return loaded.claims[0]


SAMPLE = """claim mut.sample
  let n : dim
  let a, b : real
  let S : matrix[n, n] symmetric
  let A, B : matrix[n, n]
  let u : vector[n]
  show (a + b)^2 == a^2 + 2*a*b + b^2
  show A @ B @ u == A @ (B @ u)
  show Sᵀ == S
  show -a * b < 3 => a * b > -3
"""


def test_every_operator_appears():
    claim = claim_of(SAMPLE)
    kinds = {s.kind for s in mutants.sites(claim)}
    assert kinds == {"constant", "exponent", "swap", "sign", "transpose", "compare"}
    texts = [s.description for s in mutants.sites(claim)]
    assert any("exponent of" in t and "+1" in t for t in texts)
    assert any("'<' swapped to '>'" == t for t in texts)
    assert any("'>' swapped to '<'" == t for t in texts)
    assert any(t.startswith("transpose dropped") for t in texts)


def test_mutants_change_exactly_one_thing_and_keep_the_original():
    claim = claim_of(SAMPLE)
    original = claim.statements
    for site in mutants.sites(claim):
        mutant = mutants.apply(claim, site)
        assert claim.statements == original  # frozen: the claim itself is untouched
        changed = [i for i, (x, y) in enumerate(zip(claim.statements, mutant.statements)) if x != y]
        assert changed == [site.statement], site.description


def test_specific_mutants():
    claim = claim_of(SAMPLE)
    by_desc = {s.description: s for s in mutants.sites(claim)}
    site = by_desc["constant 2 doubled"]
    stmt = mutants.apply(claim, site).statements[site.statement].statement
    nums = [n.value for _, n in mutants.nodes_with_paths(stmt) if isinstance(n, m.Num)]
    assert Fraction(4) in nums
    swap = next(s for s in mutants.sites(claim) if s.kind == "swap")
    new = swap.new
    assert isinstance(new, m.BinOp) and new.left == swap.old.right and new.right == swap.old.left


def test_no_duplicate_mutants():
    claim = claim_of("claim c\n  let x : real\n  show x^4 == x^4\n")
    news = [mutants.apply(claim, s).statements for s in mutants.sites(claim)]
    assert len(news) == len(set(news))


def test_ill_typed_mutants_are_detected_by_the_semantic_pass():
    text = "claim c\n  let m, n : dim\n  let A : matrix[m, n]\n  let x : vector[n]\n  show A @ x == A @ x\n"
    claim = claim_of(text)
    lines = text.split("\n")
    swaps = [s for s in mutants.sites(claim) if s.kind == "swap"]
    assert swaps
    for s in swaps:
        checked, diags = check_claim(mutants.apply(claim, s), lines)
        assert checked is None and any("@" in d.message for d in diags)


def test_survival_reasons():
    claim = claim_of(SAMPLE)
    site = next(s for s in mutants.sites(claim) if s.kind == "transpose")
    reason = M.survival_reason(site, M.Verdict.VERIFIED, "holds on 26 random instances")
    assert "not shown equivalent" in reason and "symmetric" in reason
    undecided = M.survival_reason(site, M.Verdict.UNSUPPORTED, "no strategy")
    assert undecided.startswith("not decided")


def _classify(text: str, description: str, verdict: str = "verified", nth: int = 0):
    from derive.equivalence import classify

    claim = claim_of(text)
    lines = text.split("\n")
    base, _ = check_claim(claim, lines)
    site = [s for s in mutants.sites(claim) if s.description == description][nth]
    mutant, diags = check_claim(mutants.apply(claim, site), lines)
    assert mutant is not None, diags
    return classify(claim, base, mutant, site.statement, site.path, verdict)


def test_equivalence_is_checked_not_guessed():
    symmetric = _classify(SAMPLE, "transpose dropped from Sᵀ")
    assert symmetric is not None and symmetric.kind == "same-values"
    dead = _classify("claim d\n  let x : real\n  let unused = 3 * x\n  show x + x == 2 * x\n",
                     "constant 3 doubled")
    assert dead is not None and dead.kind == "dead" and "'unused'" in dead.reason
    commute = _classify("claim c\n  let n : dim\n  let A : matrix[n, n]\n  let c : real\n"
                        "  show A @ (c * I[n]) == c * A\n", "operands of (A @ (c * I(n))) swapped")
    assert commute is not None and commute.kind == "same-values"
    # a real difference is no equivalence, even when the mutant happens to be verified
    real = _classify("claim r\n  let n : dim\n  let A, B : matrix[n, n]\n  show A @ B == A @ B\n",
                     "operands of (A @ B) swapped")
    assert real is None


def test_looser_bounds_are_implied_tighter_are_not():
    text = "claim b\n  let x : real\n  show x^2 + 1 >= 2*x\n"
    looser = _classify(text, "constant 1 doubled")      # x² + 2 ≥ 2x: the left side grew
    assert looser is not None and looser.kind == "implied"
    tighter = _classify(text, "constant 2 doubled")     # x² + 1 ≥ 4x: the right side grew
    assert tighter is None
    proved = _classify(text, "constant 2 doubled", verdict="proved")
    assert proved is not None and proved.kind == "proved"


def test_cost_claims_compare_counts_not_values():
    text = ("claim k\n  let n in [16, 32]\n  let A : matrix[n, n] ~ normal(0, 1)\n"
            "  let x : vector[n] ~ normal(0, 1)\n  let y = 3 * (A @ x)\n  let z = (A @ A) @ x\n"
            "  show flops[y] ~ n^2\n  show flops[z] ~ n^3\n")
    values = _classify(text, "constant 3 doubled")
    assert values is not None and values.kind == "same-cost"
    power = ("claim k3\n  let n in [16, 32]\n  let A : matrix[n, n] ~ normal(0, 1)\n"
             "  let x : vector[n] ~ normal(0, 1)\n  let z = A^2 @ x\n  show flops[z] ~ n^3\n")
    more = _classify(power, "exponent of (A ^ 2) +1")   # one more product: other counts …
    assert more is not None and more.kind == "same-growth"  # … but still Θ(n³)
    assert "2 times" in more.reason


def test_growth_claims_keep_or_lose_their_theta():
    """A changed constant inside a log keeps Θ (SymPy limit); a changed power does not."""
    depth = ("claim g\n  let n in [64, 128, 256]\n  let q = 1 + ceil(log(n + 1) / log(2))\n"
             "  show q ~ log(n)\n")
    kept = _classify(depth, "constant 1 doubled")
    assert kept is not None and kept.kind == "same-growth" and "SymPy" in kept.reason
    power = "claim g2\n  let n in [64, 128, 256]\n  let q = n^2 + n\n  show q ~ n^2\n"
    assert _classify(power, "exponent of (n ^ 2) +1") is None
    cost = ("claim k4\n  let n in [16, 32]\n  let A : matrix[n, n] ~ normal(0, 1)\n"
            "  let x : vector[n] ~ normal(0, 1)\n  let z = A^2 @ x\n  show flops[z] ~ n^3\n")
    assert _classify(cost, "exponent of (A ^ 2) -1") is None  # A @ x: Θ(n²), not Θ(n³)
    bigo = ("claim o\n  let n in [64, 128]\n  let d in [8, 16]\n  let A : matrix[n, d] ~ normal(0, 1)\n"
            "  show flops[Aᵀ @ A] in O(n * d^2)\n")
    looser = _classify(bigo, "exponent of (d ^ 2) +1")   # O(n d³) ⊇ O(n d²): still true
    assert looser is not None and looser.kind == "same-growth"
    assert _classify(bigo, "exponent of (d ^ 2) -1") is None  # O(n d) is a tighter bound


def test_negating_symmetric_noise_shows_the_same_distribution():
    text = ("claim s\n  let k : dim\n  let μ : vector[k]\n  let σ : real > 0\n"
            "  let z : vector[k] ~ normal(0, 1)\n  show E[norm(μ + σ*z)^2] == norm(μ)^2 + k*σ^2\n")
    same = _classify(text, "sign flipped in (μ + (σ * z))")
    assert same is not None and same.kind == "same-distribution" and "'z'" in same.reason
    skewed = text.replace("normal(0, 1)", "exponential(1)")
    assert _classify(skewed, "sign flipped in (μ + (σ * z))") is None


def test_identities_in_a_constant_are_free():
    text = ("claim f\n  let d : dim\n  let Q : matrix[d, d] orthogonal\n  let x : vector[d]\n"
            "  let f(v) = 2 * norm(v) + 1\n  show f(Q @ x) == f(x)\n")
    free = _classify(text, "constant 2 doubled")   # c·‖v‖ + 1 is rotation-invariant for any c
    assert free is not None and free.kind == "free" and "identities" in free.reason
    binding = "claim f2\n  let x : real\n  show (x + 1)^2 == x^2 + 2*x + 1\n"
    assert _classify(binding, "constant 2 doubled") is None


def test_mutant_counts_are_not_taken_from_the_claims_cache():
    """The timing cache is keyed by the model: a mutant keeps its claim's id and text."""
    from derive.timing.bench import Bench

    text = ("claim k2\n  let n in [16, 32]\n  let A : matrix[n, n] ~ normal(0, 1)\n"
            "  let x : vector[n] ~ normal(0, 1)\n  let z = A^2 @ x\n  show flops[z] ~ n^3\n")
    claim = claim_of(text)
    lines = text.split("\n")
    site = next(s for s in mutants.sites(claim) if s.description == "exponent of (A ^ 2) +1")
    base, _ = check_claim(claim, lines)
    mutant, _ = check_claim(mutants.apply(claim, site), lines)
    assert mutant is not None and mutant.claim.text == base.claim.text
    arg = base.claim.shows[0].statement.operands[0].arg
    before = Bench(base, 0, "cpu").count(arg, {"n": 16}).flops
    after = Bench(mutant, 0, "cpu").count(arg, {"n": 16}).flops
    assert before != after


def test_report_json_and_text():
    report = M.MutationReport([M.ClaimMutation("a", "f", 1, "proved", [
        M.MutantResult("constant", "constant 2 doubled", 3, "refuted", True, "x=1"),
        M.MutantResult("swap", "operands of (A @ A) swapped", 4, "proved", False, "",
                       "equivalent mutant: both operands of @ are the same expression")])])
    assert report.kill_rate == 0.5
    doc = json.loads(report.to_json())
    assert doc["killed"] == 1 and doc["total"] == 2 and doc["claims"][0]["kill_rate"] == 0.5
    text = report.render_text()
    assert "1/2 mutants killed (50%)" in text and "survived: operands of (A @ A) swapped" in text
    assert "kill rate: 1/2 = 50.0%" in text
    report.claims[0].mutants.append(M.MutantResult(
        "transpose", "transpose dropped from Sᵀ", 5, "verified", False, "", "same values", "same-values"))
    assert report.kill_rate == 0.5 and report.equivalent == 1   # left out of the rate
    text = report.render_text()
    assert "equivalent (same-values): transpose dropped from Sᵀ (line 5) — same values" in text
    assert "counting them as survivors: 1/3 = 33.3%" in text


def _engines_installed() -> bool:
    try:
        from derive.decide import engines

        return {"symbolic", "numeric"} <= set(engines())
    except Exception:  # noqa: BLE001 - engines mid-construction
        return False


@pytest.mark.skipif(not _engines_installed(), reason="engines not installed")
def test_mutate_end_to_end(tmp_path):
    path = tmp_path / "m.claims"
    path.write_text("claim e2e.square\n  let a, b : real\n  show (a + b)^2 == a^2 + 2*a*b + b^2\n\n"
                    "claim e2e.false\n  let a : real\n  show a == a + 1\n", encoding="utf-8")
    report = M.mutate([str(path)], RunConfig(options=Options(seed=0, symbolic_time_limit=5.0),
                                             time_limit=60.0))
    assert [c.id for c in report.claims] == ["e2e.square"]
    assert ("e2e.false", "refuted") in report.not_mutated
    entry = report.claims[0]
    assert entry.total >= 8
    assert entry.kill_rate == 1.0, report.render_text()


@pytest.mark.skipif(not _engines_installed(), reason="engines not installed")
def test_parallel_mutate_gives_the_same_report(tmp_path):
    path = tmp_path / "p.claims"
    path.write_text("claim p.one\n  let a, b : real\n  show a * b == b * a\n\n"
                    "claim p.two\n  let a : real\n  show (a + 1)^2 == a^2 + 2*a + 1\n",
                    encoding="utf-8")
    options = Options(seed=0, symbolic_time_limit=5.0)
    one = M.mutate([str(path)], RunConfig(options=options, time_limit=60.0, jobs=1)).as_dict()
    two = M.mutate([str(path)], RunConfig(options=options, time_limit=60.0, jobs=2)).as_dict()
    one.pop("seconds"), two.pop("seconds")
    assert one == two and [c["id"] for c in two["claims"]] == ["p.one", "p.two"]


def test_chained_bounds_and_expectations_loosen_one_way():
    chain = "claim ch\n  let x : real > 1\n  show x <= x^2 <= 2 * x^2\n"
    assert _classify(chain, "constant 2 doubled", nth=1).kind == "implied"  # x² ≤ 4x²: looser
    assert _classify(chain, "exponent of (x ^ 2) +1") is None              # the middle: both ways
    mc = "claim mc\n  let z : real ~ normal(0, 1)\n  show E[z^2] <= 2\n"
    assert _classify(mc, "constant 2 doubled", nth=1).kind == "implied"   # 2 → 4 on the right
    inside = "claim mc2\n  let z : real ~ normal(0, 1)\n  show E[z^2 - 1] <= 1\n"
    looser = _classify(inside, "constant 1 doubled")
    assert looser is not None and looser.kind == "implied"               # z² − 2 ≤ z² − 1 pointwise


def test_sizes_of_the_instance_are_not_mutated():
    claim = claim_of("claim sz\n  let d = 16\n  let k = 3\n  let x : vector[d]\n"
                     "  show k * norm(x)^2 == 3 * (x · x)\n")
    texts = [s.description for s in mutants.sites(claim)]
    assert "constant 16 doubled" not in texts          # d sizes x: the instance, not the formula
    assert "constant 3 doubled" in texts               # k is a value: mutated
    inside = "claim mc3\n  let z : real ~ normal(0, 1)\n  show E[z^2 - 1] <= 1\n"
    assert _classify(inside, "sign flipped in ((z ^ 2) - 1)") is None  # z² + 1 rises: tighter


def test_a_definition_the_equations_do_not_pin_is_free():
    assoc = ("claim fr\n  let n : dim\n  let Q, K, V : matrix[n, n]\n  let F = relu(Q) + 1\n"
             "  show (F @ Kᵀ) @ V == F @ (Kᵀ @ V)\n")
    free = _classify(assoc, "constant 1 doubled")
    assert free is not None and free.kind == "free" and "'F'" in free.reason
    pinned = ("claim pn\n  let a, b : real\n  let s = a + b\n  show s^2 == a^2 + 2*a*b + b^2\n")
    assert _classify(pinned, "sign flipped in (a + b)") is None


def test_a_function_the_equations_do_not_pin_is_free():
    chain = ("claim fn\n  let x, y : real\n  let f(a, b) = a * b + 3 * a\n"
             "  show grad(f(x, x), x) == (grad(f(y, x), y) at (y = x)) + (grad(f(x, y), y) at (y = x))\n")
    free = _classify(chain, "constant 3 doubled")
    assert free is not None and free.kind == "free" and "'f'" in free.reason
    pinned = "claim fp\n  let x : real\n  let f(a) = 3 * a\n  show f(x) + f(x) == 6 * x\n"
    assert _classify(pinned, "constant 3 shifted by +1") is None


def test_a_changed_bound_is_never_same_cost():
    """Equal FLOPs say nothing about a bound: O(n²) → O(n) must not be excluded."""
    text = ("claim sc\n  let n in [16, 32, 64]\n  let A : matrix[n, n] ~ normal(0, 1)\n"
            "  let x : vector[n] ~ normal(0, 1)\n  show flops[A @ x] in O(n^2)\n")
    tighter = _classify(text, "exponent of (n ^ 2) -1")
    assert tighter is None or tighter.kind != "same-cost"
    assert tighter is None  # nor the same growth: O(n) is a tighter bound
    looser = _classify(text, "exponent of (n ^ 2) +1")
    assert looser is not None and looser.kind == "same-growth"  # O(n³) ⊇ O(n²)
