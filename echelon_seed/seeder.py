"""Bulk writes of a fixture set, in foreign-key order, inside the caller's transaction.

One bulk operation per table (binary COPY on PostgreSQL, one executemany on
SQLite, through `engines`), fed by a generator so that a million-row table is
never held in memory. Values are adapted to the driver once per value, with
the same bind processors SQLAlchemy itself would use, so that a bulk row and
an ORM row are stored identically.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Boolean, Enum, Float, func, inspect, literal, select, table, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import Table

from . import cycles, forked, progress, types
from . import project as projects
from . import stamp as stamping
from .bookkeeping import SeedRecord, seed_runs, stamps
from .engines import Backend, schema_of, table_names
from .plan import Plan
from .project import Project
from .tool_tables import TOOL_TABLES

__all__ = [
    "DatabaseState",
    "clear",
    "read_record",
    "read_state",
    "record",
    "row_adapter",
    "write",
    "write_stamp",
]


@dataclass(frozen=True)
class DatabaseState:
    """The seed record, if any, the row count of each of the project's tables, and the other tables holding data.

    `others` names each table of the schema that is neither the project's nor
    echelon-seed's and holds rows (True), or that this role may not read
    (None: it counts as holding data, since we cannot tell). An empty table
    is not data.
    """

    record: SeedRecord | None
    counts: dict[str, int]
    others: dict[str, bool | None] = field(default_factory=dict)

    @property
    def occupied(self) -> dict[str, int]:
        return {name: count for name, count in self.counts.items() if count}


async def read_record(conn: AsyncConnection) -> SeedRecord | None:
    """The seed record, or None when the database has none (or no record table at all)."""
    if not await conn.run_sync(lambda sync: inspect(sync).has_table(seed_runs.name, schema=schema_of(sync))):
        return None
    row = (await conn.execute(select(seed_runs).order_by(seed_runs.c.id.desc()).limit(1))).first()
    if row is None:
        return None
    return SeedRecord(
        anchor=row.anchor,
        fixture_digest=row.fixture_digest,
        scale=row.scale,
        tool_version=row.tool_version,
        schema_revision=row.schema_revision,
        schema_fingerprint=row.schema_fingerprint,
        project=row.project,
    )


def _other_tables(connection: Connection, ours: frozenset[str]) -> list[str]:
    return [name for name in table_names(connection) if name not in ours]


async def read_state(conn: AsyncConnection, backend: Backend, project: Project | None = None) -> DatabaseState:
    """What the database holds, read in the caller's transaction (after the migrations)."""
    tables = (project or projects.echelon()).tables
    counts = {t.name: (await conn.execute(select(func.count()).select_from(t))).scalar_one() for t in tables}
    ours = frozenset(t.name for t in tables) | TOOL_TABLES
    others: dict[str, bool | None] = {}
    for name in await conn.run_sync(_other_tables, ours):
        other = table(name, schema=schema_of(conn))
        if not await backend.may_read(conn, other):
            others[name] = None
        elif (await conn.execute(select(literal(1)).select_from(other).limit(1))).first() is not None:
            others[name] = True
    return DatabaseState(record=await read_record(conn), counts=counts, others=others)


async def clear(conn: AsyncConnection, backend: Backend, project: Project | None = None) -> None:
    """Empty every table of the project, and echelon-seed's record; no other table."""
    tables = (project or projects.echelon()).tables
    # A cycle has no children-first order: its forward keys (those `cycles` writes late) go first.
    for holdback in cycles.holdbacks(tables).values():
        nulls = {c.name: None for c in holdback.late}
        await conn.execute(update(holdback.table).values(nulls))
    await backend.clear(conn, (*tables, seed_runs, stamps))


# Their bind processors only re-check values that `fixtures` validated on load and that
# `generate` makes valid by construction; the drivers take the Python values as they are.
_READY = (Enum, Boolean, Float)


def row_adapter(dialect: Dialect, table: Table) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
    """A function turning a typed row into driver values, or None when no column needs it."""
    steps = [
        (i, proc)
        for i, column in enumerate(table.columns)
        if not isinstance(column.type, _READY) and (proc := types.bind_processor(column.type, dialect)) is not None
    ]
    if not steps:
        return None

    def adapt(row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for i, proc in steps:
            values[i] = proc(values[i])
        return tuple(values)

    return adapt


def _adapted(
    rows: Iterable[tuple[Any, ...]], adapt: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None
) -> Iterator[tuple[Any, ...]]:
    return iter(rows) if adapt is None else map(adapt, rows)


async def write(
    conn: AsyncConnection,
    backend: Backend,
    plan: Plan,
    *,
    reporter: progress.Reporter | None = None,
    after_table: Callable[[str], Awaitable[None]] | None = None,
    existing: frozenset[int] | None = None,
    replay: Replay | None = None,
) -> dict[str, int]:
    """Write every table of `plan` in its order, then its cycles' forward keys; return rows written per table.

    `existing` is what `Backend.existing_tables` read before the migrations:
    given, the tables created since may get their keys after the data. With
    `replay`, a generated table it holds is loaded from it instead of
    generated, and one it is keeping is handed to it once written.
    """
    tables = [planned.table for planned in plan.tables]
    if existing is None or not tables:
        return await _write(conn, backend, plan, reporter, after_table, replay)
    async with backend.keys_after_data(conn, tables, existing):
        return await _write(conn, backend, plan, reporter, after_table, replay)


async def _write(
    conn: AsyncConnection,
    backend: Backend,
    plan: Plan,
    reporter: progress.Reporter | None,
    after_table: Callable[[str], Awaitable[None]] | None,
    replay: Replay | None,
) -> dict[str, int]:
    reporter = reporter or progress.NullReporter()
    written: dict[str, int] = {}
    for planned in plan.tables:
        table = planned.table
        reporter.start(table.name, planned.total)
        written[table.name] = 0

        def advance(n: int, name: str = table.name) -> None:
            written[name] += n
            reporter.advance(n)

        replayable = replay if planned.generated and planned.holdback is None else None
        if replayable is not None and (loaded := await replayable.load(conn, table)) is not None:
            advance(loaded)
            reporter.finish()
            if after_table is not None:
                await after_table(table.name)
            continue
        source = planned.rows()
        if backend.copies_text and any(types.text_copy(c.type) for c in table.columns):
            # A type the driver has no binary form for: the whole table goes through COPY text.
            line = types.copy_row(table)
            await backend.bulk_insert_text(conn, table, progress.counted(map(line, source), advance))
        else:
            rows = _adapted(source, row_adapter(conn.dialect, table))
            if (
                backend.rows_in_second_process
                and planned.total >= forked.THRESHOLD
                and planned.holdback is None
                and forked.available()
            ):
                rows = forked.rows(rows)  # made on the other core while this one writes
            await backend.bulk_insert(conn, table, progress.counted(rows, advance), expected=planned.total)
        if replayable is not None:
            await replayable.keep(conn, table)
        reporter.finish()
        if after_table is not None:
            await after_table(table.name)
    for holdback in plan.holdbacks:
        await holdback.fill(conn)
    return written


class Replay(Protocol):
    """What `write` asks of the replay cache (`replay.Session`): a generated table's rows, or keep them."""

    async def load(self, conn: AsyncConnection, table: Table) -> int | None: ...

    async def keep(self, conn: AsyncConnection, table: Table) -> None: ...


async def write_stamp(conn: AsyncConnection, seed: SeedRecord, run: stamping.Inputs, project: Project) -> None:
    """Leave the stamp by which the next identical `apply` is known without SQLAlchemy (see `stamp`).

    Rewritten only when it changed, so that a no-op leaves the file as it was.
    """
    files, listings = stamping.inputs(
        run,
        migrations=project.migrations,
        modules=[m.partition(".")[0] for m in (project.metadata_module, *project.generators) if m],
        extra_files=project.config_files,
    )
    key = stamping.digest(run, files, listings)
    identity = stamping.record_identity(seed.identity())
    tables = sorted({t.name for t in project.tables} | {seed_runs.name, stamps.name})
    wanted = (
        []
        if key is None
        else [
            (
                key,
                json.dumps(
                    {"files": files, "listings": listings, "identity": identity, "tables": tables}, sort_keys=True
                ),
            )
        ]
    )
    if [tuple(row) for row in (await conn.execute(select(stamps.c.key, stamps.c.inputs))).all()] == wanted:
        return
    await conn.execute(stamps.delete())
    if wanted:
        await conn.execute(stamps.insert().values(key=wanted[0][0], inputs=wanted[0][1]))


async def record(conn: AsyncConnection, seed: SeedRecord) -> None:
    """Write the seed record that makes the next identical `apply` a no-op."""
    await conn.execute(seed_runs.delete())
    await conn.execute(
        seed_runs.insert().values(
            id=1,
            anchor=seed.anchor,
            fixture_digest=seed.fixture_digest,
            scale=seed.scale,
            tool_version=seed.tool_version,
            schema_revision=seed.schema_revision,
            schema_fingerprint=seed.schema_fingerprint,
            project=seed.project,
        )
    )
