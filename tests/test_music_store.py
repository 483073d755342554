"""A realistic store holding every column type: fixtures → check → apply → snapshot → export → apply → same bytes.

The corpus (`tests/corpus/music_store.py`) has the tables both engines hold
(every SQLAlchemy generic type) and, on PostgreSQL, the tables of types only
PostgreSQL has (JSONB, arrays of each type, INET, CIDR, MACADDR, TSVECTOR,
ranges, CITEXT, MONEY, BIT, XML, a domain, a user enum). Each test runs on
each engine where the types exist; the export-sql script is loaded by the
real psql.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from echelon_seed import commands, engines, migrate
from echelon_seed.project import Project
from tests.corpus import music_store

ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


async def prepare(url: str, engine_name: str) -> None:
    """What the store's database has before echelon-seed: on PostgreSQL, the extension CITEXT lives in."""
    if engine_name != "postgresql":
        return
    database = engines.open_database(url, write=True)
    try:
        async with database.transaction() as conn:
            await conn.execute(text(music_store.POSTGRESQL_SETUP))
    finally:
        await database.dispose()


async def snapshot_body(url: str, project: Project) -> bytes:
    out = io.BytesIO()
    await commands.snapshot(url, out, project=project)
    return out.getvalue().split(b"\n", 1)[1]


@pytest.fixture
def second_url(engine_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A second empty database on the same engine as `db_url`."""
    if engine_name == "sqlite":
        return f"sqlite:///{tmp_path / 'second.db'}"
    server = request.getfixturevalue("pg_server")
    name = f"music_second_{abs(hash(request.node.nodeid)) % 10**8}"
    url: str = server.create_database(name)
    request.addfinalizer(lambda: server.drop_database(name))
    return url


async def test_every_type_round_trips_through_export_byte_for_byte(
    db_url: str, second_url: str, engine_name: str, tmp_path: Path
) -> None:
    store = music_store.project(engine_name, tmp_path / "project")
    assert commands.check(project=store) == []
    for url in (db_url, second_url):
        await prepare(url, engine_name)

    await commands.apply(db_url, anchor=ANCHOR, project=store)
    seeded = await snapshot_body(db_url, store)
    await commands.export(db_url, tmp_path / "exported", project=store)
    assert commands.check(tmp_path / "exported", project=store) == []
    await commands.apply(second_url, fixtures_dir=tmp_path / "exported", anchor=ANCHOR, project=store)

    assert await snapshot_body(second_url, store) == seeded
    # Every table of this engine was written, with every row of its fixture.
    lines = seeded.decode().splitlines()
    for table in store.tables:
        assert any(line.startswith(f'["{table.name}",') for line in lines), table.name


async def test_the_application_reads_the_seeded_values_as_its_own_types(
    db_url: str, engine_name: str, tmp_path: Path
) -> None:
    store = music_store.project(engine_name, tmp_path / "project")
    await prepare(db_url, engine_name)
    await commands.apply(db_url, anchor=ANCHOR, project=store)
    database = engines.open_database(db_url, write=False)
    try:
        async with database.transaction() as conn:
            track = store.metadata.tables["track"]
            album = store.metadata.tables["album"]
            rows = (
                await conn.execute(
                    track.select()
                    .with_only_columns(track.c.name, track.c.unit_price, track.c.length, album.c.title)
                    .join_from(track, album)
                    .order_by(track.c.track_id)
                )
            ).all()
    finally:
        await database.dispose()
    from datetime import timedelta
    from decimal import Decimal

    assert [(r.name, r.title) for r in rows][0] == ("Highway to Hell", "Highway to Hell")
    assert rows[1].unit_price == Decimal("1.29")
    assert rows[1].length == timedelta(minutes=9, seconds=22.5)


async def test_both_engines_write_the_same_bytes_for_the_common_tables(
    sqlite_url: str, pg_url: str, tmp_path: Path
) -> None:
    on_sqlite = music_store.project("sqlite", tmp_path / "sqlite")
    on_postgresql = music_store.project("postgresql", tmp_path / "postgresql")
    await prepare(pg_url, "postgresql")
    await commands.apply(sqlite_url, anchor=ANCHOR, project=on_sqlite)
    await commands.apply(pg_url, anchor=ANCHOR, project=on_postgresql)

    sqlite_lines = (await snapshot_body(sqlite_url, on_sqlite)).splitlines()
    pg_lines = [
        line
        for line in (await snapshot_body(pg_url, on_postgresql)).splitlines()
        if not line.startswith(tuple(f'["{name}",'.encode() for name in music_store.POSTGRESQL_ONLY))
    ]
    assert sqlite_lines == pg_lines
    assert len(sqlite_lines) == 30


async def test_export_sql_loaded_by_psql_gives_the_same_snapshot(
    pg_url: str, pg_server: object, tmp_path: Path
) -> None:
    store = music_store.project("postgresql", tmp_path / "project")
    await prepare(pg_url, "postgresql")
    await commands.apply(pg_url, anchor=ANCHOR, project=store)
    seeded = await snapshot_body(pg_url, store)

    loaded_url = pg_server.create_database("music_psql")  # type: ignore[attr-defined]
    try:
        await prepare(loaded_url, "postgresql")
        database = engines.open_database(loaded_url, write=True)
        try:
            async with database.transaction() as conn:
                await migrate.upgrade(conn, store)
        finally:
            await database.dispose()
        script = tmp_path / "seed.sql"
        with script.open("wb") as out:
            commands.export_sql(out, project=store)
        binary = shutil.which("psql")
        assert binary is not None
        loaded = subprocess.run(
            [
                binary,
                loaded_url,
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-f",
                str(script),
                "-v",
                f"anchor={ANCHOR.isoformat()}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert loaded.returncode == 0, loaded.stderr
        assert await snapshot_body(loaded_url, store) == seeded
    finally:
        pg_server.drop_database("music_psql")  # type: ignore[attr-defined]


async def test_apply_and_export_sql_store_the_same_json_text(pg_url: str, pg_server: object, tmp_path: Path) -> None:
    # A json column keeps its text as given: the two ways in must give the same text.
    store = music_store.project("postgresql", tmp_path / "project")
    await prepare(pg_url, "postgresql")
    await commands.apply(pg_url, anchor=ANCHOR, project=store)
    loaded_url = pg_server.create_database("music_json")  # type: ignore[attr-defined]
    try:
        await prepare(loaded_url, "postgresql")
        database = engines.open_database(loaded_url, write=True)
        try:
            async with database.transaction() as conn:
                await migrate.upgrade(conn, store)
        finally:
            await database.dispose()
        script = tmp_path / "seed.sql"
        with script.open("wb") as out:
            commands.export_sql(out, project=store)
        binary = shutil.which("psql")
        assert binary is not None
        done = subprocess.run(
            [binary, loaded_url, "-v", "ON_ERROR_STOP=1", "-q", "-f", str(script)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr

        async def json_texts(url: str) -> list[str | None]:
            database = engines.open_database(url, write=False)
            try:
                async with database.transaction() as conn:
                    query = "SELECT preferences::text FROM customer ORDER BY customer_id"
                    return [row[0] for row in (await conn.execute(text(query))).all()]
            finally:
                await database.dispose()

        applied = await json_texts(pg_url)
        assert applied == await json_texts(loaded_url)
        assert (
            applied[0] == '{"genres":["Rock","Jazz"],"nested":{"a":[1,2.5,null],"b":1},"newsletter":true,"volume":0.75}'
        )
    finally:
        pg_server.drop_database("music_json")  # type: ignore[attr-defined]
