"""The SQLAlchemy definitions of the tables echelon-seed keeps for itself (their names: `tool_tables`).

`echelon_seed_runs` holds the seed record and `echelon_seed_stamp` the
no-op stamp; both are created with the schema. Alembic creates the third,
the version table, itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from .tool_tables import RUNS_TABLE, STAMP_TABLE
from .types import UTCDateTime

if TYPE_CHECKING:
    from .project import Project

__all__ = ["NO_ANCHOR", "SeedRecord", "anchor_text", "metadata", "seed_runs", "stamps"]

#: The anchor recorded for a seed that placed nothing on an anchor: every time in its fixtures was
#: absolute and no generator ran (a team's export of its own database). Its snapshot then shows
#: absolute times, the same bytes whenever it is reseeded and the same as the exported database's.
#: Recorded as a value rather than NULL so that the column keeps its shape in existing databases.
NO_ANCHOR = datetime(1970, 1, 1, tzinfo=UTC)

metadata = MetaData()

# The record of a seeding: what was seeded, by which tool, into which schema, against which anchor.
seed_runs = Table(
    RUNS_TABLE,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("anchor", UTCDateTime(), nullable=False),
    Column("fixture_digest", String(80), nullable=False),
    Column("scale", Integer, nullable=False),
    Column("tool_version", String(32), nullable=False),
    Column("schema_revision", String(64), nullable=False),
    Column("schema_fingerprint", String(80), nullable=False),
    Column("project", String(128), nullable=False),
)

# The stamp of the last full `apply`: its digest and, as JSON, the files, listings, record and tables it covers.
stamps = Table(
    STAMP_TABLE,
    metadata,
    Column("key", String(80), primary_key=True),
    Column("inputs", Text, nullable=False),
)


@dataclass(frozen=True)
class SeedRecord:
    """What a database was seeded with; the row of `echelon_seed_runs`.

    Identity is this record: the project, its schema fingerprint, the fixture
    digest and the scale; never a revision string or a table name alone.
    """

    anchor: datetime
    fixture_digest: str
    scale: int
    tool_version: str
    schema_revision: str
    schema_fingerprint: str = ""
    project: str = "echelon"

    @property
    def anchored(self) -> bool:
        """Whether the seed's times were placed on its anchor (so a snapshot shows them relative to it)."""
        return self.anchor != NO_ANCHOR

    def same_seed(self, other: SeedRecord) -> bool:
        """Whether `other` would write exactly the rows this seeding wrote (anchor aside)."""
        return self.identity() == other.identity()

    def same_schema(self, project: Project) -> bool:
        """Whether this record was written into `project`'s schema (so its types describe the rows)."""
        return (self.project, self.schema_fingerprint) == (project.name, project.fingerprint)

    def identity(self) -> tuple[str, str, str, int, str]:
        """Project, schema fingerprint, fixture digest, scale, schema revision: what makes two seeds the same."""
        return (self.project, self.schema_fingerprint, self.fixture_digest, self.scale, self.schema_revision)


def anchor_text(anchor: datetime) -> str:
    """An anchor as people read it in `apply` and `status`: the moment, or that there is none."""
    return "none (no time is relative)" if anchor == NO_ANCHOR else anchor.isoformat()
