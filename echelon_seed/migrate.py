"""Alembic, run on the connection that `apply` already holds.

Running the migrations inside the seeding transaction (the "connection
sharing" recipe) means a failed migration or seed leaves nothing behind: no
half-built schema, no `_alembic_tmp_*` table on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from . import project
from .errors import DatabaseError

__all__ = ["MigrationResult", "VERSION_TABLE", "alembic_config", "current_revision", "head_revision", "upgrade"]

VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class MigrationResult:
    """Where the schema was before `upgrade` and where it is now."""

    before: str | None
    after: str
    applied: int


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config that needs no alembic.ini and finds the migrations wherever installed."""
    config = Config()
    config.set_main_option("script_location", str(project.migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations directory has no revision"
    return head


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(conn: AsyncConnection) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    return await conn.run_sync(_current)


def _upgrade(connection: Connection) -> MigrationResult:
    before = _current(connection)
    script = ScriptDirectory.from_config(alembic_config())
    head = head_revision()
    try:
        pending = [] if before == head else list(script.iterate_revisions(head, before or "base"))
    except RevisionError:
        raise DatabaseError(
            f"the database is at schema revision {before!r}, which these migrations do not know "
            f"(head is {head!r}); was it migrated by a newer echelon-seed, or is this another application's database?"
        ) from None
    if pending:
        command.upgrade(alembic_config(connection), "head")
    return MigrationResult(before=before, after=head, applied=len(pending))


async def upgrade(conn: AsyncConnection) -> MigrationResult:
    """Bring the schema to head inside the caller's transaction."""
    return await conn.run_sync(_upgrade)
