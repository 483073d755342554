"""Templates and per-test databases on a PostgreSQL server, kept off the test's path.

A clone is `CREATE DATABASE <test> TEMPLATE <tpl>`. What that costs depends
on the server: with `STRATEGY FILE_COPY` PostgreSQL checkpoints before and
after the copy (seconds when fsync is on and much is dirty), with `WAL_LOG`
(15's default) it writes the whole copy through the WAL, and a later DROP's
checkpoint has to flush it. Neither is right everywhere, so the strategy is
measured on the server itself: the first clones of a session alternate
between the two, and the faster one (median) makes the rest.

The test never waits for more than what is left of a clone: makers, each on
a connection of its own, keep a few clones ready ahead; a finished test's
database is queued for dropping and dropped in batches while tests run (so
the disk holds a bounded number of them) and at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import time
from collections.abc import Collection
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from echelon_seed import drivers, urls
from echelon_seed.errors import ConfigError, RefusedError
from echelon_seed.project import Project
from echelon_seed.templates import (
    TEMPLATE_PREFIX,
    TEST_PREFIX,
    Clone,
    DatabaseURL,
    Seed,
    Seeder,
    Template,
    key,
    record_from,
    record_json,
)

__all__ = ["ClonePlan", "PostgresTemplates"]

_MARK = "echelon-seed"
_NAME = re.compile(r"^echelon_(tpl|test)_[a-z0-9_]{1,48}$")
# How long a finished apply may take to let go of the staging database before its rename.
_RELEASE_TIMEOUT_S = 30.0
# Clones timed per strategy before choosing (they are real clones: tests get them).
_TRIALS = 2
_STRATEGIES = ("WAL_LOG", "FILE_COPY")


def _ident(name: str) -> str:
    """A database name of ours, quoted; anything else is a bug, never SQL."""
    if not _NAME.match(name):
        raise ValueError(f"not an echelon-seed database name: {name!r}")
    return f'"{name}"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _template_name(digest: str) -> str:
    return f"{TEMPLATE_PREFIX}{digest[:12]}"


def _lock_key(digest: str) -> int:
    """The advisory lock of one key: a signed 64-bit number drawn from it."""
    return int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)


@dataclass(frozen=True)
class ClonePlan:
    """How this server's clones are made, and why: what the session reports beside its figures."""

    fsync: str
    strategy: str
    #: Median milliseconds of the timed clones, by strategy (empty before PostgreSQL 15: one strategy only).
    measured: dict[str, float]
    ready_ahead: int
    makers: int
    drop_batch: int

    def describe(self) -> str:
        timed = ", ".join(f"{name} {ms:.0f} ms" for name, ms in sorted(self.measured.items()))
        why = f" (median create measured: {timed})" if timed else " (the only strategy before PostgreSQL 15)"
        return (
            f"fsync {self.fsync}; clone strategy {self.strategy}{why}; {self.ready_ahead} clones made ahead by "
            f"{self.makers} connections; drops in batches of {self.drop_batch}, off the test's path"
        )


class _Pool:
    """Clones of one template made ahead: makers fill `ready` up to `depth`, tests take from it."""

    def __init__(self, store: PostgresTemplates, template: Template, depth: int) -> None:
        self._store = store
        self._template = template
        self._ready: asyncio.Queue[Clone | BaseException] = asyncio.Queue()
        self._space = asyncio.Semaphore(depth)
        self._makers: list[asyncio.Task[None]] = []
        self._closing = False

    def start(self, first: list[Clone], makers: int) -> None:
        for clone in first:
            self._ready.put_nowait(clone)
        self._makers = [asyncio.get_running_loop().create_task(self._make()) for _ in range(makers)]

    async def _make(self) -> None:
        conn = None
        try:
            conn = await self._store.connect()
            while not self._closing:
                await self._space.acquire()
                if self._closing:
                    return
                try:
                    clone = await self._store.create_clone(conn, self._template, self._store.strategy_clause)
                except Exception as exc:
                    self._ready.put_nowait(exc)
                    return
                self._ready.put_nowait(clone)
        except Exception as exc:
            self._ready.put_nowait(exc)
        finally:
            if conn is not None:
                with suppress(Exception):
                    await conn.close()

    async def take(self) -> Clone:
        got = await self._ready.get()
        if isinstance(got, BaseException):
            self._ready.put_nowait(got)  # every later test gets the same reason
            raise got
        self._space.release()
        return got

    async def close(self) -> list[str]:
        """Stop making (a clone under way is finished, not cancelled); the names left ready."""
        self._closing = True
        for _ in self._makers:
            self._space.release()
        await asyncio.gather(*self._makers, return_exceptions=True)
        left = []
        while not self._ready.empty():
            got = self._ready.get_nowait()
            if isinstance(got, Clone):
                left.append(got.name)
        return left


class PostgresTemplates:
    """Templates and test databases on a PostgreSQL server, made through its maintenance database.

    One connection (the admin's) finds and builds templates; clones and drops
    have connections of their own, so neither waits behind the other.
    """

    def __init__(
        self,
        server_url: str,
        *,
        seeder: Seeder,
        prefetch: bool = True,
        ready_ahead: int = 6,
        makers: int = 2,
        drop_batch: int = 100,
    ) -> None:
        self._seeder = seeder
        self._target = urls.parse(server_url)
        if self._target.engine != "postgresql":
            raise ConfigError("the template server must be a PostgreSQL URL (postgresql://user:PASSWORD@host/postgres)")
        self._prefetch = prefetch
        self._ready_ahead = max(1, ready_ahead)
        self._makers = max(1, makers)
        self._drop_batch = max(1, drop_batch)
        self._conn: Any = None
        self._lock = asyncio.Lock()
        self._tag = f"{os.getpid()}"
        self._counter = 0
        self._pools: dict[str, _Pool] = {}
        self._plan: ClonePlan | None = None
        self._clause: str | None = None
        self._choosing = asyncio.Lock()
        self._to_drop: list[str] = []
        self._dropping: set[asyncio.Task[None]] = set()

    @property
    def display(self) -> str:
        return self._target.display

    @property
    def plan(self) -> ClonePlan | None:
        """How clones are made here, once the first clone was asked for."""
        return self._plan

    @property
    def strategy_clause(self) -> str | None:
        """The STRATEGY the makers name (None: say none, the server's only way)."""
        return self._clause

    def _url(self, name: str) -> DatabaseURL:
        return DatabaseURL(self._target.url_for(name))

    async def connect(self) -> Any:
        asyncpg = drivers.asyncpg()  # one line naming the extra when the driver is not installed
        try:
            return await asyncpg.connect(**self._target.connect_kwargs())
        except (OSError, asyncpg.PostgresError) as exc:
            raise ConfigError(f"cannot connect to the template server {self.display}: {urls.scrub(str(exc))}") from None

    async def _admin(self) -> Any:
        if self._conn is None:
            self._conn = await self.connect()
        return self._conn

    async def _execute(self, sql: str) -> None:
        async with self._lock:
            await (await self._admin()).execute(sql)

    async def _comment(self, name: str) -> dict[str, Any] | None:
        """Whether `name` exists (else None) and what echelon-seed wrote on it (empty: not ours)."""
        async with self._lock:
            row = await (await self._admin()).fetchrow(
                "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1", name
            )
        if row is None:
            return None
        try:
            data = json.loads(row["comment"] or "")
        except ValueError:
            return {}
        return data if isinstance(data, dict) and data.get(_MARK) else {}

    async def ensure(self, project: Project, seed: Seed) -> Template:
        """The template for `seed`: found on the server, or built (once, whoever asks at the same time)."""
        started = time.perf_counter()
        digest = key(project, seed)
        name = _template_name(digest)
        found = await self._comment(name)
        if not found or found.get(_MARK) != "template":
            async with self._lock:
                # Session-level and not in a transaction: CREATE DATABASE cannot run in one.
                await (await self._admin()).execute("SELECT pg_advisory_lock($1)", _lock_key(digest))
            try:
                found = await self._build(project, seed, digest, name)
            finally:
                async with self._lock:
                    await (await self._admin()).execute("SELECT pg_advisory_unlock($1)", _lock_key(digest))
        return Template(
            key=digest,
            name=name,
            url=self._url(name),
            record=record_from(found["record"]),
            built=bool(found.get("built")),
            seconds=time.perf_counter() - started,
        )

    async def _build(self, project: Project, seed: Seed, digest: str, name: str) -> dict[str, Any]:
        """Build the template under the lock, unless the worker that held it before us did."""
        found = await self._comment(name)
        if found is not None and found.get(_MARK) == "template":
            return found
        if found is not None:
            raise RefusedError(
                f"refusing to use database {name!r} on {self.display}: echelon-seed did not finish it or did "
                f"not create it; drop it yourself if it is not needed"
            )
        staging = f"{name}_build"
        left = await self._comment(staging)
        if left is not None and not left:
            raise RefusedError(
                f"refusing to replace database {staging!r} on {self.display}: echelon-seed did not create it"
            )
        if left is not None:  # a build that died half-way; we hold the lock, so nobody else is on it
            await self._execute(f"DROP DATABASE {_ident(staging)} WITH (FORCE)")
        await self._execute(f"CREATE DATABASE {_ident(staging)}")
        building = {_MARK: "building", "project": project.name}
        await self._execute(f"COMMENT ON DATABASE {_ident(staging)} IS {_literal(json.dumps(building))}")
        try:
            record = await self._seeder(self._url(staging), project, seed)
            done = {_MARK: "template", "key": digest, "record": record_json(record)}
            await self._execute(f"COMMENT ON DATABASE {_ident(staging)} IS {_literal(json.dumps(done))}")
            await self._released(staging)
            await self._execute(f"ALTER DATABASE {_ident(staging)} RENAME TO {_ident(name)}")
        except BaseException:
            with suppress(Exception):
                await self._execute(f"DROP DATABASE IF EXISTS {_ident(staging)} WITH (FORCE)")
            raise
        # A template nobody connects to can always be copied; IS_TEMPLATE lets a CREATEDB role copy it.
        await self._execute(f"ALTER DATABASE {_ident(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
        return {**done, "built": True}

    async def _released(self, name: str) -> None:
        """Wait until apply's closed connections have left `name` (the server ends them asynchronously)."""
        deadline = time.monotonic() + _RELEASE_TIMEOUT_S
        while True:
            async with self._lock:
                count = await (await self._admin()).fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name
                )
            if not count or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.005)

    def _next_name(self, template: Template) -> str:
        self._counter += 1
        return f"{TEST_PREFIX}{template.key[:8]}_{self._tag}_{self._counter}"

    async def create_clone(self, conn: Any, template: Template, strategy: str | None) -> Clone:
        """One clone of `template` on `conn` (`strategy` None: the server's only way, before 15)."""
        asyncpg = drivers.asyncpg()
        clause = f" STRATEGY {strategy}" if strategy else ""
        while True:
            name = self._next_name(template)
            try:
                await conn.execute(f"CREATE DATABASE {_ident(name)} TEMPLATE {_ident(template.name)}{clause}")
            except asyncpg.DuplicateDatabaseError:
                continue  # left by an earlier process with our pid; never reused, never dropped
            return Clone(name=name, url=self._url(name), template=template)

    async def _choose(self, template: Template) -> list[Clone]:
        """Measure the strategies on this server with real clones (handed to tests); settle the plan."""
        conn = await self._admin()
        async with self._lock:
            fsync = str(await conn.fetchval("SHOW fsync"))
            version = conn.get_server_version().major
        made: list[Clone] = []
        if version < 15:  # one way only, and the clause is not known
            self._clause = None
            self._plan = ClonePlan(fsync, "FILE_COPY", {}, self._ready_ahead, self._makers, self._drop_batch)
            return made
        times: dict[str, list[float]] = {name: [] for name in _STRATEGIES}
        for _ in range(_TRIALS):
            for strategy in _STRATEGIES:
                started = time.perf_counter()
                async with self._lock:
                    made.append(await self.create_clone(conn, template, strategy))
                times[strategy].append(time.perf_counter() - started)
        measured = {name: statistics.median(t) * 1000 for name, t in times.items()}
        strategy = min(measured, key=lambda name: measured[name])
        self._clause = strategy
        self._plan = ClonePlan(fsync, strategy, measured, self._ready_ahead, self._makers, self._drop_batch)
        return made

    async def clone(self, template: Template) -> Clone:
        """A fresh database copied from `template`, usually made ahead while earlier tests ran."""
        if not self._prefetch:
            return await self.create_clone(await self._admin(), template, None)
        pool = self._pools.get(template.key)
        if pool is None:
            async with self._choosing:
                first = await self._choose(template) if self._plan is None else []
                pool = self._pools.get(template.key)
                if pool is None:
                    pool = self._pools[template.key] = _Pool(self, template, self._ready_ahead)
                    pool.start(first, self._makers)
        return await pool.take()

    async def drop(self, clone: Clone) -> None:
        """Queue a test database for dropping; a full batch is dropped in the background, one batch at a time.

        Every DROP DATABASE checkpoints, so drops are kept together (after one
        CHECKPOINT, several at once) rather than spread between the clones being
        made, and the disk holds about a batch of finished tests' databases.
        """
        self._to_drop.append(clone.name)
        if len(self._to_drop) >= self._drop_batch and not self._dropping:
            batch, self._to_drop = self._to_drop, []
            task = asyncio.get_running_loop().create_task(self._drop_all(batch, connections=4))
            self._dropping.add(task)
            task.add_done_callback(self._dropping.discard)

    async def _drop_all(self, names: list[str], *, connections: int) -> None:
        """Drop `names` (their test's connections are ended with them) on connections of their own.

        Several at once: each DROP DATABASE waits for a checkpoint, and the
        server serves the drops that wait together with one checkpoint.
        """
        if not names:
            return
        queue = list(names)
        asyncpg = drivers.asyncpg()

        async def worker(first: bool) -> None:
            conn = await self.connect()
            try:
                if first:
                    # Each DROP DATABASE checkpoints; WAL_LOG clones left dirty buffers, which the first
                    # such checkpoint would write while holding up every drop: one checkpoint first
                    # (where the role may: superuser or pg_checkpoint) leaves the drops little to do.
                    with suppress(asyncpg.PostgresError):
                        await conn.execute("CHECKPOINT")
                while queue:
                    name = queue.pop()
                    with suppress(Exception):
                        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
            finally:
                await conn.close()

        await asyncio.gather(*(worker(n == 0) for n in range(min(connections, len(names)))))

    async def clean(self, project: str, keep: Collection[str]) -> list[str]:
        """Drop `project`'s templates whose key is not in `keep` (full keys); the names dropped.

        Other projects' templates on a shared server are theirs to clean.
        """
        async with self._lock:
            rows = await (await self._admin()).fetch(
                "SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database "
                "WHERE datname LIKE 'echelon\\_tpl\\_%' ORDER BY datname"
            )
        kept = {_template_name(k) for k in keep}
        dropped = []
        for row in rows:
            name = row["datname"]
            try:
                comment = json.loads(row["comment"] or "")
                mark = comment.get(_MARK)
                owner = comment.get("project") or comment.get("record", {}).get("project")
            except (ValueError, AttributeError):
                continue
            base = name.removesuffix("_build")
            if mark not in ("template", "building") or owner != project or base in kept or not _NAME.match(name):
                continue
            await self._execute(f"ALTER DATABASE {_ident(name)} WITH IS_TEMPLATE false")
            await self._execute(f"DROP DATABASE {_ident(name)} WITH (FORCE)")
            dropped.append(name)
        return dropped

    async def close(self) -> None:
        """Stop the makers, drop every clone still ready or queued, wait for the drops; close."""
        left: list[str] = []
        for pool in self._pools.values():
            left += await pool.close()
        self._pools.clear()
        batch, self._to_drop = self._to_drop + left, []
        while self._dropping:
            await asyncio.gather(*self._dropping, return_exceptions=True)
        await self._drop_all(batch, connections=8)
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
