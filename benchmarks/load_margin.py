"""Load margin of the golden record: decide the corpus with every engine budget scaled
down (as a busy or slower CI machine would give them) and list the verdicts that change.

    python benchmarks/load_margin.py [--scale 0.25] [-j N] [PATHS...]

A verdict that changes at a quarter of its budgets rests on how fast this machine is, and
the golden test (tests/test_golden.py) will flip on a loaded machine.  The fix is a
deterministic path for the proof (or a budget with a real margin), never a looser test.
Prints one line per change and the count; exit status 1 when any verdict changes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from derive.audit import golden_diff, golden_snapshot  # noqa: E402
from derive.engine import BUDGET_SCALE_ENV, Options  # noqa: E402
from derive.runner import RunConfig, run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", default=["claims"])
    ap.add_argument("--scale", type=float, default=0.25,
                    help="factor on every engine budget (default 0.25)")
    ap.add_argument("--golden", default=str(ROOT / "tests" / "golden" / "corpus.json"))
    ap.add_argument("-j", "--jobs", type=int, default=2)
    args = ap.parse_args()
    os.chdir(ROOT)
    os.environ[BUDGET_SCALE_ENV] = str(args.scale)  # the worker processes inherit it
    start = time.perf_counter()
    results = run(args.paths, RunConfig(options=Options(seed=0), jobs=args.jobs))
    seconds = time.perf_counter() - start
    golden = json.loads(Path(args.golden).read_text(encoding="utf-8"))
    changes = golden_diff(golden, golden_snapshot(results))
    for line in changes:
        print(line)
    print(f"{len(results)} claims at {args.scale:g}× budgets in {seconds:.0f} s: "
          f"{len(changes)} verdict(s) differ from {Path(args.golden).name}")
    return 1 if changes else 0


if __name__ == "__main__":
    sys.exit(main())
