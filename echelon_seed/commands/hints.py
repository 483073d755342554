"""The words of a command to paste: every option that chose the database, the fixtures and the project."""

from __future__ import annotations

from pathlib import Path

from echelon_seed import engines
from echelon_seed import project as projects
from echelon_seed.errors import ConfigError
from echelon_seed.project import Project


def pasteable(url: str) -> str:
    """A URL for a hint: never its password (the pasted command finds it in PGPASSWORD or ~/.pgpass)."""
    from echelon_seed import urls

    try:
        return urls.parse(url).pasteable
    except ConfigError:
        return engines.redact(url)


def command_options(*, database_url: str | None, fixtures_dir: Path | None, project: Project) -> list[str]:
    """The options that make a pasted command act on the same database, fixtures and project."""
    words = []
    if database_url is not None:
        words += ["--database-url", pasteable(database_url)]
    if fixtures_dir is not None:
        words += ["--fixtures", str(fixtures_dir)]
    return [*projects.command_options(project), *words]
