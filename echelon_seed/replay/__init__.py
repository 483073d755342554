"""A content-keyed replay of generated rows: the second apply of a seed loads what the first one made.

Generated rows are a pure function of the project's inputs (the fixture
digest covers the files and the generators' code), the scale, the engine
and the anchor; when every generator declares that the anchor only shifts
its times (`generators.register_table(..., anchor_shifts_times=True)`),
of the anchor's difference alone. The first apply of a key keeps its
generated tables in the form the engine loads fastest (binary COPY files on
PostgreSQL, a SQLite file on SQLite: `engines.pg_replay`, `engines.pgcopy`,
`engines.sqlite_replay`), later ones replay them (`session`), in a
size-capped directory (`store`) named by a key (`key`).

Every submodule is imported here, and both engines' halves with `session`,
whatever the engine: the no-op stamp digests the modules an apply loaded,
and a replayed apply must leave the same stamp as a generated one.
"""

from __future__ import annotations

from . import key, session, store
from .session import MIN_ROWS, Cache, Session, open_session
from .store import ENV_DIR, ENV_MAX_MB, Entry, Store, default_directory

__all__ = [
    "ENV_DIR",
    "ENV_MAX_MB",
    "MIN_ROWS",
    "Cache",
    "Entry",
    "Session",
    "Store",
    "default_directory",
    "key",
    "open_session",
    "session",
    "store",
]
