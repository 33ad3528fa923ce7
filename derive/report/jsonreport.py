"""The JSON report: a contract CI and other tools read (see README, 'JSON report')."""
from __future__ import annotations

import json
import re

from derive.outcome import Result
from derive.report.summary import by_engine, summarize
from derive.version import __version__


def document(results: list[Result], **extra) -> dict:
    doc = {"derive": __version__, "summary": summarize(results), "by_engine": by_engine(results),
           "claims": [_claim(r) for r in results]}
    doc.update(extra)
    return doc


# valid JSON either way, but raw in the text they reorder or break lines of a viewer or of
# a script that embeds the document: written as \uXXXX escapes (the decoded value is the same)
_RAW_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064"
                         "\u2066-\u2069\ufeff]")

def _claim(r: Result) -> dict:
    """A claim's entry; a refuted claim carries ``repair``: its checked repairs, best first
    (an empty list when the search found none; how many it tried is in the evidence)."""
    d = r.as_dict()
    rep = (r.evidence or {}).get("repair")
    if r.verdict.value == "refuted" and isinstance(rep, dict):
        d["repair"] = [{k: s.get(k) for k in ("statement", "verdict", "edit", "summary")}
                       for s in rep.get("suggestions") or [] if isinstance(s, dict)]
    return d


def render(results: list[Result], colour: bool = False, verbose: bool = False,
           refuted_only: bool = False, **extra) -> str:
    """The JSON document; the rendering switches other formats take are not part of it.
    Strings keep their exact values (control characters are escaped by JSON itself; bidi,
    line-separator and invisible characters are written as ``\\uXXXX``)."""
    text = json.dumps(document(results, **extra), indent=2, ensure_ascii=False, sort_keys=False,
                      default=str)
    return _RAW_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text) + "\n"
