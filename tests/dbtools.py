"""Read and change test databases through echelon-seed's own engine setup.

Tests compare whole databases in Python, so every reader here returns typed
rows (the schema's TypeDecorators apply) sorted by primary key in Python,
never by the server's collation. Tables that are not in `schema.metadata`
(echelon_seed_alembic_version, anything a test made by hand) are reflected and sorted by
their text form. `run_cli` runs `python -m echelon_seed` (or `alembic`) the
way a user would, from the repository root unless told otherwise.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from echelon_project import schema
from sqlalchemy import MetaData, Table, func, inspect, select, text
from sqlalchemy.engine import Connection, make_url

from echelon_seed import commands, engines, tool_tables

__all__ = [
    "REPO",
    "TABLES",
    "database_exists",
    "dump",
    "enum_types",
    "execute",
    "row_counts",
    "run_cli",
    "table_names",
    "table_rows",
]

#: Every table of the schema by name, and echelon-seed's seed record (echelon_seed_runs).
TABLES: dict[str, Table] = {t.name: t for t in (*schema.metadata.sorted_tables, schema.seed_runs)}

Row = tuple[Any, ...]

#: Rows per seeded table in the canonical seed (scale 1), as ECHELON_DATA.md and data/ define them.
CANONICAL_ROWS = {
    "agents": 12,
    "paradoxes": 3,
    "positions": 12,
    "price_history": 40,
    "timeline_links": 19,
    "timelines": 10,
    "users": 5,
    "wing_flaps": 75,
}


def database_exists(url: str) -> bool:
    """False only for a SQLite file that was never created (a PostgreSQL test database always exists)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    return Path(parsed.database or "").is_file()


def _sorted_by_key(table: Table, rows: list[Row]) -> list[Row]:
    names = list(table.columns.keys())
    key = [names.index(c.name) for c in table.primary_key.columns]
    if not key:
        return sorted(rows, key=repr)
    return sorted(rows, key=lambda row: tuple(row[i] for i in key))


def _reflected_rows(connection: Connection, name: str) -> list[Row]:
    table = Table(name, MetaData(), autoload_with=connection)
    rows = [tuple(r) for r in connection.execute(select(table))]
    return sorted(rows, key=repr)


async def table_names(url: str) -> set[str]:
    """The tables that exist in the database (empty for a SQLite file that does not exist)."""
    if not database_exists(url):
        return set()
    database = engines.open_database(url, write=False)
    try:
        async with database.transaction() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await database.dispose()


async def table_rows(url: str, table: str | Table) -> list[Row]:
    """Every row of `table` as typed tuples in column order, sorted by primary key."""
    name = table if isinstance(table, str) else table.name
    return (await dump(url, only=[name]))[name]


async def dump(url: str, *, only: list[str] | None = None) -> dict[str, list[Row]]:
    """Every table that exists (or those named in `only`) -> its rows, sorted by key."""
    if not database_exists(url):
        return {}
    database = engines.open_database(url, write=False)
    try:
        async with database.transaction() as conn:
            present = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            names = sorted(present) if only is None else only
            result: dict[str, list[Row]] = {}
            for name in names:
                if name in TABLES:
                    table = TABLES[name]
                    rows = [tuple(r) for r in await conn.execute(select(table))]
                    result[name] = _sorted_by_key(table, rows)
                else:
                    result[name] = await conn.run_sync(_reflected_rows, name)
            return result
    finally:
        await database.dispose()


async def data(url: str) -> dict[str, list[Row]]:
    """`dump` without the no-op stamp: a cache whose file list depends on the process that wrote it."""
    tables = await dump(url)
    tables.pop(tool_tables.STAMP_TABLE, None)
    return tables


async def row_counts(url: str) -> dict[str, int]:
    """Rows per schema table (seeded tables and echelon_seed_runs); 0 for a table that does not exist."""
    present = await table_names(url)
    counts = {name: 0 for name in TABLES}
    if not present:
        return counts
    database = engines.open_database(url, write=False)
    try:
        async with database.transaction() as conn:
            for name, table in TABLES.items():
                if name in present:
                    counts[name] = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    finally:
        await database.dispose()
    return counts


async def execute(url: str, *statements: str | Any, params: dict[str, Any] | None = None) -> None:
    """Run SQL text or SQLAlchemy statements in one committed transaction."""
    database = engines.open_database(url, write=True)
    try:
        async with database.transaction() as conn:
            for statement in statements:
                if isinstance(statement, str):
                    await conn.execute(text(statement), params or {})
                else:
                    await conn.execute(statement)
    finally:
        await database.dispose()


async def enum_types(url: str) -> set[str]:
    """The names of the enum types in a PostgreSQL database."""
    database = engines.open_database(url, write=False)
    try:
        async with database.transaction() as conn:
            rows = await conn.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'"))
            return {r[0] for r in rows}
    finally:
        await database.dispose()


# --- the command line --------------------------------------------------------------------------------

#: The repository root: alembic.ini, data/ and migrations/ live here.
REPO = Path(__file__).resolve().parents[1]
#: The built-in project, an ordinary project of its own (its data, migrations and golden files).
ECHELON = REPO / "projects" / "echelon"


def run_cli(
    *args: str,
    database_url: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    module: str = "echelon_seed",
    timeout: float = 120,
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the command line `args` as a user would, with DATABASE_URL set only when given.

    echelon-seed's own command runs in this process through `cli.main(argv)`:
    the same parser, the same exception-to-exit-code mapping and the same
    streams, without a fresh interpreter per call (which cost most of the
    suite's time). The working directory, the environment, stdout/stderr,
    signal handlers, warnings and every module the command imported from a
    project are set up as a child process would see them and put back after.
    `process=True` (and any other module, such as alembic) starts a real
    `python -m` child instead: the tests of signals, start-up imports and the
    process's own exit path need one.
    """
    # The session's own replay cache is kept: a test never writes into the user's ~/.cache.
    child_env = {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and (not k.startswith("ECHELON_SEED_") or k == "ECHELON_SEED_CACHE_DIR")
    }
    if database_url is not None:
        child_env["DATABASE_URL"] = database_url
    child_env.update(env or {})
    if process or module != "echelon_seed":
        return subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=cwd or ECHELON,
            env=child_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    return _run_in_process(list(args), cwd or ECHELON, child_env)


def _run_in_process(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    from echelon_seed import cli, generators

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_path = list(sys.path)
    # A project's modules loaded before (by the test itself, or another project of the same package
    # name) are set aside, so the command imports the project its working directory names.
    saved_registry = dict(generators._REGISTRY)
    set_aside = {name: module for name, module in sys.modules.items() if _project_module(module)}
    for name in set_aside:
        del sys.modules[name]
    saved_modules = set(sys.modules)
    saved_masks = dict(generators._MASKS)
    for registry in (generators._REGISTRY, generators._MASKS):  # and so are the generators they registered
        for name, entry in list(registry.items()):
            if entry.function.__module__ in set_aside:
                del registry[name]
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    in_main_thread = threading.current_thread() is threading.main_thread()
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)} if in_main_thread else {}

    def call() -> int:
        with warnings.catch_warnings():
            warnings.resetwarnings()  # as in a fresh interpreter: shown on stderr, not raised
            warnings.simplefilter("default")
            try:
                return cli.main(argv)
            except SystemExit as exc:  # argparse: --help, --version, usage errors (as __main__ does)
                return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)

    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.stdin, sys.stdout, sys.stderr = io.TextIOWrapper(io.BytesIO()), out, err
    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            code = call()
        else:  # called from an async test: the command needs a thread (and a loop) of its own
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                code = pool.submit(call).result()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for signum, handler in saved_signals.items():
            signal.signal(signum, handler)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        forgotten = {name for name in set(sys.modules) - saved_modules if _project_module(sys.modules[name])}
        for name in forgotten:
            del sys.modules[name]
        kept = {
            name: entry for name, entry in generators._REGISTRY.items() if entry.function.__module__ not in forgotten
        }
        generators._REGISTRY.clear()
        generators._REGISTRY.update(kept | saved_registry)
        masks = {name: entry for name, entry in generators._MASKS.items() if entry.function.__module__ not in forgotten}
        generators._MASKS.clear()
        generators._MASKS.update(masks | saved_masks)
        sys.modules.update(set_aside)
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "echelon_seed", *argv],
        code,
        out.buffer.getvalue().decode("utf-8", "replace"),  # type: ignore[attr-defined]
        err.buffer.getvalue().decode("utf-8", "replace"),  # type: ignore[attr-defined]
    )


# The library, and the built-in project, which a process imports once like the library (re-importing its
# schema would make a second MetaData).
_KEPT = (str(REPO / "echelon_seed"), str(ECHELON / "echelon_project"), sys.prefix, sys.base_prefix)


def _project_module(module: Any) -> bool:
    """A module a project brought in (its models, generators): forgotten after the call, as a process would."""
    path = getattr(module, "__file__", None)
    return bool(path) and not str(path).startswith(_KEPT)


async def snapshot_bytes(url: str) -> bytes:
    """The canonical snapshot of `url`, in memory (fine for test-sized databases)."""
    out = io.BytesIO()
    await commands.snapshot(url, out)
    return out.getvalue()


async def replace_with_one_hand_made_user(url: str) -> None:
    """Leave the migrated schema holding one hand-made user and no seed record: "other data"."""
    await execute(
        url,
        *(t.delete() for t in reversed(schema.OWNED_TABLES)),
        schema.users.insert().values(
            id="USR_HAND",
            username="HandMade",
            email="hand@example.org",
            password_hash="x",
            tier="free",
            balance_usdc=Decimal("1.00"),
            balance_echelon=1,
            is_active=True,
            created_at=datetime(2025, 6, 1, tzinfo=UTC),
        ),
    )


# --- the canonical seed, cloned ------------------------------------------------------------------------

#: Per process (each xdist worker has its own): (engine, what, server) -> the template built once.
_TEMPLATES: dict[tuple[str, str, str], str] = {}
_ADMIN_URLS: dict[str, str] = {}


async def seed(url: str, *, anchor: datetime) -> None:
    """Give the empty test database `url` the built-in project's canonical seed at `anchor`.

    Row for row what `commands.apply(url, anchor=anchor)` writes (the seed record
    included; the stamp digests the modules loaded when the template was made),
    but copied from a template that one real `apply`
    seeded once per worker: a test whose subject is not the first apply then
    costs milliseconds instead of a seeding. Tests of apply itself call
    `commands.apply`.
    """
    await from_template(url, f"seed {anchor.isoformat()}", lambda template: commands.apply(template, anchor=anchor))


async def from_template(url: str, what: str, build: Callable[[str], Awaitable[object]]) -> None:
    """Make the empty test database `url` a copy of what `build(url)` writes, built once per worker and `what`.

    SQLite copies the template file (the backup API); PostgreSQL drops `url`'s
    database and makes it again from the template database, as `createdb -T` does.
    """
    from tests import pgserver

    if url.startswith("sqlite"):
        target = make_url(url).database or ""
        key = ("sqlite", what, "")
        template = _TEMPLATES.get(key)
        if template is None:
            import tempfile

            directory = Path(tempfile.mkdtemp(prefix="echelon-templates-"))
            template = str(directory / f"template_{len(_TEMPLATES)}.db")
            await build(f"sqlite:///{template}")
            _TEMPLATES[key] = template
        import sqlite3

        source, copy = sqlite3.connect(template), sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return
    parts = pgserver.connect_kwargs(url)
    admin = pgserver._with_database(url, "postgres")
    server = f"{parts['host']}:{parts['port']}"
    key = ("postgresql", what, server)
    template = _TEMPLATES.get(key)
    if template is None:
        template = f"tpl_{len(_TEMPLATES)}_{os.getpid()}"
        await _admin(admin, f'DROP DATABASE IF EXISTS "{template}"', f'CREATE DATABASE "{template}"')
        await build(pgserver._with_database(url, template))
        _TEMPLATES[key] = template
        _ADMIN_URLS[server] = admin
    if server not in _STRATEGIES:  # as pgserver.PgServer.copy_strategy: the files copied, not WAL-logged
        _STRATEGIES[server] = " STRATEGY FILE_COPY" if await _server_version(admin) >= 150000 else ""
    name = parts["database"]
    await _admin(
        admin,
        f'DROP DATABASE "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}" TEMPLATE "{template}"{_STRATEGIES[server]}',
    )


_STRATEGIES: dict[str, str] = {}


async def _server_version(admin_url: str) -> int:
    import asyncpg

    from tests import pgserver

    conn = await asyncpg.connect(**pgserver.connect_kwargs(admin_url), timeout=30)
    try:
        return int(await conn.fetchval("SELECT current_setting('server_version_num')::int"))
    finally:
        await conn.close()


async def _admin(admin_url: str, *statements: str) -> None:
    import asyncpg

    from tests import pgserver

    conn = await asyncpg.connect(**pgserver.connect_kwargs(admin_url), timeout=30)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def drop_templates(engine: str) -> None:
    """Drop this process's templates of `engine` (at the session's end: before its server stops)."""
    import shutil

    for key, name in list(_TEMPLATES.items()):
        if key[0] != engine:
            continue
        if engine == "sqlite":
            shutil.rmtree(Path(name).parent, ignore_errors=True)
        else:
            asyncio.run(_admin(_ADMIN_URLS[key[2]], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        del _TEMPLATES[key]
