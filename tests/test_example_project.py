"""The example project (examples/shop), a schema nobody here wrote for Echelon, end to end on both engines.

It is loaded from its own [tool.echelon-seed] section, as a user's project
would be: its models, its Alembic revision files (run without its env.py,
which would build an engine of its own), its fixtures and its golden file.
"""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands, project, tool_tables
from echelon_seed.errors import RefusedError
from echelon_seed.project import Project
from tests import dbtools

EXAMPLE = dbtools.REPO / "examples" / "shop"
ANCHOR = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
COUNTS = {"audit_log": 3, "customers": 4, "seed_runs": 6, "products": 3, "order_lines": 4}


GOLDEN_DIGEST = json.loads((EXAMPLE / "seed" / "snapshots" / "shop.snapshot.jsonl").read_text().splitlines()[0])[
    "digest"
][:19]


@pytest.fixture(scope="module")
def shop() -> Project:
    return project.resolve(EXAMPLE)


async def snapshot_bytes(url: str, shop: Project) -> bytes:
    out = io.BytesIO()
    await commands.snapshot(url, out, project=shop)
    return out.getvalue()


def body(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    return [tuple(json.loads(line)) for line in data.decode().splitlines()[1:]]  # type: ignore[misc]


async def test_example_seeds_then_reapplies_as_a_no_op(db_url: str, shop: Project) -> None:
    first = await commands.apply(db_url, anchor=ANCHOR, project=shop)
    again = await commands.apply(db_url, project=shop)

    assert (first.action, first.rows, first.migration.after, first.migration.applied) == ("seeded", COUNTS, "0001", 1)
    assert (again.action, again.migration.applied) == ("unchanged", 0)
    tables = await dbtools.table_names(db_url)
    assert tables == set(COUNTS) | tool_tables.TOOL_TABLES


async def test_example_snapshots_are_byte_identical_across_engines_and_match_its_golden(
    sqlite_url: str, pg_url: str, shop: Project
) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR, project=shop)
    await commands.apply(pg_url, anchor=ANCHOR + timedelta(days=2, hours=3), project=shop)

    on_sqlite = await snapshot_bytes(sqlite_url, shop)

    assert on_sqlite == await snapshot_bytes(pg_url, shop)
    assert on_sqlite == shop.golden_path().read_bytes()


async def test_the_users_own_seed_runs_table_is_in_the_snapshot(db_url: str, shop: Project) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=shop)

    data = await snapshot_bytes(db_url, shop)
    header = json.loads(data.splitlines()[0])

    assert header["tables"]["seed_runs"]["rows"] == 6
    assert [row["id"] for name, row in body(data) if name == "seed_runs"] == [1, 2, 3, 4, 5, 6]
    assert not any(name.startswith("echelon_seed") for name in header["tables"])


async def test_a_users_alembic_version_table_is_in_the_snapshot(db_url: str, shop: Project) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=shop)
    await dbtools.execute(
        db_url,
        "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
        "INSERT INTO alembic_version VALUES ('0001')",
    )

    data = await snapshot_bytes(db_url, shop)

    assert ("alembic_version", {"version_num": "0001"}) in body(data)
    assert json.loads(data.splitlines()[0])["schema_revision"] == "0001"  # from echelon-seed's own table


async def test_example_values_of_every_kind_are_canonical(db_url: str, shop: Project) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=shop)

    rows = body(await snapshot_bytes(db_url, shop))
    product = next(row for name, row in rows if name == "products" and row["sku"] == "TOM-001")
    customer = next(row for name, row in rows if name == "customers" and row["id"] == 3)

    assert product["id"] == "0b6f3a52-9d1e-4c55-8a3e-2f4c6d8e0001"  # UUID key
    assert product["thumbnail"] == "\\x89504e470d0a1a0a"  # base64 in the fixture, bytes in the database
    assert product["listed_on"] == "2024-02-01T09:00:00.000000"  # naive: written as it is
    assert customer["joined_at"] == "now-3d4h"  # aware: relative to the anchor
    assert (customer["referred_by"], customer["tier"]) == (2, "basic")  # self-reference, enum
    assert [row for name, row in rows if name == "audit_log"].count(
        {"actor": "ada", "at": "now-1d", "message": "price of TOM-001 changed"}
    ) == 2  # no primary key: both copies kept


async def test_example_refuses_other_data_then_force_reseeds(db_url: str, shop: Project) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=shop)
    await dbtools.execute(db_url, f"DELETE FROM {tool_tables.RUNS_TABLE}", "DELETE FROM audit_log")

    with pytest.raises(RefusedError, match="it holds data that echelon-seed did not seed"):
        await commands.apply(db_url, anchor=ANCHOR, project=shop)
    forced = await commands.apply(db_url, anchor=ANCHOR, force=True, project=shop)

    assert (forced.action, forced.rows) == ("reseeded", COUNTS)
    assert await snapshot_bytes(db_url, shop) == shop.golden_path().read_bytes()


def test_a_dangling_key_in_the_cycle_is_found_without_a_database(shop: Project, tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(shop.fixtures, fixtures)
    # Basil goes; Ada's favourite and order 1001's second line are still Basil.
    products = json.loads((fixtures / "products.json").read_text())
    products["rows"] = products["rows"][:1] + products["rows"][2:]
    (fixtures / "products.json").write_text(json.dumps(products))

    problems = commands.check(fixtures, project=shop)

    assert [(Path(p.file).name, p.row, p.column) for p in problems] == [
        ("customers.json", 1, "favourite_product_id"),
        ("order_lines.json", 2, "product_id"),
    ]


def test_example_verify_and_check_run_from_its_configuration(tmp_path: Path) -> None:
    via_option = dbtools.run_cli("--project", str(EXAMPLE), "verify", cwd=tmp_path)
    via_environment = dbtools.run_cli("check", cwd=tmp_path, env={project.ENV: str(EXAMPLE / "pyproject.toml")})
    from_subdirectory = dbtools.run_cli("verify", cwd=EXAMPLE / "seed" / "fixtures")

    assert via_option.returncode == 0, via_option.stderr
    assert via_option.stdout.startswith("OK: 20 rows in 5 tables match ")
    assert (via_environment.returncode, via_environment.stdout) == (0, "fixtures OK\n"), via_environment.stderr
    assert from_subdirectory.returncode == 0, from_subdirectory.stderr
    assert from_subdirectory.stdout.startswith("OK: 20 rows in 5 tables match ")
    assert from_subdirectory.stdout.rstrip().endswith("shop.snapshot.jsonl (" + GOLDEN_DIGEST + "…)")


def test_example_check_reports_each_kind_of_bad_fixture(tmp_path: Path, shop: Project) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(shop.fixtures, fixtures)
    products = json.loads((fixtures / "products.json").read_text())
    products["rows"][0]["id"] = "not-a-uuid"
    products["rows"][1]["thumbnail"] = "%%%"
    products["rows"][2]["listed_on"] = "2024-03-01T08:15:00+02:00"
    (fixtures / "products.json").write_text(json.dumps(products))
    customers = json.loads((fixtures / "customers.json").read_text())
    customers["rows"][0]["tier"] = "gold"
    customers["rows"][1]["joined_at"] = "2024-01-01T00:00:00"  # absolute needs a zone (export --absolute writes one)
    (fixtures / "customers.json").write_text(json.dumps(customers))

    found = {(Path(p.file).name, p.row, p.column): p.message for p in commands.check(fixtures, project=shop)}

    assert "is not one of basic, plus" in found[("customers.json", 1, "tier")]
    assert "has no time zone; add 'Z' or an offset" in found[("customers.json", 2, "joined_at")]
    assert "is not a UUID" in found[("products.json", 1, "id")]
    assert "is not base64" in found[("products.json", 2, "thumbnail")]
    assert "has a time zone" in found[("products.json", 3, "listed_on")]


async def test_the_generated_table_grows_with_scale_and_keeps_its_first_rows(db_url: str, shop: Project) -> None:
    await commands.apply(db_url, anchor=ANCHOR, scale=3, project=shop)

    runs = [row for name, row in body(await snapshot_bytes(db_url, shop)) if name == "seed_runs"]
    golden = [row for name, row in body(shop.golden_path().read_bytes()) if name == "seed_runs"]

    assert len(runs) == 18
    assert runs[:6] == golden


async def test_check_schema_finds_the_models_and_migrations_agree(db_url: str, shop: Project) -> None:
    assert await commands.check_schema(db_url, project=shop) == []
    assert await dbtools.table_names(db_url) == set()  # rolled back: nothing left behind


def test_check_schema_names_a_column_the_migrations_lack(tmp_path: Path, shop: Project) -> None:
    """The agreement above is not vacuous: a model column no migration adds is reported, exit 2."""
    copy = tmp_path / "shop"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    models = copy / "shop" / "models.py"
    models.write_text(
        models.read_text().replace(
            '    Column("trays", SmallInteger, nullable=False),\n',
            '    Column("trays", SmallInteger, nullable=False),\n    Column("notes", Text, nullable=True),\n',
        )
    )

    done = dbtools.run_cli("check", "--schema", cwd=copy)

    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "add_column seed_runs notes",
        "the models and the migrations of project 'shop' disagree",
    ]


def test_a_schema_built_by_the_projects_own_alembic_is_refused_clearly(tmp_path: Path) -> None:
    """Their env.py works for them (its own engine, its own alembic_version); echelon-seed does not guess."""
    copy = tmp_path / "shop"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    migrated = dbtools.run_cli("-c", "alembic.ini", "upgrade", "head", module="alembic", cwd=copy)
    assert migrated.returncode == 0, migrated.stderr

    refused = dbtools.run_cli("apply", "--database-url", "sqlite:///./shop.db", cwd=copy)

    assert refused.returncode == 2
    assert refused.stderr.startswith(
        "echelon-seed: error: the database already holds tables of project 'shop' "
        "(audit_log, customers, seed_runs, products, order_lines) but no echelon_seed_alembic_version"
    ), refused.stderr
