"""``derive check --watch``: re-decide claims when their files change.

Polling (no extra dependency, works on every file system) every ``interval`` seconds; a
round starts when a file's modification time or size changes.  The result cache makes a
round re-decide only the claims whose meaning changed, and a warm worker pool (engines
imported once) decides them, so a changed claim costs about its own decision time.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable, Optional

from derive.outcome import Result
from derive.runner import RunConfig, RunStats, WorkerPool, collect_files, run


def snapshot(paths: Iterable[str]) -> dict[str, tuple[int, int]]:
    """(mtime in ns, size) of every claim file under ``paths``."""
    out = {}
    for p in collect_files(paths):
        try:
            st = Path(p).stat()
        except OSError:
            continue
        out[str(p)] = (st.st_mtime_ns, st.st_size)
    return out


def watch(paths: list[str], config: RunConfig,
          on_round: Callable[[list[Result], RunStats, float], None],
          interval: float = 0.3, rounds: Optional[int] = None) -> None:
    """Decide ``paths`` now and again after every change; ``rounds`` bounds it (None: forever)."""
    if config.isolate and config.pool is None:
        config.pool = WorkerPool(config.options, max(1, config.jobs), config.memory_limit_mb)
    try:
        seen: Optional[dict] = None
        done = 0
        while rounds is None or done < rounds:
            now = snapshot(paths)
            if now != seen:
                seen = now
                start = time.perf_counter()
                results = run(paths, config)
                on_round(results, config.stats, time.perf_counter() - start)
                done += 1
                continue
            time.sleep(interval)
    finally:
        if config.pool is not None:
            config.pool.close()
            config.pool = None
