"""One apply's use of the cache: replay the generated tables of a hit, or keep them for the next apply.

`open_session` decides once, before the first row is written: the key is
computed, and an entry that checks out is a hit (held under a shared lock
until apply ends); otherwise, if no other apply is writing that key, this
one keeps what it generates and publishes it after its transaction
commits. A hit's big files are digested while they load (on PostgreSQL
the bytes streamed, on SQLite in a thread beside SQLite's own read), each
table under a savepoint: a file that does not match its manifest, or that
the database refuses, takes its rows back, and the apply generates that
table instead and keeps the seed afresh, so a damaged entry is still a miss,
never a wrong seed, and a sound one costs no pass of its own. The seeder asks `load` for each generated table (None: generate
it) and calls `keep` after writing one. Nothing here changes which rows
end up in the database: a replayed table holds the bytes generation would
have written, only sooner.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import anyio
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from echelon_seed import generators, types
from echelon_seed.engines import Backend, pg_replay, pgcopy, sqlite_replay
from echelon_seed.fixture_set import FixtureSet
from echelon_seed.plan import Plan
from echelon_seed.project import CACHE_MAX_MB, Project

from . import key as keys
from .store import ENV_MAX_MB, Pending, Store, default_directory, file_digest, new_hasher

__all__ = ["MIN_ROWS", "Cache", "Session", "open_session"]

#: Fewer generated rows are generated again. Measured (docs/cache.md): a replay is cheaper than
#: generation from about 2,000 generated rows on SQLite and 10,000 on PostgreSQL, but keeping an entry
#: costs the first apply up to 0.25 s more, and the gain below 20,000 rows is tens of milliseconds.
MIN_ROWS = 20_000
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Cache:
    """Where the cache lives, its cap, and from how many generated rows on an apply uses it."""

    directory: Path
    max_bytes: int = CACHE_MAX_MB << 20
    min_rows: int = MIN_ROWS

    @classmethod
    def configured(cls, project: Project | None = None, environ: dict[str, str] | None = None) -> Cache:
        """The cache the environment and the project's `cache_max_mb` describe."""
        env = dict(os.environ) if environ is None else environ
        megabytes = project.cache_max_mb if project is not None else CACHE_MAX_MB
        if env.get(ENV_MAX_MB):
            megabytes = _megabytes(env[ENV_MAX_MB])
        return cls(default_directory(env), megabytes << 20)

    def store(self) -> Store:
        return Store(self.directory, self.max_bytes)


def _megabytes(text: str) -> int:
    from echelon_seed.errors import ConfigError

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"${ENV_MAX_MB}: expected a whole number of megabytes (1 or more), got {text!r}")
    return value


class Session:
    """The cache as one apply sees it: a hit to replay, or an entry being kept."""

    def __init__(
        self,
        *,
        engine: str,
        key: str,
        summary: Mapping[str, Any],
        tables: list[Table],
        anchor: datetime,
        hit: tuple[dict[str, Any], dict[str, IO[bytes]]] | None,
        pending: Pending | None,
        locks: contextlib.ExitStack,
        store: Store,
    ) -> None:
        self.engine, self.key, self.summary = engine, key, summary
        self.tables = {t.name: t for t in tables}
        self.anchor = anchor
        self.hit = hit
        self.pending = pending
        self.kept: dict[str, dict[str, Any]] = {}
        self.replayed: list[str] = []
        self._locks = locks
        self._store = store
        self._attached: set[str] = set()  # the SQLite aliases attached to apply's connection
        self._verified: set[str] = set()  # the hit's files digested while loading, and found sound

    @property
    def action(self) -> str:
        """What the cache did for this apply, in a few words."""
        if self.replayed:
            return f"replayed {_tables(len(self.replayed))} (entry {self.key[:12]}…)"
        if self.pending is not None and self.kept:
            return f"kept {_tables(len(self.kept))} for the next apply (entry {self.key[:12]}…)"
        return "not used"

    def _moments(self, table: Table) -> list[int]:
        return [i for i, c in enumerate(table.columns) if types.is_moment(c.type)]

    async def load(self, conn: AsyncConnection, table: Table) -> int | None:
        """Replay `table` from the hit; the rows written, or None when it is to be generated."""
        if self.hit is None or table.name not in self.tables:
            return None
        manifest, handles = self.hit
        facts = manifest["tables"].get(table.name)
        if facts is None:
            return None
        delta = (self.anchor - datetime.fromisoformat(manifest["anchor"])) // _MICROSECOND
        try:
            async with conn.begin_nested():  # a file found unsound takes back what it loaded
                rows = await self._load(conn, table, manifest, handles, facts, delta)
        except (_Unsound, pgcopy.CopyFormatError, sqlite_replay.DamagedEntry):
            self._spoiled()
            return None
        self.replayed.append(table.name)
        return rows

    async def _load(
        self,
        conn: AsyncConnection,
        table: Table,
        manifest: Mapping[str, Any],
        handles: Mapping[str, IO[bytes]],
        facts: Mapping[str, Any],
        delta: int,
    ) -> int:
        name = facts["file"]
        expected = manifest["files"][name]["blake2b"]
        if self.engine == "postgresql":
            hasher = new_hasher()
            await pg_replay.load(conn, table, handles[name], handles[facts["offsets"]], delta, hasher)
            rows = int(facts["rows"])
            digest: str | None = hasher.hexdigest()
        else:
            if sqlite_replay.ALIAS not in self._attached:
                await sqlite_replay.attach(conn, Path(handles[name].name))
                self._attached.add(sqlite_replay.ALIAS)
            load = sqlite_replay.load(conn, table, self._moments(table), delta)
            rows, digest = await _beside(load, None if name in self._verified else handles[name])
        if digest is not None and digest != expected:
            raise _Unsound(f"{name} does not match its manifest")
        self._verified.add(name)
        if rows != facts["rows"]:
            raise _Unsound(f"{table.name} replayed {rows} rows, its manifest says {facts['rows']}")
        return rows

    def _spoiled(self) -> None:
        """The hit turned out damaged: remove it, and keep what this apply generates in its place."""
        if self.hit is not None:
            for handle in self.hit[1].values():
                handle.close()
        self.hit = None
        self._locks.close()
        self._locks = contextlib.ExitStack()
        try:
            if self._locks.enter_context(self._store.locked(self.key, shared=False)):
                self._store.remove(self.key)
                self.pending = self._store.pending(self.key)
        except OSError:
            self.pending = None  # an unwritable cache costs a generation, nothing more

    async def keep(self, conn: AsyncConnection, table: Table) -> None:
        """Keep the rows just written to `table` in the pending entry."""
        if self.pending is None or table.name not in self.tables:
            return
        moments = self._moments(table)
        if self.engine == "postgresql":
            data, offsets = f"{table.name}.copy", f"{table.name}.offsets"
            with self.pending.path(data).open("w+b") as out, self.pending.path(offsets).open("wb") as marks:
                rows = await pg_replay.keep(conn, table, moments, out, marks)
            self.kept[table.name] = {"rows": rows, "file": data, "offsets": offsets}
        else:
            if not await sqlite_replay.moments_shiftable(conn, table, moments):
                self.drop()  # times in a form the shift does not know: this seed is not kept
                return
            if sqlite_replay.KEPT not in self._attached:
                await sqlite_replay.attach(conn, self.pending.path("rows.sqlite"), sqlite_replay.KEPT)
                self._attached.add(sqlite_replay.KEPT)
            rows = await sqlite_replay.keep(conn, table)
            self.kept[table.name] = {"rows": rows, "file": "rows.sqlite"}

    def drop(self) -> None:
        """Keep nothing from this apply."""
        if self.pending is not None:
            self.pending.discard()
            self.pending = None

    def publish(self) -> bool:
        """After apply committed: publish the kept entry when every generated table is in it."""
        if self.pending is None or set(self.kept) != set(self.tables):
            return False
        try:
            for name in sorted({f for facts in self.kept.values() for f in (facts["file"], facts.get("offsets")) if f}):
                self.pending.add(name)
            return self.pending.publish(
                {"summary": self.summary, "anchor": self.anchor.isoformat(), "tables": self.kept}
            )
        except OSError:
            return False  # a full or read-only cache directory costs the next apply a generation, nothing more

    def close(self) -> None:
        """Release the entry (and its lock); discard an entry that was not published."""
        if self.hit is not None:
            for handle in self.hit[1].values():
                handle.close()
        self.drop()
        self._locks.close()


async def open_session(
    cache: Cache,
    conn: AsyncConnection,
    backend: Backend,
    project: Project,
    fixture_set: FixtureSet,
    seed_plan: Plan,
    *,
    anchor: datetime,
    scale: int,
) -> Session | None:
    """The cache's part in this apply, or None when it has none (few generated rows, no usable directory)."""
    planned = [t for t in seed_plan.tables if t.generated and t.holdback is None]
    if not planned or sum(t.total for t in planned) < cache.min_rows:
        return None
    generated = [f for t in planned if (f := fixture_set.table(t.table.name)) is not None]
    shifts = all(_shifts(f.spec) for f in generated)
    server = await pg_replay.server_version(conn) if backend.name == "postgresql" else ""
    tables = [f.table for f in generated]
    key, summary = keys.key(
        project=project.name,
        fingerprint=project.fingerprint,
        fixture_digest=fixture_set.digest,
        scale=scale,
        engine=backend.name,
        server=server,
        tables=tables,
        anchor=None if shifts else anchor,
    )
    store = cache.store()
    locks = contextlib.ExitStack()
    hit = pending = None
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        if locks.enter_context(store.locked(key, shared=True)):
            hit = store.open_entry(key, unread=_data_files)
        if hit is None:  # keep it instead: the shared lock gives way to the writer's
            locks.close()
            locks = contextlib.ExitStack()
            pending = store.pending(key) if locks.enter_context(store.locked(key, shared=False)) else None
    except OSError:
        locks.close()
        return None
    return Session(
        engine=backend.name,
        key=key,
        summary=summary,
        tables=tables,
        anchor=anchor,
        hit=hit,
        pending=pending,
        locks=locks,
        store=store,
    )


def _data_files(manifest: Mapping[str, Any]) -> frozenset[str]:
    """The big files of an entry: digested while they load rather than before."""
    return frozenset(str(facts["file"]) for facts in manifest["tables"].values())


class _Unsound(Exception):
    """A hit's file or row count did not match its manifest once loaded."""


async def _beside(load: Awaitable[int], handle: IO[bytes] | None) -> tuple[int, str | None]:
    """Run `load` while a thread digests `handle` (two cores: SQLite reads the file, the thread hashes it)."""
    if handle is None:
        return await load, None
    digest: list[str] = []

    async def hashed() -> None:
        digest.append(await anyio.to_thread.run_sync(file_digest, handle))

    async with anyio.create_task_group() as group:
        group.start_soon(hashed)
        rows = await load
    return rows, digest[0]


def _tables(count: int) -> str:
    return f"{count} generated table{'' if count == 1 else 's'}"


def _shifts(spec: Any) -> bool:
    name = spec.get("generator") if spec is not None else None
    entry = generators.lookup(name) if isinstance(name, str) else None
    return entry is not None and entry.anchor_shifts_times
