"""Everything that differs between SQLite and PostgreSQL, in one folder.

Users write `sqlite:///./dev.db` and `postgresql://user:pass@host/db`; `urls`
parses them once into a `Target`, and this package hands exactly that target
to the async drivers, opens connections configured so that both engines
behave alike (UTC sessions, foreign keys on, one writer at a time) and
provides the few operations whose SQL differs: the writer lock, bulk writes
(binary COPY or executemany), clearing tables, sequences, the integrity check
before commit, template clones for the pytest plugin and the stamp's raw
readers. The rest of echelon-seed takes a connection from here and never
names an engine (`types` is the only other place that may).

- `common`: the URL, the `Backend` interface, schema-qualified names;
- `sqlite`, `postgresql`: one `Backend` each; `pg_keys`: PostgreSQL's keys after the data;
- `writer`, `sqlite_writer`, `pg_writer`: the writer `apply` hands its plan to, one per engine;
- `database`: a `Database` as a command opens it, errors in one line;
- `sqlite_templates`, `pg_templates`: seeded templates and their clones;
- `stamp_readers`: the no-op apply's reads, without SQLAlchemy.

The names below are the package's interface. They load on first use, so that
the stamp's fast path (which imports `stamp_readers` and no SQLAlchemy)
pays nothing for the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .common import DEFAULT_URL, Backend, parse_url, qualified, redact, schema_of, scrub
    from .database import Database, backend_of, describe_error, open_database, table_names, writer_of
    from .postgresql import sequences_sql

__all__ = [
    "DEFAULT_URL",
    "Backend",
    "Database",
    "backend_of",
    "describe_error",
    "open_database",
    "parse_url",
    "qualified",
    "redact",
    "schema_of",
    "scrub",
    "sequences_sql",
    "table_names",
    "writer_of",
]

_HOMES = {
    "DEFAULT_URL": "common",
    "Backend": "common",
    "parse_url": "common",
    "qualified": "common",
    "redact": "common",
    "schema_of": "common",
    "scrub": "common",
    "Database": "database",
    "backend_of": "database",
    "describe_error": "database",
    "open_database": "database",
    "table_names": "database",
    "writer_of": "database",
    "sequences_sql": "postgresql",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
