"""Parse-and-check throughput of the claims front end (claims per second).

Usage: python benchmarks/parse_throughput.py [--claims 200] [--repeat 5]
Target (issue 2): 200 typical claims load and type-check in under 1 second.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from derive.language.load import load_text
from derive.semantics import check_claim

ROOT = Path(__file__).resolve().parents[1]


def corpus_text(count: int) -> str:
    """``count`` typical claims: the sketch examples, the corpus and the textbook-notation
    statements, renamed and repeated."""
    sources = [ROOT / "tests/data/sketch.claims"] + sorted((ROOT / "claims").glob("*.claims")) \
        + [ROOT / "tests/soundness/textbook_notation.claims"]  # textbook notation (issue #18)
    chunks: list[str] = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for piece in text.split("\nclaim ")[1:]:
            chunks.append("claim " + piece.strip("\n"))
    out = []
    for i in range(count):
        body = chunks[i % len(chunks)]
        head, _, rest = body.partition("\n")
        ident = head.split()[1]
        out.append(head.replace(ident, f"bench{i}.{ident}", 1) + "\n" + rest)
    return "\n\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--claims", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    text = corpus_text(args.claims)
    lines = text.split("\n")
    load_text("claim warm\n  let x : real\n  show x == x\n")  # build the parser once
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        loaded = load_text(text, "bench.claims")
        checked = [check_claim(c, lines)[0] for c in loaded.claims]
        times.append(time.perf_counter() - start)
    ok = sum(1 for c in checked if c is not None)
    best, median = min(times), statistics.median(times)
    print(f"claims: {len(loaded.claims)} parsed, {ok} type-checked, "
          f"{len(loaded.broken)} with syntax errors")
    print(f"load + check of {args.claims} claims: median {median:.3f} s, best {best:.3f} s "
          f"({args.claims / median:.0f} claims/s)")
    print(f"target: {args.claims} claims in < 1 s -> {'met' if median < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
