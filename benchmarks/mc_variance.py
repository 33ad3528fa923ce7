"""Variance reduction and rare events: what the Monte-Carlo engine's intervals reach.

Part 1 — smooth integrands of d standard normals: the 99.9 % half-width of plain Monte
Carlo against randomized QMC (64 independently scrambled Sobol replicates, Student t),
at the same number of draws, and then at equal time (plain Monte Carlo's half-width
scales as 1/√time exactly, so it is rescaled to the RQMC run's time).  Target: ≥ 10×
narrower at equal time.

Part 2 — rare events: the exact Clopper–Pearson interval from sampling, and the exact
(symbolic) and quadrature values that need no sampling at all.

Part 4 — control variates where RQMC does not apply (more than 64 normal coordinates):
the 99.9 % half-width of plain sampling against the same draws adjusted by β·C, with
C = (Σε, Σ(ε² − 1)) per declared name and β fitted on an independent pilot.

Part 3 — rare events of several Gaussians: the 99.9 % relative half-width of plain
sampling (Clopper–Pearson) against importance sampling (derive/numeric/importance.py:
cross-entropy fit, boundary search for the dominating points, candidate selection, then
the final weighted sample) at the same number of evaluated points (every point the
importance run evaluated while fitting counts as a draw given to plain sampling too).

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


TAILS = {   # name: (dimension, margin (> 0 inside the event), exact probability)
    "z + w > 6 (4.24σ)": (2, lambda e: e.sum(1) - 6, stats.norm.sf(6 / math.sqrt(2))),
    "3z + 4w > 25 (5σ)": (2, lambda e: 3 * e[:, 0] + 4 * e[:, 1] - 25, stats.norm.sf(5)),
    "z + w > 6√2 (6σ)": (2, lambda e: e.sum(1) - 6 * math.sqrt(2), stats.norm.sf(6)),
    "max(z, w) > 4.5": (2, lambda e: e.max(1).values - 4.5, 1 - stats.norm.cdf(4.5) ** 2),
    "max(z, w, u) > 5": (3, lambda e: e.max(1).values - 5, 1 - stats.norm.cdf(5) ** 3),
    "|z + w| > 6.5": (2, lambda e: e.sum(1).abs() - 6.5, 2 * stats.norm.sf(6.5 / math.sqrt(2))),
    "min(z, w) > 2.5": (2, lambda e: e.min(1).values - 2.5, stats.norm.sf(2.5) ** 2),
    "‖x‖ > 6 (3-D)": (3, lambda e: e.norm(dim=1) - 6, stats.chi2.sf(36, 3)),
    "‖x‖ > 3√5 (5-D)": (5, lambda e: e.norm(dim=1) - 3 * math.sqrt(5), stats.chi2.sf(45, 5)),
}


def part3(n: int = 1_000_000) -> None:
    from derive.numeric import importance
    torch.set_num_threads(1)
    z = stats.norm.isf(LEVEL / 2)
    print(f"\nPart 3: 99.9 % relative half-width at equal draws ({n} final weighted samples "
          "plus the points the fit evaluated)")
    print(f"{'event':20s} {'P':>9s} {'draws':>8s} {'plain CP':>10s} {'IS':>8s} {'gain':>7s} "
          f"{'IS err':>7s} {'hit ESS':>8s} {'IS s':>5s}  proposal")
    for name, (d, margin, p) in TAILS.items():
        g = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        used = [0]   # points evaluated while fitting (levels, boundary search, selection)

        def seen(e: torch.Tensor, margin=margin) -> torch.Tensor:
            used[0] += e.shape[0]
            return margin(e)
        best, _ = importance.propose(seen, lambda e: (seen(e) > 0).to(torch.float64), d, g)
        f = torch.cat([best.weights(e) * (margin(e) > 0).to(torch.float64) for e in
                       (best.sample(min(1 << 18, n - i), g) for i in range(0, n, 1 << 18))])
        took = time.perf_counter() - start
        est, se = float(f.mean()), float(f.std()) / math.sqrt(n)
        drawn = n + used[0]
        k = 0
        for i in range(0, drawn, 1 << 20):   # plain sampling with the same number of draws
            k += int((margin(torch.randn(min(1 << 20, drawn - i), d, generator=g,
                                         dtype=torch.float64)) > 0).sum())
        lo, hi = clopper_pearson(k, drawn, LEVEL)
        rel_cp, rel_is = (hi - lo) / 2 / p, z * se / p
        print(f"{name:20s} {p:9.3e} {drawn:8d} {rel_cp:9.1%} {rel_is:7.2%} {rel_cp / rel_is:6.0f}× "
              f"{est / p - 1:+7.2%} {importance.hit_ess(f):8.0f} {took:5.2f}  "
              f"{best.describe().split(' + ')[1].split(' over')[0]}")


CONTROLLED = {   # name: (coordinates, integrand of the standard draws)
    "‖x‖ (100-D)": (100, lambda e: e.norm(dim=1)),
    "exp(mean x) (100-D)": (100, lambda e: torch.exp(e.mean(1))),
    "relu(Σx) (100-D)": (100, lambda e: torch.relu(e.sum(1))),
    "max(x) (128-D)": (128, lambda e: e.max(1).values),
    "softplus(Σx/10)² (200-D)": (200, lambda e: torch.nn.functional.softplus(e.sum(1) / 10) ** 2),
}


def part4(n: int = 200_000, pilot: int = 16_384) -> None:
    from derive.numeric import controls
    torch.set_num_threads(1)
    z = stats.norm.isf(LEVEL / 2)
    print(f"\nPart 4: control variates, 99.9 % half-width at {n} draws (β from a {pilot} pilot)")
    print(f"{'integrand':28s} {'plain hw':>10s} {'controls hw':>12s} {'narrower':>9s}")
    for name, (d, f) in CONTROLLED.items():
        g = torch.Generator().manual_seed(0)
        fit = controls.Regression()
        e = torch.randn(pilot, d, generator=g, dtype=torch.float64)
        fit.add(f(e).unsqueeze(1), controls.controls(e, [d]))
        beta = fit.beta()
        e = torch.randn(n, d, generator=g, dtype=torch.float64)
        y = f(e).unsqueeze(1)
        adj = y - controls.controls(e, [d]) @ beta.T
        hp, hc = (z * float(v.std()) / math.sqrt(n) for v in (y, adj))
        print(f"{name:28s} {hp:10.2e} {hc:12.2e} {hp / hc:8.1f}×")


if __name__ == "__main__":
    part1()
    part2()
    part3()
    part4()

