"""One async function per verb: the library API that the CLI and tests call.

Each command owns its engine and its transaction; everything below it takes
a connection. `apply` does all of its work (lock, migrations, clearing,
writing, the seed record, the integrity check) in ONE transaction, so a
failure or a kill at any point leaves the database exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import anyio
from sqlalchemy import and_, column, inspect, literal, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from . import (
    bookkeeping,
    clock,
    diff,
    engines,
    fixtures,
    migrate,
    plan,
    progress,
    reflected,
    replay,
    seeder,
    types,
)
from . import mask as masking
from . import project as projects
from . import snapshot as snapshots
from . import stamp as stamping
from . import status as status_
from .bookkeeping import seed_runs
from .errors import ConfigError, FixtureError, FixtureProblem, OlderFormatError, RefusedError, SnapshotError
from .migrate import MigrationResult
from .project import Project
from .version import __version__

__all__ = [
    "ApplyResult",
    "Project",
    "VerifyResult",
    "apply",
    "DiffResult",
    "ExportResult",
    "check",
    "check_schema",
    "diff_sources",
    "export",
    "export_sql",
    "golden_path",
    "regenerate_command",
    "resolve_url",
    "snapshot",
    "status",
    "verify",
    "verify_target",
]

PAUSE_ENV = "ECHELON_SEED_TEST_PAUSE"


def resolve_url(database_url: str | None) -> str:
    """The URL to use: the option, else DATABASE_URL, else the SQLite default."""
    return database_url or os.environ.get("DATABASE_URL") or engines.DEFAULT_URL


def _require_types(engine: str, project: Project, because: str) -> None:
    """Refuse, once and before connecting, an engine that lacks some of the project's column types."""
    if engine == "sqlite" and project.needs_postgresql:
        raise ConfigError(f'project {project.name!r} is written for PostgreSQL (engine = "postgresql"); {because}')
    missing = types.missing_on(engine, project.tables)
    if missing:
        raise ConfigError(
            f"{len(missing)} column(s) of project {project.name!r} have types that exist on PostgreSQL only: "
            f"{', '.join(missing)}; {because}"
        )


_GIVE_URL = "give a PostgreSQL database with --database-url postgresql://USER@HOST/DB (or set $DATABASE_URL)"


def needs_postgresql(project: Project) -> bool:
    """Whether a fresh seed of `project` needs PostgreSQL: it says so (`engine`), or a column type is PostgreSQL's."""
    return project.needs_postgresql or bool(types.missing_on("sqlite", project.tables))


@contextlib.contextmanager
def _scratch_database(scratch: Path, project: Project, purpose: str) -> Iterator[str]:
    """An empty database that lives as long as one command: a SQLite file, or a throwaway PostgreSQL server.

    `verify` without a database and `check --schema` seed or migrate a
    database of their own. A project that needs PostgreSQL gets a server
    started for the command from the PostgreSQL binaries on this machine
    (the pytest plugin's own, with test settings), stopped and removed
    afterwards; no server of the team's is needed.
    """
    if not needs_postgresql(project):
        yield f"sqlite:///{scratch / f'{purpose}.db'}"
        return
    from . import pg_server

    try:
        server = pg_server.start(scratch)
    except ConfigError as exc:
        raise ConfigError(
            f"project {project.name!r} needs PostgreSQL and {purpose} starts a throwaway server for it, "
            f"which failed: {exc}; or {_GIVE_URL}"
        ) from None
    try:
        yield server.url
    finally:
        server.stop()


def _engine_of(url: str) -> str:
    return engines.parse_url(url).engine


async def _pause(point: str) -> None:
    """Test-only: hold still at `point` so that a test can kill or signal us inside the transaction.

    ECHELON_SEED_TEST_PAUSE="<point>=<seconds>" (points: connecting, locked, migrated,
    cleared, table:<name>, before-commit). A line "paused at <point>" on stderr says we are there.
    "<point>=@<path>" holds until that file exists (at most ten minutes): a test that must do
    something while we hold still releases us when it is done, however slow the machine is.
    """
    wanted = os.environ.get(PAUSE_ENV)
    if not wanted:
        return
    name, _, seconds = wanted.rpartition("=")
    if name != point:
        return
    print(f"paused at {point}", file=sys.stderr, flush=True)
    if not seconds.startswith("@"):
        await anyio.sleep(float(seconds or 0))
        return
    release = Path(seconds[1:])
    with anyio.move_on_after(600):
        while not release.exists():
            await anyio.sleep(0.02)


@dataclass(frozen=True)
class ApplyResult:
    """What `apply` did, for the one line (and table) the CLI prints."""

    database: str
    action: Literal["seeded", "reseeded", "unchanged"]
    fixture_digest: str
    scale: int
    anchor: datetime
    migration: MigrationResult
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    #: What the replay cache did: "replayed …", "kept …", or "" when it had no part.
    cache: str = ""


def _describe_occupied(state: seeder.DatabaseState) -> str:
    """The other data a database holds: rows of the project's tables no seed of ours accounts for, or
    another seed, and tables that are not the project's or echelon-seed's and hold rows."""
    parts = []
    tables = ", ".join(f"{name}: {count:,} row{'s' if count != 1 else ''}" for name, count in state.occupied.items())
    if state.record is not None:
        r = state.record
        parts.append(
            f"it holds another seed (fixtures {r.fixture_digest[:19]}…, scale {r.scale}, "
            f"schema {r.schema_revision}): {tables}"
        )
    elif tables:
        parts.append(f"it holds data that echelon-seed did not seed ({tables})")
    if state.others:
        others = ", ".join(
            f"{name}: {'rows' if has else 'not readable by this role'}" for name, has in state.others.items()
        )
        parts.append(f"{'and ' if parts else 'it holds '}tables that are not the project's ({others})")
    return " ".join(parts)


async def apply(
    database_url: str | None = None,
    *,
    fixtures_dir: Path | None = None,
    anchor: datetime | None = None,
    force: bool = False,
    confirm: str | None = None,
    scale: int = 1,
    lock_timeout: float = 30.0,
    reporter: progress.Reporter | None = None,
    project: Project | None = None,
    allow_large: bool = False,
    cache: replay.Cache | bool = True,
) -> ApplyResult:
    """Migrate to head and seed the fixtures, or do nothing if this exact seed is already there.

    `project` defaults to the built-in Echelon project; its fixtures are used
    unless `fixtures_dir` names others (for the same schema). `cache` is the
    replay cache of generated rows (True: the configured one; False: generate,
    as `--no-cache` does).
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    project = project or projects.echelon()
    anchor = anchor or clock.now()
    url = resolve_url(database_url)
    _require_types(_engine_of(url), project, f"{engines.redact(url)} is a SQLite database: {_GIVE_URL}")
    # Everything either engine would refuse is found here, before connecting (without models: once the
    # migrations have built the tables the rows are checked against, inside the transaction).
    directory = fixtures_dir or project.fixtures
    fixture_set = None
    if not project.reflect:
        fixture_set = fixtures.load(directory, project, anchor=anchor, scale=scale, allow_large=allow_large)
    started = time.perf_counter()
    if cache is True:
        cache = replay.Cache.configured(project)
    session: replay.Session | None = None
    database = engines.open_database(url, write=True, lock_timeout=lock_timeout, schema=project.schema)
    try:
        await _pause("connecting")  # next: the connection and the writer lock (SQLite's BEGIN IMMEDIATE)
        async with database.transaction() as conn:
            await database.lock(conn, lock_timeout, project.lock_key)
            await _pause("locked")
            existing = await database.backend.existing_tables(conn)  # the migrations' new tables: keys after the data
            migration = await migrate.upgrade(conn, project)
            await _pause("migrated")
            if fixture_set is None:
                project = await reflected_project(conn, project)
                fixture_set = fixtures.load(directory, project, anchor=anchor, scale=scale, allow_large=allow_large)
            wanted = bookkeeping.SeedRecord(
                anchor=anchor if fixture_set.anchored else bookkeeping.NO_ANCHOR,
                fixture_digest=fixture_set.digest,
                scale=scale,
                tool_version=__version__,
                schema_revision=migration.after,
                schema_fingerprint=project.fingerprint,
                project=project.name,
            )
            state = await seeder.read_state(conn, database.backend, project)
            if migration.created and state.record is not None:
                # A record left behind by a schema that was dropped (alembic downgrade base) describes no rows.
                state = seeder.DatabaseState(record=None, counts=state.counts, others=state.others)
            stamp = stamping.Inputs(
                config=str(project.source or ""),
                fixtures=str(Path(fixtures_dir or project.fixtures).resolve()),
                scale=scale,
                allow_large=allow_large,
            )
            if not force and state.record is not None and state.record.same_seed(wanted):
                await seeder.write_stamp(conn, wanted, stamp, project)
                return ApplyResult(
                    database=database.display,
                    action="unchanged",
                    fixture_digest=fixture_set.digest,
                    scale=scale,
                    anchor=state.record.anchor,
                    migration=migration,
                    seconds=time.perf_counter() - started,
                )
            replacing = bool(state.occupied) or state.record is not None
            if (replacing or state.others) and not force:
                again = ["echelon-seed", "apply", "--force"]
                again += _options(database_url=database_url, fixtures_dir=fixtures_dir, project=project)
                again += ["--scale", str(scale)] if scale != 1 else []
                raise RefusedError(
                    f"refusing to seed {database.display}: {_describe_occupied(state)}; "
                    f"to clear the project's tables and reseed (other tables are never touched): {shlex.join(again)}"
                )
            if replacing or state.others:
                _check_force_target(database, state, confirm)
                await _refuse_foreign_references(conn, database, project)
                await seeder.clear(conn, database.backend, project)
                await _pause("cleared")
            # The rows become the plan the engine's writer takes: tables in order, counts, streams, cycles.
            seed_plan = plan.make(fixture_set, anchor=anchor, scale=scale)
            if reporter is not None:
                reporter.phase("seeding", seed_plan.total)
            if cache:
                session = await replay.open_session(
                    cache, conn, database.backend, project, fixture_set, seed_plan, anchor=anchor, scale=scale
                )
            rows = await seeder.write(
                conn,
                database.backend,
                seed_plan,
                reporter=reporter,
                after_table=lambda name: _pause(f"table:{name}"),
                existing=existing,
                replay=session,
                sequences=project.tables,
            )
            await seeder.record(conn, wanted)
            await seeder.write_stamp(conn, wanted, stamp, project)
            await database.backend.check_integrity(conn)
            await _pause("before-commit")
        if session is not None:
            session.publish()
        return ApplyResult(
            database=database.display,
            action="reseeded" if replacing else "seeded",
            fixture_digest=fixture_set.digest,
            scale=scale,
            anchor=wanted.anchor,
            migration=migration,
            rows=rows,
            seconds=time.perf_counter() - started,
            cache="" if session is None else session.action,
        )
    finally:
        if session is not None:
            session.close()
        await database.dispose()


async def reflected_project(conn: AsyncConnection, project: Project) -> Project:
    """A project without models, its tables read from the database behind `conn` (as is, for one with models)."""
    if not project.reflect:
        return project
    from dataclasses import replace

    return replace(project, metadata=await conn.run_sync(reflected.metadata))


def _check_force_target(database: engines.Database, state: seeder.DatabaseState, confirm: str | None) -> None:
    """--force wipes only what is plainly ours or plainly disposable, unless the name is repeated."""
    if state.record is not None or database.backend.is_disposable(database.target):
        return
    name = database.target.database
    if confirm != name:
        raise RefusedError(
            f"refusing --force on {database.display}: it is not a local database and echelon-seed did not seed it "
            f"({_describe_occupied(state)}); repeat its name to confirm: --force --confirm {name}"
        )


def _foreign_references(connection: Connection, project: Project) -> list[tuple[str, str, str]]:
    """(table, foreign key, our table) for each table we do not own whose rows point into ours."""
    owned = {t.name for t in project.tables} | {seed_runs.name}
    schema = engines.schema_of(connection)
    partitions = engines.backend_of(connection).partitions(connection, schema)  # their parent's keys, not theirs
    found: list[tuple[str, str, str]] = []
    for (_schema, name), keys in sorted(inspect(connection).get_multi_foreign_keys(schema=schema).items()):
        if name in owned or name in partitions:
            continue
        for key in keys:
            if key["referred_table"] not in owned:
                continue
            columns = key["constrained_columns"]
            pointing = (
                select(literal(1))
                .select_from(table(name, *(column(c) for c in columns), schema=schema))
                .where(and_(*(column(c).is_not(None) for c in columns)))
                .limit(1)
            )
            if connection.execute(pointing).first() is not None:
                found.append((name, key.get("name") or ", ".join(columns), key["referred_table"]))
    return found


async def _refuse_foreign_references(conn: AsyncConnection, database: engines.Database, project: Project) -> None:
    """--force clears only our tables: refuse, naming the table, when another table's rows need them.

    Left to the database, the DELETE fails anyway (no CASCADE, ever), but SQLite
    says only "FOREIGN KEY constraint failed", without naming the table.
    """
    references = await conn.run_sync(_foreign_references, project)
    if references:
        name, key, ours = references[0]
        raise RefusedError(
            f"refusing --force on {database.display}: table {name!r} is not echelon-seed's and its rows reference "
            f"{ours!r} (foreign key {key}); echelon-seed never deletes from or cascades into other tables: "
            "empty that table or drop its foreign key first"
        )


def check(
    fixtures_dir: Path | None = None, *, project: Project | None = None, allow_large: bool = False
) -> list[FixtureProblem]:
    """Every problem in the fixtures (the project's, unless `fixtures_dir`), found without a database.

    Without a database, but for a private in-memory SQLite that judges the
    schema's constraints (see `constraints`).
    """
    project = project or projects.echelon()
    if project.reflect:
        return fixtures.check_shapes(fixtures_dir or project.fixtures, project.max_fixture_bytes)
    return fixtures.check(fixtures_dir or project.fixtures, project, allow_large=allow_large)


def unchecked(project: Project | None = None) -> list[str]:
    """What of the project's schema `check` cannot evaluate (PostgreSQL-only types and SQL; without models, all of it)."""
    project = project or projects.echelon()
    if project.reflect:
        where = projects.display(project.migrations or Path())
        return [
            f"tables, columns, types, keys and constraints (project {project.name!r} has no models: "
            f"its schema is what {where}/ builds)"
        ]
    return fixtures.unchecked(project)


class _RollBack(Exception):
    """Ends a transaction that must leave nothing behind, carrying what it found."""

    def __init__(self, found: list[str]) -> None:
        self.found = found


async def check_schema(database_url: str | None = None, *, project: Project | None = None) -> list[str]:
    """Where the project's models and what its migrations build disagree; empty when they agree.

    The migrations run (then roll back) on a scratch SQLite database, or on
    `database_url` when given (an empty or already migrated one).
    """
    project = project or projects.echelon()
    if project.reflect:
        raise ConfigError(
            f"project {project.name!r} has no models: its schema is what its migrations build, so there is "
            "nothing for 'check --schema' to compare them with"
        )
    with (
        tempfile.TemporaryDirectory(prefix="echelon-seed-schema-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        url = database_url or stack.enter_context(_scratch_database(Path(scratch), project, "check --schema"))
        database = engines.open_database(url, write=True, schema=project.schema)
        try:
            _require_types(
                database.backend.name,
                project,
                f"{database.display} is a SQLite database: give an empty or migrated PostgreSQL database with "
                "--database-url postgresql://USER@HOST/DB (the migrations run and roll back), or none "
                "(check --schema then starts a throwaway PostgreSQL server)",
            )
            async with database.transaction() as conn:
                await migrate.upgrade(conn, project, allow_lagging=True)
                raise _RollBack(await migrate.differences(conn, project))
        except _RollBack as done:
            return done.found
        finally:
            await database.dispose()


async def snapshot(
    database_url: str | None = None,
    out: IO[bytes] | None = None,
    *,
    blocks: bool = False,
    ignore: Sequence[str] = (),
    reporter: progress.Reporter | None = None,
    project: Project | None = None,
) -> snapshots.Header:
    """Write the canonical snapshot of a database to `out`, reading in one read-only transaction."""
    project = project or projects.echelon()
    database = engines.open_database(resolve_url(database_url), write=False, schema=project.schema)
    try:
        async with database.transaction() as conn:
            project = await reflected_project(conn, project)
            return await snapshots.capture(
                conn, database.backend, out, blocks=blocks, ignore=ignore, reporter=reporter, project=project
            )
    finally:
        await database.dispose()


def golden_path(scale: int = 1, project: Project | None = None) -> Path:
    """The committed golden file: a full snapshot at scale 1, a digest manifest at larger scales."""
    return (project or projects.echelon()).golden_path(scale)


def regenerate_command(
    scale: int = 1,
    *,
    golden: Path | None = None,
    fixtures_dir: Path | None = None,
    database_url: str | None = None,
    ignore: Sequence[str] = (),
    project: Project | None = None,
) -> str:
    """The `verify --update` that rewrites the file just verified: the user's own options, replayed.

    A hint that drops an option does something else when pasted (rewrites
    the default golden file, reads another database), so every option that
    chose the golden file, the fixtures, the scale, the ignored columns or the
    database is repeated; the password of a URL is shown as ***.
    """
    words = ["echelon-seed", "verify", "--update"]
    if project is not None:
        words += projects.command_options(project)
    if database_url is not None:
        words += ["--database-url", _pasteable(database_url)]
    if fixtures_dir is not None:
        words += ["--fixtures", str(fixtures_dir)]
    if scale != 1:
        words += ["--scale", str(scale)]
    if golden is not None:
        words += ["--golden", str(golden)]
    for pattern in ignore:
        words += ["--ignore", pattern]
    return shlex.join(words)


@dataclass(frozen=True)
class VerifyResult:
    """The verdict of `verify`: a report to print, or the golden file that was (re)written."""

    golden: Path
    header: snapshots.Header
    database: str
    regenerate: str
    report: diff.Report | None = None
    updated: bool = False
    #: When `regenerate` would be refused (the database was seeded at another scale or from other
    #: fixtures), what to do instead, as a sentence ending in a command.
    advice: str | None = None

    @property
    def matches(self) -> bool:
        return self.report is None or self.report.matches


def verify_target(database_url: str | None, *, fresh: bool = False) -> str | None:
    """The database `verify` reads: --database-url, else $DATABASE_URL when set, else None (a fresh seed)."""
    if database_url is not None:
        return database_url
    if fresh:
        return None
    return os.environ.get("DATABASE_URL") or None


async def verify(
    database_url: str | None = None,
    *,
    golden: Path | None = None,
    fixtures_dir: Path | None = None,
    scale: int = 1,
    update: bool = False,
    limit: int | None = diff.DEFAULT_LIMIT,
    ignore: Sequence[str] | None = None,
    fresh: bool = False,
    save_actual: Path | None = None,
    reporter: progress.Reporter | None = None,
    project: Project | None = None,
    allow_large: bool = False,
    indexes: bool = False,
    views: bool = False,
) -> VerifyResult:
    """Compare a database with the golden file (or rewrite the golden file with `update`).

    The database is `verify_target`'s: the URL given, else $DATABASE_URL, else
    (or with `fresh`) a fresh temporary SQLite database seeded from the
    fixtures, which is what CI checks without a server: the fixtures still
    produce the committed snapshot. A database given by URL is only read.
    Without `ignore`, a golden file made with ignored columns is verified
    with the same ones, and one is made with the project's `ignore` list.
    `indexes` and `views` make those sections part of the verdict.
    """
    project = project or projects.echelon()
    golden_file = golden or golden_path(scale, project)
    manifest = scale != 1
    hint = regenerate_command(
        scale, golden=golden, fixtures_dir=fixtures_dir, database_url=database_url, ignore=ignore or (), project=project
    )
    patterns = list(project.ignore if ignore is None else ignore)
    if not update:
        if not golden_file.is_file():
            raise SnapshotError(f"no golden file at {projects.display(golden_file)}; create it with: {hint}")
        try:
            with golden_file.open("rb") as raw:
                recorded = snapshots.check_consistent(projects.display(golden_file), raw).ignore
        except SnapshotError as exc:
            raise SnapshotError(f"{exc}; regenerate it with: {hint}") from None
        if ignore is None:
            patterns = recorded
    url = verify_target(database_url, fresh=fresh)
    with (
        tempfile.TemporaryDirectory(prefix="echelon-seed-verify-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        seeded_here = url is None
        if url is None:
            url = stack.enter_context(_scratch_database(Path(scratch), project, "verify"))
            await apply(
                url, fixtures_dir=fixtures_dir, scale=scale, reporter=reporter, project=project, allow_large=allow_large
            )
            database = f"a fresh database seeded from {projects.display(fixtures_dir or project.fixtures)}"
        else:
            database = engines.redact(url)
        actual = Path(scratch) / "actual.snapshot"
        with actual.open("wb") as out:
            header = await snapshot(url, out, blocks=manifest, ignore=patterns, reporter=reporter, project=project)
        if manifest:
            actual.write_text(header.to_line(blocks=True) + "\n", encoding="utf-8")
        if save_actual is not None:
            with projects.replaced(save_actual) as out, actual.open("rb") as source:
                shutil.copyfileobj(source, out)
        if update:
            if golden is None and not seeded_here:
                _check_default_golden_source(header, fixtures_dir, scale, database, golden_file, project)
            if golden is None:  # the project's own snapshots directory is made when first written
                golden_file.parent.mkdir(parents=True, exist_ok=True)
            with projects.replaced(golden_file) as out, actual.open("rb") as source:
                shutil.copyfileobj(source, out)
            return VerifyResult(golden=golden_file, header=header, database=database, regenerate=hint, updated=True)
        report = diff.compare(
            golden_file,
            actual,
            limit=limit,
            golden_label=projects.display(golden_file),
            actual_label=database,
            indexes=indexes,
            views=views,
        )
    advice = None
    if not report.matches and not seeded_here and golden is None:
        advice = _verify_advice(header, scale, fixtures_dir, database_url, ignore, project)
    return VerifyResult(
        golden=golden_file, header=header, database=database, regenerate=hint, report=report, advice=advice
    )


def _verify_advice(
    header: snapshots.Header,
    scale: int,
    fixtures_dir: Path | None,
    database_url: str | None,
    ignore: Sequence[str] | None,
    project: Project,
) -> str | None:
    """What to run when `verify --update` would refuse this database: every hint must work when pasted.

    A database seeded at another scale is verified at that scale (its
    manifest, or `--update` to make one); one seeded from other fixtures
    cannot rewrite the project's golden file, so it is reseeded first.
    """
    words = ["echelon-seed"]
    options = _options(database_url=database_url, fixtures_dir=fixtures_dir, project=project)
    if header.scale is not None and header.scale != scale:
        exists = project.golden_path(header.scale).is_file()
        words += ["verify", *([] if exists else ["--update"]), *options, "--scale", str(header.scale)]
        words += [w for pattern in ignore or () for w in ("--ignore", pattern)]
        what = "verify it at that scale" if exists else "make that scale's golden file from it"
        return f"the database was seeded at scale {header.scale}; {what}: {shlex.join(words)}"
    if header.fixtures is None:
        return None
    wanted = _fixture_digest(fixtures_dir or project.fixtures, project)
    if header.fixtures == wanted:
        return None
    words += ["apply", "--force", *options, *(["--scale", str(scale)] if scale != 1 else [])]
    return (
        f"the database was seeded from other fixtures ({header.fixtures[:19]}…; these are {wanted[:19]}…); "
        f"reseed it from these fixtures, then verify again: {shlex.join(words)}"
    )


def _fixture_digest(directory: Path, project: Project) -> str:
    """The digest an apply of these fixtures would record, to compare with a database's seed record.

    Only the digest is wanted: the size limit is apply's business, not this
    comparison's. A project without models knows its tables only from a
    migrated database, so its digest is taken over the files as they are
    (the same digest `load` gives once the tables are known).
    """
    if project.reflect:
        return fixtures.digest(directory, project.generators)
    return fixtures.load(directory, project, allow_large=True).digest


def _pasteable(url: str) -> str:
    """A URL for a hint: never its password (the pasted command finds it in PGPASSWORD or ~/.pgpass)."""
    from . import urls

    try:
        return urls.parse(url).pasteable
    except ConfigError:
        return engines.redact(url)


def _options(*, database_url: str | None, fixtures_dir: Path | None, project: Project) -> list[str]:
    """The options that make a pasted command act on the same database, fixtures and project."""
    words = []
    if database_url is not None:
        words += ["--database-url", _pasteable(database_url)]
    if fixtures_dir is not None:
        words += ["--fixtures", str(fixtures_dir)]
    return [*projects.command_options(project), *words]


def _check_default_golden_source(
    header: snapshots.Header,
    fixtures_dir: Path | None,
    scale: int,
    database: str,
    golden_file: Path,
    project: Project,
) -> None:
    """The project's golden file describes its fixtures: a database seeded from other fixtures may not rewrite it.

    A database echelon-seed did not seed (no seed record) may: its golden
    file is then the description of that database, which is what a team
    adopting the gate on an existing database wants.
    """
    if header.fixtures is None:
        return
    wanted = _fixture_digest(fixtures_dir or project.fixtures, project)
    if header.fixtures == wanted and header.scale == scale:
        return
    has = f"fixtures {header.fixtures[:19]}…, scale {header.scale}"
    raise RefusedError(
        f"refusing to rewrite {projects.display(golden_file)} from {database}: it was not seeded from these fixtures "
        f"at scale {scale} ({has}; the fixtures are {wanted[:19]}…); to write it anyway, name it: "
        f"--golden {projects.display(golden_file)}"
    )


@dataclass(frozen=True)
class DiffResult:
    """The report of `diff_sources`, with how each side was named."""

    report: diff.Report
    golden: str
    actual: str

    @property
    def matches(self) -> bool:
        return self.report.matches


def is_url(text: str) -> bool:
    """Whether a `diff` argument names a database (a URL) rather than a snapshot file."""
    return "://" in text or text.startswith("sqlite:")


def _file_side(text: str) -> tuple[Path, snapshots.Header, bool]:
    """A snapshot file given to `diff`: checked against its own digests; (path, header, is a manifest)."""
    path = Path(text)
    if not path.is_file():
        raise SnapshotError(f"no snapshot file at {text} (a database needs a URL: sqlite:///path or postgresql://...)")
    try:
        with path.open("rb") as raw:
            header = snapshots.check_consistent(text, raw)
    except OlderFormatError as exc:
        raise OlderFormatError(
            f"{exc}; write it again from the database it was taken from: "
            f"echelon-seed snapshot --database-url URL -o {shlex.quote(text)}"
        ) from None
    with path.open("rb") as raw:
        raw.readline()
        manifest = not raw.readline()
    return path, header, manifest


async def diff_sources(
    a: str,
    b: str,
    *,
    ignore: Sequence[str] | None = None,
    limit: int | None = diff.DEFAULT_LIMIT,
    save_actual: Path | None = None,
    reporter: progress.Reporter | None = None,
    project: Project | None = None,
    indexes: bool = False,
    views: bool = False,
) -> DiffResult:
    """Compare A (taken as the golden side) with B; each a database URL or a snapshot file.

    The comparison is `verify`'s (`diff.compare`, the same report and exit
    codes). A database is snapshotted read-only with the `ignore` patterns,
    else with those recorded in the file on the other side; against a
    manifest it is summarised into a manifest too. A database is read as
    `snapshot` and `verify` read it, with the project's declared types, so
    that a file and the database it was taken from compare equal.
    """
    project = project or projects.echelon()
    files = {text: _file_side(text) for text in (a, b) if not is_url(text)}
    recorded = next((header.ignore for _, header, _ in files.values()), [])
    patterns = list(ignore) if ignore is not None else recorded
    manifest = any(is_manifest for _, _, is_manifest in files.values())
    labels = {text: engines.redact(text) if is_url(text) else text for text in (a, b)}
    with tempfile.TemporaryDirectory(prefix="echelon-seed-diff-") as scratch:
        paths: list[Path] = []
        for index, text in enumerate((a, b)):
            if text in files:
                paths.append(files[text][0])
                continue
            path = Path(scratch) / f"side-{index}.snapshot"
            with path.open("wb") as out:
                header = await snapshot(text, out, blocks=manifest, ignore=patterns, reporter=reporter, project=project)
            if manifest:
                path.write_text(header.to_line(blocks=True) + "\n", encoding="utf-8")
            paths.append(path)
        if save_actual is not None:
            with projects.replaced(save_actual) as out, paths[1].open("rb") as source:
                shutil.copyfileobj(source, out)
        report = diff.compare(
            paths[0],
            paths[1],
            limit=limit,
            golden_label=labels[a],
            actual_label=labels[b],
            golden_side=labels[a],
            actual_side=labels[b],
            indexes=indexes,
            views=views,
        )
    return DiffResult(report=report, golden=labels[a], actual=labels[b])


@dataclass(frozen=True)
class ExportResult:
    """What `export` wrote: rows per table, the tables added for foreign keys, the tables left out."""

    database: str
    directory: Path
    anchor: datetime | None
    rows: dict[str, int]
    added: dict[str, int]
    left_out: list[str]
    seconds: float
    #: With a masking policy: the masked columns (table.column), and how many original values were recorded.
    masked: tuple[str, ...] = ()
    recorded: int = 0


async def export(
    database_url: str | None = None,
    output: Path | None = None,
    *,
    tables: Sequence[str] = (),
    roots: Sequence[str] = (),
    anchor: datetime | None = None,
    absolute: bool = False,
    force: bool = False,
    reporter: progress.Reporter | None = None,
    project: Project | None = None,
    mask: masking.Policy | None = None,
    mask_key: masking.MaskKey | None = None,
) -> ExportResult:
    """Write the project's fixture files from a database (all of it, or the closure of `tables` and `roots`).

    Times are relative to `anchor`, else to the seed record's anchor when the
    database is a seed of this project, else absolute (always with `absolute`).
    With `mask`, values are masked by the policy with `mask_key` (else the key
    from the environment), the leak digests are written beside the files, and
    the files are published only when the leak check finds no original value.
    """
    from . import export as exporting

    project = project or projects.echelon()
    if project.reflect:
        return await _export_reflected(
            database_url,
            output,
            tables=tables,
            roots=roots,
            anchor=anchor,
            absolute=absolute,
            force=force,
            reporter=reporter,
            project=project,
            mask=mask,
            mask_key=mask_key,
        )
    if anchor is not None and absolute:
        raise ConfigError("--anchor and --absolute exclude each other: times are relative to one anchor, or absolute")
    known = [t.name for t in project.tables]
    for name in tables:
        if name not in known:
            raise ConfigError(f"--tables: project {project.name!r} has no table {name!r}; known: {', '.join(known)}")
    parsed = [exporting.parse_root(text, project) for text in roots]
    target = output or project.fixtures
    exporting.check_destination(target, force=force)
    masker = _masker(mask, mask_key, project, [*tables, *(r.table for r in parsed)])
    started = time.perf_counter()
    database = engines.open_database(resolve_url(database_url), write=False)
    if reporter is not None:
        reporter.phase("exporting", None)
    try:
        async with database.transaction() as conn:
            left_out = await exporting.check_target(conn, project)
            if anchor is None and not absolute:
                record = await seeder.read_record(conn)
                relative = record is not None and record.same_schema(project) and record.anchored
                anchor = record.anchor if record is not None and relative else None
            selection = (
                await exporting.read_selection(conn, project, tables=tables, roots=parsed, backend=database.backend)
                if tables or parsed
                else None
            )
            with exporting.staged_directory(target, project) as staged:
                rows = await exporting.write_tables(
                    conn,
                    database.backend,
                    project,
                    staged,
                    anchor=anchor,
                    selection=selection,
                    reporter=reporter,
                    mask=masker,
                )
                if masker is not None:
                    _check_leaks(masker, staged)
    finally:
        await database.dispose()
    added = {name: n for name, n in rows.items() if selection is not None and name not in selection.asked}
    return ExportResult(
        database=database.display,
        directory=target,
        anchor=anchor,
        rows=rows,
        added=added,
        left_out=left_out,
        seconds=time.perf_counter() - started,
        masked=tuple(f"{r.target.name}" for r in masker.plan.masked()) if masker is not None else (),
        recorded=len(masker.recorder) if masker is not None else 0,
    )


def _masker(
    policy: masking.Policy | None, key: masking.MaskKey | None, project: Project, tables: Sequence[str]
) -> masking.Masker | None:
    """The policy checked against the schema and bound to the key, before any database is opened."""
    if policy is None:
        return None
    checked = masking.plan(policy, project, tables)
    return masking.Masker(checked, key or masking.read_key())


def _check_leaks(masker: masking.Masker, staged: Path) -> None:
    """Write the digest file beside the staged fixtures and refuse to publish them if an original shows."""
    masker.recorder.write(staged / masking.DIGESTS_FILE, masker.plan.unscanned())
    leaks = masking.scan_directory(masker.detector(), staged)
    if leaks:
        raise masking.LeakError(
            leaks, "nothing was written: mask that column too (or the column its value came from) and export again"
        )


@dataclass(frozen=True)
class LeakResult:
    """What `check_leaks` read and found: the source, the leaks (none when clean), the digests it had."""

    source: str
    leaks: list[masking.Leak]
    recorded: int


async def check_leaks(
    *,
    fixtures_dir: Path | None = None,
    database_url: str | None = None,
    snapshot: Path | None = None,
    digests: Path | None = None,
    project: Project | None = None,
    mask_key: masking.MaskKey | None = None,
) -> LeakResult:
    """Look for the original values a masked export recorded, in fixtures, a database or a snapshot file.

    The digests are those of `digests`, else the digest file in the fixture
    directory; the key is `mask_key`, else the one in the environment.
    """
    project = project or projects.echelon()
    if database_url is not None and snapshot is not None:
        raise ConfigError("check --leaks reads one source: a database (--database-url) or a snapshot (--snapshot)")
    directory = fixtures_dir or project.fixtures
    detector = masking.Detector.read(digests or directory / masking.DIGESTS_FILE, mask_key or masking.read_key())
    if snapshot is not None:
        return LeakResult(projects.display(snapshot), masking.scan_snapshot(detector, snapshot), len(detector.found))
    if database_url is None:
        return LeakResult(projects.display(directory), masking.scan_directory(detector, directory), len(detector.found))
    database = engines.open_database(resolve_url(database_url), write=False)
    leaks: list[masking.Leak] = []
    try:
        async with database.transaction() as conn:
            project = await reflected_project(conn, project)  # without models, the tables are the database's
            for table in project.tables:
                keys = [database.backend.sort_key(c) for c in table.primary_key.columns]
                names = table.columns.keys()
                result = await conn.execute(select(*table.columns).order_by(*keys))
                skip = {c for t, c in detector.unscanned if t == table.name}
                rows = (dict(zip(names, row, strict=True)) for row in result)
                leaks += masking.scan_rows(detector, f"table {table.name}", rows, skip)
    finally:
        await database.dispose()
    return LeakResult(database.display, leaks, len(detector.found))


async def _export_reflected(database_url: str | None, output: Path | None, **options: Any) -> ExportResult:
    """`export` for a project without models: its tables are the database's, read first."""
    project: Project = options.pop("project")
    database = engines.open_database(resolve_url(database_url), write=False, schema=project.schema)
    try:
        async with database.transaction() as conn:
            project = await reflected_project(conn, project)
    finally:
        await database.dispose()
    from dataclasses import replace

    return await export(database_url, output, project=replace(project, reflect=False), **options)


async def status(
    database_url: str | None = None, *, fixtures_dir: Path | None = None, project: Project | None = None
) -> status_.Status:
    """What a database holds (schema revision, seed record, rows) and whether its seed is current."""
    project = project or projects.echelon()
    database = engines.open_database(resolve_url(database_url), write=False)
    reseed = ["echelon-seed", "apply", "--force"]
    reseed += _options(database_url=database_url, fixtures_dir=fixtures_dir, project=project)
    try:
        async with database.transaction() as conn:
            project = await reflected_project(conn, project)
            try:
                digest, problem = fixtures.load(fixtures_dir or project.fixtures, project).digest, None
            except FixtureError as exc:
                digest, problem = None, f"{len(exc.problems)} problem(s); to list them: {exc.check_command}"
            return await status_.read(
                conn,
                project,
                database=database.display,
                fixtures=digest,
                fixtures_problem=problem,
                reseed=shlex.join(reseed),
            )
    finally:
        await database.dispose()


def export_sql(
    out: IO[bytes],
    *,
    fixtures_dir: Path | None = None,
    scale: int = 1,
    with_schema: bool = False,
    project: Project | None = None,
    mask: masking.Policy | None = None,
    mask_key: masking.MaskKey | None = None,
) -> int:
    """Write the seed as a psql script (see `export_sql`) to `out`; return its row count. No database is read.

    With `mask`, the rows are masked by the policy (as `export` does) and checked for leaks.
    """
    import io

    from . import export_sql as scripts

    if scale < 1:
        raise ValueError("scale must be at least 1")
    project = project or projects.echelon()
    if project.reflect:
        raise ConfigError(
            f"project {project.name!r} has no models, so export-sql cannot know its tables without a database: "
            "seed one with 'echelon-seed apply' and give the script's reader that, or add models"
        )
    masker = _masker(mask, mask_key, project, ())
    fixture_set = fixtures.load(fixtures_dir or project.fixtures, project)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=False)
    try:
        return scripts.write_script(
            text, project, fixture_set, scale=scale, with_schema=with_schema, tool_version=__version__, mask=masker
        )
    finally:
        text.flush()
        text.detach()
