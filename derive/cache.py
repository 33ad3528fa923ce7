"""A result cache: one JSON file per decided claim, keyed by what the verdict depends on.

The key hashes (1) a canonical form of the claim's model without positions, text or file
(the fields the frozen dataclasses compare), (2) the engine versions: ``derive.__version__``,
any ``VERSION``/``__version__`` string an engine package declares, a hash of every file of
the derive package (a deny-list, not a hand-kept list: a new module is covered the day it
is added; each engine package is hashed on its own so that editing one engine keeps the
others' results) and the versions of SymPy/NumPy/torch, (3) the run options, seed and
strictness included, and (4) the host: architecture, CPU count and whether a GPU device is
present.  Only JSON is stored; a damaged entry is a miss, never an error.  Results of
killed workers are not stored.

Entries are authenticated: each holds its payload and an HMAC-SHA256 tag under a key that
never lives in the repository (:mod:`derive.cachekey`: ``DERIVE_CACHE_KEY``, else a
per-user file created with mode 0600 under ``$XDG_CACHE_HOME/derive``).  An entry without
a valid tag (forged, copied from another machine, edited) is a miss and is decided again.

Besides one entry per claim, a run over an unchanged set of files (same bytes, same
engines, options and ``-k``) is one entry holding all its results, so an unchanged corpus
is re-checked without even parsing it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import platform
import re
import tempfile
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from derive import model as m
from derive.cachekey import cache_key
from derive.engine import Options, is_cost_statement
from derive.faults import strict_mode
from derive.outcome import Result
from derive.version import __version__

CACHE_FORMAT = 2
DEFAULT_DIR = ".derive-cache"
ENGINE_PACKAGES = ("symbolic", "numeric", "timing")
# never part of the code hash: build and editor leftovers, not code
_DENY_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_DENY_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
_VERSION_RE = re.compile(r"^(?:__version__|VERSION)\s*(?::\s*str\s*)?=\s*[\"']([^\"']+)[\"']", re.M)


def canonical(node: Any) -> Any:
    """A JSON-able canonical form of a model node: compared fields only, class names kept."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        out: dict[str, Any] = {"_": type(node).__name__}
        for f in dataclasses.fields(node):
            if f.compare:
                out[f.name] = canonical(getattr(node, f.name))
        return out
    if isinstance(node, Fraction):
        return {"_": "Fraction", "v": f"{node.numerator}/{node.denominator}"}
    if isinstance(node, (tuple, list)):
        return [canonical(x) for x in node]
    if isinstance(node, dict):
        return {str(k): canonical(v) for k, v in sorted(node.items())}
    if node is None or isinstance(node, (str, int, float, bool)):
        return node
    return {"_": type(node).__name__, "repr": repr(node)}


def claim_hash(claim: m.Claim) -> str:
    """Content hash of a claim's normalised model (positions, text and file excluded)."""
    data = json.dumps(canonical(claim), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _denied(f: Path, base: Path) -> bool:
    parts = f.relative_to(base).parts
    return any(p in _DENY_DIRS for p in parts) or f.name.endswith(_DENY_SUFFIXES) or \
        f.name == ".DS_Store"


def _hash_tree(path: Path, digest: "hashlib._Hash", skip: tuple[Path, ...] = ()) -> None:
    """Every file below ``path`` (names and bytes) except the deny-list and ``skip``."""
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    for f in files:
        if not f.is_file() or _denied(f, path.parent) or any(s == f or s in f.parents for s in skip):
            continue
        digest.update(str(f.relative_to(path.parent).as_posix()).encode() + b"\0")
        data = f.read_bytes()
        digest.update(len(data).to_bytes(8, "big") + data)


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"
    except ImportError:  # pragma: no cover
        return "-"


@lru_cache(maxsize=1)
def engine_versions() -> dict[str, str]:
    """What the engines' verdicts depend on, as short strings (cheap: no engine is imported)."""
    return code_versions(Path(__file__).resolve().parent)


def code_versions(root: Path) -> dict[str, str]:
    """Hashes of the package at ``root``: ``core`` is every file outside the engine
    packages (guards, decide, semantics, language, reports, …), each engine its own."""
    versions: dict[str, str] = {"derive": __version__}
    core = hashlib.sha256()
    _hash_tree(root, core, skip=tuple(root / name for name in ENGINE_PACKAGES))
    versions["core"] = core.hexdigest()[:16]
    for name in ENGINE_PACKAGES:
        pkg = root / name
        if not pkg.exists() and not (root / f"{name}.py").exists():
            versions[name] = "absent"
            continue
        where = pkg if pkg.exists() else root / f"{name}.py"
        digest = hashlib.sha256()
        _hash_tree(where, digest)
        init = pkg / "__init__.py" if pkg.is_dir() else where
        declared = ""
        if init.exists():
            found = _VERSION_RE.search(init.read_text(encoding="utf-8", errors="replace"))
            declared = found.group(1) if found else ""
        versions[name] = (declared + "+" if declared else "") + digest.hexdigest()[:16]
    for dist in ("sympy", "numpy", "torch", "scipy"):
        versions[dist] = _dist_version(dist)
    return versions


@lru_cache(maxsize=1)
def host_key() -> dict[str, Any]:
    """What about this machine a verdict can depend on, found without importing torch:
    skipped 'on cuda' statements and timing claims differ between a GPU host and a CPU one."""
    gpu = any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd"))
    return {"machine": platform.machine(), "cpus": os.cpu_count(), "gpu": gpu,
            "cuda_visible": os.environ.get("CUDA_VISIBLE_DEVICES")}


def options_key(options: Options) -> dict[str, Any]:
    """The options as keyed: strictness as in effect (``DERIVE_STRICT`` included), so a
    lenient run's result is never served to a strict one."""

    key = canonical(options)
    key["strict"] = strict_mode(options)
    return key


def engines_for(claim: m.Claim) -> set[str]:
    """The engines :mod:`derive.decide` routes this claim's statements to: cost and growth
    statements to the timing engine, every other to the symbolic and numeric engines."""

    names: set[str] = set()
    for show in claim.shows:
        if is_cost_statement(show.statement):
            names.add("timing")
        else:
            names.update(("symbolic", "numeric"))
    return names or set(ENGINE_PACKAGES)


def cacheable(result: Result) -> bool:
    """Results of killed or crashed workers (time and memory limits: they depend on the
    machine's load) are decided again next time.  An engine's internal error is kept: it is
    as deterministic as any verdict, and any change to the engine's code changes the key."""
    return "isolation" not in (result.evidence or {})


class ResultCache:
    """JSON files under ``directory/v{CACHE_FORMAT}/ab/abcdef….json``."""

    def __init__(self, directory: str | os.PathLike = DEFAULT_DIR, options: Optional[Options] = None,
                 secret: Optional[bytes] = None):
        self.directory = Path(directory)
        self.options = options or Options()
        self.hits = 0
        self.misses = 0
        self.rejected = 0  # entries present but not authentic (forged, foreign or edited)
        # None: no usable key, so the cache is neither read nor written
        self._secret = secret if secret is not None else cache_key(self.directory)
        versions = engine_versions()
        self._engines = {k: v for k, v in versions.items() if k in ENGINE_PACKAGES}
        shared = {k: v for k, v in versions.items() if k not in ENGINE_PACKAGES}
        self._base = json.dumps({"format": CACHE_FORMAT, "versions": shared,
                                 "options": options_key(self.options), "host": host_key()},
                                sort_keys=True)

    def key(self, claim: m.Claim) -> str:
        """Hash of the claim, the shared versions, options and host, and the versions of only
        the engines the claim's statements are routed to (an edit to the timing engine
        leaves the cached results of algebraic claims valid)."""
        digest = hashlib.sha256(self._base.encode("utf-8"))
        for name in sorted(engines_for(claim)):
            digest.update(f"{name}={self._engines.get(name, 'absent')};".encode("utf-8"))
        digest.update(claim_hash(claim).encode("ascii"))
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        if key.startswith("corpus-"):
            return self.directory / f"v{CACHE_FORMAT}" / "corpus" / f"{key[7:]}.json"
        return self.directory / f"v{CACHE_FORMAT}" / key[:2] / f"{key}.json"

    @property
    def usable(self) -> bool:
        return self._secret is not None

    def _tag(self, key: str, payload: str) -> str:
        assert self._secret is not None
        message = f"derive-cache/{CACHE_FORMAT}\0{key}\0".encode("utf-8") + payload.encode("utf-8")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _read(self, key: str) -> Optional[dict]:
        """The authenticated entry stored under ``key``, or None (absent, damaged, forged)."""
        if self._secret is None:
            return None
        try:
            raw = self._path(key).read_bytes()
        except OSError:
            return None
        try:
            outer = json.loads(raw.decode("utf-8"))
            payload, tag = outer["payload"], outer["tag"]
            if not isinstance(payload, str) or not isinstance(tag, str):
                raise TypeError("malformed entry")
            if not hmac.compare_digest(tag, self._tag(key, payload)):
                raise ValueError("bad tag")
            entry = json.loads(payload)
            if not isinstance(entry, dict) or entry.get("key") != key:
                raise ValueError("key mismatch")
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            self.rejected += 1
            return None
        return entry

    def get(self, claim: m.Claim) -> Optional[Result]:
        """The stored result for this claim, moved to the claim's current file and line."""
        key = self.key(claim)
        entry = self._read(key)
        try:
            if entry is None:
                raise ValueError("no authentic entry")
            result = Result.from_dict(entry["result"])
        except (ValueError, KeyError, TypeError, AttributeError):
            self.misses += 1
            return None
        self.hits += 1
        return relocate(result, claim)

    # -------------------------------------------------------------- whole-corpus entries
    def corpus_key(self, files: list[Path], select: Optional[str]) -> Optional[str]:
        """A key for a run over exactly these files' bytes (None if one cannot be read)."""
        digest = hashlib.sha256(self._base.encode("utf-8"))
        digest.update(json.dumps([self._engines, select], sort_keys=True).encode("utf-8"))
        for f in files:
            try:
                data = Path(f).read_bytes()
            except OSError:
                return None
            digest.update(str(f).encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
        return "corpus-" + digest.hexdigest()

    def get_corpus(self, key: str) -> Optional[list[Result]]:
        """Every result of an unchanged corpus, without parsing it (None: not stored)."""
        entry = self._read(key)
        if entry is None:
            return None
        try:
            return [Result.from_dict(d) for d in entry["results"]]
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def put_corpus(self, key: str, results: list[Result]) -> bool:
        if not all(cacheable(r) for r in results):
            return False
        return self._write(key, {"key": key, "results": [r.as_dict() for r in results]})

    def _write(self, key: str, entry: dict) -> bool:
        if self._secret is None:
            return False
        path = self._path(key)
        payload = json.dumps(entry, ensure_ascii=False, default=str, sort_keys=True)
        outer = {"payload": payload, "tag": self._tag(key, payload)}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(outer, fh, ensure_ascii=False)
            os.replace(tmp, path)
        except OSError:
            return False
        return True

    def put(self, claim: m.Claim, result: Result) -> bool:
        """Store a result (atomically); return whether it was stored."""
        if not cacheable(result):
            return False
        key = self.key(claim)
        return self._write(key, {"key": key, "claim": claim.id, "result": result.as_dict()})


def relocate(result: Result, claim: m.Claim) -> Result:
    """Point a cached result at the claim's current position (lines shift when others change)."""
    delta = claim.pos.line - result.line
    result.file = claim.file
    result.line = claim.pos.line
    result.title, result.source, result.expected = claim.title, claim.source, claim.expect
    if delta:
        for st in result.evidence.get("statements", []) or []:
            if isinstance(st, dict) and isinstance(st.get("line"), int):
                st["line"] += delta
    return result
