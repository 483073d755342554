"""The seed's bookkeeping around the rows: what a database holds, clearing it, the seed record and the stamp.

The rows themselves go to the writer of the database's engine (`write` hands
the plan over: `engines.writer`); this module keeps what `apply` reads and
writes besides them, inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, inspect, literal, select, table, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import Table

from . import cycles, progress
from . import project as projects
from . import stamp as stamping
from .bookkeeping import SeedRecord, seed_runs, stamps
from .engines import Backend, schema_of, table_names, writer_of
from .engines.writer import Replay
from .plan import Plan
from .project import Project
from .tool_tables import TOOL_TABLES

__all__ = [
    "DatabaseState",
    "clear",
    "read_record",
    "read_state",
    "record",
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


async def write(
    conn: AsyncConnection,
    backend: Backend,
    plan: Plan,
    *,
    reporter: progress.Reporter | None = None,
    after_table: Callable[[str], Awaitable[None]] | None = None,
    existing: frozenset[int] | None = None,
    replay: Replay | None = None,
    sequences: Sequence[Table] = (),
) -> dict[str, int]:
    """Hand `plan` to the writer of the database's engine (`engines.writer`); return rows written per table."""
    return await writer_of(backend).write(
        conn, plan, reporter=reporter, after_table=after_table, existing=existing, replay=replay, sequences=sequences
    )


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
