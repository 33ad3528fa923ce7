"""GitHub Actions workflow commands: an annotation per claim that needs a look.

``::error file=…,line=…,title=…::message`` for a result that is not as expected (it
fails the gate), ``::notice`` for a claim refuted as expected (a known erratum).
Annotations point at the statement that decided the verdict when the evidence names it.
"""
from __future__ import annotations

from derive.outcome import Result, Verdict
from derive.report.summary import summarize
from derive.report.evidence import evidence_lines, location
from derive.report.safe import gh_data, gh_property


def escape_data(text: str) -> str:
    """A command's message: one line (``%``, CR, LF encoded; other controls made visible)."""
    return gh_data(text)


def escape_property(text: str) -> str:
    """A property value: also ``:`` and ``,`` encoded, so no property or message can be forged."""
    return gh_property(text)


def annotation(result: Result) -> str | None:
    """The annotation line for one result, or None when there is nothing to say."""
    if result.as_expected and result.verdict != Verdict.REFUTED:
        return None
    level = "error" if not result.as_expected else "notice"
    file, line = location(result)
    title = f"{result.id or file}: {result.verdict.value}"
    if result.expected != "holds":
        title += f" (expected {result.expected})"
    detail = "\n".join(evidence_lines(result, limit=200)[:20])
    message = result.summary + (("\n" + detail) if detail else "")
    return (f"::{level} file={escape_property(file)},line={line},"
            f"title={escape_property(title)}::{escape_data(message)}")


def render(results: list[Result], **_) -> str:
    out = [a for a in (annotation(r) for r in results) if a]
    s = summarize(results)
    status = "all as expected" if s["unexpected"] == 0 else f"{s['unexpected']} not as expected"
    counts = ", ".join(f"{s[k]} {k}" for k in ("proved", "verified", "refuted", "inconclusive",
                                              "unsupported", "skipped", "error") if s[k])
    line = f"{s['total']} claims: {status}" + (f" ({counts})" if counts else "")
    out.append(f"::notice title=derive::{escape_data(line)}")
    return "\n".join(out) + "\n"
