"""No injection: fixture text is data, byte for byte, on both engines, and every table survives.

"Robert'); DROP TABLE users;--" goes into users.bio and a timeline's narrative
of a copied fixture directory (itself named after the string), with other
strings that mean something to SQL, to bind-parameter styles or to COPY; the
seed must return each of them verbatim, keep every table and row, and give
the same canonical snapshot on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from echelon_project import schema

from echelon_seed import commands, project
from tests import dbtools

BOBBY = "Robert'); DROP TABLE users;--"
# Each means something to someone: SQL quoting and comments, PostgreSQL dollar quotes, the
# paramstyles (qmark, numeric, named, format, pyformat), COPY's text format, backslashes, NUL's neighbours.
NASTY = [
    "'; DELETE FROM agents; --",
    "$$; DROP TABLE timelines; $$",
    "? ?1 $1 :id :name %s %(x)s %% {0}",
    "tab\there\nnewline\\N \\. \\\\ end",
    '"); DROP TABLE "users"; --',
    "*/ DROP TABLE users; /*",
    "\x01\x7f\u2028\u2029\ufeff",
]

# (table, row id, column) -> the text put there.
PLANTED: dict[tuple[str, str, str], str] = {
    ("users", "USR_001", "bio"): BOBBY,
    ("users", "USR_002", "bio"): NASTY[0],
    ("users", "USR_003", "bio"): NASTY[1],
    ("timelines", "TL_GHOST_TANKER", "narrative"): BOBBY,
    ("timelines", "TL_FED_PIVOT", "narrative"): NASTY[2],
    ("timelines", "TL_ETH_ETF", "name"): NASTY[3],
    ("agents", "AGT_ARBITER", "motto"): NASTY[4],
    ("agents", "AGT_RAVEN", "motto"): NASTY[5],
    ("users", "USR_004", "bio"): NASTY[6],
}


def _plant(directory: Path) -> None:
    for table in {t for t, _, _ in PLANTED}:
        path = directory / f"{table}.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        for row in document["rows"]:
            for (where, row_id, column), value in PLANTED.items():
                if where == table and row["id"] == row_id:
                    row[column] = value
        if table == "timelines":
            document["rows"][0]["keywords"].append(BOBBY)
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("injection") / BOBBY.replace("/", "_")
    shutil.copytree(project.data_dir(), directory)
    _plant(directory)
    assert commands.check(directory) == []
    return directory


def _value(rows: list[tuple[Any, ...]], table: str, row_id: str, column: str) -> Any:
    names = list(schema.metadata.tables[table].columns.keys())
    row = next(r for r in rows if r[0] == row_id)
    return row[names.index(column)]


async def test_sql_in_fixture_text_round_trips_verbatim(db_url: str, injected: Path) -> None:
    done = dbtools.run_cli("apply", "--fixtures", str(injected), "--database-url", db_url)

    assert done.returncode == 0, done.stderr
    for (table, row_id, column), value in PLANTED.items():
        assert _value(await dbtools.table_rows(db_url, table), table, row_id, column) == value, (table, row_id)
    keywords = [r for r in await dbtools.table_rows(db_url, "timelines") if BOBBY in r[3]]
    assert len(keywords) == 1


async def test_every_table_and_row_survives_the_injection_attempt(db_url: str, injected: Path, tmp_path: Path) -> None:
    reference = await commands.apply(f"sqlite:///{tmp_path / 'reference.db'}", fixtures_dir=project.data_dir())
    assert reference.rows["users"] > 0

    await commands.apply(db_url, fixtures_dir=injected)
    # Twice more, forced: a statement built from text would have had three chances.
    await commands.apply(db_url, fixtures_dir=injected, force=True)
    await commands.apply(db_url, fixtures_dir=injected, force=True)

    assert {t.name for t in schema.metadata.sorted_tables} | {
        "echelon_seed_alembic_version"
    } <= await dbtools.table_names(db_url)
    counts = await dbtools.row_counts(db_url)
    assert {name: counts[name] for name in reference.rows} == reference.rows
    assert counts["echelon_seed_runs"] == 1


async def test_both_engines_give_the_same_snapshot_of_the_injected_seed(
    sqlite_url: str, pg_url: str, injected: Path, tmp_path: Path
) -> None:
    golden = tmp_path / "injected.snapshot.jsonl"
    await commands.apply(sqlite_url, fixtures_dir=injected)
    await commands.apply(pg_url, fixtures_dir=injected)

    await commands.verify(sqlite_url, golden=golden, update=True)
    result = await commands.verify(pg_url, golden=golden)

    assert result.matches, result.report.render("") if result.report else ""
    assert BOBBY in golden.read_text(encoding="utf-8")
