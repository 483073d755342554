"""The replay cache of generated rows: a replayed apply stores exactly what a generating apply stores.

Every engine-sensitive test runs on SQLite and on the session's real
PostgreSQL. "The same" is checked three ways: the snapshot bytes, the seed
record and stamp rows, and every table as the engine stores it (PostgreSQL's
own COPY text, SQLite's stored values with their storage classes), so a
timestamp shifted by one microsecond, a float re-rounded or a text time in
another form would show. The cache lives in each test's own directory and
takes seeds of any size (`min_rows=0`), so scale 3 exercises it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands, engines, generators, replay
from echelon_seed.engines import pgcopy
from echelon_seed.replay.store import default_directory
from tests import dbtools, pgserver

SCALE = 3
# Seconds, microseconds, a year earlier, across a daylight-saving change elsewhere, and a leap day.
ANCHORS = (
    datetime(2026, 11, 24, 12, tzinfo=UTC),
    datetime(2026, 11, 24, 12, 0, 0, 1, tzinfo=UTC),
    datetime(2025, 3, 30, 1, 59, 59, 999_999, tzinfo=UTC),
    datetime(2028, 2, 29, 23, 30, 15, 500_001, tzinfo=UTC),
)
TABLES = (
    "users",
    "agents",
    "timelines",
    "paradoxes",
    "positions",
    "price_history",
    "timeline_links",
    "wing_flaps",
    "echelon_seed_runs",
    "echelon_seed_stamp",
)


def _cache(tmp_path: Path, **options: Any) -> replay.Cache:
    return replay.Cache(tmp_path / "cache", min_rows=0, **options)


async def stored(url: str) -> dict[str, Any]:
    """Every table as the engine stores it, in a fixed order."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            return {
                t: [
                    tuple((type(v).__name__, v) for v in row)
                    for row in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")
                ]
                for t in TABLES
            }
    import asyncpg

    conn = await asyncpg.connect(**pgserver.connect_kwargs(url))
    try:
        await conn.execute("SET TimeZone = 'UTC'")
        found = {}
        for t in TABLES:
            out = io.BytesIO()
            await conn.copy_from_query(f"SELECT * FROM {t} ORDER BY 1, 2", output=out)
            found[t] = out.getvalue()
        return found
    finally:
        await conn.close()


async def test_replayed_apply_stores_what_generation_stores_for_several_anchors(
    db_url: str, new_database: Any, tmp_path: Path
) -> None:
    cache = _cache(tmp_path)
    actions = []
    for anchor in ANCHORS:
        generated = new_database()
        await commands.apply(generated, anchor=anchor, scale=SCALE, cache=False)
        result = await commands.apply(db_url, anchor=anchor, scale=SCALE, cache=cache, force=True)
        actions.append(result.cache.split(" (")[0])
        assert await stored(db_url) == await stored(generated), anchor
        assert await dbtools.snapshot_bytes(db_url) == await dbtools.snapshot_bytes(generated)
        assert result.rows == dbtools.CANONICAL_ROWS | {"price_history": 40 * SCALE, "wing_flaps": 75 * SCALE}
    # The first apply kept the rows; every other anchor replayed them, shifted.
    assert actions == ["kept 2 generated tables for the next apply"] + ["replayed 2 generated tables"] * 3
    assert len(cache.store().entries()) == 1


async def test_the_application_inserts_and_joins_after_a_replayed_seed(db_url: str, tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    await commands.apply(db_url, anchor=ANCHORS[0], scale=SCALE, cache=cache)
    result = await commands.apply(db_url, anchor=ANCHORS[2], scale=SCALE, cache=cache, force=True)
    assert result.cache.startswith("replayed")
    flap = (
        "INSERT INTO wing_flaps (id, timeline_id, agent_id, flap_type, action, stability_delta, direction, "
        "volume_usd, timeline_stability, spawned_ripple, created_at) VALUES ('FLAP_NEW', 'TL_FED_PIVOT', "
        "'AGT_MEGALODON', 'TRADE', 'x', 1.0, 'ANCHOR', 10, 50.0, false, '2026-01-01 00:00:00')"
    )
    await dbtools.execute(db_url, flap)
    rows = await dbtools.table_rows(db_url, "wing_flaps")
    assert len(rows) == 75 * SCALE + 1
    from sqlalchemy import text

    database = engines.open_database(db_url, write=False)
    try:
        async with database.transaction() as conn:
            joined = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM wing_flaps f JOIN agents a ON a.id = f.agent_id "
                        "JOIN timelines t ON t.id = f.timeline_id"
                    )
                )
            ).scalar_one()
            newest = (await conn.execute(text("SELECT max(ts) FROM price_history"))).scalar_one()
    finally:
        await database.dispose()
    assert joined == 75 * SCALE + 1
    # The newest price point is at the anchor of the replaying apply, not of the one that kept the rows.
    newest = datetime.fromisoformat(newest) if isinstance(newest, str) else newest
    assert newest.replace(tzinfo=UTC) == ANCHORS[2]


# --- a generator that does not declare the shift --------------------------------------------------------

import echelon_project.generators  # noqa: E402, F401 - registers "wing_flaps", wrapped below

_FLAPS = generators.lookup("wing_flaps")
assert _FLAPS is not None and _FLAPS.columns is not None
generators.register_table(
    "test_replay.flaps_reading_the_anchor",
    table="wing_flaps",
    columns=_FLAPS.columns,
    inputs=_FLAPS.inputs,
    size=_FLAPS.size,
    earliest=_FLAPS.earliest,
)(_FLAPS.function)


def _undeclared_fixtures(tmp_path: Path) -> Path:
    from echelon_seed import project

    data = tmp_path / "data"
    shutil.copytree(project.echelon().fixtures, data)
    flaps = data / "wing_flaps.json"
    flaps.write_text(flaps.read_text().replace('"wing_flaps"', '"test_replay.flaps_reading_the_anchor"'))
    return data


async def test_without_the_declaration_the_anchor_is_part_of_the_key(
    db_url: str, new_database: Any, tmp_path: Path
) -> None:
    cache, data = _cache(tmp_path), _undeclared_fixtures(tmp_path)
    first = await commands.apply(db_url, fixtures_dir=data, anchor=ANCHORS[0], scale=SCALE, cache=cache)
    other = await commands.apply(db_url, fixtures_dir=data, anchor=ANCHORS[1], scale=SCALE, cache=cache, force=True)
    again = await commands.apply(db_url, fixtures_dir=data, anchor=ANCHORS[0], scale=SCALE, cache=cache, force=True)
    assert first.cache.startswith("kept") and other.cache.startswith("kept")
    assert again.cache.startswith("replayed")
    assert len(cache.store().entries()) == 2
    generated = new_database()
    await commands.apply(generated, fixtures_dir=data, anchor=ANCHORS[0], scale=SCALE, cache=False)
    assert await dbtools.snapshot_bytes(db_url) == await dbtools.snapshot_bytes(generated)


# --- entries that must not be trusted ------------------------------------------------------------------


def _entry_files(cache: replay.Cache) -> list[Path]:
    (entry,) = cache.store().entries()
    return sorted(p for p in entry.path.iterdir() if p.name not in ("manifest.json", "used"))


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _foreign_manifest(path: Path) -> None:
    manifest_path = path.parent / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format"] = "echelon-seed-replay/0"
    manifest_path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "damage", [_flip_last_byte, _truncate, _foreign_manifest], ids=["flipped", "truncated", "foreign"]
)
async def test_a_damaged_entry_is_a_miss_and_is_replaced(
    db_url: str, new_database: Any, tmp_path: Path, damage: Any
) -> None:
    cache = _cache(tmp_path)
    await commands.apply(db_url, anchor=ANCHORS[0], scale=SCALE, cache=cache)
    for path in _entry_files(cache):
        damage(path)
    result = await commands.apply(db_url, anchor=ANCHORS[1], scale=SCALE, cache=cache, force=True)
    assert result.cache.startswith("kept"), result.cache  # generated, and kept afresh
    generated = new_database()
    await commands.apply(generated, anchor=ANCHORS[1], scale=SCALE, cache=False)
    assert await stored(db_url) == await stored(generated)
    again = await commands.apply(db_url, anchor=ANCHORS[2], scale=SCALE, cache=cache, force=True)
    assert again.cache.startswith("replayed")


async def test_an_entry_of_another_engine_is_never_loaded(tmp_path: Path, pg_url: str) -> None:
    """One cache, both engines: each keeps its own entry, keyed by engine (and PostgreSQL's major version)."""
    cache = _cache(tmp_path)
    sqlite_url = f"sqlite:///{tmp_path / 'a.db'}"
    assert (await commands.apply(sqlite_url, anchor=ANCHORS[0], scale=SCALE, cache=cache)).cache.startswith("kept")
    assert (await commands.apply(pg_url, anchor=ANCHORS[0], scale=SCALE, cache=cache)).cache.startswith("kept")
    engines = sorted(e.summary["engine"].split()[0] for e in cache.store().entries())
    assert engines == ["postgresql", "sqlite"]


async def test_no_cache_neither_replays_nor_keeps(db_url: str, tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    result = await commands.apply(db_url, anchor=ANCHORS[0], scale=SCALE, cache=False)
    assert result.cache == ""
    assert not cache.directory.exists()


async def test_small_seeds_leave_the_cache_alone(db_url: str, tmp_path: Path) -> None:
    cache = replay.Cache(tmp_path / "cache")  # the default threshold: 20,000 generated rows
    result = await commands.apply(db_url, anchor=ANCHORS[0], scale=SCALE, cache=cache)
    assert result.cache == ""
    assert cache.store().entries() == []


# --- size cap ----------------------------------------------------------------------------------------------


async def test_the_least_recently_used_entry_goes_when_the_cap_is_reached(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lru.db'}"
    probe = _cache(tmp_path / "probe")
    sizes = {}
    for scale in (2, 3, 4):
        await commands.apply(url, anchor=ANCHORS[0], scale=scale, cache=probe, force=True)
        sizes[scale] = next(e.size for e in probe.store().entries() if e.summary["scale"] == scale)
    cache = _cache(tmp_path, max_bytes=sizes[2] + sizes[4])  # room for scales 2 and 4, not for all three
    for scale in (2, 3):
        await commands.apply(url, anchor=ANCHORS[0], scale=scale, cache=cache, force=True)
        time.sleep(0.05)  # distinct "last used" times even on a coarse clock
    # Scale 2 is used again, so scale 3 is now the least recently used.
    assert (await commands.apply(url, anchor=ANCHORS[1], scale=2, cache=cache, force=True)).cache.startswith("replayed")
    time.sleep(0.05)
    await commands.apply(url, anchor=ANCHORS[0], scale=4, cache=cache, force=True)
    assert sorted(e.summary["scale"] for e in cache.store().entries()) == [2, 4]
    assert sum(e.size for e in cache.store().entries()) <= cache.max_bytes


# --- concurrency and interruption (real processes) ---------------------------------------------------------


def _apply_process(url: str, cache_dir: Path, anchor: datetime, pause: str | None) -> subprocess.Popen[str]:
    code = (
        "import anyio, sys, datetime, pathlib\n"
        "from echelon_seed import commands, replay\n"
        "cache = replay.Cache(pathlib.Path(sys.argv[2]), min_rows=0)\n"
        "anchor = datetime.datetime.fromisoformat(sys.argv[3])\n"
        "result = anyio.run(lambda: commands.apply(sys.argv[1], anchor=anchor, scale=3, cache=cache, force=True))\n"
        "print(result.cache, flush=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != commands.PAUSE_ENV}
    if pause is not None:
        env[commands.PAUSE_ENV] = pause
    return subprocess.Popen(
        [sys.executable, "-c", code, url, str(cache_dir), anchor.isoformat()],
        cwd=dbtools.REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_pause(process: subprocess.Popen[str]) -> None:
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith("paused at"), line + process.stderr.read()


async def test_a_second_apply_of_the_key_never_sees_half_an_entry_and_one_writes(
    db_url: str, new_database: Any, tmp_path: Path
) -> None:
    cache = _cache(tmp_path)
    release = tmp_path / "release"
    writer = _apply_process(db_url, cache.directory, ANCHORS[0], f"before-commit=@{release}")
    try:
        _wait_for_pause(writer)  # its generated tables are kept in its staging directory, not yet published
        assert cache.store().entries() == []
        other = new_database()
        second = await commands.apply(other, anchor=ANCHORS[1], scale=SCALE, cache=cache)
        # The key is being written: the second apply generates and leaves the writing to the first.
        assert second.cache == "not used"
        assert cache.store().entries() == []
    finally:
        release.touch()  # the first apply commits and publishes only now, whatever the machine's load
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert out.startswith("kept")
    assert [e.summary["scale"] for e in cache.store().entries()] == [SCALE]
    third = await commands.apply(other, anchor=ANCHORS[1], scale=SCALE, cache=cache, force=True)
    assert third.cache.startswith("replayed")
    generated = new_database()
    await commands.apply(generated, anchor=ANCHORS[1], scale=SCALE, cache=False)
    assert await stored(other) == await stored(generated)


async def test_an_interrupted_apply_publishes_nothing(db_url: str, tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    writer = _apply_process(db_url, cache.directory, ANCHORS[0], "before-commit=30")
    try:
        _wait_for_pause(writer)
        writer.send_signal(signal.SIGTERM)
        writer.communicate(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == -signal.SIGTERM
    assert cache.store().entries() == []  # its staging directory is out of sight, under tmp/
    result = await commands.apply(db_url, anchor=ANCHORS[0], scale=SCALE, cache=cache)
    assert result.cache.startswith("kept")  # the next writer of the key clears what the killed one left
    assert list((cache.directory / "tmp").iterdir()) == []


# --- the command line ----------------------------------------------------------------------------------


def test_cache_command_lists_and_clears(tmp_path: Path) -> None:
    env = {"ECHELON_SEED_CACHE_DIR": str(tmp_path / "cache")}
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    seeded = dbtools.run_cli("apply", "--scale", "200", "--anchor", "2026-11-24T12:00:00Z", database_url=url, env=env)
    assert seeded.returncode == 0, seeded.stderr
    assert "  cache    kept 2 generated tables for the next apply (entry " in seeded.stdout
    again = dbtools.run_cli("apply", "--scale", "200", "--force", database_url=url, env=env)
    assert "  cache    replayed 2 generated tables (entry " in again.stdout
    plain = dbtools.run_cli("apply", "--scale", "200", "--force", "--no-cache", database_url=url, env=env)
    assert plain.returncode == 0 and "  cache " not in plain.stdout
    listed = dbtools.run_cli("cache", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(f"cache {tmp_path / 'cache' / 'replay'}: 1 entry, ") and lines[0].endswith(
        " of 2,048 MB"
    )
    assert "echelon scale 200 sqlite, tables price_history, wing_flaps, anchor shifted;" in lines[1]
    # The root is shared with the plugin's reused servers: --clear removes replay entries and nothing else.
    server = tmp_path / "cache" / "postgres-15" / "data" / "PG_VERSION"
    server.parent.mkdir(parents=True)
    server.write_text("15\n")
    cleared = dbtools.run_cli("cache", "--clear", env=env)
    assert cleared.returncode == 0 and cleared.stdout.startswith("cleared 1 entry (")
    assert dbtools.run_cli("cache", env=env).stdout.startswith(
        f"cache {tmp_path / 'cache' / 'replay'}: 0 entries, 0.0 MB"
    )
    assert server.read_text() == "15\n"


def test_a_bad_cap_in_the_environment_is_one_line_naming_it(tmp_path: Path) -> None:
    env = {"ECHELON_SEED_CACHE_DIR": str(tmp_path / "cache"), "ECHELON_SEED_CACHE_MAX_MB": "lots"}
    result = dbtools.run_cli("cache", env=env)
    assert result.returncode == 2
    assert (
        result.stderr
        == "echelon-seed: error: $ECHELON_SEED_CACHE_MAX_MB: expected a whole number of megabytes (1 or more), got 'lots'\n"
    )


def test_the_cache_directory_follows_the_environment(tmp_path: Path) -> None:
    assert default_directory({"ECHELON_SEED_CACHE_DIR": "/x/c", "XDG_CACHE_HOME": "/y"}) == Path("/x/c/replay")
    assert default_directory({"XDG_CACHE_HOME": "/y"}) == Path("/y/echelon-seed/replay")
    assert default_directory({"HOME": str(tmp_path)}) == Path.home() / ".cache" / "echelon-seed" / "replay"


# --- the binary COPY file, without a database --------------------------------------------------------------


def _copy_file(rows: list[list[bytes | None]]) -> bytes:
    out = bytearray(pgcopy.SIGNATURE + (0).to_bytes(4, "big") + (0).to_bytes(4, "big"))
    for row in rows:
        out += len(row).to_bytes(2, "big")
        for value in row:
            out += (-1).to_bytes(4, "big", signed=True) if value is None else len(value).to_bytes(4, "big") + value
    return bytes(out + (-1).to_bytes(2, "big", signed=True))


def test_shifting_moves_every_timestamp_and_nothing_else_across_chunk_boundaries(tmp_path: Path) -> None:
    moments = [0, 5, -(2**62), 2**63 - 1, -(2**63)]  # the last two: infinity and -infinity
    rows = [
        [b"x" * (i % 700_003), m.to_bytes(8, "big", signed=True), None if i % 3 else b"abc"]
        for i, m in enumerate(moments * 3)
    ]
    data = _copy_file(rows)
    source, offsets = io.BytesIO(data), io.BytesIO()
    assert pgcopy.scan(source, [1], offsets) == len(rows)
    offsets.seek(0)
    shifted = b"".join(pgcopy.shifted(io.BytesIO(data), offsets, 1_000_001))

    def moved(field: bytes | None) -> bytes:
        assert field is not None
        value = int.from_bytes(field, "big", signed=True)
        return (value if value in (2**63 - 1, -(2**63)) else value + 1_000_001).to_bytes(8, "big", signed=True)

    expected = [[r[0], moved(r[1]), r[2]] for r in rows]
    assert shifted == _copy_file(expected)


def test_a_truncated_copy_file_is_refused() -> None:
    data = _copy_file([[b"a" * 10, (5).to_bytes(8, "big")]])
    with pytest.raises(pgcopy.CopyFormatError):
        pgcopy.scan(io.BytesIO(data[:-12]), [1], io.BytesIO())
