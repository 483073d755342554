"""Foreign keys that point forward in the write order: written NULL, then filled in by UPDATE.

Tables are written in foreign-key order, but a cycle (`authors.favourite_book_id
-> books`, `books.author_id -> authors`) has no such order: one of its keys
points at a table not written yet. When that key is DEFERRABLE INITIALLY
DEFERRED the database checks it at commit and nothing needs doing. Otherwise
the column is written NULL and filled in with one UPDATE per affected row
once every table is written, still inside the seeding transaction, so no
superuser right and no disabled trigger is ever needed. A self-reference is
not a cycle here: parents come before their children in the fixture file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import Column, ForeignKey, Table

from .errors import ConfigError

__all__ = ["Holdback", "holdbacks"]


def _deferred(key: ForeignKey) -> bool:
    constraint = key.constraint
    return constraint is not None and bool(constraint.deferrable) and (constraint.initially or "").upper() == "DEFERRED"


class Holdback:
    """For one table: the forward-pointing columns, held back from the insert and filled in after."""

    def __init__(self, table: Table, late: Sequence[Column[Any]]) -> None:
        names = table.columns.keys()
        self.table = table
        self.late = tuple(late)
        self._late_at = tuple(names.index(c.name) for c in self.late)
        self._key_at = tuple(names.index(c.name) for c in table.primary_key.columns)
        self._updates: list[dict[str, Any]] = []

    def hold(self, rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        """`rows` with the late columns NULL; their values are kept for `fill`."""
        late_at, key_at, updates = self._late_at, self._key_at, self._updates
        for row in rows:
            values = [row[i] for i in late_at]
            if all(v is None for v in values):
                yield row
                continue
            update_row = {f"k{n}": row[i] for n, i in enumerate(key_at)}
            update_row.update({f"v{n}": v for n, v in enumerate(values)})
            updates.append(update_row)
            held = list(row)
            for i in late_at:
                held[i] = None
            yield tuple(held)

    async def fill(self, conn: AsyncConnection) -> int:
        """Write the held-back values; return how many rows were updated."""
        if not self._updates:
            return 0
        key = self.table.primary_key.columns
        statement = (
            update(self.table)
            .where(and_(*(c == bindparam(f"k{n}") for n, c in enumerate(key))))
            .values({c.name: bindparam(f"v{n}") for n, c in enumerate(self.late)})
        )
        await conn.execute(statement, self._updates)
        done = len(self._updates)
        self._updates = []
        return done


def holdbacks(tables: Sequence[Table]) -> dict[str, Holdback]:
    """A Holdback per table (in write order `tables`) with keys into a table written after it."""
    position = {t.name: i for i, t in enumerate(tables)}
    found: dict[str, Holdback] = {}
    for table in tables:
        late = [
            key.parent
            for key in sorted(table.foreign_keys, key=lambda k: k.parent.name)
            if key.column.table is not table
            and position.get(key.column.table.name, -1) > position[table.name]
            and not _deferred(key)
        ]
        if not late:
            continue
        where = ", ".join(f"{table.name}.{c.name}" for c in late)
        if not table.primary_key.columns:
            raise ConfigError(
                f"{where} closes a foreign-key cycle in a table without a primary key: make the key "
                "DEFERRABLE INITIALLY DEFERRED, or give the table a primary key"
            )
        required = [c for c in late if not c.nullable]
        if required:
            raise ConfigError(
                f"{table.name}.{required[0].name} closes a foreign-key cycle and is NOT NULL: make the key "
                "DEFERRABLE INITIALLY DEFERRED, or the column nullable"
            )
        found[table.name] = Holdback(table, late)
    return found
