"""Variance reduction and rare events: what the Monte-Carlo engine's intervals reach.

Part 1 — smooth integrands of d standard normals: the 99.9 % half-width of plain Monte
Carlo against randomized QMC (64 independently scrambled Sobol replicates, Student t),
at the same number of draws, and then at equal time (plain Monte Carlo's half-width
scales as 1/√time exactly, so it is rescaled to the RQMC run's time).  Target: ≥ 10×
narrower at equal time.

Part 2 — rare events: the exact Clopper–Pearson interval from sampling, and the exact
(symbolic) and quadrature values that need no sampling at all.

    PYTHONPATH=$PWD python benchmarks/mc_variance.py
"""
from __future__ import annotations

import math
import time

import torch
from scipy import stats

from derive.numeric import rqmc
from derive.numeric.intervals import clopper_pearson, rqmc_interval

LEVEL = 1e-3
INTEGRANDS = {
    "exp(z1/2)·cos(z2)": (2, lambda z: torch.exp(0.5 * z[:, 0]) * torch.cos(z[:, 1])),
    "relu(z1 + z2)": (2, lambda z: torch.relu(z[:, 0] + z[:, 1])),
    "max(z1, z2)": (2, lambda z: torch.maximum(z[:, 0], z[:, 1])),
    "‖z‖ (4-D)": (4, lambda z: z.norm(dim=1)),
    "(z·w)² (4+4-D)": (8, lambda z: (z[:, :4] * z[:, 4:]).sum(1) ** 2),
    "tanh(Σz)² (16-D)": (16, lambda z: torch.tanh(z.sum(1) / 4) ** 2),
}


def plain(f, d: int, n: int, seed: int) -> tuple[float, float]:
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    x = f(torch.randn(n, d, generator=g, dtype=torch.float64))
    hw = stats.norm.isf(LEVEL / 2) * float(x.std()) / math.sqrt(n)
    return hw, time.perf_counter() - start


def quasi(f, d: int, n: int, seed: int) -> tuple[float, float]:
    start = time.perf_counter()
    per = n // rqmc.REPLICATES
    means = []
    for r in range(rqmc.REPLICATES):
        u = rqmc.Replicate(d, seed * 1000 + r).draw(per)
        means.append(float(f(math.sqrt(2.0) * torch.erfinv(2 * u - 1)).mean()))
    _, hw, _ = rqmc_interval(means, LEVEL)
    return hw, time.perf_counter() - start


def part1(n: int = 1 << 20) -> None:
    torch.set_num_threads(1)
    print(f"Part 1: 99.9 % half-width, {n} draws each (64 RQMC replicates of {n // 64})")
    print(f"{'integrand':22s} {'plain hw':>10s} {'s':>6s} {'RQMC hw':>10s} {'s':>6s} "
          f"{'same n':>8s} {'equal time':>11s}")
    for name, (d, f) in INTEGRANDS.items():
        plain(f, d, 1024, 0), quasi(f, d, 4096, 0)   # warm up
        hp, tp = plain(f, d, n, 1)
        hq, tq = quasi(f, d, n, 1)
        equal = hp * math.sqrt(tp / tq) / hq          # plain rescaled to RQMC's time
        print(f"{name:22s} {hp:10.2e} {tp:6.2f} {hq:10.2e} {tq:6.2f} {hp / hq:7.1f}× {equal:10.1f}×")


def part2() -> None:
    print("\nPart 2: rare events")
    g = torch.Generator().manual_seed(0)
    for c, n in ((4.0, 4_000_000), (5.0, 4_000_000), (6.0, 4_000_000)):
        start = time.perf_counter()
        k = int((torch.randn(n, generator=g) > c).sum())
        lo, hi = clopper_pearson(k, n, 1e-6)
        took = time.perf_counter() - start
        print(f"P[z > {c:g}] = {stats.norm.sf(c):.3e}: {k} hits in {n}, Clopper–Pearson "
              f"(1e-6) [{lo:.2e}, {hi:.2e}], {took:.2f} s")
    from derive.engine import Context, Options
    from derive.numeric.quadrature import QuadratureStrategy
    from derive.symbolic.strategies.expectations import Expectations
    from tests.test_numeric import checked_claims
    for text in ("P[z > 7] == erfc(7/sqrt(2))/2", "P[z > 7] == 0", "E[exp(5.5*z)] == exp(15.125)"):
        src = f"claim b\n  let z : real ~ normal(0, 1)\n  show {text}\n"
        try:
            checked = checked_claims(src)[0]
        except AssertionError:
            continue
        for strat in (Expectations(), QuadratureStrategy()):
            ctx = Context(checked, checked.claim.shows[0], 0, Options())
            start = time.perf_counter()
            out = strat.attempt(ctx)
            took = time.perf_counter() - start
            verdict = out.verdict.value if out else "passes"
            print(f"  {text:32s} {strat.name:18s} {verdict:10s} {took:5.2f} s  "
                  f"{(out.summary[:90] if out else '; '.join(ctx.notes))}")


if __name__ == "__main__":
    part1()
    part2()

