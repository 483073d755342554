"""Canonical edges (issue 9, finding 7): infinite and far-away times, and a BLOB where text belongs.

PostgreSQL keeps 'infinity' and '-infinity' in timestamp and date columns and
years from 4713 BC to 294276 AD; the driver's own decoders read infinity as
9999-12-31 23:59:59.999999 (so a database holding that real moment verified
equal to one holding infinity) and crashed on BC. SQLite keeps whatever it is
given, a BLOB in a text column included. Each must be its own value in the
snapshot, or a clear error naming table, row and column, and ordinary values
must keep their bytes.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest

from echelon_seed import canonical, commands, moments
from echelon_seed.canonical import Kind
from echelon_seed.errors import SnapshotError
from tests import dbtools

ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)
STAMP = Kind("timestamp")


# --- the representation (no database) ------------------------------------------------------------------


def test_far_dates_follow_the_proleptic_gregorian_calendar_python_uses_where_both_exist() -> None:
    for days in range(-730_119, 2_920_000, 311):  # 0001-01-01 .. 9994
        assert moments.far_date_text(days) == (date(2000, 1, 1) + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (-730_120, "0000-12-31"),  # 1 BC is year 0
        (-746_117, "-0043-03-15"),  # 44 BC, as PostgreSQL's binary value for '0044-03-15 BC'
        (-2_451_545, "-4713-11-24"),  # PostgreSQL's first day
        (2_922_000, "+10000-03-01"),
    ],
)
def test_far_dates_have_an_expanded_year(days: int, text: str) -> None:
    assert moments.far_date_text(days) == text


def test_ordinary_values_keep_their_bytes_and_the_edges_get_their_own() -> None:
    real_max = datetime.max.replace(tzinfo=UTC)
    bc = moments.Far(-64_464_465_600_000_000, "us")  # 0044-03-15 12:00 BC, UTC
    assert canonical.canonical_value(STAMP, real_max) == "9999-12-31T23:59:59.999999Z"
    assert canonical.canonical_value(STAMP, moments.Infinite(False)) == "infinity"
    assert canonical.canonical_value(STAMP, moments.Infinite(True)) == "-infinity"
    assert canonical.canonical_value(STAMP, moments.Infinite(False), ANCHOR) == "infinity"
    assert canonical.canonical_value(STAMP, bc) == "-0043-03-15T12:00:00.000000Z"
    # Relative to the anchor like every other moment of the column.
    assert canonical.canonical_value(STAMP, bc, ANCHOR) == "now-755628d"
    millennium = datetime(2000, 1, 1, tzinfo=UTC)
    assert canonical.canonical_value(STAMP, moments.Far(0, "us"), ANCHOR) == canonical.canonical_value(
        STAMP, millennium, ANCHOR
    )
    assert canonical.canonical_value(Kind("naive_timestamp"), moments.Infinite(True)) == "-infinity"
    assert canonical.canonical_value(Kind("naive_timestamp"), bc) == "-0043-03-15T12:00:00.000000"
    assert canonical.canonical_value(Kind("date"), moments.Far(-746_117, "days")) == "-0043-03-15"
    assert canonical.canonical_value(Kind("date"), date.max) == "9999-12-31"
    assert canonical.canonical_value(Kind("date"), moments.Infinite(False)) == "infinity"


def test_a_blob_in_a_text_column_is_refused_by_name_or_tagged_when_read_as_stored() -> None:
    strict = canonical.RowEncoder("notes", [("id", Kind("int")), ("body", Kind("text"))], key=[0])
    lenient = canonical.RowEncoder("notes", [("id", Kind("int")), ("body", Kind("text"))], key=[0], lenient=True)

    with pytest.raises(ValueError, match="BLOB"):
        strict.encode((1, b"hi"))
    assert strict.locate((1, b"hi")) == ("body", strict.locate((1, b"hi"))[1])  # type: ignore[index]
    assert lenient.encode((1, "\\x6869")) == '["notes",{"body":"\\\\x6869","id":1}]'
    assert lenient.encode((1, b"hi")) == '["notes",{"body":{"blob":"\\\\x6869"},"id":1}]'


# --- on the engines -------------------------------------------------------------------------------------

_MOMENTS_TABLE = {
    "postgresql": "CREATE TABLE moments (id INTEGER PRIMARY KEY, at TIMESTAMPTZ, local TIMESTAMP, day DATE)",
    "sqlite": "CREATE TABLE moments (id INTEGER PRIMARY KEY, at TIMESTAMP, local TIMESTAMP, day DATE)",
}


async def _moments_database(url: str, engine: str, values: list[tuple[int, str, str, str]]) -> None:
    rows = ", ".join(f"({i}, '{at}', '{local}', '{day}')" for i, at, local, day in values)
    await dbtools.execute(url, _MOMENTS_TABLE[engine], f"INSERT INTO moments VALUES {rows}")


async def _body(url: str) -> list[str]:
    return (await dbtools.snapshot_bytes(url)).decode().splitlines()[1:]


async def test_infinity_and_the_last_representable_moment_are_different_values(
    db_url: str, engine_name: str, new_database: object
) -> None:
    """On PostgreSQL the server's infinity; on SQLite the text 'infinity' a foreign database may hold."""
    real = "9999-12-31 23:59:59.999999"
    first = "0001-01-01 00:00:00"
    await _moments_database(
        db_url, engine_name, [(1, "infinity", "infinity", "infinity"), (2, "-infinity", "-infinity", "-infinity")]
    )
    other = new_database()  # type: ignore[operator]
    await _moments_database(other, engine_name, [(1, real, real, "9999-12-31"), (2, first, first, "0001-01-01")])

    infinite, finite = await _body(db_url), await _body(other)
    compared = await commands.diff_sources(db_url, other)

    assert infinite == [
        '["moments",{"at":"infinity","day":"infinity","id":1,"local":"infinity"}]',
        '["moments",{"at":"-infinity","day":"-infinity","id":2,"local":"-infinity"}]',
    ]
    zone = "Z" if engine_name == "postgresql" else ""  # SQLite's TIMESTAMP is naive text
    assert finite == [
        f'["moments",{{"at":"9999-12-31T23:59:59.999999{zone}","day":"9999-12-31","id":1,"local":"9999-12-31T23:59:59.999999"}}]',
        f'["moments",{{"at":"0001-01-01T00:00:00.000000{zone}","day":"0001-01-01","id":2,"local":"0001-01-01T00:00:00.000000"}}]',
    ]
    assert not compared.matches


async def test_bc_and_far_future_years_are_read_not_crashed_on(pg_url: str) -> None:
    await _moments_database(
        pg_url,
        "postgresql",
        [
            (1, "0044-03-15 12:00:00+00 BC", "0044-03-15 12:00:00 BC", "0044-03-15 BC"),
            (2, "12345-06-07 08:09:10.5+00", "12345-06-07 08:09:10.5", "12345-06-07"),
            (3, "2026-01-15 12:00:00+00", "2026-01-15 12:00:00", "2026-01-15"),
        ],
    )

    assert await _body(pg_url) == [
        '["moments",{"at":"-0043-03-15T12:00:00.000000Z","day":"-0043-03-15","id":1,"local":"-0043-03-15T12:00:00.000000"}]',
        '["moments",{"at":"+12345-06-07T08:09:10.500000Z","day":"+12345-06-07","id":2,"local":"+12345-06-07T08:09:10.500000"}]',
        '["moments",{"at":"2026-01-15T12:00:00.000000Z","day":"2026-01-15","id":3,"local":"2026-01-15T12:00:00.000000"}]',
    ]


async def test_a_seeded_database_holding_infinity_verifies_as_different_not_equal(pg_url: str) -> None:
    """The seeded Echelon schema (relative times): infinity is "infinity", the real last moment a time."""
    await commands.apply(pg_url, anchor=ANCHOR)
    golden = await dbtools.snapshot_bytes(pg_url)
    await dbtools.execute(pg_url, "UPDATE agents SET created_at = 'infinity' WHERE id = 'AGT_RAVEN'")
    infinite = await dbtools.snapshot_bytes(pg_url)
    await dbtools.execute(
        pg_url, "UPDATE agents SET created_at = '9999-12-31 23:59:59.999999+00' WHERE id = 'AGT_RAVEN'"
    )
    real = await dbtools.snapshot_bytes(pg_url)
    await dbtools.execute(pg_url, "UPDATE agents SET created_at = '0044-03-15 12:00:00+00 BC' WHERE id = 'AGT_RAVEN'")
    bc = await dbtools.snapshot_bytes(pg_url)

    raven = [line for line in infinite.decode().splitlines() if '"id":"AGT_RAVEN"' in line]
    assert '"created_at":"infinity"' in raven[0]
    assert len({golden, infinite, real, bc}) == 4
    assert '"created_at":"now-' in next(line for line in bc.decode().splitlines() if '"id":"AGT_RAVEN"' in line)


async def test_a_blob_in_a_seeded_text_column_is_one_error_naming_table_row_and_column(sqlite_url: str) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR)
    await dbtools.execute(sqlite_url, "UPDATE agents SET motto = X'6869' WHERE id = 'AGT_RAVEN'")

    with pytest.raises(SnapshotError) as error:
        await commands.snapshot(sqlite_url, io.BytesIO())
    done = dbtools.run_cli("snapshot", "--database-url", sqlite_url, "--output", "-")

    assert str(error.value).startswith("table agents, row (\"AGT_RAVEN\"), column 'motto': a BLOB (2 bytes, \\x6869)")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"echelon-seed: error: {error.value}"]


async def test_a_blob_in_a_foreign_text_column_never_reads_as_text(sqlite_url: str) -> None:
    await dbtools.execute(
        sqlite_url,
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
        "INSERT INTO notes VALUES (1, '\\x6869'), (2, X'6869')",
    )

    assert await _body(sqlite_url) == [
        '["notes",{"body":"\\\\x6869","id":1}]',
        '["notes",{"body":{"blob":"\\\\x6869"},"id":2}]',
    ]
