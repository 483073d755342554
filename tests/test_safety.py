"""Never the wrong database, never another table, never the user's settings.

- `--force` on a PostgreSQL host that is not plainly local (anything but
  localhost, 127.0.0.1, ::1 or a unix socket) is refused, when echelon-seed
  did not seed the database, unless `--confirm DBNAME` repeats its name; with
  no terminal it fails at once and never prompts. The decision is tested on
  URLs of remote hosts, and end to end through aliases of the loopback
  address that are not spelled "localhost"/"127.0.0.1" (the machine's
  hostname when it resolves to loopback, and 127.1).
- Tables echelon-seed does not own survive `apply --force` row for row; when
  their rows reference a table it owns, `--force` is refused naming them,
  and nothing is deleted or cascaded.
- A failure after the migrations ran (a CHECK constraint only the database
  knows) leaves no table at all, and no `_alembic_tmp_*` on SQLite.
- `apply` never changes the journal mode of a SQLite file.
- `verify` works with a PostgreSQL role that may only SELECT.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from echelon_seed import bookkeeping, commands, engines, project, seeder
from echelon_seed.commands import seeding
from echelon_seed.errors import RefusedError
from tests import dbtools, pgserver
from tests.test_reliability_kill import (
    NEW,
    NEW_TEXT,
    OLD,
    leftover_alembic_tables,
    mode_url,
    sqlite_pragma,
)

__all__ = ["mode_url"]  # a fixture, imported so that pytest finds it here

# --- the decision ---------------------------------------------------------------------------------------

REMOTE = [
    "postgresql://u:p@db.example.com/prod",
    "postgresql://u:p@db.example.com:6543/prod",
    "postgresql://u:p@10.1.2.3/prod",
    "postgresql://u:p@[2001:db8::1]/prod",
    "postgresql://u:p@127.1/prod",
    "postgresql://u:p@vm/prod",
    "postgresql://u:p@/prod?host=db.example.com",
    # The driver connects to the query's host, whatever the authority says.
    "postgresql://postgres@localhost/db?host=127.0.0.2:5432",
    "postgresql://postgres@localhost/db?host=db.example.com",
    "postgresql://u@/db?host=/var/run/postgresql,db.example.com",
    "postgresql://u@localhost,db.example.com/db",
]
LOCAL = [
    "postgresql://u:p@localhost/dev",
    "postgresql://u:p@127.0.0.1:5432/dev",
    "postgresql://u:p@[::1]/dev",
    "postgresql:///dev?host=/var/run/postgresql",
    "postgresql://u:p@/dev",
    "sqlite:///./dev.db",
]


@pytest.mark.parametrize("url", REMOTE)
async def test_a_remote_postgresql_host_is_not_disposable(url: str) -> None:
    database = engines.open_database(url, write=True)
    try:
        assert not database.backend.is_disposable(database.target)
    finally:
        await database.dispose()


@pytest.mark.parametrize("url", LOCAL)
async def test_a_local_database_is_disposable(url: str) -> None:
    database = engines.open_database(url, write=True)
    try:
        assert database.backend.is_disposable(database.target)
    finally:
        await database.dispose()


def test_the_shown_url_names_the_host_the_driver_uses() -> None:
    target = engines.parse_url("postgresql://postgres:pw@localhost/db?host=127.0.0.2:5433")
    assert (target.hosts, target.ports) == (("127.0.0.2",), (5433,))
    assert target.display == "postgresql://postgres:***@127.0.0.2:5433/db"


def _state(record: bool) -> seeder.DatabaseState:
    seed = bookkeeping.SeedRecord(
        anchor=OLD, fixture_digest="sha256:" + "0" * 64, scale=1, tool_version="0", schema_revision="0001"
    )
    return seeder.DatabaseState(record=seed if record else None, counts={"users": 5, "agents": 0})


async def _force_decision(url: str, *, record: bool, confirm: str | None) -> None:
    database = engines.open_database(url, write=True)
    try:
        seeding._check_force_target(database, _state(record), confirm)
    finally:
        await database.dispose()


async def test_force_on_a_remote_database_it_did_not_seed_asks_for_its_name() -> None:
    with pytest.raises(RefusedError) as refused:
        await _force_decision("postgresql://u:S3cr3t@db.example.com/prod", record=False, confirm=None)

    message = str(refused.value)
    assert "--force --confirm prod" in message
    assert "users: 5 rows" in message
    assert "S3cr3t" not in message


@pytest.mark.parametrize("confirm", ["", "prod2", "PROD", "db.example.com"])
async def test_force_on_a_remote_database_refuses_a_wrong_name(confirm: str) -> None:
    with pytest.raises(RefusedError):
        await _force_decision("postgresql://u:p@db.example.com/prod", record=False, confirm=confirm)


async def test_force_on_a_remote_database_goes_ahead_with_its_name() -> None:
    await _force_decision("postgresql://u:p@db.example.com/prod", record=False, confirm="prod")


async def test_force_on_a_remote_database_it_seeded_needs_no_name() -> None:
    await _force_decision("postgresql://u:p@db.example.com/prod", record=True, confirm=None)


@pytest.mark.parametrize("url", LOCAL)
async def test_force_on_a_local_database_needs_no_name(url: str) -> None:
    await _force_decision(url, record=False, confirm=None)


# --- end to end through a loopback alias ------------------------------------------------------------------


def _loopback_aliases() -> list[str]:
    """Host names that reach 127.0.0.1 without being spelled as one of the local names."""
    aliases = ["127.1"]
    name = socket.gethostname()
    try:
        if name not in ("localhost", "127.0.0.1") and socket.gethostbyname(name) == "127.0.0.1":
            aliases.append(name)
    except OSError:
        pass
    return aliases


def _with_host(url: str, host: str) -> str:
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    port = hostport.rsplit(":", 1)[1]
    return urlunsplit((parts.scheme, f"{userinfo}@{host}:{port}", parts.path, parts.query, ""))


async def _seed_without_record(url: str) -> None:
    """Our tables, full of rows, but no seed record: data echelon-seed cannot call its own."""
    await commands.apply(url, anchor=OLD)
    await dbtools.execute(url, "DELETE FROM echelon_seed_runs")


def _with_query_host(url: str, host: str) -> str:
    """`url` saying localhost in its authority while its query sends the driver to `host`."""
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    port = hostport.rsplit(":", 1)[1]
    return urlunsplit((parts.scheme, f"{userinfo}@localhost", parts.path, f"host={host}:{port}", ""))


@pytest.mark.parametrize("alias", [*_loopback_aliases(), "?host=127.1"])
async def test_force_through_a_loopback_alias_needs_confirm_and_never_prompts(pg_url: str, alias: str) -> None:
    await _seed_without_record(pg_url)
    before = await dbtools.dump(pg_url)
    if alias.startswith("?host="):
        alias = alias.removeprefix("?host=")
        remote = _with_query_host(pg_url, alias)
    else:
        remote = _with_host(pg_url, alias)
    name = urlsplit(pg_url).path.lstrip("/")

    started = time.monotonic()
    refused = dbtools.run_cli("apply", "--force", "--database-url", remote, timeout=30)
    elapsed = time.monotonic() - started
    wrong = dbtools.run_cli("apply", "--force", "--confirm", name + "x", "--database-url", remote, timeout=30)

    assert refused.returncode == 2, refused.stderr
    assert elapsed < 10
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--force --confirm {name}" in lines[0], refused.stderr
    assert f"@{alias}:" in lines[0]
    assert wrong.returncode == 2, wrong.stderr
    assert await dbtools.dump(pg_url) == before

    confirmed = dbtools.run_cli("apply", "--force", "--confirm", name, "--database-url", remote, timeout=60)

    assert confirmed.returncode == 0, confirmed.stderr
    assert len(await dbtools.table_rows(pg_url, "echelon_seed_runs")) == 1


async def test_force_through_a_loopback_alias_on_a_database_it_seeded_needs_no_confirm(pg_url: str) -> None:
    await commands.apply(pg_url, anchor=OLD)

    done = dbtools.run_cli(
        "apply", "--force", "--anchor", NEW_TEXT, "--database-url", _with_host(pg_url, "127.1"), timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("reseeded ")


async def test_a_remote_database_that_is_empty_is_seeded_without_force(pg_url: str) -> None:
    done = dbtools.run_cli("apply", "--database-url", _with_host(pg_url, "127.1"), timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("seeded ")


# --- tables that are not ours ------------------------------------------------------------------------------

AUDIT_ROWS = [(1, "login", "alice"), (2, 'O\'Brien said "hi"', None), (3, "📈", "bob")]


async def _make_audit_log(url: str, *, references_users: bool) -> None:
    key = "user_id VARCHAR(32) REFERENCES users(id)" if references_users else "user_id VARCHAR(32)"
    await dbtools.execute(
        url, f"CREATE TABLE audit_log (id INTEGER PRIMARY KEY, note TEXT NOT NULL, actor TEXT, {key})"
    )
    for row_id, note, actor in AUDIT_ROWS:
        await dbtools.execute(
            url,
            "INSERT INTO audit_log (id, note, actor, user_id) VALUES (:id, :note, :actor, NULL)",
            params={"id": row_id, "note": note, "actor": actor},
        )


async def test_tables_echelon_seed_does_not_own_survive_force(db_url: str) -> None:
    await commands.apply(db_url, anchor=OLD)
    await _make_audit_log(db_url, references_users=False)
    await dbtools.execute(db_url, "UPDATE audit_log SET user_id = 'USR_001' WHERE id = 1")
    before = await dbtools.table_rows(db_url, "audit_log")

    done = dbtools.run_cli("apply", "--force", "--anchor", NEW_TEXT, "--database-url", db_url)

    assert done.returncode == 0, done.stderr
    assert await dbtools.table_rows(db_url, "audit_log") == before
    # (verify would report audit_log itself: a snapshot holds every table of the database.)
    assert (await dbtools.table_rows(db_url, "echelon_seed_runs"))[0][1] == NEW


async def test_force_is_refused_when_another_table_references_ours(db_url: str) -> None:
    await commands.apply(db_url, anchor=OLD)
    await _make_audit_log(db_url, references_users=True)
    await dbtools.execute(db_url, "UPDATE audit_log SET user_id = 'USR_001' WHERE id = 2")
    before = await dbtools.dump(db_url)

    done = dbtools.run_cli("apply", "--force", "--anchor", NEW_TEXT, "--database-url", db_url)

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "'audit_log'" in lines[0] and "'users'" in lines[0], lines[0]
    assert await dbtools.dump(db_url) == before


async def test_force_goes_ahead_when_the_referencing_rows_point_nowhere(db_url: str) -> None:
    await commands.apply(db_url, anchor=OLD)
    await _make_audit_log(db_url, references_users=True)
    before = await dbtools.table_rows(db_url, "audit_log")

    done = dbtools.run_cli("apply", "--force", "--anchor", NEW_TEXT, "--database-url", db_url)

    assert done.returncode == 0, done.stderr
    assert await dbtools.table_rows(db_url, "audit_log") == before


# --- failures after the migrations ran -----------------------------------------------------------------------


def _insane_agents(tmp_path: Path) -> Path:
    """An agent above its max sanity (a CHECK): `check` finds it, and so does the database."""
    directory = tmp_path / "insane"
    shutil.copytree(project.data_dir(), directory)
    path = directory / "agents.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["rows"][-1]["sanity"] = document["rows"][-1]["max_sanity"] + 1
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    return directory


# The database is the last line: `check` judges CHECK constraints in an in-memory SQLite
# (echelon_seed.constraints), so to reach the real database with a row it refuses, the
# child process runs the CLI with that trial switched off. Everything else is real.
_PAST_THE_LOADER = (
    "import sys\n"
    "from echelon_seed import cli, constraints\n"
    "constraints.trial = lambda tables, batches, **options: []\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


def _apply_past_the_loader(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PAST_THE_LOADER, "apply", *args],
        cwd=dbtools.ECHELON,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("ECHELON_SEED_")},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_a_failure_after_migrating_leaves_no_table_behind(db_url: str, engine_name: str, tmp_path: Path) -> None:
    fixtures = _insane_agents(tmp_path)
    assert [p.column for p in commands.check(fixtures)] == ["sanity, max_sanity"]

    done = _apply_past_the_loader("--fixtures", str(fixtures), "--database-url", db_url)

    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "sanity_range" in done.stderr, done.stderr
    names = await dbtools.table_names(db_url)
    assert names == set()
    assert not leftover_alembic_tables(names)
    if engine_name == "postgresql":
        assert await dbtools.enum_types(db_url) == set()
    else:
        assert sqlite_pragma(db_url, "integrity_check") == [("ok",)]


async def test_a_constraint_the_database_catches_is_a_database_error_not_an_internal_error(
    db_url: str, tmp_path: Path
) -> None:
    done = _apply_past_the_loader("--fixtures", str(_insane_agents(tmp_path)), "--database-url", db_url)

    assert done.stderr.startswith("echelon-seed: error: "), done.stderr


async def test_a_failure_after_migrating_an_old_seed_leaves_it_as_it_was(db_url: str, tmp_path: Path) -> None:
    await commands.apply(db_url, anchor=OLD)
    before = await dbtools.dump(db_url)

    done = _apply_past_the_loader("--force", "--fixtures", str(_insane_agents(tmp_path)), "--database-url", db_url)

    assert done.returncode == 2, done.stderr
    assert "sanity_range" in done.stderr, done.stderr
    assert await dbtools.dump(db_url) == before


# --- the user's settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode_url", "mode"), [("sqlite-rollback", "delete"), ("sqlite-wal", "wal")], indirect=["mode_url"]
)
def test_apply_never_changes_the_journal_mode(mode_url: str, mode: str) -> None:
    for args in (["apply"], ["apply", "--force"], ["verify", "--database-url", mode_url], ["snapshot", "-q"]):
        done = dbtools.run_cli(*args, database_url=mode_url)
        assert done.returncode == 0, done.stderr
        assert sqlite_pragma(mode_url, "journal_mode") == [(mode,)], args


def test_apply_creates_a_new_file_in_the_default_rollback_journal_mode(sqlite_url: str) -> None:
    """WAL is stored in the file and changes every other client of it: apply must not choose it for them."""
    done = dbtools.run_cli("apply", database_url=sqlite_url)

    assert done.returncode == 0, done.stderr
    header = Path(sqlite_url.removeprefix("sqlite:///")).read_bytes()[:20]
    assert header[18:20] == b"\x01\x01"  # read/write format versions: 1 = rollback journal, 2 = WAL
    assert sqlite_pragma(sqlite_url, "journal_mode") == [("delete",)]


# --- a read-only role -------------------------------------------------------------------------------------------


async def test_verify_and_snapshot_work_with_a_role_that_may_only_select(
    pg_url: str, pg_server: pgserver.PgServer
) -> None:
    await commands.apply(pg_url, anchor=OLD)
    database = urlsplit(pg_url).path.lstrip("/")
    role = f"reader_{database}"[:63]
    admin = await asyncpg.connect(**pgserver.connect_kwargs(pg_url))
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'r3ad-0nly'")
        await admin.execute(f"GRANT CONNECT ON DATABASE {database} TO {role}")
        await admin.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        await admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    finally:
        await admin.close()
    parts = urlsplit(pg_url)
    reader = urlunsplit(
        (parts.scheme, f"{role}:r3ad-0nly@{parts.netloc.rpartition('@')[2]}", parts.path, parts.query, "")
    )
    try:
        verified = dbtools.run_cli("verify", "--database-url", reader, "--quiet")
        snapshot = dbtools.run_cli("snapshot", "--database-url", reader, "--quiet")
        written = dbtools.run_cli("apply", "--force", "--database-url", reader)

        assert verified.returncode == 0, verified.stderr
        assert snapshot.returncode == 0, snapshot.stderr
        assert snapshot.stdout == dbtools.run_cli("snapshot", "--database-url", pg_url, "--quiet").stdout
        # The role cannot write: apply fails cleanly and changes nothing.
        assert written.returncode == 2, written.stderr
        assert len(written.stderr.strip().splitlines()) == 1 and "Traceback" not in written.stderr
        assert "r3ad-0nly" not in verified.stdout + verified.stderr + written.stderr
    finally:
        # Its grants live in the database: once that is gone, the role can go too.
        pg_server.drop_database(database)
        admin = await asyncpg.connect(**pgserver.connect_kwargs(pg_server.admin_url))
        try:
            await admin.execute(f"DROP ROLE IF EXISTS {role}")
        finally:
            await admin.close()
