"""Run claims: collect files, load and check them, decide each claim in an isolated worker.

Isolation: each worker is a separate process with a memory limit; the parent enforces
a wall-clock limit per claim and replaces a worker that hangs, runs out of memory or
crashes, reporting that claim and going on.  Workers receive claim *text* and return
JSON, so nothing but plain data crosses the process boundary.
"""
from __future__ import annotations

import fnmatch
import json
import multiprocessing as mp
import os
import re
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from derive import decide
from derive import model as m
from derive.cache import ResultCache
from derive.engine import Options
from derive.errors import Diagnostic
from derive.language.load import BrokenClaim, LoadedFile, load_path, load_text, markdown_to_claims
from derive.language.notebook import cell_text, split_cell_ref
from derive.limits import ClaimTimeLimit, claim_limit
from derive.outcome import Result, Verdict, as_expected
from derive.repair import Settings, search
from derive.semantics import check_claim

CLAIM_SUFFIXES = (".claims",)


@dataclass
class RunConfig:
    """How to run: engine options plus isolation, limits and parallelism."""

    options: Options = field(default_factory=Options)
    isolate: bool = True
    jobs: int = 1
    time_limit: float = 120.0        # wall-clock seconds per claim, enforced by killing the worker
    memory_limit_mb: int = 6144      # address-space limit of a worker (0: none)
    select: Optional[str] = None     # -k pattern on claim ids
    cache_dir: Optional[str] = None  # a result cache directory (None: no cache)
    pool: Optional["WorkerPool"] = None  # warm workers kept between runs (--watch, editors)
    repair: Optional[dict] = None    # derive.repair.Settings as a dict; None: no repair search
    stats: "RunStats" = field(default_factory=lambda: RunStats())  # filled in by run()


@dataclass
class RunStats:
    """What the last run() did: claims decided by the engines, and results taken from the cache."""

    decided: int = 0
    cached: int = 0
    errors: int = 0


def collect_files(paths: Iterable[str]) -> list[Path]:
    """Files named directly, and ``*.claims`` files found below directories, in sorted order."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix in CLAIM_SUFFIXES and q.is_file()))
        else:
            out.append(p)
    seen, unique = set(), []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def matches(claim_id: Optional[str], pattern: Optional[str]) -> bool:
    """``-k``: a glob if it has wildcards, else a substring; ``not X`` negates; ``X or Y``
    and ``X and Y`` combine, as in pytest (``and`` binds tighter)."""
    if not pattern:
        return True
    if claim_id is None:
        return False
    pattern = pattern.strip()
    if " or " in pattern:
        return any(matches(claim_id, part) for part in pattern.split(" or "))
    if " and " in pattern:
        return all(matches(claim_id, part) for part in pattern.split(" and "))
    if pattern.startswith("not "):
        return not matches(claim_id, pattern[4:])
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(claim_id, pattern)
    return pattern in claim_id


def error_result(claim_id: Optional[str], file: str, line: int, diags: list[Diagnostic],
                 title: Optional[str] = None, source: Optional[str] = None,
                 expected: str = "holds") -> Result:
    first = diags[0]
    return Result(claim_id, file, line, title, source, Verdict.ERROR, expected, False, None, 0.0,
                  first.message + (f" ({len(diags) - 1} more)" if len(diags) > 1 else ""),
                  {"diagnostics": [d.as_dict() for d in diags],
                   "rendered": "\n".join(d.render() for d in diags)})


@dataclass
class Job:
    """One claim to decide: plain data that a worker can rebuild the claim from."""

    id: str
    file: str
    line: int
    text: str
    repair: Optional[dict] = None  # a repair search of this claim: settings and its result

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    def load(self) -> tuple[Optional[m.Claim], LoadedFile, list[str]]:
        """Rebuild the claim from its text at its original line numbers."""
        text = "\n" * (self.line - 1) + self.text
        loaded = load_text(text, self.file)
        claim = next((c for c in loaded.claims if c.id == self.id), None)
        return claim, loaded, text.split("\n")


def plan(paths: Iterable[str], select: Optional[str] = None
         ) -> tuple[list[Job], list[Result], list[m.Claim]]:
    """Load and check every file: jobs to run, error results, and the claims (for listing)."""
    planned = Planned()
    for path in collect_files(paths):
        file_lines = _lines_of(path)
        planned.add(load_path(path), lambda f, p=path, fl=file_lines: fl if f == str(p)
                    else _lines_of(Path(f)), select)
    return planned.jobs, planned.errors, planned.claims


def plan_text(text: str, name: str = "<cell>", select: Optional[str] = None
              ) -> tuple[list[Job], list[Result], list[m.Claim]]:
    """As :func:`plan`, for claim text that lives in no file (a notebook cell, an editor buffer)."""
    planned = Planned()
    lines = text.replace("\r\n", "\n").split("\n")
    planned.add(load_text(text, name), lambda _f: lines, select)
    return planned.jobs, planned.errors, planned.claims


@dataclass
class Planned:
    """Jobs, error results and checked claims gathered over loaded files (ids unique across)."""

    jobs: list[Job] = field(default_factory=list)
    errors: list[Result] = field(default_factory=list)
    claims: list[m.Claim] = field(default_factory=list)
    seen: dict[str, tuple[str, int]] = field(default_factory=dict)

    def add(self, loaded: LoadedFile, lines_of: Callable[[str], list[str]],
            select: Optional[str]) -> None:
        for broken in loaded.broken:
            if broken.id is None or matches(broken.id, select) or not select:
                self.errors.append(error_result(broken.id, broken.file, broken.line,
                                                broken.diagnostics))
        for claim in loaded.claims:
            if not matches(claim.id, select):
                continue
            lines = lines_of(claim.file)
            if claim.id in self.seen:
                f, ln = self.seen[claim.id]
                d = Diagnostic(f"duplicate claim id '{claim.id}' (first at {f}:{ln})", claim.file,
                               claim.pos.line, 7, lines[claim.pos.line - 1] if lines else "",
                               "claim ids are unique across the corpus", claim.id,
                               len(claim.id))
                self.errors.append(error_result(claim.id, claim.file, claim.pos.line, [d],
                                                claim.title, claim.source, claim.expect))
                continue
            self.seen[claim.id] = (claim.file, claim.pos.line)
            checked, diags = check_claim(claim, lines)
            if checked is None:
                self.errors.append(error_result(claim.id, claim.file, claim.pos.line, diags,
                                                claim.title, claim.source, claim.expect))
                continue
            self.claims.append(claim)
            self.jobs.append(Job(claim.id, claim.file, claim.pos.line, claim.text))


def _lines_of(path: Path) -> list[str]:
    notebook, cell = split_cell_ref(str(path))
    if cell is not None:  # a notebook cell: its Markdown, claim blocks kept
        text = cell_text(Path(notebook), cell)
        return [] if text is None else markdown_to_claims(text).split("\n")
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return []
    if path.suffix.lower() in (".md", ".markdown"):
        text = markdown_to_claims(text)
    return text.replace("\r\n", "\n").split("\n")


def decide_job(job: Job, options: Options) -> Result:
    """Rebuild the claim from its text and decide it (runs inside a worker)."""
    start = time.perf_counter()
    claim, loaded, lines = job.load()
    if claim is None:
        diags = loaded.diagnostics or [Diagnostic("claim vanished on reload", job.file, job.line, 1)]
        return error_result(job.id, job.file, job.line, diags)
    checked, diags = check_claim(claim, lines)
    if checked is None:
        return error_result(job.id, job.file, job.line, diags, claim.title, claim.source, claim.expect)

    try:
        verdict, engine, summary, evidence = decide.decide_claim(checked, options)
    except Exception as exc:  # an engine bug must not hide the other claims' results
        import traceback

        verdict, engine, summary = Verdict.ERROR, None, f"internal error: {type(exc).__name__}: {exc}"
        evidence = {"traceback": traceback.format_exc(limit=8)}
    seconds = round(time.perf_counter() - start, 4)
    return Result(claim.id, claim.file, claim.pos.line, claim.title, claim.source, verdict,
                  claim.expect, as_expected(verdict, claim.expect), engine, seconds, summary, evidence)


def decide_in_process(job: Job, config: RunConfig) -> Result:
    """Decide a job in this process under the claim's time limit (``--no-isolation``): a
    SIGALRM timer that composes with the engines' own (nearer) limits.  A claim stopped by
    it is reported like a worker stopped by the parent (``inconclusive``, never cached)."""

    start = time.monotonic()
    try:
        with claim_limit(config.time_limit):
            return decide_job(job, config.options)
    except ClaimTimeLimit:
        elapsed = time.monotonic() - start
        reason = f"time limit: the claim ran past {config.time_limit:g} s and was stopped"
        result = Result(job.id, job.file, job.line, None, None, Verdict.INCONCLUSIVE, "holds",
                        False, None, round(elapsed, 3), reason,
                        {"isolation": reason, "in_process": True})
        _enrich(result, job)
        return result
    except MemoryError:
        reason = "memory limit reached while deciding"
        result = Result(job.id, job.file, job.line, None, None, Verdict.INCONCLUSIVE, "holds",
                        False, None, round(time.monotonic() - start, 3), reason,
                        {"isolation": reason, "in_process": True})
        _enrich(result, job)
        return result


def _address_space_now() -> int:
    """Bytes of address space this process holds now (0 where /proc is not available)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


@contextmanager
def memory_limit_in_process(memory_limit_mb: int) -> Iterator[None]:
    """Lower this process's soft address-space limit for the block, then restore it (an
    in-process run must not leave the caller limited).  The claim gets ``memory_limit_mb``
    on top of what the process already holds (the caller's own imports and data are not
    the claim's), as a worker gets it on top of its bare interpreter."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    if not memory_limit_mb:
        yield
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = _address_space_now() + memory_limit_mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft == resource.RLIM_INFINITY or want < soft:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
        else:
            soft = None  # already as strict: nothing to restore
    except (ValueError, OSError):
        soft = None
    try:
        yield
    finally:
        if soft is not None:
            try:
                resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
            except (ValueError, OSError):
                pass


def repair_job(job: Job, options: Options) -> Result:
    """Search checked repairs of a refuted claim (runs inside a worker, after every verdict
    of the run is out); returns the claim's result with ``evidence["repair"]`` filled in."""

    base = Result.from_dict(job.repair["result"])
    claim, _, lines = job.load()
    if claim is None:
        return base
    report = search(claim, lines, base.verdict, base.evidence, options,
                    Settings(**job.repair["settings"]))
    base.evidence = {**base.evidence, "repair": report.as_dict()}
    return base


def _wants_repair(r: Result) -> bool:
    return r.verdict == Verdict.REFUTED and "repair" not in (r.evidence or {})


def repair_request(result: Result, job: Job, config: RunConfig) -> Optional[Job]:
    """The repair-search job for a refuted result (None for any other verdict)."""
    if not config.repair or not config.repair.get("enabled", True) or not _wants_repair(result):
        return None
    return Job(job.id, job.file, job.line, job.text,
               {"settings": config.repair, "result": result.as_dict()})


def attach_repairs(results: list[Result], jobs: list[Job], config: RunConfig,
                   on_result: Optional[Callable[[Result], None]] = None,
                   repaired: Optional[list[Result]] = None) -> list[Result]:
    """Attach repair searches to refuted results: those already run behind the verdicts
    (``repaired``), else run now, in workers.  A search that overran its worker's limit
    leaves the verdict as it was, with an empty repair and the reason."""
    if not config.repair or not config.repair.get("enabled", True):
        return results
    by_id = {j.id: j for j in jobs}
    done = {r.id for r in repaired or []}
    todo = [req for r in results if r.id in by_id and r.id not in done
            for req in [repair_request(r, by_id[r.id], config)] if req is not None]
    repaired = list(repaired or [])
    if todo and config.isolate:
        limit = float(config.repair.get("time_limit", 4.0))
        backstop = RunConfig(options=config.options, isolate=True, jobs=config.jobs,
                             time_limit=limit * 2 + 30, memory_limit_mb=config.memory_limit_mb)
        repaired += run_isolated(todo, backstop)
    elif todo:
        repaired += [repair_job(j, config.options) for j in todo]
    got = {r.id: r for r in repaired}
    out = []
    for r in results:
        new = got.get(r.id)
        if new is not None and r.verdict == Verdict.REFUTED:
            if new.verdict == r.verdict and isinstance(new.evidence.get("repair"), dict):
                r.evidence = {**r.evidence, "repair": new.evidence["repair"]}
            else:  # the search was stopped or crashed: the verdict stands, no suggestion
                r.evidence = {**r.evidence, "repair": {"suggestions": [], "candidates_tried": 0,
                                                       "stopped": new.summary[:200]}}
            if on_result:
                on_result(r)
        out.append(r)
    return out


# ------------------------------------------------------------------ worker processes
def limit_memory(memory_limit_mb: int) -> None:
    """Cap this (worker) process's address space; a no-op where rlimits do not exist."""
    if not memory_limit_mb:
        return
    try:
        import resource

        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def _worker_main(conn: Connection, options_json: str, memory_limit_mb: int) -> None:
    options = Options(**json.loads(options_json))
    limit_memory(memory_limit_mb)
    decide.engines()  # import the engines before the clock of the first claim starts
    conn.send_bytes(b"ready")
    while True:
        try:
            raw = conn.recv_bytes()
        except EOFError:
            return
        job = Job(**json.loads(raw))
        try:
            result = repair_job(job, options) if job.repair is not None else decide_job(job, options)
        except MemoryError:
            result = Result(job.id, job.file, job.line, None, None, Verdict.INCONCLUSIVE, "holds",
                            False, None, 0.0, "memory limit reached while deciding", {})
        conn.send_bytes(json.dumps(result.as_dict()).encode("utf-8"))


class Worker:
    def __init__(self, ctx, options: Options, memory_limit_mb: int):
        self.parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main,
                                   args=(child, json.dumps(asdict(options)), memory_limit_mb),
                                   daemon=True)
        self.process.start()
        child.close()
        self.job: Optional[Job] = None
        self.started = 0.0
        self.ready = False

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Block until the worker has imported the engines (start-up is not claim time)."""
        if not self.ready and self.parent.poll(timeout):
            try:
                self.ready = self.parent.recv_bytes() == b"ready"
            except (EOFError, OSError):
                self.ready = False
        return self.ready

    def send(self, job: Job) -> None:
        self.wait_ready()
        self.job = job
        self.started = time.monotonic()
        self.parent.send_bytes(job.to_json().encode("utf-8"))

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.parent.close()


class WorkerPool:
    """Workers kept alive between runs, engines already imported, so an editor or
    ``--watch`` re-decides one changed claim in about the claim's own time.  Isolation
    is unchanged: a worker that hangs, runs out of memory or crashes is replaced."""

    def __init__(self, options: Options, size: int = 1, memory_limit_mb: int = 6144):
        self.ctx = mp.get_context("spawn")
        self.options = options
        self.memory_limit_mb = memory_limit_mb
        self.workers = [Worker(self.ctx, options, memory_limit_mb) for _ in range(max(1, size))]

    def fresh(self) -> "Worker":
        return Worker(self.ctx, self.options, self.memory_limit_mb)

    def wait_ready(self, timeout: float = 120.0) -> bool:
        return all(w.wait_ready(timeout) for w in self.workers)

    def close(self) -> None:
        for w in self.workers:
            try:
                w.kill()
            except OSError:
                pass
        self.workers = []


_STATISTICS = ("E[", "Var[", "Std[", "Cov[", "P[")
_COSTS = ("flops[", "memory[", "time[")


def expected_cost(job: Job) -> int:
    """A rough relative cost of deciding a claim, read from its text: statistics (Monte
    Carlo), optimisers, recurrences and cost statements weigh most.  It orders the work
    only (never a verdict): with two workers, a long claim started last is the run's tail."""
    t = job.text
    return (1 + t.count("show ") + 3 * sum(t.count(k) for k in _STATISTICS)
            + 4 * (t.count("argmin(") + t.count("argmax(")) + 4 * len(_RECURRENCE.findall(t))
            + 2 * sum(t.count(k) for k in _COSTS))


_RECURRENCE = re.compile(r"\blet\s+\w+\[")


def run_isolated(jobs: list[Job], config: RunConfig,
                 progress: Optional[Callable[[Result], None]] = None,
                 followup: Optional[Callable[[Result], Optional[Job]]] = None,
                 followed: Optional[list[Result]] = None) -> list[Result]:
    """Decide ``jobs`` in workers (those of ``config.pool`` when it is warm for these
    options).  ``followup`` may turn a result into one more job (a repair search), queued
    behind every claim so it delays no verdict and run by the same workers; those results
    go to ``followed``, not to the returned list."""
    pool = config.pool if config.pool is not None and config.pool.options == config.options else None
    ctx = pool.ctx if pool is not None else mp.get_context("spawn")
    order = {id(j): i for i, j in enumerate(jobs)}
    # the costliest first (popped from the end), so that the run does not end with one
    # worker deciding a long claim while the others wait; results keep the file order
    pending = sorted(jobs, key=lambda j: (expected_cost(j), -order[id(j)]))
    results: dict[int, Result] = {}
    if pool is not None:
        workers = pool.workers
    else:
        workers = [Worker(ctx, config.options, config.memory_limit_mb)
                   for _ in range(max(1, min(config.jobs, len(jobs))))]
    try:
        for w in workers:
            if pending:
                w.send(pending.pop())
        while any(w.job is not None for w in workers):
            busy = [w for w in workers if w.job is not None]
            now = time.monotonic()
            timeout = max(0.05, min(w.started + config.time_limit - now for w in busy))
            ready = wait([w.parent for w in busy] + [w.process.sentinel for w in busy], timeout)
            for i, w in enumerate(workers):
                if w.job is None:
                    continue
                job = w.job
                outcome: Optional[Result] = None
                if w.parent in ready:
                    try:
                        outcome = Result.from_dict(json.loads(w.parent.recv_bytes()))
                    except (EOFError, OSError):
                        outcome = None  # the worker died mid-reply: handled below
                    else:
                        w.job = None
                if outcome is None and (w.process.sentinel in ready or not w.process.is_alive()
                                        or time.monotonic() - w.started > config.time_limit):
                    elapsed = time.monotonic() - w.started
                    if elapsed > config.time_limit:
                        reason = f"time limit: the claim ran past {config.time_limit:g} s and was stopped"
                        verdict = Verdict.INCONCLUSIVE
                    else:
                        w.process.join(2)
                        code = w.process.exitcode
                        if code in (-9, 137):
                            reason = ("the worker deciding this claim was killed (signal 9); "
                                      "likely out of memory")
                        elif code is not None and code < 0:
                            reason = f"the worker deciding this claim was killed by signal {-code}"
                        else:
                            reason = f"the worker deciding this claim crashed (exit code {code})"
                        verdict = Verdict.ERROR
                    outcome = Result(job.id, job.file, job.line, None, None, verdict, "holds", False,
                                     None, round(elapsed, 3), reason, {"isolation": reason})
                    _enrich(outcome, job)
                    w.kill()
                    workers[i] = w = Worker(ctx, config.options, config.memory_limit_mb)
                if outcome is not None:
                    if job.repair is not None:  # a follow-up: not a verdict
                        if followed is not None:
                            followed.append(outcome)
                    else:
                        results[order[id(job)]] = outcome
                        if progress:
                            progress(outcome)
                        extra = followup(outcome) if followup else None
                        if extra is not None:
                            pending.insert(0, extra)  # popped from the end: after every claim
                    w.job = None
                    if pending:
                        w.send(pending.pop())
    finally:
        if pool is not None:  # warm workers stay; one stopped mid-claim is replaced
            for i, w in enumerate(workers):
                if w.job is not None:
                    w.kill()
                    workers[i] = pool.fresh()
        else:
            for w in workers:
                try:
                    w.parent.close()
                except OSError:
                    pass
                w.process.kill()
                w.process.join(5)
    return [results[i] for i in sorted(results)]


def _enrich(result: Result, job: Job) -> None:
    """Fill title/source/expectation of a result made without the claim (a killed worker)."""
    claim, _, _ = job.load()
    if claim is not None:
        result.title, result.source, result.expected = claim.title, claim.source, claim.expect
        result.as_expected = as_expected(result.verdict, claim.expect)


def run(paths: Iterable[str], config: Optional[RunConfig] = None,
        progress: Optional[Callable[[Result], None]] = None,
        total: Optional[Callable[[int], None]] = None) -> list[Result]:
    """Check claim files and return one result per claim (errors included), in file order.

    With ``config.cache_dir`` set, results of unchanged claims come from the cache and only
    the others are decided; ``config.stats`` tells how many of each.  ``total``, if given,
    is told the number of results to expect before any is decided (for a progress bar).
    """
    config = config or RunConfig()
    paths = list(paths)
    cache = None
    corpus_key = None
    if config.cache_dir:
        cache = ResultCache(config.cache_dir, config.options)
        corpus_key = cache.corpus_key(collect_files(paths), config.select)
        whole = cache.get_corpus(corpus_key) if corpus_key else None
        if whole is not None and config.repair and any(_wants_repair(r) for r in whole):
            whole = None  # decided without a repair search: search now (verdicts come cached)
        if whole is not None:  # nothing changed: not even parsed
            n_errors = sum(1 for r in whole if "diagnostics" in (r.evidence or {}))
            config.stats = RunStats(decided=0, cached=len(whole) - n_errors, errors=n_errors)
            if total:
                total(len(whole))
            if progress:
                for r in whole:
                    progress(r)
            return whole
    jobs, errors, claims = plan(paths, config.select)
    if total:
        total(len(jobs) + len(errors))
    cached: list[Result] = []
    todo, todo_claims = jobs, claims
    if cache is not None:
        todo, todo_claims = [], []
        for job, claim in zip(jobs, claims):
            hit = cache.get(claim)
            if hit is None:
                todo.append(job)
                todo_claims.append(claim)
            else:
                cached.append(hit)
                if progress:
                    progress(hit)
    by_id = {job.id: claim for job, claim in zip(todo, todo_claims)}

    def on_result(r: Result) -> None:
        # stored as each result arrives, so an interrupted run keeps what it decided
        if cache is not None and r.id in by_id:
            cache.put(by_id[r.id], r)
        if progress:
            progress(r)

    followed: list[Result] = []
    if config.isolate and todo:
        by_job = {j.id: j for j in todo}
        decided = run_isolated(todo, config, on_result,
                               (lambda r: repair_request(r, by_job[r.id], config)
                                if r.id in by_job else None) if config.repair else None,
                               followed)
    else:
        decided = []
        with memory_limit_in_process(config.memory_limit_mb):
            for job in todo:
                r = decide_in_process(job, config)
                decided.append(r)
                on_result(r)
    if config.repair:
        claim_of = dict(zip((j.id for j in jobs), claims))

        def store(r: Result) -> None:
            if cache is not None and r.id in claim_of:
                cache.put(claim_of[r.id], r)

        attach_repairs([r for r in cached + decided if _wants_repair(r)], jobs, config, store,
                       followed)
    config.stats = RunStats(decided=len(decided), cached=len(cached), errors=len(errors))
    for e in errors:
        if progress:
            progress(e)
    results = sorted(cached + decided + errors, key=lambda r: (r.file, r.line))
    if cache is not None and corpus_key:
        cache.put_corpus(corpus_key, results)
    return results
