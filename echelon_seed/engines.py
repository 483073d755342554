"""Everything that differs between SQLite and PostgreSQL, in one place.

Users write `sqlite:///./dev.db` and `postgresql://user:pass@host/db`; this
module maps them to the async drivers, opens connections configured so that
both engines behave alike (UTC sessions, foreign keys on, one writer at a
time) and provides the few operations whose SQL differs: the writer lock,
bulk insert (binary COPY or executemany), clearing tables and the integrity
check before commit. The rest of echelon-seed takes a connection from here
and never names an engine (`types` is the only other module that may).
"""

from __future__ import annotations

import os
import re
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
from urllib.parse import quote

import anyio
from sqlalchemy import Enum, Select, String, Text, cast, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import Table
from sqlalchemy.sql.elements import ColumnElement

from . import moments
from .errors import ConfigError, DatabaseError, EchelonSeedError, LockTimeout

__all__ = [
    "DEFAULT_URL",
    "Backend",
    "Database",
    "forget_secrets",
    "open_database",
    "parse_url",
    "redact",
    "scrub",
]

DEFAULT_URL = "sqlite:///./dev.db"
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
# pg_try_advisory_xact_lock(int4, int4): 'ECHS' and the project's key (1: the built-in project).
_LOCK_KEYS = (0x45434853, 1)
_CONNECT_TIMEOUT_S = 10


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


# Every password seen in a URL, so that any text leaving the process can be scrubbed.
_SECRETS: set[str] = set()
_UNENCODED_AT = re.compile(r"^[a-z][a-z0-9+.-]*://[^@\s?]*@[^@\s?]*@", re.IGNORECASE)
_PLACEHOLDER = "PASSWORD"  # the one password slot text our own examples may show
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)(?P<pw>[^@\s]*)(?P<at>@)", re.IGNORECASE)


def _remember(password: str | None) -> None:
    if password:
        _SECRETS.update({password, quote(password, safe=""), quote(password)})


def forget_secrets() -> None:
    """Drop the remembered passwords (for tests that start from a clean slate)."""
    _SECRETS.clear()


def scrub(message: str) -> str:
    """Remove every known password, and anything in a URL's password slot, from `message`."""
    cleaned = _URL_PASSWORD.sub(
        lambda m: m[0] if m["pw"] in ("***", _PLACEHOLDER) else f"{m['head']}***{m['at']}", message
    )
    for secret in sorted(_SECRETS, key=len, reverse=True):
        cleaned = cleaned.replace(secret, "***")
    return cleaned


def parse_url(raw: str) -> URL:
    """Map a URL as users write it to its async driver; refuse other engines clearly."""
    if _UNENCODED_AT.match(raw):
        # Parsed, such a URL splits the password into host and path, and any error would echo a piece of it.
        raise ConfigError(
            f"cannot parse database URL {raw.split(':', 1)[0]}://***: it has more than one '@' before the host; "
            "write '@' as %40, '/' as %2F, '%' as %25 and ':' as %3A in the user name and password"
        )
    password = _URL_PASSWORD.search(raw)
    if password:
        _remember(password["pw"])
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"cannot parse database URL {scrub(raw)!r}; expected sqlite:///path/to/file.db "
            f"or postgresql://user:{_PLACEHOLDER}@host:5432/dbname"
        ) from None
    _remember(url.password if isinstance(url.password, str) else None)
    backend = url.get_backend_name()
    if backend not in _DRIVERS:
        raise ConfigError(
            f"unsupported database {backend!r} in {redact(url)}; echelon-seed supports sqlite:/// and postgresql://"
        )
    drivername = _DRIVERS[backend]
    if url.drivername not in (backend, drivername) and backend != "postgres":
        raise ConfigError(
            f"unsupported driver {url.drivername!r} in {redact(url)}; use {backend}:// or {drivername}://"
        )
    if drivername == "sqlite+aiosqlite" and url.database in (None, "", ":memory:"):
        raise ConfigError(
            "an in-memory SQLite database cannot be seeded and read back; give a file: sqlite:///./dev.db"
        )
    return url.set(drivername=drivername)


def redact(url: URL | str) -> str:
    """Render a URL for people: the password, if any, is always `***`."""
    if isinstance(url, str):
        return scrub(url)
    # Shown as the user wrote it (postgresql://, not postgresql+asyncpg://).
    return scrub(url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True))


class Backend:
    """The operations whose SQL differs between engines; one subclass per engine."""

    name = ""

    def engine_options(self, url: URL, *, write: bool, lock_timeout: float) -> dict[str, Any]:
        return {}

    def configure(self, engine: AsyncEngine, *, write: bool, lock_timeout: float) -> None:
        """Install connection events (pragmas, BEGIN) on a new engine."""

    def read_options(self) -> dict[str, Any]:
        """Execution options of a consistent, read-only transaction."""
        return {}

    def check_readable(self, url: URL) -> None:
        """Refuse to read a database that does not exist, rather than create it."""

    def is_disposable(self, url: URL) -> bool:
        """Whether the target is plainly a developer's scratch database."""
        return False

    def sort_key(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """`column` as an ORDER BY term that sorts text by code point."""
        return column

    async def lock(self, conn: AsyncConnection, timeout: float, key: int = _LOCK_KEYS[1]) -> None:
        """Make this transaction the only writer of project `key`, waiting up to `timeout` seconds."""

    async def bulk_insert(
        self, conn: AsyncConnection, table: Table, rows: Iterable[Sequence[Any]], expected: int = 0
    ) -> None:
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
        preparer = conn.dialect.identifier_preparer
        for table in reversed(tables):
            await conn.exec_driver_sql(f"DELETE FROM {preparer.format_table(table)}")

    async def check_integrity(self, conn: AsyncConnection) -> None:
        """Fail before commit if the transaction broke a constraint the engine defers."""

    def recover(self, url: URL) -> None:
        """After a failed write transaction (its connection closed): finish what the engine left to its next opener."""


class SQLiteBackend(Backend):
    name = "sqlite"

    def engine_options(self, url: URL, *, write: bool, lock_timeout: float) -> dict[str, Any]:
        return {"connect_args": {"timeout": lock_timeout}}

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
            except OperationalError as exc:
                if write and "locked" in str(exc.orig):
                    raise LockTimeout(
                        "another writer holds this SQLite database (another 'echelon-seed apply', or any program "
                        f"in a write transaction); gave up after {lock_timeout:g} s (--lock-timeout)"
                    ) from None
                raise

    def check_readable(self, url: URL) -> None:
        path = Path(url.database or "")
        if not path.is_file():
            raise DatabaseError(f"no SQLite database at {path}; seed it first with 'echelon-seed apply'")

    def recover(self, url: URL) -> None:
        """Roll back a hot journal now rather than leave it to the next opener.

        A write that fails inside SQLite's pager (disk full, a file size limit,
        an I/O error) ends the transaction but leaves the pager in its error
        state: closing that connection keeps `<db>-journal` beside the file, and
        the database is whole again only once someone opens it. A fresh
        connection that reads plays the journal back and deletes it. Best effort:
        if another process holds the file, that process is the next opener.
        """
        database = url.database or ""
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

    def is_disposable(self, url: URL) -> bool:
        return True

    async def bulk_insert(
        self, conn: AsyncConnection, table: Table, rows: Iterable[Sequence[Any]], expected: int = 0
    ) -> None:
        preparer = conn.dialect.identifier_preparer
        columns = ", ".join(preparer.quote(c.name) for c in table.columns)
        marks = ", ".join("?" for _ in table.columns)
        sql = f"INSERT INTO {preparer.format_table(table)} ({columns}) VALUES ({marks})"
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

    def engine_options(self, url: URL, *, write: bool, lock_timeout: float) -> dict[str, Any]:
        role = "apply" if write else "read"
        return {
            "connect_args": {
                "timeout": _CONNECT_TIMEOUT_S,
                # Sessions in UTC whatever the server's default, so that no time zone leaks in.
                "server_settings": {"timezone": "UTC", "application_name": f"echelon-seed {role} pid={os.getpid()}"},
            }
        }

    def read_options(self) -> dict[str, Any]:
        return {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}

    def sort_key(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        # The database collation (en_US...) would put 'a' before 'B'; "C" is code point order.
        if isinstance(column.type, Enum):  # native enums sort by declaration order: use the label
            return cast(column, Text).collate("C")
        if isinstance(column.type, String):
            return column.collate("C")
        return column

    def is_disposable(self, url: URL) -> bool:
        host = url.host or url.query.get("host") or ""
        if isinstance(host, tuple):
            host = host[0]
        return host in ("", "localhost", "127.0.0.1", "::1") or host.startswith("/")

    async def lock(self, conn: AsyncConnection, timeout: float, key: int = _LOCK_KEYS[1]) -> None:
        # Polling a try-lock keeps the transaction usable after a timeout, so the
        # holder can be named; the xact lock dies with its holder's transaction.
        deadline = time.monotonic() + timeout
        delay = 0.05
        query = text("SELECT pg_try_advisory_xact_lock(:a, :b)").bindparams(a=_LOCK_KEYS[0], b=key)
        while not (await conn.execute(query)).scalar_one():
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"another writer holds the seed lock on this database ({await self._holder(conn, key)}); "
                    f"gave up after {timeout:g} s (--lock-timeout)"
                )
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _holder(self, conn: AsyncConnection, key: int) -> str:
        row = (
            await conn.execute(
                text(
                    "SELECT a.pid, a.application_name, a.client_addr::text, a.xact_start "
                    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
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
            table.name, records=rows, columns=[c.name for c in table.columns], schema_name=table.schema
        )

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
    """A parameterless SELECT as the dialect's SQL text (it holds only names from the schema)."""
    return str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


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
    """An engine for one target, with its backend; commands own its lifetime."""

    url: URL
    engine: AsyncEngine
    backend: Backend
    read_only: bool = False
    _committing: bool = False

    @property
    def display(self) -> str:
        return redact(self.url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed if the block ends normally, rolled back otherwise.

        Its end (commit or rollback, then close) runs shielded from cancellation.
        SIGINT/SIGTERM cancel the work; a cancelled rollback would make SQLAlchemy
        invalidate the connection instead, and aiosqlite's close after that can wait
        forever (Ctrl-C hung rather than exiting 130). Shielded, the rollback runs to
        its end, and a commit already under way completes.
        """
        manager = self._transaction()
        conn = await manager.__aenter__()
        try:
            yield conn
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                try:
                    await manager.__aexit__(type(exc), exc, exc.__traceback__)
                finally:
                    if not self.read_only:
                        self.backend.recover(self.url)
            raise
        self._committing = True
        try:
            with anyio.CancelScope(shield=True):
                await manager.__aexit__(None, None, None)
        except BaseException:
            if not self.read_only:  # a COMMIT that failed writing the file (disk full)
                self.backend.recover(self.url)
            raise
        finally:
            self._committing = False

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.connect() as conn:
                options = self.backend.read_options() if self.read_only else {}
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


def open_database(raw_url: str, *, write: bool, lock_timeout: float = 30.0) -> Database:
    """Create the engine for `raw_url`; nothing connects until a transaction starts."""
    url = parse_url(raw_url)
    backend = _BACKENDS[url.get_backend_name()]
    if not write:
        backend.check_readable(url)
    engine = create_async_engine(
        url, poolclass=NullPool, **backend.engine_options(url, write=write, lock_timeout=lock_timeout)
    )
    backend.configure(engine, write=write, lock_timeout=lock_timeout)
    return Database(url=url, engine=engine, backend=backend, read_only=not write)
