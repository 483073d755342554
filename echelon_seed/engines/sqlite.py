"""SQLite: one file, one writer; bulk writes through executemany; the file's own integrity check."""

from __future__ import annotations

import asyncio
import functools
import os
import shlex
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Select, event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import Table

from echelon_seed import urls
from echelon_seed.errors import DatabaseError, LockTimeout

from .common import Backend, _sql, _translate_map, qualified


def _empty(conn: Connection) -> bool:
    return conn.exec_driver_sql("SELECT 1 FROM sqlite_master LIMIT 1").first() is None


def _keys_off(conn: Connection) -> bool:
    return int(conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one()) == 0


def _keys_after_data_if_empty(conn: Connection) -> None:
    """In a file without a schema (new, or empty), write with foreign keys off: `check_integrity` then checks every key once, at the end.

    Nothing but this transaction can have written a row of an empty file, so no
    key can be broken that the check before commit does not see, and no delete
    or update has an action to cascade. A key checked per row (an index lookup
    for each row and key) was two fifths of a large load's time; off, SQLite
    also copies a replayed table page by page (`engines.sqlite_replay`).
    Elsewhere the keys stay on, deferred to the commit.
    """
    conn.exec_driver_sql(f"PRAGMA foreign_keys={'OFF' if _empty(conn) else 'ON'}")


class SQLiteBackend(Backend):
    name = "sqlite"

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
                if write:
                    _keys_after_data_if_empty(conn)
                conn.exec_driver_sql(begin)
                if write and not _empty(conn) and _keys_off(conn):
                    # Another writer filled the file between our look and our lock: keys in place after all.
                    conn.exec_driver_sql("ROLLBACK")
                    conn.exec_driver_sql("PRAGMA foreign_keys=ON")
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
        # The next batch is asked for before this one is handed over: SQLite steps through it in the
        # driver's thread, without the GIL, while the caller turns this one into lines.
        ahead = asyncio.ensure_future(cursor.fetchmany(batch))
        try:
            while rows := await ahead:
                ahead = asyncio.ensure_future(cursor.fetchmany(batch))
                yield rows
        finally:
            if not ahead.done():
                ahead.cancel()
                await asyncio.wait([ahead])
            elif not ahead.cancelled():
                ahead.exception()  # seen, so that an error after the caller stopped is not reported again
            await cursor.close()

    async def forked_reader(self, conn: AsyncConnection) -> Callable[[], Any] | None:
        if _translate_map(conn):
            return None  # an attached schema: a new connection would not have it
        files = (await conn.exec_driver_sql("PRAGMA database_list")).all()
        path = next((str(tuple(row)[2]) for row in files if tuple(row)[1] == "main"), "")
        mode = str((await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()).lower()
        if not path or mode == "wal":
            return None  # in memory, or a WAL file: another connection may see later commits
        # The shared lock this read transaction holds (its reflection has read) is what keeps the
        # file as it is: in rollback-journal mode no writer commits while a reader holds one.
        timeout = float((await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()) / 1000
        found = os.stat(path)
        return functools.partial(_reader_connection, path, timeout, (found.st_dev, found.st_ino))

    async def check_integrity(self, conn: AsyncConnection) -> None:
        broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
        if broken:
            table, rowid, parent = tuple(broken[0])[:3]
            raise DatabaseError(
                f"{len(broken)} foreign key violation(s), first in table {table} (rowid {rowid}) "
                f"referencing {parent}; rolled back"
            )


def _reader_connection(path: str, timeout: float, identity: tuple[int, int]) -> sqlite3.Connection:
    """A read-only connection in a read transaction, as a forked snapshot reader opens it.

    Refused when the path no longer names the file the parent reads (replaced by a rename).
    """
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA query_only=ON")
    connection.execute("BEGIN")
    connection.execute("SELECT count(*) FROM sqlite_master").fetchall()  # the read transaction starts here
    found = os.stat(path)
    if (found.st_dev, found.st_ino) != identity:
        connection.close()
        raise DatabaseError(f"{path} was replaced by another file while the snapshot read it")
    return connection
