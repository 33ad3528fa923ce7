"""``derive fmt``: idempotent, comment-preserving, model-preserving over the whole corpus."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from derive.cache import claim_hash
from derive.cli import main
from derive.fmt import format_claims, format_lines, format_markdown, same_models
from derive.language.load import load_text

ROOT = Path(__file__).resolve().parent.parent


def corpus_files() -> list[Path]:
    """Every claim file of the project that loads without broken chunks."""
    files = sorted((ROOT / "claims").rglob("*.claims")) + sorted((ROOT / "tests").rglob("*.claims"))
    good = []
    for f in files:
        try:
            text = f.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        loaded = load_text(text, str(f))
        if loaded.claims and not loaded.broken:
            good.append(f)
    return good


def test_there_is_a_corpus_to_check():
    assert any(f.name == "sketch.claims" for f in corpus_files())


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_round_trip_over_the_corpus(path):
    text = path.read_bytes().decode("utf-8")
    formatted = format_lines(text)  # the layout pass itself, without the safety net
    assert same_models(text, formatted, str(path)), "formatting changed a claim's model"
    assert format_lines(formatted) == formatted, "not idempotent"
    before = load_text(text, str(path)).claims
    after = load_text(formatted, str(path)).claims
    # the same cache keys: the same verdicts, by construction
    assert [claim_hash(c) for c in before] == [claim_hash(c) for c in after]
    # comments are kept, in order
    assert [ln.split("#", 1)[1].strip() for ln in text.splitlines() if "#" in ln and '"' not in ln] \
        == [ln.split("#", 1)[1].strip() for ln in formatted.splitlines() if "#" in ln and '"' not in ln]


MESSY = '''# preamble comment


claim  a.b   "a title # not a comment"
    source "notes"
    let x,y : real   # two reals
    let M : matrix[ 2 , 2 ]
    show x*y==y *x
    show ( x+y )^2 == x^2 + 2*x*y+y^2   within 1e-3
    show M[1, :] @ M[:, 2] == M[ 1,: ]@M[:,2]
    show -x <= abs( x )
    show sum(i=1..3, x) == 3*x
    show M[ 1 + 1 , 2-1 ] .^ 2 == E[ x + y ] * M[2, 1] .^ 2



# about the next claim
claim c.d
  let v : vector[3]
  show vᵀ@v >= 0 and v' @ v>=0
  expect refuted   # corrected: holds
'''

EXPECTED = '''# preamble comment

claim a.b "a title # not a comment"
  source "notes"
  let x, y : real  # two reals
  let M : matrix[2, 2]
  show x*y == y*x
  show (x + y)^2 == x^2 + 2*x*y + y^2 within 1e-3
  show M[1, :] @ M[:, 2] == M[1, :] @ M[:, 2]
  show -x <= abs(x)
  show sum(i = 1..3, x) == 3*x
  show M[1+1, 2-1].^2 == E[x + y]*M[2, 1].^2

# about the next claim
claim c.d
  let v : vector[3]
  show vᵀ @ v >= 0 and v' @ v >= 0
  expect refuted   # corrected: holds
'''


def test_canonical_layout():
    out = format_claims(MESSY)
    assert out == EXPECTED
    assert format_claims(out) == out
    assert same_models(MESSY, out)


def test_continuation_lines_and_crlf():
    text = "claim a.c\r\n  let x : real\r\n  show x + [1,\r\n      2][1] ==   x + 1 \\\r\n   + 0\r\n"
    out = format_claims(text)
    assert "\r" not in out and same_models(text, out)
    assert out == ("claim a.c\n  let x : real\n  show x + [1,\n      2][1] == x + 1 \\\n"
                   "      + 0\n")
    assert format_claims(out) == out


def test_unsafe_change_is_refused():
    # a broken file stays exactly as it is when formatting would alter what loads
    broken = "claim a.e\n  let x : real\n   show x == x\n"
    assert format_claims(broken) == broken


def _perturb(text: str, rng: random.Random) -> str:
    out = []
    for line in text.split("\n"):
        if not line.startswith("  "):
            out.append(line)
            continue
        if "#" in line or '"' in line:
            out.append("  " + line)  # re-indented only: its comment keeps its place
            continue
        body = line.strip().replace(" ", " " * rng.randint(1, 3))
        out.append("    " + body + " " * rng.randint(0, 2))
    return "\n".join(out)


@pytest.mark.parametrize("seed", range(5))
def test_layout_does_not_depend_on_input_spacing(seed):
    text = (ROOT / "tests" / "data" / "sketch.claims").read_text(encoding="utf-8")
    messy = _perturb(text, random.Random(seed))
    assert same_models(text, messy)
    assert format_claims(messy) == format_claims(text)


def test_markdown_blocks_only():
    md = "# Notes\n\nSome  prose   x*y.\n\n```claim\nclaim m.a\n    let x : real\n    show x*x>=0\n```\n"
    out = format_markdown(md)
    assert out == "# Notes\n\nSome  prose   x*y.\n\n```claim\nclaim m.a\n  let x : real\n  show x*x >= 0\n```\n"
    assert format_markdown(out) == out


def test_cli_fmt_check_and_write(tmp_path):
    f = tmp_path / "a.claims"
    f.write_text(MESSY, encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(main, ["fmt", "--check", str(tmp_path)])
    assert res.exit_code == 1 and "would reformat" in res.stderr
    assert f.read_text(encoding="utf-8") == MESSY
    res = runner.invoke(main, ["fmt", "--diff", str(f)])
    assert res.exit_code == 0 and "+  show x*y == y*x" in res.stdout
    assert f.read_text(encoding="utf-8") == MESSY  # --diff is a dry run: nothing written
    res = runner.invoke(main, ["fmt", str(f)])
    assert res.exit_code == 0 and f.read_text(encoding="utf-8") == EXPECTED
    res = runner.invoke(main, ["fmt", "--check", str(f)])
    assert res.exit_code == 0


def test_fmt_preserves_verdicts(monkeypatch, tmp_path):
    """The same verdicts before and after formatting (engines faked for determinism; the
    claim models, and so the cache keys every verdict hangs on, are compared above)."""
    import derive_fakes
    from derive.runner import RunConfig, run

    derive_fakes.install(monkeypatch)
    a = tmp_path / "a.claims"
    a.write_text(MESSY.replace("c.d", "c.wrong"), encoding="utf-8")
    before = [(r.id, r.verdict, r.as_expected) for r in run([str(a)], RunConfig(isolate=False))]
    CliRunner().invoke(main, ["fmt", str(a)])
    after = [(r.id, r.verdict, r.as_expected) for r in run([str(a)], RunConfig(isolate=False))]
    assert before == after and len(before) == 2
