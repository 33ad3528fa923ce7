"""High-precision re-evaluation of one instance: the referee for doubtful members.

A float64 discrepancy at rounding level says nothing: ``sum(softmax(z)) < 1`` looks true
within rounding and ``exp(-x²) < 1`` looks false at x = 1e-9.  Here the statement's sides
are lowered to SymPy (the symbolic engine's lowering, from the model, never from text),
the instance's float64 inputs are substituted as *exact* rationals, and each side is
evaluated to ``DIGITS`` significant digits with mpmath.  So the claim is decided at
exactly those inputs.  Anything that cannot be lowered or evaluated returns ``None``
and the member stays undecided.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import sympy as sp
import torch

from derive import model as m
from derive.semantics import walk

DIGITS = 60
TIE_REL = 1e-45          # |L − R| below this relative size is equality at these inputs
MIN_BITS = 20            # evalf returns an exact cancellation as "0.e-316" with no
                         # significant digit (1 bit): such a value is 0 at these inputs
MAX_ENTRIES = 64         # tensor inputs larger than this are not substituted (cost)


class Undefined:
    """A side with no real value at the instance (sqrt or log of a negative, 0/0)."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = Undefined()


def _rational(x: float) -> sp.Rational:
    return sp.Rational(x) if math.isfinite(x) else sp.nan


def substitutions(checked, env: dict, member: int, expr: sp.Basic) -> Optional[dict]:
    """Exact values of every free symbol and indexed entry of ``expr`` at one member."""
    subs: dict = {}
    labels = {str(ind.base) for ind in expr.atoms(sp.Indexed)}
    for s in expr.free_symbols:
        if isinstance(s, sp.Indexed) or (isinstance(s, sp.Symbol) and s.name in labels):
            continue
        name = s.name
        v = env.get(name)
        if isinstance(v, bool):
            return None
        if isinstance(v, int):
            subs[s] = sp.Integer(v)
        elif isinstance(v, float):
            subs[s] = _rational(v)
        elif isinstance(v, torch.Tensor) and v.numel() and v.dim() <= 1 and v.dtype.is_floating_point:
            subs[s] = _rational(float(v.reshape(-1)[member if v.numel() > member else 0]))
        elif isinstance(v, torch.Tensor) and v.numel() == 1 and not v.is_complex():
            subs[s] = _rational(float(v.reshape(-1)[0]))
        elif isinstance(s, sp.Idx) or name.startswith("_"):
            continue
        else:
            return None
    for ind in expr.atoms(sp.Indexed):
        base = str(ind.base)
        v = env.get(base)
        if not isinstance(v, torch.Tensor) or v.is_complex() or v.numel() > MAX_ENTRIES * max(1, v.shape[0]):
            return None
        row = v[member if v.shape[0] > member else 0]
        try:
            idx = tuple(int(i) - 1 for i in ind.indices)
        except TypeError:
            return None
        if len(idx) == 1 and row.dim() == 2 and row.shape[1] == 1:
            idx = (idx[0], 0)
        if len(idx) != row.dim() or any(i < 0 or i >= n for i, n in zip(idx, row.shape)):
            return None
        subs[ind] = _rational(float(row[idx]))
    return subs


def complex_claim(checked) -> bool:
    """Whether the claim works with complex numbers (then a non-real value is a value)."""
    cached = getattr(checked, "_complex_claim", None)
    if cached is not None:
        return cached
    out = any(info.domain == "complex" for info in checked.symbols.values())
    for node in _all_nodes(checked):
        if (isinstance(node, m.Num) and node.imaginary) or \
                (isinstance(node, m.Call) and node.func in ("re", "im", "conj", "fft", "ifft", "eig")):
            out = True
    try:
        object.__setattr__(checked, "_complex_claim", out)
    except AttributeError:
        pass
    return out


def _all_nodes(checked):
    for st in checked.claim.statements:
        for v in vars(st).values() if hasattr(st, "__dict__") else ():
            for item in (v if isinstance(v, (list, tuple)) else (v,)):
                if isinstance(item, m.Expr):
                    yield from walk(item)
                elif hasattr(item, "value") and isinstance(getattr(item, "value"), m.Expr):
                    yield from walk(item.value)


def _at_member(checked, expr: sp.Expr, env: dict, member: int
               ) -> Optional[tuple[sp.Expr, dict, dict]]:
    """A lowered expression with this member's sizes put in (and its sums evaluated), the
    sizes used, and the exact substitutions of its inputs; ``None`` when an input cannot
    be substituted (too large a tensor, a non-finite value)."""
    dims = {s: sp.Integer(env[s.name]) for s in expr.free_symbols
            if isinstance(env.get(getattr(s, "name", "")), int) and not isinstance(s, sp.Indexed)}
    if dims:
        expr = expr.subs(dims)
    if expr.has(sp.Sum, sp.Product):
        expr = expr.doit()
    subs = substitutions(checked, env, member, expr)
    if subs is None or any(v is sp.nan for v in subs.values()):
        return None
    return expr, dims, subs


def _sequences(low, checked, env: dict, member: int):
    """Recurrence terms ``w[k]`` lowered to their exact values at this member
    (:mod:`derive.numeric.unroll`)."""
    from derive.numeric.unroll import exact_sequences
    ints = {sym: sp.Integer(env[name]) for name, sym in {**low.dims, **low.symbols}.items()
            if isinstance(env.get(name), int) and not isinstance(env.get(name), bool)}
    return exact_sequences(low, checked, lambda x: substitutions(checked, env, member, x), ints,
                           DIGITS)


def value(checked, e: m.Expr, env: dict, member: int) -> Any:
    """One scalar side at one member: a SymPy Float (or complex number in a complex
    claim), :data:`UNDEFINED`, or ``None``."""
    from derive.symbolic.lower import Unsupported, lowering

    try:
        low = lowering(checked)
        with _sequences(low, checked, env, member):
            side = low.scalar(e)
        placed = _at_member(checked, side, env, member)
        if placed is None:
            return None
        expr, dims, subs = placed
        out = expr.xreplace(subs).evalf(DIGITS, maxn=4 * DIGITS)
        if not complex_claim(checked) and _outside_domain(low, e, dims, subs):
            return UNDEFINED
    except (Unsupported, TypeError, ValueError, ZeroDivisionError, AttributeError,
            RecursionError, NotImplementedError, OverflowError, KeyError):
        return None
    if out.free_symbols:
        return None
    if complex_claim(checked):
        if out.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            return None
        re, im = out.as_real_imag()
        return _digits(re) + sp.I * _digits(im)
    if out.has(sp.nan, sp.zoo) or out is sp.nan:
        return UNDEFINED
    if out in (sp.oo, -sp.oo):
        return out
    re, im = out.as_real_imag()
    try:
        re_f, im_f = _digits(sp.Float(re, DIGITS)), _digits(sp.Float(im, DIGITS))
    except (TypeError, ValueError):
        return None
    if abs(im_f) > sp.Float(10) ** (-DIGITS // 2) * max(1, abs(re_f)):
        return UNDEFINED  # not real: a real function outside its domain
    return re_f


GAP_DIGITS = 2000        # working precision for the gap of a tied strict comparison


def exact_gap(checked, a: m.Expr, b: m.Expr, env: dict, member: int) -> Optional[sp.Expr]:
    """``a − b`` at one member, lowered as *one* expression so that SymPy's adaptive evalf
    resolves the cancellation (σ(1000) − 1 = −5.1·10⁻⁴³⁵, which each side at 60 digits
    rounds to a tie).  Exact ``0`` when the difference is 0 in exact arithmetic; ``None``
    when even ``GAP_DIGITS`` digits leave no significant digit (σ(10⁶) − 1) — then
    nobody can say whether the sides are equal."""
    from derive.symbolic.lower import Unsupported, lowering

    try:
        low = lowering(checked)
        with _sequences(low, checked, env, member):
            gap = low.scalar(a) - low.scalar(b)
        placed = _at_member(checked, gap, env, member)
        if placed is None:
            return None
        expr, _, subs = placed
        exact = expr.xreplace(subs)
        if exact == 0:
            return sp.Integer(0)
        out = exact.evalf(DIGITS, maxn=GAP_DIGITS)
    except (Unsupported, TypeError, ValueError, ZeroDivisionError, AttributeError,
            RecursionError, NotImplementedError, OverflowError, KeyError):
        return None
    if out.free_symbols or out.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    re, im = out.as_real_imag()
    if not isinstance(re, sp.Float) or getattr(re, "_prec", 0) < MIN_BITS or im != 0:
        return None  # no significant digit (or not a real number): undecided
    return re


def _outside_domain(low, e: m.Expr, dims: dict, subs: dict) -> bool:
    """Whether a real partial function in ``e`` (sqrt, log, a fractional power) is outside
    its domain here.  The lowered expression cannot tell: SymPy turned ``sqrt(x)**2`` into
    ``x`` as it built it, so the conditions are read from the model
    (:func:`derive.symbolic.domains.side_conditions`)."""
    from derive.symbolic.partial import side_conditions
    for c in side_conditions(low, e):
        if dims:
            c = c.subs(dims)
        if c.has(sp.Sum, sp.Product):
            c = c.doit()
        c = c.xreplace(subs)
        if c is sp.false:
            return True
        if c is sp.true or not isinstance(c, sp.Rel) or c.free_symbols:
            continue
        gap = (c.lhs - c.rhs).evalf(DIGITS, maxn=4 * DIGITS)
        if not gap.is_real or gap.free_symbols:
            continue
        if (c.rel_op == ">=" and gap < 0) or (c.rel_op == ">" and gap <= 0):
            return True
    return False


def _digits(x: sp.Expr) -> sp.Expr:
    """A number without significant digits (an exact cancellation) as exact 0."""
    if isinstance(x, sp.Float) and getattr(x, "_prec", DIGITS) < MIN_BITS:
        return sp.Integer(0)
    return x


def _cancels(checked, st: m.Compare, env: dict, member: int, diff: Any) -> bool:
    """Whether a tiny difference of the sides is the noise of a cancellation: it shrinks
    by at least 10²⁰ at twice the digits (sin²+cos² − 1 is 1e-60 at 60 digits, 1e-120 at
    120), where a true difference (exp(−10⁶) against 0) stays put."""
    global DIGITS
    saved = DIGITS
    try:
        DIGITS = 2 * saved
        vals = [value(checked, x, env, member) for x in st.operands]
    finally:
        DIGITS = saved
    if any(v is None or isinstance(v, Undefined) for v in vals) or len(vals) != 2:
        return False
    again = abs(vals[0] - vals[1])
    return bool(again <= diff * sp.Float(10) ** -20)


def _holds(op: str, diff: Any, tie: bool) -> Optional[bool]:
    """Whether ``a op b`` holds given ``diff = a − b`` and whether the sides tie at the
    working precision (a tie passes ``==``, ``<=``, ``>=`` and fails the strict ones)."""
    return {"==": tie, "!=": not tie, "<": diff < 0 and not tie, ">": diff > 0 and not tie,
            "<=": diff < 0 or tie, ">=": diff > 0 or tie}.get(op)


def decide(checked, st: m.Compare, env: dict, member: int, ref: float = 0.0) -> Optional[bool]:
    """Whether the comparison holds at this member in high precision (``None``: unknown).
    A side defined where the other is not makes ``==`` fail (the claim is an identity of
    real functions); both undefined, or an undefined side of an inequality, is unknown.
    ``ref`` is the float64 run's largest intermediate: a difference that small next to it
    is re-evaluated at twice the digits (:func:`_cancels`); an exact cancellation is also
    recognised by :func:`_digits`."""
    vals = [value(checked, x, env, member) for x in st.operands]
    if any(v is None for v in vals):
        return None
    for k, (op, a, b) in enumerate(zip(st.ops, vals, vals[1:])):
        if isinstance(a, Undefined) or isinstance(b, Undefined):
            if op == "==" and not (isinstance(a, Undefined) and isinstance(b, Undefined)):
                return False
            return None
        if a in (sp.oo, -sp.oo) or b in (sp.oo, -sp.oo):
            return None
        diff = a - b
        tie = abs(diff) <= TIE_REL * max(abs(a), abs(b))
        if not tie and diff != 0 and abs(diff) <= TIE_REL * max(abs(ref), 1):
            tie = _cancels(checked, st, env, member, abs(diff))
        if not (diff.is_real or diff.is_real is None and sp.im(diff) == 0):
            if op in ("==", "!="):
                ok = tie if op == "==" else not tie
                if not ok:
                    return False
                continue
            return None
        if tie and op in ("<", ">", "!="):
            # a tie at these digits decides nothing for a strict comparison: σ(1000) < 1
            # ties at 60 digits and is true; resolve the gap as one expression, else unknown
            gap = exact_gap(checked, st.operands[k], st.operands[k + 1], env, member)
            if gap is None:
                return None
            diff, tie = gap, gap == 0
        ok = _holds(op, diff, tie)
        if ok is None:
            return None
        if not ok:
            return False
    return True


_FLIP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def decide_condition(checked, e: m.Expr, env: dict, member: int, ref: float = 0.0,
                     negated: bool = False) -> Optional[bool]:
    """A condition (comparisons joined by and/or/not/=>/<=>) at one member, in high
    precision.  ``None`` when it holds an equation: an equation inside a condition is read
    up to rounding (a point placed on ``η = 1/(σ1² + σs²)`` in float64 is on it only to
    rounding, amplified by the surface's conditioning), which exact arithmetic cannot
    reproduce.  A ``not`` is pushed down to the comparisons (``not a ≥ b`` is ``a < b``):
    a tie passes a non-strict comparison but not a strict one, so negating the verdict of
    ``a ≥ b`` at a tie would refute ``not σ(x) ≥ 1`` where σ(1000) < 1 only by 10⁻⁴³⁵."""
    if isinstance(e, m.Compare):
        if any(op in ("==", "!=", "≈") for op in e.ops):
            return None
        if not negated:
            return decide(checked, e, env, member, ref)
        links = [decide(checked, m.Compare((_FLIP[op],), (a, b), e.pos), env, member, ref)
                 for op, a, b in zip(e.ops, e.operands, e.operands[1:])]
        if any(v is True for v in links):  # not (a op b and b op c …): some link fails
            return True
        return None if any(v is None for v in links) else False
    if isinstance(e, m.Logic):
        if e.op == "not":
            return decide_condition(checked, e.args[0], env, member, ref, not negated)
        vals = [decide_condition(checked, a, env, member, ref) for a in e.args]
        if any(v is None for v in vals):
            return None
        out = m.connective(e.op, vals)
        if out is None:
            return None
        return (not out) if negated else out
    return None


ROUNDING_PERTURBATION = sp.Rational(1, 2 ** 50)   # a few ulps of a float64 input
TIE_DIGITS = 1200


def input_rounding_explains(checked, e: m.Compare, env: dict, member: int) -> Optional[bool]:
    """Whether an equation ``a == b`` (or ``a != b``) that float64 reads as a tie at this
    member is a tie up to the rounding of the float64 inputs: ``True`` when nudging every
    input by a few ulps moves ``a − b`` by as much as its exact value (a point placed on
    the surface ``a = b`` in float64, where the sides differ only by that rounding),
    ``False`` when the exact difference stands far clear of that spread (``exp(c·x)`` and
    ``exp(c·y)`` both underflow to 0 at c = −1000, or agree to 1e-9 at c = 1e-8, while
    the exact values differ), ``None`` when this cannot be evaluated."""
    from derive.symbolic.lower import Unsupported, lowering

    if len(e.ops) != 1 or e.ops[0] not in ("==", "!="):
        return None
    try:
        low = lowering(checked)
        a, b = (low.scalar(x) for x in e.operands)
        expr = a - b
        dims = {s: sp.Integer(env[s.name]) for s in expr.free_symbols
                if isinstance(env.get(getattr(s, "name", "")), int) and not isinstance(s, sp.Indexed)}
        if dims:
            expr, a, b = expr.subs(dims), a.subs(dims), b.subs(dims)
        if expr.has(sp.Sum, sp.Product):
            expr, a, b = expr.doit(), a.doit(), b.doit()
        subs = substitutions(checked, env, member, expr)
        if subs is None or any(v is sp.nan for v in subs.values()):
            return None

        def at(x: sp.Expr, s: dict, digits: int) -> Optional[sp.Float]:
            out = x.xreplace(s).evalf(digits, maxn=4 * digits)
            if out.free_symbols or out.has(sp.nan, sp.zoo, sp.oo, -sp.oo) or not out.is_real:
                return None
            # no significant digit (log(1 + e^(−10⁶)) at any affordable precision) is an
            # exact 0 here — judged before re-wrapping, which would claim 1200 digits
            out = _digits(out)
            return out if out.is_zero else sp.Float(out, digits)

        # deep: log(1 + e⁻⁵⁴¹) − log(1 + e⁻²⁰⁰⁰) has no correct digit at 60 (rarely run)
        digits = TIE_DIGITS
        d0 = at(expr, subs, digits)
        sides = [at(x, subs, digits) for x in (a, b)]
        if d0 is None or any(v is None for v in sides):
            return None
        if any(v.is_zero and x.xreplace(subs) != 0 for v, x in zip(sides, (a, b))):
            return None  # a side below the working precision (e^(−10⁶)): no judgement
        if abs(d0) <= sp.Float(10, digits) ** (15 - digits) * max(abs(v) for v in sides):
            # equal to the working precision: an exact tie — if the difference is the noise
            # of a cancellation (it shrinks at twice the digits); a true difference far
            # below the sides (1 + e^(−2.4·10⁶) against 1 + e^(−2.2·10⁷)) stays put and is
            # judged against the inputs' rounding below
            again = at(expr, subs, 2 * digits)
            if again is None or abs(again) <= abs(d0) * sp.Float(10) ** -20:
                return True
        keys = sorted(subs, key=str)
        spread = sp.Integer(0)
        for k in range(4):  # all up, all down, and two alternating patterns of a few ulps
            signs = [1 if (k == 0 or (k == 2 and j % 2 == 0) or (k == 3 and j % 2 == 1)) else -1
                     for j in range(len(keys))]
            moved = {s: subs[s] if subs[s].is_Integer else subs[s] * (1 + sg * ROUNDING_PERTURBATION)
                     for s, sg in zip(keys, signs)}
            d = at(expr, moved, digits)
            if d is None:
                return None
            spread = max(spread, abs(d - d0))
        return bool(abs(d0) <= 4 * spread)
    except (Unsupported, TypeError, ValueError, ZeroDivisionError, AttributeError,
            RecursionError, NotImplementedError, OverflowError, KeyError):
        return None


def fails_at(checked, st: m.Expr, point: dict) -> Optional[bool]:
    """Whether the statement fails at an exact point (name → SymPy number) that the
    symbolic engine reports as a counterexample — judged twice, independently of the
    symbolic strategy: in float64 by the numeric engine's own evaluator at the rounded
    point, and in 60-digit arithmetic at the exact point.  ``True`` only when both see it
    fail; ``False`` when both see it hold; ``None`` otherwise (tensors, unknown names, an
    undefined side, a comparison within rounding in float64 but not exactly)."""
    from derive.numeric.lower import Evaluator, LoweringError
    from derive.symbolic.lower import Unsupported, lowering

    low = lowering(checked)
    exact: dict = {}
    env: dict = {}
    for name, v in point.items():
        sym = low.symbols.get(name)
        info = checked.symbols.get(name)
        if sym is None or info is None or not isinstance(v, sp.Basic) or not v.is_number:
            return None
        exact[sym] = v
        try:
            f = float(sp.N(v, DIGITS))
        except (TypeError, ValueError):
            return None
        if info.role in ("dim", "sweep", "index") or info.domain == "integer":
            if not v.is_integer:
                return None
            env[name] = int(v) if info.role in ("dim", "sweep", "index") else \
                torch.tensor([f], dtype=torch.float64)
        else:
            env[name] = torch.tensor([f], dtype=torch.float64)
    try:
        hp = _holds_exactly(low, st, exact)
    except (Unsupported, TypeError, ValueError, ZeroDivisionError, AttributeError,
            RecursionError, NotImplementedError, OverflowError, KeyError):
        return None
    if hp is None:
        return None
    try:
        with torch.no_grad():
            ev = Evaluator(env, torch.device("cpu"), torch.float64, checked)
            v64 = ev.tensor(ev.ev(st)).reshape(-1)
    except (LoweringError, RuntimeError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if v64.dtype != torch.bool or v64.numel() != 1:
        return None
    f64 = bool(v64[0])
    if f64 != hp:
        return None
    return not hp


def _holds_exactly(low, st: m.Expr, exact: dict) -> Optional[bool]:
    if isinstance(st, m.Logic):
        vals = [_holds_exactly(low, a, exact) for a in st.args]
        if any(v is None for v in vals):
            return None
        return {"and": lambda: all(vals), "or": lambda: any(vals), "not": lambda: not vals[0],
                "=>": lambda: (not vals[0]) or vals[1], "<=>": lambda: vals[0] == vals[1]
                }.get(st.op, lambda: None)()
    if not isinstance(st, m.Compare):
        return None
    vals = []
    for x in st.operands:
        expr = low.scalar(x)
        if expr.has(sp.Sum, sp.Product):
            expr = expr.doit()
        if (expr.free_symbols - set(exact)) or (not complex_claim(low.checked)
                                                and _outside_domain(low, x, {}, exact)):
            return None
        out = sp.simplify(expr.xreplace(exact)) if expr.has(sp.pi, sp.E) else expr.xreplace(exact)
        out = out.evalf(DIGITS, maxn=4 * DIGITS)
        if out.free_symbols or out.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            return None
        re, im = out.as_real_imag()
        if abs(im) > sp.Float(10) ** (-DIGITS // 2) * max(1, abs(re)):
            return None
        vals.append(_digits(sp.Float(re, DIGITS)))
    for op, a, b in zip(st.ops, vals, vals[1:]):
        diff = a - b
        tie = abs(diff) <= TIE_REL * max(abs(a), abs(b), 1)
        ok = _holds(op, diff, tie)
        if ok is None:
            return None
        if not ok:
            return False
    return True
