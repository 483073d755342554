"""Generated rows kept and replayed on PostgreSQL: one binary COPY file per table, as the server wrote it.

Kept: after the seeder's COPY, the server copies the table back out
(`COPY … TO STDOUT (FORMAT binary)`: the exact stored values, no Python
per value) and `pgcopy.scan` notes where its timestamps sit. Replayed:
the file streams to `COPY … FROM STDIN (FORMAT binary)` in chunks, each
timestamp moved by the anchors' difference on the way (`pgcopy.shifted`).
Both inside apply's one transaction, on its connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import IO, Any, cast

import anyio
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from echelon_seed.engines.common import schema_of

from . import pgcopy

__all__ = ["keep", "load", "server_version"]


async def _driver(conn: AsyncConnection) -> Any:
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    return driver


async def server_version(conn: AsyncConnection) -> str:
    """The server's major version: the binary COPY form of a type may change between majors."""
    return str((await _driver(conn)).get_server_version().major)


async def keep(conn: AsyncConnection, table: Table, moments: list[int], data: IO[bytes], offsets: IO[bytes]) -> int:
    """Copy `table`'s rows out of the server into `data`, their timestamps' offsets into `offsets`; the row count."""
    driver = await _driver(conn)

    async def write(chunk: bytes) -> None:
        data.write(chunk)

    await driver.copy_from_table(
        table.name,
        output=write,
        columns=[c.name for c in table.columns],
        schema_name=schema_of(conn, table),
        format="binary",
    )
    data.flush()
    data.seek(0)
    return pgcopy.scan(data, moments, offsets)


async def load(
    conn: AsyncConnection, table: Table, data: IO[bytes], offsets: IO[bytes], delta_us: int, hasher: Any = None
) -> None:
    """Stream a kept file into `table`, each timestamp moved by `delta_us`; `hasher` sees the file's bytes as read.

    Raises `pgcopy.CopyFormatError` when the server refuses the file's contents (the caller's savepoint
    takes the rows back).
    """
    driver = await _driver(conn)
    chunks = pgcopy.shifted(data if hasher is None else cast(IO[bytes], _Hashed(data, hasher)), offsets, delta_us)

    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk
            await anyio.sleep(0)  # a signal's cancellation gets in between chunks

    try:
        await driver.copy_to_table(
            table.name,
            source=source(),
            columns=[c.name for c in table.columns],
            schema_name=schema_of(conn, table),
            format="binary",
        )
    except (_asyncpg().DataError, _asyncpg().IntegrityConstraintViolationError) as exc:
        raise pgcopy.CopyFormatError(f"{table.name}: the server refused the kept file ({exc})") from None


def _asyncpg() -> Any:
    import asyncpg

    return asyncpg


class _Hashed:
    """A file whose bytes go through `hasher` as they are read: the check costs no second pass."""

    def __init__(self, handle: IO[bytes], hasher: Any) -> None:
        self._handle, self._hasher = handle, hasher

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._hasher.update(data)
        return data
