"""``derive lsp``: a language server for claim files (pygls), for any editor that speaks LSP.

- As you type: parse and type errors (the front end, no torch), at their columns, with hints.
- On save: every claim of the file decided by a warm worker (engines imported once, the same
  isolation and limits as ``derive check``); each claim's verdict is a diagnostic on its
  header — an error when not as expected, information otherwise.
- Hover on a claim: its verdict, route, evidence and the seed that reproduces it.
- Go to definition: from a name to its ``let`` in the same claim.
- Code action: replace a refuted statement by a checked repair, when derive found one.

The pure functions (``front_end``, ``verdict_diagnostics``, ``claim_at``, ``definition``,
``repair_actions``) hold the logic; the server only wires them to the protocol.
"""
from __future__ import annotations

import asyncio
import re
from typing import Any, Iterable, Optional

from lsprotocol import types as lsp

from derive import model as m
from derive.outcome import Result, Verdict
from derive.version import __version__

SOURCE = "derive"
_WORD = re.compile(r"[^\W\d][\w′]*|\d+", re.UNICODE)


# ---------------------------------------------------------------- pure logic
def document_name(uri: str) -> str:
    """A readable file name for a document URI (used in diagnostics and claim files)."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def claims_text(text: str, name: str) -> str:
    """The claims of a document: Markdown keeps only its ```claim blocks, lines in place."""
    if name.lower().endswith((".md", ".markdown")):
        from derive.language.load import markdown_to_claims

        return markdown_to_claims(text)
    return text


def front_end(text: str, name: str) -> tuple[list[m.Claim], list[Result], list[Any]]:
    """Parse and check a document: (checked claims, error results, jobs for the engines)."""
    from derive.runner import plan_text

    jobs, errors, claims = plan_text(claims_text(text, name), name)
    return claims, errors, jobs


def _range(line: int, column: int, width: int = 1) -> lsp.Range:
    line0, col0 = max(0, line - 1), max(0, column - 1)
    return lsp.Range(lsp.Position(line0, col0), lsp.Position(line0, col0 + max(1, width)))


def error_diagnostics(errors: Iterable[Result]) -> list[lsp.Diagnostic]:
    """Parse, type and shape errors, each at its column with its hint."""
    out = []
    for r in errors:
        for d in (r.evidence or {}).get("diagnostics", []) or []:
            message = d.get("message", r.summary)
            if d.get("hint"):
                message += f"\nhint: {d['hint']}"
            out.append(lsp.Diagnostic(_range(d.get("line", r.line), d.get("column", 1),
                                             d.get("width", 1) or 1), message,
                                      severity=lsp.DiagnosticSeverity.Error, source=SOURCE))
    return out


def verdict_diagnostics(results: Iterable[Result], lines: list[str]) -> list[lsp.Diagnostic]:
    """One diagnostic per decided claim, on its header line: an error when not as expected."""
    out = []
    for r in results:
        if "diagnostics" in (r.evidence or {}):
            continue  # already shown by error_diagnostics
        text = lines[r.line - 1] if 0 < r.line <= len(lines) else ""
        severity = lsp.DiagnosticSeverity.Information if r.as_expected else lsp.DiagnosticSeverity.Error
        if r.as_expected and r.verdict in (Verdict.INCONCLUSIVE, Verdict.UNSUPPORTED):
            severity = lsp.DiagnosticSeverity.Warning
        expect = "" if r.as_expected else f" (expected {r.expected})"
        out.append(lsp.Diagnostic(
            lsp.Range(lsp.Position(r.line - 1, 0), lsp.Position(r.line - 1, len(text))),
            f"{r.verdict.value}{expect}: {r.summary}", severity=severity, source=SOURCE,
            code=r.verdict.value))
    return out


def claim_at(claims: Iterable[m.Claim], line: int) -> Optional[m.Claim]:
    """The claim whose text spans 1-based ``line``."""
    for c in claims:
        if c.pos.line <= line < c.pos.line + max(1, c.text.count("\n") + 1):
            return c
    return None


def word_at(text_line: str, character: int) -> Optional[str]:
    """The identifier under a 0-based character offset."""
    for match in _WORD.finditer(text_line):
        if match.start() <= character <= match.end():
            return match.group(0)
    return None


def defined_names(claim: m.Claim) -> dict[str, m.Name]:
    """Every name a claim declares or defines, by its normalised id, at its first position."""
    out: dict[str, m.Name] = {}
    for st in claim.statements:
        names: tuple = ()
        if isinstance(st, (m.Decl, m.Define)):
            names = st.names
        elif isinstance(st, m.FuncDef):
            names = (st.name,)
        elif isinstance(st, m.Recurrence):
            names = tuple(eq.seq for eq in st.equations)
        elif isinstance(st, m.Sweep):
            names = (st.name,)
        for n in names:
            out.setdefault(n.id, n)
    return out


def definition(claim: m.Claim, word: str) -> Optional[m.Name]:
    """Where ``word`` (as written, Greek or ASCII) is declared in ``claim``."""
    from derive.language.names import normalize

    names = defined_names(claim)
    return names.get(word) or names.get(normalize(word))


def repair_candidates(result: Result) -> list[dict[str, Any]]:
    """The checked repairs a refuted result carries (best first), if any."""
    from derive.report.repairview import suggestions

    return [c for c in suggestions(result) if c.get("statement")]


def repair_actions(uri: str, result: Result, lines: list[str]) -> list[lsp.CodeAction]:
    """Code actions that replace a refuted claim's statement by a repair derive has checked.
    Offered only where the line still reads as the statement that was repaired."""
    actions = []
    for cand in repair_candidates(result):
        line = cand.get("line")
        if not isinstance(line, int) or not 0 < line <= len(lines):
            continue
        old = lines[line - 1]
        if cand.get("end_line", line) != line or old.rstrip().endswith("\\"):
            continue  # a statement continued over lines: no one-line edit replaces it
        if cand.get("original") and old.strip() != str(cand["original"]).strip():
            continue  # the text changed since the search: no stale edit
        start = len(old) - len(old.lstrip())
        edit = lsp.TextEdit(lsp.Range(lsp.Position(line - 1, start), lsp.Position(line - 1, len(old))),
                            str(cand["statement"]).strip())
        actions.append(lsp.CodeAction(
            title=f"derive: replace with the {cand.get('verdict', 'checked')} repair: "
                  f"{str(cand['statement']).strip()}",
            kind=lsp.CodeActionKind.QuickFix,
            edit=lsp.WorkspaceEdit(changes={uri: [edit]})))
    return actions


def hover_markdown(claim: m.Claim, result: Optional[Result], seed: int) -> str:
    """What hovering over a claim shows: verdict, route, evidence, and how to re-run it."""
    if result is None:
        return f"**{claim.id}**: not decided yet; save the file to decide it."
    from derive.report.evidence import evidence_lines

    head = f"**{result.verdict.value}**" + ("" if result.as_expected else
                                            f" (expected {result.expected})")
    body = "\n".join(evidence_lines(result)[:40])
    return (f"{head} `{claim.id}` by {result.engine or 'no engine'}\n\n{result.summary}\n\n"
            f"```\n{body}\n```\n\nseed {seed}: `derive explain {claim.id} FILE --seed {seed}`")


# ---------------------------------------------------------------- the server
class ClaimServer:
    """The pygls server and what it remembers per document (claims and verdicts)."""

    def __init__(self, seed: int = 0, time_limit: float = 120.0, memory_limit_mb: int = 6144):
        from pygls.lsp.server import LanguageServer

        from derive.engine import Options

        self.options = Options(seed=seed)
        self.time_limit = time_limit
        self.memory_limit_mb = memory_limit_mb
        self.server = LanguageServer("derive", __version__)
        self.claims: dict[str, list[m.Claim]] = {}
        self.results: dict[str, dict[str, Result]] = {}
        self.front: dict[str, list[lsp.Diagnostic]] = {}
        self.pool = None
        self._register()

    # -- state
    def _lines(self, uri: str) -> list[str]:
        return self.server.workspace.get_text_document(uri).source.split("\n")

    def _publish(self, uri: str) -> None:
        lines = self._lines(uri)
        decided = [r for r in self.results.get(uri, {}).values()
                   if r.id in {c.id for c in self.claims.get(uri, [])}]
        diags = self.front.get(uri, []) + verdict_diagnostics(decided, lines)
        self.server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, diags))

    def check(self, uri: str) -> list[Any]:
        """The front end over the current text; returns the jobs for the engines."""
        doc = self.server.workspace.get_text_document(uri)
        claims, errors, jobs = front_end(doc.source, document_name(uri))
        self.claims[uri] = claims
        self.front[uri] = error_diagnostics(errors)
        self._publish(uri)
        return jobs

    def decide(self, jobs: list[Any]) -> list[Result]:
        """Decide jobs on the warm pool (started on first use, kept for the session); a
        refuted claim then gets the same cheap repair search as ``derive check``, behind
        every verdict, for the quick fix."""
        from derive.repair import CHECK
        from derive.runner import (RunConfig, WorkerPool, attach_repairs, repair_request,
                                   run_isolated)

        if self.pool is None:
            self.pool = WorkerPool(self.options, 1, self.memory_limit_mb)
        config = RunConfig(options=self.options, time_limit=self.time_limit,
                           memory_limit_mb=self.memory_limit_mb, pool=self.pool,
                           repair=CHECK.to_dict())
        by_id = {j.id: j for j in jobs}
        followed: list[Result] = []
        results = run_isolated(jobs, config, None,
                               lambda r: repair_request(r, by_id[r.id], config), followed)
        return attach_repairs(results, jobs, config, None, followed)

    # -- protocol
    def _register(self) -> None:
        ls = self.server

        @ls.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
        def did_open(params: lsp.DidOpenTextDocumentParams) -> None:
            self.check(params.text_document.uri)

        @ls.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
        def did_change(params: lsp.DidChangeTextDocumentParams) -> None:
            self.check(params.text_document.uri)

        @ls.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
        async def did_save(params: lsp.DidSaveTextDocumentParams) -> None:
            uri = params.text_document.uri
            jobs = self.check(uri)
            if not jobs:
                return
            results = await asyncio.get_running_loop().run_in_executor(None, self.decide, jobs)
            self.results.setdefault(uri, {}).update({r.id: r for r in results})
            self._publish(uri)

        @ls.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
        def did_close(params: lsp.DidCloseTextDocumentParams) -> None:
            for table in (self.claims, self.results, self.front):
                table.pop(params.text_document.uri, None)

        @ls.feature(lsp.TEXT_DOCUMENT_HOVER)
        def hover(params: lsp.HoverParams) -> Optional[lsp.Hover]:
            uri = params.text_document.uri
            claim = claim_at(self.claims.get(uri, []), params.position.line + 1)
            if claim is None:
                return None
            result = self.results.get(uri, {}).get(claim.id)
            return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown,
                                               hover_markdown(claim, result, self.options.seed)))

        @ls.feature(lsp.TEXT_DOCUMENT_DEFINITION)
        def goto(params: lsp.DefinitionParams) -> Optional[lsp.Location]:
            uri = params.text_document.uri
            line = params.position.line + 1
            claim = claim_at(self.claims.get(uri, []), line)
            lines = self._lines(uri)
            if claim is None or not 0 < line <= len(lines):
                return None
            word = word_at(lines[line - 1], params.position.character)
            target = definition(claim, word) if word else None
            if target is None or not target.pos.line:
                return None
            width = max(1, len(target.text or target.id))
            return lsp.Location(uri, _range(target.pos.line, target.pos.column, width))

        @ls.feature(lsp.TEXT_DOCUMENT_CODE_ACTION)
        def code_action(params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
            uri = params.text_document.uri
            claim = claim_at(self.claims.get(uri, []), params.range.start.line + 1)
            result = self.results.get(uri, {}).get(claim.id) if claim else None
            if result is None or result.verdict != Verdict.REFUTED:
                return []
            return repair_actions(uri, result, self._lines(uri))

        @ls.feature(lsp.SHUTDOWN)
        def shutdown(_params: Any = None) -> None:
            if self.pool is not None:
                self.pool.close()
                self.pool = None


def serve(seed: int = 0, time_limit: float = 120.0, memory_limit_mb: int = 6144) -> None:
    """Run the server over standard input and output until the editor closes it."""
    ClaimServer(seed, time_limit, memory_limit_mb).server.start_io()
