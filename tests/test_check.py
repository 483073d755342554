"""`echelon-seed check [--fixtures DIR]`: every problem at once, each located; exit 2 when any, 0 when none.

One copied fixture directory is broken in many independent ways at once —
types, enum values, required values, unique keys, foreign keys, unknown
columns, duplicate JSON keys, NaN / Infinity / overflowing floats, including
inside JSON documents — and `check` must report each of them (no problem may
hide another), naming its file, row id and column. The command line prints
one line per problem and a count, exit 2; a clean directory says so, exit 0.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands, project
from echelon_seed.errors import FixtureError, FixtureProblem
from tests import dbtools


@dataclass(frozen=True)
class Planted:
    """One broken cell: where it is, and the raw JSON text that breaks it."""

    table: str
    row_id: str
    column: str
    json_value: str  # raw JSON: NaN and duplicate keys cannot come from json.dumps of a dict
    kind: str


PLANTED = [
    Planted("agents", "AGT_RAVEN", "level", '"10"', "type"),
    Planted("agents", "AGT_VIPER", "is_active", "1", "type"),
    Planted("users", "USR_002", "balance_usdc", "true", "type"),
    Planted("users", "USR_003", "tier", '"platinum"', "enum"),
    Planted("agents", "AGT_ARBITER", "archetype", '"DIPLOMATT"', "enum"),
    Planted("users", "USR_004", "password_hash", "null", "required"),
    Planted("users", "USR_005", "username", '"DeepStateTrader"', "unique"),
    Planted("agents", "AGT_ORACLE", "owner_id", '"USR_999"', "foreign key"),
    Planted("positions", "POS_USR_001_TL_GHOST_TANKER", "timeline_id", '"TL_NOWHERE"', "foreign key"),
    Planted("agents", "AGT_ENVOY", "genome_v2", "{}", "unknown column"),
    Planted("paradoxes", "PARADOX_TEHRAN_001", "logic_gap", "0.5", "duplicate key"),
    Planted("timelines", "TL_FED_PIVOT", "stability", "NaN", "not finite"),
    Planted("timelines", "TL_ETH_ETF", "price_yes", "Infinity", "not finite"),
    Planted("timelines", "TL_GHOST_TANKER", "price_no", "-Infinity", "not finite"),
    Planted("timelines", "TL_OPENAI_EXODUS", "logic_gap", "1e400", "not finite"),
]
# Removed rather than replaced: a required value that is missing altogether.
MISSING = Planted("timelines", "TL_APPLE_AI_PIVOT", "surface_tension", "", "required")
EVERY = [*PLANTED, MISSING]


def _break(directory: Path) -> None:
    """Write the planted values into the JSON text itself, one row at a time."""
    for table in sorted({p.table for p in EVERY}):
        path = directory / f"{table}.json"
        rows: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["rows"]
        for row in rows:
            if row["id"] == MISSING.row_id and table == MISSING.table:
                del row[MISSING.column]
        texts = []
        for row in rows:
            here = [p for p in PLANTED if p.table == table and p.row_id == row["id"]]
            if any(p.kind == "duplicate key" for p in here):
                body = json.dumps(row, ensure_ascii=False)
            else:
                body = json.dumps(
                    {k: v for k, v in row.items() if all(p.column != k for p in here)}, ensure_ascii=False
                )
            extra = "".join(f', "{p.column}": {p.json_value}' for p in here)
            texts.append(body[:-1] + extra + "}")
        path.write_text('{"rows": [\n' + ",\n".join(texts) + "\n]}\n", encoding="utf-8")


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("check") / "broken"
    shutil.copytree(project.data_dir(), directory)
    _break(directory)
    return directory


def _names(problem: Any, planted: Planted) -> bool:
    return (
        Path(problem.file).name == f"{planted.table}.json"
        and problem.row_id == planted.row_id
        and problem.column == planted.column
    )


def test_the_project_fixtures_have_no_problem() -> None:
    assert commands.check() == []


@pytest.mark.parametrize("planted", EVERY, ids=[f"{p.kind}-{p.table}.{p.column}" for p in EVERY])
def test_check_names_each_problem_by_file_row_id_and_column(broken: Path, planted: Planted) -> None:
    problems = commands.check(broken)

    assert any(_names(p, planted) for p in problems), [str(p) for p in problems]


def test_check_reports_each_problem_exactly_once_and_nothing_else(broken: Path) -> None:
    problems = commands.check(broken)

    located = [p for p in problems if any(_names(p, planted) for planted in EVERY)]
    assert len(located) == len(problems), [str(p) for p in problems if p not in located]
    assert sorted((Path(p.file).name, p.row_id, p.column) for p in problems) == sorted(
        (f"{p.table}.json", p.row_id, p.column) for p in EVERY
    )


def test_cli_check_prints_every_problem_then_a_count_and_exits_2(broken: Path) -> None:
    done = dbtools.run_cli("check", "--fixtures", str(broken))

    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == f"{len(EVERY)} problems in the fixtures"
    for planted in EVERY:
        pattern = rf"{planted.table}\.json row \d+ \({planted.row_id}\) column '{planted.column}': "
        assert sum(bool(re.search(pattern, line)) for line in lines[:-1]) == 1, (planted, done.stderr)


def test_apply_of_broken_fixtures_hints_the_check_of_those_fixtures_and_the_hint_lists_them(
    broken: Path, tmp_path: Path
) -> None:
    """Issue 9, finding 4: the hint once said `echelon-seed check`, which checks data/ and says OK."""
    shutil.copytree(broken, tmp_path / "broken")
    url = f"sqlite:///{tmp_path / 'never.db'}"

    done = dbtools.run_cli("apply", "--fixtures", "broken", "--database-url", url, cwd=tmp_path)
    hint = re.search(r"run '([^']+)' to list them", done.stderr)

    assert done.returncode == 2 and hint is not None, done.stderr
    assert hint[1] == "echelon-seed check --fixtures broken"
    pasted = dbtools.run_cli(*shlex.split(hint[1])[1:], cwd=tmp_path)
    assert pasted.returncode == 2
    assert pasted.stderr.strip().splitlines()[-1] == f"{len(EVERY)} problems in the fixtures"
    assert not (tmp_path / "never.db").exists()


def test_the_hint_for_the_projects_own_fixtures_needs_no_option() -> None:
    assert "run 'echelon-seed check' to list them" in str(
        FixtureError([FixtureProblem("a.json", "x"), FixtureProblem("b.json", "y")])
    )


def test_cli_check_of_a_clean_copy_exits_0(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    shutil.copytree(project.data_dir(), clean)

    for args in (("check",), ("check", "--fixtures", str(clean))):
        done = dbtools.run_cli(*args)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "fixtures OK"
        assert done.stderr == ""


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ('{"charisma": 0.5, "charisma": 0.9, "trust": 0.1}', "duplicate"),
        ('{"charisma": NaN, "trust": 0.1}', "NaN"),
        ('{"charisma": [1, Infinity], "trust": 0.1}', "Infinity"),
    ],
    ids=["duplicate-key", "nan", "infinity"],
)
def test_check_looks_inside_json_documents(tmp_path: Path, document: str, kind: str) -> None:
    directory = tmp_path / "json"
    shutil.copytree(project.data_dir(), directory)
    path = directory / "agents.json"
    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    texts = [json.dumps({k: v for k, v in row.items() if k != "genome"}) for row in rows]
    texts[2] = texts[2][:-1] + f', "genome": {document}}}'
    texts = [t if i == 2 else t[:-1] + f', "genome": {json.dumps(rows[i]["genome"])}}}' for i, t in enumerate(texts)]
    path.write_text('{"rows": [' + ",\n".join(texts) + "]}", encoding="utf-8")

    problems = commands.check(directory)

    assert [(Path(p.file).name, p.row_id, p.column) for p in problems] == [("agents.json", rows[2]["id"], "genome")]
    assert kind in problems[0].message


def test_check_needs_no_database(tmp_path: Path) -> None:
    """`check` never opens DATABASE_URL, even one that cannot be reached."""
    done = dbtools.run_cli("check", database_url="postgresql://u:p@127.0.0.1:1/nowhere", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "dev.db").exists()


def test_a_check_constraint_violation_is_listed_with_the_other_problems(tmp_path: Path) -> None:
    """CHECK constraints are judged by a real database (in-memory SQLite), even beside other problems."""
    directory = tmp_path / "mixed"
    shutil.copytree(project.data_dir(), directory)
    path = directory / "agents.json"
    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    rows[0]["sanity"] = rows[0]["max_sanity"] + 1
    rows[1]["level"] = "ten"
    path.write_text(json.dumps({"rows": rows}), encoding="utf-8")

    problems = commands.check(directory)

    assert [(p.row, p.column) for p in problems] == [(1, "sanity, max_sanity"), (2, "level")]
    assert "ck_agents_sanity_range" in problems[0].message
