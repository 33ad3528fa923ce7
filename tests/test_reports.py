"""Report formats: JUnit, GitHub annotations, Markdown (report and errata), HTML (with plots,
rendered once in headless Chromium when it is installed), and the claims lexer."""
from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from derive.outcome import Verdict
from derive.report import formats
from derive.report import github, html, junit, markdown

from derive_fakes import result

CLAIMS = '''claim good.one "a true identity"
  let x : real
  show x + x == 2*x

claim bad.one "the notes' constant"
  source "HW3 Topic 1(b)"
  let x : real
  let y : real
  show x*y == x + y
  expect refuted       # the corrected statement: x*y == y*x
  # (the notes dropped a factor)
'''


@pytest.fixture()
def sample(tmp_path):
    """Synthetic results covering every verdict; two point at a real claim file."""
    path = tmp_path / "c.claims"
    path.write_text(CLAIMS, encoding="utf-8")
    f = str(path)
    cx_evidence = {"seed": 0, "statements": [
        {"line": 9, "statement": "show x*y == x + y", "verdict": "refuted", "engine": "numeric",
         "strategy": "random_instances", "summary": "counterexample: x=1, y=3",
         "evidence": {"counterexample": {"sizes": {}, "values": {"x": 1.0, "y": 3.0}},
                      "lhs": 3.0, "rhs": 4.0}}]}
    return [
        result("good.one", Verdict.PROVED, file=f, line=1, title="a true identity",
               evidence={"seed": 0, "statements": [{"line": 3, "statement": "show x + x == 2*x",
                                                    "verdict": "proved", "engine": "symbolic",
                                                    "strategy": "simplify", "summary": "0"}]}),
        result("bad.one", Verdict.REFUTED, expected="refuted", file=f, line=5,
               title="the notes' constant", source="HW3 Topic 1(b)", summary="counterexample",
               evidence=cx_evidence),
        result("bad.unexpected", Verdict.REFUTED, file="notes/hw1.claims", line=40,
               summary="counterexample: x=1, y=3", evidence={
                   "seed": 0, "statements": [
                       {"line": 42, "statement": "show a", "verdict": "proved"},
                       {"line": 44, "statement": "show b, c", "verdict": "refuted",
                        "engine": "numeric", "summary": "x=1: lhs 3 != rhs 4",
                        "evidence": {"counterexample": {"x": 1, "y": 3}}}]}),
        result("mc.claim", Verdict.INCONCLUSIVE, file="notes/hw3.claims", line=7,
               summary="interval straddles the tolerance", evidence={"statements": [
                   {"line": 9, "statement": "show E[x] == 1", "verdict": "inconclusive",
                    "engine": "numeric", "evidence": {"estimate": 0.98, "interval": [0.95, 1.01],
                                                      "claimed": 1.0, "samples": 40000}}]}),
        result("cost.claim", Verdict.VERIFIED, file="notes/hw3.claims", line=20, engine="timing",
               evidence={"statements": [
                   {"line": 23, "statement": "show time[A @ B] ~ n^3", "verdict": "verified",
                    "engine": "timing", "evidence": {"sizes": [128, 256, 512],
                                                     "median_s": [0.01, 0.08, 0.64],
                                                     "exponent": 3.0}}]}),
        result("broken.claim", Verdict.ERROR, file="notes/hw4.claims", line=3,
               summary="unknown name 'q'", evidence={"rendered": "notes/hw4.claims:4:8: error: "
                                                                 "unknown name 'q'"}),
        result("gpu.claim", Verdict.SKIPPED, file="notes/hw4.claims", line=10, summary="no GPU"),
    ]


def test_registry_has_every_format():
    assert set(formats()) == {"text", "json", "junit", "github", "markdown", "html"}


def test_junit_is_xml_with_one_testcase_per_claim(sample):
    doc = ET.fromstring(junit.render(sample).split("\n", 1)[1])
    cases = doc.findall(".//testcase")
    assert len(cases) == len(sample)
    assert [c.get("name") for c in cases] == [r.id for r in sample]
    by_name = {c.get("name"): c for c in cases}
    failure = by_name["bad.unexpected"].find("failure")
    assert failure is not None and "refuted" in failure.get("message")
    assert "notes/hw1.claims:44" in failure.get("message")
    assert '"x": 1' in failure.text  # the evidence travels with the failure
    assert by_name["mc.claim"].find("failure") is not None  # unexpected: a failure
    assert by_name["broken.claim"].find("error") is not None
    assert by_name["gpu.claim"].find("skipped") is not None
    assert by_name["bad.one"].find("failure") is None  # refuted as expected passes
    assert by_name["good.one"].find("failure") is None
    assert doc.get("tests") == str(len(sample))
    assert doc.get("failures") == "2" and doc.get("errors") == "1" and doc.get("skipped") == "1"
    suites = doc.findall("testsuite")
    assert sum(int(s.get("tests")) for s in suites) == len(sample)


def test_junit_survives_control_characters():
    r = result("weird", Verdict.REFUTED, summary="bad \x01 byte <&>")
    ET.fromstring(junit.render([r]).split("\n", 1)[1])


def test_github_annotation_points_at_refuting_statement(sample):
    lines = github.render(sample).splitlines()
    bad = [ln for ln in lines if "bad.unexpected" in ln]
    assert len(bad) == 1
    assert bad[0].startswith("::error file=notes/hw1.claims,line=44,title=bad.unexpected%3A refuted::")
    assert "\n" not in bad[0] and "%0A" in bad[0]  # multi-line evidence is escaped
    # the known erratum is a notice at its refuting statement, not an error
    notice = [ln for ln in lines if "bad.one" in ln][0]
    assert notice.startswith("::notice file=") and ",line=9," in notice
    assert not any("good.one" in ln for ln in lines)
    assert any(ln.startswith("::error file=notes/hw4.claims,line=3,") for ln in lines)
    assert lines[-1].startswith("::notice title=derive::7 claims: 3 not as expected")


def test_github_escaping():
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert github.escape_data("50% done\r\n") == "50%25 done%0D%0A"


def test_markdown_summary_table(sample):
    text = markdown.render(sample)
    assert "| refuted | 2 |" in text and "| **total** | **7** |" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ✗ ") or ln.startswith("| ✓ ")]
    assert len(rows) == len(sample)
    assert "`bad.unexpected`" in text and "## Evidence" in text


def test_markdown_errata_reads_corrected_statement_from_claim_text(sample):
    refuted = [r for r in sample if r.verdict == Verdict.REFUTED]
    text = markdown.render(refuted, refuted_only=True)
    assert text.startswith("# Errata in the course notes")
    section = text.split("## bad.one", 1)[1].split("## ", 1)[0]
    assert "**The notes say:** the notes' constant" in section
    assert "**Where in the notes:** HW3 Topic 1(b)" in section
    assert ("**Corrected statement:** the corrected statement: x*y == y*x "
            "(the notes dropped a factor)") in section
    assert "counterexample" in section  # derive's evidence
    assert "```claims\nclaim bad.one" in section  # the claim as written
    # a refuted claim not yet marked expect refuted is flagged as such
    assert "not yet marked `expect refuted`" in text.split("## bad.unexpected", 1)[1]


def test_markdown_errata_empty():
    assert "refutes no result" in markdown.render([], refuted_only=True)


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_html_is_self_contained_with_plots(sample):
    page = html.render(sample)
    assert page.startswith("<!DOCTYPE html>")
    images = _images(page)
    assert len(images) == 2  # the cost curve and the Monte-Carlo estimate
    assert all(img.startswith(b"\x89PNG\r\n\x1a\n") and len(img) > 2000 for img in images)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from outside
    assert '<table class="cx">' in page and "values.y" in page  # counterexample table
    assert 'id="claim-bad.unexpected"' in page and 'href="#claim-bad.unexpected"' in page
    # the claim text is highlighted by the claims lexer (inline styles)
    assert "<span style=" in page and "claim</span>" in page
    assert page.count('<tr class="row') == len(sample)


def test_html_escapes_claim_content():
    r = result("x", Verdict.REFUTED, summary="<script>alert(1)</script>",
               title='"><img src=x onerror=alert(1)>')
    page = html.render([r])
    assert "<script>alert(1)" not in page and "onerror=alert(1)>" not in page


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="chromium is not installed")
def test_html_renders_in_headless_chromium(sample, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(html.render(sample), encoding="utf-8")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-dev-shm-usage", "--virtual-time-budget=3000",
                           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    dom = proc.stdout
    assert "<body" in dom, proc.stderr[-2000:]
    assert 'data-js-errors="0"' in dom, proc.stderr[-2000:]
    assert 'data-images="2/2"' in dom  # every plot decoded and has a size
    shot = tmp_path / "shot.png"
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    f"--user-data-dir={tmp_path / 'profile2'}", f"--screenshot={shot}",
                    "--window-size=1200,1600", page.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000


def test_every_format_renders_a_real_run(monkeypatch, tmp_path):
    """Each format over results that came out of run() (engines faked: deterministic)."""
    import derive_fakes

    from derive.runner import RunConfig, run

    derive_fakes.install(monkeypatch)
    path = tmp_path / "r.claims"
    path.write_text(CLAIMS.replace("bad.one", "bad.wrong"), encoding="utf-8")
    results = run([str(path)], RunConfig(isolate=False))
    assert [r.verdict for r in results] == [Verdict.PROVED, Verdict.REFUTED]
    for name, render in formats().items():
        out = render(results, colour=False, verbose=True)
        assert "bad.wrong" in out, name
    assert json.loads(formats()["json"](results))["summary"]["refuted"] == 1
    gh = formats()["github"](results)
    assert f"::notice file={path},line=9," in gh


def test_lexer_tokenises_the_sketch_without_errors():
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
    from pygments.token import Error, Keyword, Name

    from derive.lexer import ClaimsLexer

    text = (Path(__file__).parent / "data" / "sketch.claims").read_text(encoding="utf-8")
    tokens = list(ClaimsLexer().get_tokens(text))
    assert not [v for t, v in tokens if t in Error]
    assert "".join(v for _, v in tokens) == text
    assert (Keyword.Declaration, "claim") in tokens
    assert (Name.Class, "attention.score_variance") in tokens
    assert (Keyword.Type, "matrix") in tokens
    assert (Name.Builtin, "softmax") in tokens
    assert isinstance(get_lexer_by_name("claims"), ClaimsLexer)  # the pygments.lexers entry point
    assert isinstance(get_lexer_for_filename("x.claims"), ClaimsLexer)


def test_engine_evidence_shapes_are_found():
    """The shapes the numeric and timing engines emit (trimmed from real runs)."""
    from derive.report.evidence import counterexamples, curves, estimates, timings

    growth = {"claim": "flops[A @ A] in Θ(N^3)", "sweep": {"N": [64, 128, 256]},
              "table": [{"N": 128, "value": 4.0e6, "bound": 2.0e6},
                        {"N": 64, "value": 5.0e5, "bound": 2.6e5},
                        {"N": 256, "value": 3.3e7, "bound": 1.6e7}],
              "fitted_exponent": {"N": {"exponent": 3.0, "interval": [3.0, 3.0]}}}
    (c,) = curves(growth)
    assert c["xs"] == [64.0, 128.0, 256.0] and c["series"]["measured"][0] == 5.0e5
    assert c["series"]["claimed growth (scaled)"][0] == pytest.approx(5.0e5)
    assert c["fitted"] == 3.0 and c["title"] == "flops[A @ A] in Θ(N^3)"

    mc = {"estimate": 3.28, "interval": [0.70, 0.76], "claimed": 2.54, "interval_of": "left − right",
          "parameter_points": [
              {"point": {"d1": 2}, "samples": 10, "left": 3.28, "claimed": 2.54,
               "difference": 0.74, "interval": [0.70, 0.76], "tolerance": 0.05},
              {"point": {"d1": 5}, "samples": 10, "left": 55.6, "claimed": 49.9,
               "difference": 5.7, "interval": [5.4, 5.9], "tolerance": 1.0}]}
    rows = estimates(mc)
    assert [r["label"] for r in rows] == ["d1=2", "d1=5"]  # the summary is not drawn twice
    assert rows[0]["interval"] == pytest.approx([3.24, 3.30]) and rows[0]["tolerance"] == 0.05
    summary_only = {k: v for k, v in mc.items() if k != "parameter_points"}
    assert estimates(summary_only)[0]["interval"] == pytest.approx([3.24, 3.30])

    def point(n, a, b):
        return {"sizes": {"dout": n}, "detail": [{"timing": {"time[x]": {"median_s": a},
                                                             "time[y]": {"median_s": b}}}]}
    comparison = {"points": [point(512, 2e-3, 1e-3), point(256, 1e-3, 5e-4)]}
    (c,) = curves(comparison)
    assert c["x"] == "dout" and c["xs"] == [256.0, 512.0]
    assert c["series"] == {"time[x]": [1e-3, 2e-3], "time[y]": [5e-4, 1e-3]}
    assert timings(comparison) == []  # drawn as curves, not bars
    (bars,) = timings({"points": [point(256, 1e-3, 5e-4)]})
    assert bars["bars"] == {"time[x]": 1e-3, "time[y]": 5e-4}

    symbolic = {"counterexample": {"sigma": "6/5", "eta": "1875/2192"}, "difference": "2",
                "cross_check": {"evidence": {"counterexample": {"sizes": {"n": 2},
                                                                "values": {"x": [1.0]}}}}}
    found = counterexamples(symbolic)
    assert found[0]["values"] == {"sigma": "6/5", "eta": "1875/2192"}
    assert found[0]["extra"] == {"difference": "2"}
    assert found[1]["values"] == {"sizes.n": 2, "values.x": [1.0]}


def test_html_draws_engine_shapes():
    ev = {"statements": [{"line": 3, "statement": "show …", "verdict": "verified",
                          "engine": "timing", "evidence": {
                              "points": [{"sizes": {"n": 1}, "timing": {"a": {"median_s": 1.0}}}],
                              "sweep": {"n": [1, 2]},
                              "table": [{"n": 1, "value": 1.0, "bound": 1.0},
                                        {"n": 2, "value": 4.0, "bound": 4.0}]}}]}
    page = html.render([result("t", Verdict.VERIFIED, evidence=ev)])
    assert len(_images(page)) == 2  # the growth curve and the bar chart of measured times


def test_errata_falls_back_to_the_claims_comment_block(tmp_path):
    from derive.report.evidence import expectation_comment

    path = tmp_path / "e.claims"
    path.write_text('claim e.x "as written"\n  source "HW1"\n  # The notes drop the exponent:\n'
                    "  # the right form has (1 - a)^t.\n  let a : real\n  show a == a + 1\n"
                    "  expect refuted\n", encoding="utf-8")
    r = result("e.x", Verdict.REFUTED, expected="refuted", file=str(path), line=1)
    assert expectation_comment(r) == "The notes drop the exponent: the right form has (1 - a)^t."
    assert "**Corrected statement:** The notes drop the exponent:" in \
        markdown.render([r], refuted_only=True)


def test_select_patterns_combine_like_pytest():
    from derive.runner import matches

    assert matches("hw3.t1.rms_y", "hw3.t1.rms_y or hw3.t1.rms_scaling")
    assert matches("hw3.t1.rms_scaling", "hw3.t1.rms_y or hw3.t1.rms_scaling")
    assert not matches("hw3.t1.init_rescale", "hw3.t1.rms_y or hw3.t1.rms_scaling")
    assert matches("hw3.t1.rms_y", "hw3.* and not scaling")
    assert not matches("hw3.t1.rms_scaling", "hw3.* and not scaling")
    assert matches("hw8.t1.fft_depth", "not hw1 and fft or hw9")
