"""derive mutate: mutation operators on the model, and kill rates end to end."""
from __future__ import annotations

import json
from fractions import Fraction

import pytest

from derive import model as m
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
    kinds = {s.kind for s in M.sites(claim)}
    assert kinds == {"constant", "exponent", "swap", "sign", "transpose", "compare"}
    texts = [s.description for s in M.sites(claim)]
    assert any("exponent of" in t and "+1" in t for t in texts)
    assert any("'<' swapped to '>'" == t for t in texts)
    assert any("'>' swapped to '<'" == t for t in texts)
    assert any(t.startswith("transpose dropped") for t in texts)


def test_mutants_change_exactly_one_thing_and_keep_the_original():
    claim = claim_of(SAMPLE)
    original = claim.statements
    for site in M.sites(claim):
        mutant = M.apply(claim, site)
        assert claim.statements == original  # frozen: the claim itself is untouched
        changed = [i for i, (x, y) in enumerate(zip(claim.statements, mutant.statements)) if x != y]
        assert changed == [site.statement], site.description


def test_specific_mutants():
    claim = claim_of(SAMPLE)
    by_desc = {s.description: s for s in M.sites(claim)}
    site = by_desc["constant 2 doubled"]
    stmt = M.apply(claim, site).statements[site.statement].statement
    nums = [n.value for _, n in M.nodes_with_paths(stmt) if isinstance(n, m.Num)]
    assert Fraction(4) in nums
    swap = next(s for s in M.sites(claim) if s.kind == "swap")
    new = swap.new
    assert isinstance(new, m.BinOp) and new.left == swap.old.right and new.right == swap.old.left


def test_no_duplicate_mutants():
    claim = claim_of("claim c\n  let x : real\n  show x^4 == x^4\n")
    news = [M.apply(claim, s).statements for s in M.sites(claim)]
    assert len(news) == len(set(news))


def test_ill_typed_mutants_are_detected_by_the_semantic_pass():
    text = "claim c\n  let m, n : dim\n  let A : matrix[m, n]\n  let x : vector[n]\n  show A @ x == A @ x\n"
    claim = claim_of(text)
    lines = text.split("\n")
    swaps = [s for s in M.sites(claim) if s.kind == "swap"]
    assert swaps
    for s in swaps:
        checked, diags = check_claim(M.apply(claim, s), lines)
        assert checked is None and any("@" in d.message for d in diags)


def test_survival_reasons():
    claim = claim_of(SAMPLE)
    checked, _ = check_claim(claim, SAMPLE.split("\n"))
    site = next(s for s in M.sites(claim) if s.kind == "transpose")
    reason = M.survival_reason(site, checked, M.Verdict.PROVED, "")
    assert "symmetric" in reason and "equivalent" in reason
    undecided = M.survival_reason(site, checked, M.Verdict.UNSUPPORTED, "no strategy")
    assert undecided.startswith("not decided")
    same = claim_of("claim c\n  let n : dim\n  let A : matrix[n, n]\n  show A @ A == A @ A\n")
    checked2, _ = check_claim(same, [])
    swap = next(s for s in M.sites(same) if s.kind == "swap")
    assert "same expression" in M.survival_reason(swap, checked2, M.Verdict.PROVED, "")


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
