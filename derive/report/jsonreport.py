"""The JSON report: a contract CI and other tools read (see README, 'JSON report')."""
from __future__ import annotations

import json

from derive import __version__
from derive.outcome import Result
from derive.report import by_engine, summarize


def document(results: list[Result], **extra) -> dict:
    doc = {"derive": __version__, "summary": summarize(results), "by_engine": by_engine(results),
           "claims": [r.as_dict() for r in results]}
    doc.update(extra)
    return doc


def render(results: list[Result], colour: bool = False, verbose: bool = False,
           refuted_only: bool = False, **extra) -> str:
    """The JSON document; the rendering switches other formats take are not part of it."""
    return json.dumps(document(results, **extra), indent=2, ensure_ascii=False, sort_keys=False,
                      default=str) + "\n"
