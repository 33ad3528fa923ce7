"""The command line: a thin click layer over :mod:`derive.runner` and :mod:`derive.report`."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from derive import __version__

FORMAT_NAMES = ["text", "json", "junit", "github", "markdown", "html"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="derive")
def main() -> None:
    """derive: check derivations of deep-learning mathematics, with evidence."""


def _common_run_options(f):
    f = click.option("-k", "select", metavar="PATTERN",
                     help="Only claims whose id contains PATTERN (globs * ? allowed; 'not X').")(f)
    return f


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@_common_run_options
@click.option("--seed", type=int, default=0, show_default=True,
              help="Run seed; with the claim id it seeds every random choice.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES), default="text", show_default=True,
              help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Where the numeric and timing engines run.")
@click.option("--time-limit", type=float, default=120.0, show_default=True,
              help="Seconds per claim before its worker is stopped.")
@click.option("--symbolic-time-limit", type=float, default=10.0, show_default=True,
              help="Seconds the SymPy engine may spend per statement.")
@click.option("--memory-limit", type=int, default=6144, show_default=True,
              help="Memory limit of a worker in MiB (0: none).")
@click.option("-j", "--jobs", type=int, default=1, show_default=True,
              help="Worker processes deciding claims in parallel.")
@click.option("--no-isolation", is_flag=True,
              help="Decide in this process (faster start; no time or memory limits).")
@click.option("--refuted-only", is_flag=True, help="Report only refuted claims (for errata pages).")
@click.option("-v", "--verbose", is_flag=True, help="Show evidence for every claim.")
def check(paths, select, seed, fmt, output, device, time_limit, symbolic_time_limit, memory_limit,
          jobs, no_isolation, refuted_only, verbose) -> None:
    """Decide the claims in PATHS (files, or directories searched for *.claims).

    Exit status: 0 when every result is as expected, 1 otherwise, 2 for usage errors.
    """
    from derive.engine import Options
    from derive.outcome import Verdict
    from derive.report import formats
    from derive.report.text import use_colour
    from derive.runner import RunConfig, run

    if jobs < 1:
        raise click.BadParameter("must be at least 1", param_hint="-j")
    options = Options(seed=seed, device=device, symbolic_time_limit=symbolic_time_limit)
    config = RunConfig(options=options, isolate=not no_isolation, jobs=jobs, time_limit=time_limit,
                       memory_limit_mb=memory_limit, select=select)
    renderers = formats()
    if fmt not in renderers:
        raise click.UsageError(f"the {fmt} format is not available in this installation")
    results = run(list(paths), config, progress=_progress_printer(fmt, output))
    shown = [r for r in results if r.verdict == Verdict.REFUTED] if refuted_only else results
    stream = sys.stdout if output is None else None
    text = renderers[fmt](shown, colour=use_colour(stream) if fmt == "text" else False,
                          verbose=verbose)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    if not results:
        click.echo("no claims found" + (f" matching -k {select!r}" if select else ""), err=True)
    sys.exit(0 if all(r.as_expected for r in results) else 1)


def _progress_printer(fmt: str, output: Optional[str]):
    """A progress line on stderr when stderr is a terminal (never in CI logs)."""
    if not sys.stderr.isatty():
        return None
    count = {"n": 0}

    def show(result) -> None:
        count["n"] += 1
        click.echo(f"\r{count['n']} decided: {result.id or result.file}"[:100].ljust(100), err=True,
                   nl=False)
    return show


@main.command(name="list")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@_common_run_options
def list_claims(paths, select) -> None:
    """List the claims in PATHS: id, location and title (parse errors are listed too)."""
    from derive.runner import plan

    jobs, errors, claims = plan(list(paths), select)
    for c in claims:
        title = f"  {c.title}" if c.title else ""
        click.echo(f"{c.id}  [{c.file}:{c.pos.line}]{title}")
    for e in errors:
        click.echo(f"{e.id or '<file>'}  [{e.file}:{e.line}]  error: {e.summary}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
