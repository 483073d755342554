"""Seeded template databases keyed by content, and cheap private copies of them for tests.

Seeding costs a migration run and a bulk write; copying a seeded database
costs a file copy. So a template is seeded once with `commands.apply` and
cloned for every test: on PostgreSQL `CREATE DATABASE <test> TEMPLATE <tpl>`
on the server the caller names, on SQLite a copy of the template file.

A template's name carries its key, a digest of everything its rows depend
on (the migrations, the fixture files, the generator modules and version,
the schema, the scale, the anchor and echelon-seed's version), so a change
to any of them selects another template and an unchanged project finds the
one it built before. Several processes (pytest-xdist workers) agree on who
builds it: an advisory lock on the PostgreSQL server, a file lock beside the
SQLite templates. A template is built under a staging name and renamed once
complete, so a name that exists is a finished template.

Nothing here touches a database it did not create: every name starts with
`echelon_tpl_` or `echelon_test_` (PostgreSQL; `tpl-`/`test-` files on
SQLite), a PostgreSQL template carries a comment saying echelon-seed made it,
and a name that exists without that comment is refused, not reused or dropped.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import importlib.util
import json
import os
import re
import shutil
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from . import __version__, urls
from .errors import ConfigError, RefusedError
from .project import Project
from .seeder import SeedRecord

__all__ = [
    "TEMPLATE_PREFIX",
    "TEST_PREFIX",
    "Clone",
    "DatabaseURL",
    "PostgresTemplates",
    "SQLiteTemplates",
    "Seed",
    "Template",
    "Templates",
    "key",
    "open_templates",
]

TEMPLATE_PREFIX = "echelon_tpl_"
TEST_PREFIX = "echelon_test_"
# What a template's comment says, so that only echelon-seed's own templates are ever reused or dropped.
_MARK = "echelon-seed"
_NAME = re.compile(r"^echelon_(tpl|test)_[a-z0-9_]{1,48}$")
# How long a finished apply may take to let go of the staging database before its rename.
_RELEASE_TIMEOUT_S = 30.0


class DatabaseURL(str):
    """A database URL that shows itself with its password hidden (`repr`, so pytest's reports).

    `str(url)` is the full URL, for the driver; `repr(url)` and `url.display`
    are what people see, even when a failing assertion or `--showlocals`
    prints the value.
    """

    __slots__ = ()

    @property
    def display(self) -> str:
        return urls.scrub(str(self))

    def __repr__(self) -> str:
        return repr(self.display)


@dataclass(frozen=True)
class Seed:
    """What a template holds: the project's fixtures (or others for the same schema) at a scale and anchor."""

    anchor: datetime
    scale: int = 1
    fixtures: Path | None = None


@dataclass(frozen=True)
class Template:
    """A seeded database that tests are cloned from; not for connecting to (PostgreSQL refuses)."""

    key: str
    name: str
    url: DatabaseURL
    record: SeedRecord
    #: Whether this call built it (False: an earlier session or another worker had).
    built: bool = False
    #: How long this call took, waiting for another builder included.
    seconds: float = 0.0


@dataclass(frozen=True)
class Clone:
    """One test's private database, copied from a template."""

    name: str
    url: DatabaseURL
    template: Template = field(repr=False)


class Templates(Protocol):
    """Where templates and their clones live: a PostgreSQL server or a directory of SQLite files."""

    @property
    def display(self) -> str: ...

    async def ensure(self, project: Project, seed: Seed) -> Template: ...

    async def clone(self, template: Template) -> Clone: ...

    async def drop(self, clone: Clone) -> None: ...

    async def clean(self, project: str, keep: Collection[str]) -> list[str]: ...

    async def close(self) -> None: ...


# --- the key ----------------------------------------------------------------------------------------


def _files(directory: Path) -> Iterator[tuple[str, Path]]:
    """Every file under `directory` but compiled Python, by relative path, in a fixed order."""
    found = [
        p
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    ]
    for path in sorted(found, key=lambda p: p.relative_to(directory).as_posix()):
        yield path.relative_to(directory).as_posix(), path


def key(project: Project, seed: Seed) -> str:
    """The template key: a SHA-256 over everything the seeded rows depend on (hex)."""
    from . import generate

    hasher = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        hasher.update(label.encode("utf-8", "surrogateescape") + b"\x00" + len(data).to_bytes(8, "big") + data)

    add("tool", __version__.encode())
    add("generators-version", generate.GENERATOR_VERSION.encode())
    add("project", project.name.encode())
    add("schema", project.fingerprint.encode())
    add("scale", str(seed.scale).encode())
    add("anchor", seed.anchor.isoformat().encode())
    if project.migrations is not None:
        for name, path in _files(project.migrations):
            add(f"migrations/{name}", path.read_bytes())
    for name, path in _files(seed.fixtures or project.fixtures):
        add(f"fixtures/{name}", path.read_bytes())
    for module in project.generators:
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        add(f"generator {module}", Path(origin).read_bytes() if origin and Path(origin).is_file() else b"")
    return hasher.hexdigest()


def _template_name(digest: str) -> str:
    return f"{TEMPLATE_PREFIX}{digest[:12]}"


def _record_json(record: SeedRecord) -> dict[str, Any]:
    return {
        "anchor": record.anchor.isoformat(),
        "fixture_digest": record.fixture_digest,
        "scale": record.scale,
        "tool_version": record.tool_version,
        "schema_revision": record.schema_revision,
        "schema_fingerprint": record.schema_fingerprint,
        "project": record.project,
    }


def _record_from(data: dict[str, Any]) -> SeedRecord:
    return SeedRecord(**{**data, "anchor": datetime.fromisoformat(data["anchor"])})


async def _seed(url: str, project: Project, seed: Seed) -> SeedRecord:
    """Seed an empty database with `apply`; the record of what it holds."""
    from . import commands

    result = await commands.apply(
        url, project=project, fixtures_dir=seed.fixtures, scale=seed.scale, anchor=seed.anchor, allow_large=True
    )
    return SeedRecord(
        anchor=result.anchor,
        fixture_digest=result.fixture_digest,
        scale=result.scale,
        tool_version=__version__,
        schema_revision=result.migration.after,
        schema_fingerprint=project.fingerprint,
        project=project.name,
    )


# --- PostgreSQL -------------------------------------------------------------------------------------


def _ident(name: str) -> str:
    """A database name of ours, quoted; anything else is a bug, never SQL."""
    if not _NAME.match(name):
        raise ValueError(f"not an echelon-seed database name: {name!r}")
    return f'"{name}"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class PostgresTemplates:
    """Templates and test databases on a PostgreSQL server, made through its maintenance database.

    One connection to the server URL's database creates and drops databases;
    the next clone is made while the current test runs, so a test waits only
    for what is left of it.
    """

    def __init__(self, server_url: str, *, prefetch: bool = True) -> None:
        self._target = urls.parse(server_url)
        if self._target.engine != "postgresql":
            raise ConfigError("the template server must be a PostgreSQL URL (postgresql://user:PASSWORD@host/postgres)")
        self._prefetch = prefetch
        self._conn: Any = None
        # PostgreSQL 15 copies a template through the WAL by default, block by block: for the small
        # databases tests use, copying its files is several times faster (its checkpoints are cheap
        # then). Older servers only copy files and do not know the clause.
        self._strategy = ""
        self._lock = asyncio.Lock()
        self._tag = f"{os.getpid()}"
        self._counter = 0
        self._ready: dict[str, asyncio.Task[Clone]] = {}
        self._drops: set[asyncio.Task[None]] = set()

    @property
    def display(self) -> str:
        return self._target.display

    def _url(self, name: str) -> DatabaseURL:
        return DatabaseURL(self._target.url_for(name))

    async def _admin(self) -> Any:
        if self._conn is None:
            import asyncpg

            try:
                self._conn = await asyncpg.connect(**self._target.connect_kwargs())
                if self._conn.get_server_version().major >= 15:
                    self._strategy = " STRATEGY FILE_COPY"
            except (OSError, asyncpg.PostgresError) as exc:
                raise ConfigError(
                    f"cannot connect to the template server {self.display}: {urls.scrub(str(exc))}"
                ) from None
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
            record=_record_from(found["record"]),
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
            record = await _seed(self._url(staging), project, seed)
            done = {_MARK: "template", "key": digest, "record": _record_json(record)}
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

    async def _create_clone(self, template: Template) -> Clone:
        import asyncpg

        while True:
            self._counter += 1
            name = f"{TEST_PREFIX}{template.key[:8]}_{self._tag}_{self._counter}"
            try:
                await self._execute(f"CREATE DATABASE {_ident(name)} TEMPLATE {_ident(template.name)}{self._strategy}")
            except asyncpg.DuplicateDatabaseError:
                continue  # left by an earlier process with our pid; never reused, never dropped
            return Clone(name=name, url=self._url(name), template=template)

    async def clone(self, template: Template) -> Clone:
        """A fresh database copied from `template`; the next one starts copying in the background."""
        pending = self._ready.pop(template.key, None)
        clone = await pending if pending is not None else await self._create_clone(template)
        if self._prefetch:
            self._ready[template.key] = asyncio.get_running_loop().create_task(self._create_clone(template))
        return clone

    async def drop(self, clone: Clone) -> None:
        """Drop a test database in the background (its test's connections are ended with it)."""
        task = asyncio.get_running_loop().create_task(self._execute(f"DROP DATABASE {_ident(clone.name)} WITH (FORCE)"))
        self._drops.add(task)
        task.add_done_callback(self._drops.discard)

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
        """Drop the clones made ahead and wait for pending drops; close the connection."""
        for task in self._ready.values():
            with suppress(Exception):
                await self.drop(await task)
        self._ready.clear()
        while self._drops:
            await asyncio.gather(*self._drops, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


def _lock_key(digest: str) -> int:
    """The advisory lock of one key: a signed 64-bit number drawn from it."""
    return int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)


# --- SQLite -----------------------------------------------------------------------------------------


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class SQLiteTemplates:
    """Template files in a directory shared by the session's processes; clones in a private one."""

    def __init__(self, shared: Path, private: Path) -> None:
        self._shared = shared
        self._private = private
        self._counter = 0

    @property
    def display(self) -> str:
        return f"SQLite files under {self._private}"

    async def ensure(self, project: Project, seed: Seed) -> Template:
        started = time.perf_counter()
        digest = key(project, seed)
        name = f"tpl-{digest[:12]}"
        path = self._shared / f"{name}.db"
        record_path = self._shared / f"{name}.json"
        built = False
        if not path.is_file():
            self._shared.mkdir(parents=True, exist_ok=True)
            with _file_lock(self._shared / f"{name}.lock"):
                if not path.is_file():
                    staging = self._shared / f"{name}.build-{os.getpid()}.db"
                    _remove(staging)
                    try:
                        record = await _seed(f"sqlite:///{staging}", project, seed)
                        record_path.write_text(json.dumps(_record_json(record)), encoding="utf-8")
                        staging.replace(path)
                    finally:
                        _remove(staging)
                    built = True
        record = _record_from(json.loads(record_path.read_text(encoding="utf-8")))
        return Template(
            key=digest,
            name=name,
            url=DatabaseURL(f"sqlite:///{path}"),
            record=record,
            built=built,
            seconds=time.perf_counter() - started,
        )

    async def clone(self, template: Template) -> Clone:
        self._private.mkdir(parents=True, exist_ok=True)
        self._counter += 1
        path = self._private / f"test-{template.key[:8]}-{self._counter}.db"
        # The template is closed and in rollback-journal mode: its file alone is the whole database.
        shutil.copyfile(str(template.url).removeprefix("sqlite:///"), path)
        return Clone(name=path.name, url=DatabaseURL(f"sqlite:///{path}"), template=template)

    async def drop(self, clone: Clone) -> None:
        _remove(self._private / clone.name)

    async def clean(self, project: str, keep: Collection[str]) -> list[str]:
        kept = {f"tpl-{k[:12]}.db" for k in keep}
        dropped = []
        for path in sorted(self._shared.glob("tpl-*.db")):
            if path.name not in kept and re.fullmatch(r"tpl-[0-9a-f]{12}\.db", path.name):
                _remove(path)
                path.with_suffix(".json").unlink(missing_ok=True)
                dropped.append(path.name)
        return dropped

    async def close(self) -> None:
        return None


def _remove(path: Path) -> None:
    """A SQLite database file and whatever journal it left."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def open_templates(server_url: str | None, *, shared: Path, private: Path) -> Templates:
    """PostgreSQL templates on `server_url` when given, else SQLite files (`shared` across workers)."""
    if server_url is not None:
        return PostgresTemplates(server_url)
    return SQLiteTemplates(shared, private)
