"""The engine's writer takes any plan-shaped value: rows in order, a cycle filled after, sequences moved on.

`apply` hands its plan to `engines.writer_of(backend)`; nothing in the
writer knows fixtures or generators. So a plan built here by hand (a
lending library's schema: members, books, loans, and a cycle between
members and their favourite book) is written as `apply` would write it,
and the application's own operations work afterwards: an INSERT without a
key, a join across the cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    func,
    insert,
    select,
)

from echelon_seed import cycles, engines, progress
from echelon_seed.engines.writer import Writer
from echelon_seed.errors import DatabaseError

metadata = MetaData()
members = Table(
    "members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False),
    Column("favourite_book_id", Integer, ForeignKey("books.id", use_alter=True, name="fk_favourite")),
)
books = Table(
    "books",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(80), nullable=False),
    Column("donated_by", Integer, ForeignKey("members.id")),
    Column("price", Numeric(8, 2), nullable=False),
)
loans = Table(
    "loans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("book_id", Integer, ForeignKey("books.id"), nullable=False),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("lent_at", DateTime(timezone=True), nullable=False),
)
ORDER = [members, books, loans]
LENT = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class _Planned:
    table: Table
    listed: tuple[tuple[Any, ...], ...]
    holdback: cycles.Holdback | None
    generated: bool = False

    @property
    def total(self) -> int:
        return len(self.listed)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        source = iter(self.listed)
        return source if self.holdback is None else self.holdback.hold(source)


@dataclass(frozen=True)
class _Plan:
    tables: tuple[_Planned, ...]
    holdbacks: tuple[cycles.Holdback, ...]


def _plan() -> _Plan:
    rows: dict[str, tuple[tuple[Any, ...], ...]] = {
        "members": ((1, "Ada", 11), (2, "Brendan", None), (3, "Chidi", 12)),
        "books": ((11, "Notes on the Engine", 1, Decimal("12.50")), (12, "Dust", None, Decimal("7.00"))),
        "loans": tuple((100 + i, 11 + i % 2, 1 + i % 3, LENT) for i in range(5)),
    }
    late = cycles.holdbacks(ORDER)
    return _Plan(
        tables=tuple(_Planned(t, rows[t.name], late.get(t.name)) for t in ORDER),
        holdbacks=tuple(late.values()),
    )


class _Counting(progress.NullReporter):
    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self._table = ""

    def start(self, table: str, total: int | None) -> None:
        self._table = table
        self.seen[table] = 0

    def advance(self, rows: int) -> None:
        self.seen[self._table] += rows


async def test_a_hand_built_plan_is_written_in_order_with_its_cycle_and_sequences(db_url: str) -> None:
    database = engines.open_database(db_url, write=True)
    reporter = _Counting()
    try:
        async with database.transaction() as conn:
            await conn.run_sync(metadata.create_all)
            writer = engines.writer_of(database.backend)
            assert isinstance(writer, Writer)
            written = await writer.write(conn, _plan(), reporter=reporter, sequences=ORDER)

        assert written == {"members": 3, "books": 2, "loans": 5}
        assert reporter.seen == written
        async with database.transaction() as conn:
            # The application's own insert, without a key: the sequence continues after the keys written.
            new_id = (
                await conn.execute(insert(loans).values(book_id=12, member_id=2, lent_at=LENT).returning(loans.c.id))
            ).scalar_one()
            favourites = (
                await conn.execute(
                    select(members.c.name, books.c.title)
                    .join(books, members.c.favourite_book_id == books.c.id)
                    .order_by(members.c.id)
                )
            ).all()
            lent = (await conn.execute(select(func.count()).select_from(loans))).scalar_one()
    finally:
        await database.dispose()

    assert new_id == 105
    assert [tuple(r) for r in favourites] == [("Ada", "Notes on the Engine"), ("Chidi", "Dust")]
    assert lent == 6


async def test_a_failed_write_leaves_no_row_behind(db_url: str) -> None:
    # A loan of a book that does not exist: the engine refuses it, the transaction takes everything back.
    database = engines.open_database(db_url, write=True)
    plan = _plan()
    broken = _Planned(loans, ((200, 99, 1, LENT),), None)
    try:
        async with database.transaction() as conn:
            await conn.run_sync(metadata.create_all)
        with pytest.raises(DatabaseError) as caught:
            async with database.transaction() as conn:
                await database.lock(conn, 10.0)  # as apply does: the transaction is open before the first COPY
                await engines.writer_of(database.backend).write(
                    conn, _Plan(tables=(*plan.tables[:2], broken), holdbacks=plan.holdbacks)
                )
                await database.backend.check_integrity(conn)
        assert "foreign key" in str(caught.value).lower()
        async with database.transaction() as conn:
            counts = [(await conn.execute(select(func.count()).select_from(t))).scalar_one() for t in ORDER]
    finally:
        await database.dispose()

    assert counts == [0, 0, 0]
