"""Interesting values mixed into random instances, in the spirit of Hypothesis.

Typical random draws never reach the places where for-all claims usually fail: 0, ±1,
the ends of a domain, tiny and huge magnitudes, equal or opposite inputs, constant and
one-hot vectors, singular or ill-conditioned matrices, size 1, large sizes, the base
step of a recurrence and far steps.  Each function here replaces *some* members of a
batch (chosen by the claim's generator, so a seed fixes everything) with such values and
keeps the rest typical; every replacement stays inside the declared domain.
"""
from __future__ import annotations

import math
from typing import Optional

import torch

SPECIAL_SHARE = 0.4        # share of batch members replaced by an interesting value
TINY = (1e-8, 1e-4)        # magnitudes drawn log-uniformly for "tiny" values
HUGE = (1e3, 1e6)          # … and for "huge" ones
FAR_INTEGERS = (10, 17, 37, 100, 1000)   # offsets of integers far from their small range
WILD_COND = 1e8            # ill-conditioned members: condition numbers up to this
# recurrence steps per round: the base steps, small, moderate and far steps
STEP_PLAN = ((0, 0), (1, 2), (3, 11), (12, 99), (100, 499), (500, 1000))
LARGE_SIZES = (48, 64, 128)   # tensor sizes of the large round


def _pick(g: torch.Generator, n: int) -> int:
    return int(torch.randint(n, (1,), generator=g, device=g.device))


def _u(g: torch.Generator, n: int) -> torch.Tensor:
    return torch.rand(n, generator=g, device=g.device, dtype=torch.float64)


def chosen(g: torch.Generator, batch: int, share: float = SPECIAL_SHARE,
           always: int = 0) -> torch.Tensor:
    """Which members get an interesting value (never member 0, which stays typical;
    members 1..always always do)."""
    mask = _u(g, batch) < share
    mask[1:always + 1] = True
    mask[0] = False
    return mask


def scalar_candidates(lo: float, hi: float, avoid: list[float], tame: bool = False) -> list[float]:
    """0, ±1, the domain's ends, tiny and huge magnitudes — those inside [lo, hi].
    ``tame`` leaves out magnitudes below 1e-3 or above 1e3 (conditions with equations,
    which are read up to an absolute rounding allowance)."""
    out: list[float] = [0.0, 1.0, -1.0, 2.0, -0.5]
    for a, b in (TINY, HUGE):
        out += [a, -a, b, -b, math.sqrt(a * b), -math.sqrt(a * b)]
    if math.isfinite(lo):
        out += [lo, lo + 1e-6 * max(1.0, abs(lo)), lo + 1.0, lo + 1e3]
    if math.isfinite(hi):
        out += [hi, hi - 1e-6 * max(1.0, abs(hi)), hi - 1.0, hi - 1e3]
    if math.isfinite(lo) and math.isfinite(hi):
        out += [(lo + hi) / 2, lo + (hi - lo) * 1e-4, hi - (hi - lo) * 1e-4]
    keep = []
    for c in out:
        if tame and c != 0 and not 1e-3 <= abs(c) <= 1e3:
            continue
        if lo <= c <= hi and all(abs(c - a) > 1e-12 * max(1.0, abs(a)) for a in avoid) and c not in keep:
            keep.append(c)
    return keep


def special_reals(x: torch.Tensor, lo: float, hi: float, avoid: list[float],
                  g: torch.Generator, tame: bool = False) -> torch.Tensor:
    """``x`` with some members replaced by interesting values inside [lo, hi]."""
    cands = scalar_candidates(lo, hi, avoid, tame)
    if not cands or x.shape[0] < 2:
        return x
    mask = chosen(g, x.shape[0])
    idx = torch.randint(len(cands), (x.shape[0],), generator=g, device=g.device)
    vals = torch.tensor(cands, dtype=x.dtype, device=x.device)[idx]
    return torch.where(mask.to(x.device), vals, x)


def wild_integer(a: int, b: int, bounded_above: bool, avoid: list[float],
                 g: torch.Generator) -> Optional[int]:
    """Now and then an integer far from the small window [a, b] (when the domain allows)."""
    if _u(g, 1).item() >= 0.35:
        return None
    cands: list[int] = []
    if not bounded_above:
        cands += [b + k for k in FAR_INTEGERS]
    if a <= -4:  # unbounded below as well
        cands += [-(k) for k in FAR_INTEGERS]
    cands = [c for c in cands if c not in avoid]
    return cands[_pick(g, len(cands))] if cands else None


def short(x: float) -> float:
    """``x`` rounded to 4 significant bits (never 0): a constant vector of it has an exact
    sum and mean, so ``x − mean(x)`` is exactly 0, not rounding noise that would satisfy
    ``assume norm(x − mean(x)) > 0`` by accident."""
    if x == 0 or not math.isfinite(x):
        return 1.0
    m, e = math.frexp(x)
    return math.ldexp(round(m * 16) / 16, e)


def wild_plain(t: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Plain tensors: some members constant, one-hot, zero but one entry, with a zero
    entry, or at a tiny/huge scale."""
    batch = t.shape[0]
    if batch < 2 or t.numel() == batch:
        return t
    mask = chosen(g, batch, always=2)
    flat = t.reshape(batch, -1).clone()
    n = flat.shape[1]
    for i in torch.nonzero(mask).reshape(-1).tolist():
        # member 1 is always constant, member 2 one-hot: the extremes of most bounds
        kind = _pick(g, 6) if i > 2 else i - 1
        c = short(float(flat[i, 0]))
        if kind == 0:
            flat[i] = c                                   # constant
        elif kind == 1 and t.dim() == 3 and t.shape[1] == t.shape[2]:
            eye = torch.eye(t.shape[1], dtype=t.dtype, device=t.device)
            flat[i] = (c * eye).reshape(-1)               # a multiple of the identity
        elif kind == 1:
            flat[i] = 0.0
            flat[i, _pick(g, n)] = c                      # one-hot
        elif kind == 2:
            flat[i, _pick(g, n)] = 0.0                    # a zero entry
        elif kind == 3:
            flat[i] = flat[i] * 1e-4                      # tiny
        elif kind == 4:
            flat[i] = flat[i] * 1e2                       # huge (exp of it stays finite)
        else:
            flat[i] = torch.sign(flat[i]) * abs(c)        # ± constant magnitudes
    return flat.reshape(t.shape)


def wild_log_cond(g: torch.Generator, batch: int, k: int, dtype: torch.dtype,
                  base_cond: float) -> torch.Tensor:
    """Log singular values: spread up to ``base_cond`` for most members, up to WILD_COND
    for about a third (ill-conditioned members of each declared property)."""
    u = torch.rand(batch, k, generator=g, device=g.device, dtype=dtype)
    top = torch.full((batch, 1), math.log(base_cond), dtype=dtype, device=g.device)
    ill = _u(g, batch) < 1 / 3
    ill[0] = False
    top[ill.to(top.device)] = math.log(WILD_COND) * (0.5 + 0.5 * _u(g, int(ill.sum())).to(dtype)).reshape(-1, 1).to(top.device)
    if k >= 2:  # pin the extremes so that the condition number is reached
        u[:, 0] = 0.0
        u[:, 1] = 1.0
    return u * top


def wild_structured(props: frozenset, t: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Extreme members of a structured family: one-hot and constant unit/simplex vectors,
    signed permutations among orthogonal matrices, the zero matrix among psd ones."""
    batch = t.shape[0]
    if batch < 2:
        return t
    mask = chosen(g, batch, 0.3)
    out = t.clone()
    for i in torch.nonzero(mask).reshape(-1).tolist():
        if t.dim() == 2 and props & {"unit", "simplex"}:
            n = t.shape[1]
            v = torch.zeros(n, dtype=t.dtype, device=t.device)
            kind = _pick(g, 3)
            if kind == 0:
                v[_pick(g, n)] = 1.0                         # one-hot
            elif kind == 1:
                v[:] = 1.0 / (n if "simplex" in props else math.sqrt(n))   # constant
            else:
                j = _pick(g, n)
                v[:] = 1e-7
                v[j] = 1.0
                v = v / (v.sum() if "simplex" in props else v.norm())   # near one-hot
            out[i] = v
        elif t.dim() == 3 and t.shape[1] == t.shape[2] and props & {"orthogonal"} and \
                "semi_orthogonal" not in props:
            n = t.shape[1]
            perm = torch.argsort(_u(g, n))
            signs = torch.where(_u(g, n) < 0.5, -1.0, 1.0).to(t.dtype)
            q = torch.zeros(n, n, dtype=t.dtype, device=t.device)
            q[torch.arange(n), perm] = signs.to(t.device)
            out[i] = q
        elif t.dim() == 3 and "psd" in props and "spd" not in props:
            out[i] = 0.0
    return out


def tie_scalars(env: dict, checked, g: torch.Generator, domain) -> None:
    """Equal, opposite and near-equal pairs of real scalars (``x != y => x² != y²`` fails
    only at y = −x): for some members one scalar takes another's value, its negation or a
    value one part in 10⁹ away — where its own domain allows."""
    names = [k for k, info in checked.symbols.items()
             if info.role == "scalar" and not info.random and info.domain == "real"
             and isinstance(env.get(k), torch.Tensor) and env[k].dim() == 1 and env[k].shape[0] > 1]
    if len(names) < 2:
        return
    batch = env[names[0]].shape[0]
    for j, b in enumerate(names[1:], start=1):
        (lo, hi), avoid = domain(checked.symbols[b])
        mask = chosen(g, batch, 0.3)
        src = env[names[_pick(g, j)]]
        kind = torch.randint(3, (batch,), generator=g, device=g.device)
        factor = torch.tensor([1.0, -1.0, 1.0 + 1e-9], dtype=src.dtype, device=g.device)[kind]
        cand = src * factor.to(src.device)
        ok = mask.to(src.device) & (cand >= lo) & (cand <= hi)
        for a in avoid:
            ok = ok & ((cand - a).abs() > 1e-12 * max(1.0, abs(a)))
        if src.shape == env[b].shape:
            env[b] = torch.where(ok, cand.to(env[b].dtype), env[b])
