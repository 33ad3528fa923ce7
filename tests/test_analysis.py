"""The one analysis of a checked claim (derive/analysis.py), and that the engines use it.

Each shared function is tested on its own; an AST scan of ``derive/`` then asserts that
each is defined once, in derive/analysis.py, and that the per-engine re-derivations it
replaced (``used_names``, a second ``sweep_values``, CRC-32 seeds) do not come back.
"""
from __future__ import annotations

import ast
import math
import random
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp

from derive import model as m
from derive.analysis import (SizeError, claim_seed, dim_at, reachable, size_condition, size_value,
                             statement_seed, sweep_values)
from derive.language.load import load_text
from derive.semantics import check_claim

ROOT = Path(__file__).resolve().parent.parent / "derive"


def checked_of(text: str):
    loaded = load_text(text)
    assert not loaded.diagnostics, loaded.diagnostics
    (claim,) = loaded.claims
    checked, diags = check_claim(claim, text.split("\n"))
    assert checked is not None, diags
    return checked


def show(checked, k: int = 0) -> m.Expr:
    return checked.claim.shows[k].statement


# ------------------------------------------------------------------ reachable
DEPS = """
claim deps
  let n, d : dim
  let mu : real
  let s : real > 0
  let z : real ~ normal(mu, s)
  let W : matrix[n, d]
  let x : vector[d] ~ normal(0, 1)
  let y = W @ x
  let unused = mu + 1
  let f(t) = t + z
  show norm(y) + f(1) >= 0
"""


def test_reachable_follows_definitions_functions_and_distributions():
    checked = checked_of(DEPS)
    got = reachable(checked, [show(checked)])
    # y → W, x; f → z → mu, s (a random scalar's distribution); shapes → n, d
    assert {"y", "W", "x", "f", "z", "mu", "s", "n", "d"} <= got
    assert "unused" not in got
    # only declared names: builtins (norm) and the function's bound variable are not in it
    assert got <= set(checked.symbols)


def test_reachable_without_shapes_leaves_out_the_sizes():
    checked = checked_of(DEPS)
    got = reachable(checked, [show(checked)], shapes=False)
    assert {"y", "W", "x", "f", "z", "mu", "s"} <= got
    assert not {"n", "d"} & got


def test_reachable_follows_recurrences():
    checked = checked_of("""
claim rec
  let a : real
  let w[t+1] = a * w[t],  w[0] = 1
  show w[3] == a^3
""")
    assert "a" in reachable(checked, [show(checked).operands[0]])


# ------------------------------------------------------------------ sizes at a point
SIZES = """
claim sizes
  let n : dim
  let k = n - 1
  let h = n * log(n)
  let x : vector[n]
  show norm(x) >= 0
"""


def _expr(checked, text: str) -> m.Expr:
    """A size expression parsed inside the claim (its last show statement's left side)."""
    loaded = load_text(SIZES.replace("show norm(x) >= 0", f"show {text} >= 0"))
    claim = loaded.claims[0]
    return claim.shows[0].statement.operands[0]


def test_size_value_evaluates_sizes_definitions_and_declared_values():
    checked = checked_of(SIZES)
    assert size_value(_expr(checked, "h + k"), {"n": 8}, checked) == pytest.approx(8 * math.log(8) + 7)
    assert size_value(_expr(checked, "max(n, 3) / 2 - sqrt(n)"), {"n": 16}, checked) == 8 - 4
    with pytest.raises(SizeError, match="division by zero"):
        size_value(_expr(checked, "1 / (n - 4)"), {"n": 4}, checked)
    with pytest.raises(SizeError, match="no size value"):
        size_value(_expr(checked, "n"), {}, checked)


def test_size_value_reads_costs_only_when_given():
    cost = m.Cost("time", m.Name("n"))
    e = m.BinOp("/", cost, m.Num(Fraction(4), "4"))
    assert size_value(e, {}, None, {cost: 2.0}) == 0.5
    with pytest.raises(SizeError):
        size_value(e, {}, None)


def test_size_condition():
    checked = checked_of(SIZES)
    cond = load_text(SIZES.replace("show norm(x) >= 0", "show n >= 4 and not n == 5")
                     ).claims[0].shows[0].statement
    assert size_condition(cond, {"n": 4}, checked) is True
    assert size_condition(cond, {"n": 5}, checked) is False
    assert size_condition(cond, {"n": 3}, checked) is False


def test_dim_at_substitutes_and_names_what_is_missing():
    n, k = sp.symbols("n k")
    assert dim_at(n - k + 1, {"n": 5, "k": 2}) == 4.0
    assert dim_at(sp.Integer(7), {}) == 7.0 and dim_at(3, {}) == 3.0
    with pytest.raises(SizeError, match="no size for k"):
        dim_at(n - k, {"n": 5})


def test_a_declared_dimension_value_is_a_size():
    checked = checked_of(SIZES)
    assert size_value(m.Name("k"), {"n": 9}, checked) == 8.0


# ------------------------------------------------------------------ sweeps
def _sweep(values: str):
    checked = checked_of(f"""
claim sw
  let n in {values}
  let x : vector[n]
  show norm(x) >= 0
""")
    return checked, checked.symbols["n"]


def test_sweep_values_of_a_list_keep_their_order():
    checked, info = _sweep("[512, 64, 128]")
    assert sweep_values(checked, info) == [512, 64, 128]
    assert sweep_values(checked, info, most=2) == [512, 64, 128]  # a list is never thinned


def test_sweep_values_of_a_range_are_all_its_integers():
    checked, info = _sweep("2..100")
    assert sweep_values(checked, info) == list(range(2, 101))


def test_a_long_range_is_thinned_geometrically_keeping_its_ends():
    checked, info = _sweep("2..1000")
    got = sweep_values(checked, info, most=8)
    assert len(got) == 8 and got[0] == 2 and got[-1] == 1000 and got == sorted(got)
    ratios = [b / a for a, b in zip(got, got[1:])]
    assert max(ratios) / min(ratios) < 1.1   # evenly spaced on a log scale
    assert sweep_values(checked, info, most=1000) == list(range(2, 1001))


def test_both_engines_see_the_same_sweep():
    """The numeric engine's smallest size is the timing grid's smallest (once two functions
    of one name, with different answers)."""
    import torch
    from derive.numeric.instances import choose_sizes
    from derive.timing.sizes import build_grid
    checked, info = _sweep("3..1000")
    grid = build_grid(checked, {"n"})
    sizes = choose_sizes(checked, torch.Generator().manual_seed(0))
    assert sizes["n"] == min(p["n"] for p in grid.points) == 3
    assert {p["n"] for p in grid.points} <= set(sweep_values(checked, info))


# ------------------------------------------------------------------ seeds
def test_claim_seed_is_stable_and_63_bit():
    # pinned: every engine's random stream starts here, so a change shows
    assert claim_seed(0, "a.b", "x") == claim_seed(0, "a.b", "x") == 2622940324134269665
    seeds = {claim_seed(s, c, salt) for s in (0, 1) for c in ("a", "b") for salt in ("", "x")}
    assert len(seeds) == 8 and all(0 <= s < 2 ** 63 for s in seeds)


def test_statement_seed_is_the_claim_seed_of_the_statement():
    assert statement_seed(3, "c", 2, "mc") == claim_seed(3, "c", "2:mc")
    assert statement_seed(3, "c", 2, "mc") != statement_seed(3, "c", 1, "mc")


def test_symbolic_and_timing_seeds_come_from_the_shared_derivation():
    from derive.engine import Context, Options
    from derive.symbolic.common import rng_for
    checked = checked_of(SIZES)
    ctx = Context(checked, checked.claim.shows[0], 0, Options(seed=7))
    expected = random.Random(statement_seed(7, checked.claim.id, 0, "s")).random()
    assert rng_for(ctx, "s").random() == expected


# ------------------------------------------------------------------ one definition each
SHARED = ("reachable", "size_value", "size_condition", "dim_at", "sweep_values", "claim_seed",
          "statement_seed", "SizeError")
REMOVED = ("used_names",)


def _definitions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.setdefault(node.name, []).append(str(path.relative_to(ROOT.parent)))
    return found


def test_each_shared_function_is_defined_once_in_derive_analysis():
    defs = _definitions()
    for name in SHARED:
        assert defs.get(name) == ["derive/analysis.py"], (name, defs.get(name))
    for name in REMOVED:
        assert name not in defs, (name, defs[name])


def test_no_engine_derives_a_seed_of_its_own():
    """Seeds come from derive.analysis: no CRC-32 or ad-hoc digest of a run seed."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.name == "analysis.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "crc32":
                offenders.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    assert not offenders, offenders


def test_the_engines_import_the_shared_functions_from_derive_analysis():
    users = {"derive/numeric/instances.py": {"sweep_values", "dim_at"},
             "derive/numeric/montecarlo.py": {"reachable", "claim_seed"},
             "derive/numeric/growth.py": {"statement_seed"},
             "derive/symbolic/common.py": {"statement_seed"},
             "derive/timing/sizes.py": {"sweep_values", "dim_at", "claim_seed"},
             "derive/timing/verdicts.py": {"reachable", "size_value"}}
    for rel, names in users.items():
        tree = ast.parse((ROOT.parent / rel).read_text(encoding="utf-8"))
        imported = {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    and node.module == "derive.analysis" for a in node.names}
        assert names <= imported, (rel, names - imported)


def test_analysis_is_below_the_engines():
    from tests.test_layering import LAYERS
    layer = next(name for name, prefixes in LAYERS if "derive.analysis" in prefixes)
    engines = next(i for i, (name, _) in enumerate(LAYERS) if name == "engines")
    assert [name for name, _ in LAYERS].index(layer) < engines


# ------------------------------------------------------------------ one sampler
PROPS = """
claim props
  let n in [8]
  let Q : matrix[n, n] permutation
  let G : matrix[n, n] adjacency symmetric
  let L : matrix[n, n] rank(2)
  let V : matrix[n, n] invertible
  let S : matrix[n, n] spd
  show time[Q @ G @ L @ V @ S] in O(n^3)
"""


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_timing_inputs_honour_every_declared_property(seed):
    """The timing engine's inputs come from the numeric engine's sampler: a permutation is
    a permutation, rank(2) has rank 2 (the timing sampler once ignored both, and adjacency)."""
    import torch
    from derive.timing.sizes import sample_env
    checked = checked_of(PROPS)
    env = sample_env(checked, {"Q", "G", "L", "V", "S"}, {"n": 8}, seed, "cpu", torch.float64)
    Q, G, L, V, S = (env[k][0] for k in "QGLVS")
    assert all(env[k].shape == (1, 8, 8) for k in "QGLVS")
    assert ((Q == 0) | (Q == 1)).all() and (Q.sum(0) == 1).all() and (Q.sum(1) == 1).all()
    assert ((G == 0) | (G == 1)).all() and (G == G.T).all() and (G.diagonal() == 0).all()
    assert int(torch.linalg.matrix_rank(L)) == 2
    assert float(torch.linalg.cond(V)) <= 10.0 + 1e-6          # numeric.instances.COND
    assert torch.allclose(S, S.T) and float(torch.linalg.eigvalsh(S).min()) > 0
    again = sample_env(checked, {"Q"}, {"n": 8}, seed, "cpu", torch.float64)
    assert torch.equal(again["Q"], env["Q"])                     # same seed, same inputs
