"""The names of the tables echelon-seed keeps for itself in a seeded database.

Plain strings, apart from their SQLAlchemy definitions in `bookkeeping`, so
that the no-op `apply` (`stamp`) can read them without importing SQLAlchemy.
All are namespaced: a project's own `seed_runs` or `alembic_version` is an
ordinary table of its snapshot.
"""

from __future__ import annotations

__all__ = ["DIGESTS_FILE", "RUNS_TABLE", "STAMP_TABLE", "TOOL_TABLES", "VERSION_TABLE"]

#: The seed record: what was seeded, against which schema fingerprint and anchor.
RUNS_TABLE = "echelon_seed_runs"
#: The version table echelon-seed gives Alembic when it runs a project's migrations.
VERSION_TABLE = "echelon_seed_alembic_version"
#: What the last full `apply` depended on, so that the next no-op needs no SQLAlchemy (see `stamp`).
STAMP_TABLE = "echelon_seed_stamp"
#: Tables that are echelon-seed's, never a project's: left out of snapshots and exports.
TOOL_TABLES = frozenset({RUNS_TABLE, VERSION_TABLE, STAMP_TABLE})

#: The masked export's record of its originals' keyed digests, kept beside the fixtures it describes:
#: the one file of a fixture directory that is echelon-seed's own, so never "ignored" there.
DIGESTS_FILE = "echelon-mask.digests"
