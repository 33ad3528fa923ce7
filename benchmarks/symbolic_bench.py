"""Time the SymPy engine: per strategy and per claim, and the median per decided statement.

Usage:  python benchmarks/symbolic_bench.py [PATHS...]   (default: the sketch examples,
their mutations and the adversarial tests/soundness/symbolic_*.claims; pass claims/ to time
the corpus too).  The z3 solver's share of the symbolic time is printed.  Exit status 1 when the median
symbolic statement takes more than 0.5 s, or a statement of FAIL_FAST takes longer than
its target.  The total symbolic time is printed too (the
corpus target is ≤ 20 s: strategies that cannot decide must fail fast).
"""
from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from derive.limits import TimeLimit, time_limit
from derive.engine import Context, Engine, Options
from derive.language.load import load_text
from derive.semantics import check_claim
from derive.symbolic import ENGINE
from derive.symbolic.strategies.smt import STATS as SMT_STATS

ROOT = Path(__file__).resolve().parent.parent
TARGET_MEDIAN_S = 0.5
TARGET_TOTAL_S = 20.0  # the whole corpus (claims/), all statements, decided or not

# Statements that once sent strategies into long expansions: the engine must decide or give
# up quickly (seconds, target).  The two-layer BPTT identity is now proved by the chain
# rule of matrix-differential; softmax by the elementary normal form.
FAIL_FAST = [
    ("""claim bptt
  let n : dim
  let W, W1, W2, U : matrix[n, n]
  let h0, x1, x2, b, w : vector[n]
  let loss(A1, A2) = (w · tanh(A2 @ tanh(A1 @ h0 + U @ x1 + b) + U @ x2 + b))^2
  show grad(loss(W, W), W) == (grad(loss(W1, W), W1) at (W1 = W)) + (grad(loss(W, W2), W2) at (W2 = W))
""", 3.0),
    ("""claim soft
  let n, d : dim
  let Q, K, V : matrix[n, d]
  let Dg = diag(exp(Q @ Kᵀ) @ ones(n))
  show inv(Dg) @ exp(Q @ Kᵀ) @ V == softmax(Q @ Kᵀ) @ V
""", 1.0),
]

MUTATIONS = """
claim mut.gd.doubled
  let σ : real != 0
  let η : real > 0
  show abs(1 - 2*η*σ^2) < 1  <=>  η < 2/σ^2
  expect refuted

claim mut.gd.exponent
  let σ : real != 0
  let η : real > 0
  show abs(1 - 2*η*σ^2) < 1  <=>  η < 1/σ^4
  expect refuted

claim mut.two_scales.doubled
  let σ1, σs : real > 0
  assume σ1 > σs
  show argmin(η, max(abs(1 - 2*η*σ1^2), abs(1 - 2*η*σs^2))) == 2/(σ1^2 + σs^2)
  expect refuted

claim mut.var.exponent
  let d : dim
  let σ : real > 0
  let q, k : vector[d] ~ normal(0, σ^2)
  show Var[q · k] == d * σ^2
  expect refuted

claim mut.sm.sign
  let n : dim
  let M : matrix[n, n] invertible
  let u, v : vector[n]
  assume 1 + vᵀ @ inv(M) @ u != 0
  show inv(M + u @ vᵀ) == inv(M) + (inv(M) @ u @ vᵀ @ inv(M)) / (1 + vᵀ @ inv(M) @ u)
  expect refuted

claim mut.bn.sign
  let n : dim
  let γ, β : real
  let x, g : vector[n]
  let y = γ * (x - mean(x)) + β
  show grad(g · y, x) == γ * (g + mean(g))
  expect refuted

claim mut.conv.transpose
  let n, k : dim
  assume k <= n
  let X : matrix[n, n]
  let W : matrix[k, k]
  let G : matrix[n - k + 1, n - k + 1]
  show grad(sum(G ⊙ conv(X, W)), W) == conv(X, Gᵀ)
  expect refuted

claim mut.recurrence.shift
  let σ : real != 0
  let η, y : real
  let w[t+1] = (1 - 2*η*σ^2) * w[t] + 2*η*σ*y,  w[0] = 0
  show w[t] == y/σ - (1 - 2*η*σ^2)^(t+1) * y/σ
  expect refuted
"""


class Timed:
    """A strategy wrapper that records the time of every attempt."""

    def __init__(self, inner, log: dict) -> None:
        self.inner, self.name, self.log = inner, inner.name, log

    def attempt(self, ctx):
        start = time.perf_counter()
        try:
            out = self.inner.attempt(ctx)
        finally:
            self.log[self.name].append(time.perf_counter() - start)
        return out


def sources(paths: list[str]) -> list[tuple[str, str]]:
    if not paths:
        return [("tests/data/sketch.claims", (ROOT / "tests/data/sketch.claims").read_text()),
                ("<mutations>", MUTATIONS)] + [
                    (str(f.relative_to(ROOT)), f.read_text())
                    for f in sorted((ROOT / "tests" / "soundness").glob("symbolic_*.claims"))]
    out = []
    for p in paths:
        path = Path(p)
        files = sorted(path.rglob("*.claims")) if path.is_dir() else [path]
        out += [(str(f), f.read_text()) for f in files]
    return out


def main(argv: list[str]) -> int:
    log: dict[str, list[float]] = defaultdict(list)
    engine = Engine("symbolic", [Timed(s, log) for s in ENGINE.strategies])
    options = Options()
    decided: dict[str, int] = defaultdict(int)
    per_statement: list[float] = []
    rows = []
    warm = load_text("claim warm\n  let x : real\n  show (x+1)^2 == x^2 + 2*x + 1\n").claims[0]
    checked, _ = check_claim(warm)
    engine.decide(Context(checked, warm.shows[0], 0, options))  # import-time caches
    log.clear()
    z3_start = SMT_STATS["seconds"], SMT_STATS["calls"]
    for name, text in sources(argv):
        for claim in load_text(text, name).claims:
            checked, _ = check_claim(claim)
            if checked is None:
                continue
            verdicts, total = [], 0.0
            for i, show in enumerate(claim.shows):
                ctx = Context(checked, show, i, options)
                start = time.perf_counter()
                try:
                    with time_limit(options.symbolic_time_limit):
                        outcome = engine.decide(ctx)
                except TimeLimit:
                    outcome = None
                    verdicts.append("time-limit")
                seconds = time.perf_counter() - start
                total += seconds
                if outcome is not None:
                    verdicts.append(f"{outcome.verdict.value}:{outcome.strategy}")
                    decided[outcome.strategy] += 1
                    per_statement.append(seconds)
                elif not verdicts or verdicts[-1] != "time-limit":
                    verdicts.append("pass")
            rows.append((claim.id, len(claim.shows), total, verdicts))

    print("per claim")
    for cid, n, total, verdicts in rows:
        print(f"  {total:7.3f} s  {cid:45s} {n:2d} stmt  {', '.join(verdicts)}")
    print("\nper strategy (every attempt, decided or passed)")
    print(f"  {'strategy':22s} {'attempts':>8s} {'decided':>8s} {'total s':>9s} {'mean s':>8s} "
          f"{'max s':>8s}")
    for s in ENGINE.strategies:
        times = log.get(s.name, [])
        if times:
            print(f"  {s.name:22s} {len(times):8d} {decided.get(s.name, 0):8d} {sum(times):9.3f} "
                  f"{statistics.mean(times):8.4f} {max(times):8.3f}")
    grand = sum(total for _, _, total, _ in rows)
    passed = grand - sum(per_statement)
    z3_s, z3_calls = SMT_STATS["seconds"] - z3_start[0], SMT_STATS["calls"] - z3_start[1]
    print(f"\nz3 solver: {z3_s:.3f} s in {z3_calls} calls = {100 * z3_s / max(grand, 1e-9):.1f} % "
          f"of the symbolic time")
    print(f"\ntotal symbolic time: {grand:.2f} s over {sum(n for _, n, _, _ in rows)} statements "
          f"({passed:.2f} s on statements no strategy decided; target for claims/ ≤ "
          f"{TARGET_TOTAL_S:g} s)")
    if not per_statement:
        print("\nno statement decided")
        return 1
    slow = 0
    print("\nfail fast (the symbolic engine must decide or give up quickly)")
    for text, target in FAIL_FAST:
        claim = load_text(text).claims[0]
        checked, _ = check_claim(claim)
        start = time.perf_counter()
        outcome = ENGINE.decide(Context(checked, claim.shows[0], 0, options))
        seconds = time.perf_counter() - start
        slow += seconds > target
        print(f"  {seconds:7.3f} s  {claim.id:10s} "
              f"{outcome.verdict.value if outcome else 'passed'} (target ≤ {target:g} s)")
    median = statistics.median(per_statement)
    print(f"\nstatements decided: {len(per_statement)}; median {median:.3f} s, "
          f"p90 {sorted(per_statement)[int(0.9 * (len(per_statement) - 1))]:.3f} s, "
          f"max {max(per_statement):.3f} s (target median ≤ {TARGET_MEDIAN_S} s)")
    return 0 if median <= TARGET_MEDIAN_S and not slow else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
