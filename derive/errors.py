"""Diagnostics people can act on: file:line:col, the source line, a caret, and words."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

_MAX_SHOWN = 120  # characters of a long source line shown around the caret


@dataclass
class Diagnostic:
    """One problem in a claim file.  ``line``/``column`` are 1-based."""

    message: str
    file: str
    line: int
    column: int
    source_line: str = ""
    hint: Optional[str] = None
    claim_id: Optional[str] = None
    width: int = 1

    def render(self) -> str:
        """The human form: location, message, the line with a caret, and a hint."""
        head = f"{_printable(self.file)}:{self.line}:{self.column}: error: {_printable(self.message)}"
        out = [head]
        if self.source_line:
            text, col = _window(self.source_line.rstrip("\r\n"), self.column)
            text = _printable(text)
            out.append(f"    {text}")
            out.append("    " + " " * (col - 1) + "^" * max(1, min(self.width, len(text) - col + 1)))
        if self.hint:
            out.append(f"  hint: {_printable(self.hint)}")
        return "\n".join(out)

    def as_dict(self) -> dict:
        return {"message": self.message, "file": self.file, "line": self.line,
                "column": self.column, "hint": self.hint, "width": self.width}


def _window(text: str, column: int) -> tuple[str, int]:
    """Cut a long line to a window around ``column`` so a 1 MB line prints short."""
    if len(text) <= _MAX_SHOWN:
        return text, max(1, column)
    start = max(0, column - 1 - _MAX_SHOWN // 2)
    piece = text[start:start + _MAX_SHOWN]
    prefix = "…" if start else ""
    return prefix + piece + ("…" if start + _MAX_SHOWN < len(text) else ""), column - start + len(prefix)


def printable(text: str) -> str:
    """Public name of the escaper, for reports that echo claim text."""
    return _printable(text)


def _printable(text: str) -> str:
    """Show control and bidi characters as escapes so the caret line cannot be spoofed."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\t":
            out.append(" ")
        elif code < 32 or 127 <= code <= 0x9F or 0x202A <= code <= 0x202E \
                or 0x2066 <= code <= 0x2069 or code in (0x200E, 0x200F, 0x061C, 0x2028, 0x2029):
            out.append("?")
        else:
            out.append(ch)
    return "".join(out)


class ClaimError(Exception):
    """Raised inside the front end; carries one or more diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("\n".join(d.render() for d in diagnostics))


def suggest(name: str, candidates) -> Optional[str]:
    """A 'did you mean …' for a misspelt name, or None."""
    import difflib

    pool = sorted(set(candidates))
    match = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not match:
        lowered = {c.lower(): c for c in pool}
        if name.lower() in lowered:
            return lowered[name.lower()]
        return None
    return match[0]
