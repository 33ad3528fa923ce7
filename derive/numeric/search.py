"""Search for a violation of an inequality by gradient ascent on (left − right).

Random instances rarely hit the corner where an inequality fails; autograd moves the
free, unstructured inputs (plain tensors and unbounded real scalars) towards larger
violation, and every few steps the instance is re-checked with the exact rule.
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Optional

import torch

from derive import model as m
from derive.engine import Context, budget_scale
from derive.numeric.instances import (Instance, Unsatisfiable, assumptions, excluded, holds, needed_names,
                                      instances, scalar_range)
from derive.numeric.lower import Evaluator, LoweringError

if TYPE_CHECKING:
    from derive.numeric.batch import Batch
    from derive.numeric.identity import IdentityStrategy


MOVABLE_PROPS = frozenset({"invertible"})  # structure a small move keeps (almost surely)


def structure_of(props: frozenset, value: torch.Tensor) -> Optional[str]:
    """The parametrisation that moves a structured tensor while keeping its property
    (``None``: it stays fixed, e.g. permutations, which only swaps would move)."""
    square = value.dim() == 3 and value.shape[-1] == value.shape[-2]
    if props & {"permutation", "adjacency", "diagonal", "rank", "semi_orthogonal"} or not props - {"nonzero"}:
        return None if props - {"nonzero", "invertible"} else "plain"
    if "orthogonal" in props:
        return "orthogonal" if square else None
    if "spd" in props and square:
        return "spd"
    if "psd" in props and square:
        return "psd"
    if "symmetric" in props and square and not props - {"symmetric", "invertible", "nonzero"}:
        return "symmetric"
    if props == frozenset({"unit"}):
        return "unit"
    if props == frozenset({"simplex"}):
        return "simplex"
    if props == frozenset({"positive"}):
        return "positive"
    if props <= MOVABLE_PROPS | {"full_rank"}:
        return "plain"
    return None


def free_inputs(ctx: Context, env: dict) -> dict[str, Any]:
    """Names that may move, each with how: a lower bound (−∞ when it has none) for plain
    tensors and real scalars — a scalar with one finite bound moves as ``lo + exp(s)``
    (see :func:`moved`), so ``η > 0`` can reach 10⁻³ — or the name of a parametrisation
    that keeps a declared property: spd = LLᵀ + εI, psd = LLᵀ, symmetric = (B + Bᵀ)/2,
    orthogonal = Q₀·exp(S − Sᵀ), unit = v/‖v‖, simplex = softmax(s), positive = exp(s)."""

    out: dict[str, float] = {}
    for name, info in ctx.checked.symbols.items():
        v = env.get(name)
        if not isinstance(v, torch.Tensor) or not v.dtype.is_floating_point or info.random:
            continue
        if info.role == "tensor":
            kind = structure_of(info.props, v)
            if kind == "plain":
                out[name] = -math.inf
            elif kind is not None:
                out[name] = kind
        elif info.role == "scalar" and info.domain == "real":
            ev = Evaluator(env, v.device, torch.float64, ctx.checked)
            lo, hi = scalar_range(info, ev)
            if not math.isfinite(hi) and not excluded(info, ev):
                out[name] = lo
    return out


LOG_SPEED = 5.0  # a bounded scalar's log moves this much faster (40 steps span e^±10)


SPD_EPS = 1e-9   # spd = LLᵀ + εI·mean(diag LLᵀ): positive definite, however close to singular


def leaf_of(value: torch.Tensor, lo: Any) -> torch.Tensor:
    """The free parameter of an input: the value itself, or log(value − lo) above a bound,
    or the parameter of its structure (see :func:`free_inputs`)."""
    if isinstance(lo, str):
        return _structured_leaf(value, lo).detach().clone().requires_grad_(True)
    if math.isfinite(lo):
        s = torch.log((value - lo).clamp_min(1e-12)) / LOG_SPEED
        return s.detach().clone().requires_grad_(True)
    return value.detach().clone().requires_grad_(True)


def moved(leaf: torch.Tensor, lo: Any, base: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The input a free parameter stands for (inside the declared domain by construction);
    ``base`` is the starting value (the orthogonal parametrisation rotates it)."""
    if isinstance(lo, str):
        return _structured_value(leaf, lo, base)
    return lo + torch.exp(LOG_SPEED * leaf) if math.isfinite(lo) else leaf


def _structured_leaf(value: torch.Tensor, kind: str) -> torch.Tensor:
    if kind in ("spd", "psd"):
        n = value.shape[-1]
        eye = torch.eye(n, dtype=value.dtype, device=value.device)
        jitter = 1e-12 * value.diagonal(dim1=-2, dim2=-1).abs().mean(-1).clamp_min(1e-300)
        for k in range(6):
            chol, info = torch.linalg.cholesky_ex(value + (10.0 ** (3 * k)) * jitter[..., None, None] * eye)
            if not bool(info.any()):
                return chol
        return torch.linalg.cholesky_ex(value + eye)[0]
    if kind == "orthogonal":
        return torch.zeros_like(value)
    if kind == "simplex":
        return torch.log(value.clamp_min(1e-300))
    if kind == "positive":
        return torch.log(value.clamp_min(1e-300))
    return value  # symmetric, unit: the value is its own parameter


def _structured_value(leaf: torch.Tensor, kind: str, base: Optional[torch.Tensor]) -> torch.Tensor:
    if kind in ("spd", "psd"):
        low = torch.tril(leaf)
        s = low @ low.transpose(-1, -2)
        if kind == "spd":
            n = s.shape[-1]
            eye = torch.eye(n, dtype=s.dtype, device=s.device)
            s = s + SPD_EPS * s.diagonal(dim1=-2, dim2=-1).mean(-1).detach().clamp_min(1e-300)[..., None, None] * eye
        return s
    if kind == "symmetric":
        return (leaf + leaf.transpose(-1, -2)) / 2
    if kind == "orthogonal":
        rot = torch.linalg.matrix_exp(leaf - leaf.transpose(-1, -2))
        return base @ rot if base is not None else rot
    if kind == "unit":
        flat = leaf.reshape(leaf.shape[0], -1)
        return (flat / flat.norm(dim=-1, keepdim=True).clamp_min(1e-300)).reshape(leaf.shape)
    if kind == "simplex":
        flat = leaf.reshape(leaf.shape[0], -1)
        return torch.softmax(flat, -1).reshape(leaf.shape)
    if kind == "positive":
        return torch.exp(leaf)
    return leaf


SEARCH_SECONDS = 20.0  # safety stop only (a cut search is inconclusive): the budget is the step count


class Adam:
    """Plain Adam on a few leaf tensors (``torch.optim`` imports TorchDynamo on first use,
    which costs seconds per worker process)."""

    def __init__(self, params: list[torch.Tensor], lr: float, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[Optional[torch.Tensor]]) -> None:
        self.t += 1
        b1, b2 = self.betas
        with torch.no_grad():
            for p, m_, v_, gr in zip(self.params, self.m, self.v, grads):
                if gr is None:
                    continue
                m_.mul_(b1).add_(gr, alpha=1 - b1)
                v_.mul_(b2).addcmul_(gr, gr, value=1 - b2)
                mhat = m_ / (1 - b1 ** self.t)
                vhat = v_ / (1 - b2 ** self.t)
                p.sub_(self.lr * mhat / (vhat.sqrt() + self.eps))


def ascend(strategy: "IdentityStrategy", ctx: Context, g: torch.Generator, device: torch.device,
           sizes: dict[str, int], steps: int = 40, batch: int = 8,
           report: Optional[dict] = None, seconds: Optional[float] = None) -> Optional["Batch"]:
    """Gradient ascent for at most ``steps`` steps and ``seconds`` of wall clock; ``report``
    receives the steps taken and whether the clock cut the search short."""
    report = report if report is not None else {}
    seconds = (SEARCH_SECONDS if seconds is None else seconds) * budget_scale()
    report.update({"steps": 0, "of": steps, "cut_short": False, "budget_s": seconds})
    start = time.perf_counter()
    st = ctx.statement
    if not isinstance(st, m.Compare):
        return None
    try:
        inst, _ = instances(ctx.checked, g, device, sizes, batch, torch.float64,
                            only=needed_names(ctx.checked, st))
    except Unsatisfiable:
        return None
    lows = free_inputs(ctx, inst.env)
    if not lows:
        return None
    leaves = {k: leaf_of(inst.env[k], lo) for k, lo in lows.items()}
    opt = Adam(list(leaves.values()), lr=0.05)
    tried = 0
    for step in range(steps):
        if step and time.perf_counter() - start > seconds:
            report["cut_short"] = True
            break
        report["steps"] = step + 1
        env = dict(inst.env)
        env.update({k: moved(v, lows[k], inst.env[k]) for k, v in leaves.items()})
        ev = Evaluator(env, device, torch.float64, ctx.checked)
        try:
            with torch.enable_grad():
                vals = [ev.tensor(ev.ev(x)) for x in st.operands]
                total = 0.0
                for op, a, b in zip(st.ops, vals, vals[1:]):
                    if op not in ("<", "<=", ">", ">="):
                        continue
                    if op in (">", ">="):
                        a, b = b, a
                    x = a.reshape(a.shape[0], -1)
                    y = b.reshape(b.shape[0], -1)
                    norm = x.detach().abs().amax(-1, keepdim=True) + y.detach().abs().amax(-1, keepdim=True) + 1e-12
                    total = total + ((x - y) / norm).amax(-1).sum()
                if not isinstance(total, torch.Tensor) or not total.requires_grad:
                    return None
            params = list(leaves.values())
            grads = torch.autograd.grad(-total, params, allow_unused=True)
            opt.step(list(grads))
        except (LoweringError, RuntimeError):
            return None
        if step % 5 == 4 or step == steps - 1:
            fixed = Instance({**inst.env, **{k: moved(v, lows[k], inst.env[k]).detach().clone()
                                             for k, v in leaves.items()}},
                             inst.sizes, inst.params)
            conds = assumptions(ctx.checked)
            mask = None
            if conds:
                mask = holds(Evaluator(fixed.env, device, torch.float64, ctx.checked), conds)
                mask = torch.as_tensor(mask).reshape(-1)
            try:
                res = strategy.evaluate(ctx, fixed, mask, sizes, device)
            except (LoweringError, RuntimeError, ValueError):
                return None  # the ascent left the domain (a non-finite svd input): give up
            tried += res.tried
            if res.clear is not None:
                res.tried = tried
                return res
    return None
