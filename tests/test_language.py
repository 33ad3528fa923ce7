"""The claims language: every sketch example parses and type-checks; bad input gets
a clear message at the right position."""
from __future__ import annotations

from pathlib import Path

import pytest

from derive import model as m
from derive.language.load import load_path, load_text
from derive.semantics import check_claim

DATA = Path(__file__).parent / "data"


def load_ok(text: str):
    loaded = load_text(text, "t.claims")
    assert not loaded.diagnostics, "\n".join(d.render() for d in loaded.diagnostics)
    lines = text.split("\n")
    out = []
    for claim in loaded.claims:
        checked, diags = check_claim(claim, lines)
        assert checked is not None, "\n".join(d.render() for d in diags)
        out.append(checked)
    return out


def first_error(text: str):
    """The first diagnostic of a text: syntax errors first, then semantic ones."""
    loaded = load_text(text, "bad.claims") if isinstance(text, (str, bytes)) else text
    if loaded.diagnostics:
        return loaded.diagnostics[0]
    lines = text.split("\n")
    for claim in loaded.claims:
        _, diags = check_claim(claim, lines)
        if diags:
            return diags[0]
    raise AssertionError("no error reported")


def test_every_sketch_example_parses_and_checks():
    loaded = load_path(DATA / "sketch.claims")
    assert not loaded.diagnostics, [d.render() for d in loaded.diagnostics]
    ids = [c.id for c in loaded.claims]
    assert "linalg.sherman_morrison" in ids and "mup.sign_update.rms" in ids
    lines = (DATA / "sketch.claims").read_text(encoding="utf-8").split("\n")
    for claim in loaded.claims:
        checked, diags = check_claim(claim, lines)
        assert checked is not None, [d.render() for d in diags]


def test_metadata_and_expectation():
    (c,) = load_ok('claim a.b "a title"\n  source "HW1"\n  let x : real\n  show x == x\n'
                   '  expect refuted  # why\n')
    assert c.claim.title == "a title" and c.claim.source == "HW1" and c.claim.expect == "refuted"
    assert c.claim.pos.line == 1


def test_unicode_and_ascii_spellings_are_one_model():
    uni = load_ok("claim u\n  let σ : real ≠ 0\n  let η : real\n  let x, y : vector[3]\n"
                  "  show xᵀ @ y ≤ η * σ² ⇔ x ⊙ y == y ⊙ x\n")[0]
    asc = load_ok("claim u\n  let sigma : real != 0\n  let eta : real\n  let x, y : vector[3]\n"
                  "  show x' @ y <= eta * sigma^2 <=> x .* y == y .* x\n")[0]
    assert uni.claim.statements == asc.claim.statements


def test_transpose_spellings():
    a = load_ok("claim t\n  let A : matrix[2, 3]\n  show Aᵀ == A.T\n")[0]
    s = a.claim.shows[0].statement
    assert s.operands[0] == s.operands[1]


def test_superscripts():
    c = load_ok("claim s\n  let M : matrix[3, 3] invertible\n  let x : real\n"
                "  show M⁻¹ @ M == I[3]\n  show x² == x^2\n")[0]
    first = c.claim.shows[0].statement.operands[0]
    assert isinstance(first, m.BinOp) and first.left == m.Call("inv", (m.Name("M"),))
    second = c.claim.shows[1].statement
    assert second.operands[0] == second.operands[1]


def test_numbers_are_exact():
    c = load_ok("claim n\n  let x : real\n  show x * 0.1 == x * 1e-1\n")[0]
    left = c.claim.shows[0].statement.operands[0].right
    assert isinstance(left, m.Num) and left.value.numerator == 1 and left.value.denominator == 10


def test_shape_algebra():
    c = load_ok("claim sh\n  let m, n, k : dim\n  let A : matrix[m, n]\n  let B : matrix[n, k]\n"
                "  let u : vector[n]\n  show (A @ B)ᵀ == Bᵀ @ Aᵀ\n  show uᵀ @ u >= 0\n")[0]
    assert c.show_types[0].kind == "bool"


def test_symbolic_dimension_arithmetic():
    load_ok("claim conv.shape\n  let n, k : dim\n  let X : matrix[n, n]\n  let W : matrix[k, k]\n"
            "  let G : matrix[n - k + 1, n - k + 1]\n  show sum(G ⊙ conv(X, W)) == sum(G ⊙ conv(X, W))\n")


def test_random_names_and_independence_groups():
    c = load_ok("claim r\n  let d : dim\n  let q, k : vector[d] ~ normal(0, 1)\n"
                "  let z : real ~ rademacher\n  show Var[q · k] == d\n")[0]
    groups = {c.symbols[n].group for n in ("q", "k", "z")}
    assert len(groups) == 3 and c.symbols["q"].random and not c.symbols["d"].random


def test_recurrence_declares_its_index():
    c = load_ok("claim rec\n  let a : real\n  let w[t+1] = a * w[t], w[0] = 1\n  show w[t] == a^t\n")[0]
    assert c.symbols["t"].role == "seq_index" and c.symbols["w"].role == "sequence"


def test_multi_line_expression_inside_brackets_and_continuation():
    load_ok("claim ml\n  let x : real\n  show (x + 1\n        + 2) == x + 3\n  show x \\\n    == x\n")


def test_comments_everywhere():
    load_ok("# header comment\n\nclaim c  # trailing\n  # inside\n  let x : real   # note\n\n"
            "  show x == x  # done\n# end\n")


def test_several_claims_one_bad_does_not_hide_the_others():
    text = ("claim good.one\n  let x : real\n  show x == x\n\n"
            "claim bad.one\n  let x : real\n  show x ==\n\n"
            "claim good.two\n  let y : real\n  show y == y\n")
    loaded = load_text(text, "f.claims")
    assert [c.id for c in loaded.claims] == ["good.one", "good.two"]
    assert len(loaded.broken) == 1 and loaded.broken[0].id == "bad.one"
    assert loaded.broken[0].diagnostics[0].line == 7


# --------------------------------------------------------------------------- bad input
BAD = [
    # (name, text, line, column, words expected in the message)
    ("syntax: operator where an operand belongs", "claim a\n  let x : real\n  show x + * 2 == 1\n",
     3, 12, ["unexpected '*'", "a name", "a number"]),
    ("syntax: missing operand at end of line", "claim a\n  let x : real\n  show x ==\n",
     3, 12, ["unexpected end of line"]),
    ("syntax: statement keyword misspelt", "claim a\n  let x : real\n  shwo x == x\n",
     3, 3, ["unexpected", "'show'"]),
    ("syntax: bad character", "claim a\n  let x : real\n  show x $ 2\n", 3, 10,
     ["unexpected character '$'"]),
    ("syntax: type missing after colon", "claim a\n  let x :\n  show x == x\n", 2, 10,
     ["expected", "a scalar type"]),
    ("syntax: unterminated string", 'claim a "title\n  let x : real\n  show x == x\n', 1, 9,
     ["unexpected character"]),
    ("unclosed bracket", "claim a\n  let x : real\n  show (x + 1 == x\n", 3, 8, ["unclosed '('"]),
    ("unclosed square bracket", "claim a\n  let v : vector[3]\n  show v[1 == v[2]\n", 3, 9,
     ["unclosed '['"]),
    ("inconsistent indentation", "claim a\n    let x : real\n  show x == x\n", 3, 3,
     ["inconsistent indentation"]),
    ("unexpected indentation", "claim a\n  let x : real\n      show x == x\n", 3, 7,
     ["unexpected indentation"]),
    ("tab in indentation", "claim a\n\tlet x : real\n\tshow x == x\n", 2, 1, ["tab"]),
    ("unknown function with suggestion", "claim a\n  let x : real\n  show sqr(x) == x\n", 3, 8,
     ["unknown function 'sqr'", "did you mean 'sqrt'"]),
    ("undeclared name with suggestion", "claim a\n  let sigma : real\n  show sigm == 1\n", 3, 8,
     ["'sigm' is not declared", "did you mean 'σ'"]),
    ("undeclared name without a close match", "claim a\n  let x : real\n  show zzz == 1\n", 3, 8,
     ["'zzz' is not declared", "declare it"]),
    ("shape mismatch in @ names both shapes", "claim a\n  let A : matrix[2, 3]\n  show A @ A == A\n",
     3, 8, ["shape mismatch", "[2 × 3] @ [2 × 3]"]),
    ("shape mismatch in + with symbolic sizes",
     "claim a\n  let m, n : dim\n  let x : vector[m]\n  let y : vector[n]\n  show x + y == y\n",
     5, 8, ["shape mismatch in '+'", "vector[m]", "vector[n]"]),
    ("wrong arity", "claim a\n  let x : real\n  show exp(x, x) == 1\n", 3, 8,
     ["exp takes 1 argument, found 2"]),
    ("wrong arity of a user function", "claim a\n  let x : real\n  let f(u, v) = u + v\n"
     "  show f(x) == x\n", 4, 8, ["f takes 2 arguments, found 1"]),
    ("non-dimension in a shape", "claim a\n  let s : real\n  let v : vector[s]\n  show v == v\n",
     3, 18, ["'s' is a real scalar, not a dimension"]),
    ("fractional size", "claim a\n  let v : vector[2.5]\n  show v == v\n", 2, 18,
     ["a size must be a positive integer"]),
    ("random variable where a constant is required (a size)",
     "claim a\n  let n : integer ~ bernoulli(0.5)\n  let v : vector[n]\n  show v == v\n",
     3, 18, ["'n' is random, but a size must be a constant"]),
    ("random variable in assume", "claim a\n  let x : real ~ normal(0, 1)\n  assume x > 0\n"
     "  show x == x\n", 3, 10, ["cannot constrain a random variable"]),
    ("random distribution parameter", "claim a\n  let s : real ~ normal(0, 1)\n"
     "  let x : real ~ normal(0, s)\n  show E[x] == 0\n", 3, 28, ["must be a constant"]),
    ("unknown distribution", "claim a\n  let x : real ~ gauss(0, 1)\n  show x == x\n", 2, 18,
     ["unknown distribution 'gauss'"]),
    ("unknown property", "claim a\n  let A : matrix[3, 3] invertable\n  show A == A\n", 2, 24,
     ["unknown property 'invertable'", "did you mean 'invertible'"]),
    ("unknown expectation word", "claim a\n  let x : real\n  show x == x\n  expect wrong\n", 4, 10,
     ["unknown expectation 'wrong'"]),
    ("reserved name", "claim a\n  let E : real\n  show E == E\n", 2, 7, ["reserved name"]),
    ("name declared twice", "claim a\n  let x : real\n  let x : real\n  show x == x\n", 3, 7,
     ["already declared (line 2)"]),
    ("no show statement", "claim a\n  let x : real\n", 1, 1, ["no 'show' statement"]),
    ("show of a non-statement", "claim a\n  let x : real\n  show x + 1\n", 3, 8,
     ["'show' needs a statement"]),
    ("non-square inverse", "claim a\n  let A : matrix[2, 3]\n  show inv(A) == A\n", 3, 8,
     ["inv needs a square matrix"]),
    ("matrix power of a non-square matrix", "claim a\n  let A : matrix[2, 3]\n  show A^2 == A\n",
     3, 8, ["matrix power", "square"]),
    ("absurd size", "claim a\n  let v : vector[1000000000000]\n  show v == v\n", 2, 18,
     ["larger than the limit"]),
    ("tower of powers", "claim a\n  let x : real\n  show x^2^2^2^2^2^2 == 1\n", 3, 8,
     ["tower of powers"]),
    ("option a function does not have", "claim a\n  let x : vector[3]\n"
     "  show softmax(x, axis = 1, temp = 2) == x\n", 3, 8, ["no option 'temp'"]),
    ("Stat with parentheses", "claim a\n  let x : real ~ normal(0, 1)\n  show Var(x) == 1\n", 3, 8,
     ["square brackets"]),
    ("empty file", "", 1, 1, ["holds no claims"]),
    ("only comments", "# nothing here\n\n", 1, 1, ["holds no claims"]),
]


@pytest.mark.parametrize("name,text,line,column,words", BAD, ids=[b[0] for b in BAD])
def test_bad_input_message_and_position(name, text, line, column, words):
    d = first_error(text)
    message = d.message + " " + (d.hint or "")
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"
    assert (d.line, d.column) == (line, column), d.render()
    rendered = d.render()
    assert rendered.startswith(f"bad.claims:{line}:{column}: error:")
    if d.source_line:
        caret_line = rendered.split("\n")[2]
        assert caret_line.index("^") - 4 == column - 1


def test_duplicate_claim_ids_across_files(tmp_path):
    from derive.runner import plan

    (tmp_path / "a.claims").write_text("claim same.id\n  let x : real\n  show x == x\n")
    (tmp_path / "b.claims").write_text("claim same.id\n  let y : real\n  show y == y\n")
    jobs, errors, _ = plan([str(tmp_path)])
    assert len(jobs) == 1 and len(errors) == 1
    assert "duplicate claim id 'same.id'" in errors[0].summary
    assert errors[0].file.endswith("b.claims") and errors[0].line == 1


def test_non_utf8_bytes_reported_at_their_position():
    loaded = load_text(b"claim a\n  let x : real\n  show x == \xff\n", "bin.claims")
    d = loaded.diagnostics[0]
    assert "not UTF-8" in d.message and "0xff" in d.message
    assert (d.line, d.column) == (3, 13)


def test_deeply_nested_expression_is_an_error_not_a_traceback():
    opening = ("(" * 100 + "\n") * 100  # 10^4 brackets, over lines so no line is too long
    text = "claim deep\n  let x : real\n  show " + opening + "x" + ")" * 10_000 + " == x\n"
    d = first_error(text)
    assert "nested deeper" in d.message and d.line == 3


def test_long_chain_without_brackets_is_an_error_not_a_traceback():
    text = "claim deep\n  let x : real\n  show " + "-" * 3000 + "x == x\n"
    loaded = load_text(text, "deep.claims")
    if loaded.claims:  # accepted: it must still check without recursion errors
        check_claim(loaded.claims[0], text.split("\n"))
    else:
        assert "nested" in loaded.diagnostics[0].message


def test_one_megabyte_line():
    text = "claim big\n  let x : real\n  show x == " + "x + " * 250_000 + "x\n"
    d = first_error(text)
    assert "characters long" in d.message and d.line == 3
    assert len(d.render()) < 1000  # the caret line is cut to a window


def test_bidi_characters_are_not_echoed_raw():
    text = "claim a\n  let x : real\n  show x \u202e== 1\n"
    d = first_error(text)
    assert "\u202e" not in d.render()


def test_markdown_positions_are_lines_of_the_md(tmp_path):
    md = tmp_path / "notes.md"
    md.write_text("# Notes\n\nSome prose.\n\n```claim\nclaim md.good\n  let x : real\n  show x == x\n"
                  "```\n\nMore prose.\n\n```claim\nclaim md.bad\n  let x : real\n  show x ==\n```\n")
    loaded = load_path(md)
    assert [c.id for c in loaded.claims] == ["md.good"]
    assert loaded.claims[0].pos.line == 6
    assert loaded.broken[0].diagnostics[0].line == 16


def test_double_star_is_a_power_spelling():
    a = load_ok("claim p\n  let x : real\n  show x ** 2 == x^2\n")[0]
    s = a.claim.shows[0].statement
    assert s.operands[0] == s.operands[1]


def test_block_with_a_part_of_unknown_size_checks_without_crashing():
    load_ok("claim b\n  let x : real\n  show [[x for i in 1..3]ᵀ] == [[x for i in 1..3]ᵀ]\n")


@pytest.mark.parametrize("size,message", [
    ("((n+1)^64)^64", "degree at most 8"), ("2^100", "small integer"), ("10^8", "larger than the limit"), ("n^9", "degree at most 8")])
def test_size_powers_are_bounded_before_shape_algebra(size, message):
    text = f"claim a\n  let n : dim\n  let x : vector[{size}]\n  show x == x\n"
    assert message in first_error(text).message


def test_overlong_number_is_a_clear_error():
    assert "too long" in first_error("claim a\n  let x : real\n  show x == " + "9" * 5000 + "\n").message


def test_a_fractional_size_is_refused_without_computing_other_operations():
    import time

    start = time.process_time()
    d = first_error("claim a\n  let g : matrix[2, 3 / 10^7]\n  show g == g\n")
    assert "a size must be a positive integer" in d.message
    assert time.process_time() - start < 1.0  # 3 ** 10^7 must never be built
