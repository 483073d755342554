"""`snapshot` and `status`: a database read in one read-only transaction."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from echelon_seed import engines, fixtures, progress
from echelon_seed import project as projects
from echelon_seed import snapshot as snapshots
from echelon_seed import status as status_
from echelon_seed.errors import FixtureError
from echelon_seed.project import Project

from .hints import command_options
from .targets import reflected_project, resolve_url


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


async def status(
    database_url: str | None = None, *, fixtures_dir: Path | None = None, project: Project | None = None
) -> status_.Status:
    """What a database holds (schema revision, seed record, rows) and whether its seed is current."""
    project = project or projects.echelon()
    database = engines.open_database(resolve_url(database_url), write=False)
    reseed = ["echelon-seed", "apply", "--force"]
    reseed += command_options(database_url=database_url, fixtures_dir=fixtures_dir, project=project)
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
