"""Decide one checked claim: route each statement to the engines, cross-check, combine.

Routing: statements about cost (``time[…]``, ``flops[…]``, ``memory[…]``) or growth
over a sweep go to the timing engine; everything else to the symbolic engine first
and then the numeric engine.  A symbolic proof or refutation is re-tested
numerically; if the engines disagree the verdict is ``error``, never a silent pass.
"""
from __future__ import annotations

import importlib
import time
from functools import lru_cache
from typing import Optional

from sympy.core.cache import clear_cache

from derive import chains, faults, guards
from derive import model as m
from derive.engine import Context, Engine, Options, is_cost_statement
from derive.existential import decide_exists
from derive.faults import InternalFault, Interrupt
from derive.limits import TimeLimit, time_limit
from derive.outcome import Outcome, Verdict, combine
from derive.semantics import CheckedClaim

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


def decide_statement(ctx: Context) -> Outcome:
    """Route one statement and decide it; every strategy's internal error and every decline
    is kept in the outcome's evidence (``internal_errors``, ``declined``).  In strict mode an
    internal error makes the statement an ``error`` naming it."""
    if ctx.show.exists:  # 'show exists: P' is decided as the universal 'not P'
        return decide_exists(ctx, decide_statement)
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
    if symbolic.verdict == Verdict.REFUTED and _difference_corroborated(symbolic, check):
        symbolic.evidence["cross_check"]["note"] = (
            "the numeric engine passed the statement within its tolerance, but its own "
            "interval for lhs − rhs excludes 0 and contains the exact difference: the sides "
            "differ, by less than the numeric tolerance")
        return symbolic
    return Outcome(Verdict.ERROR, "symbolic+numeric", symbolic.strategy,
                   f"engines disagree: symbolic says {symbolic.verdict.value} ({symbolic.summary}); "
                   f"numeric says {check.verdict.value} ({check.summary})",
                   {"symbolic": symbolic.as_dict(), "numeric": check.as_dict()})


ROUNDING_DOUBT = 1e-9  # relative discrepancy below which an unsettled member is no evidence


def _difference_corroborated(symbolic: Outcome, check: Outcome) -> bool:
    """A numeric pass within tolerance whose interval for lhs − rhs excludes 0 and holds
    the symbolic refutation's exact difference: both engines see the same nonzero gap."""
    ev, sev = check.evidence or {}, symbolic.evidence or {}
    interval, exact = ev.get("interval"), sev.get("difference_value")
    if check.verdict != Verdict.VERIFIED or ev.get("interval_of") != "left − right" or \
            not isinstance(interval, (list, tuple)) or len(interval) != 2 or exact is None:
        return False
    try:
        lo, hi, d = float(interval[0]), float(interval[1]), float(exact)
    except (TypeError, ValueError):
        return False
    return (lo > 0 or hi < 0) and lo <= d <= hi


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
