"""The secret that authenticates result-cache entries (HMAC-SHA256), kept out of the repository.

A cache directory is data anyone with write access to the checkout (a pull request, a
restored CI cache) can fill, so an entry is trusted only with a tag made under a key the
writer cannot know.  The key comes from, in order:

* ``DERIVE_CACHE_KEY`` — the secret itself (CI: a repository secret, or one generated per
  run, e.g. ``DERIVE_CACHE_KEY=$(openssl rand -hex 32)``);
* ``DERIVE_CACHE_KEY_FILE`` — a file holding it;
* ``$XDG_CACHE_HOME/derive/cache-hmac.key`` (``~/.cache/derive/…`` without XDG), created on
  first use with 32 random bytes and mode 0600.

A key file readable or writable by others, or one inside the cache directory itself, is not
used; without a usable key the cache is off (every claim is decided; nothing is stored).
"""
from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path
from typing import Optional

KEY_ENV = "DERIVE_CACHE_KEY"
KEY_FILE_ENV = "DERIVE_CACHE_KEY_FILE"
KEY_NAME = "cache-hmac.key"
_warned: set[str] = set()


def default_key_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "derive" / KEY_NAME


def _warn(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        print(f"derive: {message}; the result cache is off", file=sys.stderr)


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
        return True
    except (ValueError, OSError):
        return False


def _create(path: Path) -> None:
    """Write a fresh key atomically (link fails if another process made one first)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{KEY_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _read_file(path: Path, cache_dir: Optional[Path]) -> Optional[bytes]:
    if cache_dir is not None and _inside(path, cache_dir):
        _warn(f"the cache key {path} lies inside the cache directory")
        return None
    try:
        info = path.stat()
    except OSError:
        return None
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        _warn(f"the cache key {path} is accessible to other users (chmod 600 it)")
        return None
    try:
        data = path.read_bytes().strip()
    except OSError:
        return None
    return data if len(data) >= 16 else None


def cache_key(cache_dir: Optional[Path] = None) -> Optional[bytes]:
    """The HMAC key for ``cache_dir``, creating the per-user key file on first use; None when
    no usable key exists (the caller then neither reads nor writes the cache)."""
    secret = os.environ.get(KEY_ENV)
    if secret is not None:
        if len(secret.strip()) < 16:
            _warn(f"{KEY_ENV} is shorter than 16 characters")
            return None
        return secret.strip().encode("utf-8")
    named = os.environ.get(KEY_FILE_ENV)
    path = Path(named) if named else default_key_path()
    if not named and not path.exists():
        try:
            _create(path)
        except OSError as exc:
            _warn(f"cannot create the cache key {path} ({exc.strerror or exc})")
            return None
    key = _read_file(path, cache_dir)
    if key is None and named:
        _warn(f"{KEY_FILE_ENV} names no usable key ({path})")
    return key
