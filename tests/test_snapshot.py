"""The canonical snapshot: its header, its order, and bytes that depend only on the data.

The same fixtures must give the same bytes whatever the engine, the anchor,
the client's TZ or the server's default time zone; engine-sensitive tests
take ``db_url`` and run on SQLite and on the session's real PostgreSQL.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from echelon_project import schema
from sqlalchemy import insert

from echelon_seed import clock, commands, fixtures, project
from echelon_seed import snapshot as snapshots
from tests import dbtools, pgserver
from tests.dbtools import snapshot_bytes

ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)
# Los Angeles springs forward at 10:00 UTC that day: the fixtures' times straddle a DST change.
DST_ANCHOR_TEXT = "2026-03-08T10:30:00Z"
GOLDEN = commands.golden_path(1)
CLIENT_TIME_ZONES = ("UTC", "America/Los_Angeles", "Asia/Kathmandu", "Pacific/Kiritimati")

COUNTS = dbtools.CANONICAL_ROWS


def body_rows(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    return [tuple(json.loads(line)) for line in data.decode("utf-8").splitlines()[1:]]  # type: ignore[misc]


def rows_of(data: bytes, table: str) -> list[dict[str, Any]]:
    return [row for name, row in body_rows(data) if name == table]


def run_ok(*args: str, env: dict[str, str] | None = None) -> None:
    done = dbtools.run_cli(*args, env=env)
    assert done.returncode == 0, done.stderr


# --- same data, same bytes ------------------------------------------------------------------------------


async def test_sqlite_and_postgresql_snapshots_are_byte_identical(sqlite_url: str, pg_url: str) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR)
    await commands.apply(pg_url, anchor=ANCHOR + timedelta(days=3, hours=5, minutes=7))

    on_sqlite = await snapshot_bytes(sqlite_url)
    on_postgresql = await snapshot_bytes(pg_url)

    assert on_sqlite == on_postgresql
    assert on_sqlite == GOLDEN.read_bytes()


async def test_anchors_a_day_apart_give_identical_snapshots(db_url: str, new_database: Callable[[], str]) -> None:
    later = new_database()
    await dbtools.seed(db_url, anchor=ANCHOR)
    await commands.apply(later, anchor=ANCHOR + timedelta(days=1))

    assert await snapshot_bytes(db_url) == await snapshot_bytes(later)


# apply, then snapshot, through the CLI's entry point, for each (URL, output) pair, in one child process per
# time zone: the client's zone is the process's own, set before the interpreter starts.
_APPLY_THEN_SNAPSHOT = """
import sys
from echelon_seed.cli import main
anchor, *pairs = sys.argv[1:]
for url, out in zip(pairs[::2], pairs[1::2]):
    code = main(["apply", "--database-url", url, "--anchor", anchor, "-q"])
    code = code or main(["snapshot", "--database-url", url, "-o", out, "-q"])
    if code:
        sys.exit(code)
"""


def test_client_time_zone_does_not_change_the_snapshot(pg_server: pgserver.PgServer, tmp_path: Path) -> None:
    # Per TZ a SQLite file and a PostgreSQL database, each applied and snapshotted under that TZ; the four
    # children run side by side.
    names = {tz: f"tz_{n}_{os.getpid()}" for n, tz in enumerate(CLIENT_TIME_ZONES)}
    urls = {tz: (f"sqlite:///{tmp_path / f'{n}.db'}", pg_server.create_database(n)) for tz, n in names.items()}
    outs = {tz: (tmp_path / f"{n}-sqlite.jsonl", tmp_path / f"{n}-postgresql.jsonl") for tz, n in names.items()}
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("ECHELON_SEED_")}

    def seed_and_snapshot(tz: str) -> subprocess.CompletedProcess[str]:
        pairs = [str(x) for pair in zip(urls[tz], outs[tz], strict=True) for x in pair]
        return subprocess.run(
            [sys.executable, "-c", _APPLY_THEN_SNAPSHOT, DST_ANCHOR_TEXT, *pairs],
            cwd=dbtools.ECHELON,
            env={**env, "TZ": tz},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    try:
        with ThreadPoolExecutor(max_workers=len(CLIENT_TIME_ZONES)) as pool:
            done = dict(zip(CLIENT_TIME_ZONES, pool.map(seed_and_snapshot, CLIENT_TIME_ZONES), strict=True))
    finally:
        for name in names.values():
            pg_server.drop_database(name)

    assert {tz: d.returncode for tz, d in done.items()} == dict.fromkeys(CLIENT_TIME_ZONES, 0), done
    golden = GOLDEN.read_bytes()
    same = {(tz, out.name): out.read_bytes() == golden for tz, pair in outs.items() for out in pair}
    assert same == dict.fromkeys(same, True)
    assert len(same) == 2 * len(CLIENT_TIME_ZONES)


async def test_server_default_time_zone_does_not_change_the_snapshot(pg_server: pgserver.PgServer) -> None:
    name = f"snap_kathmandu_{os.getpid()}"
    url = pg_server.create_database(name)
    try:
        admin = await asyncpg.connect(**pgserver.connect_kwargs(pg_server.admin_url))
        try:
            await admin.execute(f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Kathmandu'")
        finally:
            await admin.close()
        # The setting really is the default of new sessions, so the test can tell.
        probe = await asyncpg.connect(**pgserver.connect_kwargs(url))
        try:
            assert await probe.fetchval("SHOW timezone") == "Asia/Kathmandu"
        finally:
            await probe.close()

        await commands.apply(url, anchor=datetime.fromisoformat(DST_ANCHOR_TEXT))

        assert await snapshot_bytes(url) == GOLDEN.read_bytes()
    finally:
        pg_server.drop_database(name)


# --- the header -----------------------------------------------------------------------------------------


async def test_header_states_format_provenance_and_per_table_rows_and_digests(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    data = await snapshot_bytes(db_url)
    header = json.loads(data.split(b"\n", 1)[0])

    assert header["format"] == snapshots.FORMAT == "echelon-seed-snapshot/3"
    assert header["ignore"] == []
    assert header["schema_revision"] == "0001"
    assert header["fixtures"] == fixtures.load(project.data_dir()).digest
    assert header["fixtures"].startswith("sha256:")
    assert header["scale"] == 1
    assert {name: t["rows"] for name, t in header["tables"].items()} == COUNTS
    assert header["tables"]["users"]["key"] == ["id"]
    assert header["tables"]["price_history"]["key"] == ["timeline_id", "ts"]
    assert header["tables"]["timeline_links"]["key"] == ["source_timeline_id", "target_timeline_id"]
    users = {c["name"]: (c["kind"], c["nullable"]) for c in header["tables"]["users"]["columns"]}
    assert users["id"] == ("text", False)
    assert users["balance_usdc"] == ("decimal(2)", False)
    assert users["created_at"] == ("timestamp", False)
    assert [c["name"] for c in header["tables"]["users"]["columns"]][0] == "id"


async def test_table_digests_cover_schema_and_rows_and_the_digest_covers_the_tables(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    data = await snapshot_bytes(db_url)
    first, body = data.split(b"\n", 1)
    header = json.loads(first)

    lines = body.splitlines(keepends=True)
    for name, summary in header["tables"].items():
        mine = b"".join(line for line in lines if json.loads(line)[0] == name)
        schema = {"columns": [[c["name"], c["kind"], c["nullable"]] for c in summary["columns"]], "key": summary["key"]}
        schema_line = json.dumps(schema, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        assert summary["digest"] == "sha256:" + hashlib.sha256(schema_line + mine).hexdigest(), name
        assert summary["rows"] == mine.count(b"\n")
    tables = {name: t["digest"] for name, t in header["tables"].items()}
    # The schema facts (constraints, defaults, lengths...) are in the digest too; indexes and views are not.
    whole = json.dumps(
        {"ignore": [], "schema": header["schema"], "tables": tables}, sort_keys=True, separators=(",", ":")
    ).encode()
    assert header["digest"] == "sha256:" + hashlib.sha256(whole).hexdigest()


async def test_read_header_parses_what_snapshot_wrote(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    data = await snapshot_bytes(db_url)

    header = snapshots.read_header("snap", io.StringIO(data.decode("utf-8")))

    assert header.schema_revision == "0001"
    assert header.scale == 1
    assert header.rows == COUNTS
    assert header.to_line() == data.decode("utf-8").split("\n", 1)[0]


# --- order ----------------------------------------------------------------------------------------------


async def test_tables_are_in_name_order_and_rows_in_primary_key_order(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    data = await snapshot_bytes(db_url)
    rows = body_rows(data)
    header = json.loads(data.split(b"\n", 1)[0])

    tables = [name for name, _ in itertools.groupby(name for name, _ in rows)]
    assert tables == sorted(COUNTS)
    for name in tables:
        if name == "price_history":  # relative ts text does not sort as time; checked below
            continue
        key = header["tables"][name]["key"]
        keys = [tuple(row[k] for k in key) for table, row in rows if table == name]
        assert keys == sorted(keys), name
        assert len(set(keys)) == len(keys), name


async def test_price_history_is_in_time_order_within_each_timeline(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    typed = await dbtools.table_rows(db_url, "price_history")  # sorted by (timeline_id, ts) as datetimes
    names = list(schema.price_history.columns.keys())
    tl, ts = names.index("timeline_id"), names.index("ts")
    expected = [(row[tl], clock.describe(row[ts], ANCHOR)) for row in typed]

    shown = [(row["timeline_id"], row["ts"]) for row in rows_of(await snapshot_bytes(db_url), "price_history")]

    assert shown == expected
    # The claim has teeth: sorting the relative text itself would give another order.
    assert shown != sorted(shown)
    for timeline, group in itertools.groupby(shown, key=lambda pair: pair[0]):
        moments = [clock.resolve(text, ANCHOR) for _, text in group]
        assert moments == sorted(moments) and len(set(moments)) == len(moments), timeline


@pytest.fixture(params=["sqlite", "postgresql"])
async def collated_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database whose text ordering is linguistic where the engine has one (ICU en-US on PostgreSQL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'collated.db'}"
        return
    server: pgserver.PgServer = request.getfixturevalue("pg_server")
    name = f"snap_icu_{os.getpid()}_{hashlib.blake2b(str(tmp_path).encode(), digest_size=4).hexdigest()}"
    admin = await asyncpg.connect(**pgserver.connect_kwargs(server.admin_url))
    try:
        await admin.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
    finally:
        await admin.close()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


def extra_user(user_id: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": f"extra_{user_id}",
        "email": f"{user_id}@example.invalid",
        "password_hash": "x",
        "tier": "free",
        "balance_usdc": Decimal("1.00"),
        "balance_echelon": 0,
        "wallet_address": None,
        "bio": None,
        "is_active": True,
        "created_at": ANCHOR,
    }


async def test_text_keys_sort_by_code_point_not_by_collation(collated_url: str) -> None:
    await commands.apply(collated_url, anchor=ANCHOR)
    await dbtools.execute(collated_url, insert(schema.users).values([extra_user("USR_a"), extra_user("USR_B")]))
    if collated_url.startswith("postgresql"):
        conn = await asyncpg.connect(**pgserver.connect_kwargs(collated_url))
        try:
            by_collation = [r[0] for r in await conn.fetch("SELECT id FROM users WHERE id LIKE 'USR\\__' ORDER BY id")]
        finally:
            await conn.close()
        assert by_collation == ["USR_a", "USR_B"], "the database collation should put a before B here"

    ids = [row["id"] for row in rows_of(await snapshot_bytes(collated_url), "users")]

    assert ids == ["USR_001", "USR_002", "USR_003", "USR_004", "USR_005", "USR_B", "USR_a"]


# --- values ---------------------------------------------------------------------------------------------


async def test_seeded_times_appear_relative_to_the_anchor(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)

    paradoxes = {row["id"]: row for row in rows_of(await snapshot_bytes(db_url), "paradoxes")}

    assert paradoxes["PARADOX_GHOST_001"]["spawned_at"] == "now-4h"
    assert paradoxes["PARADOX_GHOST_001"]["detonation_time"] == "now+8h"


async def test_snapshot_is_read_only_and_repeatable(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    before = await dbtools.dump(db_url)

    first = await snapshot_bytes(db_url)
    second = await snapshot_bytes(db_url)

    assert first == second
    assert await dbtools.dump(db_url) == before


async def test_the_suites_cloned_seed_is_what_apply_writes(db_url: str, new_database: Callable[[], str]) -> None:
    """`dbtools.seed` stands in for a first apply in many tests: it must hold exactly the same database."""
    applied = new_database()
    await commands.apply(applied, anchor=ANCHOR)
    await dbtools.seed(db_url, anchor=ANCHOR)

    cloned, made = await dbtools.dump(db_url), await dbtools.dump(applied)
    # The stamp digests the modules loaded in the process that seeded (the template was seeded
    # earlier in this worker): it may differ, and only ever sends the next apply the full way.
    cloned.pop("echelon_seed_stamp"), made.pop("echelon_seed_stamp")
    assert cloned == made
    assert await dbtools.snapshot_bytes(db_url) == await dbtools.snapshot_bytes(applied)
    assert (await commands.apply(db_url, anchor=ANCHOR)).action == "unchanged"


async def test_a_body_spilled_to_disk_reaches_a_file_and_a_pipe_unchanged(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the spool's size the body is on disk and goes out by sendfile: the same bytes as through memory."""
    await dbtools.seed(db_url, anchor=ANCHOR)
    in_memory = await snapshot_bytes(db_url)
    monkeypatch.setattr(snapshots, "_SPOOL", 1024)  # the scale-1 body is some 40 kB: on disk
    target = tmp_path / "spilled.jsonl"
    with target.open("wb", buffering=1 << 20) as out:  # the header waits in Python's buffer: flushed first
        await commands.snapshot(db_url, out)
    reader, writer = os.pipe()
    received = bytearray()

    def drain() -> None:
        with os.fdopen(reader, "rb") as pipe:
            while chunk := pipe.read(65536):
                received.extend(chunk)

    draining = threading.Thread(target=drain)
    draining.start()
    with os.fdopen(writer, "wb") as pipe:
        await commands.snapshot(db_url, pipe)
    draining.join()
    assert target.read_bytes() == in_memory
    assert bytes(received) == in_memory
    assert len(in_memory) > 1024
