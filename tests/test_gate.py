"""The gate never lies: every way issue 9 found to make `verify` say OK on a database that is not the golden file.

The verdict is digest equality, and the snapshot carries the schema, so a
column added, an all-NULL column dropped, an empty table dropped or a table
added all change the digest and are each explained by one schema line. Each
case runs on both engines, on a database echelon-seed seeded and on a foreign
one (tables made by hand, golden file written by `verify --update --golden`).
"""

from __future__ import annotations

import os
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest

from echelon_seed import commands
from echelon_seed.errors import DatabaseError, SnapshotError
from tests import dbtools

ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)
GOLDEN = commands.golden_path(1)

FOREIGN_SCHEMA = (
    "CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL, age integer, note text)",
    "CREATE TABLE audit_log (id integer PRIMARY KEY, what text)",
    "INSERT INTO people (id, name, age, note) VALUES (1, 'Ada', 36, NULL), (2, 'Grace', 45, NULL)",
)


async def seeded_database(url: str) -> None:
    """Our seed, with one empty table (timeline_links) and one all-NULL column (agents.motto)."""
    await dbtools.seed(url, anchor=ANCHOR)
    await dbtools.execute(url, "DELETE FROM timeline_links", "UPDATE agents SET motto = NULL")


async def foreign_database(url: str) -> None:
    """Another application's database: its own tables, no migrations, no seed record."""
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).touch()
    await dbtools.execute(url, *FOREIGN_SCHEMA)


# (kind of database, SQL that changes only the schema, the one schema line it must produce)
CASES = {
    "seeded": (
        seeded_database,
        {
            "add-column": (
                "ALTER TABLE agents ADD COLUMN nickname text",
                "agents: column nickname (text, nullable) only in the database",
            ),
            "create-table": ("CREATE TABLE extra (x int)", "extra: table only in the database (0 rows)"),
            "drop-empty-table": ("DROP TABLE timeline_links", "timeline_links: table only in the golden file (0 rows)"),
            "drop-null-column": (
                "ALTER TABLE agents DROP COLUMN motto",
                "agents: column motto (text, nullable) only in the golden file",
            ),
        },
    ),
    "foreign": (
        foreign_database,
        {
            "add-column": (
                "ALTER TABLE people ADD COLUMN nickname text",
                "people: column nickname (text, nullable) only in the database",
            ),
            "create-table": ("CREATE TABLE extra (x int)", "extra: table only in the database (0 rows)"),
            "drop-empty-table": ("DROP TABLE audit_log", "audit_log: table only in the golden file (0 rows)"),
            "drop-null-column": (
                "ALTER TABLE people DROP COLUMN note",
                "people: column note (text, nullable) only in the golden file",
            ),
        },
    ),
}
PARAMS = [(origin, change) for origin, (_, changes) in CASES.items() for change in changes]


@pytest.fixture(scope="module")
def goldens(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """(engine, origin) -> the golden file of that database before any change, made by the first test needing it."""
    return {}


@pytest.mark.parametrize(("origin", "change"), PARAMS, ids=[f"{o}-{c}" for o, c in PARAMS])
async def test_a_schema_only_change_is_never_ok(
    db_url: str,
    engine_name: str,
    goldens: dict[tuple[str, str], Path],
    tmp_path_factory: pytest.TempPathFactory,
    origin: str,
    change: str,
) -> None:
    make, changes = CASES[origin]
    statement, expected = changes[change]
    await make(db_url)
    golden = goldens.get((engine_name, origin))
    if golden is None:
        golden = tmp_path_factory.mktemp("golden") / f"{engine_name}-{origin}.jsonl"
        await commands.verify(db_url, golden=golden, update=True)
        goldens[engine_name, origin] = golden
    assert (await commands.verify(db_url, golden=golden)).matches  # the control: unchanged, it matches

    await dbtools.execute(db_url, statement)
    done = dbtools.run_cli("verify", "--database-url", db_url, "--golden", str(golden))

    assert done.returncode == 1, done.stdout + done.stderr
    assert not done.stdout.startswith("OK")
    lines = done.stdout.splitlines()
    assert lines[:2] == ["schema:", f"  {expected}"], done.stdout
    assert "rows:" not in lines  # a schema change is not reported as row noise


async def test_dropping_a_not_null_column_is_a_schema_line_not_every_value_set_to_null(
    db_url: str, tmp_path: Path
) -> None:
    await foreign_database(db_url)
    golden = tmp_path / "golden.jsonl"
    await commands.verify(db_url, golden=golden, update=True)
    await dbtools.execute(db_url, "ALTER TABLE people DROP COLUMN name")

    result = await commands.verify(db_url, golden=golden)

    assert result.report is not None and not result.matches
    assert result.report.schema == ["people: column name (text, not null) only in the golden file"]
    assert result.report.groups == []


async def test_a_retyped_column_is_named_with_both_kinds(pg_url: str, tmp_path: Path) -> None:
    await foreign_database(pg_url)
    golden = tmp_path / "golden.jsonl"
    await commands.verify(pg_url, golden=golden, update=True)
    await dbtools.execute(pg_url, "ALTER TABLE people ALTER COLUMN age TYPE text")

    result = await commands.verify(pg_url, golden=golden)

    assert result.report is not None and not result.matches
    assert result.report.schema == ["people.age: int in the golden file, text in the database"]
    # The values are compared too: 36 is not "36".
    assert [str(d) for d in result.report.differences] == [
        'people[1].age: golden 36, actual "36"',
        'people[2].age: golden 45, actual "45"',
    ]


async def test_a_retyped_column_of_our_own_schema_is_named(pg_url: str, tmp_path: Path) -> None:
    await dbtools.seed(pg_url, anchor=ANCHOR)
    await dbtools.execute(pg_url, "ALTER TABLE agents ALTER COLUMN tier TYPE text")

    result = await commands.verify(pg_url)

    assert result.report is not None and not result.matches
    assert result.report.schema == ["agents.tier: int in the golden file, text in the database"]


async def test_a_column_made_nullable_is_named(db_url: str, tmp_path: Path, engine_name: str) -> None:
    await foreign_database(db_url)
    golden = tmp_path / "golden.jsonl"
    await commands.verify(db_url, golden=golden, update=True)
    if engine_name == "postgresql":
        await dbtools.execute(db_url, "ALTER TABLE people ALTER COLUMN name DROP NOT NULL")
    else:  # SQLite cannot alter a column: rebuild the table as a migration tool would
        await dbtools.execute(
            db_url,
            "CREATE TABLE people2 (id integer PRIMARY KEY, name text, age integer, note text)",
            "INSERT INTO people2 SELECT * FROM people",
            "DROP TABLE people",
            "ALTER TABLE people2 RENAME TO people",
        )

    result = await commands.verify(db_url, golden=golden)

    assert result.report is not None and not result.matches
    assert result.report.schema == ["people.name: not null in the golden file, nullable in the database"]


# --- exit codes -----------------------------------------------------------------------------------------


async def test_an_empty_database_is_an_error_not_a_difference(pg_url: str) -> None:
    done = dbtools.run_cli("verify", "--database-url", pg_url)

    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert "is empty (no tables)" in done.stderr


async def test_an_unmigrated_database_is_an_error_not_a_difference(db_url: str) -> None:
    await foreign_database(db_url)

    done = dbtools.run_cli("verify", "--database-url", db_url)

    assert done.returncode == 2, done.stdout + done.stderr
    assert "is not migrated" in done.stderr and "S3cr3t" not in done.stderr


async def test_a_database_without_its_seed_record_is_not_seeded_exit_2(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    await dbtools.execute(db_url, "DELETE FROM echelon_seed_runs")

    done = dbtools.run_cli("verify", "--database-url", db_url)

    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("echelon-seed: error: not seeded by echelon-seed: ")


# --- which database verify reads ------------------------------------------------------------------------


async def test_verify_reads_database_url_from_the_environment(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    await dbtools.execute(db_url, "UPDATE agents SET level = level + 1 WHERE id = 'AGT_RAVEN'")

    edited = dbtools.run_cli("verify", database_url=db_url)
    fresh = dbtools.run_cli("verify", "--fresh", database_url=db_url)

    assert edited.returncode == 1, edited.stdout + edited.stderr
    assert "  agents.level: 1 of 12 rows" in edited.stdout.splitlines()
    # The hint does not repeat a URL that came from the environment: pasted, it reads the same one.
    assert edited.stdout.splitlines()[-1].endswith(": echelon-seed verify --update")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr


# --- the golden file is checked before it is trusted ----------------------------------------------------


def _edit_header(tmp_path: Path, edit: str) -> Path:
    head, body = GOLDEN.read_text(encoding="utf-8").split("\n", 1)
    if edit == "table-digest":
        agents_digest = head.split('"agents":', 1)[1].split('"digest":"', 1)[1][:71]
        head = head.replace(agents_digest, "sha256:" + "0" * 64)
    elif edit == "row-count":
        head = head.replace('"key":["id"],"rows":12', '"key":["id"],"rows":13', 1)
    elif edit == "column-kind":
        head = head.replace('{"kind":"int","name":"tier"', '{"kind":"text","name":"tier"', 1)
    elif edit == "whole-digest":
        head = head.replace(head[11:82], "sha256:" + "1" * 64, 1)
    copy = tmp_path / "golden.jsonl"
    copy.write_text(head + "\n" + body, encoding="utf-8")
    assert copy.read_bytes() != GOLDEN.read_bytes()
    return copy


@pytest.mark.parametrize("edit", ["table-digest", "row-count", "column-kind", "whole-digest"])
def test_a_golden_header_that_its_rows_do_not_give_is_refused_exit_2(tmp_path: Path, edit: str) -> None:
    golden = _edit_header(tmp_path, edit)

    done = dbtools.run_cli("verify", "--golden", str(golden))

    assert done.returncode == 2, done.stdout + done.stderr
    assert "is inconsistent" in done.stderr and str(golden) in done.stderr


# --- hints do what they say -----------------------------------------------------------------------------


def _hint(stdout_or_stderr: str) -> list[str]:
    line = [line for line in stdout_or_stderr.splitlines() if "echelon-seed verify --update" in line][-1]
    command = line.rsplit(": ", 1)[1]
    words = shlex.split(command)
    assert words[:2] == ["echelon-seed", "verify"]
    return words[2:]


async def test_the_hint_after_a_difference_rewrites_the_named_file_and_nothing_else(
    sqlite_url: str, tmp_path: Path
) -> None:
    await dbtools.seed(sqlite_url, anchor=ANCHOR)
    golden = tmp_path / "a.jsonl"
    await commands.verify(sqlite_url, golden=golden, update=True, ignore=["created_at"])
    await dbtools.execute(sqlite_url, "UPDATE agents SET level = 99")
    committed = GOLDEN.read_bytes()

    first = dbtools.run_cli("verify", "--database-url", sqlite_url, "--golden", str(golden), "--ignore", "created_at")
    assert first.returncode == 1, first.stdout + first.stderr
    words = _hint(first.stdout)
    assert words == ["--update", "--database-url", sqlite_url, "--golden", str(golden), "--ignore", "created_at"]
    pasted = dbtools.run_cli("verify", *words)
    again = dbtools.run_cli("verify", "--database-url", sqlite_url, "--golden", str(golden))

    assert pasted.returncode == 0, pasted.stderr
    assert again.returncode == 0, again.stdout + again.stderr
    assert GOLDEN.read_bytes() == committed


def test_the_hint_for_a_missing_golden_file_creates_that_file(tmp_path: Path) -> None:
    fixtures = dbtools.ECHELON / "data"
    missing = tmp_path / "new.jsonl"

    failed = dbtools.run_cli("verify", "--golden", str(missing), "--fixtures", str(fixtures), "--scale", "2")
    assert failed.returncode == 2
    words = _hint(failed.stderr)
    assert words == ["--update", "--fixtures", str(fixtures), "--scale", "2", "--golden", str(missing)]
    created = dbtools.run_cli("verify", *words)
    checked = dbtools.run_cli("verify", "--golden", str(missing), "--fixtures", str(fixtures), "--scale", "2")

    assert created.returncode == 0, created.stderr
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_update_refuses_to_write_the_default_golden_file_from_a_seed_of_other_fixtures(db_url: str) -> None:
    # A database echelon-seed did not seed may describe itself in the default golden file
    # (test_schema_gate); one seeded at another scale would silently replace what the fixtures give.
    await commands.apply(db_url, scale=2)
    committed = GOLDEN.read_bytes()
    try:
        done = dbtools.run_cli("verify", "--update", "--database-url", db_url)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "refusing to rewrite snapshots/echelon.snapshot.jsonl" in done.stderr
        assert "--golden snapshots/echelon.snapshot.jsonl" in done.stderr
        assert GOLDEN.read_bytes() == committed
    finally:
        if GOLDEN.read_bytes() != committed:
            GOLDEN.write_bytes(committed)


# --- the library raises the same verdicts -----------------------------------------------------------------


async def test_library_errors_are_typed(pg_url: str, tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="is empty"):
        await commands.verify(pg_url)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format":"echelon-seed-snapshot/3"}\n', encoding="utf-8")
    with pytest.raises(SnapshotError, match="unreadable snapshot header"):
        await commands.verify(golden=bad)
    assert os.environ.get("DATABASE_URL") is None
