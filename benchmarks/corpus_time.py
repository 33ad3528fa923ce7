"""Check the whole corpus cold and print the time, coverage and a breakdown by engine.

Usage: python benchmarks/corpus_time.py [--jobs 2] [--seed 0] [--out benchmarks/corpus_time.json]
Targets (issue 6): all 132 notes ids present; ≥ 90 % of them decided; 0 results other than
expected; the whole corpus, cold, in ≤ 45 s on 2 cores with -j 2 (issue 15; issue 6 asked ≤ 60 s).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from derive.engine import Options
from derive.report.summary import by_engine, summarize
from derive.runner import RunConfig, run

ROOT = Path(__file__).resolve().parents[1]
DECIDED = {"proved", "verified", "refuted"}


def proof_share(results) -> dict:
    """Of the claims that pass (proved or verified, as expected), how many are proved; and
    the median time of a statement the symbolic engine decided (issue 17's figures)."""
    passing = [r for r in results if r.as_expected and r.verdict.value in ("proved", "verified")]
    proved = sum(1 for r in passing if r.verdict.value == "proved")
    times = sorted(st.get("seconds", 0.0) for r in results
                   for st in (r.evidence or {}).get("statements", []) or []
                   if isinstance(st, dict) and st.get("engine") == "symbolic")
    median = times[len(times) // 2] if times else 0.0
    return {"passing": len(passing), "proved": proved,
            "percent": 100 * proved / max(1, len(passing)),
            "symbolic_statements": len(times), "median_symbolic_s": median}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    config = RunConfig(options=Options(seed=args.seed), jobs=args.jobs, cache_dir=None)
    start = time.perf_counter()
    results = run([str(ROOT / "claims")], config)
    wall = time.perf_counter() - start
    ids = [line.strip() for line in (ROOT / "claims/notes-index.txt").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
    by_id = {r.id: r for r in results}
    missing = [i for i in ids if i not in by_id]
    decided = [i for i in ids if i in by_id and by_id[i].verdict.value in DECIDED]
    summary = summarize(results)
    print(f"corpus: {summary['total']} claims in {wall:.1f} s wall with {args.jobs} worker(s) "
          f"on {os.cpu_count()} cores ({platform.machine()})")
    print(f"notes ids: {len(ids)} listed, {len(missing)} missing, {len(decided)} decided "
          f"({100 * len(decided) / max(1, len(ids)):.1f} %)")
    print("verdicts: " + ", ".join(f"{summary[k]} {k}" for k in summary if k != "total"))
    for engine, row in sorted(by_engine(results).items()):
        print(f"  {engine:<18} " + ", ".join(f"{n} {v}" for v, n in sorted(row.items())))
    share = proof_share(results)
    print(f"proved share of the passing claims: {share['proved']} of {share['passing']} "
          f"({share['percent']:.1f} %; issue 17 target 60 %); median symbolic statement "
          f"{share['median_symbolic_s']:.3f} s over {share['symbolic_statements']}")
    slowest = sorted(results, key=lambda r: -r.seconds)[:5]
    print("slowest: " + ", ".join(f"{r.id} {r.seconds:.1f} s" for r in slowest))
    print(f"target ≤ 45 s: {'met' if wall <= 45 else 'NOT met'}; "
          f"unexpected: {summary['unexpected']}")
    if missing:
        print("missing ids: " + ", ".join(missing))
    if args.out:
        Path(args.out).write_text(json.dumps({
            "wall_s": round(wall, 2), "jobs": args.jobs, "cores": os.cpu_count(),
            "summary": summary, "proof_share": share, "ids": len(ids), "missing": missing, "decided": len(decided)},
            indent=2) + "\n")


if __name__ == "__main__":
    main()
