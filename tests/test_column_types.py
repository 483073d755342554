"""Column types: the refusals, each once per column, and a reflected database exported whole.

Each test here failed before the types package: PostgreSQL-only columns on
SQLite gave SQLAlchemy's "Compiler ... can't render element of type ARRAY";
plain Numeric, Date, Interval, INET, domains and TSVECTOR were "unsupported
column type" once per cell; an export refused its own output with a hint
pointing at a directory it had deleted.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import ARRAY, Column, Integer, MetaData, Numeric, Table, Text, text
from sqlalchemy.dialects.postgresql import INET, REAL
from sqlalchemy.exc import SAWarning
from sqlalchemy.ext.asyncio import create_async_engine

from echelon_seed import commands, engines, types
from echelon_seed.errors import ConfigError, FixtureError
from echelon_seed.project import Project
from tests.corpus import music_store

ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DOCS = Path(__file__).resolve().parent.parent / "docs" / "column-types.md"


def one_table(tmp_path: Path, table: Table, rows: list[dict[str, object]]) -> Project:
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir(parents=True, exist_ok=True)
    (fixtures / f"{table.name}.json").write_text(json.dumps({"rows": rows}))
    (tmp_path / "snapshots").mkdir(exist_ok=True)
    assert table.metadata is not None
    return Project(name="types", metadata=table.metadata, fixtures=fixtures, snapshots=tmp_path / "snapshots")


# --- PostgreSQL-only columns without PostgreSQL ------------------------------------------------------


async def test_check_schema_on_sqlite_names_the_postgresql_columns_in_one_sentence(tmp_path: Path) -> None:
    store = music_store.project("postgresql", tmp_path)
    with pytest.raises(ConfigError) as refused:
        await commands.check_schema(f"sqlite:///{tmp_path / 'scratch.db'}", project=store)
    message = str(refused.value)
    assert "can't render" not in message
    assert "store.address (INET)" in message and "track_extra.ints (INTEGER[])" in message
    assert "--database-url postgresql://" in message
    assert message.count("\n") == 0


async def test_apply_to_sqlite_refuses_postgresql_columns_before_creating_the_file(tmp_path: Path) -> None:
    store = music_store.project("postgresql", tmp_path / "project")
    target = tmp_path / "store.db"
    with pytest.raises(ConfigError) as refused:
        await commands.apply(f"sqlite:///{target}", anchor=ANCHOR, project=store)
    message = str(refused.value)
    assert re.search(r"\d+ column\(s\) of project 'music_store' have types that exist on PostgreSQL only", message)
    assert "store.till (MACADDR)" in message and "--database-url" in message
    assert not target.exists()


async def test_verify_without_a_database_seeds_a_throwaway_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's own column types: the fresh seed of `verify` is on a server of its own, not on SQLite."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    table = Table(
        "host",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("address", INET, nullable=False),
        Column("aliases", ARRAY(Text)),
    )
    store = one_table(tmp_path, table, [{"id": 1, "address": "10.0.0.0/8", "aliases": ["gw", "router"]}])
    updated = await commands.verify(project=store, update=True)
    assert '"address":"10.0.0.0/8","aliases":["gw","router"]' in updated.golden.read_text()
    assert (await commands.verify(project=store)).matches


# --- values either engine would store differently --------------------------------------------------


def test_a_plain_numeric_beyond_sqlites_digits_is_refused_with_what_to_do(tmp_path: Path) -> None:
    table = Table("ledger", MetaData(), Column("id", Integer, primary_key=True), Column("amount", Numeric))
    store = one_table(tmp_path, table, [{"id": 1, "amount": "1234567890.1234567"}, {"id": 2, "amount": "12.50"}])
    problems = commands.check(project=store)
    assert [(p.row, p.column) for p in problems] == [(1, "amount")]
    assert "more than 15 significant digits" in problems[0].message and "Money(precision, scale)" in problems[0].message


def test_a_numeric_with_precision_and_no_scale_takes_whole_numbers(tmp_path: Path) -> None:
    # NUMERIC(10) is NUMERIC(10, 0) on PostgreSQL, which would round 12.5 where SQLite keeps it.
    table = Table("stock", MetaData(), Column("id", Integer, primary_key=True), Column("units", Numeric(10)))
    store = one_table(tmp_path, table, [{"id": 1, "units": "12"}, {"id": 2, "units": "12.5"}])
    problems = commands.check(project=store)
    assert [(p.row, p.column, p.message) for p in problems] == [(2, "units", "'12.5' has more than 0 decimal places")]


def test_a_real_value_is_taken_only_as_postgresql_keeps_it(tmp_path: Path) -> None:
    table = Table("gauge", MetaData(), Column("id", Integer, primary_key=True), Column("level", REAL))
    store = one_table(tmp_path, table, [{"id": 1, "level": 3.1}, {"id": 2, "level": 3.14159265358979}])
    problems = commands.check(project=store)
    assert [(p.row, p.column) for p in problems] == [(2, "level")]
    assert "keeps 3.1415927" in problems[0].message


@pytest.mark.parametrize(
    ("type_name", "value", "expected"),
    [
        ("date", "28/02/1990", "ISO-8601 date"),
        ("interval", "P1M", "years and months have no fixed length"),
        ("inet", "10.0.0.300", "not an INET address"),
        ("range", "80-443", "range in PostgreSQL's text form"),
        ("bits", "10a", "string of 0 and 1"),
        ("xml", "<a>", "not well-formed XML"),
    ],
)
def test_bad_values_of_the_new_types_are_located(tmp_path: Path, type_name: str, value: str, expected: str) -> None:
    from sqlalchemy import Date, Interval
    from sqlalchemy.dialects import postgresql

    chosen = {
        "date": Date(),
        "interval": Interval(),
        "inet": postgresql.INET(),
        "range": postgresql.INT4RANGE(),
        "bits": postgresql.BIT(3),
        "xml": types.XML(),
    }[type_name]
    table = Table("things", MetaData(), Column("id", Integer, primary_key=True), Column("value", chosen))
    problems = commands.check(project=one_table(tmp_path, table, [{"id": 7, "value": value}]))
    assert len(problems) == 1
    assert (problems[0].row, problems[0].row_id, problems[0].column) == (1, "7", "value")
    assert expected in problems[0].message


# --- export ------------------------------------------------------------------------------------------


async def test_an_export_refused_says_so_once_per_column_and_not_to_run_check(pg_url: str, tmp_path: Path) -> None:
    # PostgreSQL keeps every digit of a plain numeric; the fixtures may not (SQLite would round them).
    table = Table("ledger", MetaData(), Column("id", Integer, primary_key=True), Column("amount", Numeric))
    store = one_table(tmp_path, table, [])
    database = engines.open_database(pg_url, write=True)
    try:
        async with database.transaction() as conn:
            await conn.run_sync(table.metadata.create_all)
            await conn.execute(
                text("INSERT INTO ledger SELECT g, 1234567890.1234567 + g FROM generate_series(1, 500) g")
            )
    finally:
        await database.dispose()
    with pytest.raises(FixtureError) as refused:
        await commands.export(pg_url, tmp_path / "out", project=store)
    message = str(refused.value)
    assert len(refused.value.problems) == 1
    assert "and 499 more rows of this column" in message
    assert "to list them" not in message and "nothing was written" in message
    assert not (tmp_path / "out").exists()


RENTAL_SQL = """
CREATE EXTENSION IF NOT EXISTS citext;
CREATE DOMAIN year AS integer CHECK (VALUE >= 1901 AND VALUE <= 2155);
CREATE TYPE mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');
CREATE TABLE film (
    film_id integer PRIMARY KEY,
    title text NOT NULL,
    release_year year,
    rating mpaa_rating,
    rental_rate numeric(4,2) NOT NULL,
    length_min smallint,
    special_features text[],
    fulltext tsvector,
    notes xml,
    spot point,
    last_update timestamp without time zone NOT NULL
);
CREATE TABLE store_host (
    host_id integer PRIMARY KEY,
    film_id integer REFERENCES film (film_id),
    address inet,
    network cidr,
    mac macaddr,
    window_ tstzrange,
    price money,
    nick citext,
    flags bit varying(8)
);
INSERT INTO film VALUES
  (1, 'ACADEMY DINOSAUR', 2006, 'PG', 0.99, 86, '{"Deleted Scenes","Behind the Scenes"}',
   'academy dinosaur epic drama', '<film id="1"/>', '(1,2)', '2013-05-26 14:50:58.951'),
  (2, 'ACE GOLDFINGER', NULL, NULL, 4.99, NULL, NULL, NULL, NULL, NULL, '2013-05-26 14:50:58');
INSERT INTO store_host VALUES
  (1, 1, '192.0.2.7', '192.0.2.0/24', '08:00:2b:01:02:03', '[2024-01-01 00:00+00,2024-02-01 00:00+00)', 12.5, 'Main', B'101'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"""


async def build_rental(url: str) -> None:
    database = engines.open_database(url, write=True)
    try:
        async with database.transaction() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute(RENTAL_SQL)
    finally:
        await database.dispose()


async def reflected(url: str) -> MetaData:
    """The schema as a project without models has it: reflected from the database."""
    metadata = MetaData()
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.connect() as conn:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Did not recognize type", category=SAWarning)
                await conn.run_sync(lambda sync: metadata.reflect(sync, only=["film", "store_host"]))
    finally:
        await engine.dispose()
    return metadata


async def test_a_reflected_database_exports_whole_and_applies_back_the_same(
    pg_url: str, pg_server: object, tmp_path: Path
) -> None:
    await build_rental(pg_url)
    metadata = await reflected(pg_url)
    kinds = {c.name: type(c.type).__name__ for c in metadata.tables["film"].columns}
    assert (kinds["release_year"], kinds["fulltext"], kinds["notes"]) == ("DOMAIN", "TSVECTOR", "NullType")
    (tmp_path / "snapshots").mkdir()
    rental = Project(name="rental", metadata=metadata, fixtures=tmp_path / "fixtures", snapshots=tmp_path / "snapshots")

    await commands.export(pg_url, tmp_path / "fixtures", project=rental)
    film = json.loads((tmp_path / "fixtures" / "film.json").read_text())["rows"][0]
    assert film["release_year"] == 2006 and film["rental_rate"] == "0.99"
    assert film["special_features"] == ["Deleted Scenes", "Behind the Scenes"]
    assert film["fulltext"] == "'academy' 'dinosaur' 'drama' 'epic'"
    assert film["notes"] == '<film id="1"/>' and film["spot"] == "(1,2)"
    host = json.loads((tmp_path / "fixtures" / "store_host.json").read_text())["rows"][0]
    assert host["price"] == "12.50" and host["mac"] == "08:00:2b:01:02:03" and host["flags"] == "101"

    copy_url = pg_server.create_database("rental_copy")  # type: ignore[attr-defined]
    try:
        await build_rental(copy_url)
        database = engines.open_database(copy_url, write=True)
        try:
            async with database.transaction() as conn:
                await conn.execute(text("DELETE FROM store_host"))
                await conn.execute(text("DELETE FROM film"))
        finally:
            await database.dispose()
        await commands.apply(copy_url, anchor=ANCHOR, project=rental)

        async def body(url: str) -> bytes:
            out = io.BytesIO()
            await commands.snapshot(url, out, project=rental)
            return out.getvalue().split(b"\n", 1)[1]

        assert await body(copy_url) == await body(pg_url)
    finally:
        pg_server.drop_database("rental_copy")  # type: ignore[attr-defined]


# --- the documentation's table ---------------------------------------------------------------------


def test_every_family_is_a_row_of_the_documented_type_table() -> None:
    table_rows = [line for line in DOCS.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    names = [row.split("|")[1].strip().strip("`") for row in table_rows[1:]]
    assert sorted(names) == sorted(f.name for f in types.FAMILIES)
