"""Calibration: are true claims ever refuted?

    python benchmarks/calibration.py [PATH ...] [--seeds 20] [--jobs 1] [-k PATTERN] [--json out]

Checks every claim of the corpus expected to hold (``expect holds``, the default, or
``proved``/``verified``) under seeds 0..N-1 and counts refutations.  Each refutation of a
true claim is a false refutation; the engines state a per-claim false-refutation rate
(Options.false_refutation_rate), so over C claims × N seeds about C·N·rate are expected by
chance (goal: 0).  Prints the count beside that figure, and the claims refuted, with the
seeds and summaries.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from derive.engine import Options  # noqa: E402
from derive.language.load import load_path  # noqa: E402
from derive.outcome import Verdict  # noqa: E402
from derive.runner import RunConfig, collect_files, run  # noqa: E402

TRUE = ("holds", "proved", "verified")


def default_paths() -> list[str]:
    files = sorted((ROOT / "claims").glob("*.claims"))
    return [str(p) for p in files] or [str(ROOT / "tests" / "data")]


def true_claim_ids(paths: list[str]) -> dict[str, str]:
    ids = {}
    for path in collect_files(paths):
        for claim in load_path(path).claims:
            if claim.expect in TRUE:
                ids[claim.id] = claim.expect
    return ids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("-k", dest="select")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--symbolic-time-limit", type=float, default=10.0)
    ap.add_argument("--no-isolation", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args(argv)

    paths = args.paths or default_paths()
    true_ids = true_claim_ids(paths)
    rate = Options().false_refutation_rate
    refuted: dict[str, list[tuple[int, str]]] = defaultdict(list)
    verdicts: dict[str, Counter] = defaultdict(Counter)
    decisions = 0
    start = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        options = Options(seed=seed, symbolic_time_limit=args.symbolic_time_limit)
        config = RunConfig(options=options, isolate=not args.no_isolation, jobs=args.jobs,
                           time_limit=args.time_limit, select=args.select)
        for r in run(paths, config):
            if r.id not in true_ids:
                continue
            decisions += 1
            verdicts[r.id][r.verdict.value] += 1
            if r.verdict == Verdict.REFUTED:
                refuted[r.id].append((seed, r.summary))
        print(f"  seed {seed}: {sum(len(v) for v in refuted.values())} refutations so far "
              f"({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    claims = len(verdicts)
    expected = claims * args.seeds * rate
    total = sum(len(v) for v in refuted.values())
    overall = Counter()
    for c in verdicts.values():
        overall.update(c)

    print(f"true claims:          {claims} (expect holds/proved/verified) in {len(paths)} path(s)")
    print(f"seeds:                {args.first_seed}..{args.first_seed + args.seeds - 1}")
    print(f"decisions:            {decisions}  ({', '.join(f'{n} {v}' for v, n in overall.most_common())})")
    print(f"refutations:          {total}  (goal 0)")
    print(f"stated rate:          {rate:g} false refutations per claim and run "
          f"→ {expected:.2g} expected by chance over {claims} × {args.seeds}")
    print(f"claims ever refuted:  {len(refuted)}")
    for cid, hits in sorted(refuted.items()):
        seeds = ", ".join(str(s) for s, _ in hits)
        print(f"  {cid}: refuted under seed(s) {seeds}: {hits[0][1][:160]}")
    unstable = {cid: c for cid, c in verdicts.items() if len(c) > 1}
    if unstable:
        print(f"claims whose verdict changes with the seed: {len(unstable)}")
        for cid, c in sorted(unstable.items()):
            print(f"  {cid}: " + ", ".join(f"{n} {v}" for v, n in c.most_common()))
    print(f"time:                 {time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "claims": claims, "seeds": args.seeds, "decisions": decisions, "refutations": total,
            "stated_rate": rate, "expected_by_chance": expected,
            "refuted": {k: [{"seed": s, "summary": m} for s, m in v] for k, v in refuted.items()},
            "verdicts": {k: dict(v) for k, v in verdicts.items()}}, indent=2, ensure_ascii=False))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
