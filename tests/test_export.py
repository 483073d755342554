"""`export`: a database to fixtures that `apply` turns back into the same snapshot body, on both engines.

The round trip is the claim: export D, apply into an empty E with the same
anchor, and the body of snapshot(E) is the body of snapshot(D) byte for
byte; a `--root` or `--tables` subset gives a body whose lines are all lines
of D's, and that applies into an empty database (its foreign-key closure).
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from echelon_seed import commands, fixtures, project
from echelon_seed.errors import ConfigError, DatabaseError, FixtureError, RefusedError
from echelon_seed.project import Project
from tests import dbtools

EXAMPLE = dbtools.REPO / "examples" / "shop"
ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def shop() -> Project:
    return project.resolve(EXAMPLE)


@pytest.fixture(scope="module")
def echelon() -> Project:
    return project.echelon()


async def body(url: str, chosen: Project) -> list[bytes]:
    out = io.BytesIO()
    await commands.snapshot(url, out, project=chosen)
    return out.getvalue().splitlines()[1:]


async def round_trip(d: str, e: str, out: Path, chosen: Project, **options: object) -> commands.ExportResult:
    result = await commands.export(d, out, project=chosen, **options)  # type: ignore[arg-type]
    assert fixtures.check(out, chosen) == []
    await commands.apply(e, anchor=result.anchor or ANCHOR, fixtures_dir=out, project=chosen)
    return result


async def test_echelon_round_trip_is_byte_for_byte_after_hand_edits(
    db_url: str, new_database: Callable[[], str], tmp_path: Path, echelon: Project
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, scale=2, project=echelon)
    await dbtools.execute(
        db_url,
        "UPDATE agents SET win_rate = 0.5, motto = 'null' WHERE id = 'AGT_RAVEN'",
        "DELETE FROM positions WHERE id = 'POS_USR_003_TL_ANTARCTIC_SHELF'",
        "UPDATE wing_flaps SET volume_usd = '1250.00' WHERE id = 'FLAP_00042'",
    )
    e = new_database()

    result = await round_trip(db_url, e, tmp_path / "fixtures", echelon)

    assert result.anchor == ANCHOR
    assert result.rows["wing_flaps"] == 150 and result.rows["positions"] == 11
    assert await body(e, echelon) == await body(db_url, echelon)


async def test_shop_round_trip_keeps_cycle_self_reference_binary_and_keyless_rows(
    db_url: str, new_database: Callable[[], str], tmp_path: Path, shop: Project
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=shop)
    e = new_database()

    result = await round_trip(db_url, e, tmp_path / "out", shop)

    assert result.rows == {"audit_log": 3, "customers": 4, "seed_runs": 6, "products": 3, "order_lines": 4}
    assert await body(e, shop) == await body(db_url, shop)
    customers = (tmp_path / "out" / "customers.json").read_text().splitlines()
    assert customers[0] == '{"rows": ['
    assert json.loads(customers[1].rstrip(","))["joined_at"] == "now-400d"


async def test_export_files_are_the_same_bytes_from_both_engines(
    sqlite_url: str, pg_url: str, tmp_path: Path, shop: Project
) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR, project=shop)
    await commands.apply(pg_url, anchor=ANCHOR, project=shop)

    await commands.export(sqlite_url, tmp_path / "a", project=shop)
    await commands.export(pg_url, tmp_path / "b", project=shop)

    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


async def test_a_root_subset_closes_over_self_reference_and_cycle(
    db_url: str, new_database: Callable[[], str], tmp_path: Path, shop: Project
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=shop)
    # Customer 3 was referred by 2, who was referred by 1; 2's favourite product was added by customer 1.
    e = new_database()

    result = await round_trip(db_url, e, tmp_path / "subset", shop, roots=["customers:3"])

    assert result.rows["customers"] == 3
    assert set(result.added) == {"products"}
    subset, whole = await body(e, shop), await body(db_url, shop)
    assert set(subset) <= set(whole)
    ids = [json.loads(line)[1]["id"] for line in subset if line.startswith(b'["customers"')]
    assert ids == [1, 2, 3]


async def test_a_composite_root_takes_its_customer_and_product(
    db_url: str, new_database: Callable[[], str], tmp_path: Path, shop: Project
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=shop)
    e = new_database()

    result = await round_trip(db_url, e, tmp_path / "subset", shop, roots=["order_lines:1001,1"])

    assert result.rows["order_lines"] == 1
    assert set(await body(e, shop)) <= set(await body(db_url, shop))


async def test_echelon_root_and_tables_subsets_apply_cleanly(
    db_url: str, new_database: Callable[[], str], tmp_path: Path, echelon: Project
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=echelon)
    whole = set(await body(db_url, echelon))
    e, f = new_database(), new_database()

    flap = await round_trip(db_url, e, tmp_path / "flap", echelon, roots=["wing_flaps:FLAP_00042"])
    positions = await round_trip(db_url, f, tmp_path / "positions", echelon, tables=["positions"])

    assert flap.rows["wing_flaps"] == 1 and "agents" in flap.added and "users" in flap.added
    assert set(await body(e, echelon)) <= whole
    assert positions.rows["positions"] == 12 and set(positions.added) == {"users", "timelines"}
    assert set(await body(f, echelon)) <= whole


async def test_an_unseeded_database_exports_absolute_times_that_survive_a_second_round(
    db_url: str, new_database: Callable[[], str], tmp_path: Path, shop: Project
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=shop)
    await dbtools.execute(db_url, "DELETE FROM echelon_seed_runs")
    e = new_database()

    first = await round_trip(db_url, e, tmp_path / "first", shop)
    second = await commands.export(e, tmp_path / "second", project=shop, absolute=True)

    assert first.anchor is None and second.anchor is None
    joined = json.loads((tmp_path / "first" / "customers.json").read_text().splitlines()[1].rstrip(","))["joined_at"]
    assert joined == (ANCHOR - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    for path in sorted((tmp_path / "first").iterdir()):
        assert path.read_bytes() == (tmp_path / "second" / path.name).read_bytes(), path.name


async def test_anchor_option_writes_offsets_from_that_moment(db_url: str, tmp_path: Path, shop: Project) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=shop)

    await commands.export(db_url, tmp_path / "out", project=shop, anchor=ANCHOR + timedelta(hours=2))

    first = json.loads((tmp_path / "out" / "customers.json").read_text().splitlines()[1].rstrip(","))
    assert first["joined_at"] == "now-400d2h"


async def test_export_refuses_a_non_empty_directory_without_force(db_url: str, tmp_path: Path, shop: Project) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=shop)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")

    with pytest.raises(RefusedError, match="not empty; --force replaces"):
        await commands.export(db_url, out, project=shop)
    assert (out / "notes.txt").read_text() == "mine"

    await commands.export(db_url, out, project=shop, force=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t.name}.json" for t in shop.tables)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging directory left behind


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"roots": ["nope:1"]}, "--root nope:1: project 'shop' has no table 'nope'"),
        ({"roots": ["order_lines:1001"]}, "table order_lines has a key of 2 column"),
        ({"roots": ["customers:x"]}, "'x' does not fit column id"),
        ({"roots": ["audit_log:1"]}, "table audit_log has no primary key"),
        ({"roots": ["customers:99"]}, "no row of customers has id = 99"),
        ({"tables": ["nope"]}, "--tables: project 'shop' has no table 'nope'"),
        ({"anchor": ANCHOR, "absolute": True}, "--anchor and --absolute exclude each other"),
    ],
)
async def test_bad_selections_are_named(
    sqlite_url: str, tmp_path: Path, shop: Project, options: dict[str, object], message: str
) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR, project=shop)

    with pytest.raises(ConfigError, match=message):
        await commands.export(sqlite_url, tmp_path / "out", project=shop, **options)  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


async def test_a_column_outside_the_models_is_refused_by_name(db_url: str, tmp_path: Path, shop: Project) -> None:
    await commands.apply(db_url, anchor=ANCHOR, project=shop)
    await dbtools.execute(db_url, "ALTER TABLE customers ADD COLUMN nickname VARCHAR(20)")

    with pytest.raises(DatabaseError, match="column customers.nickname is in the database but not in the models"):
        await commands.export(db_url, tmp_path / "out", project=shop)
    assert not (tmp_path / "out").exists()


async def test_a_set_that_check_would_reject_is_never_written(
    sqlite_url: str, tmp_path: Path, echelon: Project
) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR, project=echelon)
    raw = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    raw.execute("UPDATE positions SET user_id = 'USR_999' WHERE id = 'POS_USR_003_TL_ANTARCTIC_SHELF'")
    raw.commit()
    raw.close()

    with pytest.raises(FixtureError, match="'USR_999' does not exist in users.id"):
        await commands.export(sqlite_url, tmp_path / "out", project=echelon)
    assert list(tmp_path.iterdir()) == [tmp_path / "test.db"]


def test_cli_export_prints_the_tables_and_what_it_added(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'dev.db'}"
    assert dbtools.run_cli("apply", "-q", "--anchor", "2026-11-24T12:00:00Z", database_url=db).returncode == 0

    done = dbtools.run_cli("export", "-o", str(tmp_path / "out"), "--tables", "positions", database_url=db)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert (
        lines[0].startswith("exported 3 tables from sqlite:///") and "times relative to 2026-11-24T12:00:00" in lines[0]
    )
    assert "  positions                 12" in lines
    assert lines[-1] == "added for foreign keys: timelines (10 rows), users (5 rows)"
