"""Internal errors of the engines: recorded, shown, and in strict mode fatal.

An exception raised inside a strategy is a bug in derive, not a property of the claim, so
it must never turn silently into "this strategy passes" (the next strategy, or engine,
would then decide and the bug would hide behind a pass).  :func:`record` captures what a
person needs to find it (engine, strategy, exception type, message, and the file:line of
the raising frame); in strict mode (``--strict``, ``DERIVE_STRICT=1``) the record is
raised as :class:`InternalFault` and the claim's verdict is ``error``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

STRICT_ENV = "DERIVE_STRICT"
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class Interrupt(Exception):
    """Limits raised through the engines on purpose (time budgets): never an internal error."""


class InternalFault(Exception):
    """Strict mode: an internal error in an engine, carrying its record."""

    def __init__(self, record: dict[str, Any]):
        super().__init__(describe(record))
        self.record = record


def strict_mode(options: Any = None) -> bool:
    """Strict when the options say so or ``DERIVE_STRICT`` is set to a true value."""
    if getattr(options, "strict", False):
        return True
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _short(filename: str) -> str:
    try:
        return str(Path(filename).resolve().relative_to(_PACKAGE_ROOT))
    except ValueError:
        return filename


def where(exc: BaseException) -> str:
    """file:line of the frame that raised ``exc`` (the innermost one of its traceback)."""
    tb = exc.__traceback__
    if tb is None:
        return "?"
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f"{_short(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"


def derive_where(exc: BaseException) -> str:
    """file:line of the innermost frame inside the derive package (where the bug likely is)."""
    tb, found = exc.__traceback__, "?"
    while tb is not None:
        name = _short(tb.tb_frame.f_code.co_filename)
        if name.startswith("derive" + os.sep) or name.startswith("derive/"):
            found = f"{name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def record(engine: str, strategy: str, exc: BaseException) -> dict[str, Any]:
    """What a person needs to find the bug, as plain JSON."""
    return {"engine": engine, "strategy": strategy, "exception": type(exc).__name__,
            "message": str(exc)[:500], "where": where(exc), "derive_where": derive_where(exc)}


def describe(rec: dict[str, Any]) -> str:
    at = rec.get("where", "?")
    inner = rec.get("derive_where")
    if inner and inner not in ("?", at):
        at += f" (in derive: {inner})"
    return (f"internal error in the {rec.get('engine')} engine, strategy {rec.get('strategy')}: "
            f"{rec.get('exception')}: {rec.get('message')} at {at}")
