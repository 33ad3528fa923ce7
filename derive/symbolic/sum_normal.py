"""A normal form for expressions in sums over symbolic ranges of exponentials, logs and
roots — softmax, logsumexp, log-softmax, layer norm, tiled softmax merges.

Each step is an identity on the whole real domain (where both sides are defined):

* ``exp(a + b) = exp(a)·exp(b)``; then every ``Σ`` is split over its summand's terms and
  factors free of its bound indices are taken out (finite sums are linear), innermost
  first, so ``Σₖ exp(zₖ − m) = exp(−m)·Σₖ exp(zₖ)`` and ``Σₖ (xₖ + c − x̄ − c)²`` expands
  to sums of the entries alone; a sum of a term free of its indices is that term times
  the range's length (provably ≥ 0);
* a sum over a stacked index ([A; B]) is split at the blocks' boundary
  (:mod:`derive.symbolic.blocks`);
* bound indices are renamed canonically, so equal sums compare equal;
* every remaining sum is named by a fresh symbol — positive when its terms are positive
  and its range is non-empty (so a log of it splits), otherwise merely real: an identity
  in an *independent* symbol holds in particular at the sum's value;
* ``exp(c·m)`` becomes ``Eₘ^c`` (Eₘ > 0), logs of positive products split, and the
  argument of each root is factored (``√(c²·V) = |c|·√V``, SymPy's rule for real c).

A residual that is then identically 0 as a rational function of the names is 0.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive.symbolic.blocks import split_stacked, unroll_small
from derive.symbolic.elementary import _exp_atoms, _logs, realify
from derive.symbolic.strategies.indexed import alpha_normal, canonical, constant_sums, linear_sums

ROUNDS = 4  # linearity passes: each can expose a sum nested one level deeper


def split_exps(e: sp.Expr) -> sp.Expr:
    """exp(a + b) as exp(a)·exp(b) (SymPy keeps such a product apart)."""
    return e.replace(lambda x: isinstance(x, sp.exp),
                     lambda x: sp.Mul(*[sp.exp(t) for t in sp.Add.make_args(sp.expand(x.args[0]))]))


def normal_sums(e: sp.Expr) -> sp.Expr:
    """Sums split by linearity with constant factors out, constant sums folded, bound
    indices renamed canonically — repeated until nothing changes."""
    for _ in range(ROUNDS):
        new = canonical(constant_sums(linear_sums(unroll_small(split_stacked(split_exps(e))))))
        if new == e:
            break
        e = new
    return e


def unused_limits(e: sp.Expr) -> sp.Expr:
    """A range whose index the summand (and the other ranges) never mention, as a factor:
    its length, when provably ≥ 0 (Σ_{a,b} f(a) = (length of b's range)·Σ_a f(a))."""
    def drop(s: sp.Sum) -> sp.Expr:
        keep, factor = [], sp.Integer(1)
        for v, lo, hi in s.limits:
            used = v in s.function.free_symbols or any(
                v in (a.free_symbols | b.free_symbols) for w, a, b in s.limits if w != v)
            if used or not (hi - lo + 1).is_nonnegative:
                keep.append((v, lo, hi))
            else:
                factor *= hi - lo + 1
        if factor == 1:
            return s
        return factor * (sp.Sum(s.function, *keep) if keep else s.function)
    return e.replace(lambda x: isinstance(x, sp.Sum), drop)


def _nonempty(s: sp.Sum) -> bool:
    return all((hi - lo + 1).is_positive is True for _, lo, hi in s.limits)


def name_sums(e: sp.Expr) -> Optional[tuple[sp.Expr, dict]]:
    """Every sum (innermost first) as a symbol: positive for a sum of positive terms over
    a non-empty range, else real; None when a summand is not known to be real."""
    names: dict = {}
    failed = []

    def name(s: sp.Sum) -> sp.Expr:
        body = realify(s.function)
        if body.is_real is not True:
            failed.append(s)
            return s
        if s not in names:
            positive = body.is_positive is True and _nonempty(s)
            names[s] = sp.Symbol(f"_S{len(names)}", positive=True) if positive else \
                sp.Symbol(f"_S{len(names)}", real=True)
        return names[s]
    out = e.replace(lambda x: isinstance(x, sp.Sum), name)
    return None if failed else (out, names)


def _roots(e: sp.Expr) -> sp.Expr:
    """The base of each non-integer power factored, so positive (and squared real)
    factors leave the root."""
    return e.replace(lambda x: isinstance(x, sp.Pow) and x.exp.is_Rational and not x.exp.is_integer
                     and isinstance(x.base, sp.Add),
                     lambda x: sp.factor(x.base) ** x.exp)


def sum_zero(e: sp.Expr) -> bool:
    """True when the normal form of ``e`` is identically 0 (False: not shown, not refuted;
    also when SymPy's polynomial machinery cannot handle a part of it)."""
    try:
        return _sum_zero(e)
    except (sp.PolynomialError, NotImplementedError):
        return False


def _sum_zero(e: sp.Expr) -> bool:
    if e == 0:
        return True
    e = normal_sums(e)
    if e.has(sp.Sum):
        renamed = alpha_normal(e)  # sums equal up to permuting their indices
        e = unused_limits(renamed if renamed is not None else e)
        named = name_sums(e)
        if named is None:
            return False
        e = named[0]
    e, exps = _exp_atoms(e)
    if e.has(sp.exp):
        return False
    for _ in range(2):  # a log's argument may hold Eₘ only after the first pass
        e = _logs(e, exps)
    e = _roots(sp.expand(e))
    if e == 0:
        return True
    return sp.cancel(sp.together(e)) == 0


def merged_summand(e: sp.Expr) -> Optional[tuple[sp.Expr, sp.Expr, tuple]]:
    """``e = Σ_t c_t·Σ_L f_t + r`` with one common index range L for every sum: the
    pointwise summand ``Σ_t c_t·f_t`` (bound indices as free integers), r, and L.
    None when the sums do not share one range (or none is there)."""
    e = normal_sums(e)
    groups: dict = {}
    rest = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(e)):
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
        if len(sums) != 1 or (term / sums[0]).has(sp.Sum):
            rest += term
            continue
        s = sums[0]
        groups.setdefault(s.limits, []).append(term / s * s.function)
    if len(groups) != 1:
        return None
    (limits, parts), = groups.items()
    free = {v: sp.Symbol(f"_p{k}", integer=True) for k, (v, _, _) in enumerate(limits)}
    return sp.Add(*parts).xreplace(free), rest, limits
