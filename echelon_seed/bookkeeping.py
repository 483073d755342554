"""The SQLAlchemy definitions of the tables echelon-seed keeps for itself (their names: `tool_tables`).

`echelon_seed_runs` holds the seed record and `echelon_seed_stamp` the
no-op stamp; both are created with the schema. Alembic creates the third,
the version table, itself.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from .tool_tables import RUNS_TABLE, STAMP_TABLE
from .types import UTCDateTime

__all__ = ["metadata", "seed_runs", "stamps"]

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
