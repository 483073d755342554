"""A team's own database exported and seeded again: absolute times stay absolute, so the gate holds.

`export` of a database echelon-seed did not seed writes absolute times (there
is no anchor to be relative to). A seed of such fixtures places nothing on
its anchor, so it is recorded without one and its snapshot shows the times
as they are: the copy verifies green against the original's golden file,
and every later reseed, whatever the clock says, gives the same bytes.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from echelon_seed import bookkeeping, cli, commands, project
from echelon_seed.project import Project
from tests import dbtools, pgserver
from tests.corpus import rental_store
from tests.test_export_sql import psql

ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

# What `pg_dump --schema-only` (15.14 and later) writes around a schema: psql-only guard lines.
DUMPED_SCHEMA = """\
\\restrict 8kUo2rTqAqzd0PrY7aJ6ceXvXvR0cBfZ

CREATE TABLE public.visit (
    visit_id integer NOT NULL,
    page text NOT NULL,
    at timestamp with time zone NOT NULL,
    CONSTRAINT visit_pkey PRIMARY KEY (visit_id)
);

\\unrestrict 8kUo2rTqAqzd0PrY7aJ6ceXvXvR0cBfZ
"""


async def _body(url: str, chosen: Project) -> bytes:
    out = io.BytesIO()
    await commands.snapshot(url, out, project=chosen)
    return out.getvalue().split(b"\n", 1)[1]


async def test_a_seed_of_absolute_times_is_the_same_bytes_at_every_anchor(
    db_url: str, new_database: Callable[[], str], tmp_path: Path
) -> None:
    rental = rental_store.project(tmp_path)
    await commands.apply(db_url, project=rental, anchor=ANCHOR)
    exported = tmp_path / "absolute"
    await commands.export(db_url, exported, project=rental, absolute=True)
    assert '"rented_at": "2026-11-04T12:00:00.000000Z"' in (exported / "rental.json").read_text()

    copy = new_database()
    absolute = rental_store.project(tmp_path, fixtures=exported)
    first = await commands.apply(copy, project=absolute, anchor=ANCHOR + timedelta(days=5))
    assert first.anchor == bookkeeping.NO_ANCHOR
    seen = await _body(copy, absolute)
    assert b'"rented_at":"2026-11-04T12:00:00.000000Z"' in seen

    later = ANCHOR + timedelta(days=9, hours=3)
    await commands.apply(copy, project=absolute, anchor=later, force=True)
    assert await _body(copy, absolute) == seen
    status = await commands.status(copy, project=absolute)
    assert status.to_json()["seed"]["anchor"] is None
    assert "anchor none (no time is relative)" in "\n".join(status.lines())

    again = tmp_path / "again"
    await commands.export(copy, again, project=absolute)  # no --absolute: the record has no anchor to use
    assert {p.name: p.read_bytes() for p in again.glob("*.json")} == {
        p.name: p.read_bytes() for p in exported.glob("*.json")
    }


async def test_a_seed_with_one_relative_time_keeps_its_anchor(sqlite_url: str, tmp_path: Path) -> None:
    rental = rental_store.project(tmp_path)
    result = await commands.apply(sqlite_url, project=rental, anchor=ANCHOR)
    assert result.anchor == ANCHOR
    assert b'"rented_at":"now-20d"' in await _body(sqlite_url, rental)


def test_a_team_database_exported_applied_and_reseeded_verifies_against_its_own_golden(
    pg_url: str,
    pg_server: pgserver.PgServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The adoption path: the schema is the team's pg_dump, the golden and the fixtures come from its database."""
    root = tmp_path / "visits"
    (root / "schema").mkdir(parents=True)
    (root / "schema" / "001_dumped.sql").write_text(DUMPED_SCHEMA)
    (root / "pyproject.toml").write_text(
        '[tool.echelon-seed]\nname = "visits"\nmigrations = "schema"\nfixtures = "seed/fixtures"\n'
        'snapshots = "seed/snapshots"\n'
    )
    loaded = psql(pg_url, root / "schema" / "001_dumped.sql")
    assert loaded.returncode == 0, loaded.stderr
    values = ", ".join(f"({i}, '/page/{i}', '2025-03-0{i} 08:1{i}:00+02')" for i in range(1, 6))
    asyncio.run(dbtools.execute(pg_url, f"INSERT INTO visit VALUES {values}"))

    def run(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = cli.main(["--project", str(root), *argv])
        out, err = capsys.readouterr()
        return code, out + err

    code, said = run("verify", "--update", "--database-url", pg_url)
    assert code == 0, said
    code, said = run("export", "--database-url", pg_url)
    assert code == 0 and "(absolute times)" in said, said

    name = f"visits_copy_{os.getpid()}"
    copy = pg_server.create_database(name)
    try:
        _apply_twice_and_verify(run, copy)
    finally:
        pg_server.drop_database(name)

    golden = project.resolve(root).golden_path(1)
    line = next(json.loads(row) for row in golden.read_text().splitlines()[1:] if row.startswith('["visit"'))
    assert line[1]["at"] == "2025-03-01T06:11:00.000000Z"


def _apply_twice_and_verify(run: Callable[..., tuple[int, str]], copy: str) -> None:
    """A first seed, then a reseed at another anchor: each verifies green against the original's golden."""
    for attempt in ("apply", "apply --force --anchor 2031-01-01T00:00:00Z"):
        code, said = run(*attempt.split(), "--database-url", copy)
        assert code == 0 and "anchor none" in said, said
        code, said = run("verify", "--database-url", copy)
        assert code == 0 and said.startswith("OK: 5 rows in 1 table"), said


def test_a_psql_meta_command_in_a_migration_is_named_with_its_line(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "meta"
    shutil.copytree(dbtools.REPO / "examples" / "bookshop", root)
    (root / "migrations" / "003_connect.sql").write_text("ALTER TABLE book ADD COLUMN isbn TEXT;\n\\connect other\n")
    assert cli.main(["--project", str(root), "apply", "--database-url", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert "migrations/003_connect.sql failed" in err
    assert "line 2 is the psql meta-command \\connect, which only psql understands" in err
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()
