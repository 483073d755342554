"""The constraint trial on a project's own schema: its CHECKs judged, what SQLite cannot express listed.

`check` loads a project's fixtures into an in-memory SQLite database built
from the project's metadata. A CHECK SQLite can evaluate is enforced there
(and numbers compare as numbers, even for money kept as text on SQLite);
a PostgreSQL-only column type (an array) or CHECK (a PostgreSQL function)
is left out and said after "fixtures OK"; PostgreSQL then judges it at
apply, in the one transaction, leaving the database as it was.
"""

from __future__ import annotations

import io
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands, project
from echelon_seed.errors import DatabaseError, EchelonSeedError
from tests import dbtools

_modules = itertools.count(1)

MODELS = """
from sqlalchemy import ARRAY, CheckConstraint, Column, ForeignKey, Index, Integer, MetaData, String, Table, func

from echelon_seed.types import Money

metadata = MetaData()
beds = Table(
    "beds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("label", String(10), nullable=False),
)
plants = Table(
    "plants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(40), nullable=False),
    Column("height_cm", Integer, nullable=False),
    Column("price", Money(8, 2), nullable=False),
    Column("code", String(10), nullable=False),
    Column("bed_id", Integer, ForeignKey("beds.id"), nullable=True),
    Column("tags", ARRAY(String(20)), nullable=True),
    CheckConstraint("height_cm BETWEEN 1 AND 500", name="ck_plants_height"),
    CheckConstraint("price < 100", name="ck_plants_price"),
    CheckConstraint("code LIKE 'P-%'", name="ck_plants_code"),
    CheckConstraint("char_length(name) >= 2", name="ck_plants_name"),
    CheckConstraint("cardinality(tags) <= 3", name="ck_plants_tags"),
)
Index("ux_plants_lower_name", func.lower(plants.c.name), unique=True)
"""

GOOD = {"id": 1, "name": "Basil", "height_cm": 30, "price": "5.00", "code": "P-1", "bed_id": 1, "tags": ["herb"]}
SECOND = {"id": 2, "name": "Mint", "height_cm": 25, "price": "99.50", "code": "P-2", "bed_id": None, "tags": None}

GAPS = [
    "plants.tags (ARRAY(String(length=20)): SQLite has no such type), with every constraint that names it",
    "plants: unique index ux_plants_lower_name (on expressions)",
    "plants: check constraint ck_plants_name (char_length(name) >= 2): no such function: char_length",
    "plants: check constraint ck_plants_tags (cardinality(tags) <= 3): no such column: tags",
]


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a project puts its directory on sys.path; each test starts from the suite's."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv(project.ENV, raising=False)


def _project(tmp_path: Path) -> tuple[Path, project.Project]:
    module = f"trialmodels_{next(_modules)}"
    (tmp_path / f"{module}.py").write_text(MODELS)
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.echelon-seed]\nname = "garden"\nmetadata = "{module}:metadata"\n'
        'fixtures = "fixtures"\nsnapshots = "snapshots"\n'
    )
    _fixtures(tmp_path / "fixtures", GOOD, SECOND)
    return tmp_path, project.resolve(tmp_path)


def _fixtures(directory: Path, *plants: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "beds.json").write_text(json.dumps({"rows": [{"id": 1, "label": "north"}]}))
    (directory / "plants.json").write_text(json.dumps({"rows": list(plants)}))
    return directory


def test_a_clean_set_passes_and_what_sqlite_cannot_judge_is_said(tmp_path: Path) -> None:
    root, garden = _project(tmp_path)

    done = dbtools.run_cli("--project", str(root), "check", cwd=root)

    assert commands.check(project=garden) == []
    assert commands.unchecked(garden) == GAPS
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "fixtures OK",
        *(f"not checked here (PostgreSQL decides at apply): {gap}" for gap in GAPS),
    ]


@pytest.mark.parametrize(
    ("change", "column", "constraint"),
    [
        ({"height_cm": 0}, "height_cm", "ck_plants_height"),
        # Money is text on SQLite: compared as text, "100.00" < 100 would hold; the trial compares numbers.
        ({"price": "100.00"}, "price", "ck_plants_price"),
        # LIKE is case-sensitive, as on PostgreSQL.
        ({"code": "p-3"}, "code", "ck_plants_code"),
    ],
    ids=["height", "money-as-number", "like-case"],
)
def test_a_check_constraint_sqlite_can_evaluate_is_enforced(
    tmp_path: Path, change: dict[str, Any], column: str, constraint: str
) -> None:
    _root, garden = _project(tmp_path)
    bad = _fixtures(tmp_path / "bad", GOOD, SECOND | change)

    problems = commands.check(bad, project=garden)

    assert [(p.file.rpartition("/")[2], p.row, p.row_id, p.column) for p in problems] == [
        ("plants.json", 2, "2", column)
    ]
    assert constraint in problems[0].message


def test_a_missing_parent_row_is_found_in_a_project_schema(tmp_path: Path) -> None:
    _root, garden = _project(tmp_path)
    bad = _fixtures(tmp_path / "bad", GOOD, SECOND | {"bed_id": 7})

    problems = commands.check(bad, project=garden)

    assert [(p.row_id, p.column) for p in problems] == [("2", "bed_id")]
    assert "beds.id" in problems[0].message


async def test_postgresql_judges_at_apply_what_check_cannot(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL only (arrays). A one-letter name breaks a CHECK SQLite cannot run: apply refuses it, nothing kept."""
    _root, garden = _project(tmp_path)
    await commands.apply(pg_url, project=garden)
    before = await _snapshot(pg_url, garden)
    bad = _fixtures(tmp_path / "bad", GOOD, SECOND | {"name": "M"})

    assert commands.check(bad, project=garden) == []
    with pytest.raises(EchelonSeedError) as refused:
        await commands.apply(pg_url, fixtures_dir=bad, project=garden, force=True)

    assert isinstance(refused.value, DatabaseError)
    assert "ck_plants_name" in str(refused.value)
    assert await _snapshot(pg_url, garden) == before
    assert b'"tags":["herb"]' in before


async def _snapshot(url: str, garden: project.Project) -> bytes:
    out = io.BytesIO()
    await commands.snapshot(url, out, project=garden)
    return out.getvalue()
