"""PostgreSQL's writer: binary COPY per table, COPY text where a type has no binary form, keys after the data.

The server works on the other core already, so rows are made here (a
forked child only competed with it). Tables this transaction created get
their keys after the data where `pg_keys` can take them off and put them
back exactly: no other session can see those tables, and one check per key
after the load costs the server far less than one per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import Table

from echelon_seed import progress, types

from . import pg_keys
from .common import schema_of
from .writer import PlannedTable, Writer, adapted

__all__ = ["PostgresWriter"]


class PostgresWriter(Writer):
    def loading(
        self, conn: AsyncConnection, tables: Sequence[Table], existing: frozenset[int] | None
    ) -> AbstractAsyncContextManager[object]:
        if existing is None or not tables:
            return nullcontext()
        schema = schema_of(conn, tables[0]) or "public"
        return pg_keys.keys_after_data(conn, schema, [t.name for t in tables], existing)

    async def insert(self, conn: AsyncConnection, planned: PlannedTable, advance: Callable[[int], None]) -> None:
        table = planned.table
        if any(types.text_copy(c.type) for c in table.columns):
            # A type the driver has no binary form for: the whole table goes through COPY text.
            line = types.copy_row(table)
            await self.backend.bulk_insert_text(conn, table, progress.counted(map(line, planned.rows()), advance))
            return
        rows = adapted(planned.rows(), conn.dialect, table)
        await self.backend.bulk_insert(conn, table, progress.counted(rows, advance), expected=planned.total)
