"""A project's schema, built on the connection that `apply` already holds.

With a migrations directory, its Alembic revision files run through Alembic's
API (`EnvironmentContext` over their `ScriptDirectory`) with echelon-seed's
own environment: the project's `env.py` is never run, so it needs to know
nothing about echelon-seed, and the version table is echelon-seed's
(`echelon_seed_alembic_version`), never a table of theirs. Without one, the
project's tables are created from its metadata. Either way it happens inside
the seeding transaction, so a failed migration or seed leaves nothing behind:
no half-built schema, no `_alembic_tmp_*` table on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from . import bookkeeping
from . import project as projects
from .errors import ConfigError, DatabaseError
from .project import Project

__all__ = [
    "FROM_METADATA",
    "MigrationResult",
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "differences",
    "head_revision",
    "upgrade",
]

VERSION_TABLE = bookkeeping.VERSION_TABLE
#: `MigrationResult.after` for a project without migrations.
FROM_METADATA = "metadata"


@dataclass(frozen=True)
class MigrationResult:
    """Where the schema was before `upgrade` and where it is now.

    For a project without migrations, `after` is FROM_METADATA and `applied`
    counts the tables created.
    """

    before: str | None
    after: str
    applied: int
    #: The schema was built from nothing in this transaction: no row of an earlier seed can be left.
    created: bool = False

    @property
    def from_metadata(self) -> bool:
        return self.after == FROM_METADATA


def alembic_config(connection: Connection | None = None, project: Project | None = None) -> Config:
    """An Alembic config for the project's script directory that needs no alembic.ini."""
    project = project or projects.echelon()
    if project.migrations is None:
        raise ConfigError(f"project {project.name!r} has no migrations")
    config = Config()
    config.set_main_option("script_location", str(project.migrations))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _script(project: Project) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(project=project))


def head_revision(project: Project | None = None) -> str:
    try:
        head = _script(project or projects.echelon()).get_current_head()
    except Exception as exc:  # their script directory: several heads, a broken revision file
        raise ConfigError(f"cannot read the migrations: {exc}") from None
    if head is None:
        raise ConfigError("the migrations directory has no revision")
    return head


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


async def current_revision(conn: AsyncConnection) -> str | None:
    """The revision the database is at (in echelon-seed's version table), or None when never migrated."""
    return await conn.run_sync(_current)


def _from_metadata(connection: Connection, project: Project) -> MigrationResult:
    present = set(inspect(connection).get_table_names())
    missing = [t for t in project.tables if t.name not in present]
    project.metadata.create_all(connection, tables=missing)
    created = len(missing) == len(project.tables)
    return MigrationResult(before=None, after=FROM_METADATA, applied=len(missing), created=created)


def _run_scripts(connection: Connection, project: Project, script: ScriptDirectory, before: str | None) -> None:
    def steps(revision: Any, _context: MigrationContext) -> Any:
        return script._upgrade_revs("head", revision)

    environment = EnvironmentContext(alembic_config(connection, project), script, fn=steps, destination_rev="head")
    with environment:
        environment.configure(
            connection=connection,
            target_metadata=project.metadata,
            version_table=VERSION_TABLE,
            transactional_ddl=True,
        )
        with environment.begin_transaction():
            environment.run_migrations()


def _refuse_unversioned_tables(connection: Connection, project: Project) -> None:
    """The project's tables without echelon-seed's version table: built by another tool, not ours to migrate."""
    present = set(inspect(connection).get_table_names())
    found = [t.name for t in project.tables if t.name in present]
    if found:
        raise DatabaseError(
            f"the database already holds tables of project {project.name!r} ({', '.join(found[:3])}"
            f"{', …' if len(found) > 3 else ''}) but no {VERSION_TABLE}: its schema was built by another tool "
            "(its own Alembic, or an echelon-seed from before the version table was renamed); "
            "seed an empty database, or drop those tables"
        )


def _upgrade(connection: Connection, project: Project) -> MigrationResult:
    bookkeeping.metadata.create_all(connection, checkfirst=True)
    if project.migrations is None:
        return _from_metadata(connection, project)
    before = _current(connection)
    script = _script(project)
    head = head_revision(project)
    try:
        pending = [] if before == head else list(script.iterate_revisions(head, before or "base"))
    except RevisionError:
        raise DatabaseError(
            f"the database is at schema revision {before!r}, which these migrations do not know "
            f"(head is {head!r}); was it migrated by a newer version of project {project.name!r}, "
            "or is this another application's database?"
        ) from None
    if pending and before is None:
        _refuse_unversioned_tables(connection, project)
    if pending:
        _run_scripts(connection, project, script, before)
    return MigrationResult(before=before, after=head, applied=len(pending), created=before is None and bool(pending))


async def upgrade(conn: AsyncConnection, project: Project | None = None) -> MigrationResult:
    """Bring the project's schema to head (or create it from the metadata) inside the caller's transaction."""
    chosen = project or projects.echelon()
    return await conn.run_sync(_upgrade, chosen)


def _describe(difference: Any) -> str:
    """One autogenerate difference as a line: the operation, then the names involved."""
    if isinstance(difference, list):  # column modifications come grouped
        return "; ".join(_describe(d) for d in difference)
    operation, *details = difference
    shown = [getattr(d, "name", None) or str(d) for d in details if d is not None and d != {}]
    return " ".join([operation, *shown])


def _differences(connection: Connection, project: Project) -> list[str]:
    from alembic.autogenerate import compare_metadata  # only `check --schema` needs it: kept off start-up

    def ours(name: str | None, type_: str, _parent: Any) -> bool:
        return not (type_ == "table" and name in bookkeeping.TOOL_TABLES)

    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": ours, "version_table": VERSION_TABLE}
    )
    return [_describe(d) for d in compare_metadata(context, project.metadata)]


async def differences(conn: AsyncConnection, project: Project | None = None) -> list[str]:
    """What the database's schema lacks or has beyond the project's metadata, one line per difference."""
    return await conn.run_sync(_differences, project or projects.echelon())
