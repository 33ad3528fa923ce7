"""A cache that cannot be forged or go stale: entries carry an HMAC-SHA256 tag under a key
outside the repository; the code part of the key covers every file of the package."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

import derive
from derive import cachekey
from derive.cache import CACHE_FORMAT, ResultCache, code_versions
from derive.engine import Options
from derive.outcome import Verdict
from derive.runner import RunConfig, run

FALSE = """claim forged.one
  let a : real
  show a + 1 == a
"""


@pytest.fixture
def key_home(tmp_path, monkeypatch):
    """A private per-user key location for the test (no env key)."""
    monkeypatch.delenv(cachekey.KEY_ENV, raising=False)
    monkeypatch.delenv(cachekey.KEY_FILE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "derive" / cachekey.KEY_NAME


def _run(path: Path, cache_dir: Path):
    config = RunConfig(options=Options(), isolate=False, cache_dir=str(cache_dir))
    return run([str(path)], config), config.stats


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / f"v{CACHE_FORMAT}").rglob("*.json"))


def _forge_all(cache_dir: Path, rewrite) -> None:
    for f in _entries(cache_dir):
        outer = json.loads(f.read_text(encoding="utf-8"))
        outer["payload"] = json.dumps(rewrite(json.loads(outer["payload"])))
        f.write_text(json.dumps(outer), encoding="utf-8")


def _say_proved(entry: dict) -> dict:
    for r in [entry.get("result")] + list(entry.get("results", [])):
        if r:
            r.update(verdict="proved", as_expected=True, summary="forged")
    return entry


def test_a_forged_entry_is_ignored_and_the_claim_decided_again(tmp_path, key_home):
    path = tmp_path / "c.claims"
    path.write_text(FALSE, encoding="utf-8")
    cache_dir = tmp_path / ".derive-cache"
    (first,), _ = _run(path, cache_dir)
    assert first.verdict == Verdict.REFUTED
    _forge_all(cache_dir, _say_proved)
    (again,), stats = _run(path, cache_dir)
    assert again.verdict == Verdict.REFUTED and stats.decided == 1 and stats.cached == 0


def test_an_entry_tagged_under_another_key_is_ignored(tmp_path, key_home, monkeypatch):
    """What a pull request can write: a well-formed entry whose tag its author computed
    with a key of their own."""
    path = tmp_path / "c.claims"
    path.write_text(FALSE, encoding="utf-8")
    cache_dir = tmp_path / ".derive-cache"
    _run(path, cache_dir)
    theirs = b"attacker-key-0123456789abcdef"
    for f in _entries(cache_dir):
        outer = json.loads(f.read_text(encoding="utf-8"))
        payload = json.dumps(_say_proved(json.loads(outer["payload"])))
        key = json.loads(payload)["key"]
        msg = f"derive-cache/{CACHE_FORMAT}\0{key}\0".encode() + payload.encode()
        outer = {"payload": payload, "tag": hmac.new(theirs, msg, hashlib.sha256).hexdigest()}
        f.write_text(json.dumps(outer), encoding="utf-8")
    (again,), stats = _run(path, cache_dir)
    assert again.verdict == Verdict.REFUTED and stats.cached == 0
    # control: under their key the same files would be read, so the key is what decides
    # (the run above re-stored an authentic entry; forge it again)
    for f in _entries(cache_dir):
        outer = json.loads(f.read_text(encoding="utf-8"))
        payload = json.dumps(_say_proved(json.loads(outer["payload"])))
        key = json.loads(payload)["key"]
        msg = f"derive-cache/{CACHE_FORMAT}\0{key}\0".encode() + payload.encode()
        outer = {"payload": payload, "tag": hmac.new(theirs, msg, hashlib.sha256).hexdigest()}
        f.write_text(json.dumps(outer), encoding="utf-8")
    monkeypatch.setenv(cachekey.KEY_ENV, theirs.decode())
    (forged,), stats = _run(path, cache_dir)
    assert forged.verdict == Verdict.PROVED and stats.cached == 1


def test_an_untagged_entry_of_the_old_format_is_ignored(tmp_path, key_home):
    path = tmp_path / "c.claims"
    path.write_text(FALSE, encoding="utf-8")
    cache_dir = tmp_path / ".derive-cache"
    _run(path, cache_dir)
    for f in _entries(cache_dir):
        outer = json.loads(f.read_text(encoding="utf-8"))
        f.write_text(json.dumps(_say_proved(json.loads(outer["payload"]))), encoding="utf-8")
    (again,), stats = _run(path, cache_dir)
    assert again.verdict == Verdict.REFUTED and stats.cached == 0


def test_the_key_file_is_private_and_outside_the_repository(tmp_path, key_home):
    cache_dir = tmp_path / ".derive-cache"
    cache = ResultCache(cache_dir, Options())
    assert cache.usable and key_home.is_file()
    assert stat.S_IMODE(key_home.stat().st_mode) == 0o600
    assert key_home.read_text().strip() and len(key_home.read_text().strip()) == 64
    assert ResultCache(cache_dir, Options())._secret == cache._secret  # stable per user


def test_a_key_others_can_read_or_one_inside_the_cache_is_not_used(tmp_path, key_home,
                                                                   monkeypatch):
    ResultCache(tmp_path / "c", Options())
    os.chmod(key_home, 0o644)
    cache = ResultCache(tmp_path / "c", Options())
    assert not cache.usable
    path = tmp_path / "c.claims"
    path.write_text(FALSE, encoding="utf-8")
    _, stats = _run(path, tmp_path / "c")
    assert stats.decided == 1 and not (tmp_path / "c").exists()  # nothing stored
    planted = tmp_path / "c2" / "key"
    planted.parent.mkdir()
    planted.write_text("0123456789abcdef0123456789abcdef")
    os.chmod(planted, 0o600)
    monkeypatch.setenv(cachekey.KEY_FILE_ENV, str(planted))
    assert not ResultCache(tmp_path / "c2", Options()).usable


def test_the_code_hash_covers_every_file_of_the_package(tmp_path):
    src = Path(derive.__file__).resolve().parent
    copy = tmp_path / "derive"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("__pycache__"))
    base = code_versions(copy)
    assert base == code_versions(copy)
    (copy / "guards.py").write_text((copy / "guards.py").read_text() + "\n# edited\n")
    edited = code_versions(copy)
    assert edited["core"] != base["core"]
    assert {k: edited[k] for k in ("symbolic", "numeric", "timing")} == \
        {k: base[k] for k in ("symbolic", "numeric", "timing")}
    (copy / "report" / "new_module.py").write_text("X = 1\n")
    assert code_versions(copy)["core"] != edited["core"]
    (copy / "numeric" / "lower.py").write_text((copy / "numeric" / "lower.py").read_text() + "#\n")
    changed = code_versions(copy)
    assert changed["numeric"] != base["numeric"] and changed["symbolic"] == base["symbolic"]
    before = code_versions(copy)
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "guards.cpython-311.pyc").write_bytes(b"\0junk")
    assert code_versions(copy) == before


def test_a_stale_entry_is_not_served_after_a_code_change(tmp_path, key_home, monkeypatch):
    import derive.cache as cache_module

    path = tmp_path / "c.claims"
    path.write_text(FALSE, encoding="utf-8")
    cache_dir = tmp_path / ".derive-cache"
    _run(path, cache_dir)
    _, stats = _run(path, cache_dir)
    assert stats.cached == 1
    versions = dict(cache_module.engine_versions())
    versions["core"] = "0" * 16  # as after an edit to derive/guards.py
    monkeypatch.setattr(cache_module, "engine_versions", lambda: versions)
    _, stats = _run(path, cache_dir)
    assert stats.cached == 0 and stats.decided == 1
