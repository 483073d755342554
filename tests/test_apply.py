"""`commands.apply`: what it seeds, that it seeds it exactly, and when it refuses.

Every test runs on SQLite and on the session's real PostgreSQL (``db_url``,
or ``applied``). Databases are read back through tests/dbtools.py: typed rows
sorted by primary key in Python, compared as whole tables.

The tests that only read what one apply wrote share ``applied``: one real
`commands.apply` per engine and module, which none of them changes. A test
whose subject is a second apply starts from `dbtools.seed` (a copy of what
apply writes) unless it compares the no-op stamp, which names the modules
loaded when it was written.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from echelon_project import schema
from sqlalchemy import JSON, Boolean, Double, Integer, String

from echelon_seed import clock, commands, project, tool_tables
from echelon_seed.errors import RefusedError
from echelon_seed.types import Money, UTCDateTime
from tests import dbtools, pgserver

ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)
LATER = ANCHOR + timedelta(days=3, hours=5, minutes=7)

CANONICAL_COUNTS = dbtools.CANONICAL_ROWS

# ECHELON_DATA.md, "connected" column: each timeline -> the timelines it links to.
CONNECTED = {
    "TL_GHOST_TANKER": ("TL_HORMUZ_CHOKEPOINT", "TL_TEHRAN_BLACKOUT"),
    "TL_TEHRAN_BLACKOUT": ("TL_HORMUZ_CHOKEPOINT", "TL_GHOST_TANKER"),
    "TL_HORMUZ_CHOKEPOINT": ("TL_TEHRAN_BLACKOUT", "TL_GHOST_TANKER"),
    "TL_FED_PIVOT": ("TL_NVIDIA_EARNINGS", "TL_ETH_ETF"),
    "TL_NVIDIA_EARNINGS": ("TL_FED_PIVOT", "TL_OPENAI_EXODUS"),
    "TL_OPENAI_EXODUS": ("TL_NVIDIA_EARNINGS", "TL_APPLE_AI_PIVOT"),
    "TL_APPLE_AI_PIVOT": ("TL_OPENAI_EXODUS", "TL_NVIDIA_EARNINGS"),
    "TL_ETH_ETF": ("TL_FED_PIVOT", "TL_TETHER_COLLAPSE"),
    "TL_TETHER_COLLAPSE": ("TL_ETH_ETF", "TL_FED_PIVOT"),
    "TL_ANTARCTIC_SHELF": ("TL_HORMUZ_CHOKEPOINT",),
}

# ECHELON_DATA.md, paradoxes: id -> (timeline, severity, spawned, detonates) relative to the anchor.
PARADOXES = {
    "PARADOX_GHOST_001": ("TL_GHOST_TANKER", "CLASS_3_MODERATE", -timedelta(hours=4), timedelta(hours=8)),
    "PARADOX_TEHRAN_001": ("TL_TEHRAN_BLACKOUT", "CLASS_2_SEVERE", -timedelta(hours=3), timedelta(hours=5)),
    "PARADOX_TETHER_001": ("TL_TETHER_COLLAPSE", "CLASS_1_CRITICAL", -timedelta(hours=6), timedelta(hours=2)),
}

# ECHELON_DATA.md, genesis agents: id -> (archetype, owner, total_pnl_usd, win_rate, total_trades).
AGENTS = {
    "AGT_MEGALODON": ("SHARK", "USR_001", "45230.50", 0.67, 234),
    "AGT_THRESHER": ("SHARK", "USR_002", "23400.25", 0.62, 189),
    "AGT_HAMMERHEAD": ("SHARK", "USR_003", "18900.00", 0.58, 156),
    "AGT_CARDINAL": ("SPY", "USR_002", "12450.00", 0.71, 112),
    "AGT_RAVEN": ("SPY", "USR_004", "8905.50", 0.65, 78),
    "AGT_ORACLE": ("SPY", "USR_005", "89000.00", 0.78, 201),
    "AGT_ENVOY": ("DIPLOMAT", "USR_001", "8900.25", 0.72, 56),
    "AGT_ARBITER": ("DIPLOMAT", "USR_003", "5602.50", 0.68, 34),
    "AGT_PHOENIX": ("DIPLOMAT", "USR_005", "32000.00", 0.70, 89),
    "AGT_VIPER": ("SABOTEUR", "USR_004", "-3400.00", 0.42, 67),
    "AGT_SPECTER": ("SABOTEUR", "USR_002", "-1205.00", 0.45, 23),
    "AGT_LEVIATHAN": ("WHALE", "USR_005", "234000.00", 0.65, 28),
}

# ECHELON_DATA.md, users: id -> (tier, balance_usdc, balance_echelon).
USERS = {
    "USR_001": ("pro", "15000.00", 5000),
    "USR_002": ("pro", "25000.00", 8000),
    "USR_003": ("free", "5000.00", 1000),
    "USR_004": ("pro", "50000.00", 15000),
    "USR_005": ("elite", "100000.00", 25000),
}

LITERAL_TABLES = ("users", "agents", "timelines", "paradoxes", "positions", "timeline_links")
_other_counter = itertools.count(1)


def fixture_rows(table: str) -> list[dict[str, Any]]:
    """The rows of data/<table>.json exactly as written (floats as Python floats)."""
    document = json.loads((project.data_dir() / f"{table}.json").read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = document["rows"]
    return rows


def by_id(rows: list[tuple[Any, ...]], table: str) -> dict[Any, dict[str, Any]]:
    names = list(dbtools.TABLES[table].columns.keys())
    return {row[0]: dict(zip(names, row, strict=True)) for row in rows}


def expected_value(column: Any, value: Any, anchor: datetime) -> Any:
    """The Python value a fixture's JSON value must come back as, worked out without the package's loader."""
    if value is None:
        return None
    if isinstance(column.type, Money):
        return Decimal(value)
    if isinstance(column.type, UTCDateTime):
        return anchor + clock.to_offset(value)
    return value


@pytest.fixture
def other_db_url(engine_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second fresh database on the same engine as ``db_url``."""
    if engine_name == "sqlite":
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    server = request.getfixturevalue("pg_server")
    digest = hashlib.blake2b(request.node.nodeid.encode(), digest_size=4).hexdigest()
    name = f"other_{next(_other_counter)}_{digest}_{os.getpid()}"
    url: str = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def applied(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database that one real `commands.apply` at ANCHOR seeded, on each engine; read-only for the tests."""
    server = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('applied') / 'applied.db'}"
    else:
        server = request.getfixturevalue("pg_server")
        name = f"applied_{next(_other_counter)}_{os.getpid()}"
        url = server.create_database(name)
    try:
        pgserver._run(commands.apply(url, anchor=ANCHOR))
        written = pgserver._run(dbtools.dump(url))
        yield url
        assert pgserver._run(dbtools.dump(url)) == written, "a test changed the shared database"
    finally:
        if server is not None:
            server.drop_database(name)


# --- what one apply writes ---------------------------------------------------------------------------------


async def test_apply_seeds_the_canonical_row_counts(db_url: str) -> None:
    result = await commands.apply(db_url, anchor=ANCHOR)

    assert result.action == "seeded"
    assert result.rows == CANONICAL_COUNTS
    assert result.anchor == ANCHOR
    assert (result.migration.before, result.migration.applied) == (None, 1)
    assert await dbtools.row_counts(db_url) == {**CANONICAL_COUNTS, "echelon_seed_runs": 1}


async def test_paradoxes_are_active_spawned_before_and_detonating_after_the_anchor(applied: str) -> None:
    paradoxes = by_id(await dbtools.table_rows(applied, "paradoxes"), "paradoxes")

    assert sorted(paradoxes) == sorted(PARADOXES)
    for pid, (timeline, severity, spawned, detonates) in PARADOXES.items():
        row = paradoxes[pid]
        assert (row["timeline_id"], row["status"], row["severity"]) == (timeline, "ACTIVE", severity)
        assert row["spawned_at"] == ANCHOR + spawned
        assert row["detonation_time"] == ANCHOR + detonates
        assert row["spawned_at"] < ANCHOR < row["detonation_time"]


async def test_paradox_timelines_and_only_they_have_an_active_paradox(applied: str) -> None:
    timelines = by_id(await dbtools.table_rows(applied, "timelines"), "timelines")

    flagged = {tid for tid, row in timelines.items() if row["has_active_paradox"]}
    assert flagged == {timeline for timeline, *_ in PARADOXES.values()}


async def test_timeline_links_are_exactly_the_connected_pairs(applied: str) -> None:
    links = await dbtools.table_rows(applied, "timeline_links")

    expected = sorted((source, target) for source, targets in CONNECTED.items() for target in targets)
    assert len(expected) == 19
    assert links == expected
    assert ("TL_ANTARCTIC_SHELF", "TL_HORMUZ_CHOKEPOINT") in links
    assert ("TL_HORMUZ_CHOKEPOINT", "TL_ANTARCTIC_SHELF") not in links


async def test_wing_flap_i_happened_1_5_i_minutes_plus_jitter_before_the_anchor(applied: str) -> None:
    flaps = by_id(await dbtools.table_rows(applied, "wing_flaps"), "wing_flaps")

    assert sorted(flaps) == [f"FLAP_{i:05d}" for i in range(75)]
    for i in range(75):
        newest = ANCHOR - timedelta(minutes=1.5 * i)
        at = flaps[f"FLAP_{i:05d}"]["created_at"]
        assert newest - timedelta(minutes=30) <= at <= newest, f"FLAP_{i:05d} at {at}"
    assert max(f["created_at"] for f in flaps.values()) < ANCHOR


async def test_price_history_has_4_hourly_points_per_timeline(applied: str) -> None:
    points = await dbtools.table_rows(applied, "price_history")

    assert len(points) == 40
    for timeline in CONNECTED:
        stamps = [ts for tid, ts, *_ in points if tid == timeline]
        assert stamps == [ANCHOR - timedelta(hours=k) for k in range(3, -1, -1)]


# --- exact values, typed, on both engines ------------------------------------------------------------------


async def test_money_comes_back_as_exact_decimals_including_negatives(applied: str) -> None:
    users = by_id(await dbtools.table_rows(applied, "users"), "users")
    agents = by_id(await dbtools.table_rows(applied, "agents"), "agents")

    balance = users["USR_005"]["balance_usdc"]
    assert type(balance) is Decimal
    assert balance == Decimal("100000.00")
    assert str(balance) == "100000.00"
    pnl = agents["AGT_VIPER"]["total_pnl_usd"]
    assert type(pnl) is Decimal
    assert str(pnl) == "-3400.00"


async def test_users_hold_the_tiers_and_balances_of_the_dataset(applied: str) -> None:
    users = by_id(await dbtools.table_rows(applied, "users"), "users")

    actual = {uid: (r["tier"], str(r["balance_usdc"]), r["balance_echelon"]) for uid, r in users.items()}
    assert actual == USERS


async def test_agents_hold_the_roster_of_the_dataset(applied: str) -> None:
    agents = by_id(await dbtools.table_rows(applied, "agents"), "agents")

    actual = {
        aid: (r["archetype"], r["owner_id"], str(r["total_pnl_usd"]), r["win_rate"], r["total_trades"])
        for aid, r in agents.items()
    }
    assert actual == AGENTS


async def test_floats_json_and_booleans_come_back_as_their_python_types(applied: str) -> None:
    agents = by_id(await dbtools.table_rows(applied, "agents"), "agents")
    timelines = by_id(await dbtools.table_rows(applied, "timelines"), "timelines")

    viper = agents["AGT_VIPER"]
    assert type(viper["win_rate"]) is float
    assert viper["win_rate"] == 0.42
    assert type(viper["genome"]) is dict
    assert viper["genome"] == {"deception": 0.95, "disruption": 0.85, "escape": 0.7}
    assert viper["is_active"] is True
    assert timelines["TL_HORMUZ_CHOKEPOINT"]["has_active_paradox"] is False
    assert timelines["TL_GHOST_TANKER"]["has_active_paradox"] is True
    # Lists keep their order (JSONB reorders object keys, never list items).
    assert timelines["TL_GHOST_TANKER"]["keywords"] == next(
        r["keywords"] for r in fixture_rows("timelines") if r["id"] == "TL_GHOST_TANKER"
    )


async def test_every_value_has_its_column_python_type(applied: str) -> None:
    tables = await dbtools.dump(applied, only=[t.name for t in schema.OWNED_TABLES])

    checked = 0
    for name, rows in tables.items():
        columns = list(dbtools.TABLES[name].columns)
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    assert column.nullable, f"{name}.{column.name}"
                    continue
                where = f"{name}.{column.name} = {value!r}"
                if isinstance(column.type, Money):
                    assert type(value) is Decimal and value.as_tuple().exponent == -2, where
                elif isinstance(column.type, UTCDateTime):
                    assert type(value) is datetime and value.utcoffset() == timedelta(0), where
                elif isinstance(column.type, Boolean):
                    assert type(value) is bool, where
                elif isinstance(column.type, Double):
                    assert type(value) is float, where
                elif isinstance(column.type, Integer):
                    assert type(value) is int, where
                elif isinstance(column.type, JSON):
                    assert type(value) in (dict, list), where
                elif isinstance(column.type, String):
                    assert type(value) is str, where
                else:
                    pytest.fail(f"no type rule for {where} ({column.type!r})")
                checked += 1
    assert all(tables.values()) and checked > 1500  # every cell of the 176 rows but the NULLs


async def test_created_at_is_utc_anchor_plus_the_fixture_offset(applied: str) -> None:
    users = by_id(await dbtools.table_rows(applied, "users"), "users")

    # data/users.json: USR_001 "now-120d", USR_002 "now-114d6h".
    assert users["USR_001"]["created_at"] == ANCHOR - timedelta(days=120)
    assert users["USR_002"]["created_at"] == ANCHOR - timedelta(days=114, hours=6)
    assert users["USR_001"]["created_at"].tzinfo is not None
    assert users["USR_001"]["created_at"].utcoffset() == timedelta(0)


@pytest.mark.parametrize("table", LITERAL_TABLES)
async def test_listed_fixture_rows_are_seeded_value_for_value(applied: str, table: str) -> None:
    actual = await dbtools.table_rows(applied, table)

    columns = list(dbtools.TABLES[table].columns)
    expected = [tuple(expected_value(c, raw.get(c.name), ANCHOR) for c in columns) for raw in fixture_rows(table)]
    key = [columns.index(c) for c in dbtools.TABLES[table].primary_key.columns]
    assert actual == sorted(expected, key=lambda row: tuple(row[i] for i in key))


async def test_unicode_prose_with_quotes_survives_byte_for_byte(applied: str) -> None:
    texts = {
        ("timelines", "narrative"): by_id(await dbtools.table_rows(applied, "timelines"), "timelines"),
        ("users", "bio"): by_id(await dbtools.table_rows(applied, "users"), "users"),
        ("agents", "motto"): by_id(await dbtools.table_rows(applied, "agents"), "agents"),
    }

    exotic = 0
    for (table, column), rows in texts.items():
        for raw in fixture_rows(table):
            wanted = raw[column]
            stored = rows[raw["id"]][column]
            assert (stored or "").encode("utf-8") == (wanted or "").encode("utf-8"), f"{table}[{raw['id']}]"
            if wanted and any(ch in wanted for ch in "\"'’“”—") and any(ord(ch) > 0xFFFF for ch in wanted):
                exotic += 1
    # The fixtures must really exercise quotes and characters outside the BMP (emoji).
    assert exotic >= 1


# --- determinism ---------------------------------------------------------------------------------------------


async def test_same_anchor_into_two_fresh_databases_gives_equal_tables(db_url: str, other_db_url: str) -> None:
    await commands.apply(db_url, anchor=ANCHOR)
    await commands.apply(other_db_url, anchor=ANCHOR)

    first = await dbtools.dump(db_url)
    second = await dbtools.dump(other_db_url)

    assert set(first) == {t.name for t in schema.OWNED_TABLES} | tool_tables.TOOL_TABLES
    for table in first:
        assert first[table] == second[table], table
    # The seed record, the version row and the no-op stamp beside the seeded rows.
    assert sum(len(rows) for rows in first.values()) == sum(CANONICAL_COUNTS.values()) + 3


async def test_sqlite_and_postgresql_hold_equal_tables(sqlite_url: str, pg_url: str) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR)
    await commands.apply(pg_url, anchor=ANCHOR)

    on_sqlite = await dbtools.dump(sqlite_url)
    on_postgres = await dbtools.dump(pg_url)

    assert set(on_sqlite) == set(on_postgres)
    for table in on_sqlite:
        assert on_sqlite[table] == on_postgres[table], table


# --- applying again ------------------------------------------------------------------------------------------


async def test_second_apply_is_unchanged_and_writes_nothing(db_url: str) -> None:
    await commands.apply(db_url, anchor=ANCHOR)
    before = await dbtools.dump(db_url)

    again = await commands.apply(db_url, anchor=LATER)

    assert again.action == "unchanged"
    assert again.rows == {}
    assert again.anchor == ANCHOR
    after = await dbtools.dump(db_url)
    assert after == before
    assert [row[1] for row in after["echelon_seed_runs"]] == [ANCHOR]


async def test_apply_with_changed_fixtures_is_refused_without_force(db_url: str, tmp_path: Path) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    before = await dbtools.dump(db_url)
    changed = tmp_path / "changed"
    shutil.copytree(project.data_dir(), changed)
    users = json.loads((changed / "users.json").read_text(encoding="utf-8"))
    users["rows"][0]["bio"] = "A different bio."
    (changed / "users.json").write_text(json.dumps(users, ensure_ascii=False, indent=2), encoding="utf-8")

    with pytest.raises(RefusedError) as refused:
        await commands.apply(db_url, fixtures_dir=changed, anchor=ANCHOR)

    assert "another seed (fixtures sha256:" in str(refused.value)
    assert "--force" in str(refused.value)
    assert await dbtools.dump(db_url) == before


async def test_apply_at_another_scale_is_refused_without_force_naming_the_scale_there(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    before = await dbtools.dump(db_url)

    with pytest.raises(RefusedError) as refused:
        await commands.apply(db_url, anchor=ANCHOR, scale=2)

    assert "scale 1" in str(refused.value)
    assert await dbtools.dump(db_url) == before


async def test_database_holding_other_data_is_refused_naming_table_count_and_force(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    await dbtools.replace_with_one_hand_made_user(db_url)
    before = await dbtools.dump(db_url)
    assert [row[0] for row in before["users"]] == ["USR_HAND"]

    with pytest.raises(RefusedError) as refused:
        await commands.apply(db_url, anchor=ANCHOR)

    message = str(refused.value)
    assert "users: 1 row" in message
    assert "--force" in message
    assert await dbtools.dump(db_url) == before


async def test_seeded_tables_without_a_seed_record_are_refused_naming_each_count(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    await dbtools.execute(db_url, schema.seed_runs.delete())
    before = await dbtools.dump(db_url)

    with pytest.raises(RefusedError) as refused:
        await commands.apply(db_url, anchor=ANCHOR)

    message = str(refused.value)
    assert "users: 5 rows" in message
    assert "wing_flaps: 75 rows" in message
    assert "--force" in message
    assert await dbtools.dump(db_url) == before


# --- --force ---------------------------------------------------------------------------------------------------


async def test_force_restores_a_modified_row(db_url: str) -> None:
    await commands.apply(db_url, anchor=ANCHOR)
    seeded = await dbtools.dump(db_url)
    await dbtools.execute(db_url, schema.agents.update().where(schema.agents.c.id == "AGT_VIPER").values(win_rate=0.1))
    assert await dbtools.dump(db_url) != seeded

    result = await commands.apply(db_url, anchor=ANCHOR, force=True)

    assert result.action == "reseeded"
    assert result.rows == CANONICAL_COUNTS
    assert await dbtools.dump(db_url) == seeded


async def test_force_replaces_data_echelon_seed_did_not_seed_on_a_local_database(db_url: str) -> None:
    await commands.apply(db_url, anchor=ANCHOR)
    seeded = await dbtools.dump(db_url)
    await dbtools.replace_with_one_hand_made_user(db_url)

    result = await commands.apply(db_url, anchor=ANCHOR, force=True)

    assert result.action == "reseeded"
    assert await dbtools.dump(db_url) == seeded


def _shifted(tables: dict[str, list[tuple[Any, ...]]], delta: timedelta) -> dict[str, list[tuple[Any, ...]]]:
    moved = {}
    for name, rows in tables.items():
        kinds = [isinstance(c.type, UTCDateTime) for c in dbtools.TABLES[name].columns]
        moved[name] = [
            tuple(v + delta if is_time and v is not None else v for v, is_time in zip(row, kinds, strict=True))
            for row in rows
        ]
    return moved


async def test_force_with_another_anchor_moves_every_time_by_the_difference(db_url: str) -> None:
    seeded_tables = [t.name for t in schema.SEEDED_TABLES]
    await commands.apply(db_url, anchor=ANCHOR)
    before = await dbtools.dump(db_url, only=seeded_tables)

    result = await commands.apply(db_url, anchor=LATER, force=True)

    assert result.anchor == LATER
    after = await dbtools.dump(db_url, only=seeded_tables)
    assert after != before
    assert after == _shifted(before, LATER - ANCHOR)
    paradoxes = by_id(after["paradoxes"], "paradoxes")
    assert paradoxes["PARADOX_GHOST_001"]["spawned_at"] == LATER - timedelta(hours=4)
    assert [row[1] for row in await dbtools.table_rows(db_url, "echelon_seed_runs")] == [LATER]
