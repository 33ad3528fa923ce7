"""Report formats.  Each module renders a list of results; the CLI picks one by name."""
from __future__ import annotations

import importlib
from typing import Callable

from derive.outcome import Result, Verdict

SUMMARY_KEYS = ["total", "proved", "verified", "refuted", "inconclusive", "unsupported", "skipped",
                "error", "unexpected"]


def summarize(results: list[Result]) -> dict[str, int]:
    counts = {k: 0 for k in SUMMARY_KEYS}
    counts["total"] = len(results)
    for r in results:
        counts[r.verdict.value] += 1
        if not r.as_expected:
            counts["unexpected"] += 1
    return counts


def by_engine(results: list[Result]) -> dict[str, dict[str, int]]:
    """Breakdown of verdicts by deciding engine (for the run's closing table)."""
    table: dict[str, dict[str, int]] = {}
    for r in results:
        row = table.setdefault(r.engine or "none", {})
        row[r.verdict.value] = row.get(r.verdict.value, 0) + 1
    return table


def formats() -> dict[str, Callable[..., str]]:
    from derive.report import jsonreport, text

    found = {"text": text.render, "json": jsonreport.render}
    for name in ("junit", "github", "markdown", "html"):
        try:
            module = importlib.import_module(f"derive.report.{name}")
        except ModuleNotFoundError:
            continue
        found[name] = module.render
    return found


__all__ = ["summarize", "by_engine", "formats", "Verdict"]
