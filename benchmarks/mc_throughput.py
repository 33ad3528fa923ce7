"""Monte-Carlo throughput of the numeric engine for Var(qᵀk) at d = 64.

Prints samples/s (one sample = one draw of q and k, 2·d normals) for
  * the engine's sampler (draws, lowering, features, float64 accumulation),
  * a plain numpy baseline (float64 standard_normal, (q*k).sum, var),
  * raw torch randn float32 (the RNG bound: no engine can draw faster).
Run: python benchmarks/mc_throughput.py [--samples N] [--threads T]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from derive.engine import Context, Options
from derive.language.load import load_text
from derive.numeric.instances import make_generator
from derive.numeric.montecarlo import MonteCarloRun
from derive.semantics import check_claim

CLAIM = """
claim bench.var
  let d : dim
  let σ : real > 0
  let q, k : vector[d] ~ normal(0, σ^2)
  show Var[q · k] == d * σ^4
"""
D = 64


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def engine_rate(n: int) -> tuple[float, float]:
    claim = load_text(CLAIM).claims[0]
    checked, _ = check_claim(claim)
    ctx = Context(checked, claim.shows[0], 0, Options())
    run = MonteCarloRun(ctx, make_generator(0, torch.device("cpu")), 0, torch.device("cpu"))
    out = {}

    def go():
        est, _ = run.estimate({"d": D}, {"sigma": 1.0}, n, torch.float32)
        out["var"] = float(est.left[0])
    sec = best_of(go)
    return n / sec, out["var"]


def numpy_rate(n: int, chunk: int = 16_384) -> float:
    rng = np.random.default_rng(0)

    def go():
        s = ss = 0.0
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            q = rng.standard_normal((m, D))
            k = rng.standard_normal((m, D))
            x = (q * k).sum(1)
            s += x.sum()
            ss += (x * x).sum()
        return ss / n - (s / n) ** 2
    return n / best_of(go)


def rng_rate(n: int, chunk: int = 16_384) -> float:
    """Only the draws the engine needs (q and k, float32), in the same chunks."""
    g = torch.Generator().manual_seed(0)

    def go():
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            torch.randn((m, D), generator=g)
            torch.randn((m, D), generator=g)
    return n / best_of(go)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=400_000)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    engs, bases, bounds = [], [], []
    for _ in range(3):  # interleaved, best of each: the machine is shared
        e, var = engine_rate(a.samples)
        engs.append(e)
        bases.append(numpy_rate(a.samples))
        bounds.append(rng_rate(a.samples))
    eng, base, bound = max(engs), max(bases), max(bounds)
    print(f"Var(qᵀk), d = {D}, {a.samples} samples, {a.threads} thread(s); estimate {var:.3f} (true {D})")
    print(f"  engine (float32 draws)  {eng:12,.0f} samples/s")
    print(f"  numpy float64 baseline  {base:12,.0f} samples/s   engine/numpy = {eng / base:.2f}x")
    print(f"  torch randn bound       {bound:12,.0f} samples/s   engine/bound = {eng / bound:.0%}")


if __name__ == "__main__":
    main()
