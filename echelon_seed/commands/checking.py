"""`check`: the fixtures judged without a database, and the models against what the migrations build."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from echelon_seed import engines, fixtures, migrate
from echelon_seed import project as projects
from echelon_seed.errors import ConfigError, FixtureProblem
from echelon_seed.project import Project

from .targets import require_types, scratch_database


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


def notes(fixtures_dir: Path | None = None, *, project: Project | None = None) -> list[FixtureProblem]:
    """What `check` says beside valid fixtures: absolute times among relative ones (see `FixtureSet.fixed_times`)."""
    project = project or projects.echelon()
    if project.reflect:
        return []
    return fixtures.load(fixtures_dir or project.fixtures, project, allow_large=True).fixed_times()


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
        url = database_url or stack.enter_context(scratch_database(Path(scratch), project, "check --schema"))
        database = engines.open_database(url, write=True, schema=project.schema)
        try:
            require_types(
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
