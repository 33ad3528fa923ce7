"""Every report escapes claim text: hostile ids, titles, sources, comments and summaries
cannot forge report structure (headings, tags, table cells, workflow commands, terminal
escapes, bidi reordering) in any format."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from derive.outcome import Result, Verdict
from derive.report import formats

RLO, LRI, ESC = "\u202e", "\u2066", "\x1b"
TITLE = (f"ok\n# Heading <img src=x onerror=alert(1)> | a | b |\n::error file=x,line=1::forged"
         f" %0A {RLO}gnp.exe{LRI} {ESC}[31mred\u2028x\x85y")
SOURCE = "src\r\n## injected <script>alert(2)</script> ::warning::y %0D `tick` ```fence"
SUMMARY = (f"the sides differ\n::error::forged %0A %0D summary {RLO}\n"
           "# Heading | cell | <b>bold</b>")
IDENT = "hostile.id_with|pipe`tick<img>"
CLAIM_FILE = """claim hostile.errata "ok\\n# Heading <img src=x onerror=alert(1)> | x |"
  source "src\\n## injected <script>alert(2)</script>"
  let a : real
  show a + 1 == a
  expect refuted   # fix:<img src=x onerror=alert(3)> | c | ## no heading
"""
_RAW = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                  "\u2066-\u2069\ufeff]")


def _results(tmp_path) -> list[Result]:
    path = tmp_path / "h.claims"
    path.write_text(CLAIM_FILE, encoding="utf-8")
    hostile = Result(IDENT, str(path), 1, TITLE, SOURCE, Verdict.REFUTED, "holds", False,
                     "symbolic", 0.1, SUMMARY,
                     {"seed": 0, "statements": [{"line": 4, "statement": f"show {RLO}a == b",
                                                 "verdict": "refuted", "engine": "symbolic",
                                                 "strategy": "s", "summary": SUMMARY,
                                                 "evidence": {"note": TITLE}}]})
    errata = Result("hostile.errata", str(path), 1, TITLE, SOURCE, Verdict.REFUTED, "refuted",
                    True, "symbolic", 0.1, SUMMARY, {"seed": 0})
    return [hostile, errata]


def _outside_fences(markdown: str) -> str:
    """The Markdown with its fenced blocks (literal text) removed."""
    return re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1\s*$", "", markdown)


def _render(fmt: str, results, **kw) -> str:
    return formats()[fmt](results, colour=False, **kw)


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "github", "markdown", "html"])
def test_no_raw_control_or_bidi_characters_in_any_format(tmp_path, fmt):
    out = _render(fmt, _results(tmp_path))
    assert not _RAW.findall(out), (fmt, sorted({hex(ord(c)) for c in _RAW.findall(out)}))
    if fmt != "json":  # made visible, not dropped
        assert "\\u202e" in out


def test_text_report_keeps_one_line_per_claim(tmp_path):
    out = _render("text", _results(tmp_path))
    lines = out.split("\n")
    assert sum(1 for ln in lines if ln.startswith(("ok ", "XX "))) == 2
    assert not any(ln.startswith(("::", "#")) for ln in lines)


@pytest.mark.parametrize("refuted_only", [False, True])
def test_markdown_cannot_gain_headings_tags_or_cells(tmp_path, refuted_only):
    out = _render("markdown", _results(tmp_path), refuted_only=refuted_only)
    outside_fences = _outside_fences(out)
    headings = [ln for ln in outside_fences.split("\n") if ln.lstrip().startswith("#")]
    allowed = ({"# Errata in the course notes"} if refuted_only
               else {"# derive report", "## Claims", "## Evidence"})
    for h in headings:
        assert h in allowed or h.startswith(("## hostile", "### `")), h
    rendered_as_markup = re.sub(r"(`+).+?\1", "", outside_fences)  # code spans are literal
    for tag in ("<img", "<script", "<b>"):
        assert tag not in rendered_as_markup, tag
    for row in (ln for ln in out.split("\n") if ln.startswith("| ")):
        cells = re.split(r"(?<!\\)\|", row)
        assert len(cells) in (4, 5, 10), row  # the table's own columns only (+ the edges)
    assert "::error" not in out.split("\n")[0]


def test_errata_from_a_hostile_claim_file(tmp_path):
    from derive.engine import Options
    from derive.runner import RunConfig, run

    path = tmp_path / "h.claims"
    path.write_text(CLAIM_FILE, encoding="utf-8")
    results = run([str(path)], RunConfig(options=Options(), isolate=False))
    assert results[0].verdict == Verdict.REFUTED and "\n" in results[0].title
    out = _outside_fences(_render("markdown", results, refuted_only=True))
    assert "<img" not in out and "<script" not in out
    assert [ln for ln in out.split("\n") if ln.startswith("#")] == \
        ["# Errata in the course notes", "## hostile.errata"]
    assert "onerror=alert(3)" in out  # shown, as text


def test_github_annotations_cannot_be_forged(tmp_path):
    out = _render("github", _results(tmp_path))
    lines = out.rstrip("\n").split("\n")
    assert len(lines) == 3  # two annotations and the summary notice
    for ln in lines:
        m = re.fullmatch(r"::(error|notice|warning) ([^:]*)::(.*)", ln)
        assert m, ln
        props = dict(p.split("=", 1) for p in m.group(2).split(",")) if m.group(2) else {}
        assert set(props) <= {"file", "line", "title"}, props
        assert "\n" not in m.group(3) and "\r" not in m.group(3)
    assert "%250A" in out and "%250D" in out  # a literal %0A / %0D stays literal


def test_junit_is_well_formed_and_keeps_text_as_text(tmp_path):
    out = _render("junit", _results(tmp_path))
    root = ET.fromstring(out.split("\n", 1)[1])
    cases = root.findall(".//testcase")
    assert cases[0].get("name") == IDENT
    title = [p.get("value") for p in cases[0].iter("property") if p.get("name") == "title"][0]
    assert "<img src=x" in title and "\\u202e" in title and "\\e[31m" in title
    assert "<img" not in out  # escaped in the XML text


def test_html_has_no_injected_markup(tmp_path):
    out = _render("html", _results(tmp_path))
    assert "<img" not in out and out.count("<script") == 1 and "<b>bold" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out


def test_json_keeps_exact_values_but_no_raw_bidi(tmp_path):
    out = _render("json", _results(tmp_path))
    doc = json.loads(out)
    assert doc["claims"][0]["title"] == TITLE and doc["claims"][0]["id"] == IDENT
    assert RLO not in out and "\\u202e" in out


def test_explain_and_list_show_claim_text_without_interpreting_it(tmp_path):
    from click.testing import CliRunner

    from derive.cli import main

    path = tmp_path / "h.claims"
    path.write_text(CLAIM_FILE.replace('"ok\\n#', f'"ok{RLO}\\n#'), encoding="utf-8")
    runner = CliRunner()
    for args in (["list", str(path)],
                 ["explain", "hostile.errata", str(path), "--no-isolation", "--no-cache"]):
        out = runner.invoke(main, args).output
        assert "hostile.errata" in out
        assert not _RAW.findall(out), (args[0], sorted({hex(ord(c)) for c in _RAW.findall(out)}))
        assert "\\u202e" in out and "\\n# Heading" in out
