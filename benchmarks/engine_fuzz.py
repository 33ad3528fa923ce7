"""Differential fuzzing of the engines: each generated claim (known true or known false,
tests/engine_fuzzing.py) is decided by the symbolic engine alone and the numeric engine
alone; every disagreement with the known truth and every internal failure is reported.

    python benchmarks/engine_fuzz.py [--claims 1000] [--seed 0] [--engines symbolic,numeric]
                                     [--time-limit 2] [--json out.json] [--max-seconds S]

Prints claims/s, disagreements and failures per 1000 claims (per engine), then each
finding with its claim text (a reproducer for `derive check`).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import engine_fuzzing as EF  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engines", default="symbolic,numeric")
    ap.add_argument("--time-limit", type=float, default=2.0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--max-seconds", type=float, default=0,
                    help="stop after this long and report the claims decided so far")
    ap.add_argument("--quiet", action="store_true", help="no per-finding output")
    args = ap.parse_args(argv)
    names = tuple(args.engines.split(","))
    claims = EF.claims(args.seed, args.claims)
    findings: list = []
    verdicts: Counter = Counter()
    start = time.perf_counter()
    done = []
    for i, fc in enumerate(claims, 1):
        if args.max_seconds and time.perf_counter() - start > args.max_seconds:
            break
        done.append(fc)
        results = EF.decide_alone(fc, names, args.time_limit, seed=args.seed)
        for engine, verdict, _ in results:
            verdicts[(engine, "true" if fc.truth else "false", verdict)] += 1
        for f in EF.judge(fc, results):
            findings.append(f)
            if not args.quiet:
                print(f"[{f.kind}] {f.engine} says {f.verdict} on a {'true' if fc.truth else 'false'}"
                      f" claim: {f.summary[:160]}\n{fc.text}", flush=True)
        if i % 100 == 0:
            print(f"... {i} claims, {len(findings)} findings, "
                  f"{i / (time.perf_counter() - start):.2f} claims/s", file=sys.stderr, flush=True)
    took = time.perf_counter() - start
    claims = done
    n = max(len(claims), 1)
    print(f"\n{len(claims)} claims ({sum(c.truth for c in claims)} true) in {took:.1f} s: {n / took:.2f} claims/s")
    for engine in names:
        dis = sum(1 for f in findings if f.engine == engine and f.kind == "disagreement")
        fail = sum(1 for f in findings if f.engine == engine and f.kind == "failure")
        print(f"{engine:9s} disagreements {1000 * dis / n:.2f}/1000 ({dis}), "
              f"failures {1000 * fail / n:.2f}/1000 ({fail})")
        for truth in ("true", "false"):
            row = {v: c for (e, t, v), c in verdicts.items() if e == engine and t == truth}
            print(f"  on {truth} claims: {dict(sorted(row.items()))}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "claims": len(claims), "seconds": took, "seed": args.seed,
            "verdicts": [[*k, v] for k, v in sorted(verdicts.items())],
            "findings": [{"engine": f.engine, "verdict": f.verdict, "kind": f.kind, "truth": f.claim.truth,
                          "summary": f.summary, "claim": f.claim.text} for f in findings]},
            indent=1, ensure_ascii=False), encoding="utf-8")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
