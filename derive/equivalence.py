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
* **free** (numeric): every equation that uses a definition still holds when its value is
  replaced by random numbers of its shape, or a function definition by a random smooth
  function (``lin == quad`` is associativity for any feature map; backpropagation through
  time is the chain rule for any loss), so no change of its formula makes the claim false.

Anything else stays a survivor, with the engines' verdict as its reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Optional

import torch

from derive import model as m
from derive.semantics import CheckedClaim, walk

REL_TOL = 1e-9
ROUNDS = 3
BATCH = 8
RECURRENCE_STEPS = 6
_BOOLEAN = (m.Compare, m.Logic)


@dataclass(frozen=True)
class Equivalence:
    """Why a mutant is excluded from the kill rate: ``kind`` and the evidence in words."""

    kind: str  # dead | proved | same-cost | same-values | implied | free
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
    from derive.decide import is_cost_statement

    if all(is_cost_statement(s) for s in checked.claim.shows):
        return _same_cost(checked, mutant_checked, seed)
    try:
        return _same_values(checked, mutant_checked, statement, path, seed) or \
            _free_definition(checked, st, seed)
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
    from derive.numeric.instances import claim_seed, make_generator
    from derive.numeric.lower import Evaluator
    from derive.timing.sizes import reachable

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


# ------------------------------------------------------------------ dead code
def _dead(checked: CheckedClaim, st: Any) -> Optional[str]:
    from derive.numeric.instances import assumptions
    from derive.timing.sizes import reachable

    if isinstance(st, m.Define):
        names = [n.id for n in st.names]
    elif isinstance(st, m.FuncDef):
        names = [st.name.id]
    elif isinstance(st, m.Recurrence):
        names = sorted({eq.seq.id for eq in st.equations})
    else:
        return None
    live = reachable(checked, [s.statement for s in checked.claim.shows] + assumptions(checked))
    if any(n in live for n in names):
        return None
    return "the definition of " + ", ".join(f"'{n}'" for n in names)


# ------------------------------------------------------------------ cost claims
def _same_cost(checked: CheckedClaim, mutant: CheckedClaim, seed: int) -> Optional[Equivalence]:
    """Equal FLOPs and peak bytes at every size of the sweep (at most 3 points)."""
    from derive.timing.bench import Bench, CannotMeasure
    from derive.timing.sizes import SizeError, build_grid, reachable, size_names
    from derive.timing.verdicts import costs_in

    shows = [s.statement for s in checked.claim.shows]
    mutant_shows = [s.statement for s in mutant.claim.shows]
    pairs = [(a, b) for x, y in zip(shows, mutant_shows) for a, b in zip(costs_in(x), costs_in(y))]
    if not pairs:
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
    from derive.numeric.instances import claim_seed, make_generator
    from derive.numeric.lower import Evaluator

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
        drawn = _draw(checked, g, device)
        if drawn is None:
            return None
        inst, keep = drawn
        ours = Evaluator(dict(inst.env), device, torch.float64, checked)
        theirs = Evaluator(dict(inst.env), device, torch.float64, mutant)
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

    try:
        inst, mask = instances(checked, g, device, choose_sizes(checked, g), BATCH)
    except (Unsatisfiable, LoweringError, RuntimeError, ValueError):
        return None
    return inst, None if mask is None else mask.reshape(-1)


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
    from derive.timing.sizes import reachable

    st = checked.claim.statements[statement]
    changed: set[str] = set()
    if isinstance(st, m.Define):
        changed = {n.id for n in st.names}
    elif isinstance(st, m.FuncDef):
        changed = {st.name.id}
    elif isinstance(st, m.Recurrence):
        changed = {eq.seq.id for eq in st.equations}
    elif not isinstance(st, m.Show):
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
