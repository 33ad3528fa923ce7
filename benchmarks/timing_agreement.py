"""Run every timing claim repeatedly and report how often each statement gets the same verdict.

Usage::

    python benchmarks/timing_agreement.py [PATH ...] [--runs 10] [--vary-seed]

PATH defaults to ``claims/`` if it exists, else ``tests/data``.  A *timing claim* is one
with a statement the decider routes to the timing engine (``time[…]``, ``flops[…]``,
``memory[…]``, ``~``, ``in O(…)``).  Every run starts with empty measurement caches, so
each run measures afresh.  The goal is 10/10 agreement for every statement, with each
run of the whole set well inside the corpus budget.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

from derive.engine import is_cost_statement
from derive.engine import Context, Options
from derive.language.load import load_path
from derive.outcome import Verdict, as_expected, combine
from derive.runner import collect_files
from derive.semantics import check_claim
from derive.timing import ENGINE
from derive.timing.bench import clear_caches


def timing_statements(paths: list[str]):
    """(claim id, statement index, checked claim, show) for every timing statement."""
    out = []
    for path in collect_files(paths):
        loaded = load_path(path)
        lines = Path(path).read_text(encoding="utf-8").split("\n")
        for claim in loaded.claims:
            checked, diags = check_claim(claim, lines)
            if checked is None:
                continue
            for i, show in enumerate(claim.shows):
                if is_cost_statement(show.statement):
                    out.append((claim.id, i, checked, show))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vary-seed", action="store_true", help="seed + run number per run")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    paths = args.paths or [str(root / "claims") if (root / "claims").is_dir() else str(root / "tests" / "data")]
    items = timing_statements(paths)
    if not items:
        print(f"no timing claims under {', '.join(paths)}")
        return 1
    print(f"{len(items)} timing statement(s) in {len({c for c, *_ in items})} claim(s) under "
          f"{', '.join(paths)}; {args.runs} runs")
    verdicts: dict[tuple, list[str]] = collections.defaultdict(list)
    seconds: dict[tuple, list[float]] = collections.defaultdict(list)
    run_times, cpu_times = [], []
    for run in range(args.runs):
        clear_caches()
        options = Options(seed=args.seed + (run if args.vary_seed else 0))
        start, cpu = time.perf_counter(), time.process_time()
        for claim_id, i, checked, show in items:
            t0 = time.perf_counter()
            outcome = ENGINE.decide(Context(checked, show, i, options))
            seconds[(claim_id, i)].append(time.perf_counter() - t0)
            verdicts[(claim_id, i)].append(outcome.verdict.value if outcome else "none")
        run_times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
        print(f"run {run + 1}: {run_times[-1]:.2f} s wall, {cpu_times[-1]:.2f} s CPU", flush=True)
    print()
    print(f"{'claim':48} {'stmt':>4} {'agreement':>9}  {'verdicts':32} {'mean s':>7}")
    all_agree = True
    for key in verdicts:
        counts = collections.Counter(verdicts[key])
        top, n = counts.most_common(1)[0]
        all_agree &= n == args.runs
        tally = ", ".join(f"{v}×{k}" for v, k in counts.most_common())
        print(f"{key[0]:48} {key[1]:>4} {n:>4}/{args.runs:<4}  {tally:32} "
              f"{sum(seconds[key]) / len(seconds[key]):7.2f}")
    print()
    print("claims (timing statements only, most common verdict vs the claim's 'expect'):")
    expects = {claim_id: checked.claim.expect for claim_id, _, checked, _ in items}
    for claim_id, expect in expects.items():
        per_run = [combine([Verdict(verdicts[key][r]) for key in verdicts if key[0] == claim_id
                            and verdicts[key][r] != "none"]) for r in range(args.runs)]
        top, _ = collections.Counter(per_run).most_common(1)[0]
        mark = "ok" if as_expected(top, expect) else "differs"
        print(f"  {claim_id:48} {top.value:13} expect {expect:12} {mark}")
    print()
    print(f"run time: mean {sum(run_times) / len(run_times):.2f} s, max {max(run_times):.2f} s "
          f"wall per run of all timing statements (CPU {sum(cpu_times) / len(cpu_times):.2f} s; "
          f"load average {os.getloadavg()[0]:.1f})")
    print("agreement: " + ("10/10 for every statement" if all_agree and args.runs == 10 else
                           "all runs agree" if all_agree else "NOT all runs agree"))
    return 0 if all_agree else 2


if __name__ == "__main__":
    sys.exit(main())
