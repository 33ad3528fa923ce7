"""Proofs of FLOP growth claims for all sizes, under derive's FLOP counting rule.

``flops[e] ~ g``, ``flops[e] in O(g)`` and ``in Ω(g)`` are proved in three steps:

1. the count as an exact formula of the growing sizes (:mod:`derive.timing.symcount`:
   the lowering traced with symbolic sizes, charged by the same rule);
2. a cross-check: the formula must equal the measured count at every swept size and at
   extra sizes (small, large and unequal ones, counted on the meta device) — any
   difference declines, since it means the formula is not the rule's count;
3. the asymptotic rule (:mod:`derive.timing.asymptotics`): a limit for one growing
   size, uniform termwise bounds in every regime for several.

Anything that does not go through returns ``None`` with the reason, and the measured
verdict stands.  Wall time (``time[…]``) is never proved, and neither is memory: its
peak is a maximum over the run whose order changes with the sizes.
"""
from __future__ import annotations

from itertools import permutations
from typing import Any, Callable, Optional

import sympy as sp

from derive import model as m
from derive.analysis import SIZE_OPS, size_arith
from derive.timing.asymptotics import Undecided, decide
from derive.timing.symcount import Decline, SymbolicCount, size_symbol, symbolic_cost

KINDS = {False: "Θ", True: "O", "Ω": "Ω"}
_FUNCS = {"log": sp.log, "sqrt": sp.sqrt, "exp": sp.exp, "ceil": sp.ceiling,
          "floor": sp.floor}
EXTRA_ONE = (2, 3, 7, 100, 1021, 4099, 16411)
MIN_EXTRA = 3             # extra sizes (beyond the sweep) the formula must match at least


def bound_formula(e: m.Expr, checked: Any, growing: dict[str, sp.Symbol],
                  fixed: dict[str, int], costs: Optional[dict[m.Cost, sp.Expr]] = None
                  ) -> sp.Expr:
    """A size expression (the bound) in SymPy, exactly: fractions stay fractions; a cost
    node is its formula from ``costs`` (a comparison of counts)."""
    if isinstance(e, m.Cost) and costs is not None and e in costs:
        return costs[e]
    if isinstance(e, m.Num):
        if e.imaginary:
            raise Undecided("an imaginary bound")
        return sp.Rational(e.value.numerator, e.value.denominator)
    if isinstance(e, m.Name):
        if e.id in growing:
            return growing[e.id]
        if e.id in fixed:
            return sp.Integer(fixed[e.id])
        info = checked.symbols.get(e.id)
        if info is not None and info.dim_value is not None:
            table = {**{k: sp.Integer(v) for k, v in fixed.items()}, **growing}
            free = {s: table[s.name] for s in info.dim_value.free_symbols if s.name in table}
            if len(free) < len(info.dim_value.free_symbols):
                raise Undecided(f"'{e.id}' is not a formula of the sizes")
            return info.dim_value.subs(free)
        if info is not None and info.role == "define" and len(info.statement.names) == 1:
            return bound_formula(info.statement.value, checked, growing, fixed, costs)
        if info is None and e.id == "pi":
            return sp.pi
        if info is None and e.id == "euler":
            return sp.E
        raise Undecided(f"'{e.text or e.id}' is not a size")
    if isinstance(e, m.Unary) and e.op == "-":
        return -bound_formula(e.operand, checked, growing, fixed, costs)
    if isinstance(e, m.BinOp) and e.op in SIZE_OPS:
        a = bound_formula(e.left, checked, growing, fixed, costs)
        b = bound_formula(e.right, checked, growing, fixed, costs)
        try:
            return size_arith(e.op, a, b)
        except ZeroDivisionError:
            raise Undecided("division by zero in the bound") from None
    if isinstance(e, m.Call) and not e.kwargs and len(e.args) == 1:
        arg = bound_formula(e.args[0], checked, growing, fixed, costs)
        if e.func in _FUNCS:
            return _FUNCS[e.func](arg)
        if e.func == "log2":
            return sp.log(arg, 2)
    raise Undecided(f"the bound uses {type(e).__name__} {getattr(e, 'func', '')}".strip())


def extra_points(base: dict[str, int], growing: list[str]) -> list[dict[str, int]]:
    """Sizes beyond the sweep: each value of EXTRA_ONE for one size; for several, every
    order of three unequal sizes (large ones, and small ones) and each size alone large."""
    if len(growing) == 1:
        return [{**base, growing[0]: v} for v in EXTRA_ONE]
    out = []
    for trio in ((3, 17, 257), (2, 7, 29)):   # large and small (a real run may be needed)
        for perm in list(permutations(range(len(growing))))[:6]:
            out.append({**base, **{v: trio[min(k, 2)] + k for v, k in zip(growing, perm)}})
    for v in growing:
        out.append({**base, **{u: 5 for u in growing}, v: 1021})
    return out


def orders_kept(growing: list[str], grid: list[dict[str, int]], checked: Any
                ) -> list[tuple[int, int]]:
    """Pairs (u, v), as indices, with ``u ≥ v`` at every swept size and ``>`` at one: the
    regime the claim keeps (docs/semantics.md), as the wide rays keep it; and ``assume
    u >= v`` (or ``>``, ``<=``, ``<``) between two growing sizes."""
    out = set()
    for i, u in enumerate(growing):
        for j, v in enumerate(growing):
            if i != j and all(p[u] >= p[v] for p in grid) and any(p[u] > p[v] for p in grid):
                out.add((i, j))
    for st in checked.claim.statements:
        cond = st.condition if isinstance(st, m.Assume) else None
        if isinstance(cond, m.Compare) and len(cond.ops) == 1 and \
                all(isinstance(x, m.Name) and x.id in growing for x in cond.operands):
            a, b = (growing.index(x.id) for x in cond.operands)
            if cond.ops[0] in (">=", ">"):
                out.add((a, b))
            elif cond.ops[0] in ("<=", "<"):
                out.add((b, a))
    return sorted(out)


def cross_check(paths: list[SymbolicCount], measured: Callable[[dict[str, int]], int],
                meta: Callable[[dict[str, int]], int], swept: list[dict[str, int]],
                extra: list[dict[str, int]], kind: str = "flops") -> list[dict]:
    """The formulas against the counts the engine measures over the sweep (``measured``)
    and at ``extra`` sizes (``meta``), wherever they claim to hold: each measured count
    must be one path's formula (the path the sampled values take); raises
    :class:`Decline` at any difference."""
    rows = []
    for point, where in [(p, "sweep") for p in swept] + [(p, "extra") for p in extra]:
        here = [f for f in paths if f.holds_at(point)]
        if not here:
            continue
        try:
            value = (measured if where == "sweep" else meta)(point)
        except Exception as exc:  # noqa: BLE001 - an extra size may not be countable
            if where == "sweep":
                raise Decline(f"no measured count at {point}: {exc}") from exc
            continue
        if not isinstance(value, int):
            raise Decline(f"the measured count {value!r} at {point} is not an exact integer")
        predicted = [f.at(point, kind) for f in here]
        if not any(v.is_Integer and int(v) == int(value) for v in predicted):
            raise Decline(f"BUG: the formula gives {', '.join(map(str, predicted))} but the "
                          f"{kind} rule measures {value} at {point}")
        rows.append({"sizes": {k: point[k] for k in paths[0].symbols}, kind: int(value),
                     "where": where})
    if sum(1 for r in rows if r["where"] == "extra") < MIN_EXTRA or \
            not any(r["where"] == "sweep" for r in rows):
        raise Decline("too few sizes could be counted to cross-check the formula")
    return rows


def prove(checked: Any, cost: m.Cost, bound: m.Expr, big_o: Any, growing: list[str],
          grid: list[dict[str, int]], measured: Callable[[dict[str, int]], int],
          meta: Callable[[dict[str, int]], int]) -> tuple[Optional[dict], str]:
    """(evidence of a proof, summary) — or (None, why not).  With several paths through
    decisions on values, the claim must follow on every path."""
    if cost.kind not in ("flops", "memory"):
        return None, f"{cost.kind}[…] is measured, never proved"
    base = dict(grid[0])
    fixed = {k: v for k, v in base.items() if k not in growing}
    if any(p[k] != v for p in grid for k, v in fixed.items()):
        return None, "a size that does not grow changes across the sweep"
    kind = KINDS[big_o]
    memory = cost.kind == "memory"
    syms = {v: size_symbol(v) for v in growing}
    try:
        paths = symbolic_cost(checked, cost.arg, growing, fixed, memory)
        g = sp.simplify(bound_formula(bound, checked, syms, fixed))
        rows = cross_check(paths, measured, meta, grid, extra_points(base, growing), cost.kind)
        orders = orders_kept(growing, grid, checked)
        values = [f.peak_bytes if memory else f.flops for f in paths]
        proofs = [decide(v, g, [syms[x] for x in growing], kind, orders) for v in values]
    except (Decline, Undecided) as exc:
        return None, str(exc)
    except (ValueError, TypeError, ZeroDivisionError, NotImplementedError, RecursionError) as exc:
        return None, f"SymPy could not decide: {type(exc).__name__}: {exc}"[:300]
    return _evidence(paths, values, proofs, g, rows, orders, growing, fixed, kind, memory)


def _evidence(paths: list[SymbolicCount], values: list[sp.Expr], proofs: list[dict],
              g: sp.Expr, rows: list[dict], orders: list[tuple[int, int]], growing: list[str],
              fixed: dict[str, int], kind: str, memory: bool) -> tuple[dict, str]:
    """The proof's evidence and summary."""
    texts = [sp.sstr(v) for v in values]
    start = max(f.valid_from for f in paths)
    guards = [gd for f in paths for gd in f.guards]
    where = ("every size ≥ 2 in every regime" + (
        " with " + ", ".join(f"{growing[u]} ≥ {growing[v]}" for u, v in orders) if orders else "")
        if len(growing) > 1 else f"every {growing[0]} ≥ {start}")
    model, what = (("derive's memory model (peak live bytes of the tensors it allocates, "
                    "derive/timing/memory.py)", "peak bytes") if memory else
                   ("derive's FLOP counting rule (derive/timing/flops.py)", "FLOPs"))
    decided = ("no guard, specialisation or data-dependent value recorded" if not guards
               else "the only decisions on the size (" + "; ".join(guards[:4]) +
               f") hold for every {growing[0]} ≥ {start}")
    side = [{"condition": f"one traced program per path for {where}", "discharged": decided},
            {"condition": "formula = measured count",
             "discharged": f"equal at {len(rows)} sizes (sweep and extra)"}]
    if len(paths) > 1:
        side.append({"condition": "every input takes one of the paths",
                     "discharged": f"each outcome of the {len(paths[0].decisions) or 1} "
                                   "decision(s) on tensor values traced"})
    evidence = {
        ("symbolic_peak_bytes" if memory else "symbolic_count"): texts[0] if len(texts) == 1
        else texts,
        **({} if memory else {"by_op": {k: sp.sstr(v) for k, v in paths[0].by_op.items()}}),
        "bound": sp.sstr(g),
        **({"fixed_sizes": fixed} if fixed else {}),
        "valid_for": where,
        "proof": proofs[0] if len(proofs) == 1 else proofs,
        "cross_check": {"agree": True, "sizes": rows},
        "certificate": {
            "route": f"symbolic {what} (the lowering traced with symbolic sizes under {model}) + "
                     + ("limit" if len(growing) == 1 else "termwise bounds"),
            "hypotheses": [f"{model} is the cost model"],
            "side_conditions": side},
    }
    detail = proofs[0].get("limit") or "; ".join(proofs[0].get("terms", []))
    rule = "memory model (peak live bytes)" if memory else "FLOP counting rule"
    paths_text = "" if len(paths) == 1 else f" on each of {len(paths)} paths through " \
                                            "decisions on tensor values"
    summary = (f"proved under derive's {rule}{paths_text}: {what} = "
               f"{_short(' | '.join(texts))} for {where}; {detail} ⇒ {kind}")
    return evidence, summary


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"

