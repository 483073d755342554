"""Snapshots of databases that echelon-seed did not create: reflected tables, every common type.

The schema and rows are made with the engine's own client (asyncpg, sqlite3),
never through echelon-seed, as a user's existing database would be. The
snapshot must read it without error, twice to the same bytes, with each table
in name order, rows in key order (whole-row order for a table without a
primary key), NULLs written out and naive timestamps left as they are.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from echelon_seed import commands
from tests import dbtools, pgserver

PG_SCHEMA = [
    "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
    """CREATE TABLE zeta_things (
        id integer PRIMARY KEY,
        tags text[],
        scores integer[],
        feeling mood,
        naive timestamp without time zone,
        aware timestamptz,
        price numeric(12, 3),
        amount numeric,
        ratio double precision,
        doc jsonb,
        raw_doc json,
        blob bytea,
        label text
    )""",
    "CREATE TABLE alpha_pairs (a text, b integer, note text, PRIMARY KEY (a, b))",
    "CREATE TABLE loose_rows (x integer, y text)",
]

PG_ROWS = [
    # Inserted out of key order, and row 1 updated afterwards, so physical order is not key order.
    """INSERT INTO zeta_things VALUES
        (3, '{}', '{}', 'sad', '2026-11-01 01:30:00', '2026-11-01 08:30:00+00', 0.1, 0.1, 1e16,
         '[]', '{}', '', ''),
        (1, ARRAY['b', 'a', NULL], '{3,1,2}', 'happy', '2026-03-08 02:30:00', '2026-01-15 12:00:00+05:45',
         1234.5, 10000000000000000, -0.0, '{"zeta": 1, "alpha": {"y": 2, "x": 1}}',
         '{"zeta": 1, "alpha": {"y": 2, "x": 1}}', '\\xdeadbeef', 'naïve — 情報 📈'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)""",
    "UPDATE zeta_things SET label = label WHERE id = 1",
    "INSERT INTO alpha_pairs VALUES ('b', 10, 'x'), ('b', 2, NULL), ('B', 1, 'y'), ('a', 1, 'z'), ('b', 1, '')",
    "INSERT INTO loose_rows VALUES (2, 'b'), (1, 'z'), (2, 'b'), (1, NULL), (10, 'a'), (NULL, NULL)",
]

SQLITE_SCHEMA = [
    """CREATE TABLE zeta_things (
        id INTEGER PRIMARY KEY,
        naive DATETIME,
        price NUMERIC(12, 3),
        amount NUMERIC,
        ratio REAL,
        doc JSON,
        blob BLOB,
        label TEXT
    )""",
    "CREATE TABLE alpha_pairs (a TEXT, b INTEGER, note TEXT, PRIMARY KEY (a, b))",
    "CREATE TABLE loose_rows (x INTEGER, y TEXT)",
]

SQLITE_ROWS: list[tuple[str, list[tuple[Any, ...]]]] = [
    (
        "INSERT INTO zeta_things VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (3, "2026-11-01 01:30:00", 0.1, 0.1, 1e16, "[]", b"", ""),
            (
                1,
                "2026-03-08 02:30:00",
                1234.5,
                10000000000000000,
                -0.0,
                '{"zeta": 1, "alpha": {"y": 2, "x": 1}}',
                b"\xde\xad\xbe\xef",
                "naïve — 情報 📈",
            ),
            (2, None, None, None, None, None, None, None),
        ],
    ),
    (
        "INSERT INTO alpha_pairs VALUES (?, ?, ?)",
        [("b", 10, "x"), ("b", 2, None), ("B", 1, "y"), ("a", 1, "z"), ("b", 1, "")],
    ),
    ("INSERT INTO loose_rows VALUES (?, ?)", [(2, "b"), (1, "z"), (2, "b"), (1, None), (10, "a"), (None, None)]),
]


async def _build_postgresql(url: str) -> None:
    conn = await asyncpg.connect(**pgserver.connect_kwargs(url))
    try:
        for statement in [*PG_SCHEMA, *PG_ROWS]:
            await conn.execute(statement)
    finally:
        await conn.close()


def _build_sqlite(url: str) -> None:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        for statement in SQLITE_SCHEMA:
            conn.execute(statement)
        for statement, rows in SQLITE_ROWS:
            conn.executemany(statement, rows)
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
async def foreign(db_url: str, engine_name: str) -> str:
    """`db_url`, holding the foreign schema and rows above."""
    if engine_name == "postgresql":
        await _build_postgresql(db_url)
    else:
        _build_sqlite(db_url)
    return db_url


async def snapshot_bytes(url: str) -> bytes:
    out = io.BytesIO()
    await commands.snapshot(url, out)
    return out.getvalue()


def tables(data: bytes) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for line in data.decode("utf-8").splitlines()[1:]:
        name, row = json.loads(line)
        out.setdefault(name, []).append(row)
    return out


def lines_of(data: bytes, table: str) -> list[str]:
    return [line for line in data.decode("utf-8").splitlines()[1:] if json.loads(line)[0] == table]


async def test_foreign_database_snapshots_twice_to_the_same_bytes(foreign: str, tmp_path: Path) -> None:
    first = await snapshot_bytes(foreign)
    # The second time through the CLI in a far-off client time zone.
    out = tmp_path / "second.jsonl"
    done = dbtools.run_cli(
        "snapshot", "--database-url", foreign, "-o", str(out), "-q", env={"TZ": "Pacific/Kiritimati"}
    )

    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == first


async def test_foreign_tables_appear_in_name_order_with_every_row(foreign: str) -> None:
    data = await snapshot_bytes(foreign)
    header = json.loads(data.split(b"\n", 1)[0])
    names = [json.loads(line)[0] for line in data.decode("utf-8").splitlines()[1:]]

    assert list(header["tables"]) == ["alpha_pairs", "loose_rows", "zeta_things"]
    assert list(dict.fromkeys(names)) == ["alpha_pairs", "loose_rows", "zeta_things"]
    assert {name: t["rows"] for name, t in header["tables"].items()} == {
        "alpha_pairs": 5,
        "loose_rows": 6,
        "zeta_things": 3,
    }
    assert (header["schema_revision"], header["fixtures"], header["scale"]) == (None, None, None)


async def test_composite_key_rows_are_in_key_order_text_by_code_point(foreign: str) -> None:
    rows = tables(await snapshot_bytes(foreign))["alpha_pairs"]

    assert [(r["a"], r["b"]) for r in rows] == [("B", 1), ("a", 1), ("b", 1), ("b", 2), ("b", 10)]
    assert rows[3] == {"a": "b", "b": 2, "note": None}


async def test_table_without_primary_key_keeps_duplicates_in_sorted_order(foreign: str) -> None:
    data = await snapshot_bytes(foreign)
    lines = lines_of(data, "loose_rows")
    rows = [json.loads(line)[1] for line in lines]

    assert lines == sorted(lines)
    assert sorted((r["x"] is None, r["x"] or 0, r["y"] or "") for r in rows) == sorted(
        [(False, 2, "b"), (False, 1, "z"), (False, 2, "b"), (False, 1, ""), (False, 10, "a"), (True, 0, "")]
    )
    assert rows.count({"x": 2, "y": "b"}) == 2
    assert {"x": None, "y": None} in rows


async def test_nulls_are_written_out_for_every_column(foreign: str) -> None:
    data = await snapshot_bytes(foreign)
    header = json.loads(data.split(b"\n", 1)[0])
    rows = {r["id"]: r for r in tables(data)["zeta_things"]}

    assert list(rows) == [1, 2, 3]
    assert set(rows[2]) == set(rows[1])
    assert {k: v for k, v in rows[2].items() if k != "id"} == dict.fromkeys(set(rows[2]) - {"id"})
    assert header["tables"]["zeta_things"]["key"] == ["id"]


async def test_foreign_values_are_canonical(foreign: str, engine_name: str) -> None:
    rows = {r["id"]: r for r in tables(await snapshot_bytes(foreign))["zeta_things"]}
    one, three = rows[1], rows[3]

    assert one["naive"] == "2026-03-08T02:30:00.000000"  # not shifted into any zone
    assert three["naive"] == "2026-11-01T01:30:00.000000"
    assert one["price"] == "1234.500"
    assert three["price"] == "0.100"
    assert one["amount"] == "10000000000000000"
    assert three["amount"] == "0.1"
    assert one["ratio"] == 0.0 and str(one["ratio"]) == "0.0"  # -0.0 folded
    assert three["ratio"] == 1e16
    assert one["blob"] == "\\xdeadbeef"
    assert three["blob"] == "\\x"
    assert one["label"] == "naïve — 情報 📈"
    document = {"alpha": {"x": 1, "y": 2}, "zeta": 1}
    assert one["doc"] == document
    if engine_name == "postgresql":
        assert one["raw_doc"] == document
        assert one["tags"] == ["b", "a", None]
        assert one["scores"] == [3, 1, 2]
        assert one["feeling"] == "happy"
        assert one["aware"] == "2026-01-15T06:15:00.000000Z"
        assert three["aware"] == "2026-11-01T08:30:00.000000Z"
        assert (three["tags"], three["scores"], three["raw_doc"]) == ([], [], {})


async def test_json_keys_are_sorted_in_the_line(foreign: str, engine_name: str) -> None:
    line = next(line for line in lines_of(await snapshot_bytes(foreign), "zeta_things") if '"id":1,' in line)

    assert '"doc":{"alpha":{"x":1,"y":2},"zeta":1}' in line
    if engine_name == "postgresql":
        assert '"raw_doc":{"alpha":{"x":1,"y":2},"zeta":1}' in line


async def test_physical_reordering_does_not_change_the_snapshot(foreign: str, engine_name: str) -> None:
    before = await snapshot_bytes(foreign)
    statements = [
        "UPDATE loose_rows SET y = y WHERE x = 1",
        "UPDATE alpha_pairs SET note = note WHERE a = 'B'",
        "UPDATE zeta_things SET label = label WHERE id = 2",
    ]
    if engine_name == "postgresql":
        conn = await asyncpg.connect(**pgserver.connect_kwargs(foreign))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()
    else:
        lite = sqlite3.connect(foreign.removeprefix("sqlite:///"))
        try:
            for statement in statements:
                lite.execute(statement)
            lite.commit()
        finally:
            lite.close()

    assert await snapshot_bytes(foreign) == before


# --- what a foreign database may hold that our own never does ----------------------------------------------


@pytest.mark.parametrize(
    ("declared", "stored"),
    [
        ("TIMESTAMP", "2026-01-15 12:00:00+05:45"),  # what Python's sqlite3 adapter writes for an aware datetime
        ("DATETIME", "2026-01-15T12:00:00Z"),
        ("TIMESTAMPTZ", "2026-01-15 12:00:00+00:00"),  # an unknown type name: NUMERIC affinity, text kept
    ],
    ids=["timestamp-with-offset", "datetime-with-z", "timestamptz-declared"],
)
def test_sqlite_zoned_timestamp_text_does_not_stop_the_snapshot(
    sqlite_url: str, tmp_path: Path, declared: str, stored: str
) -> None:
    conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    try:
        conn.execute(f"CREATE TABLE events (id INTEGER PRIMARY KEY, at {declared})")
        conn.executemany("INSERT INTO events VALUES (?, ?)", [(1, stored), (2, None)])
        conn.commit()
    finally:
        conn.close()
    out = tmp_path / "snap.jsonl"

    done = dbtools.run_cli("snapshot", "--database-url", sqlite_url, "-o", str(out), "-q")

    assert done.returncode == 0, done.stderr
    rows = tables(out.read_bytes())["events"]
    assert [r["id"] for r in rows] == [1, 2]
    assert isinstance(rows[0]["at"], str) and "2026-01-15" in rows[0]["at"]
    assert rows[1]["at"] is None


async def test_enum_key_rows_sort_by_label_code_point(pg_url: str) -> None:
    conn = await asyncpg.connect(**pgserver.connect_kwargs(pg_url))
    try:
        await conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        await conn.execute("CREATE TABLE moods (m mood PRIMARY KEY, n integer)")
        await conn.execute("INSERT INTO moods VALUES ('ok', 2), ('happy', 3), ('sad', 1)")
    finally:
        await conn.close()

    rows = tables(await snapshot_bytes(pg_url))["moods"]

    # The labels are text in the snapshot, so they sort as text does everywhere else
    # (and as the same rows would on SQLite), not in the enum's declaration order.
    assert [r["m"] for r in rows] == ["happy", "ok", "sad"]
