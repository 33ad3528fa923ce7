"""Shared pieces of the symbolic strategies: seeded exact sample points, exact
zero/sign tests, sign decisions under `assume`, and the outcome builders.

Every random point is rational and drawn from a generator seeded by the run seed and
the claim id, so a refutation is reproducible and exact (no floating point involved).
"""
from __future__ import annotations

import random
import signal
import threading
import time
from contextlib import contextmanager
from typing import Iterable, Iterator, Optional

import sympy as sp
from sympy.core.evalf import PrecisionExhausted

from derive import model as m
from derive.analysis import statement_seed
from derive.engine import Context, budget_scale
from derive.limits import TimeLimit, refire
from derive.outcome import Outcome, Verdict
from derive.semantics import walk
from derive.symbolic.lower import Lowering

ENGINE_NAME = "symbolic"


def is_equality(st: m.Expr) -> bool:
    """``a == b`` or ``a ≈ b``: an exact proof settles both (only ``==`` can be refuted)."""
    return isinstance(st, m.Compare) and len(st.ops) == 1 and st.ops[0] in ("==", "≈")


def sides_with(st: m.Expr, first) -> Optional[tuple[m.Expr, m.Expr]]:
    """The operands of an equality ordered so that ``first(a)`` holds for the first one
    (``None`` when neither side qualifies, or the statement is no equality)."""
    if not is_equality(st):
        return None
    a, b = st.operands
    if first(a):
        return a, b
    return (b, a) if first(b) else None


def is_approximate(ctx: Context) -> bool:
    st = ctx.statement
    return ctx.show.within is not None or ctx.show.rel is not None or (
        isinstance(st, m.Compare) and "≈" in st.ops)


def rng_for(ctx: Context, salt: str = "") -> random.Random:
    """A generator seeded from Options.seed + claim id + statement index (deterministic)."""
    return random.Random(statement_seed(ctx.options.seed, ctx.claim.id, ctx.index, salt))


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
    """True when every condition is certainly true at the point (unknown counts as false;
    see :func:`truth_at`)."""
    return all(cond is sp.true or cond is True or truth_at(cond, point) is True
               for cond in conditions)


_RELATIONS = {sp.Eq: lambda s: s == 0, sp.Ne: lambda s: s != 0,
              sp.StrictLessThan: lambda s: s < 0, sp.LessThan: lambda s: s <= 0,
              sp.StrictGreaterThan: lambda s: s > 0, sp.GreaterThan: lambda s: s >= 0}


def truth_at(cond: sp.Basic, point: dict) -> Optional[bool]:
    """The truth of a condition at a point, certified: True, False, or None (unknown).

    SymPy decides a relation between numbers by evaluating their difference to a few
    digits, so Eq(log(1 + e^(−10⁷)), log(1 + e^(−3·10⁶))) comes out True.  Here each
    relation's difference goes through :func:`is_exact_zero` (60 digits, strict: a value
    whose digits cancel away is unknown) and its sign is read only when certain; the
    connectives combine the three values (an unknown part leaves the whole unknown unless
    the others decide it)."""
    if cond is sp.true or cond is True:
        return True
    if cond is sp.false or cond is False:
        return False
    if isinstance(cond, sp.Not):
        inner = truth_at(cond.args[0], point)
        return None if inner is None else not inner
    if isinstance(cond, (sp.And, sp.Or)):
        parts = [truth_at(a, point) for a in cond.args]
        decisive = isinstance(cond, sp.Or)   # one True decides an Or, one False an And
        if decisive in parts:
            return decisive
        return None if None in parts else not decisive
    if isinstance(cond, sp.Implies):
        a, b = (truth_at(x, point) for x in cond.args)
        if a is False or b is True:
            return True
        return False if (a is True and b is False) else None
    if isinstance(cond, (sp.Equivalent, sp.Xor)):
        parts = [truth_at(a, point) for a in cond.args]
        if None in parts:
            return None
        return len(set(parts)) == 1 if isinstance(cond, sp.Equivalent) else sum(parts) % 2 == 1
    relation = _RELATIONS.get(type(cond))
    if relation is None:
        return None
    try:
        diff = at_point(cond.lhs, point) - at_point(cond.rhs, point)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if diff == 0:  # structurally zero (SymPy's own is_zero is numeric: not trusted here)
        return relation(0)
    if is_exact_zero(diff) is not False:
        return None
    if type(cond) in (sp.Eq, sp.Ne):
        return relation(1)
    try:
        approx = complex(diff.evalf(60, strict=True))
    except (PrecisionExhausted, TypeError, ValueError):
        return None
    if approx.imag != 0:
        return None
    return relation(1 if approx.real > 0 else -1)


def at_point(expr: sp.Basic, point: dict) -> sp.Basic:
    """``expr`` with every symbol of ``point`` replaced at once.

    Where the point gives every free symbol a number, one ``xreplace`` rebuilds the
    expression from numbers only; sequential ``subs`` would evaluate each partly
    substituted Min/Max/Abs/relational with assumption queries first (the slow part).
    """
    if point and all(isinstance(k, sp.Symbol) for k in point) and \
            all(getattr(v, "is_number", False) for v in point.values()) and \
            expr.free_symbols <= set(point):
        return expr.xreplace(point)
    return expr.subs(point)


def sample_points(lowering: Lowering, symbols: Iterable[sp.Symbol], rng: random.Random,
                  count: int, extra: Iterable[sp.Basic] = (), tries: int = 400) -> list[dict]:
    """Up to ``count`` rational points satisfying the declared bounds and assumptions.

    Symbols tied to the requested ones through an assumption are drawn too (a point
    with a < c is no counterexample under a < b < c unless some b fits), and no point
    is offered when an assumption could not be lowered and mentions these names.
    """
    conds = [c for c in list(lowering.conditions) + list(extra)
             if c is not sp.true and getattr(c, "free_symbols", None)]
    wanted = set(symbols)
    grown = True
    while grown:
        grown = False
        for c in conds:
            if c.free_symbols & wanted and not c.free_symbols <= wanted:
                wanted |= {s for s in c.free_symbols if s.is_Symbol}
                grown = True
    names = {s.name for s in wanted}
    for cond in lowering.unlowered:
        if any(isinstance(n, m.Name) and n.id in names for n in walk(cond)):
            return []
    syms = sorted(wanted, key=lambda s: s.name)
    out: list[dict] = []
    for _ in range(tries):
        if len(out) >= count:
            break
        point = {s: draw(s, rng) for s in syms}
        if holds_at([c for c in conds if c.free_symbols <= set(point)], point):
            out.append({s: v for s, v in point.items()})
    return out


def is_exact_zero(value: sp.Expr) -> Optional[bool]:
    """Exact test of a number: True (zero), False (certainly nonzero), None (unknown).

    Callers act only on False (a counterexample), so a value that evaluates to within
    1e-40 of zero is left unknown unless it is plainly 0: confirming it with
    ``equals(0)`` runs ``simplify`` (seconds on trigonometric values) for nothing.
    """
    value = sp.nsimplify(value) if isinstance(value, sp.Float) else value
    if value.is_Rational:
        return value == 0
    if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    if value.free_symbols:
        return None
    try:  # strict: a value whose digits cancel away (exp(529) − exp(529)·(sin² + cos²))
        # raises instead of returning noise such as -0.e+3417, which read as nonzero
        approx = value.evalf(60, strict=True)
    except PrecisionExhausted:
        return None
    if not approx.is_number:
        return None
    if abs(complex(approx)) > 1e-40:
        return False
    return True if value.is_zero else None


def value_at(expr: sp.Expr, point: dict) -> Optional[sp.Expr]:
    try:
        value = expr.subs(point).doit()
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if value.has(sp.zoo, sp.nan):
        return None
    return value


def defined_at(exprs: Iterable[sp.Expr], point: dict, complex_ok: bool = False) -> Optional[list]:
    """The values of several expressions at a point, or None where any is undefined
    there (division by zero, or not real when the claim is about reals): a point
    outside a side's domain is no counterexample."""
    out = []
    for e in exprs:
        v = value_at(e, point)
        if v is None or v.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
            return None
        if not complex_ok and v.is_number and v.is_extended_real is not True:
            if v.is_extended_real is False or abs(complex(sp.im(v).evalf(30))) > 1e-40:
                return None
        out.append(v)
    return out


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


SIMPLIFY_S = 1.0      # the speculative rewriting (trigsimp, simplify) of one residual
MAX_SIMPLIFY_OPS = 400  # residuals larger than this skip the general simplify


def is_rational_function(expr: sp.Expr) -> bool:
    """Built from symbols and numbers by + − × and integer powers only (no functions,
    no roots): ``cancel`` then decides identical vanishing exactly."""
    for node in sp.preorder_traversal(expr):
        if node.is_Symbol or node.is_Rational or node is sp.I or node.is_Add or node.is_Mul:
            continue
        if node.is_Pow and node.exp.is_Integer:
            continue
        return False
    return True


def _rewrite_exp(e: sp.Expr) -> sp.Expr:
    """exp(iθ) as cos θ + i sin θ (Euler), then angle sums expanded."""
    if not (e.has(sp.exp) and e.has(sp.I)):
        return e
    e = e.replace(lambda x: isinstance(x, sp.exp) and x.args[0].has(sp.I),
                  lambda x: x.rewrite(sp.cos))
    return sp.expand(sp.expand_trig(e))


def simplify_zero(expr: sp.Expr, budget_s: float = SIMPLIFY_S) -> bool:
    """True when some cheap-to-expensive rewriting shows the expression is identically 0.

    A rational function is settled by ``cancel`` alone.  Otherwise the cheap rewritings
    run first; the expensive ones (trigonometric and general simplification) share
    ``budget_s`` seconds, and ``simplify`` is skipped for very large residuals — the
    numeric engine decides what this cannot.
    """
    if expr == 0:
        return True
    try:
        if is_rational_function(expr):
            return sp.cancel(expr) == 0
    except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
        pass
    cheap = (sp.cancel, sp.expand, lambda e: sp.cancel(sp.expand(e)), sp.powsimp,
             lambda e: sp.expand(sp.expand_trig(e)), _rewrite_exp)
    if _any_zero(expr, cheap):
        return True
    costly = [sp.trigsimp] + ([sp.simplify] if sp.count_ops(expr) <= MAX_SIMPLIFY_OPS else [])
    return bool(within(budget_s, _any_zero, expr, costly, default=False))


def _any_zero(expr: sp.Expr, steps) -> bool:
    for step in steps:
        try:
            out = step(expr)
        except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
            continue
        if out == 0:
            return True
    return False


class Shown(dict):
    """A counterexample as JSON-ready text that keeps its exact SymPy values (``exact``)
    for the router, which evaluates the statement there (derive.decide.cross_check)."""

    exact: dict = {}


def show(point: dict) -> dict[str, str]:
    """A counterexample point as JSON-ready text."""
    out = Shown({str(k): str(v) for k, v in point.items()})
    out.exact = {str(k): v for k, v in point.items()}
    return out


def proved(summary: str, strategy: str, **evidence) -> Outcome:
    """A proof; its evidence always holds a ``certificate`` (route and side conditions),
    at least the strategy's own account of the route."""
    evidence.setdefault("certificate", {"route": f"{strategy}: {summary}"})
    return Outcome(Verdict.PROVED, ENGINE_NAME, strategy, summary, _clean(evidence))


def refuted(summary: str, strategy: str, exact_point: Optional[dict] = None, **evidence) -> Outcome:
    """A refutation; ``exact_point`` (else a :class:`Shown` counterexample's values), when
    every value is an exact SymPy number, rides along as ``Outcome.exact_point`` (not part
    of the evidence) so that the router can evaluate the statement there."""
    exact = exact_point if exact_point is not None else getattr(evidence.get("counterexample"), "exact", None)
    out = Outcome(Verdict.REFUTED, ENGINE_NAME, strategy, summary, _clean(evidence))
    if exact and all(isinstance(v, sp.Basic) and v.is_number for v in exact.values()):
        out.exact_point = {str(k): v for k, v in exact.items()}
    return out


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


class OutOfBudget(Exception):
    """One strategy used up its share of the statement's time limit (it then passes)."""


@contextmanager
def budget(seconds: float, token: object = None) -> Iterator[None]:
    """Give the enclosed work at most ``seconds`` of the statement's time limit.

    Nests inside :func:`derive.limits.time_limit` and inside another ``budget``: the
    outer timer is paused and re-armed with what is left afterwards, and when the outer
    limit is the nearer one the outer exception is raised, never swallowed.  The
    ``OutOfBudget`` raised here carries ``token`` (see :func:`within`).
    """
    seconds *= budget_scale()
    if seconds <= 0 or not hasattr(signal, "setitimer") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return
    outer_handler = signal.getsignal(signal.SIGALRM)
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:
        yield  # the outer limit comes first: let it fire as usual
        return

    def expired(signum, frame):  # noqa: ARG001
        refire()
        raise OutOfBudget(token)
    start = time.monotonic()
    signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_left:
            left = outer_left - (time.monotonic() - start)
            if left <= 0:
                if callable(outer_handler):
                    outer_handler(signal.SIGALRM, None)  # raises the outer limit's exception
                raise TimeLimit()
            signal.setitimer(signal.ITIMER_REAL, left)


def within(seconds: float, fn, *args, default=None, **kwargs):
    """``fn(*args, **kwargs)`` given at most ``seconds``; ``default`` when they run out.

    For speculative work inside a strategy (a fallback rewriting, a refutation search):
    only this call's own timer is swallowed — an enclosing budget or the statement's
    time limit that expires first still propagates.  A ``StopIteration`` leaking out of
    SymPy (``sum_simplify`` on a ratio of indexed sums) also gives ``default``: left to
    propagate it escapes every ``except`` list and ends the whole statement.
    """
    token = object()
    try:
        with budget(seconds, token):
            return fn(*args, **kwargs)
    except OutOfBudget as exc:
        if exc.args and exc.args[0] is token:
            return default
        raise
    except StopIteration:  # a SymPy corner (simplify of a ratio of indexed sums): no rewriting
        return default


def as_sympy(value) -> sp.Expr:
    """A SymPy number for a Python int, else the SymPy object itself (sizes from the
    semantic pass are already SymPy expressions; nothing here parses text)."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, int):
        return sp.Integer(value)
    raise TypeError(f"not a SymPy value: {type(value).__name__}")


def plain(ctx: Context, e: m.Expr, allow: frozenset = frozenset()) -> bool:
    """No randomness, sequences (but those in ``allow``) or optimisation inside (other
    strategies own those)."""
    for node in walk(e):
        if isinstance(node, (m.Stat, m.Cond, m.Cost, m.BigO)):
            return False
        if isinstance(node, m.Call) and node.func in ("argmin", "argmax", "integrate"):
            return False
        if isinstance(node, m.Name):
            info = ctx.checked.symbols.get(node.id)
            if info is not None and (info.random or info.role in ("sequence", "function")
                                     and node.id not in allow):
                return False
    return True


SPECIAL = [0, 1, -1, 2, -2, sp.Rational(1, 2), -sp.Rational(1, 2), 3, -3, 7, -7, 10, -10, 100,
           -100, 1000, -1000, 10**6, -10**6]
MAX_SPECIAL = 60


def special_values(sym: sp.Symbol, exprs: Iterable[sp.Basic], lowering: Lowering) -> list:
    """Values a counterexample likes: 0, ±1, small and large magnitudes, integers far
    outside −6..6, the finite ends of the declared domain, and the rational roots of the
    factors (in this symbol alone) of the expressions' numerators and denominators."""
    out: list = []
    for e in exprs:
        for rel in sp.preorder_traversal(e):
            if isinstance(rel, sp.Rel):
                diff = rel.lhs - rel.rhs
            elif isinstance(rel, sp.Expr) and rel is e:
                diff = rel
            else:
                continue
            try:
                num, den = sp.fraction(sp.together(diff))
                for part in (num, den):
                    if part.free_symbols == {sym} and sp.Poly(part, sym).degree() <= 8:
                        out.extend(r for r in sp.Poly(part, sym).ground_roots() if r.is_Rational)
            except (sp.PolynomialError, TypeError, ValueError, NotImplementedError):
                continue
    try:
        dom = lowering.domain_set(sym)
        for end in (getattr(dom, "inf", None), getattr(dom, "sup", None)):
            if end is not None and end.is_finite:
                out.append(end)
    except (TypeError, ValueError, NotImplementedError):
        pass
    out.extend(sp.Integer(v) if isinstance(v, int) else v for v in SPECIAL)
    trig = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)
    if any(isinstance(f, trig) and sym in f.free_symbols for e in exprs for f in sp.preorder_traversal(e)):
        out.extend(k * sp.pi / 2 for k in (1, -1, 2, -2, 3, -3, 4, -4))  # other periods
    seen, fits = set(), []
    for v in out:
        v = sp.Integer(v) if isinstance(v, int) else v
        if v in seen or not _fits(sym, v):
            continue
        seen.add(v)
        fits.append(v)
    return fits


def _fits(sym: sp.Symbol, v: sp.Expr) -> bool:
    """Whether a value respects a symbol's assumptions (integer, sign, nonzero)."""
    if not v.is_real:
        return False
    checks = (("integer", v.is_integer), ("positive", v.is_positive),
              ("nonnegative", v.is_nonnegative), ("negative", v.is_negative),
              ("nonpositive", v.is_nonpositive), ("nonzero", v.is_nonzero))
    return all(ok for flag, ok in checks if getattr(sym, "is_" + flag))


def special_points(lowering: Lowering, symbols: Iterable[sp.Symbol], exprs: Iterable[sp.Basic],
                   rng: random.Random, count: int = MAX_SPECIAL) -> list[dict]:
    """Up to ``count`` points built from :func:`special_values` that meet the declared
    bounds and assumptions (one symbol moves through its list while the others take
    their first values, then random combinations)."""
    syms = sorted(set(symbols), key=lambda s: s.name)
    if not syms:
        return []
    names = {s.name for s in syms}
    for cond in lowering.unlowered:
        if any(isinstance(n, m.Name) and n.id in names for n in walk(cond)):
            return []
    exprs = list(exprs)
    values = {s: special_values(s, exprs, lowering) for s in syms}
    if any(not v for v in values.values()):
        return []
    conds = [c for c in lowering.conditions if c is not sp.true
             and getattr(c, "free_symbols", None) and c.free_symbols <= set(syms)]
    out: list[dict] = []
    candidates = []
    for s in syms:
        for v in values[s]:
            candidates.append({**{o: values[o][0] for o in syms}, s: v})
    for _ in range(4 * count):
        candidates.append({s: rng.choice(values[s]) for s in syms})
    seen = set()
    for point in candidates:
        key = tuple(point[s] for s in syms)
        if key in seen:
            continue
        seen.add(key)
        if holds_at(conds, point):
            out.append(point)
            if len(out) >= count:
                break
    return out
