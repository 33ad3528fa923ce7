"""The IPython extension: ``%load_ext derive``, then a ``%%claim`` cell decides its claims.

The kernel is the warm engine: SymPy, torch and the engines stay imported between cells,
so a changed claim is re-decided in about its own time.  The verdict and its evidence are
shown as HTML in the notebook (counterexample table, Monte-Carlo interval plot), with the
seed that reproduces it.  Claims are decided in this process, under the same per-claim
time limit as ``derive check --no-isolation``.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from derive.engine import Options
from derive.outcome import Result


@dataclass
class CellResults:
    """What a ``%%claim`` cell returns: its results, shown as HTML by the notebook."""

    results: list[Result]
    seed: int
    command: str = ""
    name: str = "<cell>"
    _html: str = field(default="", repr=False)

    def _repr_html_(self) -> str:
        if not self._html:
            from derive.report.html import render_fragment

            note = (f"seed {self.seed}; re-run with %%claim --seed {self.seed}"
                    + (f", or: {self.command}" if self.command else ""))
            self._html = render_fragment(self.results, note)
        return self._html

    def __repr__(self) -> str:
        return "\n".join(f"{r.verdict.value:12s} {r.id}: {r.summary}" for r in self.results)


def decide_cell(text: str, name: str = "<cell>", options: Options = Options(),
                time_limit: float = 120.0) -> CellResults:
    """Load, check and decide the claims of a cell in this process."""
    from derive.runner import RunConfig, decide_in_process, plan_text

    jobs, errors, _ = plan_text(text, name)
    results = list(errors)
    config = RunConfig(options=options, isolate=False, time_limit=time_limit, memory_limit_mb=0)
    for job in jobs:
        results.append(decide_in_process(job, config))
    results.sort(key=lambda r: r.line)
    return CellResults(results, options.seed, name=name)


def _parse_line(line: str) -> tuple[Options, float]:
    """``--seed N --device cpu --time-limit S`` (all optional)."""
    seed, device, limit = 0, "auto", 120.0
    words = shlex.split(line)
    i = 0
    while i < len(words):
        word = words[i]
        value = words[i + 1] if i + 1 < len(words) else None
        if word in ("--seed", "--device", "--time-limit") and value is None:
            raise ValueError(f"{word} needs a value")
        if word == "--seed":
            seed = int(value)
        elif word == "--device":
            if value not in ("auto", "cpu", "cuda"):
                raise ValueError("--device is auto, cpu or cuda")
            device = value
        elif word == "--time-limit":
            limit = float(value)
        else:
            raise ValueError(f"unknown option {word!r} (use --seed N, --device D, --time-limit S)")
        i += 2
    return Options(seed=seed, device=device), limit


def load_ipython_extension(ipython) -> None:
    """Register ``%%claim`` (called by ``%load_ext derive``)."""
    from IPython.core.magic import Magics, cell_magic, magics_class

    @magics_class
    class ClaimMagics(Magics):
        @cell_magic
        def claim(self, line: str, cell: str):
            """Decide the claims written in this cell: %%claim [--seed N] [--device D] [--time-limit S]"""
            try:
                options, limit = _parse_line(line)
            except ValueError as exc:
                print(f"%%claim: {exc}")
                return None
            count = getattr(self.shell, "execution_count", 0)
            # a blank first line stands for the %%claim line: positions are the cell's lines
            return decide_cell("\n" + cell, f"cell[{count}]", options, limit)

    ipython.register_magics(ClaimMagics)
