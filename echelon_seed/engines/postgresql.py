"""PostgreSQL: binary COPY, the advisory writer lock, sequences, partitions, named types."""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from sqlalchemy import (
    ARRAY,
    Enum,
    MetaData,
    Numeric,
    Select,
    String,
    Text,
    cast,
    func,
    literal,
    select,
    tablesample,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import Table
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import TableClause

from echelon_seed import drivers, moments, urls
from echelon_seed.errors import DatabaseError, LockTimeout

from . import pg_keys
from .common import _LOCK_KEYS, Backend, _quote_identifier, _sql, _translate_map, qualified, schema_of


class PostgresBackend(Backend):
    name = "postgresql"
    has_schemas = True

    def engine_options(
        self, target: urls.Target, *, write: bool, lock_timeout: float, schema: str | None
    ) -> dict[str, Any]:
        role = "apply" if write else "read"
        settings = {
            # Sessions in UTC whatever the server's default, so that no time zone leaks in.
            "timezone": "UTC",
            # Floats as the shortest exact text, whatever the database's default: the snapshot's
            # canonical text of a double is made from it (`types.numbers`).
            "extra_float_digits": "1",
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
        # On tables others can see, foreign keys stay in place and are checked row by row:
        # ALTER TABLE takes an AccessExclusive lock that deadlocked with readers holding
        # AccessShare on tables they had already read, and it needs table ownership. COPY
        # takes only RowExclusive. Tables this transaction created get their keys after
        # the data instead (`keys_after_data`).
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

    async def existing_tables(self, conn: AsyncConnection) -> frozenset[int]:
        return await pg_keys.existing(conn)

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

    async def text_lines(self, conn: AsyncConnection, query: Select[Any], sink: Callable[[bytes], None]) -> None:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        pending = b""
        refused = False

        # CSV under a quote character no value holds: the server quotes a field only when it holds
        # a delimiter, a line break or that character, and escapes nothing else (COPY's text form
        # doubles every backslash, which the JSON of every quote in a text holds, and those then
        # had to be undone here). A quote character in the stream is such a value: refused.
        async def take(data: bytes) -> None:
            nonlocal pending, refused
            data = pending + data
            cut = data.rfind(b"\n") + 1
            pending = data[cut:]
            if cut and not refused:
                if b"\x01" in data:
                    refused = True  # COPY runs to its end: stopping it midway would break the transaction
                else:
                    sink(data[:cut])

        await driver.copy_from_query(
            _sql(conn, query), output=take, format="csv", delimiter="\t", quote="\x01", null=self.TEXT_NULL
        )
        if pending:
            raise DatabaseError("internal: COPY ended inside a row")
        if refused:
            raise ValueError("a value holds a character the lines of text_lines cannot carry")

    async def writes_canonical_text(self, conn: AsyncConnection) -> bool:
        # From PostgreSQL 14 on: extract() gives exact numeric (a double before), trim_scale exists (13).
        version = (await conn.exec_driver_sql("SHOW server_version_num")).scalar_one()
        return int(version) >= 140_000

    async def estimated_rows(self, conn: AsyncConnection, table: Table) -> int:
        name = f"{_quote_identifier(schema_of(conn, table) or 'public')}.{_quote_identifier(table.name)}"
        query = text("SELECT reltuples FROM pg_catalog.pg_class WHERE oid = to_regclass(:name)").bindparams(name=name)
        estimate = (await conn.execute(query)).scalar()
        if estimate is not None and estimate < 0:  # never analysed (a seed just committed): count
            estimate = (await conn.exec_driver_sql(f"SELECT count(*) FROM {qualified(conn, table)}")).scalar()
        return max(0, int(estimate or 0))

    async def middle_value(self, conn: AsyncConnection, table: Table, column: ColumnElement[Any], rows: int) -> Any:
        # The median of a sample of about 10,000 rows (whole pages, the same ones every time):
        # sorting every key to find the exact middle cost a tenth of reading the table.
        if rows < 100_000:
            return await super().middle_value(conn, table, column, rows)
        percent = 1_000_000 / rows
        sampled = tablesample(table, func.system(percent), name="echelon-seed sample", seed=literal(0))
        term = self.sort_key(sampled.columns[column.name])
        middle = await conn.scalar(select(func.percentile_disc(0.5).within_group(term)).select_from(sampled))
        return middle if middle is not None else await super().middle_value(conn, table, column, rows)

    @asynccontextmanager
    async def second_reader(self, conn: AsyncConnection) -> AsyncIterator[AsyncConnection | None]:
        if (await conn.exec_driver_sql("SELECT pg_catalog.pg_is_in_recovery()")).scalar_one():
            yield None  # a standby exports no snapshot
            return
        exported = (await conn.exec_driver_sql("SELECT pg_catalog.pg_export_snapshot()")).scalar_one()
        async with AsyncExitStack() as stack:
            try:
                other: AsyncConnection | None = await stack.enter_async_context(conn.engine.connect())
            except (DBAPIError, OSError):  # no second connection to be had (max_connections): one reader
                other = None
            if other is not None:
                options = self.read_options()
                translate = _translate_map(conn)
                if translate:
                    options["schema_translate_map"] = translate
                other = await other.execution_options(**options)
                await stack.enter_async_context(other.begin())
                # The first statement of its transaction, as PostgreSQL requires.
                await other.exec_driver_sql(f"SET TRANSACTION SNAPSHOT {_literal(str(exported))}")
                # Two sessions already read the table; parallel workers under each would pass
                # every long line through a shared-memory queue once more (measured: more server
                # CPU, and a slower snapshot, on two cores).
                for reader in (conn, other):
                    await reader.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
            yield other
            if other is not None:  # the rest of the read as the server would plan it (not after an error:
                # a failed transaction takes no more statements, and the error is the news)
                await conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")


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
