"""The language server, through pygls' own client over stdio (as an editor talks to it), and
its pure functions; and ``derive check --watch`` on a file that changes."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pygls")
from lsprotocol import types as lsp  # noqa: E402

from derive.lsp import (claim_at, definition, front_end, repair_actions, verdict_diagnostics,  # noqa: E402
                        word_at)
from derive.outcome import Result, Verdict  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

GOOD = """claim ed.square "the square of a sum"
  let a, b : real
  show (a + b)^2 == a^2 + 2*a*b + b^2

claim ed.wrong "the square of a sum, without the cross term"
  let a, b : real
  show (a + b)^2 == a^2 + b^2

claim ed.polar "polarisation, with a constant off by 2"
  let a, b : real
  show (a + b)^2 - (a - b)^2 == 2*a*b
"""
BROKEN = GOOD + """
claim ed.typo
  let x : vector[n]
  show x @ x == 1
"""


def test_front_end_reports_errors_at_their_columns_without_torch():
    claims, errors, jobs = front_end(BROKEN, "/tmp/a.claims")
    assert [c.id for c in claims] == ["ed.square", "ed.wrong", "ed.polar"] and len(jobs) == 3
    (err,) = errors
    (d,) = err.evidence["diagnostics"]
    assert d["line"] == 14 and "n" in d["message"]


def test_definition_and_word_at():
    claims, _, _ = front_end(GOOD, "a.claims")
    claim = claim_at(claims, 7)
    assert claim.id == "ed.wrong"
    assert word_at("  show (a + b)^2 == a^2 + b^2", 9) == "a"
    target = definition(claim, "b")
    assert (target.pos.line, target.pos.column) == (6, 10)
    assert definition(claim, "zz") is None


def _refuted_with_repair(line: int, original: str = "show (a + b)^2 == a^2 + b^2") -> Result:
    return Result("ed.wrong", "a.claims", 5, None, None, Verdict.REFUTED, "holds", False, "symbolic",
                  0.1, "the sides differ", {"statements": [{"line": line, "verdict": "refuted"}],
                                            "repair": {"suggestions": [
                                                {"statement": "show (a + b)^2 == a^2 + 2*a*b + b^2",
                                                 "original": original, "line": line,
                                                 "verdict": "proved", "edit": "term added"}]}})


def test_a_repair_becomes_a_code_action_on_the_refuted_show_line():
    lines = GOOD.split("\n")
    (action,) = repair_actions("file:///a.claims", _refuted_with_repair(7), lines)
    (edit,) = action.edit.changes["file:///a.claims"]
    assert edit.range.start.line == 6 and edit.range.start.character == 2
    assert edit.new_text == "show (a + b)^2 == a^2 + 2*a*b + b^2"
    assert "proved" in action.title
    assert repair_actions("file:///a.claims", _refuted_with_repair(99), lines) == []
    # the line was edited since the search: no stale edit is offered
    assert repair_actions("file:///a.claims", _refuted_with_repair(7, "show 1 == 1"), lines) == []


def test_verdicts_are_diagnostics_on_claim_headers():
    r = _refuted_with_repair(7)
    (d,) = verdict_diagnostics([r], GOOD.split("\n"))
    assert d.range.start.line == 4 and d.severity == lsp.DiagnosticSeverity.Error
    assert d.message.startswith("refuted (expected holds)")


async def _session(path: Path) -> dict:
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("derive-test", "0")
    published: list = []
    arrived = asyncio.Event()

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
        published.append(params.diagnostics)
        arrived.set()

    async def next_diagnostics(pred, timeout=120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for diags in published:
                if pred(diags):
                    return diags
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
        raise AssertionError(f"no matching diagnostics; got {published}")

    await client.start_io(sys.executable, "-m", "derive.cli", "lsp", env=ENV)
    out: dict = {}
    try:
        await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities(),
                                                           root_uri=path.parent.as_uri()))
        client.initialized(lsp.InitializedParams())
        uri = path.as_uri()
        client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="claims", version=1, text=BROKEN)))
        out["typed"] = await next_diagnostics(lambda ds: any(d.range.start.line == 13 for d in ds))
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [lsp.TextDocumentContentChangeWholeDocument(text=GOOD)]))
        published.clear()
        client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(uri)))
        out["saved"] = await next_diagnostics(lambda ds: any(d.code == "refuted" for d in ds))
        out["hover"] = await client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(uri), lsp.Position(6, 4)))
        out["definition"] = await client.text_document_definition_async(lsp.DefinitionParams(
            lsp.TextDocumentIdentifier(uri), lsp.Position(6, 8)))
        out["actions"] = await client.text_document_code_action_async(lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri), lsp.Range(lsp.Position(10, 0), lsp.Position(10, 5)),
            lsp.CodeActionContext(diagnostics=[])))
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
    return out


@pytest.mark.slow
def test_language_server_over_stdio(tmp_path):
    path = tmp_path / "notes.claims"
    path.write_text(GOOD, encoding="utf-8")
    out = asyncio.run(_session(path))
    (typed,) = out["typed"]
    assert typed.severity == lsp.DiagnosticSeverity.Error and typed.range.start.character == 17
    by_code = {d.code: d for d in out["saved"]}
    assert {d.code for d in out["saved"]} == {"proved", "refuted"}
    refuted = sorted(d.range.start.line for d in out["saved"] if d.code == "refuted")
    assert refuted == [4, 8] and by_code["refuted"].severity == lsp.DiagnosticSeverity.Error
    assert "refuted" in out["hover"].contents.value and "seed 0" in out["hover"].contents.value
    loc = out["definition"]
    loc = loc[0] if isinstance(loc, list) else loc
    assert loc.range.start.line == 5 and loc.range.start.character == 6  # the a of "let a, b"
    (action,) = out["actions"]  # the checked repair of ed.polar, as a quick fix
    (edit,) = action.edit.changes[path.as_uri()]
    assert edit.new_text == "show (a + b)^2 - (a - b)^2 == 4*a*b" and edit.range.start.line == 10


@pytest.mark.slow
def test_watch_redecides_a_changed_claim(tmp_path):
    path = tmp_path / "w.claims"
    path.write_text(GOOD.split("\n\n")[0] + "\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "derive.cli", "check", str(path), "--watch",
                             "--cache-dir", str(tmp_path / "cache")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, cwd=tmp_path)
    try:
        def until(stream, word, timeout=120):
            seen, deadline = [], time.monotonic() + timeout
            while time.monotonic() < deadline:
                line = stream.readline()
                seen.append(line)
                if word in line:
                    return "".join(seen)
            raise AssertionError("".join(seen))
        until(proc.stderr, "[watch]")
        time.sleep(0.05)
        path.write_text(GOOD, encoding="utf-8")
        report = until(proc.stderr, "[watch]")
        assert "3 claims, 2 decided" in report  # the unchanged claim came from the cache
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    import re

    assert re.search(r"proved\s+ed\.square", out) and re.search(r"refuted\s+ed\.wrong", out)
    assert out.count("ed.square") == 1  # the second round reports only what it decided


def test_the_vscode_grammar_is_generated_from_the_language_word_lists():
    import json
    import re

    from derive.lexer import textmate_grammar

    shipped = json.loads((ROOT / "editors" / "vscode" / "syntaxes" / "claims.tmLanguage.json")
                         .read_text(encoding="utf-8"))
    assert shipped == textmate_grammar(), ("regenerate editors/vscode/syntaxes/claims.tmLanguage.json "
                                           "from derive.lexer.textmate_grammar()")
    for pattern in shipped["patterns"]:
        re.compile(pattern["match"])
    scopes = {p.get("name") for p in shipped["patterns"]}
    assert "support.function.claims" in scopes
    assert re.search(shipped["patterns"][7]["match"], "softmax(x)")


def test_the_vscode_manifest_points_at_its_files():
    import json

    root = ROOT / "editors" / "vscode"
    manifest = json.loads((root / "package.json").read_text(encoding="utf-8"))
    (grammar,) = manifest["contributes"]["grammars"]
    assert (root / grammar["path"]).is_file() and (root / manifest["main"]).is_file()
    (language,) = manifest["contributes"]["languages"]
    assert language["extensions"] == [".claims"] and (root / language["configuration"]).is_file()
    assert manifest["contributes"]["configuration"]["properties"]["derive.command"]["default"] == ["derive", "lsp"]
