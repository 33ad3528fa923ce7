"""Showing a checked repair in a report: the best suggestion, all candidates, a diff.

Suggestions are printed by derive from the model, but they carry names and spellings from
the claim file, so every report escapes them like claim text: control and bidi characters
are shown as ``\\uXXXX`` here, and each format adds its own escaping on top.
"""
from __future__ import annotations

import difflib
import unicodedata
from typing import Any, Optional

from derive.outcome import Result


def plain(text: Any) -> str:
    """Text safe on a terminal: control and bidi/format characters made visible."""
    out = []
    for ch in str(text if text is not None else ""):
        cat = unicodedata.category(ch)
        out.append(ch if ch == " " or cat[0] not in "CZ" or cat == "Zs" else f"\\u{ord(ch):04x}")
    return "".join(out)


def report_of(result: Result) -> Optional[dict]:
    rep = (result.evidence or {}).get("repair")
    return rep if isinstance(rep, dict) else None


def suggestions(result: Result) -> list[dict]:
    rep = report_of(result)
    items = rep.get("suggestions") if rep else None
    return [s for s in items if isinstance(s, dict)] if isinstance(items, list) else []


def best(result: Result) -> Optional[dict]:
    items = suggestions(result)
    return items[0] if items else None


def did_you_mean(result: Result) -> Optional[str]:
    """``did you mean: show … (proved)`` for the best suggestion, or None."""
    top = best(result)
    if not top:
        return None
    return f"did you mean: {plain(top.get('statement'))} ({plain(top.get('verdict'))})"


def diff(suggestion: dict) -> list[str]:
    """A two-line diff: the statement as written (-) and as repaired (+)."""
    old, new = str(suggestion.get("original") or ""), str(suggestion.get("statement") or "")
    lines = list(difflib.unified_diff([old], [new], lineterm="", n=0))
    return [plain(x) for x in lines[3:]] if len(lines) > 3 else [f"+{plain(new)}"]


def repair_lines(result: Result, every: bool = False) -> list[str]:
    """A refuted claim's repair search as text: suggestions, and with ``every`` each
    candidate decided with its verdict."""
    rep = report_of(result) or {}
    head = f"{plain(result.id or result.file)}  [{plain(result.file)}:{result.line}] refuted"
    out = [head]
    items = suggestions(result)
    for i, s in enumerate(items, 1):
        out.append(f"  {i}. {plain(s.get('statement'))}  ({plain(s.get('verdict'))}: "
                   f"{plain(s.get('edit'))})")
    if not items:
        out.append("  no checked repair found")
    tried = rep.get("candidates_tried", 0)
    note = f"  {tried} candidates decided"
    if rep.get("ill_typed"):
        note += f", {rep['ill_typed']} ill-typed skipped"
    if rep.get("stopped"):
        note += f"; stopped: {plain(rep['stopped'])}"
    out.append(note)
    if every:
        for c in rep.get("candidates") or []:
            if isinstance(c, dict):
                out.append(f"    {plain(c.get('verdict')):<12} {plain(c.get('edit'))}: "
                           f"{plain(c.get('statement'))}")
    return out
