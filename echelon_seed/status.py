"""What a database holds, as `alembic current` tells it for migrations: schema, seed record, rows.

Read in one read-only transaction. The seed is "current" when the record is
this project's (same name and schema fingerprint) and its fixture digest is
the digest of the fixtures on disk; "stale" when the fixtures changed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import migrate, seeder
from .bookkeeping import SeedRecord, anchor_text
from .engines import table_names
from .layout import name_width
from .project import Project

__all__ = ["Status", "read"]


@dataclass(frozen=True)
class Status:
    """The answer of `status`; `lines()` for people, `to_json()` for machines."""

    database: str
    project: str
    revision: str | None
    head: str
    #: Revisions between the database and the head: 0 up to date, None unknown to the scripts.
    behind: int | None
    record: SeedRecord | None
    #: Whether the record describes this project's schema (its types read the rows).
    ours: bool
    fixtures: str | None
    fixtures_problem: str | None
    #: Rows per project table; None where the table does not exist.
    rows: dict[str, int | None]
    #: The apply that reseeds this database, with the options that name it (pasted, it works).
    reseed: str = "echelon-seed apply --force"

    @property
    def schema_state(self) -> str:
        if self.revision is None:
            return "not migrated"
        if self.behind == 0:
            return "up to date"
        if self.behind is None:
            return "unknown to the project's migrations (ahead of this code, or another application's)"
        return f"behind by {self.behind} revision{'s' if self.behind != 1 else ''}"

    @property
    def seed_state(self) -> str:
        if self.record is None:
            return "not seeded"
        if not self.ours:
            return f"seeded for another schema (project {self.record.project!r})"
        if self.fixtures is None:
            return f"unknown: the fixtures on disk do not load ({self.fixtures_problem})"
        if self.record.fixture_digest == self.fixtures:
            return "current"
        return "stale"

    def lines(self) -> list[str]:
        out = [
            f"database {self.database}",
            f"project  {self.project}",
            f"schema   {self.revision or '-'} (head {self.head}: {self.schema_state})",
        ]
        r = self.record
        if r is None:
            out.append("seed     none")
        else:
            out.append(
                f"seed     fixtures {r.fixture_digest[:19]}… scale {r.scale}, anchor {anchor_text(r.anchor)}, "
                f"echelon-seed {r.tool_version}"
            )
        state = self.seed_state
        if state == "stale":
            state = f"stale: the fixtures on disk are {(self.fixtures or '')[:19]}…; reseed with: {self.reseed}"
        elif state == "current":
            state = "current: the fixtures on disk are the ones seeded"
        out.append(f"fixtures {state}")
        out.append("rows")
        width = name_width(self.rows)
        for name, count in self.rows.items():
            out.append(f"  {name:<{width}}{'-' if count is None else format(count, ','):>12}")
        return out

    def to_json(self) -> dict[str, Any]:
        r = self.record
        return {
            "format": "echelon-seed-status/1",
            "database": self.database,
            "project": self.project,
            "schema": {"revision": self.revision, "head": self.head, "behind": self.behind, "state": self.schema_state},
            "seed": None
            if r is None
            else {
                "project": r.project,
                "fixtures": r.fixture_digest,
                "scale": r.scale,
                "anchor": r.anchor.isoformat() if r.anchored else None,
                "tool_version": r.tool_version,
                "schema_revision": r.schema_revision,
            },
            "fixtures": {"on_disk": self.fixtures, "state": self.seed_state},
            "rows": self.rows,
        }


async def read(
    conn: AsyncConnection,
    project: Project,
    *,
    database: str,
    fixtures: str | None,
    fixtures_problem: str | None,
    reseed: str = "echelon-seed apply --force",
) -> Status:
    """The status of the database behind `conn` (read only) for `project` and its fixtures' digest."""
    present = set(await conn.run_sync(table_names))
    revision = await migrate.current_revision(conn)
    if project.migrations is None:
        head = migrate.FROM_METADATA
        behind: int | None = 0 if revision is None and all(t.name in present for t in project.tables) else None
        revision = head if behind == 0 else revision
    else:
        head = migrate.head_revision(project)
        behind = migrate.behind(revision, project)
    record = await seeder.read_record(conn)
    rows: dict[str, int | None] = {}
    for table in project.tables:
        if table.name in present:
            rows[table.name] = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
        else:
            rows[table.name] = None
    return Status(
        database=database,
        project=project.name,
        revision=revision,
        head=head,
        behind=behind,
        record=record,
        ours=record is not None and record.same_schema(project),
        fixtures=fixtures,
        fixtures_problem=fixtures_problem,
        rows=rows,
        reseed=reseed,
    )
