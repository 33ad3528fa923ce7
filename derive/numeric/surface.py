"""Instances on the surface where an equation holds, for ``!=`` claims.

``trace(A) != 0`` or ``x != y => x² != y²`` fail only on a set of measure zero, which
random draws never hit.  For each movable input in turn (a real scalar, or a plain,
invertible or symmetric tensor) and a random direction, the difference of the two sides
of the ``!=`` is scanned along a line through each instance; every sign change is
bisected to rounding level.  The points found (kept only where the declarations and
assumptions still hold) are then judged by the ordinary rule, so a counterexample is an
instance where the sides agree to rounding.  Budgets are counts: GRID points per line,
BISECTIONS halvings.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

import torch

from derive import model as m
from derive.numeric.lapack import lapack
from derive.engine import Context
from derive.numeric.batch import SETTLE_MAX, domain_conditions
from derive.numeric.instances import Instance, Unsatisfiable, assumptions, holds, instances, scalar_range
from derive.numeric.lower import Evaluator, LoweringError

if TYPE_CHECKING:
    from derive.numeric.batch import Batch
    from derive.numeric.identity import IdentityStrategy

GRID = 96            # points per line (sinh-spaced: near the instance and far from it)
BISECTIONS = 60
GOLDEN = 100         # golden-section steps refining a dip (0.618¹⁰⁰ ≈ 1e-21 of its bracket)
LINE_BATCH = 6       # instances per line search
MOVABLE = frozenset({"invertible", "symmetric", "nonzero", "full_rank"})


def target(st: m.Expr) -> Optional[m.Compare]:
    """The ``a != b`` the statement fails at: the statement itself, or the conclusion
    of an implication; or an inequality of a quantity against a constant
    (``abs(trace(A)) >= 1e-8``, see :func:`extrema`)."""
    if isinstance(st, m.Compare) and st.ops == ("!=",):
        return st
    if against_constant(st):
        return st
    if isinstance(st, m.Logic) and st.op == "=>" and isinstance(st.args[1], m.Compare) \
            and st.args[1].ops == ("!=",):
        return st.args[1]
    return None


def against_constant(st: m.Expr) -> bool:
    """``q op c`` with op one of < <= > >= and c a constant (no names)."""
    from derive.semantics import walk
    if not (isinstance(st, m.Compare) and len(st.ops) == 1 and st.ops[0] in ("<", "<=", ">", ">=")):
        return False
    named = [any(isinstance(n, m.Name) for n in walk(x)) for x in st.operands]
    return named.count(False) == 1


def extrema(ctx: Context, tgt: m.Compare, inst: Instance, name: str, g: torch.Generator,
            device: torch.device) -> Optional[Instance]:
    """Points on the line through each member (along a random direction in ``name``)
    where the difference of the sides of ``q op c`` is locally least (for ``>=``, ``>``:
    where q comes closest to falling below c) or greatest (``<=``, ``<``), refined by
    golden-section search.  ``abs(trace(A)) >= 1e-8`` fails only within 1e-8 of the
    trace-zero surface: no grid point lands there, but the dip of |trace| along the line
    is a local minimum, and its refinement reaches rounding level."""
    op = tgt.ops[0]
    sign = 1.0 if op in (">", ">=") else -1.0   # minimise sign · (a − b)
    env = inst.env
    v = env[name]
    batch = v.shape[0]
    d = _direction(name, v, ctx, g)
    grid = torch.sinh(torch.linspace(-9.0, 9.0, GRID, dtype=torch.float64, device=device)) / 4.0
    big = _repeat(env, batch, GRID)
    dd = d.repeat_interleave(GRID, dim=0)
    h = _difference(ctx, tgt, _at(big, name, big[name], dd, grid.repeat(batch)), device)
    if h is None or h.shape[0] != batch * GRID:
        return None
    h = sign * h.reshape(batch, GRID)
    h = torch.where(torch.isfinite(h), h, torch.full_like(h, math.inf))
    dip = (h[:, 1:-1] <= h[:, :-2]) & (h[:, 1:-1] <= h[:, 2:]) & torch.isfinite(h[:, 1:-1])
    members, brackets = [], []
    for i in range(batch):
        idx = torch.nonzero(dip[i]).reshape(-1).tolist()
        idx = sorted(idx, key=lambda j: float(h[i, j + 1]))[:4]   # the deepest dips
        for j in idx:
            members.append(i)
            brackets.append((float(grid[j]), float(grid[j + 2])))
    if not members:
        return None
    k = len(members)
    sel = torch.tensor(members, device=device)
    sub = _select(env, sel, batch, k)
    dk = d[sel] if d.shape[0] == batch else d
    lo = torch.tensor([a for a, _ in brackets], dtype=torch.float64, device=device)
    hi = torch.tensor([b for _, b in brackets], dtype=torch.float64, device=device)
    base = sub[name]

    def f(t: torch.Tensor) -> Optional[torch.Tensor]:
        out = _difference(ctx, tgt, _at(sub, name, base, dk, t), device)
        if out is None:
            return None
        out = sign * out
        return torch.where(torch.isfinite(out), out, torch.full_like(out, math.inf))

    r = (math.sqrt(5.0) - 1) / 2
    c, e = hi - r * (hi - lo), lo + r * (hi - lo)
    fc, fe = f(c), f(e)
    if fc is None or fe is None:
        return None
    for _ in range(GOLDEN):
        left = fc <= fe                        # the least lies in [lo, e]: drop (e, hi]
        lo, hi = torch.where(left, lo, c), torch.where(left, e, hi)
        c_next = torch.where(left, hi - r * (hi - lo), e)
        e_next = torch.where(left, c, lo + r * (hi - lo))
        fx = f(torch.where(left, c_next, e_next))
        if fx is None:
            return None
        fc, fe = torch.where(left, fx, fe), torch.where(left, fc, fx)
        c, e = c_next, e_next
    t = torch.where(fc <= fe, c, e)
    return Instance(_at(sub, name, base, dk, t), dict(inst.sizes), dict(inst.params))


def _select(env: dict, sel: torch.Tensor, batch: int, k: int) -> dict:
    sub = {}
    for key, val in env.items():
        if isinstance(val, torch.Tensor) and val.dim() >= 1 and val.shape[0] == batch and batch > 1:
            sub[key] = val[sel]
        elif isinstance(val, torch.Tensor) and val.dim() >= 1 and val.shape[0] == 1 and k > 1:
            sub[key] = val.expand((k,) + tuple(val.shape[1:])).clone()
        else:
            sub[key] = val
    return sub


def movable(ctx: Context, env: dict) -> list[str]:
    out = []
    for name, info in ctx.checked.symbols.items():
        v = env.get(name)
        if info.random or not isinstance(v, torch.Tensor) or not v.dtype.is_floating_point:
            continue
        if info.role == "scalar" and info.domain == "real":
            out.append(name)
        elif info.role == "tensor" and info.props <= MOVABLE:
            out.append(name)
    return out


def _direction(name: str, v: torch.Tensor, ctx: Context, g: torch.Generator) -> torch.Tensor:
    d = torch.randn(v.shape, generator=g, device=g.device, dtype=v.dtype)
    if "symmetric" in ctx.checked.symbols[name].props and d.dim() == 3:
        d = (d + d.transpose(-1, -2)) / 2
    scale = v.reshape(v.shape[0], -1).abs().amax(-1).clamp_min(1.0)
    norm = d.reshape(d.shape[0], -1).abs().amax(-1).clamp_min(1e-300)
    return d * (scale / norm).reshape((-1,) + (1,) * (d.dim() - 1))


def _difference(ctx: Context, tgt: m.Compare, env: dict, device: torch.device) -> Optional[torch.Tensor]:
    ev = Evaluator(env, device, torch.float64, ctx.checked)
    with torch.no_grad():
        a, b = (ev.tensor(ev.ev(x)) for x in tgt.operands)
    if a.is_complex() or b.is_complex():
        return None
    a = a.reshape(a.shape[0], -1)
    b = b.reshape(b.shape[0], -1)
    if a.shape[1] != 1 or b.shape[1] != 1:
        return None  # only scalar sides: one equation, one line search
    return (a - b).reshape(-1).to(torch.float64)


def _at(env: dict, name: str, base: torch.Tensor, d: torch.Tensor, t: torch.Tensor) -> dict:
    out = dict(env)
    out[name] = base + d * t.reshape((-1,) + (1,) * (d.dim() - 1)).to(d.dtype)
    return out


def _repeat(env: dict, batch: int, k: int) -> dict:
    """Every batch member repeated k times (member-major)."""
    out = {}
    for key, v in env.items():
        if isinstance(v, torch.Tensor) and v.dim() >= 1 and v.shape[0] == batch and batch > 1:
            out[key] = v.repeat_interleave(k, dim=0)
        elif isinstance(v, torch.Tensor) and v.dim() >= 1 and v.shape[0] == 1:
            out[key] = v.expand((batch * k,) + tuple(v.shape[1:])).clone() if batch * k > 1 else v
        else:
            out[key] = v
    return out


def roots(ctx: Context, tgt: m.Compare, inst: Instance, name: str, g: torch.Generator,
          device: torch.device) -> Optional[Instance]:
    """Points on the line through each member (along a random direction in ``name``)
    where the sides of ``tgt`` change sign, bisected; ``None`` when there are none."""
    env = inst.env
    v = env[name]
    batch = v.shape[0]
    d = _direction(name, v, ctx, g)
    grid = torch.sinh(torch.linspace(-9.0, 9.0, GRID, dtype=torch.float64, device=device)) / 4.0
    big = _repeat(env, batch, GRID)
    base = big[name]
    dd = d.repeat_interleave(GRID, dim=0)
    ts = grid.repeat(batch)
    h = _difference(ctx, tgt, _at(big, name, base, dd, ts), device)
    if h is None or h.shape[0] != batch * GRID:
        return None
    h = h.reshape(batch, GRID)
    sign = torch.sign(h)
    change = (sign[:, :-1] * sign[:, 1:] < 0) & torch.isfinite(h[:, :-1]) & torch.isfinite(h[:, 1:])
    members, lefts = [], []
    for i in range(batch):
        idx = torch.nonzero(change[i]).reshape(-1).tolist()
        for j in idx[:4]:
            members.append(i)
            lefts.append((float(grid[j]), float(grid[j + 1])))
    if not members:
        return None
    k = len(members)
    sel = torch.tensor(members, device=device)
    sub = _select(env, sel, batch, k)
    dk = d[sel] if d.shape[0] == batch else d
    lo = torch.tensor([a for a, _ in lefts], dtype=torch.float64, device=device)
    hi = torch.tensor([b for _, b in lefts], dtype=torch.float64, device=device)
    base_k = sub[name]
    h_lo = _difference(ctx, tgt, _at(sub, name, base_k, dk, lo), device)
    if h_lo is None:
        return None
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        h_mid = _difference(ctx, tgt, _at(sub, name, base_k, dk, mid), device)
        if h_mid is None:
            return None
        left = torch.sign(h_mid) == torch.sign(h_lo)
        lo = torch.where(left, mid, lo)
        h_lo = torch.where(left, h_mid, h_lo)
        hi = torch.where(left, hi, mid)
    # the end of the bracket with the smaller difference; brackets whose ends no longer
    # have opposite signs (a zero reached by underflow is no root) are dropped
    h_hi = _difference(ctx, tgt, _at(sub, name, base_k, dk, hi), device)
    if h_hi is None:
        return None
    t = torch.where(h_hi.abs() < h_lo.abs(), hi, lo)
    t = torch.where(torch.sign(h_hi) * torch.sign(h_lo) < 0, t, torch.full_like(t, math.nan))
    moved = _at(sub, name, base_k, dk, t)
    return Instance(moved, dict(inst.sizes), dict(inst.params))


def valid(ctx: Context, inst: Instance, name: str, device: torch.device) -> torch.Tensor:
    """Members that still meet the moved name's declaration and the assumptions."""
    env = inst.env
    v = env[name]
    n = v.shape[0]
    ok = torch.isfinite(v.reshape(n, -1)).all(-1)
    info = ctx.checked.symbols[name]
    ev = Evaluator(env, device, torch.float64, ctx.checked)
    if info.role == "scalar":
        lo, hi = scalar_range(info, ev)
        ok = ok & (v >= lo) & (v <= hi)
    env = {**env, name: torch.where(ok.reshape((-1,) + (1,) * (v.dim() - 1)), v, torch.ones_like(v))}
    ev = Evaluator(env, device, torch.float64, ctx.checked)
    if "invertible" in info.props or "full_rank" in info.props:
        safe = torch.where(ok.reshape((-1,) + (1,) * (v.dim() - 1)), v,
                           torch.eye(v.shape[-1], dtype=v.dtype, device=v.device).expand_as(v))
        ok = ok & (lapack(torch.linalg.cond, safe) < 1e10)
    conds = assumptions(ctx.checked) + (domain_conditions(ctx, name) if info.role == "scalar" else [])
    if conds:
        try:
            h = holds(ev, conds)
        except (LoweringError, RuntimeError, ValueError):
            return torch.zeros(n, dtype=torch.bool, device=v.device)
        h = h if isinstance(h, torch.Tensor) else torch.tensor([bool(h)])
        ok = ok & h.reshape(-1).bool().expand(n)
    return ok


def search(strategy: "IdentityStrategy", ctx: Context, g: torch.Generator, device: torch.device,
           sizes: dict[str, int], report: dict) -> Optional["Batch"]:
    """Line searches onto the ``!=`` surface from fresh instances; the first batch of
    surface points that refutes, or ``None``."""
    tgt = target(ctx.statement)
    if tgt is None:
        return None
    try:
        inst, _ = instances(ctx.checked, g, device, sizes, LINE_BATCH, torch.float64, wild=True)
    except Unsatisfiable:
        return None
    tried = 0
    searches = (roots,) if tgt.ops == ("!=",) else (extrema,)
    for name in movable(ctx, inst.env):
        for line in searches:
            try:
                found = line(ctx, tgt, inst, name, g, device)
                if found is None:
                    continue
                mask = valid(ctx, found, name, device)
                if not bool(mask.any()):
                    continue
                strategy.bracketed = line is roots
                try:
                    res = strategy.evaluate(ctx, found, mask, sizes, device)
                    if res.clear is None and res.unclear:
                        # doubtful members are re-decided in high precision only a few at
                        # a time (SETTLE_MAX): judge the points again in groups that size
                        res = _in_groups(strategy, ctx, found, mask, sizes, device) or res
                finally:
                    strategy.bracketed = False
            except (LoweringError, RuntimeError, ValueError, ZeroDivisionError, OverflowError):
                continue
            tried += res.tried
            report["surface_points"] = report.get("surface_points", 0) + res.tried
            if res.clear is not None:
                res.tried = tried
                return res
    return None


def _in_groups(strategy: "IdentityStrategy", ctx: Context, found: Instance, mask: torch.Tensor,
               sizes: dict, device: torch.device) -> Optional["Batch"]:
    """The first group of at most SETTLE_MAX surface points that refutes, or ``None``."""
    idx = torch.nonzero(mask.reshape(-1)).reshape(-1).tolist()
    for k in range(0, min(len(idx), 4 * SETTLE_MAX), SETTLE_MAX):
        group = torch.zeros_like(mask.reshape(-1))
        group[idx[k:k + SETTLE_MAX]] = True
        res = strategy.evaluate(ctx, found, group, sizes, device)
        if res.clear is not None:
            return res
    return None
