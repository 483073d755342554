"""The cache directory: entries published whole or not at all, checked before use, evicted oldest-used first.

An entry is a directory named by its key holding the rows' files and a
`manifest.json` that lists each file with its size and BLAKE2b digest and
carries a digest of its own. It is written under `tmp/`, fsynced, and
renamed into place, so a reader sees a whole entry or none. Each key has a
lock file under `locks/`: the writer holds it exclusively while it writes,
a reader shares it while it loads, and eviction or `--clear` take it
exclusively without waiting, skipping an entry in use. An entry whose
manifest or files do not check out (truncated, corrupted, written by
another format) is a miss and is removed; it is never loaded.

"Last used" is the modification time of the entry's `used` file, touched at
each replay (the operating system's clock, never part of a seed).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = [
    "ENV_DIR",
    "ENV_MAX_MB",
    "FORMAT",
    "Entry",
    "Pending",
    "Store",
    "default_directory",
]

#: The manifest's format: an entry of another format is a miss.
FORMAT = "echelon-seed-replay/1"
#: The cache root echelon-seed shares with the pytest plugin's reused servers (`pg_server`); replay keeps `replay/`.
ENV_DIR = "ECHELON_SEED_CACHE_DIR"
ENV_MAX_MB = "ECHELON_SEED_CACHE_MAX_MB"
_MANIFEST = "manifest.json"
_USED = "used"
_CHUNK = 1 << 20


def default_directory(environ: Mapping[str, str] | None = None) -> Path:
    """`replay/` under `$ECHELON_SEED_CACHE_DIR`, else under `$XDG_CACHE_HOME/echelon-seed`, else `~/.cache/echelon-seed`.

    A folder of its own: the root also holds the plugin's reused servers, which
    the store's eviction and `--clear` must never take for entries.
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_DIR):
        return Path(env[ENV_DIR]) / "replay"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "echelon-seed" / "replay"
    return Path.home() / ".cache" / "echelon-seed" / "replay"


def new_hasher() -> hashlib.blake2b:
    """The hash an entry's files are listed by in its manifest."""
    return hashlib.blake2b(digest_size=32)


def file_digest(handle: IO[bytes]) -> str:
    """BLAKE2b of a whole file from its start, read in chunks (memory stays flat)."""
    handle.seek(0)
    hasher = new_hasher()
    while chunk := handle.read(_CHUNK):
        hasher.update(chunk)
    handle.seek(0)
    return hasher.hexdigest()


def _manifest_digest(body: Mapping[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=32).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One published entry, as `echelon-seed cache` lists it."""

    key: str
    path: Path
    summary: Mapping[str, Any]
    size: int
    last_used: float


class Store:
    """The cache directory at `root`, with a size cap in bytes."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    # --- locks --------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, key: str, *, shared: bool) -> Iterator[bool]:
        """Hold the key's lock (shared or exclusive) without waiting; yields whether it was taken."""
        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        fd = os.open(locks / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    # --- reading ------------------------------------------------------------------------------------

    def open_entry(
        self, key: str, *, unread: Callable[[Mapping[str, Any]], frozenset[str]] | None = None
    ) -> tuple[dict[str, Any], dict[str, IO[bytes]]] | None:
        """The entry's manifest and its files opened and checked, or None (a miss; a bad entry is removed).

        Call with the key's lock held (shared). The files are checked through the
        handles returned, so nothing can change between the check and the load.
        The files that `unread` names (given the manifest) get their size checked
        only: the caller digests them while it loads them, against the
        manifest, and takes back what it loaded when they do not match.
        """
        path = self.root / key
        if not path.is_dir():
            return None
        handles: dict[str, IO[bytes]] = {}
        try:
            manifest = json.loads((path / _MANIFEST).read_text(encoding="utf-8"))
            body = {k: v for k, v in manifest.items() if k != "digest"}
            if manifest.get("digest") != _manifest_digest(body) or body.get("format") != FORMAT:
                raise ValueError("manifest does not check out")
            if body.get("key") != key:
                raise ValueError("manifest of another key")
            later = unread(body) if unread is not None else frozenset()
            for name, facts in sorted(body["files"].items()):
                handle = (path / name).open("rb")
                handles[name] = handle
                if os.fstat(handle.fileno()).st_size != facts["bytes"] or (
                    name not in later and file_digest(handle) != facts["blake2b"]
                ):
                    raise ValueError(f"{name} does not match its manifest")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            for handle in handles.values():
                handle.close()
            self._remove(path)
            return None
        with contextlib.suppress(OSError):
            (path / _USED).touch()
        return body, handles

    def entries(self) -> list[Entry]:
        """Every published entry, most recently used first."""
        found: list[Entry] = []
        if not self.root.is_dir():
            return found
        for path in self.root.iterdir():
            if path.name in ("tmp", "locks") or not path.is_dir():
                continue
            try:
                manifest = json.loads((path / _MANIFEST).read_text(encoding="utf-8"))
                summary = manifest.get("summary", {})
                used = path / _USED
                last = used.stat().st_mtime if used.exists() else (path / _MANIFEST).stat().st_mtime
            except (OSError, ValueError, AttributeError):
                summary, last = {"problem": "unreadable manifest (a miss; removed at next use)"}, 0.0
            found.append(Entry(path.name, path, summary, _size(path), last))
        return sorted(found, key=lambda e: (-e.last_used, e.key))

    # --- writing ------------------------------------------------------------------------------------

    def pending(self, key: str) -> Pending:
        """A staging directory for `key` (call with the key's lock held exclusively)."""
        staging = self.root / "tmp" / key
        self._remove(staging)  # left by a writer that died: nobody else writes this key now
        staging.mkdir(parents=True)
        return Pending(self, key, staging)

    def evict(self, keep: str | None = None) -> list[str]:
        """Remove least-recently-used entries until the cache fits its cap; entries in use are skipped."""
        entries = self.entries()
        total = sum(e.size for e in entries)
        removed: list[str] = []
        for entry in reversed(entries):  # oldest first
            if total <= self.max_bytes:
                break
            if entry.key == keep:
                continue
            with self.locked(entry.key, shared=False) as mine:
                if mine:
                    self._remove(entry.path)
                    total -= entry.size
                    removed.append(entry.key)
        return removed

    def clear(self) -> tuple[int, int]:
        """Remove every entry not in use (and stale staging); return (entries, bytes) removed."""
        count = size = 0
        for entry in self.entries():
            with self.locked(entry.key, shared=False) as mine:
                if mine:
                    self._remove(entry.path)
                    count, size = count + 1, size + entry.size
        staging = self.root / "tmp"
        if staging.is_dir():
            for path in staging.iterdir():
                with self.locked(path.name, shared=False) as mine:
                    if mine:
                        self._remove(path)
        return count, size

    def remove(self, key: str) -> None:
        """Remove an entry found damaged while it was loaded (call with the key's lock held exclusively)."""
        self._remove(self.root / key)

    def _remove(self, path: Path) -> None:
        """Take `path` out of sight first (a rename), then delete it: nobody sees half an entry."""
        if not path.exists():
            return
        trash = self.root / "tmp" / f"trash-{path.name}-{os.getpid()}"
        try:
            trash.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(trash, ignore_errors=True)
            path.rename(trash)
        except OSError:
            trash = path
        shutil.rmtree(trash, ignore_errors=True)


class Pending:
    """An entry being written: files added, then published whole by a rename, or discarded."""

    def __init__(self, store: Store, key: str, staging: Path) -> None:
        self.store, self.key, self.staging = store, key, staging
        self.files: dict[str, dict[str, Any]] = {}

    def path(self, name: str) -> Path:
        return self.staging / name

    def add(self, name: str) -> None:
        """Record a finished file of the entry: its size and digest go into the manifest."""
        with self.path(name).open("rb") as handle:
            os.fsync(handle.fileno())
            self.files[name] = {"bytes": os.fstat(handle.fileno()).st_size, "blake2b": file_digest(handle)}

    def publish(self, body: Mapping[str, Any]) -> bool:
        """Write the manifest and rename the entry into place; False when another writer got there first."""
        manifest = {**body, "format": FORMAT, "key": self.key, "files": self.files}
        manifest["digest"] = _manifest_digest(manifest)
        with self.path(_MANIFEST).open("w", encoding="utf-8") as out:
            json.dump(manifest, out, sort_keys=True, indent=1)
            out.flush()
            os.fsync(out.fileno())
        (self.path(_USED)).touch()
        _fsync_directory(self.staging)
        target = self.store.root / self.key
        try:
            self.staging.rename(target)
        except OSError:
            self.discard()
            return False
        _fsync_directory(self.store.root)
        self.store.evict(keep=self.key)
        return True

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size(path: Path) -> int:
    total = 0
    for child in path.iterdir():
        with contextlib.suppress(OSError):
            total += child.stat().st_size
    return total
