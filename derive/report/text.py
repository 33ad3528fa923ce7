"""The human report: one line per claim, details for the unexpected, a summary table."""
from __future__ import annotations

import os

from derive.outcome import Result, Verdict
from derive.report.summary import by_engine, summarize
from derive.report.safe import block, plain

from derive.report.repairview import did_you_mean

_COLOURS = {Verdict.PROVED: "32", Verdict.VERIFIED: "32", Verdict.REFUTED: "31",
            Verdict.INCONCLUSIVE: "33", Verdict.UNSUPPORTED: "35", Verdict.SKIPPED: "36",
            Verdict.ERROR: "31;1"}


def use_colour(stream=None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    if os.environ.get("NO_COLOR") is not None:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def line(r: Result, colour: bool = False) -> str:
    mark = "ok " if r.as_expected else "XX "
    verdict = _paint(f"{r.verdict.value:<12}", _COLOURS[r.verdict], colour)
    expect = "" if r.expected == "holds" else f" (expect {r.expected})"
    return f"{mark}{verdict} {plain(r.id or '<file>')}{expect}  [{plain(r.file)}:{r.line}] " \
        f"{plain(r.summary)}"


def render(results: list[Result], colour: bool = False, verbose: bool = False, **_) -> str:
    out = []
    for r in results:
        out.append(line(r, colour))
        hint = did_you_mean(r)  # a checked repair of a refuted claim (derive.repair)
        if hint:
            out.append(f"    {hint}")
    details = [r for r in results if not r.as_expected or verbose]
    for r in details:
        rendered = r.evidence.get("rendered")
        if rendered:
            out.append("")
            out.append(block(rendered))
    s = summarize(results)
    out.append("")
    out.append("verdicts: " + ", ".join(f"{s[k]} {k}" for k in
                                         ("proved", "verified", "refuted", "inconclusive",
                                          "unsupported", "skipped", "error") if s[k]))
    table = by_engine(results)
    if table:
        out.append("by engine:")
        for engine, row in sorted(table.items()):
            out.append(f"  {engine:<18} " + ", ".join(f"{n} {v}" for v, n in sorted(row.items())))
    status = "all as expected" if s["unexpected"] == 0 else f"{s['unexpected']} not as expected"
    out.append(f"{s['total']} claims: {status}")
    return "\n".join(out) + "\n"
