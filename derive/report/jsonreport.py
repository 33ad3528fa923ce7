"""The JSON report: a contract CI and other tools read (see README, 'JSON report')."""
from __future__ import annotations

import json

from derive import __version__
from derive.outcome import Result
from derive.report import by_engine, summarize


def document(results: list[Result], **extra) -> dict:
    doc = {"derive": __version__, "summary": summarize(results), "by_engine": by_engine(results),
           "claims": [_claim(r) for r in results]}
    doc.update(extra)
    return doc


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
    """The JSON document; the rendering switches other formats take are not part of it."""
    return json.dumps(document(results, **extra), indent=2, ensure_ascii=False, sort_keys=False,
                      default=str) + "\n"
