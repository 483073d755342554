"""The two tables echelon-seed keeps for itself in a seeded database, whatever the project.

Both are namespaced, so that a project's own `seed_runs` or `alembic_version`
is an ordinary table of its snapshot: `echelon_seed_runs` holds the seed
record (what was seeded, against which schema fingerprint and anchor), and
`echelon_seed_alembic_version` is the version table echelon-seed gives
Alembic when it runs a project's migrations.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table

from .types import UTCDateTime

__all__ = ["RUNS_TABLE", "TOOL_TABLES", "VERSION_TABLE", "metadata", "seed_runs"]

RUNS_TABLE = "echelon_seed_runs"
VERSION_TABLE = "echelon_seed_alembic_version"
#: Tables that are echelon-seed's, never a project's: left out of snapshots.
TOOL_TABLES = frozenset({RUNS_TABLE, VERSION_TABLE})

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
