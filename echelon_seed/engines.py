"""Everything that differs between SQLite and PostgreSQL, in one place.

Users write `sqlite:///./dev.db` and `postgresql://user:pass@host/db`; `urls`
parses them once into a `Target`, and this module hands exactly that target to
the async drivers, opens connections configured so that
both engines behave alike (UTC sessions, foreign keys on, one writer at a
time) and provides the few operations whose SQL differs: the writer lock,
bulk insert (binary COPY or executemany), clearing tables and the integrity
check before commit. The rest of echelon-seed takes a connection from here
and never names an engine (`types` is the only other module that may).
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import sqlite3
import sys
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import ARRAY, Enum, MetaData, Numeric, Select, String, Text, cast, event, inspect, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import Table
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import TableClause

from . import drivers, moments, urls
from .errors import ConfigError, DatabaseError, EchelonSeedError, LockTimeout

__all__ = [
    "DEFAULT_URL",
    "Backend",
    "Database",
    "backend_of",
    "open_database",
    "parse_url",
    "qualified",
    "redact",
    "schema_of",
    "scrub",
    "sequences_sql",
    "table_names",
]

DEFAULT_URL = "sqlite:///./dev.db"
# pg_try_advisory_xact_lock(int4, int4): 'ECHS' and the project's key (1: the built-in project).
_LOCK_KEYS = (0x45434853, 1)


def _asyncpg() -> Any:
    """asyncpg if this process has loaded it (SQLAlchemy does, for a PostgreSQL URL), else None.

    Its errors exist only once it is loaded, so the error tuples below are
    built when needed: a SQLite command never imports asyncpg (a tenth of an
    already-seeded `apply`).
    """
    return sys.modules.get("asyncpg")


def _database_errors() -> tuple[type[BaseException], ...]:
    """What the database side can raise, the drivers' own errors included: we call them directly
    for COPY, executemany and cursors."""
    driver = _asyncpg()
    loaded = (driver.PostgresError, driver.InterfaceError) if driver is not None else ()
    return (DBAPIError, OSError, SQLAlchemyError, sqlite3.Error, *loaded)


def parse_url(raw: str) -> urls.Target:
    """The connection target of a URL as users write it (see `urls.parse`)."""
    return urls.parse(raw)


def redact(url: urls.Target | str) -> str:
    """A URL for people, as the driver uses it, with `***` for the password (scrubbed as written if unparseable)."""
    if isinstance(url, urls.Target):
        return url.display
    try:
        return urls.parse(url).display
    except ConfigError:
        return urls.scrub(url)


#: Hide the password of every URL in a message, by structure (see `urls.scrub`).
scrub = urls.scrub


class Backend:
    """The operations whose SQL differs between engines; one subclass per engine."""

    name = ""
    #: Whether tables live in named schemas (PostgreSQL) or one namespace per database (SQLite).
    has_schemas = False
    #: Whether large generated tables are made in a second process (`forked`): only where the
    #: engine itself runs in this one, so that the other core is free.
    rows_in_second_process = False
    #: Whether the engine reads COPY text, for the types its driver has no binary form for.
    copies_text = False

    def engine_options(
        self, target: urls.Target, *, write: bool, lock_timeout: float, schema: str | None
    ) -> dict[str, Any]:
        """`create_async_engine` arguments: the URL, and how to connect to `target`."""
        raise NotImplementedError

    def configure(self, engine: AsyncEngine, *, write: bool, lock_timeout: float) -> None:
        """Install connection events (pragmas, BEGIN) on a new engine."""

    def read_options(self) -> dict[str, Any]:
        """Execution options of a consistent, read-only transaction."""
        return {}

    def check_readable(self, target: urls.Target) -> None:
        """Refuse to read a database that does not exist, rather than create it."""

    def is_disposable(self, target: urls.Target) -> bool:
        """Whether the target is plainly a developer's scratch database (every host the driver may use is local)."""
        return target.is_local

    def sort_key(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """`column` as an ORDER BY term that sorts text by code point."""
        return column

    def read_term(self, column: ColumnElement[Any], how: str | None) -> ColumnElement[Any]:
        """`column` as a snapshot or an export reads it: `how` is `types.read_of` (None, "text", "numeric")."""
        return column

    async def lock(
        self, conn: AsyncConnection, timeout: float, key: int = _LOCK_KEYS[1], *, where: str = "this database"
    ) -> None:
        """Make this transaction the only writer of project `key`, waiting up to `timeout` seconds.

        `where` names the database in the timeout message (the Database's display of its target).
        """

    async def bulk_insert(
        self, conn: AsyncConnection, table: Table, rows: Iterable[Sequence[Any]], expected: int = 0
    ) -> None:
        raise NotImplementedError

    async def bulk_insert_text(self, conn: AsyncConnection, table: Table, lines: Iterable[str]) -> None:
        """Write `lines` of COPY text into `table` (only where `copies_text`)."""
        raise NotImplementedError

    def stream(self, conn: AsyncConnection, query: Select[Any], batch: int) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """Rows of `query` in batches, as the driver returns them (no SQLAlchemy processing).

        Snapshots canonicalise by column type from raw driver values; skipping
        SQLAlchemy's per-value result processors is most of their speed.
        """
        raise NotImplementedError

    async def clear(self, conn: AsyncConnection, tables: Sequence[Table]) -> None:
        """Delete every row of `tables` (children first), inside the caller's transaction.

        DELETE, not TRUNCATE: TRUNCATE is not MVCC-safe on PostgreSQL, so a
        concurrent snapshot could see empty tables; with DELETE it sees the old
        rows until we commit. No CASCADE: other tables are never touched.
        """
        for table in reversed(tables):
            await conn.exec_driver_sql(f"DELETE FROM {qualified(conn, table)}")

    async def check_integrity(self, conn: AsyncConnection) -> None:
        """Fail before commit if the transaction broke a constraint the engine defers."""

    def recover(self, target: urls.Target) -> None:
        """After a failed write transaction (its connection closed): finish what the engine left to its next opener."""

    async def may_read(self, conn: AsyncConnection, table: TableClause) -> bool:
        """Whether this role may SELECT from `table` (asking must not abort the transaction)."""
        return True

    def partitions(self, connection: Connection, schema: str | None) -> frozenset[str]:
        """The tables of `schema` that are partitions of another: their rows are read through the parent."""
        return frozenset()

    def create_tables(self, connection: Connection, metadata: MetaData, tables: Sequence[Table]) -> None:
        """Create `tables` of `metadata`, with the types they need that the database does not have yet."""
        metadata.create_all(connection, tables=list(tables))

    async def advance_sequences(self, conn: AsyncConnection, tables: Sequence[Table]) -> None:
        """Let the application's next INSERT without a key continue after the largest key written.

        Bulk writes with explicit keys never move a SERIAL/IDENTITY sequence
        (PostgreSQL) or an AUTOINCREMENT counter (SQLite, after a DELETE).
        """

    def run_script(self, connection: Connection, script: str) -> None:
        """Run a file of SQL statements (a project's plain-SQL migration) inside the caller's transaction."""
        raise NotImplementedError

    def is_new(self, target: urls.Target) -> bool:
        """Whether writing to `target` would create it (a SQLite file that does not exist yet)."""
        return False

    def discard_new(self, target: urls.Target) -> None:
        """After a failed first write: remove what connecting created, so the database is as it was (absent)."""


class SQLiteBackend(Backend):
    name = "sqlite"
    rows_in_second_process = True

    def engine_options(
        self, target: urls.Target, *, write: bool, lock_timeout: float, schema: str | None
    ) -> dict[str, Any]:
        return {"url": URL.create("sqlite+aiosqlite", database=target.path), "connect_args": {"timeout": lock_timeout}}

    def configure(self, engine: AsyncEngine, *, write: bool, lock_timeout: float) -> None:
        busy_ms = int(lock_timeout * 1000)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take BEGIN away from the driver so that we choose the kind of lock.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            if not write:
                cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        # A deferred transaction that reads first gets SQLITE_BUSY at once when it
        # later writes; IMMEDIATE takes the write lock up front and honours the timeout.
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            try:
                conn.exec_driver_sql(begin)
                if write:
                    # Foreign keys checked at COMMIT (and by `check_integrity` just before), as PostgreSQL
                    # checks a self-reference at the end of the COPY: children may precede their parents.
                    conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            except OperationalError as exc:
                if write and "locked" in str(exc.orig):
                    raise LockTimeout(
                        "another writer holds this SQLite database (another 'echelon-seed apply', or any program "
                        f"in a write transaction); gave up after {lock_timeout:g} s (--lock-timeout)"
                    ) from None
                raise

    def check_readable(self, target: urls.Target) -> None:
        path = Path(target.path)
        if not path.is_file():
            url = f"sqlite:///{path}" if path.is_absolute() else f"sqlite:///./{path}"
            raise DatabaseError(
                f"no SQLite database at {path}; seed it first: {shlex.join(['echelon-seed', 'apply', '--database-url', url])}"
            )

    def run_script(self, connection: Connection, script: str) -> None:
        # sqlite3's executescript would COMMIT first: statements one by one, cut where SQLite says one is whole.
        statement = ""
        for line in script.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                connection.exec_driver_sql(statement)
                statement = ""
        if statement.strip() and not sqlite3.complete_statement(statement + ";"):
            raise DatabaseError(f"incomplete SQL statement at the end of the script: {statement.strip()[:60]}")
        if statement.strip():
            connection.exec_driver_sql(statement)

    def is_new(self, target: urls.Target) -> bool:
        return target.path not in ("", ":memory:") and not Path(target.path).exists()

    def discard_new(self, target: urls.Target) -> None:
        # A rolled-back first transaction leaves a 0-byte file: nothing of it was ever committed.
        path = Path(target.path)
        try:
            if path.is_file() and path.stat().st_size == 0:
                path.unlink()
                for suffix in ("-journal", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        except OSError:
            pass

    def create_tables(self, connection: Connection, metadata: MetaData, tables: Sequence[Table]) -> None:
        # PostgreSQL's named types (a DOMAIN or ENUM given `with_variant(..., "postgresql")`) answer
        # SQLAlchemy's "does the type exist?" on every engine, and SQLite has no such question: on
        # SQLite the column is its base type, so the type counts as present and nothing is created.
        dialect: Any = connection.dialect
        if not hasattr(dialect, "has_type"):
            dialect.has_type = lambda *_args, **_kwargs: True
        metadata.create_all(connection, tables=list(tables))

    async def advance_sequences(self, conn: AsyncConnection, tables: Sequence[Table]) -> None:
        # Only AUTOINCREMENT tables keep a counter, in sqlite_sequence; it survives a DELETE, so after
        # `apply --force` it would still count the old rows. The others take max(rowid) + 1 anyway.
        exists = await conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
        )
        if exists.first() is None:
            return
        counted = {row[0] for row in (await conn.exec_driver_sql("SELECT name FROM sqlite_sequence")).all()}
        for table in tables:
            if table.name not in counted:
                continue
            await conn.exec_driver_sql(
                f"UPDATE sqlite_sequence SET seq = (SELECT coalesce(max(rowid), 0) FROM {qualified(conn, table)}) "
                "WHERE name = ?",
                (table.name,),
            )

    def recover(self, target: urls.Target) -> None:
        """Roll back a hot journal now rather than leave it to the next opener.

        A write that fails inside SQLite's pager (disk full, a file size limit,
        an I/O error) ends the transaction but leaves the pager in its error
        state: closing that connection keeps `<db>-journal` beside the file, and
        the database is whole again only once someone opens it. A fresh
        connection that reads plays the journal back and deletes it. Best effort:
        if another process holds the file, that process is the next opener.
        """
        database = target.path or ""
        if database in ("", ":memory:") or not Path(f"{database}-journal").exists():
            return
        try:
            opener = sqlite3.connect(database, timeout=1.0)
            try:
                opener.execute("SELECT count(*) FROM sqlite_master").fetchall()
            finally:
                opener.close()
        except sqlite3.Error:
            pass

    async def bulk_insert(
        self, conn: AsyncConnection, table: Table, rows: Iterable[Sequence[Any]], expected: int = 0
    ) -> None:
        preparer = conn.dialect.identifier_preparer
        columns = ", ".join(preparer.quote(c.name) for c in table.columns)
        marks = ", ".join("?" for _ in table.columns)
        sql = f"INSERT INTO {qualified(conn, table)} ({columns}) VALUES ({marks})"
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.executemany(sql, rows)

    async def stream(
        self, conn: AsyncConnection, query: Select[Any], batch: int
    ) -> AsyncIterator[Sequence[Sequence[Any]]]:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        cursor = await driver.execute(_sql(conn, query))
        try:
            while rows := await cursor.fetchmany(batch):
                yield rows
        finally:
            await cursor.close()

    async def check_integrity(self, conn: AsyncConnection) -> None:
        broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
        if broken:
            table, rowid, parent = tuple(broken[0])[:3]
            raise DatabaseError(
                f"{len(broken)} foreign key violation(s), first in table {table} (rowid {rowid}) "
                f"referencing {parent}; rolled back"
            )


class PostgresBackend(Backend):
    name = "postgresql"
    has_schemas = True
    copies_text = True

    def engine_options(
        self, target: urls.Target, *, write: bool, lock_timeout: float, schema: str | None
    ) -> dict[str, Any]:
        role = "apply" if write else "read"
        settings = {
            # Sessions in UTC whatever the server's default, so that no time zone leaks in.
            "timezone": "UTC",
        }
        if schema is not None:
            # Our statements name their schema; pinning the session's path as well keeps what
            # others write by bare name (a project's Alembic `op.alter_column`) in the same schema,
            # whatever `ALTER DATABASE ... SET search_path` says.
            settings["search_path"] = _quote_identifier(schema)
        if "application_name" not in target.params:
            settings["application_name"] = f"echelon-seed {role} pid={os.getpid()}"
        kwargs = target.connect_kwargs(server_settings=settings)

        driver = drivers.asyncpg()  # PostgreSQL only: a SQLite command never loads the driver

        async def connect() -> Any:
            return await driver.connect(**kwargs)

        # The driver gets exactly the parsed target: nothing is read again from a URL string.
        return {"url": "postgresql+asyncpg://", "async_creator": connect}

    def read_options(self) -> dict[str, Any]:
        return {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}

    def sort_key(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        # The database collation (en_US...) would put 'a' before 'B'; "C" is code point order.
        if isinstance(column.type, Enum):  # native enums sort by declaration order: use the label
            return cast(column, Text).collate("C")
        if isinstance(column.type, String):
            return column.collate("C")
        return column

    def read_term(self, column: ColumnElement[Any], how: str | None) -> ColumnElement[Any]:
        # numeric's own text ("10.50", "NaN", "Infinity") is what the canonical decimal starts from
        # anyway: reading it as text spares the driver a Decimal per value and the snapshot a str() of it.
        # The types the driver decodes into its own objects (inet, ranges, bits) are read as the
        # server prints them, which is their canonical text; money through numeric (no currency sign).
        if how is None:
            return column
        array = isinstance(column.type, ARRAY)
        if how == "numeric":
            return cast(column, ARRAY(Numeric)) if array else cast(cast(column, Numeric), Text)
        return cast(column, ARRAY(Text) if array else Text)

    async def lock(
        self, conn: AsyncConnection, timeout: float, key: int = _LOCK_KEYS[1], *, where: str = "this database"
    ) -> None:
        # Polling a try-lock keeps the transaction usable after a timeout, so the
        # holder can be named; the xact lock dies with its holder's transaction.
        deadline = time.monotonic() + timeout
        delay = 0.05
        query = text("SELECT pg_catalog.pg_try_advisory_xact_lock(:a, :b)").bindparams(a=_LOCK_KEYS[0], b=key)
        while not (await conn.execute(query)).scalar_one():
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"another writer holds the seed lock on {where} ({await self._holder(conn, key)}); "
                    f"gave up after {timeout:g} s (--lock-timeout)"
                )
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _holder(self, conn: AsyncConnection, key: int) -> str:
        row = (
            await conn.execute(
                text(
                    "SELECT a.pid, a.application_name, a.client_addr::text, a.xact_start "
                    "FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :a AND l.objid = :b"
                ).bindparams(a=_LOCK_KEYS[0], b=key)
            )
        ).first()
        if row is None:
            return "holder not visible to this role"
        app = row.application_name or "unnamed client"
        since = row.xact_start.isoformat(timespec="seconds") if row.xact_start else "unknown"
        return f"server pid {row.pid}, '{app}' from {row.client_addr or 'local socket'}, since {since}"

    async def bulk_insert(
        self, conn: AsyncConnection, table: Table, rows: Iterable[Sequence[Any]], expected: int = 0
    ) -> None:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        # COPY outside our transaction would commit on its own: never let it.
        if not driver.is_in_transaction():
            raise DatabaseError("internal: COPY attempted outside the seeding transaction")
        # Foreign keys stay in place and are checked row by row. Dropping and re-adding
        # them (as pg_restore does) is faster, but ALTER TABLE takes an AccessExclusive
        # lock that deadlocked with readers holding AccessShare on tables they had
        # already read, and it needs table ownership. COPY takes only RowExclusive,
        # which no reader's lock conflicts with.
        await driver.copy_records_to_table(
            table.name, records=rows, columns=[c.name for c in table.columns], schema_name=schema_of(conn, table)
        )

    async def bulk_insert_text(self, conn: AsyncConnection, table: Table, lines: Iterable[str]) -> None:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        if not driver.is_in_transaction():
            raise DatabaseError("internal: COPY attempted outside the seeding transaction")

        async def chunks() -> AsyncIterator[bytes]:
            batch: list[str] = []
            for line in lines:
                batch.append(line)
                if len(batch) == 2_000:
                    yield ("\n".join(batch) + "\n").encode("utf-8")
                    batch = []
            if batch:
                yield ("\n".join(batch) + "\n").encode("utf-8")

        await driver.copy_to_table(
            table.name,
            source=chunks(),
            columns=[c.name for c in table.columns],
            schema_name=schema_of(conn, table),
            format="text",
        )

    def partitions(self, connection: Connection, schema: str | None) -> frozenset[str]:
        query = text(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relispartition AND n.nspname = :schema"
        ).bindparams(schema=schema or "public")
        return frozenset(connection.execute(query).scalars())

    def create_tables(self, connection: Connection, metadata: MetaData, tables: Sequence[Table]) -> None:
        # A reflected DOMAIN or ENUM is told not to create itself (create_type=False), and one given by
        # `with_variant` is not attached to the metadata: create every named type the columns use
        # first, enums before the domains that may be built on them; one that exists is used as it is.
        from sqlalchemy.dialects.postgresql import DOMAIN
        from sqlalchemy.dialects.postgresql.named_types import NamedType

        named: dict[tuple[str | None, str], Any] = {}
        for table in tables:
            for column in table.columns:
                type_ = column.type.dialect_impl(connection.dialect)
                variant = getattr(column.type, "_variant_mapping", {}).get(self.name)
                for candidate in (variant, type_):
                    if isinstance(candidate, NamedType):
                        found: Any = candidate
                        named.setdefault((found.schema, found.name), found)
        for type_ in sorted(named.values(), key=lambda t: isinstance(t, DOMAIN)):
            type_.create(connection, checkfirst=True)
        metadata.create_all(connection, tables=list(tables))

    def run_script(self, connection: Connection, script: str) -> None:
        from sqlalchemy.util import await_only

        # The simple-query protocol runs several statements at once, in the transaction already open.
        driver = connection.connection.driver_connection
        assert driver is not None
        await_only(driver.execute(script))

    async def advance_sequences(self, conn: AsyncConnection, tables: Sequence[Table]) -> None:
        if tables:
            await conn.exec_driver_sql(sequences_sql(schema_of(conn, tables[0]) or "public", [t.name for t in tables]))

    async def may_read(self, conn: AsyncConnection, table: TableClause) -> bool:
        # A refused SELECT would abort the transaction: ask first.
        name = f"{_quote_identifier(schema_of(conn, table) or 'public')}.{_quote_identifier(table.name)}"
        query = text("SELECT pg_catalog.has_table_privilege(:name, 'SELECT')").bindparams(name=name)
        return bool((await conn.execute(query)).scalar_one())

    async def stream(
        self, conn: AsyncConnection, query: Select[Any], batch: int
    ) -> AsyncIterator[Sequence[Sequence[Any]]]:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        await _read_every_moment(driver)
        # A server-side cursor (we are inside the read transaction): memory stays flat.
        cursor = await driver.cursor(_sql(conn, query))
        while rows := await cursor.fetch(batch):
            yield rows


def sequences_sql(schema: str, tables: Sequence[str]) -> str:
    """One PostgreSQL statement moving every sequence owned by a column of `tables` past that column's largest value.

    Owned means SERIAL (dependency 'a') or IDENTITY ('i'); an empty column
    puts its sequence back at its start. `apply` runs it and `export-sql`
    writes it, so both leave the application's next INSERT working. setval
    is not undone by a rollback: a failed seed leaves a sequence ahead, never behind.
    """
    names = ", ".join(_literal(name) for name in tables)
    return (
        "DO $echelon_seed$\nDECLARE r record; top bigint;\nBEGIN\n"
        "  FOR r IN\n"
        "    SELECT t.relname AS table_name, a.attname AS column_name, s.oid::regclass AS seq, q.seqstart AS start\n"
        "    FROM pg_catalog.pg_depend d\n"
        "    JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'\n"
        "    JOIN pg_catalog.pg_sequence q ON q.seqrelid = s.oid\n"
        "    JOIN pg_catalog.pg_class t ON t.oid = d.refobjid\n"
        "    JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace\n"
        "    JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid\n"
        "    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass\n"
        f"      AND d.deptype IN ('a', 'i') AND n.nspname = {_literal(schema)} AND t.relname IN ({names})\n"
        "    ORDER BY t.relname, a.attname\n"
        "  LOOP\n"
        f"    EXECUTE format('SELECT max(%I) FROM %I.%I', r.column_name, {_literal(schema)}, r.table_name) INTO top;\n"
        "    IF top IS NULL OR top < r.start THEN\n"
        "      PERFORM pg_catalog.setval(r.seq, r.start, false);\n"
        "    ELSE\n"
        "      PERFORM pg_catalog.setval(r.seq, top, true);\n"
        "    END IF;\n"
        "  END LOOP;\n"
        "END $echelon_seed$"
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def backend_of(connection: AsyncConnection | Connection) -> Backend:
    """The backend of the engine `connection` belongs to."""
    return _BACKENDS[connection.dialect.name]


def table_names(connection: Connection) -> list[str]:
    """The tables of the connection's schema, partitions left out (their parent holds their rows), sorted."""
    schema = schema_of(connection)
    backend = _BACKENDS[connection.dialect.name]
    names = inspect(connection).get_table_names(schema=schema)
    partitions = backend.partitions(connection, schema)
    return sorted(name for name in names if name not in partitions)


_MOMENT_CODECS: weakref.WeakSet[Any] = weakref.WeakSet()


async def _read_every_moment(driver: Any) -> None:
    """Decode timestamps and dates so that infinity and years outside 1..9999 survive (`moments`).

    asyncpg's own decoders read 'infinity' as 9999-12-31 and fail on a BC date;
    these take the server's integers instead. Set once per connection, on the
    connections that stream snapshots.
    """
    if driver in _MOMENT_CODECS:
        return
    for name, (encoder, decoder) in moments.decoders().items():
        await driver.set_type_codec(name, schema="pg_catalog", encoder=encoder, decoder=decoder, format="tuple")
    _MOMENT_CODECS.add(driver)


def _sql(conn: AsyncConnection, query: Select[Any]) -> str:
    """A parameterless SELECT as the dialect's SQL text (it holds only names from the schema), schema-qualified."""
    translate = _translate_map(conn)
    compiled = query.compile(
        dialect=conn.dialect,
        schema_translate_map=translate,
        render_schema_translate=bool(translate),
        compile_kwargs={"literal_binds": True},
    )
    return str(compiled)


def _translate_map(conn: AsyncConnection | Connection) -> dict[str | None, str | None]:
    sync = conn.sync_connection if isinstance(conn, AsyncConnection) else conn
    assert sync is not None
    mapping: dict[str | None, str | None] = sync.get_execution_options().get("schema_translate_map") or {}
    return mapping


def schema_of(conn: AsyncConnection | Connection, table: TableClause | None = None) -> str | None:
    """The schema `table` (else any table of the project) lives in on `conn`: the Database's schema for ours.

    None on SQLite, which has one namespace per file.
    """
    default = None if table is None else table.schema
    return _translate_map(conn).get(default, default)


def qualified(conn: AsyncConnection | Connection, table: TableClause) -> str:
    """`"schema"."table"` for the SQL text we write ourselves, so that no search_path is involved."""
    preparer = conn.dialect.identifier_preparer
    schema = schema_of(conn, table)
    name = preparer.quote(table.name)
    return f"{preparer.quote_schema(schema)}.{name}" if schema else name


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_BACKENDS: dict[str, Backend] = {"sqlite": SQLiteBackend(), "postgresql": PostgresBackend()}


def describe_error(exc: BaseException) -> str:
    """One line for a driver or SQLAlchemy error, without SQL noise or secrets."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        message = str(exc.orig)
    elif isinstance(exc, ConnectionRefusedError | TimeoutError | socket.gaierror):
        message = f"cannot connect: {exc.strerror or exc}"
    elif isinstance(exc, SQLAlchemyError):
        message = str(exc).split("\n")[0]
    else:
        message = str(exc) or type(exc).__name__
    message = re.sub(r"^<class '[\w.]+'>: ", "", message).split("\n")[0]
    return scrub(message)


def _lost_and_interface() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """The errors that mean the server ended the session (terminated, shut down, timed out) or the
    socket went away; and the driver's interface errors, which say so only in their text."""
    driver = _asyncpg()
    if driver is None:
        return (ConnectionResetError, BrokenPipeError), ()
    lost = (
        driver.ConnectionDoesNotExistError,
        driver.exceptions.AdminShutdownError,
        driver.exceptions.IdleInTransactionSessionTimeoutError,
        driver.exceptions.CannotConnectNowError,
        ConnectionResetError,
        BrokenPipeError,
    )
    return lost, (driver.InterfaceError,)


_CLOSED = re.compile(r"connection (is|was) closed|underlying connection is closed|connection does not exist", re.I)


def _connection_lost(exc: BaseException) -> str | None:
    """What to say when `exc` (or an error it arose from) means the server went away, else None.

    The error that surfaces is often the failed rollback after the loss
    ("cannot call Transaction.rollback(): the underlying connection is
    closed"); the server's own reason, when it sent one, is further down the
    chain, and is what we show.
    """
    lost = False
    lost_errors, interface_errors = _lost_and_interface()
    seen: BaseException | None = exc
    while seen is not None:
        orig: BaseException = seen.orig if isinstance(seen, DBAPIError) and seen.orig is not None else seen
        if isinstance(orig, lost_errors):
            return describe_error(orig) or type(orig).__name__
        if (isinstance(seen, DBAPIError) and seen.connection_invalidated) or (
            isinstance(orig, interface_errors) and _CLOSED.search(str(orig))
        ):
            lost = True
        seen = seen.__cause__ or seen.__context__
    return "no reason received" if lost else None


def _never_sent(exc: BaseException) -> bool:
    """Whether the driver refused the call because the connection was already closed (nothing reached the server)."""
    seen: BaseException | None = exc
    while seen is not None:
        if "cannot call" in str(seen) and "connection is closed" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass
class Database:
    """An engine for one target, with its backend; commands own its lifetime.

    `target` is the parsed URL: the driver connects to it, `display` shows it,
    and `--force` judges it, so no part of the URL can steer one elsewhere.
    `schema` is where the project's tables live on PostgreSQL (None on
    SQLite). Every statement names it: our tables through SQLAlchemy's schema
    translation, our own SQL text through `qualified`, COPY through its schema
    argument, reflection and Alembic's version table through their schema
    arguments; the session's search_path is pinned to it as well.
    """

    target: urls.Target
    engine: AsyncEngine
    backend: Backend
    read_only: bool = False
    schema: str | None = None
    _committing: bool = False

    @property
    def display(self) -> str:
        return self.target.display

    async def lock(self, conn: AsyncConnection, timeout: float, key: int = _LOCK_KEYS[1]) -> None:
        """The backend's writer lock, its timeout message naming this database."""
        await self.backend.lock(conn, timeout, key, where=self.display)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed if the block ends normally, rolled back otherwise.

        Its end (commit or rollback, then close) runs shielded from cancellation.
        SIGINT/SIGTERM cancel the work; a cancelled rollback would make SQLAlchemy
        invalidate the connection instead, and aiosqlite's close after that can wait
        forever (Ctrl-C hung rather than exiting 130). Shielded, the rollback runs to
        its end, and a commit already under way completes.
        """
        fresh = not self.read_only and self.backend.is_new(self.target)
        manager = self._transaction()
        conn = await manager.__aenter__()  # a failed BEGIN IMMEDIATE: another writer has the file, leave it
        try:
            yield conn
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                try:
                    await manager.__aexit__(type(exc), exc, exc.__traceback__)
                finally:
                    if not self.read_only:
                        self.backend.recover(self.target)
                    if fresh:
                        await self.engine.dispose()
                        self.backend.discard_new(self.target)
            raise
        self._committing = True
        try:
            with anyio.CancelScope(shield=True):
                await manager.__aexit__(None, None, None)
        except BaseException:
            if not self.read_only:  # a COMMIT that failed writing the file (disk full)
                self.backend.recover(self.target)
            raise
        finally:
            self._committing = False

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.connect() as conn:
                options = self.backend.read_options() if self.read_only else {}
                if self.schema is not None:
                    options["schema_translate_map"] = {None: self.schema}
                if options:
                    conn = await conn.execution_options(**options)
                async with conn.begin():
                    yield conn
        except (EchelonSeedError, BrokenPipeError):  # a closed stdout is the reader's business, not the database's
            raise
        except _database_errors() as exc:
            detail = _connection_lost(exc)
            if detail is None:
                raise DatabaseError(f"{self.display}: {describe_error(exc)}") from None
            # Only a COMMIT that reached the server and got no answer may have committed.
            unknown = self._committing and not self.read_only and not _never_sent(exc)
            outcome = (
                "the commit's outcome is unknown: run 'echelon-seed verify' or 'apply' again"
                if unknown
                else "nothing was committed"
            )
            raise DatabaseError(f"{self.display}: the server closed the connection ({detail}); {outcome}") from None

    async def dispose(self) -> None:
        """Close the engine, even when a signal has cancelled the work (see `transaction`)."""
        with anyio.CancelScope(shield=True):
            await self.engine.dispose()


def open_database(raw_url: str, *, write: bool, lock_timeout: float = 30.0, schema: str = "public") -> Database:
    """Create the engine for `raw_url`; nothing connects until a transaction starts.

    `schema` is where the project's tables are on PostgreSQL (a Project's
    `schema`); SQLite has one namespace per file and ignores it.
    """
    target = urls.parse(raw_url)
    backend = _BACKENDS[target.engine]
    if not write:
        backend.check_readable(target)
    chosen = schema if backend.has_schemas else None
    options = backend.engine_options(target, write=write, lock_timeout=lock_timeout, schema=chosen)
    engine = create_async_engine(options.pop("url"), poolclass=NullPool, **options)
    backend.configure(engine, write=write, lock_timeout=lock_timeout)
    return Database(target=target, engine=engine, backend=backend, read_only=not write, schema=chosen)
