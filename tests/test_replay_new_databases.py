"""A replay into a new database takes the engines' fast paths and still stores what generation stores.

On SQLite a file without a schema is written with its foreign keys off and
every key checked once before the commit, which lets SQLite copy a replayed
table page by page; on PostgreSQL the tables apply created get their primary,
unique and foreign keys after the data. `tests/test_replay.py` replays into
databases that already hold a seed (`--force`), where neither path applies;
here every replay goes into a new database, on both engines, for the
anchor the entry was kept with (no shift) and for another one.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands, engines, replay
from echelon_seed.errors import DatabaseError
from tests import dbtools, pgserver
from tests.test_replay import ANCHORS, SCALE, stored

_databases = itertools.count()


def _cache(tmp_path: Path) -> replay.Cache:
    return replay.Cache(tmp_path / "cache", min_rows=0)


@pytest.mark.parametrize("anchor", [ANCHORS[0], ANCHORS[3]], ids=["same-anchor", "shifted"])
async def test_a_replay_into_a_new_database_stores_what_generation_stores(
    db_url: str, new_database: Any, tmp_path: Path, anchor: Any
) -> None:
    cache = _cache(tmp_path)
    kept = await commands.apply(new_database(), anchor=ANCHORS[0], scale=SCALE, cache=cache)
    assert kept.cache.startswith("kept"), kept.cache
    result = await commands.apply(db_url, anchor=anchor, scale=SCALE, cache=cache)
    assert result.cache.startswith("replayed 2 generated tables"), result.cache
    generated = new_database()
    await commands.apply(generated, anchor=anchor, scale=SCALE, cache=False)
    assert await stored(db_url) == await stored(generated)
    assert await dbtools.snapshot_bytes(db_url) == await dbtools.snapshot_bytes(generated)
    # The application's own insert after the seed: keys and sequences are in place.
    flap = (
        "INSERT INTO wing_flaps (id, timeline_id, agent_id, flap_type, action, stability_delta, direction, "
        "volume_usd, timeline_stability, spawned_ripple, created_at) VALUES ('FLAP_NEW', 'TL_NOWHERE', "
        "'AGT_MEGALODON', 'TRADE', 'x', 1.0, 'ANCHOR', 10, 50.0, false, '2026-01-01 00:00:00')"
    )
    with pytest.raises(Exception, match="(?i)foreign key"):
        await dbtools.execute(db_url, flap)


def _plan(path: Path, entry: Path, *, foreign_keys: bool) -> list[str]:
    """The opcodes SQLite compiles the replay's same-anchor statement to, in a copy of the seeded file."""
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        conn.execute("ATTACH DATABASE ? AS entry", (str(entry),))
        return [
            str(row[1]) for row in conn.execute("EXPLAIN INSERT INTO main.wing_flaps SELECT * FROM entry.wing_flaps")
        ]


async def test_a_kept_sqlite_table_can_be_copied_page_by_page_into_the_migrated_schema(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    await commands.apply(url, anchor=ANCHORS[0], scale=SCALE, cache=cache)
    (entry,) = cache.store().entries()
    # SQLite's transfer optimisation reads whole records (RowData) only when both tables carry the same
    # columns, constraints and indexes, and the target's foreign keys are off.
    assert "RowData" in _plan(tmp_path / "seeded.db", entry.path / "rows.sqlite", foreign_keys=False)
    assert "RowData" not in _plan(tmp_path / "seeded.db", entry.path / "rows.sqlite", foreign_keys=True)


async def test_a_new_sqlite_file_is_written_with_keys_off_and_every_key_checked_before_commit(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    database = engines.open_database(f"sqlite:///{path}", write=True)
    try:
        with pytest.raises(DatabaseError, match=r"1 foreign key violation\(s\), first in table child"):
            async with database.transaction() as conn:
                assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 0
                await conn.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
                await conn.exec_driver_sql(
                    "CREATE TABLE child (id INTEGER PRIMARY KEY, p INTEGER REFERENCES parent(id))"
                )
                await conn.exec_driver_sql("INSERT INTO child VALUES (1, 42)")  # no parent 42: accepted for now
                await database.backend.check_integrity(conn)
        assert not path.exists()  # nothing of it was committed
        async with database.transaction() as conn:
            await conn.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        # A file with a schema keeps its keys on (deferred to the commit), as before.
        with pytest.raises(DatabaseError, match="FOREIGN KEY constraint failed"):
            async with database.transaction() as conn:
                assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1
                await conn.exec_driver_sql(
                    "CREATE TABLE child (id INTEGER PRIMARY KEY, p INTEGER REFERENCES parent(id))"
                )
                await conn.exec_driver_sql("INSERT INTO child VALUES (1, 42)")
    finally:
        await database.dispose()


@pytest.fixture
def pg_database(pg_server: pgserver.PgServer) -> Iterator[Callable[[], str]]:
    """A factory of further empty PostgreSQL databases, dropped afterwards."""
    made: list[str] = []

    def make() -> str:
        made.append(f"replay_{next(_databases)}_{os.getpid()}")
        return pg_server.create_database(made[-1])

    yield make
    for name in made:
        pg_server.drop_database(name)


async def test_a_table_found_damaged_while_loading_is_taken_back_and_generated(
    pg_url: str, pg_database: Callable[[], str], tmp_path: Path
) -> None:
    """The first table replays, the second's file fails its digest at the end of its COPY: only it is taken back."""
    cache = _cache(tmp_path)
    await commands.apply(pg_database(), anchor=ANCHORS[0], scale=SCALE, cache=cache)
    (entry,) = cache.store().entries()
    copy = entry.path / "wing_flaps.copy"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: found by the digest taken while the file streams
    copy.write_bytes(bytes(data))
    result = await commands.apply(pg_url, anchor=ANCHORS[1], scale=SCALE, cache=cache)
    assert result.cache.startswith("replayed 1 generated table "), result.cache
    generated = pg_database()
    await commands.apply(generated, anchor=ANCHORS[1], scale=SCALE, cache=False)
    assert await stored(pg_url) == await stored(generated)
    assert not entry.path.exists()  # a damaged entry is removed
