"""What the two engines' writers share: a plan's tables in its order, each table whole, then its cycles.

`apply` hands its plan to the writer of the database's engine
(`Backend.writer`) and nothing else: the order, the progress, the replay
cache's part and the holdbacks filled after the last table are the same on
both engines and live here; how one table reaches the database (values
adapted for the driver, which bulk path, a second process) and what
surrounds the whole load (keys after the data, sequences) is the engine's
own writer (`sqlite_writer`, `pg_writer`).

The plan is described by what the writer reads of it (`WritePlan`), so that
the engines know nothing of fixtures or generators.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, Protocol

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import Table
from sqlalchemy.types import Boolean, Enum, Float

from echelon_seed import progress, types
from echelon_seed.cycles import Holdback

from .common import Backend

__all__ = ["PlannedTable", "Replay", "WritePlan", "Writer", "row_adapter"]

Row = tuple[Any, ...]


class PlannedTable(Protocol):
    """One table as the writer takes it: its rows on demand, how many, and whether a cycle holds keys back."""

    @property
    def table(self) -> Table: ...
    @property
    def total(self) -> int: ...
    @property
    def generated(self) -> bool: ...
    @property
    def holdback(self) -> Holdback | None: ...
    def rows(self) -> Iterator[Row]: ...


class WritePlan(Protocol):
    """The tables in the order they are written, and the forward keys filled after the last one (`plan.Plan`)."""

    @property
    def tables(self) -> Sequence[PlannedTable]: ...
    @property
    def holdbacks(self) -> Sequence[Holdback]: ...


class Replay(Protocol):
    """What the writer asks of the replay cache (`replay.Session`): a generated table's rows, or keep them."""

    async def load(self, conn: AsyncConnection, table: Table) -> int | None: ...

    async def keep(self, conn: AsyncConnection, table: Table) -> None: ...


class Writer:
    """A plan written through one engine, inside the caller's transaction; one subclass per engine."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def write(
        self,
        conn: AsyncConnection,
        plan: WritePlan,
        *,
        reporter: progress.Reporter | None = None,
        after_table: Callable[[str], Awaitable[None]] | None = None,
        existing: frozenset[int] | None = None,
        replay: Replay | None = None,
        sequences: Sequence[Table] = (),
    ) -> dict[str, int]:
        """Write every table of `plan` in its order, then its cycles' forward keys; return rows written per table.

        `existing` is what `Backend.existing_tables` read before the migrations:
        given, the tables created since may get their keys after the data. With
        `replay`, a generated table it holds is loaded from it instead of
        generated, and one it is keeping is handed to it once written. The
        sequences of `sequences` then continue after the keys written.
        """
        reporter = reporter or progress.NullReporter()
        written: dict[str, int] = {}
        async with self.loading(conn, [planned.table for planned in plan.tables], existing):
            for planned in plan.tables:
                written[planned.table.name] = await self._table(conn, planned, reporter, replay)
                if after_table is not None:
                    await after_table(planned.table.name)
            for holdback in plan.holdbacks:
                await holdback.fill(conn)
        await self.backend.advance_sequences(conn, sequences)
        return written

    def loading(
        self, conn: AsyncConnection, tables: Sequence[Table], existing: frozenset[int] | None
    ) -> AbstractAsyncContextManager[object]:
        """What surrounds the load of `tables` (keys after the data, where the engine gains by it)."""
        return nullcontext()

    async def insert(self, conn: AsyncConnection, planned: PlannedTable, advance: Callable[[int], None]) -> None:
        """Write one table's rows through the engine's bulk path, calling `advance` as they pass."""
        raise NotImplementedError

    async def _table(
        self, conn: AsyncConnection, planned: PlannedTable, reporter: progress.Reporter, replay: Replay | None
    ) -> int:
        table = planned.table
        reporter.start(table.name, planned.total)
        count = 0

        def advance(n: int) -> None:
            nonlocal count
            count += n
            reporter.advance(n)

        replayable = replay if planned.generated and planned.holdback is None else None
        loaded = None if replayable is None else await replayable.load(conn, table)
        if loaded is not None:
            advance(loaded)
        else:
            await self.insert(conn, planned, advance)
            if replayable is not None:
                await replayable.keep(conn, table)
        reporter.finish()
        return count


# Their bind processors only re-check values that `fixtures` validated on load and that
# `generate` makes valid by construction; the drivers take the Python values as they are.
_READY = (Enum, Boolean, Float)


def row_adapter(dialect: Dialect, table: Table) -> Callable[[Row], Row] | None:
    """A function turning a typed row into driver values, or None when no column needs it.

    The same bind processors SQLAlchemy itself would use, once per value, so
    that a bulk row and an ORM row are stored identically.
    """
    steps = [
        (i, proc)
        for i, column in enumerate(table.columns)
        if not isinstance(column.type, _READY) and (proc := types.bind_processor(column.type, dialect)) is not None
    ]
    if not steps:
        return None

    def adapt(row: Row) -> Row:
        values = list(row)
        for i, proc in steps:
            values[i] = proc(values[i])
        return tuple(values)

    return adapt


def adapted(rows: Iterable[Row], dialect: Dialect, table: Table) -> Iterator[Row]:
    """`rows` as the driver takes them."""
    adapt = row_adapter(dialect, table)
    return iter(rows) if adapt is None else map(adapt, rows)
