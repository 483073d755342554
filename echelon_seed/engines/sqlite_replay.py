"""Generated rows kept and replayed on SQLite: one SQLite file holding the generated tables as stored.

Kept: the entry's file is attached to apply's connection and each generated
table is created in it as the project declares it (its columns, NOT NULLs,
defaults, CHECKs, keys and indexes, but no foreign key: its parents are not
in the entry), then filled with one `INSERT … SELECT` (the stored values,
text times included, no Python per row); it is committed with apply's
transaction. Replayed: the entry's file is attached and each table inserted
with one `INSERT … SELECT`, the text times moved by the anchors' difference
in SQL. With the same anchor, into an empty table whose keys are off (a new
file: `engines.sqlite`), the statement is a bare `INSERT INTO t SELECT * FROM
entry.t`, which SQLite runs as a page-level copy of the rows and of their
indexes (its "transfer optimisation": no row is decoded, no constraint
re-checked, since the entry's table carries the same ones); it falls back to
the row-by-row insert by itself when the two tables differ in any of those.
An attached database cannot be detached inside a transaction; it goes with
the connection, which apply closes.

Moments are stored as `YYYY-MM-DD HH:MM:SS.ffffff` in UTC (`types.time`):
the whole seconds move with `datetime(…, 'N seconds')`, the microseconds
by integer arithmetic with the carry, so the shift is exact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import MetaData, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateIndex, CreateTable

__all__ = ["ALIAS", "KEPT", "DamagedEntry", "attach", "keep", "load", "moments_shiftable"]

#: The entry being replayed, and the one being kept: two names, since a file attached in a transaction
#: cannot be detached before it ends, and an entry found damaged while replaying is kept afresh.
ALIAS = "echelon_seed_replay"
KEPT = "echelon_seed_kept"
_MOMENT = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]"


def _quote(conn: AsyncConnection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


class DamagedEntry(ValueError):
    """SQLite refused to read the entry's file (a damaged database image)."""


async def attach(conn: AsyncConnection, path: Path, alias: str = ALIAS) -> None:
    with _damage():
        await conn.exec_driver_sql(f"ATTACH DATABASE ? AS {alias}", (str(path),))


@contextmanager
def _damage() -> Iterator[None]:
    """SQLite's own word that a file is not a sound database, as `DamagedEntry`; other errors as they are."""
    try:
        yield
    except DBAPIError as exc:
        if isinstance(exc.orig, sqlite3.DatabaseError) and not isinstance(exc.orig, sqlite3.OperationalError):
            raise DamagedEntry(str(exc.orig)) from None
        raise


async def moments_shiftable(conn: AsyncConnection, table: Table, moments: list[int]) -> bool:
    """Whether every stored moment of `table` has the one text form the shift understands."""
    columns = [table.columns[i].name for i in moments]
    for name in columns:
        column = _quote(conn, name)
        odd = await conn.exec_driver_sql(
            f"SELECT 1 FROM main.{_quote(conn, table.name)} WHERE {column} IS NOT NULL "
            f"AND (typeof({column}) != 'text' OR length({column}) != 26 OR {column} NOT GLOB '{_MOMENT}') LIMIT 1"
        )
        if odd.first() is not None:
            return False
    return True


async def _columns(conn: AsyncConnection, schema: str, table: Table) -> list[str]:
    rows = await conn.exec_driver_sql(f"PRAGMA {schema}.table_info({_quote(conn, table.name)})")
    return [str(tuple(row)[1]) for row in rows.all()]


async def _same_columns(conn: AsyncConnection, table: Table, alias: str) -> bool:
    """Whether `SELECT *` lines up: the entry's columns and the database's, in the same order."""
    return await _columns(conn, "main", table) == await _columns(conn, alias, table)


async def keep(conn: AsyncConnection, table: Table) -> int:
    """Copy `table`'s stored rows into the attached entry; the row count."""
    copy = table.to_metadata(MetaData(), schema=KEPT)
    await conn.exec_driver_sql(str(CreateTable(copy, include_foreign_key_constraints=[]).compile(conn.sync_connection)))
    for index in sorted(copy.indexes, key=lambda i: str(i.name)):
        await conn.exec_driver_sql(str(CreateIndex(index).compile(conn.sync_connection)))
    name = _quote(conn, table.name)
    if await _same_columns(conn, table, KEPT):
        await conn.exec_driver_sql(f"INSERT INTO {KEPT}.{name} SELECT * FROM main.{name}")
    else:
        columns = ", ".join(_quote(conn, c.name) for c in table.columns)
        await conn.exec_driver_sql(f"INSERT INTO {KEPT}.{name} ({columns}) SELECT {columns} FROM main.{name}")
    return int((await conn.exec_driver_sql(f"SELECT count(*) FROM {KEPT}.{name}")).scalar_one())


async def load(conn: AsyncConnection, table: Table, moments: list[int], delta_us: int) -> int:
    """Insert the attached entry's rows of `table`, each moment moved by `delta_us`; the row count.

    Raises `DamagedEntry` when SQLite finds the file damaged (the caller's savepoint takes the rows back).
    """
    with _damage():
        return await _load(conn, table, moments, delta_us)


async def _load(conn: AsyncConnection, table: Table, moments: list[int], delta_us: int) -> int:
    target = _quote(conn, table.name)
    if (delta_us == 0 or not moments) and await _same_columns(conn, table, ALIAS):
        result = await conn.exec_driver_sql(f"INSERT INTO main.{target} SELECT * FROM {ALIAS}.{target}")
        return int(result.rowcount)
    seconds, micros = divmod(delta_us, 1_000_000)
    terms = []
    for i, column in enumerate(table.columns):
        name = _quote(conn, column.name)
        if i in moments and delta_us:
            fraction = f"(CAST(substr({name}, 21, 6) AS INTEGER) + {micros})"
            terms.append(
                f"datetime(substr({name}, 1, 19), ({seconds} + {fraction} / 1000000) || ' seconds')"
                f" || printf('.%06d', {fraction} % 1000000)"
            )
        else:
            terms.append(name)
    columns = ", ".join(_quote(conn, c.name) for c in table.columns)
    result = await conn.exec_driver_sql(
        f"INSERT INTO main.{target} ({columns}) SELECT {', '.join(terms)} FROM {ALIAS}.{target} ORDER BY rowid"
    )
    return int(result.rowcount)
