"""Decide one checked claim: route each statement to the engines, cross-check, combine.

Routing: statements about cost (``time[…]``, ``flops[…]``, ``memory[…]``) or growth
over a sweep go to the timing engine; everything else to the symbolic engine first
and then the numeric engine.  A symbolic proof or refutation is re-tested
numerically; if the engines disagree the verdict is ``error``, never a silent pass.
"""
from __future__ import annotations

import importlib
import signal
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator, Optional

from derive import faults
from derive import model as m
from derive.engine import Context, Engine, Options
from derive.faults import InternalFault, Interrupt
from derive.outcome import Outcome, Verdict, combine
from derive.semantics import CheckedClaim, walk

ENGINE_ORDER = ("symbolic", "numeric", "timing")


@lru_cache(maxsize=1)
def engines() -> dict[str, Engine]:
    """The engines that are installed, by name (each package exposes ``ENGINE``)."""
    found: dict[str, Engine] = {}
    for name in ENGINE_ORDER:
        try:
            module = importlib.import_module(f"derive.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"derive.{name}":
                continue
            raise
        found[name] = module.ENGINE
    return found


class TimeLimit(Interrupt):
    """Raised inside an engine when its time budget is spent."""


class ClaimTimeLimit(BaseException):
    """The whole claim's wall-clock limit expired in-process (``--no-isolation``).

    A ``BaseException``, so no strategy's ``except Exception`` and no engine's fault
    recorder can swallow it: it unwinds to the runner, which reports the claim as stopped.
    """


@contextmanager
def alarm(seconds: float, handler) -> Iterator[None]:
    """Run the block under a SIGALRM timer of ``seconds`` whose expiry calls ``handler``.

    Nests: when an enclosing timer is due first the block runs under it unchanged; otherwise
    the enclosing timer is paused and re-armed with what is left afterwards, and if it
    expired meanwhile its handler is called (raising its exception).  Outside the main
    thread, or without ``setitimer``, the block runs unlimited (the worker process is the
    backstop there).
    """
    if not (seconds and seconds > 0 and hasattr(signal, "setitimer")) or \
            threading.current_thread() is not threading.main_thread():
        yield
        return
    outer_handler = signal.getsignal(signal.SIGALRM)
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:
        yield  # the enclosing limit comes first: let it fire as usual
        return
    start = time.monotonic()
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_left:
            left = outer_left - (time.monotonic() - start)
            if left <= 0 and callable(outer_handler):
                outer_handler(signal.SIGALRM, None)  # raises the enclosing limit's exception
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt pure-Python work (SymPy) after ``seconds`` with :class:`TimeLimit`.

    Composes with an enclosing limit (the claim's, see :func:`claim_limit`): the nearer
    deadline fires.  The runner's worker process is the hard backstop where this fails.
    """
    with alarm(seconds, _raise_limit):
        yield


@contextmanager
def claim_limit(seconds: float) -> Iterator[None]:
    """The claim's wall-clock limit in-process: :class:`ClaimTimeLimit` after ``seconds``."""
    with alarm(seconds, _raise_claim_limit):
        yield


REFIRE_S = 0.05  # an expiry swallowed by a callback is raised again this much later


def refire() -> None:
    """Re-arm SIGALRM shortly before raising from its handler.

    Python swallows an exception raised while a weakref callback or ``__del__`` runs (it
    only reports it as unraisable), so an expiry that lands there would be lost and the
    work would run on to the next, outer limit.  The timer is disarmed by whoever set it
    once the exception has left their block.
    """
    signal.setitimer(signal.ITIMER_REAL, REFIRE_S)


def _raise_limit(signum, frame):  # noqa: ARG001
    refire()
    raise TimeLimit()


def _raise_claim_limit(signum, frame):  # noqa: ARG001
    refire()
    raise ClaimTimeLimit()


def is_cost_statement(statement: m.Expr) -> bool:
    """Cost claims, and growth claims over a sweep, belong to the timing engine."""
    for node in walk(statement):
        if isinstance(node, (m.Cost, m.BigO)):
            return True
        if isinstance(node, m.Compare) and "~" in node.ops:
            return True
    return False


def decide_statement(ctx: Context) -> Outcome:
    """Route one statement and decide it; every strategy's internal error and every decline
    is kept in the outcome's evidence (``internal_errors``, ``declined``).  In strict mode an
    internal error makes the statement an ``error`` naming it."""
    from derive import chains  # a derivation a == b <= c … is decided link by link
    if chains.is_chain(ctx.statement):
        return chains.decide_chain(ctx, decide_statement)
    try:
        outcome = _route(ctx)
    except InternalFault as fault:
        outcome = Outcome(Verdict.ERROR, fault.record.get("engine"), fault.record.get("strategy"),
                          str(fault), {"strict": True})
    if ctx.internal_errors:
        outcome.evidence["internal_errors"] = list(ctx.internal_errors)
    if ctx.declined:
        outcome.evidence.setdefault("declined", list(ctx.declined))
    return outcome


def _route(ctx: Context) -> Outcome:
    available = engines()
    reasons: list[str] = []
    if is_cost_statement(ctx.statement):
        order = ["timing"]
    else:
        order = ["symbolic", "numeric"]
    symbolic_outcome: Optional[Outcome] = None
    for name in order:
        engine = available.get(name)
        if engine is None:
            reasons.append(f"the {name} engine is not installed")
            continue
        try:
            if name == "symbolic":
                with time_limit(ctx.options.symbolic_time_limit):
                    outcome = engine.decide(ctx)
            else:
                outcome = engine.decide(ctx)
        except TimeLimit:
            outcome = Outcome(Verdict.INCONCLUSIVE, name, None,
                              f"time limit: SymPy did not finish in {ctx.options.symbolic_time_limit:g} s",
                              {"time_limit_s": ctx.options.symbolic_time_limit})
        except MemoryError:
            outcome = Outcome(Verdict.INCONCLUSIVE, name, None, "memory limit reached", {})
        except (InternalFault, Interrupt):
            raise  # strict mode's fault, or the claim's own time limit
        except Exception as exc:  # noqa: BLE001
            if name != "symbolic":
                raise
            # raised outside every strategy's guard (StopIteration from SymPy's simplify):
            # recorded like a strategy's fault — never silent — and the numeric engine decides
            rec = faults.record(name, "engine", exc)
            ctx.internal_errors.append(rec)
            if faults.strict_mode(ctx.options):
                raise InternalFault(rec) from exc
            reasons.append(f"symbolic: internal error {type(exc).__name__}: {exc}"[:300])
            continue
        if outcome is None:
            reasons.append(f"{name}: no strategy applies" + (
                f" ({'; '.join(ctx.notes)})" if ctx.notes else ""))
            ctx.notes.clear()
            continue
        if outcome.verdict in (Verdict.UNSUPPORTED,):
            reasons.append(f"{name}: {outcome.summary}")
            continue
        if name == "symbolic":
            if outcome.verdict in (Verdict.PROVED, Verdict.REFUTED):
                return cross_check(ctx, outcome, available.get("numeric"))
            symbolic_outcome = outcome  # verified at fixed sizes, or inconclusive: numeric decides
            continue
        if symbolic_outcome is not None:
            outcome.evidence.setdefault("symbolic", symbolic_outcome.as_dict())
        return outcome
    if symbolic_outcome is not None:
        return symbolic_outcome
    return Outcome(Verdict.UNSUPPORTED, None, None,
                   "no engine decides this statement: " + "; ".join(reasons), {"reasons": reasons})


def cross_check(ctx: Context, symbolic: Outcome, numeric: Optional[Engine]) -> Outcome:
    """Re-test a symbolic verdict on numeric instances; disagreement is an error.

    A proof stands only when the numeric check passes: if it cannot run, the verdict is
    ``inconclusive`` (the proof is kept in the evidence).  A symbolic refutation carries an
    exact counterexample, so it stands on its own when numeric cannot check it.
    """
    ctx.cross_checking = True   # Monte Carlo: is sampling consistent with the proof?
    try:
        check = numeric.decide(ctx) if numeric is not None else None
    finally:
        ctx.cross_checking = False
    if symbolic.verdict == Verdict.PROVED and _only_rounding_doubts(check):
        # the numeric search found no counterexample; a few members differ by more than its
        # rounding model but far less than any wrong formula (≤ 1e-9 relative) and could not
        # be settled in high precision: that is no evidence against the certificate
        symbolic.evidence["cross_check"] = {
            **check.as_dict(), "note": "no counterexample; the only discrepancies are below "
            f"{ROUNDING_DOUBT:g} relative and could not be settled in high precision"}
        return symbolic
    if check is None or check.verdict in (Verdict.UNSUPPORTED, Verdict.INCONCLUSIVE, Verdict.SKIPPED):
        why = "numeric engine not installed" if numeric is None else (
            "no numeric strategy applies" if check is None else check.summary)
        symbolic.evidence["cross_check"] = {
            "verdict": None if check is None else check.verdict.value, "summary": why}
        if symbolic.verdict == Verdict.PROVED:
            return Outcome(Verdict.INCONCLUSIVE, symbolic.engine, symbolic.strategy,
                           f"symbolic proof found ({symbolic.summary}) but the numeric cross-check "
                           f"did not pass: {why}", {"symbolic": symbolic.as_dict()})
        return symbolic
    agrees = (check.verdict in (Verdict.VERIFIED, Verdict.PROVED)) == (symbolic.verdict == Verdict.PROVED)
    symbolic.evidence["cross_check"] = check.as_dict()
    if agrees:
        return symbolic
    if symbolic.verdict == Verdict.REFUTED and _confirmed_at_counterexample(ctx, symbolic):
        # the random instances missed an exact point (k = 9, x = 2π): the statement,
        # evaluated there by the numeric engine and in 60 digits, fails as stated
        symbolic.evidence["cross_check"]["note"] = (
            "the random instances did not reach the counterexample; evaluated at it, in "
            "float64 by the numeric evaluator and in 60-digit arithmetic, the statement fails")
        return symbolic
    return Outcome(Verdict.ERROR, "symbolic+numeric", symbolic.strategy,
                   f"engines disagree: symbolic says {symbolic.verdict.value} ({symbolic.summary}); "
                   f"numeric says {check.verdict.value} ({check.summary})",
                   {"symbolic": symbolic.as_dict(), "numeric": check.as_dict()})


ROUNDING_DOUBT = 1e-9  # relative discrepancy below which an unsettled member is no evidence


def _confirmed_at_counterexample(ctx: Context, symbolic: Outcome) -> bool:
    """Whether the symbolic counterexample (every free name at an exact value) makes the
    statement fail when evaluated numerically there (derive.numeric.precise.fails_at)."""
    exact = getattr(symbolic, "exact_point", None)
    if not isinstance(exact, dict) or not exact:
        return False
    try:
        from derive.numeric import precise
        return precise.fails_at(ctx.checked, ctx.statement, exact) is True
    except (TypeError, ValueError, AttributeError, ImportError):
        return False


def _only_rounding_doubts(check: Optional[Outcome]) -> bool:
    """A numeric outcome that is inconclusive only for members within a hair of rounding."""
    if check is None or check.verdict != Verdict.INCONCLUSIVE:
        return False
    ev = check.evidence or {}
    worst = ev.get("largest_relative_error")
    return bool(ev.get("unclear")) and isinstance(worst, (int, float)) and 0 <= worst <= ROUNDING_DOUBT


def statement_text(claim: m.Claim, show: m.Show) -> str:
    lines = claim.text.split("\n")
    offset = show.pos.line - claim.pos.line
    if 0 <= offset < len(lines):
        return lines[offset].strip()
    return ""


def decide_claim(checked: CheckedClaim, options: Options) -> tuple[Verdict, Optional[str], str, dict]:
    """Decide every statement of a claim; return (verdict, engine, summary, evidence).

    SymPy's cache is cleared first: what its simplifications return depends on what earlier
    claims left in it (hw5.t1.bn_cnn_axes was proved or not depending on which claims a
    worker had decided before), so each claim starts from the same state — same seed,
    same verdict, whatever the scheduling."""
    from sympy.core.cache import clear_cache

    from derive import guards

    clear_cache()

    refused = guards.check(checked)
    if refused:  # absurd sizes: refuse before any engine allocates
        summary, evidence = guards.refusal_outcome(refused)
        return Verdict.ERROR, None, summary, {"seed": options.seed, **evidence}
    parts = []
    for i, show in enumerate(checked.claim.shows):
        ctx = Context(checked, show, i, options)
        start = time.perf_counter()
        outcome = decide_statement(ctx)
        parts.append((show, outcome, time.perf_counter() - start))
    verdict = combine([o.verdict for _, o, _ in parts])
    deciding = next(o for _, o, _ in parts if o.verdict == verdict)
    if len(parts) == 1:
        summary = deciding.summary
    else:
        counts = {}
        for _, o, _ in parts:
            counts[o.verdict.value] = counts.get(o.verdict.value, 0) + 1
        tally = ", ".join(f"{n} {v}" for v, n in counts.items())
        summary = f"{len(parts)} statements ({tally}); " + deciding.summary
    evidence = {"seed": options.seed, "statements": [
        {"line": show.pos.line, "statement": statement_text(checked.claim, show),
         "seconds": round(sec, 4), **o.as_dict()} for show, o, sec in parts]}
    return verdict, deciding.engine, summary, evidence
