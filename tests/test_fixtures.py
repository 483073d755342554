"""Bad fixtures are reported (file, row id, column) before anything is written.

Each case copies data/ into tmp_path and breaks exactly one value in one
file; the originals are never touched. A case is checked three ways: by
`check` without a database, by `apply` against an already-seeded database
and a fresh one (both must be left exactly as they were), and through the
command line (exit 2, one line per problem, no traceback).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands, project
from echelon_seed.errors import FixtureError, FixtureProblem
from tests import dbtools

ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)

Rows = list[dict[str, Any]]


def copy_data(tmp_path: Path, name: str = "fixtures") -> Path:
    target = tmp_path / name
    shutil.copytree(project.data_dir(), target)
    return target


def read_rows(directory: Path, table: str) -> Rows:
    rows: Rows = json.loads((directory / f"{table}.json").read_text(encoding="utf-8"))["rows"]
    return rows


def write_rows(directory: Path, table: str, rows: Rows) -> str:
    # json.dumps writes float('nan') as the bare token NaN, which is how a NaN reaches a fixture.
    text = json.dumps({"rows": rows}, ensure_ascii=False, indent=2) + "\n"
    (directory / f"{table}.json").write_text(text, encoding="utf-8")
    return text


def row(rows: Rows, row_id: str) -> dict[str, Any]:
    return next(r for r in rows if r.get("id") == row_id)


@dataclass(frozen=True)
class BadCase:
    """One broken value: where it is, and how to break it."""

    name: str
    table: str
    row_id: str
    column: str
    edit: Callable[[Rows], None]

    def make(self, directory: Path) -> None:
        rows = read_rows(directory, self.table)
        self.edit(rows)
        write_rows(directory, self.table, rows)

    @property
    def file(self) -> str:
        return f"{self.table}.json"


@dataclass(frozen=True)
class DuplicateKeyCase(BadCase):
    """A JSON object with the same key twice (PostgreSQL's jsonb would keep only the last)."""

    def make(self, directory: Path) -> None:
        text = write_rows(directory, self.table, read_rows(directory, self.table))
        needle = f'"id": "{self.row_id}",'
        assert text.count(needle) == 1
        text = text.replace(needle, f'{needle}\n      "{self.column}": 0.5,')
        (directory / self.file).write_text(text, encoding="utf-8")


def set_value(row_id: str, **values: Any) -> Callable[[Rows], None]:
    return lambda rows: row(rows, row_id).update(values)


def drop_value(row_id: str, column: str) -> Callable[[Rows], None]:
    def drop(rows: Rows) -> None:
        del row(rows, row_id)[column]

    return drop


CASES = [
    BadCase("unknown-column", "agents", "AGT_RAVEN", "genome_v2", set_value("AGT_RAVEN", genome_v2={})),
    BadCase("string-in-integer-column", "agents", "AGT_RAVEN", "level", set_value("AGT_RAVEN", level="10")),
    BadCase("value-not-in-enum", "users", "USR_003", "tier", set_value("USR_003", tier="platinum")),
    BadCase("missing-required-value", "timelines", "TL_ETH_ETF", "price_yes", drop_value("TL_ETH_ETF", "price_yes")),
    BadCase("duplicate-id", "agents", "AGT_RAVEN", "id", set_value("AGT_VIPER", id="AGT_RAVEN")),
    BadCase(
        "foreign-key-to-missing-row", "agents", "AGT_RAVEN", "owner_id", set_value("AGT_RAVEN", owner_id="USR_999")
    ),
    DuplicateKeyCase("duplicate-json-key", "paradoxes", "PARADOX_TEHRAN_001", "logic_gap", lambda rows: None),
    BadCase("nan", "timelines", "TL_FED_PIVOT", "stability", set_value("TL_FED_PIVOT", stability=float("nan"))),
]
CASE_IDS = [case.name for case in CASES]


@pytest.fixture(params=CASES, ids=CASE_IDS)
def bad_case(request: pytest.FixtureRequest) -> BadCase:
    case: BadCase = request.param
    return case


@pytest.fixture
def bad_dir(bad_case: BadCase, tmp_path: Path) -> Path:
    directory = copy_data(tmp_path, f"bad-{bad_case.name}")
    bad_case.make(directory)
    return directory


def names_the_value(problem: FixtureProblem, case: BadCase) -> bool:
    return Path(problem.file).name == case.file and problem.row_id == case.row_id and problem.column == case.column


# --- check, without a database --------------------------------------------------------------------------


def test_copied_fixtures_have_no_problems(tmp_path: Path) -> None:
    assert commands.check(copy_data(tmp_path)) == []


def test_bad_value_is_named_by_file_row_id_and_column(bad_case: BadCase, bad_dir: Path) -> None:
    problems = commands.check(bad_dir)

    assert any(names_the_value(p, bad_case) for p in problems), [str(p) for p in problems]
    text = str(next(p for p in problems if names_the_value(p, bad_case)))
    assert bad_case.file in text and bad_case.row_id in text and bad_case.column in text


def test_one_bad_value_is_reported_as_exactly_one_problem(bad_case: BadCase, bad_dir: Path) -> None:
    problems = commands.check(bad_dir)

    assert len(problems) == 1, [str(p) for p in problems]


# --- apply: refused before anything is written ---------------------------------------------------------


async def test_bad_fixture_is_refused_before_touching_a_seeded_database(db_url: str, bad_dir: Path) -> None:
    await commands.apply(db_url, anchor=ANCHOR)
    before = await dbtools.dump(db_url)

    with pytest.raises(FixtureError) as error:
        await commands.apply(db_url, fixtures_dir=bad_dir, anchor=ANCHOR, force=True)

    assert error.value.problems
    assert error.value.exit_code == 2
    assert await dbtools.dump(db_url) == before


async def test_bad_fixture_leaves_a_fresh_database_without_tables(db_url: str, bad_dir: Path) -> None:
    with pytest.raises(FixtureError):
        await commands.apply(db_url, fixtures_dir=bad_dir, anchor=ANCHOR)

    assert await dbtools.table_names(db_url) == set()


async def test_bad_fixture_error_names_file_row_id_and_column(
    sqlite_url: str, bad_case: BadCase, bad_dir: Path
) -> None:
    with pytest.raises(FixtureError) as error:
        await commands.apply(sqlite_url, fixtures_dir=bad_dir, anchor=ANCHOR)

    message = str(error.value)
    assert bad_case.file in message
    assert bad_case.row_id in message
    assert f"'{bad_case.column}'" in message


# --- the command line ----------------------------------------------------------------------------------


async def test_cli_apply_with_bad_fixture_exits_2_naming_the_value_and_writes_nothing(
    db_url: str, bad_case: BadCase, bad_dir: Path
) -> None:
    await commands.apply(db_url, anchor=ANCHOR)
    before = await dbtools.dump(db_url)

    done = dbtools.run_cli("apply", "--fixtures", str(bad_dir), "--force", database_url=db_url)

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert await dbtools.dump(db_url) == before
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("echelon-seed: error: "), lines[0]
    for part in (bad_case.file, bad_case.row_id, f"'{bad_case.column}'"):
        assert part in lines[0]


def test_cli_check_accepts_the_project_fixtures() -> None:
    done = dbtools.run_cli("check")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "fixtures OK"


# Six independent problems, each in a different row or column, none hiding another.
SEVERAL = [case for case in CASES if case.name not in ("duplicate-json-key", "nan")]


def test_check_lists_every_problem_of_a_broken_directory(tmp_path: Path) -> None:
    directory = copy_data(tmp_path, "several")
    for case in SEVERAL:
        case.make(directory)

    problems = commands.check(directory)

    assert len(problems) == len(SEVERAL) == 6, [str(p) for p in problems]
    for case in SEVERAL:
        assert any(names_the_value(p, case) for p in problems), case.name


def test_cli_check_prints_each_problem_and_exits_2(tmp_path: Path) -> None:
    directory = copy_data(tmp_path, "several")
    for case in SEVERAL:
        case.make(directory)

    done = dbtools.run_cli("check", "--fixtures", str(directory))

    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == "6 problems in the fixtures"
    listed = lines[:-1]
    assert len(listed) == 6, done.stderr
    for case in SEVERAL:
        assert any(case.file in line and case.row_id in line and f"'{case.column}'" in line for line in listed), (
            case.name
        )


def test_fixture_errors_never_touch_the_project_data(tmp_path: Path) -> None:
    """The cases above edit copies only: the project's data/ is byte for byte what git has."""
    directory = copy_data(tmp_path, "again")
    for case in CASES:
        case.make(copy_data(tmp_path, f"scratch-{case.name}"))

    for original in sorted(project.data_dir().glob("*.json")):
        assert (directory / original.name).read_bytes() == original.read_bytes()
