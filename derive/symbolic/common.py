"""Shared pieces of the symbolic strategies: seeded exact sample points, exact
zero/sign tests, sign decisions under `assume`, and the outcome builders.

Every random point is rational and drawn from a generator seeded by the run seed and
the claim id, so a refutation is reproducible and exact (no floating point involved).
"""
from __future__ import annotations

import random
import zlib
from typing import Iterable, Optional

import sympy as sp

from derive.engine import Context
from derive.outcome import Outcome, Verdict
from derive.symbolic.lower import Lowering

ENGINE_NAME = "symbolic"


def rng_for(ctx: Context, salt: str = "") -> random.Random:
    """A generator seeded from Options.seed + claim id + statement index (deterministic)."""
    key = f"{ctx.options.seed}|{ctx.claim.id}|{ctx.index}|{salt}"
    return random.Random(zlib.crc32(key.encode()))


def draw(sym: sp.Symbol, rng: random.Random) -> sp.Rational:
    """A random rational (or integer) value respecting a symbol's assumptions."""
    if sym.is_integer:
        if sym.is_positive:
            return sp.Integer(rng.randint(1, 6))
        if sym.is_nonnegative:
            return sp.Integer(rng.randint(0, 6))
        return sp.Integer(rng.randint(-6, 6))
    value = sp.Rational(rng.randint(1, 97), rng.randint(1, 29))
    if sym.is_positive or sym.is_nonnegative:
        return value
    if sym.is_negative or sym.is_nonpositive:
        return -value
    return value if rng.random() < 0.5 else -value


def holds_at(conditions: Iterable[sp.Basic], point: dict) -> bool:
    """True when every condition is exactly true at the point (unknown counts as false)."""
    for cond in conditions:
        if cond is sp.true or cond is True:
            continue
        try:
            value = cond.subs(point)
        except (TypeError, ValueError, ZeroDivisionError):
            return False
        if value is not sp.true and value is not True:
            return False
    return True


def sample_points(lowering: Lowering, symbols: Iterable[sp.Symbol], rng: random.Random,
                  count: int, extra: Iterable[sp.Basic] = (), tries: int = 400) -> list[dict]:
    """Up to ``count`` rational points satisfying the declared bounds and assumptions."""
    syms = sorted(set(symbols), key=lambda s: s.name)
    conds = [c for c in list(lowering.conditions) + list(extra)
             if c is not sp.true and getattr(c, "free_symbols", None)]
    out: list[dict] = []
    for _ in range(tries):
        if len(out) >= count:
            break
        point = {s: draw(s, rng) for s in syms}
        if holds_at([c for c in conds if c.free_symbols <= set(point)], point):
            out.append(point)
    return out


def is_exact_zero(value: sp.Expr) -> Optional[bool]:
    """Exact test of a number: True (zero), False (certainly nonzero), None (unknown)."""
    value = sp.nsimplify(value) if isinstance(value, sp.Float) else value
    if value.is_Rational:
        return value == 0
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    if value.free_symbols:
        return None
    approx = value.evalf(60)
    if not approx.is_number:
        return None
    if abs(complex(approx)) > 1e-40:
        return False
    return True if value.equals(0) else None


def value_at(expr: sp.Expr, point: dict) -> Optional[sp.Expr]:
    try:
        value = expr.subs(point).doit()
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if value.has(sp.zoo, sp.nan):
        return None
    return value


def slack(lowering: Lowering) -> dict:
    """Substitutions that turn ``assume a > b`` (a a symbol) into ``a = b + δ`` with δ > 0."""
    subs: dict = {}
    for cond in lowering.conditions:
        if isinstance(cond, (sp.StrictGreaterThan, sp.StrictLessThan, sp.GreaterThan, sp.LessThan)):
            big, small = (cond.lhs, cond.rhs) if isinstance(
                cond, (sp.StrictGreaterThan, sp.GreaterThan)) else (cond.rhs, cond.lhs)
            if isinstance(big, sp.Symbol) and big not in subs and big not in small.free_symbols \
                    and small.free_symbols and all(s.is_positive for s in small.free_symbols):
                strict = isinstance(cond, (sp.StrictGreaterThan, sp.StrictLessThan))
                delta = sp.Symbol(f"_d_{big.name}", positive=True) if strict else \
                    sp.Symbol(f"_d_{big.name}", nonnegative=True)
                subs[big] = small + delta
    return subs


def sign_of(expr: sp.Expr, lowering: Lowering) -> Optional[int]:
    """-1, 0 or 1 when the sign is decided for all values under the assumptions, else None."""
    candidates = [expr]
    s = slack(lowering)
    if s:
        candidates.append(expr.subs(s))
    for e in candidates:
        e = sp.factor(sp.cancel(sp.together(e)))
        if e == 0:
            return 0
        if e.is_positive:
            return 1
        if e.is_negative:
            return -1
        num, den = sp.fraction(e)
        ns, ds = _poly_sign(num), _poly_sign(den)
        if ns and ds:
            return ns * ds
    return None


def _poly_sign(e: sp.Expr) -> Optional[int]:
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    expanded = sp.expand(e)
    if expanded.is_positive:
        return 1
    if expanded.is_negative:
        return -1
    return None


def simplify_zero(expr: sp.Expr) -> bool:
    """True when some cheap-to-expensive rewriting shows the expression is identically 0."""
    if expr == 0:
        return True
    for step in (sp.cancel, sp.expand, lambda e: sp.cancel(sp.expand(e)), sp.trigsimp,
                 sp.powsimp, sp.simplify):
        try:
            out = step(expr)
        except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
            continue
        if out == 0:
            return True
    return False


def show(point: dict) -> dict[str, str]:
    """A counterexample point as JSON-ready text."""
    return {str(k): str(v) for k, v in point.items()}


def proved(summary: str, strategy: str, **evidence) -> Outcome:
    return Outcome(Verdict.PROVED, ENGINE_NAME, strategy, summary, _clean(evidence))


def refuted(summary: str, strategy: str, **evidence) -> Outcome:
    return Outcome(Verdict.REFUTED, ENGINE_NAME, strategy, summary, _clean(evidence))


def verified(summary: str, strategy: str, **evidence) -> Outcome:
    return Outcome(Verdict.VERIFIED, ENGINE_NAME, strategy, summary, _clean(evidence))


def _clean(evidence: dict) -> dict:
    out = {}
    for k, v in evidence.items():
        if isinstance(v, sp.Basic):
            out[k] = str(v)
        elif isinstance(v, dict):
            out[k] = _clean(v)
        elif isinstance(v, (list, tuple)):
            out[k] = [str(x) if isinstance(x, sp.Basic) else x for x in v]
        else:
            out[k] = v
    return out
