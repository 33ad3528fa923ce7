"""A pytest plugin: ``pytest claims/`` collects ``*.claims`` files, one test item per claim.

A claim whose result is not what it expects fails, and the failure shows the evidence;
a ``skipped`` verdict is a pytest skip.  Claims are marked ``timing`` (a cost or growth
statement), ``gpu`` (``on cuda``) and ``slow`` (timing claims, or a ``slow`` tag), so
``-m "not slow"`` and ``-m gpu`` select them; every other tag is a marker too.

The plugin collects claim files only from paths named on the command line and never
from inside the ``testpaths`` unless a file is named itself (so a project's own ``pytest``
run is not disturbed by claim files in its test data); ``--derive`` or the ini option
``derive_collect = true`` collects them everywhere.  ``--derive-markdown`` (or the ini
option ``derive_markdown = true``) also collects the fenced ```` ```claim ```` blocks of
Markdown files, as ``derive check notes.md`` reads them, and ``--derive-notebooks`` (ini
``derive_notebooks = true``) those of Jupyter notebooks' Markdown cells.  It runs under
pytest-xdist unchanged (``pytest -n 4 claims/``): each worker collects the same items in
the same order and decides the ones it is given.

Registered through the ``pytest11`` entry point, so installing derive enables it.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import pytest

from derive.outcome import Result, Verdict

_MARK_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BUILTIN_MARKS = {
    "timing": "a derive claim about time, FLOPs, memory or growth over sizes",
    "gpu": "a derive claim with a statement 'on cuda'",
    "slow": "a derive claim that takes more than a few seconds",
    "claim": "a derive claim (every collected claim has it)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("derive", "derive claims")
    group.addoption("--derive", action="store_true", dest="derive_collect",
                    help="collect *.claims files everywhere, not only under paths given")
    group.addoption("--derive-seed", type=int, default=0, help="run seed for derive claims")
    group.addoption("--derive-device", default="auto", choices=["auto", "cpu", "cuda"],
                    help="device for the numeric and timing engines")
    group.addoption("--derive-isolate", action="store_true",
                    help="decide each claim in a separate worker with time and memory limits")
    group.addoption("--derive-time-limit", type=float, default=120.0,
                    help="seconds per claim with --derive-isolate")
    group.addoption("--derive-cache-dir", default=None,
                    help="result cache directory (default: <rootdir>/.derive-cache)")
    group.addoption("--derive-no-cache", action="store_true", help="do not use the result cache")
    group.addoption("--derive-shard", default=None, metavar="K/N",
                    help="run only the K-th of N stable shards of the claims (1-based), "
                         "for spreading a corpus over N machines")
    group.addoption("--derive-markdown", action="store_true", dest="derive_markdown",
                    help="also collect the ```claim blocks of Markdown files (*.md)")
    group.addoption("--derive-notebooks", action="store_true", dest="derive_notebooks",
                    help="also collect the ```claim blocks of Jupyter notebooks' Markdown cells (*.ipynb)")
    parser.addini("derive_collect", "collect *.claims files everywhere", type="bool",
                  default=False)
    parser.addini("derive_markdown", "also collect the ```claim blocks of *.md files",
                  type="bool", default=False)
    parser.addini("derive_notebooks", "also collect the ```claim blocks of *.ipynb notebooks",
                  type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in _BUILTIN_MARKS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4); raises ``pytest.UsageError`` on nonsense."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--derive-shard wants K/N, got {text!r}") from None
    if not 1 <= k <= n:
        raise pytest.UsageError(f"--derive-shard {text}: need 1 <= K <= N")
    return k, n


def shard_of(claim_id: str, n: int) -> int:
    """The 1-based shard of a claim id: stable across machines and Python runs."""
    import hashlib

    return int(hashlib.sha256(claim_id.encode("utf-8")).hexdigest()[:8], 16) % n + 1


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    shard = config.getoption("derive_shard")
    if not shard:
        return
    k, n = parse_shard(shard)
    keep, drop = [], []
    for item in items:
        if isinstance(item, (ClaimItem, BrokenClaimItem)) and shard_of(item.name, n) != k:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _explicit_roots(config: pytest.Config) -> list[Path]:
    """The paths named on the command line (none when pytest fell back to testpaths)."""
    source = getattr(config, "args_source", None)
    if source is not None and source != pytest.Config.ArgsSource.ARGS:
        return []
    roots = []
    for arg in config.args:
        path = Path(str(arg).split("::")[0])
        if not path.is_absolute():
            path = Path(config.invocation_params.dir) / path
        roots.append(path.resolve())
    return roots


def _testpaths(config: pytest.Config) -> list[Path]:
    return [(Path(config.rootpath) / p).resolve() for p in config.getini("testpaths")]


def _wanted(file_path: Path, config: pytest.Config) -> bool:
    """Claim files under paths named on the command line, except inside the project's own
    ``testpaths`` (test data there, such as deliberately broken claims, is not a corpus)
    unless the file itself is named."""
    if config.getoption("derive_collect") or config.getini("derive_collect"):
        return True
    resolved = file_path.resolve()
    roots = _explicit_roots(config)
    if resolved in roots:
        return True
    if any(t == resolved or t in resolved.parents for t in _testpaths(config)):
        return False
    return any(root in resolved.parents for root in roots)


def _has_fence(text: str) -> bool:
    from derive.language.load import _FENCE

    return any(_FENCE.match(line.strip()) for line in text.split("\n"))


def _in_notebook(text: str) -> bool:
    return "```claim" in text or "~~~claim" in text


# documents whose claim blocks are collected only when asked: suffixes, the option (and ini
# setting) that asks, and how a claim block is recognised in the text
_DOCUMENTS = [((".md", ".markdown"), "derive_markdown", _has_fence),
              ((".ipynb",), "derive_notebooks", _in_notebook)]


def _document_wanted(file_path: Path, config: pytest.Config) -> bool:
    """A Markdown file or notebook, when asked for (an option or ini setting), holding a
    claim block."""
    for suffixes, option, holds_claims in _DOCUMENTS:
        if file_path.suffix.lower() not in suffixes:
            continue
        if not (config.getoption(option) or config.getini(option)) or not _wanted(file_path, config):
            return False
        try:
            text = file_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        return holds_claims(text)
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Optional[pytest.Collector]:
    if file_path.suffix == ".claims" and _wanted(file_path, parent.config):
        return ClaimsFile.from_parent(parent, path=file_path)
    if _document_wanted(file_path, parent.config):
        return ClaimsFile.from_parent(parent, path=file_path)
    return None


def _options(config: pytest.Config):
    from derive.engine import Options

    return Options(seed=config.getoption("derive_seed"), device=config.getoption("derive_device"))


def _cache(config: pytest.Config):
    if config.getoption("derive_no_cache"):
        return None
    cached = getattr(config, "_derive_cache", None)
    if cached is None:
        from derive.cache import ResultCache

        where = config.getoption("derive_cache_dir") or str(Path(config.rootpath) / ".derive-cache")
        cached = ResultCache(where, _options(config))
        config._derive_cache = cached  # type: ignore[attr-defined]
    return cached


def claim_markers(claim) -> list[str]:
    """Markers for a claim: timing / gpu / slow from its statements, plus its tags."""
    from derive.engine import is_cost_statement

    marks = ["claim"]
    if any(is_cost_statement(s.statement) for s in claim.shows):
        marks += ["timing", "slow"]
    if any(s.device == "cuda" for s in claim.shows):
        marks.append("gpu")
    for tag in claim.tags:
        if _MARK_NAME.match(tag) and tag not in marks:
            marks.append(tag)
    return marks


class ClaimsFile(pytest.File):
    """A ``.claims`` file (or the claim blocks of a Markdown file): one item per claim,
    and one per claim that fails to load."""

    def collect(self):
        from derive.runner import plan

        jobs, errors, claims = plan([str(self.path)])
        for job, claim in zip(jobs, claims):
            item = ClaimItem.from_parent(self, name=job.id, job=job, claim=claim)
            for mark in claim_markers(claim):
                if mark not in _BUILTIN_MARKS:
                    self.config.addinivalue_line("markers", f"{mark}: derive claim tag")
                item.add_marker(mark)
            yield item
        for err in errors:
            yield BrokenClaimItem.from_parent(self, name=err.id or f"<{self.path.name}>",
                                              result=err)


class ClaimFailure(Exception):
    """A claim's result was not what the claim expects."""

    def __init__(self, result: Result):
        super().__init__(result.summary)
        self.result = result


def _failure_text(result: Result) -> str:
    from derive.report.evidence import evidence_lines, location

    file, line = location(result)
    head = (f"{result.id}: {result.verdict.value}, expected {result.expected} "
            f"[{file}:{line}]\n{result.summary}")
    body = "\n".join(evidence_lines(result, limit=1000))
    return head + ("\n" + body if body else "")


class ClaimItem(pytest.Item):
    """One claim, decided when the item runs."""

    def __init__(self, *, job, claim, **kw: Any):
        super().__init__(**kw)
        self.job = job
        self.claim = claim
        self.result: Optional[Result] = None

    def runtest(self) -> None:
        result = self._decide()
        self.result = result
        self.user_properties.append(("verdict", result.verdict.value))
        self.user_properties.append(("engine", result.engine or ""))
        if result.verdict == Verdict.SKIPPED:
            pytest.skip(f"{result.id}: {result.summary}")
        if not result.as_expected:
            raise ClaimFailure(result)

    def _decide(self) -> Result:
        cache = _cache(self.config)
        if cache is not None:
            hit = cache.get(self.claim)
            if hit is not None:
                return hit
        if self.config.getoption("derive_isolate"):
            from derive.runner import RunConfig, run_isolated

            cfg = RunConfig(options=_options(self.config),
                            time_limit=self.config.getoption("derive_time_limit"))
            result = run_isolated([self.job], cfg)[0]
        else:
            from derive.runner import decide_job

            result = decide_job(self.job, _options(self.config))
        if cache is not None:
            cache.put(self.claim, result)
        return result

    def repr_failure(self, excinfo, style=None):  # noqa: ARG002
        if isinstance(excinfo.value, ClaimFailure):
            return _failure_text(excinfo.value.result)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, self.job.line - 1, f"claim {self.job.id}"


class BrokenClaimItem(pytest.Item):
    """A claim that does not load or check: it fails with its diagnostics."""

    def __init__(self, *, result: Result, **kw: Any):
        super().__init__(**kw)
        self.result = result

    def runtest(self) -> None:
        raise ClaimFailure(self.result)

    def repr_failure(self, excinfo, style=None):  # noqa: ARG002
        if isinstance(excinfo.value, ClaimFailure):
            return _failure_text(excinfo.value.result)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, self.result.line - 1, f"claim {self.name} (does not load)"
