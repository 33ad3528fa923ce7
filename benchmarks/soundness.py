"""Soundness over the adversarial corpus tests/soundness/: false proved / false verified /
false refuted / undecided, per file (one file per class of failure) and in total.

    python benchmarks/soundness.py [PATHS...] [--seed N] [-j N] [--list]

A claim's truth is its ``expect`` line: ``refuted`` marks a false claim, anything else a true
one (each claim says why in a comment).  Exit status 1 when any false pass or false
refutation is not in tests/soundness/known-unsound.txt.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from derive.audit import (CLASSES, CORRECT, FALSE_PROVED, FALSE_REFUTED, FALSE_VERIFIED,  # noqa: E402
                          UNDECIDED, soundness_class, truth_of)
from derive.engine import Options  # noqa: E402
from derive.runner import RunConfig, run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", default=[str(ROOT / "tests" / "soundness")])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--list", action="store_true", help="list every wrong or undecided claim")
    args = ap.parse_args()
    start = time.perf_counter()
    results = run(args.paths, RunConfig(options=Options(seed=args.seed), jobs=args.jobs, time_limit=60))
    seconds = time.perf_counter() - start
    per_file: dict[str, Counter] = defaultdict(Counter)
    wrong = []
    for r in results:
        c = soundness_class(r)
        per_file[Path(r.file).name][c] += 1
        per_file[Path(r.file).name]["true" if truth_of(r) else "false"] += 1
        if c != CORRECT:
            wrong.append((c, r))
    cols = [FALSE_PROVED, FALSE_VERIFIED, FALSE_REFUTED, UNDECIDED, CORRECT]
    head = f"{'file':32s} {'true':>5s} {'false':>5s} " + " ".join(f"{c:>14s}" for c in cols)
    print(head)
    total: Counter = Counter()
    for name in sorted(per_file):
        cnt = per_file[name]
        total.update(cnt)
        print(f"{name:32s} {cnt['true']:5d} {cnt['false']:5d} " + " ".join(f"{cnt[c]:14d}" for c in cols))
    print(f"{'TOTAL':32s} {total['true']:5d} {total['false']:5d} " + " ".join(f"{total[c]:14d}" for c in cols))
    print(f"\n{len(results)} claims in {seconds:.1f} s (seed {args.seed}, -j {args.jobs})")
    print(f"false proved {total[FALSE_PROVED]} / false verified {total[FALSE_VERIFIED]} / "
          f"false refuted {total[FALSE_REFUTED]} / undecided {total[UNDECIDED]}")
    known = set()
    ledger = ROOT / "tests" / "soundness" / "known-unsound.txt"
    if ledger.exists():
        known = {ln.split("#")[0].split()[0] for ln in ledger.read_text().splitlines()
                 if ln.split("#")[0].strip()}
    for c, r in sorted(wrong, key=lambda t: (CLASSES.index(t[0]), t[1].id or "")):
        if args.list or c != UNDECIDED:
            mark = " (known)" if r.id in known else ""
            print(f"  {c:14s} {r.id}{mark}: {r.verdict.value}: {r.summary[:150]}")
    new_bad = [r for c, r in wrong if c in (FALSE_PROVED, FALSE_VERIFIED, FALSE_REFUTED) and r.id not in known]
    return 1 if new_bad else 0


if __name__ == "__main__":
    sys.exit(main())
