"""SQLite's writer: one executemany per table, a large generated table made on the other core.

SQLite runs inside this process, so a big table costs this core twice per
row (making and adapting it, then sqlite3's executemany); `forked` moves the
first half to a child. A cycle's table stays in-process: its holdback
records the held-back keys as the rows pass.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from echelon_seed import forked, progress

from .writer import PlannedTable, Writer, adapted

__all__ = ["SQLiteWriter"]


class SQLiteWriter(Writer):
    async def insert(self, conn: AsyncConnection, planned: PlannedTable, advance: Callable[[int], None]) -> None:
        rows = adapted(planned.rows(), conn.dialect, planned.table)
        if planned.total >= forked.THRESHOLD and planned.holdback is None and forked.available():
            rows = forked.rows(rows)  # made on the other core while this one writes
        await self.backend.bulk_insert(conn, planned.table, progress.counted(rows, advance), expected=planned.total)
