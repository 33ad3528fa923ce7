"""The command line: a thin click layer over :mod:`derive.runner` and :mod:`derive.report`."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import click

from derive.version import __version__

FORMAT_NAMES = ["text", "json", "junit", "github", "markdown", "html"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="derive")
def main() -> None:
    """derive: check derivations of deep-learning mathematics, with evidence."""


def _common_run_options(f):
    f = click.option("-k", "select", metavar="PATTERN",
                     help="Only claims whose id contains PATTERN (globs * ? allowed; 'not X', 'X or Y', 'X and Y').")(f)
    return f


def _run_options(f):
    """Options shared by ``check`` and ``explain``: what is decided, where, and with what limits."""
    for opt in reversed([
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Run seed; with the claim id it seeds every random choice."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
                     show_default=True, help="Where the numeric and timing engines run."),
        click.option("--time-limit", type=float, default=120.0, show_default=True,
                     help="Seconds per claim before its worker is stopped."),
        click.option("--symbolic-time-limit", type=float, default=10.0, show_default=True,
                     help="Seconds the SymPy engine may spend per statement."),
        click.option("--memory-limit", type=int, default=6144, show_default=True,
                     help="Memory limit of a worker in MiB (0: none)."),
        click.option("--no-isolation", is_flag=True,
                     help="Decide in this process (faster start; the time and memory limits "
                          "hold in-process: SIGALRM and RLIMIT_AS)."),
        click.option("--cache-dir", type=click.Path(file_okay=False), default=".derive-cache",
                     show_default=True, help="Where decided results are kept for re-runs."),
        click.option("--no-cache", is_flag=True,
                     help="Decide every claim again; neither read nor write the cache."),
    ]):
        f = opt(f)
    return f


def _config(seed, device, time_limit, symbolic_time_limit, memory_limit, no_isolation, cache_dir,
            no_cache, jobs: int = 1, select: Optional[str] = None, strict: bool = False):
    from derive.engine import Options
    from derive.faults import strict_mode
    from derive.runner import RunConfig

    options = Options(seed=seed, device=device, symbolic_time_limit=symbolic_time_limit,
                      strict=strict or strict_mode())
    return RunConfig(options=options, isolate=not no_isolation, jobs=jobs, time_limit=time_limit,
                     memory_limit_mb=memory_limit, select=select,
                     cache_dir=None if no_cache else cache_dir)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@_common_run_options
@_run_options
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES), default="text", show_default=True,
              help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("-j", "--jobs", type=int, default=1, show_default=True,
              help="Worker processes deciding claims in parallel.")
@click.option("--refuted-only", is_flag=True,
              help="Report only refuted claims (with --format markdown: the errata page).")
@click.option("-v", "--verbose", is_flag=True, help="Show evidence for every claim.")
@click.option("--watch", is_flag=True,
              help="Keep running: re-decide changed claims whenever a file is saved (Ctrl-C stops).")
@click.option("--strict", is_flag=True,
              help="An internal error in any engine fails the claim (also: DERIVE_STRICT=1).")
@click.option("--no-repair", is_flag=True,
              help="Do not search checked repairs of refuted claims (see 'derive repair').")
@click.option("--repair-time-limit", type=float, default=None, metavar="S",
              help="Safety stop of a repair search per refuted claim, in seconds (default "
                   "30; the search is bounded by a candidate budget, so the same seed gives "
                   "the same repairs).")
def check(paths, select, seed, device, time_limit, symbolic_time_limit, memory_limit, no_isolation,
          cache_dir, no_cache, fmt, output, jobs, refuted_only, verbose, watch, strict, no_repair,
          repair_time_limit) -> None:
    """Decide the claims in PATHS: .claims files, Markdown files with ```claim blocks, or
    directories (searched for *.claims).

    Unchanged claims are taken from the result cache (--no-cache to decide all again).
    Exit status: 0 when every result is as expected, 1 otherwise, 2 for usage errors.
    """
    from derive.outcome import Verdict
    from derive.report import formats
    from derive.report.text import use_colour
    from derive.runner import run

    if jobs < 1:
        raise click.BadParameter("must be at least 1", param_hint="-j")
    config = _config(seed, device, time_limit, symbolic_time_limit, memory_limit, no_isolation,
                     cache_dir, no_cache, jobs, select, strict)
    if not no_repair:
        from dataclasses import replace as _replace

        from derive.repair import CHECK

        settings = CHECK if repair_time_limit is None else _replace(CHECK, time_limit=repair_time_limit)
        config.repair = settings.to_dict()
    renderers = formats()
    if fmt not in renderers:
        raise click.UsageError(f"the {fmt} format is not available in this installation")
    if watch:
        _watch(list(paths), config, renderers["text"], verbose)
        return
    bar = ProgressBar.for_stderr()
    try:
        results = run(list(paths), config, progress=bar.advance if bar else None,
                      total=bar.start if bar else None)
    finally:
        if bar:
            bar.stop()
    shown = [r for r in results if r.verdict == Verdict.REFUTED] if refuted_only else results
    stream = sys.stdout if output is None else None
    kw = {"command": _command_line()} if fmt == "markdown" else {}
    text = renderers[fmt](shown, colour=use_colour(stream) if fmt == "text" else False,
                          verbose=verbose, refuted_only=refuted_only, **kw)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    if not results:
        click.echo("no claims found" + (f" matching -k {select!r}" if select else ""), err=True)
    elif config.cache_dir and config.stats.cached:
        click.echo(f"cache: {config.stats.cached} from {config.cache_dir}, "
                   f"{config.stats.decided} decided", err=True)
    if not config.options.strict:
        _warn_faults(results)
    sys.exit(0 if all(r.as_expected for r in results) else 1)


def _watch(paths: list[str], config, render, verbose: bool) -> None:
    """The --watch loop: a text report of each round's newly decided claims."""
    from derive.watch import watch

    decided_before: dict = {}

    def on_round(results, stats, seconds) -> None:
        fresh = [r for r in results if decided_before.get((r.file, r.id)) != r.as_dict()]
        decided_before.clear()
        decided_before.update({(r.file, r.id): r.as_dict() for r in results})
        if fresh:
            click.echo(render(fresh, colour=False, verbose=verbose), nl=False)
        bad = sum(1 for r in results if not r.as_expected)
        click.echo(f"[watch] {len(results)} claims, {stats.decided} decided in {seconds:.2f} s, "
                   f"{bad} not as expected; waiting for changes (Ctrl-C stops)", err=True)

    try:
        watch(paths, config, on_round)
    except KeyboardInterrupt:
        pass


@main.command()
@click.option("--seed", type=int, default=0, show_default=True, help="Run seed for decided claims.")
@click.option("--time-limit", type=float, default=120.0, show_default=True,
              help="Seconds per claim before its worker is stopped.")
@click.option("--memory-limit", type=int, default=6144, show_default=True,
              help="Memory limit of the worker in MiB (0: none).")
def lsp(seed, time_limit, memory_limit) -> None:
    """Run the language server on standard input/output (for editors; see editors/)."""
    try:
        from derive.lsp import serve
    except ImportError as exc:
        raise click.UsageError(f"the language server needs pygls: pip install 'derive[editors]' ({exc})")
    serve(seed, time_limit, memory_limit)

def _warn_faults(results) -> None:
    """Say on stderr when engines raised internal errors that a lenient run went past."""
    from derive.report.evidence import statements

    hit = sorted({r.id or r.file for r in results for st in statements(r)
                  if isinstance(st.get("evidence"), dict) and st["evidence"].get("internal_errors")})
    if hit:
        click.echo(f"warning: engines raised internal errors on {len(hit)} claims "
                   f"({', '.join(hit[:5])}{', …' if len(hit) > 5 else ''}); see derive explain, "
                   "and --strict to fail on them", err=True)


def _command_line() -> str:
    """This run's command (for generated pages that say how to regenerate them)."""
    import shlex

    return " ".join(["derive"] + [shlex.quote(a) for a in sys.argv[1:]])


class ProgressBar:
    """A rich progress bar on stderr, only on a terminal, shown once a run takes a moment."""

    DELAY = 0.5  # seconds before the bar appears

    def __init__(self) -> None:
        import time

        from rich.console import Console

        self._clock = time.monotonic
        self._t0 = self._clock()
        self.console = Console(stderr=True)
        self.progress = None
        self.task = None
        self.total = 0
        self.done = 0

    @classmethod
    def for_stderr(cls) -> Optional["ProgressBar"]:
        if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
            return None
        return cls()

    def start(self, total: int) -> None:
        self.total = total

    def advance(self, result) -> None:
        self.done += 1
        if self.progress is None:
            if self._clock() - self._t0 < self.DELAY or self.done >= self.total:
                return
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)

            self.progress = Progress(TextColumn("deciding"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("{task.description}"),
                                     console=self.console, transient=True)
            self.progress.start()
            self.task = self.progress.add_task("", total=self.total or None, completed=self.done - 1)
        self.progress.update(self.task, advance=1, description=str(result.id or result.file)[:40])

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@_common_run_options
@_run_options
@click.option("-j", "--jobs", type=int, default=1, show_default=True,
              help="Worker processes deciding mutants in parallel.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--min-kill-rate", type=float, default=None,
              help="Exit 1 when the overall kill rate is below this (0..1).")
def mutate(paths, select, seed, device, time_limit, symbolic_time_limit, memory_limit,
           no_isolation, cache_dir, no_cache, jobs, fmt, output, min_kill_rate) -> None:
    """Mutate every proved or verified claim in PATHS and report how many mutants derive kills.

    Mutants: a constant doubled or shifted, an exponent ±1, a transpose dropped, a sign
    flipped, < and > swapped, operands of @ swapped.  Survivors show where a check is weak.
    """
    from derive.mutate import mutate as run_mutate

    config = _config(seed, device, time_limit, symbolic_time_limit, memory_limit, no_isolation,
                     cache_dir, True, jobs=jobs, select=select)  # mutants are never cached
    report = run_mutate(list(paths), config)
    text = report.to_json() if fmt == "json" else report.render_text()
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    rate = report.kill_rate
    sys.exit(1 if (min_kill_rate is not None and rate is not None and rate < min_kill_rate) else 0)


@main.command(name="repair")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@_common_run_options
@_run_options
@click.option("--budget", type=int, default=None, metavar="N",
              help="Candidates to decide per claim (default: the full search's budget).")
@click.option("--repair-time-limit", type=float, default=None, metavar="S",
              help="Seconds per claim for the search (a safety stop).")
@click.option("--json", "as_json", is_flag=True, help="The search reports as JSON.")
def repair_command(paths, select, seed, device, time_limit, symbolic_time_limit, memory_limit,
                   no_isolation, cache_dir, no_cache, budget, repair_time_limit, as_json) -> None:
    """Search checked repairs of the refuted claims in PATHS (-k ID for one) and show every
    candidate tried with its verdict.  A repair is suggested only when derive proves or
    verifies the edited claim.  Exit status: 0 when every refuted claim got a repair."""
    import json
    from dataclasses import replace as _replace

    from derive.outcome import Verdict
    from derive.repair import FULL
    from derive.report.repairview import repair_lines
    from derive.runner import run

    settings = FULL
    if budget is not None:
        settings = _replace(settings, budget=budget)
    if repair_time_limit is not None:
        settings = _replace(settings, time_limit=repair_time_limit)
    config = _config(seed, device, time_limit, symbolic_time_limit, memory_limit, no_isolation,
                     cache_dir, True, 1, select)  # a search with its own settings: never cached
    config.repair = settings.to_dict()
    results = [r for r in run(list(paths), config) if r.verdict == Verdict.REFUTED]
    if as_json:
        click.echo(json.dumps([{"id": r.id, "file": r.file, "line": r.line,
                                "repair": r.evidence.get("repair")} for r in results],
                              indent=2, ensure_ascii=False))
    else:
        for r in results:
            click.echo("\n".join(repair_lines(r, every=True)))
    if not results:
        click.echo("no refuted claims" + (f" matching -k {select!r}" if select else ""), err=True)
    sys.exit(0 if all((r.evidence.get("repair") or {}).get("suggestions") for r in results) else 1)


@main.command(name="list")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@_common_run_options
def list_claims(paths, select) -> None:
    """List the claims in PATHS: id, location and title (parse errors are listed too)."""
    from derive.report.safe import plain
    from derive.runner import plan

    jobs, errors, claims = plan(list(paths), select)
    for c in claims:
        title = f"  {plain(c.title)}" if c.title else ""
        click.echo(f"{plain(c.id)}  [{plain(c.file)}:{c.pos.line}]{title}")
    for e in errors:
        click.echo(f"{e.id or '<file>'}  [{e.file}:{e.line}]  error: {e.summary}")
    sys.exit(1 if errors else 0)


def _decide_here(job, config):
    """Decide one job in this process under the run's time and memory limits."""
    from derive.runner import decide_in_process, memory_limit_in_process

    with memory_limit_in_process(config.memory_limit_mb):
        return decide_in_process(job, config)


@main.command()
@click.argument("claim_id", metavar="ID")
@click.option("--kind", type=click.Choice(["identity", "expectation", "gradient", "cost",
                                           "condition"]), default="identity", show_default=True,
              help="What kind of claim: a template with the statements such a claim uses.")
@click.option("--title", help="The notes' wording, as the claim's title.")
@click.option("--append", "append_to", type=click.Path(dir_okay=False),
              help="Append the template to FILE (created if missing) instead of printing it.")
def new(claim_id, kind, title, append_to) -> None:
    """Start a claim: print a template of the given --kind with ID (or append it to a file)."""
    from derive.authoring import template

    try:
        text = template(claim_id, kind, title)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="ID")
    if not append_to:
        click.echo(text, nl=False)
        return
    path = Path(append_to)
    if path.exists():
        from derive.language.load import load_path

        if any(c.id == claim_id for c in load_path(path).claims):
            raise click.UsageError(f"{path} already has a claim {claim_id}")
        existing = path.read_text(encoding="utf-8")
        stripped = existing.rstrip("\n")
        path.write_text((stripped + "\n\n" if stripped else "") + text, encoding="utf-8")
    else:
        path.write_text(text, encoding="utf-8")
    click.echo(f"added {claim_id} ({kind}) to {path}", err=True)


def _decide_here(job, config):
    """Decide one job in this process under the run's time and memory limits."""
    from derive.runner import decide_in_process, memory_limit_in_process

    with memory_limit_in_process(config.memory_limit_mb):
        return decide_in_process(job, config)


@main.command()
@click.argument("claim_id", metavar="ID")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@_run_options
@click.option("--json", "as_json", is_flag=True, help="The result and its evidence as JSON.")
@click.option("--strict", is_flag=True,
              help="An internal error in any engine fails the claim (also: DERIVE_STRICT=1).")
def explain(claim_id, paths, seed, device, time_limit, symbolic_time_limit, memory_limit,
            no_isolation, cache_dir, no_cache, as_json, strict) -> None:
    """Explain one claim: its verdict, the route through the engines, the full evidence, and
    the command that reproduces it.  Exit status as for check."""
    from derive.authoring import explain as explain_result
    from derive.runner import plan, run_isolated

    config = _config(seed, device, time_limit, symbolic_time_limit, memory_limit, no_isolation,
                     cache_dir, no_cache, 1, None, strict)
    jobs, errors, claims = plan(list(paths), claim_id)
    picked = [(j, c) for j, c in zip(jobs, claims) if j.id == claim_id]
    broken = [e for e in errors if e.id == claim_id]
    if broken:
        result = broken[0]
    elif not picked:
        raise click.UsageError(f"no claim {claim_id!r} in {' '.join(paths)}")
    else:
        job, claim = picked[0]
        cache = None
        result = None
        if config.cache_dir:
            from derive.cache import ResultCache

            cache = ResultCache(config.cache_dir, config.options)
            result = cache.get(claim)
        if result is None:
            result = (run_isolated([job], config)[0] if config.isolate
                      else _decide_here(job, config))
            if cache is not None:
                cache.put(claim, result)
    click.echo(explain_result(result, seed, device, as_json), nl=False)
    sys.exit(0 if result.as_expected else 1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--file", "golden_file", type=click.Path(dir_okay=False), required=True,
              help="The golden record (JSON, one claim per line).")
@click.option("--update", is_flag=True, help="Rewrite the record from this run instead of comparing.")
@click.option("--seed", type=int, default=0, show_default=True, help="Run seed.")
@click.option("-j", "--jobs", type=int, default=2, show_default=True, help="Worker processes.")
def golden(paths, golden_file, update, seed, jobs) -> None:
    """Pin every claim's verdict, engine and deciding strategies in a golden file, or compare a
    fresh, uncached run against it.  Every change of verdict is then a reviewed diff:
    regenerate with --update and commit the file with the change that caused it.
    Exit status: 0 when the run matches (or was written), 1 with the differences otherwise."""
    import json

    from derive.audit import golden_diff, golden_dumps, golden_snapshot
    from derive.engine import Options
    from derive.runner import RunConfig, run

    from derive.faults import strict_mode

    results = run(list(paths), RunConfig(options=Options(seed=seed, strict=strict_mode()),
                                         jobs=jobs))
    snapshot = golden_snapshot(results)
    path = Path(golden_file)
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(golden_dumps(snapshot), encoding="utf-8")
        click.echo(f"wrote {len(snapshot['claims'])} claims to {path}", err=True)
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"cannot read the golden file {path}: {exc}")
    changes = golden_diff(old, snapshot)
    for line in changes:
        click.echo(line)
    if changes:
        click.echo(f"{len(changes)} claims differ from {path}; if intended, rerun with --update "
                   "and commit the diff", err=True)
        sys.exit(1)
    click.echo(f"{len(snapshot['claims'])} claims match {path}", err=True)


@main.command(name="fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--check", "check_only", is_flag=True,
              help="Change nothing; exit 1 if a file is not in canonical form.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Change nothing; print the changes as a unified diff.")
def fmt_command(paths, check_only, show_diff) -> None:
    """Put claim files (and the ```claim blocks of Markdown files) in canonical form.

    Comments are kept; a file whose claims would parse differently is left alone.
    Directories are searched for *.claims.  Exit status: 0, or 1 with --check when a file
    would change (or when a file could not be formatted safely)."""
    import difflib

    from derive.fmt import format_path
    from derive.runner import collect_files

    changed, refused = [], []
    for path in collect_files(list(paths)):
        try:
            old, new_text, was_refused = format_path(path)
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(f"{path}: cannot format: {exc}", err=True)
            refused.append(path)
            continue
        if was_refused:
            refused.append(path)
            click.echo(f"{path}: left unchanged: formatting would change what a claim means "
                       "(please report this)", err=True)
        if new_text == old:
            continue
        changed.append(path)
        if show_diff:
            click.echo("".join(difflib.unified_diff(old.splitlines(True), new_text.splitlines(True),
                                                    f"{path}", f"{path} (formatted)")), nl=False)
        if check_only or show_diff:  # --diff is a dry run, as in black and gofmt -d
            click.echo(f"would reformat {path}", err=True)
        else:
            Path(path).write_bytes(new_text.encode("utf-8"))
            click.echo(f"reformatted {path}", err=True)
    if check_only and changed:
        sys.exit(1)
    sys.exit(1 if refused else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
