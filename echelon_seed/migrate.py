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

import ast
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import column, inspect, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateSchema

from . import bookkeeping, tool_tables
from . import project as projects
from .engines import backend_of, describe_error, qualified, schema_of
from .errors import ConfigError, DatabaseError
from .project import Project

if TYPE_CHECKING:
    # Alembic is imported where it is used: a no-op `apply` (the schema already at head)
    # never needs it, and importing it is a quarter of that command's time.
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

__all__ = [
    "FROM_METADATA",
    "MigrationResult",
    "VERSION_TABLE",
    "alembic_config",
    "behind",
    "current_revision",
    "differences",
    "head_revision",
    "offline_sql",
    "upgrade",
]

VERSION_TABLE = tool_tables.VERSION_TABLE
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


_HIGHLIGHTER = "mako.ext.pygmentplugin"


def _load_alembic() -> None:
    """Import Alembic, but not the syntax highlighter its template engine would load with it.

    Alembic imports Mako (for the templates of `alembic revision`, which
    echelon-seed never renders), and Mako's error pages import Pygments
    when it is installed, as it is beside pytest or rich: with it Alembic's
    import took 0.087 s of CPU, without it 0.045 s, paid by every apply that
    migrates a database before the server has anything to do (docs/cache.md,
    "The warm apply on PostgreSQL"). Mako falls back to plain escaping when
    the plugin cannot be imported; the block lasts only for Alembic's own
    import, so whatever imports the plugin afterwards gets it.
    """
    if "alembic" in sys.modules or _HIGHLIGHTER in sys.modules or "mako.exceptions" in sys.modules:
        return
    sys.modules[_HIGHLIGHTER] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import alembic  # noqa: F401
    finally:
        if _HIGHLIGHTER in sys.modules and sys.modules[_HIGHLIGHTER] is None:
            del sys.modules[_HIGHLIGHTER]


def alembic_config(connection: Connection | None = None, project: Project | None = None) -> Config:
    """An Alembic config for the project's script directory that needs no alembic.ini."""
    _load_alembic()
    from alembic.config import Config

    project = project or projects.echelon()
    if project.migrations is None:
        raise ConfigError(f"project {project.name!r} has no migrations")
    config = Config()
    config.set_main_option("script_location", str(project.migrations))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _script(project: Project) -> ScriptDirectory:
    _load_alembic()
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(project=project))


def _stated_head(migrations: Path) -> str | None:
    """The head revision as the revision files state it in plain literals; None when unsure.

    Alembic imports every revision file to learn its `revision` and
    `down_revision`; reading those literals is all a no-op `apply` needs.
    Whatever this does not understand (a computed value, a file without a
    revision, `depends_on`, several heads, a file that does not parse) is
    None, and Alembic decides as usual. Files are those Alembic loads: the
    `*.py` directly in versions/, but `__init__` and editor lock files.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((migrations / "versions").glob("*.py")):
        if path.name.startswith(("__init__", ".#")):
            continue
        stated: dict[str, Any] = {}
        try:
            body = ast.parse(path.read_bytes(), str(path)).body
            for node in body:
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                    stated[node.target.id] = ast.literal_eval(node.value)
                elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    if node.targets[0].id in ("revision", "down_revision", "depends_on"):
                        stated[node.targets[0].id] = ast.literal_eval(node.value)
        except (OSError, SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
            return None
        revision, down = stated.get("revision"), stated.get("down_revision")
        if not isinstance(revision, str) or revision in revisions or stated.get("depends_on") is not None:
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
            parents.update(down)
        elif down is not None:
            return None
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def sql_files(project: Project) -> list[Path]:
    """A plain-SQL project's migrations: the `*.sql` files of its directory, in name order."""
    assert project.migrations is not None
    return sorted(project.migrations.glob("*.sql"), key=lambda p: p.name)


def head_revision(project: Project | None = None) -> str:
    project = project or projects.echelon()
    if project.sql_migrations:
        files = sql_files(project)
        if not files:
            raise ConfigError(
                f"the migrations directory {projects.display(project.migrations or Path())} has no *.sql file"
            )
        return files[-1].stem
    try:
        head = _script(project).get_current_head()
    except Exception as exc:  # their script directory: several heads, a broken revision file
        raise ConfigError(f"cannot read the migrations: {exc}") from None
    if head is None:
        raise ConfigError("the migrations directory has no revision")
    return head


def _version_options(connection: Connection) -> dict[str, Any]:
    """Where echelon-seed's version table is: its name, and the schema the caller's Database works in."""
    return {"version_table": VERSION_TABLE, "version_table_schema": schema_of(connection)}


def behind(revision: str | None, project: Project) -> int | None:
    """How many revisions `revision` (None: never migrated) is behind the head; None when the scripts do not know it."""
    if project.sql_migrations:
        stems = [p.stem for p in sql_files(project)]
        if revision is None:
            return len(stems)
        return len(stems) - stems.index(revision) - 1 if revision in stems else None
    _load_alembic()
    from alembic.script.revision import RevisionError

    script = _script(project)
    head = head_revision(project)
    try:
        return 0 if revision == head else len(list(script.iterate_revisions(head, revision or "base")))
    except RevisionError:
        return None


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE, schema=schema_of(connection)):
        return None
    versions: list[Any] = list(
        connection.execute(
            select(column("version_num")).select_from(table(VERSION_TABLE, schema=schema_of(connection)))
        ).scalars()
    )
    if len(versions) <= 1:
        return str(versions[0]) if versions else None
    _load_alembic()
    from alembic.runtime.migration import MigrationContext  # several rows: Alembic's own word on them

    context = MigrationContext.configure(connection, opts=_version_options(connection))
    return context.get_current_revision()


async def current_revision(conn: AsyncConnection) -> str | None:
    """The revision the database is at (in echelon-seed's version table), or None when never migrated."""
    return await conn.run_sync(_current)


def _from_metadata(connection: Connection, project: Project) -> MigrationResult:
    present = set(inspect(connection).get_table_names(schema=schema_of(connection)))
    missing = [t for t in project.tables if t.name not in present]
    backend_of(connection).create_tables(connection, project.metadata, missing)
    created = len(missing) == len(project.tables)
    return MigrationResult(before=None, after=FROM_METADATA, applied=len(missing), created=created)


def _run_scripts(connection: Connection, project: Project, script: ScriptDirectory, before: str | None) -> None:
    _load_alembic()
    from alembic.runtime.environment import EnvironmentContext

    def steps(revision: Any, _context: MigrationContext) -> Any:
        return script._upgrade_revs("head", revision)

    environment = EnvironmentContext(alembic_config(connection, project), script, fn=steps, destination_rev="head")
    with environment:
        environment.configure(
            connection=connection,
            target_metadata=project.metadata,
            transactional_ddl=True,
            **_version_options(connection),
        )
        with environment.begin_transaction():
            environment.run_migrations()


def offline_sql(project: Project, out: IO[str]) -> None:
    """Write the DDL of the project's migrations for PostgreSQL (Alembic's offline mode), or of its metadata.

    No BEGIN/COMMIT: the caller's script owns the transaction. The version
    table is echelon-seed's own, as when `upgrade` runs the same scripts.
    """
    if project.sql_migrations:
        files = sql_files(project)
        for path in files:
            out.write(f"-- {path.name}\n{path.read_text(encoding='utf-8').rstrip()}\n\n")
        out.write(
            f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version_num VARCHAR(255) NOT NULL PRIMARY KEY);\n"
            f"INSERT INTO {VERSION_TABLE} (version_num) VALUES ('{files[-1].stem.replace(chr(39), chr(39) * 2)}');\n\n"
        )
        return
    if project.migrations is None:
        from sqlalchemy import create_mock_engine

        def emit(statement: Any, *_: Any, **__: Any) -> None:
            out.write(f"{str(statement.compile(dialect=engine.dialect)).strip()};\n\n")

        engine = create_mock_engine("postgresql+asyncpg://", emit)
        project.metadata.create_all(engine, checkfirst=False)
        return
    _load_alembic()
    from alembic.runtime.environment import EnvironmentContext

    script = _script(project)

    def steps(revision: Any, _context: MigrationContext) -> Any:
        return script._upgrade_revs("head", revision)

    buffer = io.StringIO()
    environment = EnvironmentContext(
        alembic_config(project=project), script, fn=steps, as_sql=True, destination_rev="head"
    )
    with environment:
        environment.configure(
            dialect_name="postgresql",
            output_buffer=buffer,
            target_metadata=project.metadata,
            version_table=VERSION_TABLE,
            version_table_schema=project.schema,
            transactional_ddl=False,
            literal_binds=True,
        )
        environment.run_migrations()
    # psql would print the version row that Alembic's INSERT ... RETURNING gives back.
    out.write(re.sub(r" RETURNING [\w.]+;", ";", buffer.getvalue()))


def _refuse_unversioned_tables(connection: Connection, project: Project) -> None:
    """The project's tables without echelon-seed's version table: built by another tool, not ours to migrate."""
    schema = schema_of(connection)
    present = set(inspect(connection).get_table_names(schema=schema))
    found = [t.name for t in project.tables if t.name in present]
    if found:
        where = f" (schema {schema})" if schema else ""
        raise DatabaseError(
            f"the database already holds tables of project {project.name!r} ({', '.join(found)}) "
            f"but no {VERSION_TABLE}{where}: its schema was built by another "
            "tool or belongs to another application (its own Alembic, or an echelon-seed from before the version "
            "table was renamed); echelon-seed never drops or alters a table it did not create, with or without "
            "--force: seed an empty database (or schema), or drop those tables"
        )


def _run_sql_files(connection: Connection, project: Project) -> MigrationResult:
    """Run the `*.sql` files after the one the version table names, in name order; record the last."""
    before = _current(connection)
    files = sql_files(project)
    stems = [p.stem for p in files]
    if before is not None and before not in stems:
        raise DatabaseError(
            f"the database is at schema revision {before!r}, which is no file of {projects.display(project.migrations or Path())}"
        )
    pending = files[stems.index(before) + 1 :] if before is not None else files
    if not pending:
        return MigrationResult(before=before, after=before or "", applied=0)
    backend = backend_of(connection)
    version = table(VERSION_TABLE, column("version_num"), schema=schema_of(connection))
    if before is None:
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {qualified(connection, version)} "
            "(version_num VARCHAR(255) NOT NULL PRIMARY KEY)"
        )
    for path in pending:
        text = _without_dump_guards(path.read_text(encoding="utf-8"))  # lines kept: the numbers stay true
        try:
            backend.run_script(connection, text)
        except DatabaseError:
            raise
        except Exception as exc:  # their SQL: the file is the news, the driver's words the detail
            raise DatabaseError(
                f"migration {projects.display(path)} failed: {describe_error(exc)}{_meta_command_hint(text)}"
            ) from None
    connection.execute(version.delete())
    connection.execute(version.insert().values(version_num=pending[-1].stem))
    return MigrationResult(before=before, after=pending[-1].stem, applied=len(pending), created=before is None)


# pg_dump (15.14, 16.10, 17.6 and later) brackets a plain dump with `\restrict KEY` and
# `\unrestrict KEY`: instructions to psql alone, which guard psql against a hostile dump.
_DUMP_GUARD = re.compile(r"^\\(?:un)?restrict\s+\S+[ \t]*$", re.MULTILINE)
_META_COMMAND = re.compile(r"^\\[A-Za-z.!]")


def _without_dump_guards(text: str) -> str:
    """A schema dumped with pg_dump runs as it is: its psql-only guard lines are left out.

    A team adopting the tool starts from `pg_dump --schema-only`; the server
    would reject the guard lines as a syntax error at a backslash. Anything else
    is the team's SQL and goes to the server untouched.
    """
    return _DUMP_GUARD.sub("", text)


def _meta_command_hint(text: str) -> str:
    """Name the first psql meta-command of a failed file: the server's own message only says `near "\\"`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if _META_COMMAND.match(line):
            command = line.split(maxsplit=1)[0]
            return (
                f" (line {number} is the psql meta-command {command}, which only psql understands: "
                "a migration file is plain SQL, run by the server)"
            )
    return ""


def _refuse_lagging(connection: Connection, project: Project) -> None:
    """Name the tables and columns the models declare and the migrations did not build, before any write.

    Left to the server, the first COPY fails with `relation "public.x" does not
    exist`, which says nothing of the cause: the migrations lag the models.
    """
    if project.reflect:
        return  # no models to lag behind
    schema = schema_of(connection)
    found = inspect(connection).get_multi_columns(schema=schema)
    columns = {name: {c["name"] for c in listed} for (_schema, name), listed in found.items()}
    missing: list[str] = []
    for declared in project.tables:
        if declared.name not in columns:
            missing.append(f"table {declared.name}")
        else:
            have = columns[declared.name]
            missing += [f"column {declared.name}.{c.name}" for c in declared.columns if c.name not in have]
    if missing:
        shown = ", ".join(missing[:5]) + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else "")
        raise DatabaseError(
            f"the migrations of project {project.name!r} lag its models: after them the database has no {shown}; "
            "add a migration for them ('echelon-seed check --schema' lists every difference)"
        )


def _upgrade(connection: Connection, project: Project, lagging: bool = False) -> MigrationResult:
    schema = schema_of(connection)
    if schema is not None and not inspect(connection).has_schema(schema):
        # A project's own schema (not `public`) is created with its tables, in the same transaction.
        connection.execute(CreateSchema(schema))
    bookkeeping.metadata.create_all(connection, checkfirst=True)
    if project.migrations is None:
        return _from_metadata(connection, project)
    if project.sql_migrations:
        return _run_sql_files(connection, project)
    before = _current(connection)
    if before is not None and before == _stated_head(project.migrations):
        if not lagging:
            _refuse_lagging(connection, project)
        return MigrationResult(before=before, after=before, applied=0)  # at head: Alembic not even imported
    _load_alembic()
    from alembic.script.revision import RevisionError

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
    if not lagging:
        _refuse_lagging(connection, project)
    return MigrationResult(before=before, after=head, applied=len(pending), created=before is None and bool(pending))


async def upgrade(
    conn: AsyncConnection, project: Project | None = None, *, allow_lagging: bool = False
) -> MigrationResult:
    """Bring the project's schema to head (or create it from the metadata) inside the caller's transaction.

    Migrations that leave out tables or columns of the models are refused,
    by name, unless `allow_lagging` (`check --schema`, which lists them).
    """
    chosen = project or projects.echelon()
    return await conn.run_sync(_upgrade, chosen, allow_lagging)


def _describe(difference: Any) -> str:
    """One autogenerate difference as a line: the operation, then the names involved."""
    if isinstance(difference, list):  # column modifications come grouped
        return "; ".join(_describe(d) for d in difference)
    operation, *details = difference
    shown = [getattr(d, "name", None) or str(d) for d in details if d is not None and d != {}]
    return " ".join([operation, *shown])


def _differences(connection: Connection, project: Project) -> list[str]:
    _load_alembic()
    from alembic.autogenerate import compare_metadata  # only `check --schema` needs it: kept off start-up
    from alembic.runtime.migration import MigrationContext

    def ours(name: str | None, type_: str, _parent: Any) -> bool:
        return not (type_ == "table" and name in tool_tables.TOOL_TABLES)

    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": ours, **_version_options(connection)}
    )
    return [_describe(d) for d in compare_metadata(context, project.metadata)]


async def differences(conn: AsyncConnection, project: Project | None = None) -> list[str]:
    """What the database's schema lacks or has beyond the project's metadata, one line per difference."""
    return await conn.run_sync(_differences, project or projects.echelon())
