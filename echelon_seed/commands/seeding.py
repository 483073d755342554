"""`apply`: migrations, then the seed, in one transaction that a failure or a kill leaves as it was."""

from __future__ import annotations

import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import anyio
from sqlalchemy import and_, column, inspect, literal, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from echelon_seed import bookkeeping, clock, engines, fixtures, migrate, plan, progress, replay, seeder
from echelon_seed import project as projects
from echelon_seed import stamp as stamping
from echelon_seed.bookkeeping import seed_runs
from echelon_seed.errors import RefusedError
from echelon_seed.migrate import MigrationResult
from echelon_seed.project import Project
from echelon_seed.version import __version__

from .hints import command_options
from .targets import GIVE_URL, engine_of, reflected_project, require_types, resolve_url

PAUSE_ENV = "ECHELON_SEED_TEST_PAUSE"


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
    #: What is worth saying about the fixtures beside the seed (absolute times among relative ones).
    notes: tuple[str, ...] = ()


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
    require_types(engine_of(url), project, f"{engines.redact(url)} is a SQLite database: {GIVE_URL}")
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
                again += command_options(database_url=database_url, fixtures_dir=fixtures_dir, project=project)
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
            notes=tuple(str(note) for note in fixture_set.fixed_times()),
        )
    finally:
        if session is not None:
            session.close()
        await database.dispose()


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
