"""``derive mutate``: does the checker notice when a proved claim is made wrong?

For every claim that derive proves or verifies, small mutants are built on the typed model
(frozen dataclasses, changed with :func:`dataclasses.replace`; no text is edited or
evaluated): a constant doubled or shifted by one, an exponent ±1, a transpose dropped, a
sign flipped (unary minus dropped, ``+``/``-`` exchanged), ``<``/``>`` (and ``<=``/``>=``)
swapped, the operands of ``@`` swapped.  Values inside ``time[…]``/``flops[…]``/``memory[…]``
(they change no cost) and fixed sizes (``let d = 16`` used in a shape: the instance, not the
formula) are not mutated.

Each mutant that still passes the semantic pass is decided like any claim; it is *killed*
when derive refutes it or calls it an error (ill-defined, or the engines disagree).  A
mutant that survives is either a weakness of the checks or a true mutant;
:mod:`derive.equivalence` tells the true ones by re-runnable checks, and they are left out
of the rate (and listed).  The report gives the kill rate per claim and overall, each
survivor with why it survived, and each equivalent mutant with its evidence.

Mutants are decided in isolated worker processes with the run's time and memory limits,
like claims (a mutant can be much harder than its claim); ``jobs`` workers share the claims.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Optional

from derive import decide
from derive.engine import Options
from derive.mutants import Site, apply, sites
from derive.outcome import Verdict
from derive.runner import Job, RunConfig, limit_memory, plan
from derive.semantics import check_claim

KILLING = (Verdict.REFUTED, Verdict.ERROR)
GOOD = (Verdict.PROVED, Verdict.VERIFIED)


# ------------------------------------------------------------------ why a mutant survived
def survival_reason(site: Site, verdict: Verdict, summary: str) -> str:
    """Why a mutant that no check shows equivalent survived (see :mod:`derive.equivalence`)."""
    if verdict not in GOOD:
        return f"not decided: the engines said {verdict.value} on the mutant ({summary[:160]})"
    hint = {
        "swap": "the factors may commute here",
        "transpose": "the transposed operand may be symmetric or 1×1 here",
        "compare": "both sides may be equal on the domain, or the comparison is not the deciding part",
        "constant": "the changed number may not bind (a looser bound, a term that vanishes)",
        "exponent": "the changed exponent may not bind (a looser bound, a power of 1)",
        "sign": "the sign may not matter here (a square, an even function)",
    }.get(site.kind, "an equivalent mutant, or a gap in the engines")
    return f"still {verdict.value} and not shown equivalent: {hint}; or a check too weak " \
           f"({summary[:120]})"


# ------------------------------------------------------------------ deciding mutants
@dataclass
class MutantResult:
    kind: str
    description: str
    line: int
    verdict: str
    killed: bool
    summary: str
    reason: Optional[str] = None  # why it survived, or why it is equivalent
    equivalent: Optional[str] = None  # dead | proved | same-cost | same-values | implied


@dataclass
class ClaimMutation:
    id: str
    file: str
    line: int
    verdict: str
    mutants: list[MutantResult] = field(default_factory=list)
    ill_typed: int = 0  # mutants skipped because they no longer type-check

    @property
    def killed(self) -> int:
        return sum(1 for x in self.mutants if x.killed)

    @property
    def equivalent(self) -> int:
        return sum(1 for x in self.mutants if x.equivalent)

    @property
    def total(self) -> int:
        """Mutants that count: all decided mutants but the equivalent ones."""
        return len(self.mutants) - self.equivalent

    @property
    def kill_rate(self) -> Optional[float]:
        return self.killed / self.total if self.total else None

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(killed=self.killed, total=self.total, equivalent=self.equivalent,
                 kill_rate=self.kill_rate)
        return d


@dataclass
class MutationReport:
    claims: list[ClaimMutation] = field(default_factory=list)
    not_mutated: list[tuple[str, str]] = field(default_factory=list)  # (id, verdict) not proved/verified
    seconds: float = 0.0

    @property
    def killed(self) -> int:
        return sum(c.killed for c in self.claims)

    @property
    def total(self) -> int:
        return sum(c.total for c in self.claims)

    @property
    def equivalent(self) -> int:
        return sum(c.equivalent for c in self.claims)

    @property
    def kill_rate(self) -> Optional[float]:
        return self.killed / self.total if self.total else None

    def survivors(self) -> list[tuple[ClaimMutation, MutantResult]]:
        return [(c, x) for c in self.claims for x in c.mutants if not x.killed and not x.equivalent]

    def equivalents(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.claims:
            for x in c.mutants:
                if x.equivalent:
                    out[x.equivalent] = out.get(x.equivalent, 0) + 1
        return dict(sorted(out.items()))

    def as_dict(self) -> dict:
        return {"kill_rate": self.kill_rate, "killed": self.killed, "total": self.total,
                "equivalent": self.equivalent, "equivalent_by_kind": self.equivalents(),
                "claims": [c.as_dict() for c in self.claims],
                "not_mutated": [{"id": i, "verdict": v} for i, v in self.not_mutated],
                "seconds": round(self.seconds, 2)}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"

    def render_text(self) -> str:
        out = []
        for c in self.claims:
            rate = "n/a" if c.kill_rate is None else f"{100 * c.kill_rate:.0f}%"
            out.append(f"{c.id}  [{c.file}:{c.line}] {c.verdict}: {c.killed}/{c.total} mutants killed "
                       f"({rate})" + (f", {c.equivalent} equivalent" if c.equivalent else "") +
                       (f", {c.ill_typed} ill-typed skipped" if c.ill_typed else ""))
            for x in c.mutants:
                if not x.killed and not x.equivalent:
                    out.append(f"    survived: {x.description} (line {x.line}) — {x.reason}")
            for x in c.mutants:  # left out of the rate: listed, so each exclusion can be audited
                if x.equivalent:
                    out.append(f"    equivalent ({x.equivalent}): {x.description} (line {x.line}) — "
                               f"{x.reason}")
        if self.not_mutated:
            out.append(f"{len(self.not_mutated)} claims not mutated (not proved or verified)")
        rate = "n/a" if self.kill_rate is None else f"{100 * self.kill_rate:.1f}%"
        out.append(f"kill rate: {self.killed}/{self.total} = {rate} over {len(self.claims)} "
                   f"proved/verified claims")
        if self.equivalent:
            kinds = ", ".join(f"{n} {k}" for k, n in self.equivalents().items())
            raw = self.killed / (self.total + self.equivalent)
            out.append(f"equivalent mutants left out of the rate: {self.equivalent} ({kinds}); "
                       f"counting them as survivors: {self.killed}/{self.total + self.equivalent} "
                       f"= {100 * raw:.1f}%")
        return "\n".join(out) + "\n"


def _decide_checked(checked, options: Options) -> tuple[Verdict, str]:
    try:
        verdict, _, summary, _ = decide.decide_claim(checked, options)
    except MemoryError:
        return Verdict.INCONCLUSIVE, "memory limit reached"
    except Exception as exc:  # noqa: BLE001 - an engine bug on a mutant is reported, not fatal
        return Verdict.ERROR, f"internal error: {type(exc).__name__}: {exc}"
    return verdict, summary


def _worker(conn: Connection, options_json: str, memory_limit_mb: int) -> None:
    """Decide mutant (job, index) requests; index -1 decides the claim itself."""
    from derive.equivalence import classify  # late: it loads torch, needed in the workers only

    options = Options(**json.loads(options_json))
    limit_memory(memory_limit_mb)
    cache: dict[str, tuple] = {}
    while True:
        try:
            request = json.loads(conn.recv_bytes())
        except EOFError:
            return
        job, index = request["job"], request["index"]
        key = f"{job['file']}:{job['id']}"
        if key not in cache:
            claim, _, lines = Job(**job).load()
            cache.clear()
            base = check_claim(claim, lines)[0] if claim is not None else None
            cache[key] = (claim, lines, sites(claim) if claim is not None else [], base)
        claim, lines, all_sites, base = cache[key]
        reply: dict[str, Any]
        if claim is None:
            reply = {"verdict": "error", "summary": "claim vanished on reload"}
        elif index < 0:
            checked, diags = check_claim(claim, lines)
            if checked is None:
                reply = {"verdict": "error", "summary": diags[0].message, "sites": 0}
            else:
                verdict, summary = _decide_checked(checked, options)
                reply = {"verdict": verdict.value, "summary": summary, "sites": len(all_sites)}
        else:
            site = all_sites[index]
            mutant = apply(claim, site)
            checked, diags = check_claim(mutant, lines)
            if checked is None:
                reply = {"ill_typed": True, "summary": diags[0].message if diags else ""}
            else:
                verdict, summary = _decide_checked(checked, options)
                reason, same = None, None
                if verdict not in KILLING:
                    same = classify(claim, base, checked, site.statement, site.path,
                                    verdict.value, options.seed) if base is not None else None
                    reason = same.reason if same else survival_reason(site, verdict, summary)
                line = getattr(getattr(claim.statements[site.statement], "pos", None), "line", 0)
                reply = {"verdict": verdict.value, "summary": summary, "reason": reason,
                         "equivalent": same.kind if same else None,
                         "kind": site.kind, "description": site.description, "line": line}
        conn.send_bytes(json.dumps(reply).encode("utf-8"))


class _Pool:
    """One worker process at a time, replaced when a request runs past the time limit."""

    def __init__(self, options: Options, memory_limit_mb: int, time_limit: float):
        self.ctx = mp.get_context("spawn")
        self.options, self.memory, self.time_limit = options, memory_limit_mb, time_limit
        self.proc = None
        self.conn: Optional[Connection] = None

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, json.dumps(asdict(self.options)),
                                                          self.memory), daemon=True)
        self.proc.start()
        child.close()

    def ask(self, job: dict, index: int) -> dict:
        if self.proc is None or not self.proc.is_alive():
            self._start()
        self.conn.send_bytes(json.dumps({"job": job, "index": index}).encode("utf-8"))
        ready = wait([self.conn, self.proc.sentinel], self.time_limit)
        if self.conn in ready:
            try:
                return json.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                pass
        self.close()
        reason = ("time limit: stopped after %g s" % self.time_limit) if not ready else \
            "the worker died (likely out of memory)"
        return {"verdict": "inconclusive", "summary": reason}

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.pid is not None:
                self.proc.kill()
                self.proc.join(5)
            self.proc = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def mutate(paths, config=None, progress=None) -> MutationReport:
    """Mutants of every proved or verified claim in ``paths``, decided; see the module doc.

    ``config`` is a :class:`derive.runner.RunConfig` (seed, limits, ``select``, ``jobs``:
    claims are shared among that many worker processes; the report keeps file order).
    """
    from concurrent.futures import ThreadPoolExecutor

    config = config or RunConfig()
    start = time.monotonic()
    jobs, _errors, _claims = plan(paths, config.select)
    report = MutationReport()
    free: list[_Pool] = [_Pool(config.options, config.memory_limit_mb, config.time_limit)
                         for _ in range(max(1, min(config.jobs, len(jobs) or 1)))]

    def one_claim(job) -> tuple[Optional[ClaimMutation], Optional[tuple[str, str]]]:
        pool = free.pop()  # each thread holds one pool (one worker process) at a time
        try:
            return _mutate_claim(pool, job)
        finally:
            free.append(pool)

    try:
        with ThreadPoolExecutor(max_workers=len(free)) as executor:
            for entry, skipped in executor.map(one_claim, jobs):
                if skipped is not None:
                    report.not_mutated.append(skipped)
                    continue
                report.claims.append(entry)
                if progress:
                    progress(entry)
    finally:
        for pool in free:
            pool.close()
    report.seconds = time.monotonic() - start
    return report


def _mutate_claim(pool: _Pool, job) -> tuple[Optional[ClaimMutation], Optional[tuple[str, str]]]:
    """Decide one claim and, when it is proved or verified, each of its mutants."""
    spec = {"id": job.id, "file": job.file, "line": job.line, "text": job.text}
    base = pool.ask(spec, -1)
    verdict = base.get("verdict", "error")
    if verdict not in (Verdict.PROVED.value, Verdict.VERIFIED.value):
        return None, (job.id, verdict)
    entry = ClaimMutation(job.id, job.file, job.line, verdict)
    for index in range(int(base.get("sites", 0))):
        reply = pool.ask(spec, index)
        if reply.get("ill_typed"):
            entry.ill_typed += 1
            continue
        v = Verdict(reply["verdict"])
        killed = v in KILLING
        entry.mutants.append(MutantResult(
            reply.get("kind", "?"), reply.get("description", f"mutant {index}"),
            int(reply.get("line", job.line)), v.value, killed, reply.get("summary", ""),
            None if killed else reply.get("reason") or
            f"not decided: {v.value} ({reply.get('summary', '')[:160]})",
            None if killed else reply.get("equivalent")))
    return entry, None
