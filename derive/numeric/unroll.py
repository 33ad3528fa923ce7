"""Terms of a claim's recurrences in high precision, for the high-precision referee.

A member with ``m[t] = g(1 − βᵗ)/(1 − β)`` at β = 0.999 differs from float64 iteration by
~1e-9 relative (the closed form cancels): rounding, but above the float64 model.  The
referee (:mod:`derive.numeric.precise`) settles such members by evaluating both sides at
the member's exact inputs; ``w[k]`` is computed here by iterating the recurrence from its
start values — the same steps the numeric evaluator takes (``Evaluator.sequence_value``) —
at the member's exact inputs with mpmath, in the referee's digits plus ``MARGIN`` and
again in twice its digits plus ``MARGIN``.  The two runs must agree to the referee's
digits (an unstable recurrence, where rounding grows like 2ᵗ, does not: the term is then
unknown), so a wrong closed form is still wrong at every digit, and a cancellation of
terms (w[t] − y/σ after w converged) shrinks when the referee doubles its digits, as
an exact input's would.  Each step is lowered to SymPy once and walked as a tree
(:func:`_compiled`; nothing is generated or executed).  Anything else — a tensor-valued
sequence, a step that does not lower, an index that is not the step variable plus a
constant, more than ``MAX_STEPS`` steps, an operation the walker does not know — is
Unsupported and the member stays undecided.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import mpmath
import sympy as sp

from derive import model as m
from derive.semantics import walk
from derive.symbolic.lower import Unsupported

MAX_STEPS = 5000
MARGIN = 30

Walker = Callable[[dict], Any]

_FUNCS = {sp.exp: mpmath.exp, sp.log: mpmath.log, sp.sin: mpmath.sin, sp.cos: mpmath.cos,
          sp.tan: mpmath.tan, sp.tanh: mpmath.tanh, sp.Abs: abs, sp.erf: mpmath.erf,
          sp.atan: mpmath.atan, sp.sinh: mpmath.sinh, sp.cosh: mpmath.cosh}


def _compiled(e: sp.Expr) -> Walker:
    """``e`` as a function of its symbols' mpmath values, at mpmath's working precision."""
    if e.is_Rational:
        p, q = int(e.p), int(e.q)
        return lambda env: mpmath.mpf(p) / q
    if isinstance(e, sp.Float):
        v = e._mpf_
        return lambda env: mpmath.mpf(v)
    if e is sp.pi:
        return lambda env: +mpmath.pi
    if e is sp.E:
        return lambda env: mpmath.e ** 1
    if isinstance(e, sp.Symbol):
        return lambda env: env[e]
    parts = [_compiled(a) for a in e.args]
    if isinstance(e, sp.Add):
        return lambda env: mpmath.fsum(f(env) for f in parts)
    if isinstance(e, sp.Mul):
        return lambda env: mpmath.fprod(f(env) for f in parts)
    if isinstance(e, sp.Pow):
        base, power = parts
        return lambda env: mpmath.power(base(env), power(env))
    fn = _FUNCS.get(type(e)) or _FUNCS.get(e.func)
    if fn is not None and len(parts) == 1:
        (arg,) = parts
        return lambda env: fn(arg(env))
    raise Unsupported(f"{type(e).__name__} in a recurrence step")


@contextmanager
def exact_sequences(low: Any, checked: Any, exact: Callable[[sp.Expr], Any],
                    ints: dict, digits: int) -> Iterator[None]:
    """While active, ``low.scalar`` lowers ``w[k]`` of a recurrence to its value at this
    member, good to ``digits`` significant digits.  ``exact(expr)`` gives the exact
    substitutions of expr's inputs at this member, ``ints`` the member's integer names
    (sizes, the step t) by symbol."""
    steps: dict[str, tuple] = {}
    low_dps, high_dps = digits + MARGIN, 2 * digits + MARGIN
    values: dict = {low_dps: {}, high_dps: {}}   # dps → (name, k) → mpf

    def index_of(e: m.Expr, env: dict) -> sp.Expr:
        return sp.expand(low.scalar(e, env).xreplace(ints))

    def compile_step(name: str) -> tuple:
        """(starts {k: walker}, offset, K, walker of the step, its terms {symbol: (seq, shift)})."""
        if name in steps:
            return steps[name]
        rec = checked.symbols[name].statement
        eqs = [eq for eq in rec.equations if eq.seq.id == name]
        starts, step = {}, [eq for eq in eqs if not isinstance(eq.index, m.Num)]
        if len(step) != 1:
            raise Unsupported(f"{name}: not one step equation")
        eq = step[0]
        var = next((n.id for n in walk(eq.index) if isinstance(n, m.Name)), None)
        if var is None:
            raise Unsupported("a recurrence step needs an index variable")
        K = sp.Dummy("_k", integer=True)
        offset = index_of(eq.index, {var: sp.Integer(0)})
        if not isinstance(offset, sp.Integer):
            raise Unsupported("a step index that is not the variable plus a constant")
        terms: dict = {}

        def placeholder(e: m.Index, env: dict) -> sp.Expr:
            if len(e.indices) != 1:
                raise Unsupported("a sequence term with several indices")
            shift = sp.expand(index_of(e.indices[0], env) - K)
            if not isinstance(shift, sp.Integer):
                raise Unsupported("a step term whose index is not k plus a constant")
            sym = sp.Dummy(f"_{e.base.id}{int(shift)}")
            key = (e.base.id, int(shift))
            for s, k2 in terms.items():
                if k2 == key:
                    return s
            terms[sym] = key
            return sym
        saved = low.seq_hook
        low.seq_hook = placeholder
        try:
            body = settle(low.scalar(eq.value, {var: K}), {K})
            for e in eqs:
                if isinstance(e.index, m.Num):
                    k = index_of(e.index, {})
                    starts[int(k)] = _compiled(settle(low.scalar(e.value), set()))
        finally:
            low.seq_hook = saved
        steps[name] = (starts, int(offset), K, _compiled(body), terms)
        return steps[name]

    def settle(v: sp.Expr, allowed: set) -> sp.Expr:
        if isinstance(v, sp.MatrixBase):
            raise Unsupported("a tensor-valued sequence")
        v = v.xreplace(ints)
        subs = exact(v)
        if subs is None:
            raise Unsupported("an input of the step has no exact value")
        v = v.xreplace(subs)
        if v.free_symbols - allowed - {s for s in v.free_symbols if isinstance(s, sp.Dummy)}:
            raise Unsupported("a step that leaves free names")
        return v

    def term(name: str, k: int, dps: int) -> Any:
        memo = values[dps]
        if (name, k) in memo:
            return memo[(name, k)]
        if k < 0 or k > MAX_STEPS:
            raise Unsupported(f"{name}[{k}]: outside the unrolling")
        starts, offset, K, body, terms = compile_step(name)
        with mpmath.workdps(dps):
            if k in starts:
                memo[(name, k)] = starts[k]({})
                return memo[(name, k)]
            if k - offset < 0:
                raise Unsupported(f"{name} has no value at {k}")
            for j in range(offset, k):   # fill from below: no deep recursion
                if (name, j) not in memo:
                    term(name, j, dps)
            env = {K: mpmath.mpf(k - offset)}
            for sym, (seq, shift) in terms.items():
                env[sym] = term(seq, k - offset + shift, dps)
            v = body(env)
        if isinstance(v, mpmath.mpc):
            raise Unsupported(f"{name}[{k}] is not real")
        memo[(name, k)] = v
        return v

    def hook(e: m.Index, env: dict) -> sp.Expr:
        if len(e.indices) != 1:
            raise Unsupported("a sequence term with several indices")
        k = index_of(e.indices[0], env)
        if not isinstance(k, sp.Integer):
            raise Unsupported("a sequence index that is not an integer here")
        lo, hi = term(e.base.id, int(k), low_dps), term(e.base.id, int(k), high_dps)
        if not (mpmath.isfinite(hi) and abs(hi - lo) <= abs(hi) * mpmath.mpf(10) ** -digits):
            raise Unsupported(f"{e.base.id}[{k}] is not stable to {digits} digits")
        return sp.Float(hi, high_dps)

    saved = low.seq_hook
    low.seq_hook = hook
    try:
        yield
    finally:
        low.seq_hook = saved
