"""Normal forms for the elementary functions of deep learning.

Two rewritings, each sound on the whole real domain:

* **Case splits** for ``max``, ``min``, ``abs``, ``relu`` (lowered as ``Max(x, 0)``) and
  ``sign``: every such atom is decided by the sign of one *key* (``a − b`` for
  ``Max(a, b)``, ``a`` for ``Abs(a)``); atoms sharing a key (up to sign) take their values
  from the same case, so ``abs(x) == sign(x)*x`` splits into x > 0, x < 0 and x = 0.  Every
  real point lies in some case, and in that case each atom equals the expression
  substituted for it, so a residual that vanishes identically in every case vanishes
  everywhere.  (A case that is infeasible only costs a proof, never soundness.)
* **Exp/log normal form**: ``tanh`` and ``sigmoid`` become quotients of exponentials,
  ``exp(c·m)`` (c rational, m a monomial) becomes ``Eₘ^c`` with ``Eₘ`` a fresh positive
  symbol, ``log`` of a positive argument is split into logs of positive factors
  (``expand_log`` without ``force``: SymPy splits only what it knows positive) and
  ``log Eₘ`` becomes m.  The result is zero as a function of independent ``Eₘ`` only if it
  is zero at ``Eₘ = exp(m)``, so a vanishing normal form proves the identity wherever both
  sides are defined (the convention of every other proof).

Sums over a symbolic range of exponentials (logsumexp, softmax) are handled by pulling
factors free of the summation index out of the ``Sum`` and naming each remaining sum of
positive terms over a non-empty range by a positive symbol.
"""
from __future__ import annotations

from typing import Iterator, Optional

import sympy as sp

MAX_CASES = 81  # 4 keys with 3 cases each: beyond that the strategy declines
_PIECEWISE = (sp.Max, sp.Min, sp.Abs, sp.sign, sp.Heaviside)


def has_elementary(expr: sp.Expr) -> bool:
    return expr.has(sp.exp, sp.log, sp.tanh, *_PIECEWISE)


# ------------------------------------------------------------------ case splits
def _key(atom: sp.Expr) -> sp.Expr:
    if isinstance(atom, (sp.Max, sp.Min)):
        return sp.expand(atom.args[0] - atom.args[1])
    return sp.expand(atom.args[0])


def _canonical(key: sp.Expr) -> tuple[sp.Expr, int]:
    """A key and the sign relating it to its canonical representative (k or −k)."""
    neg = sp.expand(-key)
    return (key, 1) if sp.default_sort_key(key) <= sp.default_sort_key(neg) else (neg, -1)


def _innermost(expr: sp.Expr) -> Optional[sp.Expr]:
    """A piecewise atom with no other piecewise atom inside (binary Max/Min first)."""
    for node in sp.postorder_traversal(expr):
        if isinstance(node, _PIECEWISE):
            return node
    return None


def _binary(expr: sp.Expr) -> sp.Expr:
    """Max(a, b, c) as Max(Max(a, b), c): every atom then has one key."""
    def split(node):
        if len(node.args) <= 2:
            return node
        head = type(node)(*node.args[:2], evaluate=False)
        for a in node.args[2:]:
            head = type(node)(head, a, evaluate=False)
        return head
    return expr.replace(lambda n: isinstance(n, (sp.Max, sp.Min)) and len(n.args) > 2, split)


def _value(atom: sp.Expr, case: int) -> sp.Expr:
    """The atom's value when its own key ``a − b`` (or ``a``) has sign ``case``."""
    if isinstance(atom, sp.Max):
        return atom.args[0] if case >= 0 else atom.args[1]
    if isinstance(atom, sp.Min):
        return atom.args[1] if case >= 0 else atom.args[0]
    if isinstance(atom, sp.Abs):
        return atom.args[0] if case >= 0 else -atom.args[0]
    if isinstance(atom, sp.sign):
        return sp.Integer(case)
    if isinstance(atom, sp.Heaviside):
        if case == 0:
            h0 = atom.args[1] if len(atom.args) > 1 else None
            if h0 is None:
                raise ValueError("Heaviside(0) undefined")
            return h0
        return sp.Integer(1 if case > 0 else 0)
    raise TypeError(type(atom).__name__)


def cases(expr: sp.Expr, chosen: Optional[dict] = None,
          count: Optional[list] = None) -> Iterator[tuple[sp.Expr, dict]]:
    """Every case of ``expr``: (the expression with its piecewise atoms replaced, the
    signs chosen for each canonical key).  Raises ValueError past MAX_CASES."""
    chosen = {} if chosen is None else chosen
    count = [0] if count is None else count
    expr = _binary(expr)
    atom = _innermost(expr)
    if atom is None:
        count[0] += 1
        if count[0] > MAX_CASES:
            raise ValueError("too many cases")
        yield expr, dict(chosen)
        return
    key, sgn = _canonical(_key(atom))
    options = [chosen[key]] if key in chosen else [1, -1, 0]
    for c in options:
        if key.is_number and key.is_zero is False and sp.sign(key) != c:
            continue  # a numeric key has one sign
        nxt = dict(chosen)
        nxt[key] = c
        out = expr.xreplace({atom: _value(atom, c * sgn)})
        if c == 0:
            out = _on_zero(out, key)
        yield from cases(out, nxt, count)


def _on_zero(expr: sp.Expr, key: sp.Expr) -> sp.Expr:
    """The case key = 0: where the key is linear in a real symbol s, s is replaced by the
    root, so the residual need vanish only on that hyperplane.  Without one the residual
    must vanish identically — a stronger demand, never an unsound one."""
    for s in sorted(key.free_symbols, key=lambda x: x.name):
        if not (s.is_Symbol and s.is_real):
            continue
        slope = sp.diff(key, s)
        if slope.is_number and slope != 0:
            root = sp.expand(s - key / slope)
            if s not in root.free_symbols:
                return expr.subs(s, root)
    return expr


# ------------------------------------------------------------------ exp/log normal form
def _pull_sum(s: sp.Sum) -> tuple[sp.Expr, sp.Sum]:
    """Σᵢ c·f(i) as c·Σᵢ f(i) for factors c free of the summation indices."""
    body = sp.powsimp(sp.expand(s.function, power_exp=True, mul=False, multinomial=False),
                      combine="base")
    body = sp.expand_power_exp(body)
    indices = {lim[0] for lim in s.limits}
    inside, outside = [], []
    for f in sp.Mul.make_args(body):
        (inside if f.free_symbols & indices else outside).append(f)
    return sp.Mul(*outside), sp.Sum(sp.Mul(*inside), *s.limits)


def realify(expr: sp.Expr) -> sp.Expr:
    """Tensor entries as real symbols, for assumption queries only (every tensor in the
    language is real; ``Indexed`` carries no assumptions)."""
    reps = {x: sp.Dummy(real=True) for x in expr.atoms(sp.Indexed)}
    return expr.xreplace(reps) if reps else expr


def is_real(expr: sp.Expr) -> bool:
    return realify(expr).is_real is True


def _positive_sums(expr: sp.Expr, conditions_positive) -> tuple[sp.Expr, dict]:
    """Name each Σ of positive terms over a non-empty range by a positive symbol."""
    names: dict = {}

    def rename(whole: sp.Sum):
        outside, s = _pull_sum(whole)
        return outside * _name(s)

    def _name(s: sp.Sum):
        if realify(s.function).is_positive is not True:
            return s
        for _, lo, hi in s.limits:
            if not conditions_positive(hi - lo + 1):
                return s
        canon = _canon_sum(s)
        if canon not in names:
            names[canon] = sp.Symbol(f"_S{len(names)}", positive=True)
        return names[canon]
    out = expr.replace(lambda x: isinstance(x, sp.Sum), rename)
    return out, names


def _canon_sum(s: sp.Sum) -> sp.Sum:
    body, limits = s.function, []
    for k, (i, lo, hi) in enumerate(s.limits):
        c = sp.Symbol(f"_k{k}", integer=True)
        body = body.xreplace({i: c})
        limits.append((c, lo, hi))
    return sp.Sum(body, *limits)


def _exp_atoms(expr: sp.Expr) -> tuple[sp.Expr, dict]:
    """exp(c·m) → Eₘ^c with Eₘ > 0, after splitting exp of sums into products."""
    expr = expr.rewrite(sp.tanh, sp.exp) if expr.has(sp.tanh) else expr
    expr = expr.replace(lambda x: isinstance(x, sp.exp),
                        lambda x: sp.Mul(*[sp.exp(t) for t in sp.Add.make_args(sp.expand(x.args[0]))]))
    names: dict = {}

    def atom(x):
        coeff, mono = x.args[0].as_coeff_Mul()
        if not coeff.is_Rational:
            coeff, mono = sp.Integer(1), x.args[0]
        if mono.could_extract_minus_sign():
            coeff, mono = -coeff, -mono
        if mono not in names:
            names[mono] = sp.Symbol(f"_E{len(names)}", positive=True)
        return names[mono] ** coeff
    out = expr.replace(lambda x: isinstance(x, sp.exp) and is_real(x.args[0]), atom)
    return out, names


def _logs(expr: sp.Expr, exps: dict) -> sp.Expr:
    """Split logs of positive arguments into logs of positive factors; log Eₘ → m."""
    back = {v: k for k, v in exps.items()}

    def split(x):
        arg = sp.factor(sp.together(x.args[0]))
        if arg.is_positive is not True:
            return x
        out = sp.expand_log(sp.log(arg), force=False)
        return out
    expr = expr.replace(lambda x: isinstance(x, sp.log), split)
    expr = sp.expand_log(expr, force=False)
    return expr.replace(lambda x: isinstance(x, sp.log) and x.args[0] in back,
                        lambda x: back[x.args[0]])


def exp_log_zero(expr: sp.Expr, nonempty=lambda n: False) -> bool:
    """True when the exp/log normal form of ``expr`` is identically 0."""
    if expr == 0:
        return True
    e = expr
    if e.has(sp.Sum):
        from derive.symbolic.strategies.indexed import alpha_normal, canonical
        e = canonical(e)  # equal sums with differently named dummies compare equal
        renamed = alpha_normal(e)  # … also when nested or with their indices permuted
        e = renamed if renamed is not None else e
        e, _ = _positive_sums(e, nonempty)
        if e.has(sp.Sum):
            return False
    e, exps = _exp_atoms(e)
    if e.has(sp.exp):
        return False
    for _ in range(2):  # a log's argument may itself hold Eₘ only after the first pass
        e = _logs(e, exps)
    e = sp.expand(e)
    if e == 0:
        return True
    return sp.cancel(sp.together(e)) == 0
