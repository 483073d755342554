"""Every statement names its schema: another schema first on the search_path changes nothing (PostgreSQL).

Another application keeps its own `users` table in schema `app`, with
columns compatible with ours and two rows, and the database's search_path
puts `app` first. Before, `apply --force` deleted those two rows and wrote
the seed users into `app.users`, and `verify` read them back from there and
said OK. Now `apply` (first seed and `--force`), `snapshot` and `verify`
work on `public` only: `app.users` keeps its two rows, and the snapshot is
the one of a database without `app`. A project may name another schema
(`schema` in its configuration): every table, echelon-seed's own included,
is then there, and the snapshot is byte for byte the one of a `public` seed.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from echelon_seed import commands, engines
from echelon_seed import project as projects
from tests import dbtools, pgserver
from tests.test_reliability_kill import NEW, OLD

APP_USERS = [("USR_APP_1", "alice"), ("USR_APP_2", "bob")]


async def _another_app_first_on_the_path(url: str) -> None:
    database = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(**pgserver.connect_kwargs(url))
    try:
        await admin.execute("CREATE SCHEMA app")
        # The columns of our users table, so that a write through the search_path would succeed.
        await admin.execute(
            "CREATE TABLE app.users (id varchar(32) PRIMARY KEY, username varchar(64) NOT NULL UNIQUE, "
            "email varchar(255) NOT NULL DEFAULT '', password_hash varchar(255) NOT NULL DEFAULT '', "
            "tier text NOT NULL DEFAULT 'free', balance_usdc numeric(18, 2) NOT NULL DEFAULT 0, "
            "balance_echelon integer NOT NULL DEFAULT 0, wallet_address varchar(42), bio text, "
            "is_active boolean NOT NULL DEFAULT true, created_at timestamptz NOT NULL DEFAULT now())"
        )
        await admin.executemany("INSERT INTO app.users (id, username) VALUES ($1, $2)", APP_USERS)
        await admin.execute(f'ALTER DATABASE "{database}" SET search_path = app, public')
    finally:
        await admin.close()


async def _app_users(url: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(**pgserver.connect_kwargs(url))
    try:
        rows = await conn.fetch("SELECT id, username FROM app.users ORDER BY id")
        return [(r["id"], r["username"]) for r in rows]
    finally:
        await conn.close()


async def _public_tables(url: str) -> set[str]:
    conn = await asyncpg.connect(**pgserver.connect_kwargs(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


@pytest.mark.parametrize("first", ["apply on an empty public schema", "apply before app existed"])
async def test_another_schema_first_on_the_search_path_is_never_read_or_written(pg_url: str, first: str) -> None:
    if first == "apply before app existed":
        await commands.apply(pg_url, anchor=OLD)
        await _another_app_first_on_the_path(pg_url)
    else:
        await _another_app_first_on_the_path(pg_url)
        await commands.apply(pg_url, anchor=OLD)

    forced = dbtools.run_cli("apply", "--force", "--anchor", "2026-03-01T08:30:00Z", "-q", database_url=pg_url)
    verified = dbtools.run_cli("verify", "--quiet", database_url=pg_url)
    snapshot = dbtools.run_cli("snapshot", "--quiet", database_url=pg_url)

    assert forced.returncode == 0, forced.stderr
    assert await _app_users(pg_url) == APP_USERS
    assert {"users", "echelon_seed_runs", "echelon_seed_alembic_version"} <= await _public_tables(pg_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert snapshot.returncode == 0, snapshot.stderr
    assert "USR_APP_1" not in snapshot.stdout
    assert snapshot.stdout.encode() == (await dbtools.snapshot_bytes(pg_url))
    seeded = await dbtools.table_rows(pg_url, "echelon_seed_runs")
    assert seeded[0][1] == NEW


async def test_the_schema_is_a_parameter_of_the_database(pg_url: str) -> None:
    database = engines.open_database(pg_url, write=True, schema="elsewhere")
    try:
        assert database.schema == "elsewhere"
    finally:
        await database.dispose()
    default = engines.open_database(pg_url, write=True)
    try:
        assert default.schema == "public"
    finally:
        await default.dispose()


async def _tables_by_schema(url: str) -> dict[str, set[str]]:
    conn = await asyncpg.connect(**pgserver.connect_kwargs(url))
    try:
        rows = await conn.fetch("SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('public', 'seeding')")
    finally:
        await conn.close()
    found: dict[str, set[str]] = {"public": set(), "seeding": set()}
    for row in rows:
        found[row["schemaname"]].add(row["tablename"])
    return found


async def test_a_project_schema_holds_every_table_and_reads_the_same(pg_url: str) -> None:
    elsewhere = replace(projects.echelon(), schema="seeding")

    first = await commands.apply(pg_url, anchor=OLD, project=elsewhere)
    again = await commands.apply(pg_url, anchor=OLD, project=elsewhere)
    tables = await _tables_by_schema(pg_url)
    in_schema = io.BytesIO()
    await commands.snapshot(pg_url, in_schema, project=elsewhere)
    # The same seed into `public` beside it: rows in another schema are not other data.
    beside = await commands.apply(pg_url, anchor=OLD)
    in_public = await dbtools.snapshot_bytes(pg_url)

    assert (first.action, again.action, beside.action) == ("seeded", "unchanged", "seeded")
    assert tables["public"] == set()
    assert {"users", "echelon_seed_runs", "echelon_seed_alembic_version"} <= tables["seeding"]
    assert in_schema.getvalue() == in_public


def test_the_schema_is_read_from_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.echelon-seed]\n"
        'name = "echelon"\n'
        'metadata = "echelon_project.schema:metadata"\n'
        f'fixtures = "{projects.data_dir()}"\n'
        f'snapshots = "{projects.snapshots_dir()}"\n'
        'schema = "seeding"\n',
        encoding="utf-8",
    )
    assert projects.resolve(tmp_path).schema == "seeding"
    assert projects.echelon().schema == "public"
