"""Identities with sums over symbolic sizes: entries as ``Indexed`` objects, means and
inner products as ``Sum``, gradients by differentiating with respect to ``x[j]``
(SymPy yields ``KroneckerDelta`` sums, collapsed by delta summation).  The free entry
index j ranges over 1..n; conditions such as ``1 ≤ j ≤ n`` left by the summation are
decided at the range's ends (they are linear in j)."""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk
from derive.symbolic.common import plain
from derive.symbolic.lower import Unsupported, lowering, squared_nested_sum, sum_depth
from derive.symbolic.common import is_equality, proved, within
from derive.symbolic.accumulate import running_sums
from derive.symbolic.index_facts import index_ranges, sqrt_products, with_facts
from derive.symbolic.kron_split import split_kron
from derive.symbolic.sum_shift import merged_products, shift_sums, unroll_literal

NAME = "indexed-sums"
SETTLE_S = 6.0  # evaluating the sums (delta summation): the corpus needs ≤ 0.7 s idle; benchmarks/load_margin.py keeps an 8× margin for load
ROUGH_SETTLE_S = 0.5  # ... when a summand has max/min/abs/sign: SymPy's closed forms stall there
SIMPLIFY_S = 0.25  # the simplify fallback after expansion and factor_terms (the corpus'
#                   proofs need neither: factor_terms collects Σ g/n − Σ g/n in milliseconds)
REASSOCIATE_S = 3.0  # comparing the sums as written, flattened and renamed (no evaluation):
#                      papers.linear_attention needs 0.4 s idle
_ROUGH = (sp.Max, sp.Min, sp.Abs, sp.sign, sp.Heaviside)


def resolve(expr: sp.Expr, ranges: dict) -> sp.Expr:
    """Replace conditions on free indices that hold (or fail) on their whole range
    (checked at both ends, which decides it for conditions linear in the index)."""
    def decide(rel: sp.Basic) -> sp.Basic:
        for j, (lo, hi) in ranges.items():
            if j in rel.free_symbols and sp.diff(rel.lhs - rel.rhs, j, 2) == 0:  # linear in j
                ends = {rel.subs(j, lo), rel.subs(j, hi)}
                if ends == {sp.true}:
                    return sp.true
                if ends == {sp.false}:
                    return sp.false
        return rel
    return expr.replace(lambda x: isinstance(x, sp.Rel) and not isinstance(x, (sp.Eq, sp.Ne)),
                        decide).replace(lambda x: isinstance(x, sp.Piecewise),
                                        lambda x: sp.piecewise_fold(x))


def canonical(expr: sp.Expr) -> sp.Expr:
    """Rename summation dummies by nesting depth so equal sums compare equal."""
    def rename(s: sp.Sum) -> sp.Sum:
        body, limits = s.function, list(s.limits)
        depth = sum(1 for x in sp.preorder_traversal(body) if isinstance(x, sp.Sum))
        new = []
        for k, (i, lo, hi) in enumerate(limits):
            c = sp.Symbol(f"_c{depth}_{k}", integer=True)
            body = body.xreplace({i: c})
            new.append((c, lo, hi))
        return sp.Sum(body, *new)
    return expr.replace(lambda x: isinstance(x, sp.Sum), rename)


def settle(expr: sp.Expr, ranges: dict) -> sp.Expr:
    out = resolve(expr.doit(), ranges)
    out = out.doit() if out.has(sp.Sum) else out
    return canonical(resolve(out, ranges))


MAX_RENAMINGS = 720  # bijections of bound indices tried per flattened sum


def _flatten(s: sp.Sum):
    """A nested sum as (summand, limits) with every inner sum pulled out, when no inner
    range depends on an outer index (then Σᵢ f·Σⱼ g = Σᵢⱼ f·g: finite sums commute)."""
    body, limits = s.function, list(s.limits)
    changed = True
    while changed:
        changed = False
        bound = {lim[0] for lim in limits}
        for f in sp.Mul.make_args(body):
            if isinstance(f, sp.Sum) and not any(
                    (lo.free_symbols | hi.free_symbols) & (bound | {l[0] for l in f.limits})
                    for _, lo, hi in f.limits):
                # every pulled-out index renamed apart: a sum left inside (in exp, in a
                # denominator) may bind the same name, and renaming must not capture it
                fresh = {v: sp.Dummy(f"r{v.name}", integer=True) for v, _, _ in f.limits}
                inner = f.function.xreplace(fresh)  # sibling sums may reuse a dummy's name
                body = (body / f) * inner
                limits += [(fresh.get(v, v), lo, hi) for v, lo, hi in f.limits]
                changed = True
                break
    if any((lo.free_symbols | hi.free_symbols) & {l[0] for l in limits} for _, lo, hi in limits):
        return None
    return body, limits


def _product_depth(e: sp.Basic) -> int:
    if isinstance(e, sp.Product):
        return 1 + _product_depth(e.function)
    return max((_product_depth(a) for a in e.args), default=0)


def alpha_normal(expr: sp.Expr, tidy=None) -> sp.Expr:
    """Every outermost sum flattened, split over its terms, and its bound indices renamed
    by the bijection (within equal ranges) giving the smallest printed summand — so sums
    equal up to renaming and reordering their indices (tr(ABC) and tr(CAB)) coincide.
    ``tidy`` rewrites each renamed summand by a declared fact first (symmetric entries)."""
    import itertools

    def normal(s: sp.Sum) -> sp.Expr:
        if s.function.has(sp.Sum):  # inner sums first (inside exp, in a denominator, …)
            s = sp.Sum(walk_top(s.function), *s.limits)
        flat = _flatten(s)
        if flat is None:
            return s
        body, limits = flat
        groups: dict = {}
        for var, lo, hi in limits:
            groups.setdefault((sp.srepr(lo), sp.srepr(hi)), []).append((var, lo, hi))
        keys = sorted(groups)
        count = 1
        for k in keys:
            for r in range(2, len(groups[k]) + 1):
                count *= r
        if count > MAX_RENAMINGS:
            return s
        canon = []
        level = sum_depth(body)  # sums inside are renamed apart from this one's indices
        for g, k in enumerate(keys):
            for r, (var, lo, hi) in enumerate(groups[k]):
                canon.append((sp.Symbol(f"_a{g}_{r}" + (f"_{level}" if level else ""),
                                        integer=True), lo, hi))
        out = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(body)):
            best = None
            for perm in itertools.product(*[itertools.permutations(groups[k]) for k in keys]):
                order = [v for block in perm for v in block]
                mapping = {var: c[0] for (var, _, _), c in zip(order, canon)}
                cand = term.xreplace(mapping) if tidy is None else tidy(term.xreplace(mapping))
                key = sp.sstr(cand)
                if best is None or key < best[0]:
                    best = (key, cand)
            out += sp.Sum(best[1], *canon)
        return out

    def product(p: sp.Product) -> sp.Expr:
        """A product's indices named by position and nesting (exp(Σ) becomes Π exp)."""
        body = walk_top(p.function)
        level = _product_depth(body)  # products inside keep names of their own
        names = {v: sp.Symbol(f"_p{k}_{level}", integer=True) for k, (v, _, _) in enumerate(p.limits)}
        return sp.Product(body.xreplace(names), *[(names[v], lo, hi) for v, lo, hi in p.limits])

    def walk_top(e: sp.Expr) -> sp.Expr:
        if isinstance(e, sp.Sum):
            return normal(e)
        if isinstance(e, sp.Product) and not any(
                (lo.free_symbols | hi.free_symbols) & {v for v, _, _ in e.limits}
                for _, lo, hi in e.limits):
            return product(e)
        if e.args and not e.is_Atom:
            return e.func(*[walk_top(a) for a in e.args])
        return e
    return walk_top(expr)


def constant_sums(expr: sp.Expr) -> sp.Expr:
    """Σ over ranges of a summand free of their indices as summand × the ranges' lengths,
    when every length is provably ≥ 0 (then an empty range gives 0 on both sides)."""
    def fold(s: sp.Sum) -> sp.Expr:
        idx = {v for v, _, _ in s.limits}
        if s.function.free_symbols & idx:
            return s
        size = sp.Integer(1)
        for _, lo, hi in s.limits:
            if (lo.free_symbols | hi.free_symbols) & idx or not (hi - lo + 1).is_nonnegative:
                return s
            size *= hi - lo + 1
        return s.function * size
    return expr.replace(lambda x: isinstance(x, sp.Sum), fold)


def linear_sums(expr: sp.Expr) -> sp.Expr:
    """Sums distributed over the terms of their summand, with factors free of the bound
    indices taken out (finite sums are linear, whatever the range), innermost first.
    Deterministic where ``simplify`` is not: it needs no time budget, so a proof that
    rests on linearity alone (Σ(β + γ(xᵢ − x̄))/n = β) does not depend on the load."""
    def split(s: sp.Sum) -> sp.Expr:
        bound = {v for v, _, _ in s.limits}
        out = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(s.function)):
            outside = [f for f in sp.Mul.make_args(term) if not f.free_symbols & bound]
            inside = [f for f in sp.Mul.make_args(term) if f.free_symbols & bound]
            out += sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), *s.limits)
        return out
    return expr.replace(lambda x: isinstance(x, sp.Sum), split)


def peel(expr: sp.Expr) -> sp.Expr:
    """Σᵢ₌ₐ^{h+c} f as Σᵢ₌ₐ^h f + f(h+1) + … + f(h+c) for a positive integer c, where the
    remaining range is provably of length ≥ 0 (so both sides mean the same, empty or not)."""
    def split(s: sp.Sum) -> sp.Expr:
        if len(s.limits) != 1:
            return s
        i, lo, hi = s.limits[0]
        c, rest = sp.expand(hi).as_coeff_Add()
        if not (c.is_Integer and 0 < c <= 4 and rest != 0 and (rest - lo + 1).is_nonnegative):
            return s
        return sp.Sum(s.function, (i, lo, rest)) + sum(s.function.subs(i, rest + r)
                                                       for r in range(1, int(c) + 1))
    return expr.replace(lambda x: isinstance(x, sp.Sum), split)


class IndexedSums:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st):
            return None
        if not plain(ctx, st, running_sums(ctx.checked, st)):  # S[t+1] = S[t] + F(t) is a sum
            return None
        low = lowering(ctx.checked)
        a, b = st.operands
        t = low.vtype(a)
        if t.kind == "tensor" and not t.is_scalar:
            if any(d is None for d in t.shape):
                return None
            idx = tuple(sp.Symbol(f"j{k}", integer=True, positive=True) for k in range(len(t.shape)))
            ranges = {j: (sp.Integer(1), d) for j, d in zip(idx, t.shape)}
        else:
            idx, ranges = (), {}
        ranges = {**index_ranges(low), **ranges}  # declared indices i : 1..n decide i ≤ n too
        try:
            if idx:
                lhs, rhs = low.entry(a, idx), low.entry(b, idx)
            else:
                lhs, rhs = low.scalar(a), low.scalar(b)
        except Unsupported as exc:
            ctx.notes.append(f"{NAME}: {exc}")
            return None
        diff, ranges = split_kron(with_facts(lhs - rhs, low), ranges)  # (A ⊗ B)[(a−1)p + b, …]
        if idx and lhs.has(sp.Indexed) and sp.expand(diff) == 0:
            # entry j of both sides is the same expression of the entries (flip(flip(x))[j]
            # is x[n + 1 − (n + 1 − j)] = x[j]): nothing to sum
            return proved(f"lhs − rhs is 0 for every entry {', '.join(map(str, idx))} "
                          f"(symbolic sizes)", NAME, residual="0", general=True,
                          entry_index=[str(j) for j in idx])
        if not diff.has(sp.Sum, sp.Indexed, sp.KroneckerDelta):
            return None
        if not diff.has(sp.KroneckerDelta) and within(
                REASSOCIATE_S, lambda: sp.expand(alpha_normal(
                    merged_products(linear_sums(shift_sums(unroll_literal(
                        sqrt_products(diff, low))))),
                    lambda e: with_facts(e, low))) == 0,
                default=False):
            # the same sums up to reassociation and renaming ((PKᵀ)V = P(KᵀV) entrywise),
            # whatever the summands are: nothing is evaluated, so max/relu inside do not stall
            where = f" for every entry {', '.join(map(str, idx))}" if idx else ""
            return proved(f"lhs − rhs is 0{where} after flattening nested sums and renaming "
                          f"their indices (symbolic sizes)", NAME, residual="0", general=True,
                          entry_index=[str(j) for j in idx])
        if squared_nested_sum(diff):
            ctx.notes.append(f"{NAME}: a power of nested sums (left to the fixed-size check)")
            return None
        limit = ROUGH_SETTLE_S if diff.has(*_ROUGH) else SETTLE_S
        settled = within(limit, settle, diff, ranges)
        if settled is None:
            ctx.notes.append(f"{NAME}: the sums did not settle within {limit:g} s")
            return None
        diff = with_facts(settled, low)  # assumed i ≠ j, symmetric entries
        if diff.has(sp.Piecewise):
            diff = sp.piecewise_fold(diff)
        for step in (sp.expand, sp.factor_terms,
                     lambda e: sp.expand(canonical(constant_sums(linear_sums(e)))),
                     lambda e: sp.expand(canonical(linear_sums(shift_sums(unroll_literal(e))))),
                     lambda e: within(SIMPLIFY_S, sp.simplify, e, default=e)):
            diff = step(diff)
            if diff == 0:
                where = f" for every entry {', '.join(map(str, idx))}" if idx else ""
                return proved(f"lhs − rhs sums to 0{where} (symbolic sizes)", NAME,
                              residual="0", general=True, entry_index=[str(j) for j in idx])
        if diff.has(sp.Sum):
            peeled = within(SIMPLIFY_S, lambda: sp.factor_terms(sp.expand(
                canonical(constant_sums(linear_sums(peel(diff)))))), default=None)
            if peeled is not None and peeled != 0:
                renamed = within(SIMPLIFY_S, lambda: sp.expand(alpha_normal(
                    sp.expand(peeled), lambda e: with_facts(e, low))), default=None)
                peeled = renamed if renamed == 0 else peeled
            if peeled == 0:
                where = f" for every entry {', '.join(map(str, idx))}" if idx else ""
                return proved(f"lhs − rhs sums to 0{where} (symbolic sizes; Σ up to n + k split, "
                              f"sums compared up to renaming their indices)", NAME,
                              residual="0", general=True,
                              entry_index=[str(j) for j in idx])
        ctx.notes.append(f"{NAME}: residual {diff}")
        return None
