"""Report formats.  Each module renders a list of results; the CLI picks one by name."""
from __future__ import annotations

import importlib
from typing import Callable

from derive.outcome import Verdict
from derive.report import jsonreport, text
from derive.report.summary import SUMMARY_KEYS, by_engine, summarize


def formats() -> dict[str, Callable[..., str]]:
    found = {"text": text.render, "json": jsonreport.render}
    for name in ("junit", "github", "markdown", "html"):
        try:
            module = importlib.import_module(f"derive.report.{name}")
        except ModuleNotFoundError:
            continue
        found[name] = module.render
    return found


__all__ = ["SUMMARY_KEYS", "summarize", "by_engine", "formats", "Verdict"]
