"""The run's counts: verdicts overall and by deciding engine (every report format's header)."""
from __future__ import annotations

from derive.outcome import Result

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
