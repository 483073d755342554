"""The stamp's reads (`stamp`), on each engine's own driver, without SQLAlchemy.

The no-op `apply` answers before SQLAlchemy is imported, so these use
`sqlite3` and a bare asyncpg connection, each in one read transaction; what
the rows mean is `stamp`'s business.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from echelon_seed.tool_tables import RUNS_TABLE, STAMP_TABLE, VERSION_TABLE

__all__ = ["Raw", "read_postgresql", "read_sqlite"]

#: The stamp rows, the seed record's identity columns, the schema revisions and the tables present.
Raw = tuple[list[Any], list[Any], list[str], set[str]]


def read_sqlite(path: str, identity: Sequence[str]) -> Raw | None:
    """Everything the check needs, in one read transaction; a locked file is a miss, never a wait."""
    connection = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN")
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {STAMP_TABLE, RUNS_TABLE} <= tables:
            return None
        stamps = connection.execute(f"SELECT key, inputs FROM {STAMP_TABLE}").fetchall()
        runs = connection.execute(f"SELECT {', '.join(identity)} FROM {RUNS_TABLE}").fetchall()
        versions = (
            [row[0] for row in connection.execute(f"SELECT version_num FROM {VERSION_TABLE}")]
            if VERSION_TABLE in tables
            else []
        )
        connection.execute("COMMIT")
    finally:
        connection.close()
    return stamps, runs, versions, tables


async def read_postgresql(target: Any, schema: str, identity: Sequence[str], *, connect_timeout: float) -> Raw | None:
    """As `read_sqlite`, in one read-only repeatable-read transaction of the project's schema."""
    from echelon_seed import drivers

    asyncpg = drivers.asyncpg()  # missing: an error, so a miss, and the full path says it in its own words

    def qualified(name: str) -> str:
        return '"{}"."{}"'.format(schema.replace('"', '""'), name)

    kwargs = target.connect_kwargs()
    # A host that does not answer is the full path's to wait for and report; this only delays it a little.
    kwargs["timeout"] = min(kwargs["timeout"] or connect_timeout, connect_timeout)
    connection = await asyncpg.connect(**kwargs)
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            found = await connection.fetch("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = $1", schema)
            tables = {row[0] for row in found}
            if not {STAMP_TABLE, RUNS_TABLE} <= tables:
                return None
            stamps = await connection.fetch(f"SELECT key, inputs FROM {qualified(STAMP_TABLE)}")
            runs = await connection.fetch(f"SELECT {', '.join(identity)} FROM {qualified(RUNS_TABLE)}")
            versions = (
                [row[0] for row in await connection.fetch(f"SELECT version_num FROM {qualified(VERSION_TABLE)}")]
                if VERSION_TABLE in tables
                else []
            )
    finally:
        await connection.close()
    return [tuple(r) for r in stamps], [tuple(r) for r in runs], versions, tables
