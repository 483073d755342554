"""What every engine shares: the URL as users write it, the Backend interface, names qualified
by the schema a Database was opened on.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, Select, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import Table
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import TableClause

from echelon_seed import urls
from echelon_seed.errors import ConfigError

DEFAULT_URL = "sqlite:///./dev.db"
# What a field of `Backend.text_lines` may not hold.
_UNFIT = re.compile("[\t\n\r\x01\x02]")
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
        """Write `lines` of COPY text into `table` (PostgreSQL, for the types its driver has no binary form for)."""
        raise NotImplementedError

    def stream(self, conn: AsyncConnection, query: Select[Any], batch: int) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """Rows of `query` in batches, as the driver returns them (no SQLAlchemy processing).

        Snapshots canonicalise by column type from raw driver values; skipping
        SQLAlchemy's per-value result processors is most of their speed.
        """
        raise NotImplementedError

    #: How `text_lines` spells NULL: a control character the snapshot's JSON text never holds as it is.
    TEXT_NULL = "\x02"

    async def text_lines(self, conn: AsyncConnection, query: Select[Any], sink: Callable[[bytes], None]) -> None:
        """Hand the rows of a query of text columns to `sink` as UTF-8 chunks of whole lines.

        Every chunk ends with a newline; fields are separated by a tab, NULL is
        `TEXT_NULL`, and the values are as they are, nothing escaped. They must
        hold no tab, line break, U+0001 or `TEXT_NULL` (the snapshot's JSON text
        escapes every control character): a value that does is refused with
        ValueError once every row has gone by. On PostgreSQL the lines come from
        COPY, which streams text at close to a raw read's speed.
        """
        refused = False
        async for rows in self.stream(conn, query, 5_000):
            lines = []
            for row in rows:
                texts = [None if value is None else str(value) for value in row]
                refused = refused or any(text is not None and _UNFIT.search(text) for text in texts)
                lines.append("\t".join(self.TEXT_NULL if text is None else text for text in texts))
            if lines and not refused:
                sink(("\n".join(lines) + "\n").encode("utf-8"))
        if refused:
            raise ValueError("a value holds a character the lines of text_lines cannot carry")

    async def writes_canonical_text(self, conn: AsyncConnection) -> bool:
        """Whether the snapshot has the database write the canonical text where it can (`snapshot_sql`).

        Only where that measured faster than Python writing it (docs/performance.md).
        """
        return False

    async def estimated_rows(self, conn: AsyncConnection, table: Table) -> int:
        """The table's rows as the planner's statistics have them (0 where there are none): cheap, not always exact."""
        return 0

    async def middle_value(self, conn: AsyncConnection, table: Table, column: ColumnElement[Any], rows: int) -> Any:
        """A value of `column` that about half of the table's `rows` lie below in `sort_key` order (None: no rows).

        Where two readers split a table: the cut only balances their work, so
        it may be approximate; the rows on each side are exact whatever it is.
        """
        query = select(column).select_from(table).order_by(self.sort_key(column)).offset(rows // 2).limit(1)
        return await conn.scalar(query)

    @asynccontextmanager
    async def second_reader(self, conn: AsyncConnection) -> AsyncIterator[AsyncConnection | None]:
        """Another connection that reads the very state `conn`'s read transaction reads, or None.

        Only PostgreSQL shares a snapshot between sessions (`pg_export_snapshot`).
        """
        yield None

    async def forked_reader(self, conn: AsyncConnection) -> Callable[[], Any] | None:
        """How a forked child opens a DB-API connection that reads the very state `conn` reads, or None.

        Only where the engine runs in this process and a second reader cannot
        see a later commit while `conn`'s read transaction lasts (SQLite with a
        rollback journal: `conn`'s shared lock keeps every writer from
        committing). The child's queries are `query_text`'s.
        """
        return None

    def query_text(self, conn: AsyncConnection, query: Select[Any]) -> str:
        """A parameterless SELECT as SQL text for a DB-API connection (`forked_reader`'s)."""
        return _sql(conn, query)

    async def existing_tables(self, conn: AsyncConnection) -> frozenset[int]:
        """The tables that exist before the migrations run, so that the ones this transaction creates are known."""
        return frozenset()

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
