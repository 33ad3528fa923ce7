"""Conditioning on declared draws: ``E[X | Y]``, ``E[X | Y, Z]``, ``P[A | Y]`` — parsing,
types, the errors (derived or non-random conditions) with their hints, printing and
formatting, and verdicts of both engines (docs/semantics.md, "Conditioning")."""
from __future__ import annotations

import pytest

from derive import model as m
from derive.decide import decide_claim
from derive.engine import Context, Options
from derive.exprtext import expr_text
from derive.fmt import format_claims
from derive.language.load import load_text
from derive.numeric import ENGINE as NUMERIC
from derive.numeric.fresh import Freshener, NotLinear
from derive.outcome import Verdict
from derive.semantics import check_claim
from derive.symbolic import ENGINE as SYMBOLIC

HEAD = """claim t "t"
  let x : real ~ normal(2, 1)
  let y, z : real ~ normal(0, 1)
  let b : real ~ bernoulli(1/2)
  let c : real
  let s = x + y
"""


def statement(expr: str) -> m.Expr:
    return checked(expr).claim.statements[-1].statement


def checked(expr: str):
    text = HEAD + f"  show {expr}\n"
    loaded = load_text(text, "t.claims")
    assert not loaded.diagnostics, [d.render() for d in loaded.diagnostics]
    out, diags = check_claim(loaded.claims[0], text.split("\n"))
    assert out is not None, [d.render() for d in diags]
    return out


def error(expr: str):
    text = HEAD + f"  show {expr}\n"
    loaded = load_text(text, "t.claims")
    if loaded.diagnostics:
        return loaded.diagnostics[0]
    _, diags = check_claim(loaded.claims[0], text.split("\n"))
    assert diags, f"no error for {expr}"
    return diags[0]


def conds(e: m.Expr) -> list[m.Cond]:
    from derive.semantics import walk
    return [n for n in walk(e) if isinstance(n, m.Cond)]


# ---------------------------------------------------------------- parsing and types
def test_one_and_several_conditioning_draws_parse_to_cond():
    one = conds(statement("E[x*y | y] == 2*y"))
    assert len(one) == 1 and one[0].kind == "E" and [g.id for g in one[0].given] == ["y"]
    two = conds(statement("E[x*y + z | y, z] == 2*y + z"))
    assert [g.id for g in two[0].given] == ["y", "z"]
    prob = conds(statement("P[x > y | y] == 1/2"))
    assert prob[0].kind == "P" and isinstance(prob[0].arg, m.Compare)


def test_conditioning_on_an_event_is_still_its_definition():
    e = statement("E[x | y > 0] == 2")
    assert not conds(e) and isinstance(e.operands[0], m.BinOp) and e.operands[0].op == "/"


def test_a_conditional_mean_is_random_and_typed_as_its_argument():
    from derive.semantics import Checker
    c = checked("E[x*y | y] == 2*y")
    checker = Checker(c.claim, [])
    checker.symbols = c.symbols
    t = checker.expr(conds(c.claim.statements[-1].statement)[0])
    assert t.kind == "scalar" and t.random


def test_printed_text_parses_back_to_the_same_model():
    for expr in ("E[x*y | y] == 2*y", "E[(x + y)^2 | y, z] == y^2 + 5",
                 "P[x > y | y] == 1/2", "E[E[x*y | y]^2] == 4"):
        e = statement(expr)
        assert statement(expr_text(e)) == e


def test_fmt_spaces_the_conditioning_bar_and_round_trips():
    text = HEAD + "  show E[x*y+z|y,z]==2*y+z\n  show E[ |x| | y ] == E[abs(x)]\n"
    out = format_claims(text)
    assert "E[x*y + z | y, z] == 2*y + z" in out and "E[|x| | y] == E[abs(x)]" in out
    assert format_claims(out) == out


# ---------------------------------------------------------------- errors and hints
def test_a_derived_quantity_is_refused_with_its_draws_as_the_hint():
    d = error("E[x | s] == s")
    assert "derived random quantity" in d.message and "disintegration" in d.message
    assert "E[… | x, y]" in d.hint and "s > 0" in d.hint


def test_a_non_random_name_is_refused():
    d = error("E[x | c] == 2")
    assert "'c' is not random" in d.message and "drop '| c'" in d.hint


def test_an_expression_is_refused_with_a_hint():
    d = error("E[x | x + y] == 2")
    assert "conditioning on an expression" in d.message and "E[X | a + b > 0]" in d.hint


@pytest.mark.parametrize("expr, words", [
    ("E[x | y, y] == 2", "conditioned on twice"),
    ("E[x | y, z > 0] == 2", "cannot be listed"),
    ("Var[x | y] == 1", "Var[X | B] is E[X^2 | B] - E[X | B]^2"),
    ("E[x > 0 | y] == 1", "P[… | …]"),
    ("P[x | y] == 1", "needs an event"),
    ("E[x | w] == 1", "not declared"),
])
def test_other_misuses_get_clear_errors(expr, words):
    d = error(expr)
    assert words in d.message + (d.hint or "")


# ---------------------------------------------------------------- engines
def verdict(expr: str, engine=None) -> Verdict:
    c = checked(expr)
    if engine is None:
        return decide_claim(c, Options())[0]
    out = engine.decide(Context(c, c.claim.statements[-1], 0, Options()))
    return None if out is None else out.verdict


@pytest.mark.parametrize("expr, expected", [
    ("E[x*y | y] == 2*y", Verdict.PROVED),              # taking out what is known
    ("E[E[x*y + y^2 | y]] == E[x*y + y^2]", Verdict.PROVED),   # tower rule
    ("E[s | x] == x", Verdict.PROVED),                  # through a definition
    ("E[x*y | y] == E[x]*E[y]", Verdict.REFUTED),       # 2y is not 0
    ("E[s^2 | y] == E[s | y]^2", Verdict.REFUTED),      # differs by Var x
])
def test_symbolic_engine(expr, expected):
    assert verdict(expr, SYMBOLIC) == expected


def test_symbolic_engine_does_not_refute_off_a_discrete_support():
    # b³ − b is a nonzero polynomial, but b is 0 or 1: no counterexample there
    assert verdict("E[b^3 + x | b] == b + 2", SYMBOLIC) is None


@pytest.mark.parametrize("expr, expected", [
    ("E[x*y | y] == 2*y", Verdict.VERIFIED),
    ("E[b^3 + x | b] == b + 2", Verdict.VERIFIED),      # a.s. on b's support
    ("E[E[x + y | y]^2] == 5", Verdict.VERIFIED),       # unbiased: two fresh copies
    ("E[E[x + y | y]^2] == 6", Verdict.REFUTED),        # the naive E[(x + y)²]
    ("E[x + y | y] == y + 2.1", Verdict.REFUTED),
    ("E[b*x + b | b] == 2", Verdict.REFUTED),           # b = 0 half the time
])
def test_numeric_engine(expr, expected):
    assert verdict(expr, NUMERIC) == expected


def test_numeric_engine_declines_a_nonlinear_outer_function():
    assert verdict("E[exp(E[x | y])] == exp(2.5)", NUMERIC) == Verdict.UNSUPPORTED


def test_whole_claims_end_proved_or_refuted():
    assert verdict("Var[s] == E[E[s^2 | y] - E[s | y]^2] + Var[E[s | y]]") == Verdict.PROVED
    assert verdict("Var[s] == E[E[s^2 | y] - E[s | y]^2]") == Verdict.REFUTED


# ---------------------------------------------------------------- fresh copies
def test_each_occurrence_gets_its_own_copy_and_powers_expand():
    c = checked("E[E[x + y | y]^2] == 5")
    fresh = Freshener(c)
    out = fresh.statement(c.claim.statements[-1].statement)
    assert sorted(fresh.copies) == [("x_c1", "x"), ("x_c2", "x")]
    assert not conds(out)
    assert "x_c1" in fresh.claim().symbols and fresh.claim().symbols["x_c1"].dist is not None


@pytest.mark.parametrize("expr", ["E[exp(E[x | y])] == 1", "Cov[E[x | y], y] == 0",
                                  "P[E[x | y] > 0] == 1/2", "E[1/E[x | y]] == 1"])
def test_nonlinear_positions_are_refused(expr):
    c = checked(expr)
    with pytest.raises(NotLinear):
        Freshener(c).statement(c.claim.statements[-1].statement)


# ---------------------------------------------------------------- draws with parameters
def test_a_law_with_parameters_is_drawn_as_an_expression_in_them():
    import torch
    from derive.numeric.conditional import standard_draws, strata
    from derive.numeric.lower import Evaluator
    text = ('claim t "t"\n  let a : real > 0\n  let mu : real\n  let lam : real > 0\n'
            '  let u : real ~ uniform(0, a)\n  let w : real ~ normal(mu, 4)\n'
            '  let e : real ~ exponential(lam)\n  show E[u | u] == u\n')
    claim = load_text(text, "t.claims").claims[0]
    c, _ = check_claim(claim, text.split("\n"))
    g = torch.Generator().manual_seed(1)
    for a in (0.5, 3.0):
        ev = Evaluator({"a": a, "mu": 10.0, "lam": 2.0}, torch.device("cpu"), torch.float64, c)
        us = [float(ev.ev(x)) for x in standard_draws(c.symbols["u"].dist, strata(g))]
        assert all(0 <= v <= a for v in us) and max(us) > a * 7 / 8 and min(us) < a / 8
        ws = [float(ev.ev(x)) for x in standard_draws(c.symbols["w"].dist, strata(g))]
        assert 10 - 12 < min(ws) and max(ws) < 10 + 12 and len(set(ws)) == len(ws)
        es = [float(ev.ev(x)) for x in standard_draws(c.symbols["e"].dist, strata(g))]
        assert all(v >= 0 for v in es)


def test_quadrature_does_not_accept_a_jump_just_past_its_nodes():
    # P[v < c] at c = 0.309935: the jump sits between a half-panel's outermost node and its
    # end, where the panel rule and the two half rules agree exactly on a wrong value
    text = ('claim t "t"\n  let v : real ~ uniform(0, 1)\n'
            '  show P[v < 0.309935] == 0.309935\n')
    claim = load_text(text, "t.claims").claims[0]
    c, _ = check_claim(claim, text.split("\n"))
    out = NUMERIC.decide(Context(c, c.claim.statements[-1], 0, Options()))
    assert out.verdict == Verdict.VERIFIED and "quadrature" in out.summary
