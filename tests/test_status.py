"""`status`: schema revision and head, the seed record, whether it is current, rows per table; both engines."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from echelon_seed import commands, engines, migrate, project
from tests import dbtools

ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


async def test_status_of_an_empty_database_says_not_migrated_and_not_seeded(db_url: str) -> None:
    await dbtools.execute(db_url, "CREATE TABLE notes (id INTEGER PRIMARY KEY)")  # SQLite: make the file exist

    result = await commands.status(db_url)

    assert (result.revision, result.schema_state, result.seed_state) == (None, "not migrated", "not seeded")
    assert set(result.rows.values()) == {None}
    assert result.lines()[2] == "schema   - (head 0001: not migrated)"


async def test_status_of_a_migrated_only_database(db_url: str) -> None:
    database = engines.open_database(db_url, write=True)
    try:
        async with database.transaction() as conn:
            await migrate.upgrade(conn, project.echelon())
    finally:
        await database.dispose()

    result = await commands.status(db_url)

    assert (result.revision, result.schema_state, result.seed_state) == ("0001", "up to date", "not seeded")
    assert set(result.rows.values()) == {0}


async def test_status_of_a_seeded_database_is_current_with_its_counts(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)

    result = await commands.status(db_url)
    document = result.to_json()

    assert result.seed_state == "current"
    assert result.rows["wing_flaps"] == 75
    assert document["seed"]["anchor"] == "2026-11-24T12:00:00+00:00"
    assert document["fixtures"]["state"] == "current"
    assert json.loads(json.dumps(document)) == document


async def test_status_says_stale_when_the_fixtures_changed_since_the_seed(db_url: str, tmp_path: Path) -> None:
    changed = tmp_path / "fixtures"
    shutil.copytree(project.echelon().fixtures, changed)
    users = changed / "users.json"
    users.write_text(users.read_text().replace("Reads shipping manifests", "Reads manifests"))
    await commands.apply(db_url, anchor=ANCHOR, fixtures_dir=changed)

    result = await commands.status(db_url)

    assert result.seed_state == "stale"
    assert "stale: the fixtures on disk are sha256:" in "\n".join(result.lines())


def test_cli_status_prints_text_and_json_and_exits_2_when_unreadable(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'dev.db'}"
    assert dbtools.run_cli("apply", "-q", "--anchor", "2026-11-24T12:00:00Z", database_url=db).returncode == 0

    text = dbtools.run_cli("status", database_url=db)
    as_json = dbtools.run_cli("status", "--format", "json", database_url=db)
    missing = dbtools.run_cli("status", database_url=f"sqlite:///{tmp_path / 'nope.db'}")

    assert text.returncode == 0 and text.stdout.splitlines()[2] == "schema   0001 (head 0001: up to date)"
    assert json.loads(as_json.stdout)["rows"]["users"] == 5
    assert missing.returncode == 2 and missing.stderr.startswith("echelon-seed: error:")
