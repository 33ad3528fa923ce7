"""Search for a violation of an inequality by gradient ascent on (left − right).

Random instances rarely hit the corner where an inequality fails; autograd moves the
free, unstructured inputs (plain tensors and unbounded real scalars) towards larger
violation, and every few steps the instance is re-checked with the exact rule.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import torch

from derive import model as m
from derive.engine import Context
from derive.numeric.instances import Instance, Unsatisfiable, instances, scalar_range
from derive.numeric.lower import Evaluator, LoweringError

if TYPE_CHECKING:
    from derive.numeric.identity import Batch, IdentityStrategy


def free_inputs(ctx: Context, env: dict) -> list[str]:
    """Names that may move freely: undecorated non-random tensors and unbounded reals."""
    out = []
    for name, info in ctx.checked.symbols.items():
        v = env.get(name)
        if not isinstance(v, torch.Tensor) or not v.dtype.is_floating_point or info.random:
            continue
        if info.role == "tensor" and not info.props:
            out.append(name)
        elif info.role == "scalar" and info.domain == "real":
            ev = Evaluator(env, v.device, torch.float64, ctx.checked)
            lo, hi = scalar_range(info, ev)
            if lo == float("-inf") and hi == float("inf"):
                out.append(name)
    return out


def ascend(strategy: "IdentityStrategy", ctx: Context, g: torch.Generator, device: torch.device,
           sizes: dict[str, int], steps: int = 40, batch: int = 8) -> Optional["Batch"]:
    st = ctx.statement
    if not isinstance(st, m.Compare):
        return None
    try:
        inst, _ = instances(ctx.checked, g, device, sizes, batch, torch.float64)
    except Unsatisfiable:
        return None
    names = free_inputs(ctx, inst.env)
    if not names:
        return None
    leaves = {k: inst.env[k].detach().clone().requires_grad_(True) for k in names}
    opt = torch.optim.Adam(list(leaves.values()), lr=0.05)
    tried = 0
    for step in range(steps):
        env = dict(inst.env)
        env.update(leaves)
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
            opt.zero_grad()
            (-total).backward()
            opt.step()
        except (LoweringError, RuntimeError):
            return None
        if step % 5 == 4 or step == steps - 1:
            fixed = Instance({**inst.env, **{k: v.detach().clone() for k, v in leaves.items()}},
                             inst.sizes, inst.params)
            from derive.numeric.instances import assumptions, holds
            conds = assumptions(ctx.checked)
            mask = None
            if conds:
                mask = holds(Evaluator(fixed.env, device, torch.float64, ctx.checked), conds)
                mask = torch.as_tensor(mask).reshape(-1)
            res = strategy.evaluate(ctx, fixed, mask, sizes, device)
            tried += res.tried
            if res.clear is not None:
                res.tried = tried
                return res
    return None
