"""`export-sql`: the seed as a psql script, loaded by the real `psql` into the suite's PostgreSQL, then verified.

PostgreSQL only: the script is PostgreSQL's (COPY, DO blocks, psql's \\if).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from echelon_seed import commands, engines, migrate, project
from echelon_seed.project import Project
from tests import dbtools, pgserver

EXAMPLE = dbtools.REPO / "examples" / "shop"
_names = itertools.count(1)


@pytest.fixture
def database(pg_server: pgserver.PgServer) -> Iterator[Callable[[], str]]:
    """A factory of empty PostgreSQL databases, dropped afterwards."""
    made: list[str] = []

    def make() -> str:
        name = f"export_sql_{next(_names)}_{os.getpid()}"
        made.append(name)
        return pg_server.create_database(name)

    yield make
    for name in made:
        pg_server.drop_database(name)


def psql(url: str, script: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("psql")
    assert binary is not None, "psql is needed: the test loads the script as the seed guide says"
    return subprocess.run(
        [binary, url, "-v", "ON_ERROR_STOP=1", "-q", "-f", str(script), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


async def migrated(url: str, chosen: Project) -> None:
    database = engines.open_database(url, write=True)
    try:
        async with database.transaction() as conn:
            await migrate.upgrade(conn, chosen)
    finally:
        await database.dispose()


def script(tmp_path: Path, *args: str, project_dir: Path | None = None) -> Path:
    out = tmp_path / "seed.sql"
    extra = ["--project", str(project_dir)] if project_dir else []
    done = dbtools.run_cli("export-sql", "-o", str(out), *extra, *args)
    assert done.returncode == 0, done.stderr
    return out


def verify(url: str, project_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--project", str(project_dir)] if project_dir else []
    return dbtools.run_cli("verify", "--database-url", url, *extra)


async def test_psql_loads_the_script_into_a_migrated_database_and_it_verifies(
    database: Callable[[], str], tmp_path: Path
) -> None:
    url = database()
    await migrated(url, project.echelon())
    seed = script(tmp_path)

    loaded = psql(url, seed)
    checked = await anyio.to_thread.run_sync(verify, url)

    assert (loaded.returncode, loaded.stderr) == (0, "")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("OK: 176 rows in 8 tables match")


async def test_a_second_load_fails_cleanly_saying_why_and_commits_nothing(
    database: Callable[[], str], tmp_path: Path
) -> None:
    url = database()
    seed = script(tmp_path, "--with-schema")
    assert psql(url, seed).returncode == 0
    before = await dbtools.row_counts(url)

    again = psql(url, seed)

    assert again.returncode == 3
    assert "echelon-seed: the database already has table users, so the schema cannot be created" in again.stderr
    assert await dbtools.row_counts(url) == before


async def test_a_migrated_database_with_data_is_refused_by_the_plain_script(
    database: Callable[[], str], tmp_path: Path
) -> None:
    url = database()
    await commands.apply(url)
    seed = script(tmp_path)

    again = psql(url, seed)

    assert again.returncode == 3
    assert "the database already has data (table users is not empty)" in again.stderr


async def test_with_schema_the_script_seeds_an_empty_database(database: Callable[[], str], tmp_path: Path) -> None:
    url = database()
    seed = script(tmp_path, "--with-schema")

    loaded = psql(url, seed, "-v", "anchor=2026-11-24T12:00:00Z")
    status = await commands.status(url)

    assert (loaded.returncode, loaded.stderr, loaded.stdout) == (0, "", "")
    assert status.record is not None and status.record.anchor.isoformat() == "2026-11-24T12:00:00+00:00"
    assert (status.schema_state, status.seed_state) == ("up to date", "current")
    assert (await anyio.to_thread.run_sync(verify, url)).returncode == 0


async def test_the_example_project_loads_with_its_cycle_enum_uuids_and_binary(
    database: Callable[[], str], tmp_path: Path
) -> None:
    url = database()
    seed = script(tmp_path, "--with-schema", project_dir=EXAMPLE)

    loaded = psql(url, seed)

    assert (loaded.returncode, loaded.stderr) == (0, "")
    checked = await anyio.to_thread.run_sync(verify, url, EXAMPLE)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_an_unmigrated_database_is_refused_with_the_next_step(
    database: Callable[[], str], tmp_path: Path
) -> None:
    url = database()
    seed = script(tmp_path)

    loaded = psql(url, seed)

    assert loaded.returncode == 3
    assert "echelon-seed: the database is not migrated (no echelon_seed_alembic_version table)" in loaded.stderr
    assert await dbtools.table_names(url) == set()


async def test_a_scaled_script_verifies_against_the_scale_manifest(database: Callable[[], str], tmp_path: Path) -> None:
    url = database()
    seed = script(tmp_path, "--with-schema", "--scale", "100")

    assert psql(url, seed).returncode == 0

    checked = await anyio.to_thread.run_sync(lambda: dbtools.run_cli("verify", "--database-url", url, "--scale", "100"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_a_database_at_another_revision_is_refused(database: Callable[[], str], tmp_path: Path) -> None:
    url = database()
    await migrated(url, project.echelon())
    await dbtools.execute(url, "UPDATE echelon_seed_alembic_version SET version_num = '0002'")
    seed = script(tmp_path)

    loaded = psql(url, seed)

    assert loaded.returncode == 3
    assert "the database is at schema revision 0002, the script was made for 0001" in loaded.stderr
    assert (await dbtools.row_counts(url))["users"] == 0


async def test_the_guides_plain_redirect_works_too(database: Callable[[], str], tmp_path: Path) -> None:
    url = database()
    seed = script(tmp_path, "--with-schema")
    binary = shutil.which("psql")
    assert binary is not None

    with seed.open("rb") as stdin:
        loaded = subprocess.run([binary, "-q", url], stdin=stdin, capture_output=True, timeout=120, check=False)

    assert (loaded.returncode, loaded.stderr) == (0, b"")
    assert (await anyio.to_thread.run_sync(verify, url)).returncode == 0
