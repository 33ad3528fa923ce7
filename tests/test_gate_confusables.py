"""Confusable names are refused: a name mixing scripts misleadingly, or two different names
of one claim that look alike, is an error at the position naming both."""
from __future__ import annotations

import pytest

from derive.language.confusables import mixed_script, skeleton
from derive.language.load import load_text
from derive.semantics import check_claim

CYR_A = "\u0430"  # CYRILLIC SMALL LETTER A
GREEK_OMICRON = "\u03bf"


def _diags(text: str):
    loaded = load_text(text, "c.claims")
    assert not loaded.broken, [d.render() for b in loaded.broken for d in b.diagnostics]
    (claim,) = loaded.claims
    checked, diags = check_claim(claim, text.split("\n"))
    return checked, diags


def test_the_reported_homoglyph_pair_is_refused_naming_both():
    text = ("claim conf.sqrt\n"
            "  let a : real\n"
            f"  let {CYR_A} : real > 0\n"
            f"  show sqrt({CYR_A}^2) == {CYR_A}\n")
    checked, diags = _diags(text)
    assert checked is None
    (d,) = diags
    assert (d.line, d.column) == (3, 7)
    assert "'a'" in d.message and "CYRILLIC SMALL LETTER A" in d.message
    assert "line 2, column 7" in d.message and d.hint
    assert "c.claims:3:7" in d.render()


def test_a_name_mixing_latin_and_cyrillic_is_refused():
    text = f"claim conf.mixed\n  let p{CYR_A}ram : real\n  show p{CYR_A}ram == p{CYR_A}ram\n"
    checked, diags = _diags(text)
    assert checked is None and len(diags) == 1
    assert "mixes scripts" in diags[0].message and "Latin and Cyrillic" in diags[0].message
    assert (diags[0].line, diags[0].column) == (2, 7)


def test_a_latin_name_with_a_greek_lookalike_is_refused():
    text = f"claim conf.omicron\n  let p{GREEK_OMICRON}s : real\n  show p{GREEK_OMICRON}s >= 0\n"
    checked, diags = _diags(text)
    assert checked is None and "GREEK SMALL LETTER OMICRON" in diags[0].message


def test_a_user_function_that_looks_like_a_builtin_is_refused():
    exp_cyr = "\u0435\u0445\u0440"  # е х р
    text = (f"claim conf.exp\n  let x : real\n  let {exp_cyr}(t) = t\n"
            f"  show {exp_cyr}(x) <= exp(x)\n")
    checked, diags = _diags(text)
    assert checked is None and any("look alike" in d.message for d in diags)


@pytest.mark.parametrize("decls", [
    "let σ, s : real > 0\n  show σ * s > 0",            # Greek letters are ordinary names
    "let ΔW, W : matrix[2, 2]\n  show ΔW + W == W + ΔW",  # Greek prefix beside Latin: math style
    "let σx, x : real\n  show σx + x == x + σx",
    "let η, n : real\n  show η + n == n + η",
    "let α, a : real\n  show α + a == a + α",           # α and a are told apart in math fonts
    "let sigma : real\n  show σ == sigma",               # one name, two spellings
    "let l : real\n  let L : real\n  show l + L == L + l",
])
def test_ordinary_names_are_accepted(decls):
    checked, diags = _diags(f"claim conf.ok\n  {decls}\n")
    assert checked is not None, [d.render() for d in diags]


def test_skeletons_and_scripts():
    assert skeleton(f"{CYR_A}") == "a" and skeleton("\U0001d44e") == "a"  # mathematical italic a
    assert skeleton("\u0391\u0392") == "AB" and skeleton("σ") == "σ"
    assert mixed_script("ΔW") is None and mixed_script("σ₁") is None
    assert mixed_script(f"x{CYR_A}") and mixed_script(f"p{GREEK_OMICRON}s")


def test_the_corpus_has_no_confusables():
    from derive.runner import plan

    jobs, errors, _ = plan(["claims/"])
    assert jobs and not [e for e in errors if "look alike" in e.summary or "mixes" in e.summary]
