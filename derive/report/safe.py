"""Claim text made safe for each report format.

Ids, titles, sources, comments, statements and summaries come from claim files, which
anyone can write.  Every report passes them through one of these before output, so that
no claim can forge report structure: a newline that starts a Markdown heading or a GitHub
workflow command, an HTML tag in the errata page, a ``|`` that splits a table cell, or a
terminal escape / bidi override that makes text display as something else.

Invisible or layout-changing characters are shown as visible escapes (``\\n``, ``\\u202e``)
rather than dropped, so a reader sees that they were there.
"""
from __future__ import annotations

import html
import re

# C0 (but tab), DEL, C1, bidi embeddings/overrides/isolates and marks, line/paragraph
# separators, zero-width characters and the BOM
_INVISIBLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                        "\u2060-\u2064\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\x1b": "\\e"}


def _visible(match: re.Match) -> str:
    c = match.group(0)
    return _NAMED.get(c) or f"\\u{ord(c):04x}"


def plain(text: object) -> str:
    """One line of plain text: every control, bidi or invisible character made visible."""
    return _INVISIBLE.sub(_visible, str(text if text is not None else "")).replace("\t", " ")


def block(text: object) -> str:
    """Several lines of plain text: newlines kept, every other such character made visible."""
    return "\n".join(plain(line) for line in str(text if text is not None else "").split("\n"))


_MD_SPECIAL = re.compile(r"([\\`\[\]|])")


def md_inline(text: object) -> str:
    """Text inside a Markdown paragraph or table cell: one line (so no heading, list or fence
    can start in it), HTML escaped (no tag), and ``\\``, backticks, brackets and ``|``
    backslash-escaped (no code span, link, image or cell break).  Emphasis characters are
    left alone: they change no structure, and formulas such as ``x*y`` stay readable."""
    s = html.escape(plain(text), quote=False)
    return _MD_SPECIAL.sub(r"\\\1", s)


def md_code(text: object) -> str:
    """A Markdown code span holding ``text`` literally (one line)."""
    s = plain(text).replace("|", "\\|")  # a pipe ends a table cell even inside a code span
    run = max((len(m) for m in re.findall(r"`+", s)), default=0)
    ticks = "`" * (run + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{ticks}{pad}{s}{pad}{ticks}"


def md_fence(text: object, lang: str = "text") -> list[str]:
    """A fenced block holding ``text`` literally (longer fence than any backtick run inside)."""
    s = block(text).rstrip("\n")
    run = max((len(m) for m in re.findall(r"`{3,}", s)), default=0)
    ticks = "`" * max(3, run + 1)
    return [f"{ticks}{lang}", s, ticks]


def html_text(text: object) -> str:
    """Text inside HTML (element content or a quoted attribute)."""
    return html.escape(plain(text), quote=True)


def html_block(text: object) -> str:
    """Several lines inside ``<pre>``."""
    return html.escape(block(text), quote=True)


def gh_data(text: object) -> str:
    """The message of a GitHub workflow command: one line, ``%``, CR and LF encoded."""
    s = _INVISIBLE.sub(lambda m: m.group(0) if m.group(0) in "\r\n" else _visible(m), str(text))
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_property(text: object) -> str:
    """A property value of a GitHub workflow command (also ``:`` and ``,`` encoded)."""
    return gh_data(text).replace(":", "%3A").replace(",", "%2C")
