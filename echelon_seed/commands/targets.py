"""Which database a command works on: the URL, the engine it needs, a throwaway one, its reflected tables."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from echelon_seed import engines, reflected, types
from echelon_seed.errors import ConfigError
from echelon_seed.project import Project


def resolve_url(database_url: str | None) -> str:
    """The URL to use: the option, else DATABASE_URL, else the SQLite default."""
    return database_url or os.environ.get("DATABASE_URL") or engines.DEFAULT_URL


def require_types(engine: str, project: Project, because: str) -> None:
    """Refuse, once and before connecting, an engine that lacks some of the project's column types."""
    if engine == "sqlite" and project.needs_postgresql:
        raise ConfigError(f'project {project.name!r} is written for PostgreSQL (engine = "postgresql"); {because}')
    missing = types.missing_on(engine, project.tables)
    if missing:
        raise ConfigError(
            f"{len(missing)} column(s) of project {project.name!r} have types that exist on PostgreSQL only: "
            f"{', '.join(missing)}; {because}"
        )


GIVE_URL = "give a PostgreSQL database with --database-url postgresql://USER@HOST/DB (or set $DATABASE_URL)"


def needs_postgresql(project: Project) -> bool:
    """Whether a fresh seed of `project` needs PostgreSQL: it says so (`engine`), or a column type is PostgreSQL's."""
    return project.needs_postgresql or bool(types.missing_on("sqlite", project.tables))


@contextlib.contextmanager
def scratch_database(scratch: Path, project: Project, purpose: str) -> Iterator[str]:
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
    from echelon_seed import pg_server

    try:
        server = pg_server.start(scratch)
    except ConfigError as exc:
        raise ConfigError(
            f"project {project.name!r} needs PostgreSQL and {purpose} starts a throwaway server for it, "
            f"which failed: {exc}; or {GIVE_URL}"
        ) from None
    try:
        yield server.url
    finally:
        server.stop()


def engine_of(url: str) -> str:
    return engines.parse_url(url).engine


async def reflected_project(conn: AsyncConnection, project: Project) -> Project:
    """A project without models, its tables read from the database behind `conn` (as is, for one with models)."""
    if not project.reflect:
        return project
    from dataclasses import replace

    return replace(project, metadata=await conn.run_sync(reflected.metadata))
