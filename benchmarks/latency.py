"""Single-claim latency, cold and warm: what a person waits for after saving one claim.

    python benchmarks/latency.py [--repeats 5]

cold: `derive check FILE --no-cache` as a fresh process (imports, a spawned worker, decide);
warm (pool): a warm worker of `derive lsp` / `derive check --watch` decides a changed claim;
warm (in-process): the `%%claim` magic's path in a kernel that already decided a claim.
Each warm figure is the median over claims that differ in a constant (nothing cached).
Targets (issue 20): warm ≤ 0.3 s for the symbolic and the identity claim.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLAIMS = {
    "symbolic": "claim lat.sym{k}\n  let a, b : real\n  show (a + b)^2 + {k} == a^2 + 2*a*b + b^2 + {k}\n",
    "identity": ("claim lat.id{k}\n  let n : dim\n  let A, B : matrix[n, n]\n"
                 "  show trace(A @ B) + {k} == trace(B @ A) + {k}\n"),
    "monte-carlo": ("claim lat.mc{k}\n  let d : dim\n  let q, k : vector[d] ~ normal(0, 1)\n"
                    "  show Var[q · k] + {k} == d + {k}\n"),
}


def cold(kind: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "one.claims"
        path.write_text(CLAIMS[kind].format(k=1), encoding="utf-8")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "derive.cli", "check", str(path), "--no-cache"],
                       cwd=ROOT, capture_output=True, check=False)
        return time.perf_counter() - start


def warm_pool(kind: str, repeats: int, pool) -> float:
    from derive.engine import Options
    from derive.runner import RunConfig, plan_text, run_isolated

    times = []
    for k in range(2, repeats + 2):
        jobs, errors, _ = plan_text(CLAIMS[kind].format(k=k), "bench.claims")
        assert not errors, errors[0].summary
        start = time.perf_counter()
        run_isolated(jobs, RunConfig(options=Options(), pool=pool))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def warm_inprocess(kind: str, repeats: int) -> float:
    from derive.ipython import decide_cell

    decide_cell(CLAIMS[kind].format(k=0))  # warm this kind's code paths
    times = []
    for k in range(2, repeats + 2):
        start = time.perf_counter()
        decide_cell(CLAIMS[kind].format(k=k))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    from derive.engine import Options
    from derive.runner import WorkerPool

    pool = WorkerPool(Options(), 1)
    pool.wait_ready()
    print(f"{'claim':12s} {'cold (s)':>9s} {'warm pool (s)':>14s} {'warm in-process (s)':>20s}")
    try:
        for kind in CLAIMS:
            print(f"{kind:12s} {cold(kind):9.2f} {warm_pool(kind, args.repeats, pool):14.3f} "
                  f"{warm_inprocess(kind, args.repeats):20.3f}", flush=True)
    finally:
        pool.close()
    print("target: warm <= 0.3 s for the symbolic and identity claims")


if __name__ == "__main__":
    main()
