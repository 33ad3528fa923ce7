"""Fuzz the front end: load + semantic pass + size guards (never the engines).

    python benchmarks/fuzz.py [--inputs 100000] [--seed 0] [--json out.json]

Half the inputs are near-valid claims built from the grammar's constructs
(tests/fuzzing.py: ClaimGen), half are byte mutations of the corpus files (claims/*.claims,
else tests/data/*.claims).  Prints the number of crashes (an exception escaping the front
end: goal 0), hangs (an input taking more than 2 s: goal 0) and the throughput, then one
minimised reproducer per distinct crash.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import fuzzing as F  # noqa: E402

HANG_S = 2.0
HARD_STOP_S = 20.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the figures and reproducers to this file")
    ap.add_argument("--minimize-s", type=float, default=20.0, help="seconds per crash to minimise")
    args = ap.parse_args(argv)

    r = random.Random(args.seed)
    pool = F.seed_corpus()
    F.front_end(pool[0])  # build the parser outside the measurement

    crashes: Counter = Counter()
    examples: dict[str, bytes] = {}
    hangs: list[tuple[float, bytes]] = []
    kinds = Counter()
    accepted = 0
    total_bytes = 0
    slowest = 0.0
    slow_wall = 0
    start = time.perf_counter()
    for i in range(args.inputs):
        if i % 2 == 0:
            data = F.ClaimGen(r).document().encode("utf-8")
            kinds["generated"] += 1
        else:
            data = F.mutate_bytes(r, r.choice(pool), pool)
            kinds["mutated"] += 1
        total_bytes += len(data)
        t0 = time.perf_counter()
        c0 = time.process_time()
        try:
            with F.deadline(HARD_STOP_S):
                accepted += F.front_end(data) > 0
        except F.Hang:
            pass
        except Exception as exc:  # noqa: BLE001 - every escaping exception is a finding
            sig = F.signature(exc)
            crashes[sig] += 1
            if sig not in examples or len(data) < len(examples[sig]):
                examples[sig] = data
        took = time.process_time() - c0  # CPU time: a loaded machine must not fake a hang
        wall = time.perf_counter() - t0
        slowest = max(slowest, took)
        if took > HANG_S:
            hangs.append((took, data))
        elif wall > HANG_S:
            slow_wall += 1
        if (i + 1) % 10_000 == 0:
            el = time.perf_counter() - start
            print(f"  {i + 1} inputs, {sum(crashes.values())} crashes, {len(hangs)} hangs, "
                  f"{(i + 1) / el:.0f}/s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start

    print(f"inputs:      {args.inputs} ({kinds['generated']} generated, {kinds['mutated']} mutated; "
          f"seed {args.seed}; {len(pool)} seed inputs from "
          f"{', '.join(sorted({p.parent.name for p in F.seed_files()}))}/)")
    print(f"accepted:    {accepted} inputs with at least one claim passing the semantic pass")
    print(f"crashes:     {sum(crashes.values())} ({len(crashes)} distinct)")
    print(f"hangs:       {len(hangs)} (> {HANG_S:g} s of CPU; slowest input {slowest:.3f} s CPU; "
          f"{slow_wall} more over {HANG_S:g} s wall-clock only, i.e. waiting for a busy CPU)")
    print(f"throughput:  {args.inputs / elapsed:.0f} inputs/s, {total_bytes / elapsed / 1e6:.2f} MB/s "
          f"({elapsed:.1f} s)")
    reproducers = {}
    for sig, count in crashes.most_common():
        data = examples[sig]
        small = F.minimize(data, lambda d, s=sig: F.crash_of(d) == s, args.minimize_s)
        reproducers[sig] = small.decode("utf-8", "replace")
        print(f"\nCRASH x{count}: {sig}\n  reproducer: {small!r}")
    for took, data in sorted(hangs, reverse=True)[:5]:
        print(f"\nHANG {took:.2f} s: {data[:300]!r}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "inputs": args.inputs, "seed": args.seed, "accepted": accepted,
            "crashes": dict(crashes), "distinct_crashes": len(crashes), "hangs": len(hangs),
            "slowest_s": round(slowest, 3), "slow_wall_only": slow_wall, "inputs_per_s": round(args.inputs / elapsed, 1),
            "seconds": round(elapsed, 1), "reproducers": reproducers}, indent=2, ensure_ascii=False))
    return 1 if crashes or hangs else 0


if __name__ == "__main__":
    sys.exit(main())
