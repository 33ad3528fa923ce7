"""Auditing verdicts against known truth: the golden record of a corpus, and soundness counts.

Two records make a change of verdict a reviewed diff instead of an accident:

* the **golden file** pins each claim's verdict, engine and each statement's deciding
  strategy (``derive golden PATHS --file F`` checks, ``--update`` rewrites);
* the **soundness classes** compare a verdict with the truth a claim's author wrote down:
  a claim whose ``expect`` is ``refuted`` is false, every other claim is true.  A false
  claim ``proved`` or ``verified`` and a true claim ``refuted`` are the failures that
  matter; anything else is merely undecided.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from derive.outcome import Result, Verdict

GOLDEN_VERSION = 1


def golden_entry(result: Result) -> dict[str, Any]:
    """What the golden file pins for one claim: verdict, engine, and per statement the route."""
    statements = []
    for s in (result.evidence or {}).get("statements", []) or []:
        statements.append({"line_offset": s.get("line", result.line) - result.line,
                           "verdict": s.get("verdict"), "engine": s.get("engine"),
                           "strategy": s.get("strategy")})
    entry: dict[str, Any] = {"verdict": result.verdict.value, "engine": result.engine}
    if statements:
        entry["statements"] = statements
    return entry


def golden_snapshot(results: Iterable[Result]) -> dict[str, Any]:
    """The golden record of a run: claims keyed by ``file::id`` (ids are unique per file)."""
    claims: dict[str, Any] = {}
    for r in results:
        key = f"{_file_key(r.file)}::{r.id if r.id is not None else f'line {r.line}'}"
        claims[key] = golden_entry(r)
    return {"golden": GOLDEN_VERSION, "claims": dict(sorted(claims.items()))}


def _file_key(path: str) -> str:
    return path.replace("\\", "/")


def golden_dumps(snapshot: dict[str, Any]) -> str:
    """One claim per line, so a change of verdict is a one-line diff in review."""
    lines = ["{", f'  "golden": {snapshot["golden"]},', '  "claims": {']
    items = list(snapshot["claims"].items())
    for i, (key, entry) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"    {json.dumps(key, ensure_ascii=False)}: "
                     f"{json.dumps(entry, ensure_ascii=False, sort_keys=True)}{comma}")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def golden_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Readable differences between two golden records, one line per changed claim."""
    out: list[str] = []
    a, b = old.get("claims", {}), new.get("claims", {})
    for key in sorted(set(a) | set(b)):
        if key not in b:
            out.append(f"- {key}: gone (was {a[key]['verdict']})")
        elif key not in a:
            out.append(f"+ {key}: new, {b[key]['verdict']} by {b[key]['engine']}")
        elif a[key] != b[key]:
            out.append(f"~ {key}: {_describe(a[key])}  ->  {_describe(b[key])}")
    return out


def _describe(entry: dict[str, Any]) -> str:
    routes = ", ".join(f"{s.get('verdict')}/{s.get('strategy')}" for s in entry.get("statements", []))
    return f"{entry['verdict']} by {entry['engine']}" + (f" [{routes}]" if routes else "")


# --- soundness --------------------------------------------------------------------------

FALSE_PROVED = "false proved"
FALSE_VERIFIED = "false verified"
FALSE_REFUTED = "false refuted"
UNDECIDED = "undecided"
CORRECT = "correct"
CLASSES = (FALSE_PROVED, FALSE_VERIFIED, FALSE_REFUTED, UNDECIDED, CORRECT)


def truth_of(result: Result) -> bool:
    """The author's truth: ``expect refuted`` marks a false claim, anything else a true one."""
    return result.expected != "refuted"


def soundness_class(result: Result) -> str:
    """Where one verdict falls against its claim's truth."""
    true = truth_of(result)
    v = result.verdict
    if not true and v == Verdict.PROVED:
        return FALSE_PROVED
    if not true and v == Verdict.VERIFIED:
        return FALSE_VERIFIED
    if true and v == Verdict.REFUTED:
        return FALSE_REFUTED
    if (true and v in (Verdict.PROVED, Verdict.VERIFIED)) or (not true and v == Verdict.REFUTED):
        return CORRECT
    return UNDECIDED


def unsound(results: Iterable[Result]) -> list[tuple[Result, str]]:
    """The results that say the wrong thing (a false pass or a false refutation)."""
    out = []
    for r in results:
        c = soundness_class(r)
        if c in (FALSE_PROVED, FALSE_VERIFIED, FALSE_REFUTED):
            out.append((r, c))
    return out
