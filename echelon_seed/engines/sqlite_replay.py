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

from pathlib import Path

from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateIndex, CreateTable

__all__ = ["ALIAS", "attach", "keep", "load", "moments_shiftable"]

ALIAS = "echelon_seed_replay"
_MOMENT = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]"


def _quote(conn: AsyncConnection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


async def attach(conn: AsyncConnection, path: Path) -> None:
    await conn.exec_driver_sql(f"ATTACH DATABASE ? AS {ALIAS}", (str(path),))


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


async def _same_columns(conn: AsyncConnection, table: Table) -> bool:
    """Whether `SELECT *` lines up: the entry's columns and the database's, in the same order."""
    return await _columns(conn, "main", table) == await _columns(conn, ALIAS, table)


async def keep(conn: AsyncConnection, table: Table) -> int:
    """Copy `table`'s stored rows into the attached entry; the row count."""
    copy = table.to_metadata(MetaData(), schema=ALIAS)
    await conn.exec_driver_sql(str(CreateTable(copy, include_foreign_key_constraints=[]).compile(conn.sync_connection)))
    for index in sorted(copy.indexes, key=lambda i: str(i.name)):
        await conn.exec_driver_sql(str(CreateIndex(index).compile(conn.sync_connection)))
    name = _quote(conn, table.name)
    if await _same_columns(conn, table):
        await conn.exec_driver_sql(f"INSERT INTO {ALIAS}.{name} SELECT * FROM main.{name}")
    else:
        columns = ", ".join(_quote(conn, c.name) for c in table.columns)
        await conn.exec_driver_sql(f"INSERT INTO {ALIAS}.{name} ({columns}) SELECT {columns} FROM main.{name}")
    return int((await conn.exec_driver_sql(f"SELECT count(*) FROM {ALIAS}.{name}")).scalar_one())


async def load(conn: AsyncConnection, table: Table, moments: list[int], delta_us: int) -> int:
    """Insert the attached entry's rows of `table`, each moment moved by `delta_us`; the row count."""
    target = _quote(conn, table.name)
    if (delta_us == 0 or not moments) and await _same_columns(conn, table):
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
