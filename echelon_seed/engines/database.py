"""A database as a command opens it: one engine, one writer's transaction, errors in one line."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from echelon_seed import urls
from echelon_seed.errors import DatabaseError, EchelonSeedError

from .common import _LOCK_KEYS, Backend, _asyncpg, _database_errors, schema_of, scrub
from .pg_writer import PostgresWriter
from .postgresql import PostgresBackend
from .sqlite import SQLiteBackend
from .sqlite_writer import SQLiteWriter
from .writer import Writer

_BACKENDS: dict[str, Backend] = {"sqlite": SQLiteBackend(), "postgresql": PostgresBackend()}
_WRITERS: dict[str, Writer] = {
    "sqlite": SQLiteWriter(_BACKENDS["sqlite"]),
    "postgresql": PostgresWriter(_BACKENDS["postgresql"]),
}


def backend_of(connection: AsyncConnection | Connection) -> Backend:
    """The backend of the engine `connection` belongs to."""
    return _BACKENDS[connection.dialect.name]


def writer_of(backend: Backend) -> Writer:
    """The writer that `apply` hands its plan to on `backend`'s engine (`writer`)."""
    return _WRITERS[backend.name]


def table_names(connection: Connection) -> list[str]:
    """The tables of the connection's schema, partitions left out (their parent holds their rows), sorted."""
    schema = schema_of(connection)
    backend = _BACKENDS[connection.dialect.name]
    names = inspect(connection).get_table_names(schema=schema)
    partitions = backend.partitions(connection, schema)
    return sorted(name for name in names if name not in partitions)


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
