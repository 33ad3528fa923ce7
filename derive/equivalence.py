"""Is a surviving mutant equivalent to its claim?  Checked, never guessed.

A mutant that derive cannot kill is either a weakness of the checker or a mutant that is
*true*: an equivalent mutant (it means the same as the claim) or one the claim implies
(a looser bound).  No checker can kill those, so ``derive mutate`` leaves them out of
the kill rate; each is classified here by a check a person can re-run, with its evidence:

* **dead** (exact): the mutated definition is used by no statement and no assumption;
* **proved** (exact): the symbolic engine proves the mutant, and the numeric cross-check
  passes, like any proved claim;
* **same cost** (exact): every statement is a cost statement and the mutant's FLOP
  counts and peak bytes equal the claim's at the sizes of the sweep: values change no cost;
* **same values** (numeric): the changed expression, or its nearest enclosing expression
  free of bound variables, takes the claim's values on shared float64 random instances
  (relative difference below 1e-9), e.g. ``Aᵀ`` of a symmetric ``A``, ``A @ A`` swapped;
* **implied** (numeric): a statement ``L <= R`` whose mutant only loosens the bound
  (``R' − L' ≥ R − L`` on every shared instance), so it holds whenever the claim does;
* **same distribution** (numeric): negating a random variable whose distribution is
  symmetric about 0 (``z ~ normal(0, 1)``, independent of the rest) turns the mutant into
  the claim on shared random instances: ``μ − σz`` has the law of ``μ + σz``.  Either one
  negation for a whole statement, or, when the change sits inside a statistic, one per
  statistic (each ``E[…]`` is its own integral);
* **same growth** (a growth claim, ``a ~ f`` or ``a in O(f)``): every changed quantity or
  bound stays within constant factors of the claim's, so it has the claim's Θ.  For a
  formula of sizes SymPy shows that mutant/claim splits into one factor per swept
  variable, each with a finite positive limit (``ceil(x)``, ``floor(x)`` read as ``x``
  where ``x → ∞``): ``L(2 + ⌈log₂(n+1)⌉)`` is Θ of ``L(1 + ⌈log₂(n+1)⌉)``.  For a
  cost, the FLOPs (or bytes) are counted on the ``meta`` device at sizes 2⁸–2¹⁰ times
  the sweep's largest, one variable at a time, and the ratio's log–log slope must stay
  below 0.01 (counts are polynomials in the sizes: a different degree shows as a slope
  near an integer);
* **free** (numeric): every equation that uses a definition still holds when its value is
  replaced by random numbers of its shape, or a function definition by a random smooth
  function (``lin == quad`` is associativity for any feature map; backpropagation through
  time is the chain rule for any loss), so no change of its formula makes the claim false;
  likewise a constant, or the sign of a term, that every equation holds for when it is
  replaced by random numbers ``c`` (``a + c·b`` for a sign): the equations are identities
  in it (``S + W₁ tanh(W₂M)1/nᵢ`` is permutation-invariant whatever ``S`` and ``nᵢ``).

Anything else stays a survivor, with the engines' verdict as its reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Optional

import torch

from derive import model as m
from derive.engine import is_cost_statement
from derive.mutants import Site, apply
from derive.semantics import CheckedClaim, check_claim, walk
from derive.vocabulary.distributions import args_of, law_of

REL_TOL = 1e-9
ROUNDS = 3
BATCH = 8
RECURRENCE_STEPS = 6
DRAW_TRIES = 4
_BOOLEAN = (m.Compare, m.Logic)


@dataclass(frozen=True)
class Equivalence:
    """Why a mutant is excluded from the kill rate: ``kind`` and the evidence in words."""

    kind: str  # dead | proved | same-cost | same-growth | same-values | same-distribution | implied | free
    reason: str


def classify(claim: m.Claim, checked: CheckedClaim, mutant_checked: CheckedClaim,
             statement: int, path: tuple, verdict: str, seed: int = 0
             ) -> Optional[Equivalence]:
    """The equivalence of a surviving mutant, or ``None`` when it is a real survivor."""
    st = claim.statements[statement]
    dead = _dead(checked, st)
    if dead:
        return Equivalence("dead", f"equivalent mutant: {dead} is used by no statement or "
                           "assumption (dead code)")
    if verdict == "proved":
        return Equivalence("proved", "true mutant: the symbolic engine proves it and the numeric "
                           "cross-check passes")

    try:
        grown = _same_growth(checked, mutant_checked, seed)
    except Exception:  # noqa: BLE001 - a classification that cannot run classifies nothing
        grown = None
    if all(is_cost_statement(s) for s in checked.claim.shows):
        return _same_cost(checked, mutant_checked, seed) or grown
    if grown is not None:
        return grown
    try:
        return _same_values(checked, mutant_checked, statement, path, seed) or \
            _same_distribution(checked, mutant_checked, statement, seed) or \
            _free_definition(checked, st, seed) or \
            _free_parameter(checked, statement, path, seed)
    except Exception:  # noqa: BLE001 - a classification that cannot run classifies nothing
        return None


# ------------------------------------------------------------------ definitions the claim does not pin
class RandomFunction:
    """A random smooth function with the signature of a ``let f(a, b) = …`` definition: a
    small tanh network of all arguments, shaped like the definition's own value."""

    def __init__(self, ev, definition: m.FuncDef, g: torch.Generator, hidden: int = 8):
        self.ev, self.definition, self.g, self.hidden = ev, definition, g, hidden
        self.weights: Optional[tuple[torch.Tensor, ...]] = None

    def __call__(self, *args: Any) -> torch.Tensor:
        with torch.no_grad():  # the definition's own value: only its shape is used
            like = self.ev.tensor(self.ev.ev(self.definition.body, {
                p.id: (a.detach() if isinstance(a, torch.Tensor) else a)
                for p, a in zip(self.definition.params, args)}))
        batch = like.shape[0]
        parts = []
        for a in args:
            t = a if isinstance(a, torch.Tensor) else torch.tensor([float(a)], dtype=torch.float64)
            t = t.to(torch.float64).reshape(t.shape[0], -1)
            parts.append(t.expand(batch, t.shape[1]))
        x = torch.cat(parts, dim=1)
        n_out = int(like[0].numel())
        if self.weights is None:
            n_in = x.shape[1]
            w1 = torch.randn(n_in, self.hidden, generator=self.g, dtype=torch.float64) / n_in ** 0.5
            b1 = torch.randn(self.hidden, generator=self.g, dtype=torch.float64) * 0.5
            w2 = torch.randn(self.hidden, n_out, generator=self.g, dtype=torch.float64) / self.hidden ** 0.5
            self.weights = (w1, b1, w2)
        w1, b1, w2 = self.weights
        y = torch.tanh(x @ w1 + b1) @ w2
        return y.reshape(like.shape)


def _free_definition(checked: CheckedClaim, st: Any, seed: int) -> Optional[Equivalence]:
    """Equations that hold whatever value a definition takes.

    ``lin == quad`` with ``let Pq = relu(Q) + 1`` is associativity: it holds for every
    matrix ``Pq``.  Replacing the definition's value by random numbers of its shape and
    finding every equation it reaches still true (relative error below 1e-8) shows no
    change of its formula can make the claim false.
    """
    from derive.numeric.common import reaches_stat
    from derive.analysis import claim_seed
    from derive.numeric.instances import make_generator
    from derive.numeric.lower import Evaluator
    from derive.analysis import reachable

    if isinstance(st, m.FuncDef) and not reaches_stat(st.body, checked):
        name = st.name.id
    elif isinstance(st, m.Define) and len(st.names) == 1 and not reaches_stat(st.value, checked):
        name = st.names[0].id
    else:
        return None
    shows = [s.statement for s in checked.claim.shows
             if name in reachable(checked, [s.statement])]
    if not shows or not all(isinstance(x, m.Compare) and set(x.ops) == {"=="} for x in shows) or \
            any(reaches_stat(x, checked) for x in shows):
        return None
    device = torch.device("cpu")
    g = make_generator(claim_seed(seed, checked.claim.id, f"mutate/free/{name}"), device)
    for _ in range(ROUNDS):
        drawn = _draw(checked, g, device)
        if drawn is None:
            return None
        inst, keep = drawn
        plain = Evaluator(dict(inst.env), device, torch.float64, checked)
        if isinstance(st, m.FuncDef):
            noise: Any = RandomFunction(plain, st, g)
        else:
            value = _value(plain, m.Name(name))
            if value is None or value.is_complex():
                return None
            if value.dim() == 0:
                value = value.reshape(1)
            noise = torch.randn(value.shape, generator=g, dtype=torch.float64, device=device)
        ev = Evaluator({**inst.env, name: noise}, device, torch.float64, checked)
        for x in shows:
            first = x.operands[0]
            if not all(_agree(ev, ev, first, other, keep, tol=1e-8) for other in x.operands[1:]):
                return None
    return Equivalence("free", f"true mutant: every equation that uses '{name}' holds whatever "
                       f"value it takes ({ROUNDS * BATCH} shared instances with '{name}' replaced "
                       "by random numbers of its shape), so no change of its formula makes the "
                       "claim false")


FREE_VALUES = 3  # random values a free constant or sign is replaced by


def _parametrised(node: Any, c: Fraction) -> Optional[m.Expr]:
    """``node`` with its constant, or the sign of its second term, replaced by ``c``."""
    from dataclasses import replace

    num = m.Num(c, f"{float(c):g}")
    if isinstance(node, m.Num) and not node.imaginary:
        return num
    if isinstance(node, m.BinOp) and node.op in ("+", "-"):
        return replace(node, op="+", right=m.BinOp("*", num, node.right))
    if isinstance(node, m.Unary) and node.op == "-":
        return m.BinOp("*", num, node.operand)
    return None


def _free_parameter(checked: CheckedClaim, statement: int, path: tuple, seed: int
                    ) -> Optional[Equivalence]:
    """Every equation still holds with the mutated constant (or sign) set to random values."""
    from derive.numeric.common import reaches_stat
    from derive.analysis import claim_seed
    from derive.numeric.instances import make_generator

    st = checked.claim.statements[statement]
    if isinstance(st, m.Recurrence) or not path:
        return None
    node = _follow(st, path)
    shows = [s.statement for s in checked.claim.shows]
    if not all(isinstance(x, m.Compare) and set(x.ops) == {"=="} for x in shows) or \
            any(reaches_stat(x, checked) for x in shows):
        return None
    device = torch.device("cpu")
    g = make_generator(claim_seed(seed, checked.claim.id, f"mutate/free-parameter/{path}"), device)
    values = []
    for _ in range(FREE_VALUES):
        c = Fraction(round(float(torch.empty(1).uniform_(-3, 3, generator=g)), 2)).limit_denominator(100)
        c = c if c not in (0, 1, -1) else Fraction(7, 3)
        if isinstance(node, m.Num) and node.value != 0 and (c > 0) != (node.value > 0):
            c = -c  # a constant keeps its sign: log(1 + …) stays defined
        variant = _parametrised(node, c)
        if variant is None:
            return None
        claim = apply(checked.claim, Site(statement, path, "free", "", variant, node))
        other, _ = check_claim(claim, None)
        if other is None:
            return None
        pair = _shared(checked, other, g, device)
        if pair is None:
            return None
        _, theirs, keep = pair
        for y in [s.statement for s in other.claim.shows]:
            if not all(_agree(theirs, theirs, y.operands[0], b, keep, tol=1e-8)
                       for b in y.operands[1:]):
                return None
        values.append(float(c))
    what = "constant" if isinstance(node, m.Num) else "sign of the term"
    return Equivalence("free", f"true mutant: every equation holds with the changed {what} "
                       f"replaced by random values ({', '.join(f'{v:g}' for v in values)}; "
                       f"{FREE_VALUES * BATCH} shared instances), so they are identities in it")


# ------------------------------------------------------------------ symmetric noise
def symmetric_names(checked: CheckedClaim) -> list[str]:
    """Random names whose law is symmetric about 0 (the law's ``symmetric``: ``normal(0, …)``
    — a covariance matrix included —, ``rademacher``, ``uniform(−a, a)``, ``laplace(0, b)``)
    and that no other name's law depends
    on, so negating one keeps the joint law of all of them."""
    out = []
    for name, info in checked.symbols.items():
        dist = info.dist
        if not info.random or dist is None:
            continue
        if any(isinstance(n, m.Name) and n.id == name for other in checked.symbols.values()
               if other.dist is not None for n in walk(other.dist)):
            continue  # another name's law depends on it: negating it alone changes the joint law
        law = law_of(dist)
        if law is not None and law.symmetric(args_of(dist)):
            out.append(name)
    return out


def _outer_stats(e: m.Expr) -> list[m.Stat]:
    """The statistics of ``e`` not inside another statistic, in walk order."""
    from derive.numeric.common import walk_outside_stats

    stats: list[m.Stat] = []
    for _ in walk_outside_stats(e, stats):
        pass
    return stats


def _blanked(e: Any, kind: type) -> Any:
    """``e`` with each outermost node of ``kind`` (a statistic, a cost) replaced by a
    placeholder, to compare the rest of two statements."""
    from dataclasses import fields, is_dataclass, replace

    if isinstance(e, kind):
        return m.Name(f"·{kind.__name__}·")
    if isinstance(e, tuple):
        return tuple(_blanked(x, kind) for x in e)
    if not is_dataclass(e):
        return e
    changes = {f.name: _blanked(getattr(e, f.name), kind) for f in fields(e)
               if isinstance(getattr(e, f.name), (m.Expr, tuple))}
    return replace(e, **changes) if changes else e


def _same_distribution(checked: CheckedClaim, mutant: CheckedClaim, statement: int,
                       seed: int) -> Optional[Equivalence]:
    """The mutant equals the claim once a symmetric random name is negated (see module doc)."""
    from derive.analysis import claim_seed
    from derive.numeric.instances import make_generator
    from derive.numeric.lower import Evaluator

    names = symmetric_names(checked)
    if not names:
        return None
    shows = [(k, a.statement, b.statement) for k, (a, b) in
             enumerate(zip(checked.claim.statements, mutant.claim.statements))
             if isinstance(a, m.Show) and isinstance(b, m.Show)]
    choices: list[tuple[str, ...]] = [()] + [(n,) for n in names]
    if len(names) > 1:
        choices.append(tuple(names))
    # per statement: the negations still possible for the whole statement, and (when the
    # change is in that statement, outside nothing but statistics) for each statistic
    whole = {k: list(choices) for k, _, _ in shows}
    per_stat: dict[int, list[list[tuple[str, ...]]]] = {}
    for k, a, b in shows:
        sa, sb = _outer_stats(a), _outer_stats(b)
        if k == statement and sa and len(sa) == len(sb) and _blanked(a, m.Stat) == _blanked(b, m.Stat) \
                and all(x.kind == y.kind and len(x.args) == len(y.args) for x, y in zip(sa, sb)):
            per_stat[k] = [list(choices) for _ in sa]
    device = torch.device("cpu")
    g = make_generator(claim_seed(seed, checked.claim.id, "mutate/symmetric"), device)
    for _ in range(ROUNDS):
        drawn = _draw(checked, g, device)
        if drawn is None:
            return None
        inst, keep = drawn
        ours = Evaluator(dict(inst.env), device, torch.float64, checked)
        flipped = {c: Evaluator({**inst.env, **{n: -inst.env[n] for n in c}}, device,
                                torch.float64, mutant) for c in choices}
        for k, a, b in shows:
            ops_a, ops_b = getattr(a, "operands", (a,)), getattr(b, "operands", (b,))
            whole[k] = [c for c in whole[k] if len(ops_a) == len(ops_b) and
                        all(_agree(ours, flipped[c], x, y, keep) for x, y in zip(ops_a, ops_b))]
            if k in per_stat:
                sa, sb = _outer_stats(a), _outer_stats(b)
                per_stat[k] = [[c for c in left if all(_agree(ours, flipped[c], x, y, keep)
                                                       for x, y in zip(sx.args, sy.args))]
                               for left, sx, sy in zip(per_stat[k], sa, sb)]
        if not all(whole[k] or (k in per_stat and all(per_stat[k])) for k, _, _ in shows):
            return None
    used = sorted({n for k, _, _ in shows for c in
                   (whole[k][:1] or [c for left in per_stat.get(k, []) for c in left[:1]]) for n in c})
    if not used:
        return None  # nothing negated: not this check's finding (same-values covers it)
    return Equivalence("same-distribution", "equivalent mutant: negating "
                       + ", ".join(f"'{n}'" for n in used) + " (symmetric about 0, drawn "
                       f"independently) turns it into the claim on {ROUNDS * BATCH} shared random "
                       "instances, so every statistic and statement has the claim's value")


# ------------------------------------------------------------------ growth claims
GROWTH_SLOPE_TOL = 0.01      # |log–log slope| of mutant/claim cost counts still "constant"
GROWTH_SCALES = (8, 9, 10)   # cost counts at 2^k times the sweep's largest size
GROWTH_SYMPY_S = 5.0         # SymPy's budget per compared quantity


def _growth_parts(st: m.Expr) -> Optional[tuple[m.Expr, m.Expr]]:
    if isinstance(st, m.BigO):
        return st.expr, st.bound
    if isinstance(st, m.Compare) and st.ops == ("~",) and len(st.operands) == 2:
        return st.operands[0], st.operands[1]
    return None


def _same_growth(checked: CheckedClaim, mutant: CheckedClaim, seed: int) -> Optional[Equivalence]:
    """A growth claim whose changed quantities keep their Θ (see the module doc).

    For ``a in O(f)`` a bound that grows at least as fast (ratio → c > 0 or ∞) and a
    quantity that grows no faster (ratio → c < ∞) keep the claim true as well.
    """
    from derive.analysis import reachable
    from derive.timing.verdicts import growth_vars

    changed = changed_names(checked, mutant)
    notes: list[str] = []
    for a, b in zip(checked.claim.shows, mutant.claim.shows):
        pa, pb = _growth_parts(a.statement), _growth_parts(b.statement)
        if pa is None or pb is None or type(a.statement) is not type(b.statement):
            return None
        if a.statement == b.statement and not changed & reachable(checked, [a.statement]):
            continue  # this statement does not see the change
        swept = growth_vars(checked, pa[1])
        if swept != growth_vars(mutant, pb[1]) or not swept:
            return None
        big_o = isinstance(a.statement, m.BigO)
        if big_o and a.statement.kind != b.statement.kind:
            return None
        # O(f): the quantity may shrink and the bound grow; Ω(f) (a lower bound) the reverse
        allows = (None, None) if not big_o else \
            ("above", "below") if a.statement.kind == "Ω" else ("below", "above")
        for x, y, allow in zip(pa, pb, allows):
            if x == y and not changed & reachable(checked, [x]):
                continue
            note = _theta_same(checked, mutant, x, y, swept, seed, allow)
            if note is None:
                return None
            notes.append(note)
    if not notes:
        return None
    return Equivalence("same-growth", "true mutant of a growth claim: " + "; ".join(notes)
                       + ", so it keeps the claim's growth")


def changed_names(checked: CheckedClaim, mutant: CheckedClaim) -> set[str]:
    """Names whose definition differs between the claim and the mutant."""
    out: set[str] = set()
    for a, b in zip(checked.claim.statements, mutant.claim.statements):
        if a == b or isinstance(a, m.Show):
            continue
        out |= set(defined_names(a) or [n.id for n in getattr(a, "names", ())])  # or declared
    return out


def defined_names(st: Any) -> list[str]:
    """The names a definition statement defines (``let``, ``let f(…)``, a recurrence)."""
    if isinstance(st, m.Define):
        return [n.id for n in st.names]
    if isinstance(st, m.FuncDef):
        return [st.name.id]
    if isinstance(st, m.Recurrence):
        return sorted({eq.seq.id for eq in st.equations})
    return []


def _theta_same(checked: CheckedClaim, mutant: CheckedClaim, x: m.Expr, y: m.Expr,
                swept: list[str], seed: int, allow: Optional[str] = None) -> Optional[str]:
    """A note when y = Θ(x) (``allow``: "below" also y = o(x), "above" also x = o(y)),
    else ``None``."""
    from derive.timing.values import is_random

    if isinstance(x, m.Cost) and isinstance(y, m.Cost) and x.kind == y.kind:
        return _cost_ratio_flat(checked, mutant, x, y, swept, seed)  # Θ only (counts)
    if any(isinstance(n, m.Cost) for e in (x, y) for n in walk(e)) or \
            is_random(checked, x) or is_random(mutant, y):
        return None
    return _formula_ratio_bounded(checked, mutant, x, y, swept, allow)


def _formula_ratio_bounded(checked: CheckedClaim, mutant: CheckedClaim, x: m.Expr, y: m.Expr,
                           swept: list[str], allow: Optional[str] = None) -> Optional[str]:
    import sympy as sp

    from derive.symbolic.common import OutOfBudget, budget
    from derive.symbolic.lower import Unsupported, lowering

    try:
        with budget(GROWTH_SYMPY_S):
            qx, qy = lowering(checked).scalar(x), lowering(mutant).scalar(y)
            ratio = sp.simplify(qy / qx)
            if ratio == 1:
                return "the changed quantity equals the claim's (SymPy)"
            syms = {sp.Symbol(v, integer=True, positive=True): v for v in swept}
            ratio = _rounding_dropped(ratio, syms)
            if ratio is None:
                return None
            ratio = sp.simplify(ratio)
            if not ratio.free_symbols:
                if not _positive_finite(sp.Abs(ratio)):
                    return None
                return f"the changed quantity is {ratio} times the claim's"
            parts = sp.separatevars(ratio, symbols=list(syms), dict=True, force=True)
            if not parts or not set(parts) - {"coeff"} <= set(syms):
                return _dominates(qx, qy, allow)
            coeff = parts.pop("coeff")
            if coeff.free_symbols or not _positive_finite(sp.Abs(coeff)):
                return None
            limits = []
            for sym, factor in parts.items():
                lim = sp.Abs(sp.limit(factor, sym, sp.oo))  # Θ compares sizes |a|, as the engine
                if not (_positive_finite(lim) or (allow == "below" and lim == 0)
                        or (allow == "above" and lim == sp.oo)):
                    return None
                limits.append(lim)
            total = sp.Abs(coeff) * sp.Mul(*limits)
    except (OutOfBudget, Unsupported, NotImplementedError, TypeError, ValueError, AttributeError,
            RecursionError):
        return None
    names = ", ".join(sorted(syms[s] for s in parts))
    shown = str(total) if (total.is_Rational or total in (sp.oo, 0)) else f"{float(total):.3g}"
    return (f"changed/claim's quantity tends to {shown} as {names} → ∞ (SymPy limit, one factor "
            "per swept variable)")


def _dominates(qx: Any, qy: Any, allow: Optional[str]) -> Optional[str]:
    """For ``a in O(f)``: a bound that is at least the claim's at every size (or a
    quantity at most the claim's), both nonnegative, keeps the claim true."""
    import sympy as sp

    if allow is None:
        return None
    low, high = (qx, qy) if allow == "above" else (qy, qx)
    if sp.factor(high - low).is_nonnegative and low.is_nonnegative:
        what = "bound is at least" if allow == "above" else "quantity is at most"
        return f"the changed {what} the claim's at every size (SymPy)"
    return None


def _positive_finite(v: Any) -> bool:
    return bool(getattr(v, "is_positive", False)) and bool(getattr(v, "is_finite", False))


def _rounding_dropped(e: Any, syms: dict) -> Any:
    """``e`` with ``ceil(x)``/``floor(x)`` read as ``x`` where ``x → ∞`` in one swept
    variable (their ratio then tends to 1); ``None`` where it cannot be shown."""
    import sympy as sp

    rounded = [r for r in e.atoms(sp.ceiling, sp.floor)]
    for r in rounded:
        arg = r.args[0]
        free = arg.free_symbols
        if len(free) != 1 or not free <= set(syms) or sp.limit(arg, next(iter(free)), sp.oo) != sp.oo:
            return None
    return e.xreplace({r: r.args[0] for r in rounded})


def _cost_ratio_flat(checked: CheckedClaim, mutant: CheckedClaim, x: m.Cost, y: m.Cost,
                     swept: list[str], seed: int) -> Optional[str]:
    """Cost counts of x and y at large sizes (meta device): is y/x flat in every swept var?"""
    import math

    from derive.analysis import reachable
    from derive.timing.sizes import build_grid, size_names

    grid = build_grid(checked, size_names(checked, reachable(checked, [x.arg])), swept)
    if not grid.points:
        return None
    base = dict(grid.points[-1])
    slopes = []
    ratio_at_top = None
    for v in swept:
        if v not in base:
            return None
        ratios = []
        for k in GROWTH_SCALES:
            point = {**base, v: base[v] * 2 ** k}
            cx, cy = _meta_count(checked, x, point, seed), _meta_count(mutant, y, point, seed)
            if cx is None or cy is None or cx <= 0 or cy <= 0:
                return None
            ratios.append(cy / cx)
        for r0, r1 in zip(ratios, ratios[1:]):
            slope = math.log(r1 / r0) / math.log(2)
            if abs(slope) >= GROWTH_SLOPE_TOL:
                return None
            slopes.append(abs(slope))
        ratio_at_top = ratios[-1]
    what = "FLOPs" if x.kind != "memory" else "peak bytes"
    return (f"the changed computation's {what} are {ratio_at_top:.3g} times the claim's at "
            f"2^{GROWTH_SCALES[-1]} times the sweep's largest sizes, the ratio's log–log slope "
            f"at most {max(slopes):.2g} in {', '.join(swept)} (counted on the meta device)")


def _meta_count(checked: CheckedClaim, cost: m.Cost, point: dict[str, int], seed: int
                ) -> Optional[float]:
    """FLOPs (or peak bytes) of ``cost.arg`` on meta tensors: shapes only, any size."""
    from derive.numeric.lower import Evaluator
    from derive.timing.flops import count
    from derive.analysis import reachable
    from derive.timing.sizes import int_shape, sample_env

    names = reachable(checked, [cost.arg])
    env: dict[str, Any] = {}
    try:
        for ident in sorted(names):
            info = checked.symbols.get(ident)
            if info is None:
                continue
            if info.role == "sequence":
                return None
            if info.role == "tensor":
                shape = int_shape(info.vtype.shape, point)
                env[ident] = torch.empty((1,) + tuple(shape), device="meta", dtype=torch.float64)
        env.update(sample_env(checked, {n for n in names if n not in env}, point, seed, "cpu",
                              torch.float64))
        meta = torch.device("meta")

        def run() -> torch.Tensor:
            ev = Evaluator(env, meta, torch.float64, checked)
            return ev.tensor(ev.ev(cost.arg))

        result = count(run)
    except Exception:  # noqa: BLE001 - what cannot run on meta is not compared
        return None
    return float(result.peak_bytes if cost.kind == "memory" else result.flops)


# ------------------------------------------------------------------ dead code
def _dead(checked: CheckedClaim, st: Any) -> Optional[str]:
    from derive.numeric.instances import assumptions
    from derive.analysis import reachable

    names = defined_names(st)
    if not names:
        return None
    live = reachable(checked, [s.statement for s in checked.claim.shows] + assumptions(checked))
    if any(n in live for n in names):
        return None
    return "the definition of " + ", ".join(f"'{n}'" for n in names)


# ------------------------------------------------------------------ cost claims
def _same_cost(checked: CheckedClaim, mutant: CheckedClaim, seed: int) -> Optional[Equivalence]:
    """Equal FLOPs and peak bytes at every size of the sweep (at most 3 points)."""
    from derive.timing.bench import Bench, CannotMeasure
    from derive.analysis import SizeError, reachable
    from derive.timing.sizes import build_grid, size_names
    from derive.timing.verdicts import costs_in

    shows = [s.statement for s in checked.claim.shows]
    mutant_shows = [s.statement for s in mutant.claim.shows]
    pairs = [(a, b) for x, y in zip(shows, mutant_shows) for a, b in zip(costs_in(x), costs_in(y))]
    if not pairs:
        return None
    # only the computations may differ: a changed bound or threshold is no "same cost"
    changed = changed_names(checked, mutant)
    for x, y in zip(shows, mutant_shows):
        bx, by = _blanked(x, m.Cost), _blanked(y, m.Cost)
        if bx != by or changed & reachable(checked, [bx]):
            return None
    grid = build_grid(checked, size_names(checked, reachable(checked, shows)))
    points = grid.points[:2] + grid.points[-1:] if len(grid.points) > 3 else grid.points
    if not points:
        return None
    ours, theirs = Bench(checked, seed, "cpu"), Bench(mutant, seed, "cpu")
    try:
        for point in points:
            for a, b in pairs:
                x, y = ours.count(a.arg, point, "both"), theirs.count(b.arg, point, "both")
                if x.flops != y.flops or x.peak_bytes != y.peak_bytes:
                    return None
    except (CannotMeasure, SizeError, RuntimeError, ValueError):
        return None
    where = "; ".join(", ".join(f"{k}={v}" for k, v in p.items()) or "the declared sizes"
                      for p in points)
    return Equivalence("same-cost", f"equivalent mutant for a cost claim: the same FLOPs and peak "
                       f"bytes as the claim at {where} (values change no cost)")


# ------------------------------------------------------------------ shared instances
def _follow(node: Any, keys: Iterable[tuple]) -> Any:
    for key in keys:
        node = getattr(node, key[0])
        for k in key[1:]:
            node = node[k]
    return node


def _root_depth(st: Any) -> int:
    """How many path keys address the root expression inside the statement."""
    return 2 if isinstance(st, m.Recurrence) else 1


def _same_values(checked: CheckedClaim, mutant: CheckedClaim, statement: int, path: tuple,
                 seed: int) -> Optional[Equivalence]:
    from derive.analysis import claim_seed
    from derive.numeric.instances import make_generator

    st = checked.claim.statements[statement]
    st_mut = mutant.claim.statements[statement]
    depth = _root_depth(st)
    # candidate expressions, innermost first: the mutated node and each ancestor up to the
    # root, stopping at boolean nodes, statistics and costs (see the module doc)
    candidates: list[tuple[Any, Any]] = []
    for cut in range(len(path), depth - 1, -1):
        a, b = _follow(st, path[:cut]), _follow(st_mut, path[:cut])
        if isinstance(a, _BOOLEAN + (m.Stat, m.Cost)):
            break
        candidates.append((a, b))
    if isinstance(st, m.Recurrence):
        seqs = sorted({eq.seq.id for eq in st.equations})
        candidates += [(node, node) for node in _sequence_steps(seqs)]
    plan = implied_plan(checked, mutant, statement, path)
    device = torch.device("cpu")
    g = make_generator(claim_seed(seed, checked.claim.id, "mutate/equivalence"), device)
    alive = list(range(len(candidates)))
    implied_ok = bool(plan)
    compared = 0
    for _ in range(ROUNDS):
        pair = _shared(checked, mutant, g, device)
        if pair is None:
            return None
        ours, theirs, keep = pair
        still = []
        for i in alive:
            a, b = candidates[i]
            same = _agree(ours, theirs, a, b, keep)
            if same:
                still.append(i)
        alive = still
        if implied_ok:
            implied_ok = all(_looser(ours, theirs, step, keep) for step in plan)
        compared += 1
        if not alive and not implied_ok:
            return None
    if alive:
        a, _ = candidates[alive[0]]
        what = "the changed expression" if alive[0] == 0 else "an expression enclosing the change"
        return Equivalence("same-values", f"equivalent mutant: {what} takes the claim's values on "
                           f"{compared * BATCH} shared random instances (relative difference "
                           f"below {REL_TOL:g})")
    if implied_ok:
        moves = ", ".join(f"{'rises' if way == 'rise' else 'falls'}" for way, _, _ in plan)
        return Equivalence("implied", f"implied by the claim: the changed side of each bound only "
                           f"{moves} (a looser bound) on {compared * BATCH} shared random "
                           "instances, so the mutant holds whenever the claim does")
    return None


def _draw(checked: CheckedClaim, g: torch.Generator, device: torch.device
          ) -> Optional[tuple[Any, Optional[torch.Tensor]]]:
    """One batch of shared random instances and the mask of those meeting the assumptions."""
    from derive.numeric.instances import Unsatisfiable, choose_sizes, instances
    from derive.numeric.lower import LoweringError

    for _ in range(DRAW_TRIES):  # some sizes admit no instance (‖o − mean o‖ > 0 at C = 1)
        try:
            inst, mask = instances(checked, g, device, choose_sizes(checked, g), BATCH)
        except Unsatisfiable:
            continue
        except (LoweringError, RuntimeError, ValueError):
            return None
        return inst, None if mask is None else mask.reshape(-1)
    return None


def _shared(checked: CheckedClaim, other: CheckedClaim, g: torch.Generator, device: torch.device
            ) -> Optional[tuple[Any, Any, Optional[torch.Tensor]]]:
    """Evaluators of the claim and of ``other`` on one batch of the same random instances,
    and the mask of members meeting the assumptions."""
    from derive.numeric.lower import Evaluator

    drawn = _draw(checked, g, device)
    if drawn is None:
        return None
    inst, keep = drawn
    return (Evaluator(dict(inst.env), device, torch.float64, checked),
            Evaluator(dict(inst.env), device, torch.float64, other), keep)


def _sequence_steps(seqs: list[str]) -> list[m.Expr]:
    return [m.Index(m.Name(s), (m.Num(Fraction(k), str(k)),))
            for s in seqs for k in range(RECURRENCE_STEPS)]


def _value(ev, node: m.Expr) -> Optional[torch.Tensor]:
    from derive.numeric.lower import LoweringError

    try:
        v = ev.tensor(ev.ev(node))
    except (LoweringError, RuntimeError, ValueError, TypeError, ZeroDivisionError, OverflowError,
            IndexError, KeyError):
        return None
    if v.dtype == torch.bool:
        return None
    return v.to(torch.complex128) if v.is_complex() else v.to(torch.float64)


def _members(v: torch.Tensor, n: int) -> torch.Tensor:
    v = v.reshape(v.shape[0], -1) if v.dim() >= 1 else v.reshape(1, 1)
    return v.expand(n, v.shape[1]) if v.shape[0] == 1 and n > 1 else v


def _agree(ours, theirs, a: m.Expr, b: m.Expr, keep: Optional[torch.Tensor],
           tol: float = REL_TOL) -> bool:
    x, y = _value(ours, a), _value(theirs, b)
    if x is None or y is None:
        return False
    n = max(x.shape[0] if x.dim() else 1, y.shape[0] if y.dim() else 1)
    x, y = _members(x, n), _members(y, n)
    if x.shape != y.shape:
        return False
    ok = torch.isfinite(x.abs()).all(dim=1) & torch.isfinite(y.abs()).all(dim=1)
    if keep is not None and keep.numel() == n:
        ok = ok & keep
    if not bool(ok.any()):
        return False
    x, y = x[ok], y[ok]
    scale = torch.maximum(x.abs().amax(dim=1), y.abs().amax(dim=1)).clamp_min(1e-300)
    diff = (x - y).abs().amax(dim=1)
    return bool((diff <= tol * scale).all())


_LESS, _MORE = ("<", "<="), (">", ">=")


def implied_plan(checked: CheckedClaim, mutant: CheckedClaim, statement: int, path: tuple
                 ) -> list[tuple[str, m.Expr, m.Expr]]:
    """What to compare to show the mutant is implied by the claim, or ``[]``.

    Every statement the mutation reaches must be a bound ``a <= b <= c`` (any of
    < <= > >=) in which exactly one operand changes, and that operand may only move one way
    without making the bound stronger: ``"rise"`` or ``"fall"`` (a middle operand bounds
    both ways and gives nothing).  An operand ``E[f]`` is compared through ``f``
    (expectation is monotone).  A changed definition reaches the operands that use it.
    """
    from derive.numeric.common import reaches_stat
    from derive.analysis import reachable

    st = checked.claim.statements[statement]
    changed = set(defined_names(st))
    if not changed and not isinstance(st, m.Show):
        return []
    plan = []
    for k, (show, show_mut) in enumerate(zip(checked.claim.statements, mutant.claim.statements)):
        if not isinstance(show, m.Show):
            continue
        top, top_mut = show.statement, show_mut.statement
        if k == statement:
            touched = [i for i, (a, b) in enumerate(zip(getattr(top, "operands", ()),
                                                        getattr(top_mut, "operands", ()))) if a != b]
        elif changed & reachable(checked, [top]):
            touched = [i for i, a in enumerate(getattr(top, "operands", ()))
                       if changed & reachable(checked, [a])]
        else:
            continue  # this statement does not see the change
        if not (isinstance(top, m.Compare) and isinstance(top_mut, m.Compare)
                and top.ops == top_mut.ops and all(op in _LESS + _MORE for op in top.ops)
                and len(touched) == 1):
            return []
        i = touched[0]
        ways = set()
        if i > 0:  # the right operand of op i-1
            ways.add("rise" if top.ops[i - 1] in _LESS else "fall")
        if i < len(top.ops):  # the left operand of op i
            ways.add("fall" if top.ops[i] in _LESS else "rise")
        if len(ways) != 1:
            return []
        before, after = top.operands[i], top_mut.operands[i]
        if isinstance(before, m.Stat) and isinstance(after, m.Stat) and before.kind == after.kind == "E" \
                and len(before.args) == len(after.args) == 1:
            before, after = before.args[0], after.args[0]
        if any(isinstance(n, (m.Stat, m.Cost)) for n in walk(before)) or \
                reaches_stat(before, checked) or reaches_stat(after, mutant):
            return []  # a statistic of 8 shared instances is no value to compare
        plan.append((ways.pop(), before, after))
    return plan


def _looser(ours, theirs, top, keep: Optional[torch.Tensor]) -> bool:
    """Whether the changed operand moved only the loosening way on every instance."""
    way, before, after = top
    x, y = _value(ours, before), _value(theirs, after)
    if x is None or y is None or x.is_complex() or y.is_complex():
        return False
    n = max(x.shape[0] if x.dim() else 1, y.shape[0] if y.dim() else 1)
    x, y = _members(x, n), _members(y, n)
    if x.shape != y.shape:
        return False
    ok = torch.isfinite(x).all(dim=1) & torch.isfinite(y).all(dim=1)
    if keep is not None and keep.numel() == n:
        ok = ok & keep
    if not bool(ok.any()):
        return False
    x, y = x[ok], y[ok]
    moved = (y - x) if way == "rise" else (x - y)
    tol = REL_TOL * torch.maximum(x.abs(), y.abs()).clamp_min(1e-300)
    return bool((moved >= -tol).all())
