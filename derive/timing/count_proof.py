"""Proofs of exact cost comparisons for every size: ``flops[A @ B] == 2*m*p*n``,
``flops[A] < flops[B]``, ``memory[X] <= 4*n*d``.

FLOP and byte counts are exact, so a comparison measured at the grid holds *there* with
certainty; the sizes it was not measured at are what a proof must add.  The route:

1. each cost's count as an exact formula (:mod:`derive.timing.symcount`) in the sizes the
   statement reads: swept sizes and dimensions with no value are symbolic.  Torch treats
   a size of 1 specially, so every subset of sizes fixed to 1 is traced as its own case;
2. each case's formula is cross-checked against the measured count at the grid and at
   extra sizes (:func:`derive.timing.growth_proof.cross_check`); any difference declines;
3. the relation, exactly: a swept size takes every value of its sweep (filtered by the
   claim's size ``assume``s that read only swept and fixed sizes); a dimension with no
   sweep stays symbolic, ``n = 2 + y`` with ``y ≥ 0`` in the general case, and
   ``lhs − rhs`` must vanish (``==``) or expand to a polynomial in the ``y``'s with
   nonnegative coefficients (``>=``; a positive constant term for ``>``).

Ignoring an ``assume`` that reads a symbolic size proves the claim on a larger set of
sizes, which is sound; a relation the formulas cannot settle declines, and the measured
verdict stands.  Wall time is never proved.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, Optional

import sympy as sp

from derive import model as m
from derive.analysis import SizeError, reachable, size_condition, sweep_values
from derive.semantics import walk
from derive.timing.growth_proof import MIN_EXTRA, bound_formula, cross_check, extra_points
from derive.timing.asymptotics import Undecided
from derive.timing.symcount import Decline, SymbolicCount, size_symbol, symbolic_cost

ORDERED = {"<", "<=", ">", ">="}
MAX_CASES = 16            # subsets of sizes fixed to 1, at most
MAX_SWEEP = 256           # values of one sweep enumerated exactly
MAX_POINTS = 4096         # sweep combinations enumerated exactly
Counter = Callable[[m.Cost, dict[str, int]], int]


class NoProof(Exception):
    """The comparison has no proof by this route (the message says why)."""


class Fails(NoProof):
    """The relation fails exactly at a point with every size known."""


class Counterexample(Exception):
    """The formulas fail the relation at these sizes (to be confirmed by real counts)."""

    def __init__(self, point: dict[str, int], why: str) -> None:
        super().__init__(why)
        self.point = point


PROBES = (2, 3, 4, 5, 7, 8, 12, 16, 31, 64, 100, 128, 300, 512, 1000, 2048, 4096,
          10 ** 4, 10 ** 5, 10 ** 6)
MAX_PROBES = 4000


def prove_comparison(checked: Any, statement: m.Expr, sizes: set[str],
                     grid_points: list[dict[str, int]], measured: Counter,
                     meta: Counter) -> tuple[Optional[dict], str]:
    """(evidence of a proof, summary) — or (None, why not).  Raises
    :class:`Counterexample` when the cross-checked formulas fail the relation at sizes
    off the grid (the caller confirms it with counts taken there)."""
    try:
        return _prove(checked, statement, sizes, grid_points, measured, meta)
    except (NoProof, Decline, Undecided) as exc:
        return None, str(exc)
    except (ValueError, TypeError, ZeroDivisionError, NotImplementedError, RecursionError,
            sp.PolynomialError) as exc:
        return None, f"SymPy could not decide: {type(exc).__name__}: {exc}"[:300]


def _prove(checked: Any, statement: m.Expr, sizes: set[str], grid_points: list[dict[str, int]],
           measured: Counter, meta: Counter) -> tuple[dict, str]:
    if not (isinstance(statement, m.Compare) and set(statement.ops) <= ORDERED | {"=="}):
        raise NoProof("only a comparison (==, <, <=, >, >=) of counts is proved")
    costs = list(dict.fromkeys(n for n in walk(statement) if isinstance(n, m.Cost)))
    if not costs or any(c.kind not in ("flops", "memory") for c in costs):
        raise NoProof("time[…] is measured, never proved")
    sweeps = _sweeps(checked, sizes)
    free = sorted(s for s in sizes if s not in sweeps)
    for s in free:
        if checked.symbols[s].role != "dim":
            raise NoProof(f"'{s}' is not a dimension (only sizes ≥ 1 are symbolic)")
    names = sorted(sizes)
    ones_able = [s for s in names if s in free or 1 in sweeps[s]]
    if 2 ** len(ones_able) > MAX_CASES:
        raise NoProof(f"{len(ones_able)} sizes may be 1: too many cases")
    points = _sweep_points(checked, sweeps)
    cases, rows = [], []
    for ones in _subsets(ones_able):
        growing = [s for s in names if s not in ones]
        fixed = {s: 1 for s in ones}
        formulas = {}
        for c in costs:
            paths = symbolic_cost(checked, c.arg, growing, fixed, c.kind == "memory")
            if len(paths) != 1:
                raise NoProof("the count depends on tensor values (several paths)")
            if paths[0].valid_from > 2:
                raise NoProof(f"the count's formula holds only from size {paths[0].valid_from}")
            rows += _checked_against_counts(c, paths[0], growing, fixed, grid_points,
                                            measured, meta)
            formulas[c] = paths[0].peak_bytes if c.kind == "memory" else paths[0].flops
        syms = {s: size_symbol(s) for s in growing}
        cases.append(_decide_case(checked, statement, costs, formulas, syms, ones, sweeps,
                                  points, free))
    if sweeps and not sum(c["sweep_points"] for c in cases):
        raise NoProof("no combination of the swept sizes satisfies the assumptions")
    return _evidence(cases, rows, costs, names, sweeps, free)


def _sweeps(checked: Any, sizes: set[str]) -> dict[str, list[int]]:
    out = {}
    for s in sorted(sizes):
        info = checked.symbols[s]
        if info.role != "sweep":
            continue
        try:
            values = sweep_values(checked, info)
        except SizeError as exc:
            raise NoProof(str(exc)) from None
        if len(values) > MAX_SWEEP or any(v < 1 for v in values):
            raise NoProof(f"the sweep of '{s}' is too long or has sizes below 1")
        out[s] = values
    return out


def _sweep_points(checked: Any, sweeps: dict[str, list[int]]) -> list[dict[str, int]]:
    """Every combination of the sweeps' values the claim's size ``assume``s keep (those
    that read only swept sizes; any other is ignored, which only widens the set)."""
    names = list(sweeps)
    combos = list(itertools.product(*sweeps.values()))
    if len(combos) > MAX_POINTS:
        raise NoProof(f"{len(combos)} combinations of swept sizes: too many to enumerate")
    assumes = [st.condition for st in checked.claim.statements if isinstance(st, m.Assume)
               and reachable(checked, [st.condition]) & set(checked.symbols)
               <= set(names) | _valued(checked)]
    out = []
    for combo in combos:
        p = dict(zip(names, combo))
        try:
            if all(size_condition(cond, p, checked) for cond in assumes):
                out.append(p)
        except SizeError:
            out.append(p)   # not a condition on these sizes: not applied
    return out


def _valued(checked: Any) -> set[str]:
    return {k for k, v in checked.symbols.items() if v.dim_value is not None}


def _subsets(items: list[str]) -> list[tuple[str, ...]]:
    return [c for r in range(len(items) + 1) for c in itertools.combinations(items, r)]


def _checked_against_counts(cost: m.Cost, path: SymbolicCount, growing: list[str],
                            fixed: dict[str, int], grid_points: list[dict[str, int]],
                            measured: Counter, meta: Counter) -> list[dict]:
    """The formula against measured counts at the grid points of this case and at extra
    sizes (:func:`derive.timing.growth_proof.cross_check`); a case with every size fixed
    is one point, counted once."""
    kind = "memory" if cost.kind == "memory" else "flops"
    mine = [p for p in grid_points if all(p.get(s) == 1 for s in fixed)
            and all(p.get(s, 2) >= 2 for s in growing)]
    if not growing:
        value = meta(cost, dict(fixed))
        if path.at({}, kind) != value:
            raise Decline(f"BUG: the formula gives {path.at({}, kind)} but the {kind} rule "
                          f"measures {value} at {fixed}")
        return [{"sizes": dict(fixed), kind: int(value), "where": "extra"}]
    base = {**{s: 5 for s in growing}, **fixed}
    extra = extra_points(base, growing)
    if mine:
        return cross_check([path], lambda p: measured(cost, p), lambda p: meta(cost, p),
                           mine, extra, kind)
    rows = []
    for p in extra:   # no grid point in this case: the extra sizes alone
        try:
            value = meta(cost, p)
        except Exception:  # noqa: BLE001 - an extra size may not be countable
            continue
        if path.at(p, kind) != value:
            raise Decline(f"BUG: the formula gives {path.at(p, kind)} but the {kind} rule "
                          f"measures {value} at {p}")
        rows.append({"sizes": p, kind: int(value), "where": "extra"})
    if len(rows) < MIN_EXTRA:
        raise Decline("too few sizes could be counted to cross-check the formula")
    return rows


def _decide_case(checked: Any, statement: m.Compare, costs: list[m.Cost],
                 formulas: dict[m.Cost, sp.Expr], syms: dict[str, sp.Symbol],
                 ones: tuple[str, ...], sweeps: dict[str, list[int]],
                 points: list[dict[str, int]], free: list[str]) -> dict:
    """Every link of the comparison in one case (a set of sizes fixed to 1)."""
    fixed = {s: 1 for s in ones}
    growing = {s: sym for s, sym in syms.items()}
    sides = [bound_formula(e, checked, growing, fixed, costs=formulas)
             for e in statement.operands]
    mine = [p for p in points if all((p[s] == 1) == (s in ones) for s in sweeps)]
    symbolic = [syms[s] for s in free if s not in ones]
    links = []
    for op, a, b in zip(statement.ops, sides, sides[1:]):
        diff = a - b if op in ("==", ">", ">=") else b - a
        strict = op in ("<", ">")
        for p in mine or ([{}] if not sweeps else []):
            d = diff.subs({syms[s]: sp.Integer(v) for s, v in p.items() if s in syms})
            try:
                _holds(d, op, strict, symbolic, {**p, **fixed})
            except Fails:   # a constant difference: any sizes ≥ 2 of the symbolic ones
                point = {**p, **fixed, **{s.name: 2 for s in symbolic}}
                raise Counterexample(point, f"the count formulas fail {op} at {point}") \
                    from None
            except NoProof:
                bad = _violation(d, op, strict, symbolic)
                if bad is not None:
                    point = {**p, **fixed, **bad}
                    raise Counterexample(point, f"the count formulas fail {op} at {point}") \
                        from None
                raise
        links.append({"relation": op, "difference": sp.sstr(sp.expand(diff))})
    return {"sizes_fixed_to_1": list(ones), "sweep_points": len(mine),
            "symbolic": [s.name for s in symbolic], "links": links}


def _holds(d: sp.Expr, op: str, strict: bool, symbolic: list[sp.Symbol],
           where: dict[str, int]) -> None:
    """Raise :class:`NoProof` unless ``d`` (= lhs − rhs, or rhs − lhs for < and <=)
    satisfies the relation for every symbolic size ≥ 2."""
    at = f" at {where}" if where else ""
    if not (d.free_symbols <= set(symbolic)):
        raise NoProof(f"the difference reads {sorted(map(str, d.free_symbols))}")
    if not d.free_symbols:
        if not d.is_Rational:
            raise NoProof(f"the difference {sp.sstr(d)} is not an exact rational{at}")
        if (op == "==" and d != 0) or (op != "==" and (d < 0 or (strict and d == 0))):
            raise Fails(f"the relation fails{at} (difference {d})")
        return
    if op == "==":
        if sp.expand(sp.simplify(d)) != 0:
            raise NoProof(f"the counts differ by {sp.sstr(sp.simplify(d))}{at}")
        return
    shifted = sp.expand(d.subs({s: s + 2 for s in symbolic}, simultaneous=True))
    poly = sp.Poly(shifted, *symbolic)
    if poly.domain not in (sp.ZZ, sp.QQ):
        raise NoProof(f"the difference {sp.sstr(d)} is not a polynomial of the sizes")
    coeffs = poly.coeffs()
    constant = poly.coeff_monomial(1)
    if any(c < 0 for c in coeffs) or (strict and constant <= 0):
        raise NoProof(f"no certificate that {sp.sstr(d)} {'>' if strict else '≥'} 0 for every "
                      f"size ≥ 2{at} (a coefficient of its expansion at n = 2 + y is negative)")


def confirm(checked: Any, statement: m.Compare, point: dict[str, int], count: Counter
            ) -> tuple[Optional[bool], dict]:
    """The statement's truth at ``point`` from counts taken there (exact integers)."""
    costs = list(dict.fromkeys(n for n in walk(statement) if isinstance(n, m.Cost)))
    values = {c: sp.Integer(int(count(c, point))) for c in costs}
    sides = [bound_formula(e, checked, {}, point, costs=values) for e in statement.operands]
    texts = " ".join(f"{sp.sstr(x)} {op}" for x, op in zip(sides, statement.ops)) + \
        f" {sp.sstr(sides[-1])}"
    for op, a, b in zip(statement.ops, sides, sides[1:]):
        d = a - b
        if not d.is_Rational:
            return None, {"comparison": texts, "unknown": "not an exact number"}
        ok = {"==": d == 0, "<": d < 0, "<=": d <= 0, ">": d > 0, ">=": d >= 0}[op]
        if not ok:
            return False, {"comparison": texts}
    return True, {"comparison": texts}


def _violation(d: sp.Expr, op: str, strict: bool, symbolic: list[sp.Symbol]
               ) -> Optional[dict[str, int]]:
    """Sizes ≥ 2 where ``d`` breaks the relation, among probe values (exactly evaluated)."""
    if not symbolic:
        return None
    grid = itertools.product(PROBES, repeat=len(symbolic))
    for values in itertools.islice(grid, MAX_PROBES):
        v = d.subs(dict(zip(symbolic, map(sp.Integer, values))))
        if not v.is_Rational:
            return None
        if (op == "==" and v != 0) or (op != "==" and (v < 0 or (strict and v == 0))):
            return {s.name: int(x) for s, x in zip(symbolic, values)}
    return None


def _evidence(cases: list[dict], rows: list[dict], costs: list[m.Cost], names: list[str],
              sweeps: dict[str, list[int]], free: list[str]) -> tuple[dict, str]:
    where = []
    if sweeps:
        where.append("every swept value of " + ", ".join(sweeps))
    if free:
        where.append("every " + ", ".join(free) + " ≥ 1")
    domain = " and ".join(where) or "the declared sizes"
    kinds = sorted({"peak bytes" if c.kind == "memory" else "FLOPs" for c in costs})
    evidence = {
        "cases": cases,
        "cross_check": {"agree": True, "sizes": rows[:24], "count": len(rows)},
        "valid_for": domain,
        "certificate": {
            "route": "exact counts as formulas of the sizes (the lowering traced with symbolic "
                     "sizes under derive's counting rule), each subset of sizes fixed to 1 a case; "
                     "swept sizes enumerated, the others by a polynomial certificate",
            "hypotheses": ["derive's FLOP counting rule (derive/timing/flops.py) and memory "
                           "model (derive/timing/memory.py) are the cost model"],
            "side_conditions": [
                {"condition": "formula = measured count",
                 "discharged": f"equal at {len(rows)} sizes (grid and extra)"},
                {"condition": "one traced program per case",
                 "discharged": "no guard, data-dependent value or specialisation recorded"}]},
    }
    return evidence, (f"proved under derive's counting rule for {domain}: exact "
                      f"{' and '.join(kinds)} as formulas of {', '.join(names) or 'no size'} "
                      f"({len(cases)} case(s) of sizes fixed to 1)")
