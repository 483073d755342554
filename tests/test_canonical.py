"""Canonical values, by column kind, from a table of inputs: no database involved."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, localcontext
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from echelon_project.schema import Document, wing_flaps
from sqlalchemy import (
    ARRAY,
    BLOB,
    BOOLEAN,
    CHAR,
    DOUBLE_PRECISION,
    FLOAT,
    INTEGER,
    JSON,
    NUMERIC,
    REAL,
    TEXT,
    VARCHAR,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    Enum,
    Float,
    Integer,
    Interval,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    Time,
    Uuid,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine

from echelon_seed.canonical import KIND_NAMES, Kind, RowEncoder, canonical_value, dumps, kind_of
from echelon_seed.types import Money, UTCDateTime

ANCHOR = datetime(2026, 11, 25, 0, 37, 49, tzinfo=UTC)

INT = Kind("int")
FLOAT_KIND = Kind("float")
BOOL = Kind("bool")
TEXT_KIND = Kind("text")
JSON_KIND = Kind("json")
TIMESTAMP = Kind("timestamp")
NAIVE = Kind("naive_timestamp")
MONEY = Kind("decimal", scale=2)
NUMBER = Kind("decimal")


def canon(kind: Kind, value: object, anchor: datetime | None = None) -> str:
    """Return the canonical JSON text of one value, as a snapshot would hold it."""
    return dumps(canonical_value(kind, value, anchor))


# --- floats -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),
        (1 / 3, "0.3333333333333333"),
        (1e-7, "1e-07"),
        (1e16, "1e+16"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-2.5, "-2.5"),
        (3.0, "3.0"),
        (-0.0, "0.0"),
        (math.nan, '"NaN"'),
        (math.inf, '"Infinity"'),
        (-math.inf, '"-Infinity"'),
    ],
)
def test_float_prints_shortest_round_trip_repr(value: float, expected: str) -> None:
    assert canon(FLOAT_KIND, value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.1"), "0.1"),
        (Decimal("0.6375"), "0.6375"),
        ("0.25", "0.25"),
        ("NaN", '"NaN"'),
        ("-Infinity", '"-Infinity"'),
        (3, "3.0"),
        (Decimal("-0"), "0.0"),
    ],
)
def test_float_column_converts_other_number_types_with_float(value: object, expected: str) -> None:
    assert canon(FLOAT_KIND, value) == expected


@pytest.mark.parametrize("value", [True, "abc", b"0.5", [1.0]])
def test_float_column_refuses_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="float column"):
        canonical_value(FLOAT_KIND, value)


# --- decimals ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        (Decimal("10.5"), 2, "10.50"),
        (Decimal("10.50"), 2, "10.50"),
        (Decimal("-3400"), 2, "-3400.00"),
        (Decimal("1E+3"), 2, "1000.00"),
        (Decimal("0"), 2, "0.00"),
        (Decimal("-0.00"), 2, "0.00"),
        (Decimal("123456789012345678"), 0, "123456789012345678"),
        (Decimal("1234567890123456.78"), 2, "1234567890123456.78"),
        (Decimal("-1234567890123456.78"), 2, "-1234567890123456.78"),
        (Decimal("123456789012345678901234567890.12"), 2, "123456789012345678901234567890.12"),
        (Decimal("1.2345"), 4, "1.2345"),
        (7, 2, "7.00"),
        ("12.3", 2, "12.30"),
    ],
)
def test_decimal_keeps_column_scale(value: object, scale: int, expected: str) -> None:
    assert canonical_value(Kind("decimal", scale=scale), value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.005"), "0.01"),
        (Decimal("0.015"), "0.02"),
        (Decimal("-0.005"), "-0.01"),
        (Decimal("-0.004"), "0.00"),
        (Decimal("2.675"), "2.68"),
    ],
)
def test_decimal_rounds_extra_places_half_away_from_zero_like_postgresql(value: Decimal, expected: str) -> None:
    assert canonical_value(MONEY, value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10.5, "10.50"),
        (0.1 + 0.2, "0.30"),
        (1.1, "1.10"),
        (2.675, "2.68"),  # the double is 2.67499999...; its repr is "2.675"
        (-3400.0, "-3400.00"),
    ],
)
def test_decimal_reads_a_float_through_repr_never_its_binary_expansion(value: float, expected: str) -> None:
    assert canonical_value(MONEY, value) == expected


def test_decimal_ignores_the_ambient_context_precision() -> None:
    with localcontext() as ctx:
        ctx.prec = 5
        assert canonical_value(MONEY, Decimal("1234567890123456.78")) == "1234567890123456.78"
        assert canonical_value(NUMBER, Decimal("123456789012345678.000")) == "123456789012345678"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("10.50"), "10.5"),
        (Decimal("10.5"), "10.5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("100"), "100"),
        (Decimal("100.000"), "100"),
        (Decimal("-1.2300"), "-1.23"),
        (Decimal("-0"), "0"),
        (Decimal("0.000"), "0"),
        (Decimal("0.00012"), "0.00012"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("123456789012345678901234567890.5"), "123456789012345678901234567890.5"),
        (0.1, "0.1"),
        (1e16, "10000000000000000"),
        (42, "42"),
    ],
)
def test_decimal_without_scale_is_normalised_without_exponent(value: object, expected: str) -> None:
    assert canonical_value(NUMBER, value) == expected


@pytest.mark.parametrize("kind", [MONEY, NUMBER])
@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("NaN"), "NaN"), (Decimal("-Infinity"), "-Infinity"), (Decimal("Infinity"), "Infinity")],
)
def test_decimal_non_finite_values_use_the_float_spellings(kind: Kind, value: Decimal, expected: str) -> None:
    assert canonical_value(kind, value) == expected


def test_decimal_is_written_as_a_json_string() -> None:
    assert canon(MONEY, Decimal("10.5")) == '"10.50"'


@pytest.mark.parametrize("value", [True, "ten", b"1", 1j])
def test_decimal_column_refuses_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="decimal column"):
        canonical_value(MONEY, value)


# --- integers and booleans --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, 7), (-(2**63), -(2**63)), (True, 1), (False, 0), (Decimal("5"), 5), (5.0, 5)],
)
def test_int_column_gives_plain_ints(value: object, expected: int) -> None:
    result = canonical_value(INT, value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [5.5, Decimal("0.1"), math.nan, "5"])
def test_int_column_refuses_fractions_and_text(value: object) -> None:
    with pytest.raises(ValueError, match="int column"):
        canonical_value(INT, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("t", True),
        ("f", False),
        ("true", True),
        ("false", False),
        ("TRUE", True),
        ("1", True),
        ("0", False),
    ],
)
def test_bool_follows_the_column_type_not_the_value_type(value: object, expected: bool) -> None:
    assert canonical_value(BOOL, value) is expected


@pytest.mark.parametrize("value", [2, -1, "yes", "", 1.0])
def test_bool_column_refuses_other_values(value: object) -> None:
    with pytest.raises(ValueError, match="bool column"):
        canonical_value(BOOL, value)


# --- text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "Robert'); DROP TABLE users;--",
        "“chokepoint” — naïve 🕵️ 油",
        'quote " backslash \\ tab \t newline \n nul \x00',
        "",
        " leading and trailing spaces ",
    ],
)
def test_text_survives_byte_for_byte(value: str) -> None:
    result = canonical_value(TEXT_KIND, value)
    assert result == value
    assert isinstance(result, str)
    assert result.encode() == value.encode()
    # Through the dumper and back: nothing normalised, nothing lost.
    assert json.loads(canon(TEXT_KIND, value)) == value


def test_text_dump_keeps_unicode_raw_and_escapes_only_what_json_must() -> None:
    assert canon(TEXT_KIND, "“chokepoint” — naïve 🕵️ 油") == '"“chokepoint” — naïve 🕵️ 油"'
    assert canon(TEXT_KIND, "Robert'); DROP TABLE users;--") == '"Robert\'); DROP TABLE users;--"'
    assert canon(TEXT_KIND, 'say "hi"\\') == '"say \\"hi\\"\\\\"'


def test_text_subclass_comes_back_as_plain_str() -> None:
    class Label(str):
        def __str__(self) -> str:
            return "not the label"

    result = canonical_value(TEXT_KIND, Label("DESTABILISE"))
    assert type(result) is str
    assert result == "DESTABILISE"


@pytest.mark.parametrize("value", [5, 1.5, b"bytes", True])
def test_text_column_refuses_non_strings(value: object) -> None:
    with pytest.raises(ValueError, match="text column"):
        canonical_value(TEXT_KIND, value)


# --- JSON ---------------------------------------------------------------------


def test_json_key_order_does_not_matter() -> None:
    assert canon(JSON_KIND, {"b": 1, "a": 2}) == canon(JSON_KIND, {"a": 2, "b": 1}) == '{"a":2,"b":1}'


@pytest.mark.parametrize("value", [100, 100.0, 1e2, Decimal("100"), Decimal("1E+2"), "100", "100.0", "1e2", "1E+2"])
def test_json_integral_numbers_print_as_integers(value: object) -> None:
    assert canon(JSON_KIND, value) == "100"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, "1.5"),
        (Decimal("2.50"), "2.5"),
        ("0.1", "0.1"),
        (-0.0, "0"),
        (float(2**53), "9007199254740992.0"),  # beyond exact integers: left a float
        (2**64, "18446744073709551616"),
        (True, "true"),
        (None, "null"),
    ],
)
def test_json_other_numbers_are_kept(value: object, expected: str) -> None:
    assert canon(JSON_KIND, value) == expected


def test_json_string_from_jsonb_matches_the_decoded_document() -> None:
    from_text = canon(JSON_KIND, '{"risk": 1e2, "genes": [1.0, 0.25, {"z": null, "a": "t"}], "on": true}')
    from_python = canon(JSON_KIND, {"on": True, "genes": [1, 0.25, {"a": "t", "z": None}], "risk": 100})
    assert from_text == from_python == '{"genes":[1,0.25,{"a":"t","z":null}],"on":true,"risk":100}'


def test_json_nested_numbers_are_normalised() -> None:
    assert (
        canon(JSON_KIND, {"x": [1.0, {"y": Decimal("2.50"), "w": (3.0, "3.0")}]}) == '{"x":[1,{"w":[3,"3.0"],"y":2.5}]}'
    )


@pytest.mark.parametrize("value", ["NaN", '{"a": Infinity}', [math.nan], {"a": math.inf}, {1: "int key"}])
def test_json_refuses_what_json_cannot_hold(value: object) -> None:
    with pytest.raises(ValueError):
        canonical_value(JSON_KIND, value)


# --- timestamps ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (ANCHOR, "now"),
        (ANCHOR - timedelta(hours=4), "now-4h"),
        (ANCHOR + timedelta(days=1, hours=2, minutes=30), "now+1d2h30m"),
        (ANCHOR - timedelta(seconds=1.5), "now-1.5s"),
        (ANCHOR.astimezone(ZoneInfo("Asia/Kathmandu")) - timedelta(minutes=15), "now-15m"),
        (ANCHOR.replace(tzinfo=None) - timedelta(hours=4), "now-4h"),  # naive: taken as UTC
        ("2026-11-24T20:37:49+00:00", "now-4h"),
    ],
)
def test_timestamp_is_described_relative_to_the_anchor(moment: object, expected: str) -> None:
    assert canonical_value(TIMESTAMP, moment, ANCHOR) == expected


def test_timestamp_anchor_in_another_zone_describes_the_same_instant() -> None:
    anchor = ANCHOR.astimezone(ZoneInfo("Pacific/Kiritimati"))
    assert canonical_value(TIMESTAMP, ANCHOR - timedelta(hours=4), anchor) == "now-4h"


def test_timestamp_offsets_are_real_time_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Clocks jump from 02:00 to 03:00 on 2026-03-29: midnight to noon is 11 hours.
    anchor = datetime(2026, 3, 29, 12, 0, tzinfo=berlin)
    assert canonical_value(TIMESTAMP, datetime(2026, 3, 29, 0, 0, tzinfo=berlin), anchor) == "now-11h"


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 24, 20, 37, 49, tzinfo=UTC),
        datetime(2026, 11, 25, 2, 22, 49, tzinfo=ZoneInfo("Asia/Kathmandu")),
        datetime(2026, 11, 25, 10, 37, 49, tzinfo=ZoneInfo("Pacific/Kiritimati")),
        datetime(2026, 11, 24, 15, 37, 49, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 11, 24, 20, 37, 49),
        "2026-11-24T20:37:49Z",
        "2026-11-24 20:37:49.000000",
        "2026-11-25T02:22:49+05:45",
    ],
)
def test_timestamp_without_anchor_is_utc_text_with_microseconds(moment: object) -> None:
    assert canonical_value(TIMESTAMP, moment) == "2026-11-24T20:37:49.000000Z"


def test_timestamp_keeps_microseconds_and_pads_the_year() -> None:
    assert canonical_value(TIMESTAMP, datetime(33, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "0033-01-02T03:04:05.000006Z"


def test_timestamp_refuses_a_naive_anchor() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        canonical_value(TIMESTAMP, ANCHOR, ANCHOR.replace(tzinfo=None))


@pytest.mark.parametrize("value", [date(2026, 1, 2), 1_700_000_000, b"2026"])
def test_timestamp_column_refuses_non_datetimes(value: object) -> None:
    with pytest.raises(ValueError, match="timestamp column"):
        canonical_value(TIMESTAMP, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 24, 20, 37, 49), "2026-11-24T20:37:49.000000"),
        (datetime(2026, 11, 24, 20, 37, 49, 120), "2026-11-24T20:37:49.000120"),
        ("2026-11-24 20:37:49.5", "2026-11-24T20:37:49.500000"),
    ],
)
def test_naive_timestamp_is_never_shifted(value: object, expected: str) -> None:
    assert canonical_value(NAIVE, value, ANCHOR) == expected


def test_naive_timestamp_column_refuses_aware_values() -> None:
    with pytest.raises(ValueError, match="naive timestamp column"):
        canonical_value(NAIVE, ANCHOR)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (Kind("date"), date(2026, 1, 2), "2026-01-02"),
        (Kind("date"), "2026-01-02", "2026-01-02"),
        (Kind("time"), time(1, 2, 3), "01:02:03.000000"),
        (Kind("time"), time(1, 2, 3, 4), "01:02:03.000004"),
        (Kind("time"), time(1, 2, 3, tzinfo=timezone(timedelta(hours=5, minutes=45))), "01:02:03.000000+05:45"),
        (Kind("time"), "01:02:03", "01:02:03.000000"),
    ],
)
def test_dates_and_times_have_fixed_width_text(kind: Kind, value: object, expected: str) -> None:
    assert canonical_value(kind, value) == expected


def test_date_column_refuses_a_datetime_rather_than_drop_its_time() -> None:
    with pytest.raises(ValueError, match="date column"):
        canonical_value(Kind("date"), datetime(2026, 1, 2, 3, 4))


# --- bytes, uuid, interval, arrays, other -----------------------------------


@pytest.mark.parametrize("value", [b"\x00\xffA", bytearray(b"\x00\xffA"), memoryview(b"\x00\xffA")])
def test_bytes_use_postgresql_hex_text(value: object) -> None:
    assert canonical_value(Kind("bytes"), value) == "\\x00ff41"


def test_empty_bytes_are_just_the_prefix() -> None:
    assert canon(Kind("bytes"), b"") == '"\\\\x"'


@pytest.mark.parametrize(
    "value",
    [
        UUID("6BA7B810-9DAD-11D1-80B4-00C04FD430C8"),
        "6BA7B810-9DAD-11D1-80B4-00C04FD430C8",
        "6ba7b8109dad11d180b400c04fd430c8",
        "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}",
        UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8").bytes,
    ],
)
def test_uuid_is_lowercase_and_hyphenated(value: object) -> None:
    assert canonical_value(Kind("uuid"), value) == "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(0), "P0DT0.000000S"),
        (timedelta(days=1, hours=2, microseconds=5), "P1DT7200.000005S"),
        (timedelta(hours=-1), "-P0DT3600.000000S"),
        (timedelta(microseconds=-1), "-P0DT0.000001S"),
        (timedelta(days=-3, seconds=1), "-P2DT86399.000000S"),
    ],
)
def test_interval_has_one_exact_form(value: timedelta, expected: str) -> None:
    assert canonical_value(Kind("interval"), value) == expected


@pytest.mark.parametrize(
    ("item", "value", "expected"),
    [
        (INT, [1, None, 3], "[1,null,3]"),
        (INT, (True, 2), "[1,2]"),
        (TEXT_KIND, ["a", None, "ü"], '["a",null,"ü"]'),
        (INT, [[1, 2], [3, None]], "[[1,2],[3,null]]"),
        (MONEY, [Decimal("1.5"), None], '["1.50",null]'),
        (FLOAT_KIND, [0.1, -0.0, math.nan], '[0.1,0.0,"NaN"]'),
        (JSON_KIND, [[1.0, 2], {"b": 1, "a": 2.0}], '[[1,2],{"a":2,"b":1}]'),
        (INT, [], "[]"),
    ],
)
def test_array_canonicalises_each_element_by_the_item_kind(item: Kind, value: object, expected: str) -> None:
    assert canon(Kind("array", item=item), value) == expected


def test_array_column_refuses_a_scalar() -> None:
    with pytest.raises(ValueError, match="array column"):
        canonical_value(Kind("array", item=INT), "{1,2}")


@pytest.mark.parametrize(("value", "expected"), [(5, "5"), (Decimal("1.50"), "1.50"), ("x", "x")])
def test_other_kind_falls_back_to_str(value: object, expected: str) -> None:
    assert canonical_value(Kind("other"), value) == expected


ALL_KINDS = [Kind(name) for name in sorted(KIND_NAMES - {"array"})] + [MONEY, Kind("array", item=INT)]


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda kind: f"{kind.name}-{kind.scale}")
def test_null_is_explicit_for_every_kind(kind: Kind) -> None:
    assert canonical_value(kind, None, ANCHOR) is None
    assert canon(kind, None) == "null"


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "money"},
        {"name": "float", "scale": 2},
        {"name": "array"},
        {"name": "int", "item": Kind("int")},
    ],
)
def test_kind_refuses_impossible_descriptions(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Kind(**bad)


# --- dumps ------------------------------------------------------------------


def test_dumps_sorts_keys_without_spaces_and_keeps_unicode() -> None:
    assert dumps({"b": [1, None], "a": {"é": "油", "d": True}}) == '{"a":{"d":true,"é":"油"},"b":[1,null]}'


def test_dumps_refuses_non_finite_floats() -> None:
    with pytest.raises(ValueError):
        dumps(math.nan)


# --- kind_of ----------------------------------------------------------------


class Shouting(TypeDecorator[str]):
    """A decorator that is not ours: its impl decides the kind."""

    impl = String
    cache_ok = True


class Cents(TypeDecorator[int]):
    impl = BigInteger
    cache_ok = True


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        (Money(18, 2), Kind("decimal", scale=2)),
        (Money(12, 4), Kind("decimal", scale=4)),
        (UTCDateTime(), TIMESTAMP),
        (Integer(), INT),
        (SmallInteger(), INT),
        (BigInteger(), INT),
        (INTEGER(), INT),
        (postgresql.BIGINT(), INT),
        (Numeric(10, 2), Kind("decimal", scale=2)),
        (NUMERIC(10, 2), Kind("decimal", scale=2)),
        (postgresql.NUMERIC(20, 6), Kind("decimal", scale=6)),
        (NUMERIC(), NUMBER),
        (Numeric(10, 2, asdecimal=False), FLOAT_KIND),
        (Float(), FLOAT_KIND),
        (FLOAT(), FLOAT_KIND),
        (Double(), FLOAT_KIND),
        (REAL(), FLOAT_KIND),
        (DOUBLE_PRECISION(), FLOAT_KIND),
        (postgresql.DOUBLE_PRECISION(), FLOAT_KIND),
        (postgresql.REAL(), FLOAT_KIND),
        (Boolean(), BOOL),
        (BOOLEAN(), BOOL),
        (JSON(), JSON_KIND),
        (postgresql.JSON(), JSON_KIND),
        (postgresql.JSONB(), JSON_KIND),
        (sqlite.JSON(), JSON_KIND),
        (JSON().with_variant(postgresql.JSONB(), "postgresql"), JSON_KIND),
        (Document, JSON_KIND),
        (DateTime(timezone=True), TIMESTAMP),
        (postgresql.TIMESTAMP(timezone=True), TIMESTAMP),
        (DateTime(), NAIVE),
        (postgresql.TIMESTAMP(), NAIVE),
        (sqlite.DATETIME(), NAIVE),
        (Date(), Kind("date")),
        (sqlite.DATE(), Kind("date")),
        (Time(), Kind("time")),
        (postgresql.TIME(timezone=True), Kind("time")),
        (LargeBinary(), Kind("bytes")),
        (postgresql.BYTEA(), Kind("bytes")),
        (BLOB(), Kind("bytes")),
        (Uuid(), Kind("uuid")),
        (postgresql.UUID(), Kind("uuid")),
        (Interval(), Kind("interval")),
        (postgresql.INTERVAL(), Kind("interval")),
        (postgresql.ARRAY(Integer), Kind("array", item=INT)),
        (ARRAY(Text), Kind("array", item=TEXT_KIND)),
        (postgresql.ARRAY(Numeric(10, 2)), Kind("array", item=MONEY)),
        (postgresql.ARRAY(Integer, dimensions=2), Kind("array", item=INT)),
        (Enum("free", "pro", name="user_tier"), TEXT_KIND),
        (postgresql.ENUM("ANCHOR", "DESTABILISE", name="flap_direction"), TEXT_KIND),
        (String(32), TEXT_KIND),
        (Text(), TEXT_KIND),
        (TEXT(), TEXT_KIND),
        (VARCHAR(42), TEXT_KIND),
        (CHAR(2), TEXT_KIND),
        (postgresql.CITEXT(), TEXT_KIND),
        (Shouting(), TEXT_KIND),
        (Cents(), INT),
        (NullType(), Kind("other")),
        (postgresql.TSVECTOR(), Kind("tsvector")),
        (postgresql.INET(), Kind("inet")),
    ],
    ids=repr,
)
def test_kind_of_maps_column_types(type_: TypeEngine[Any], expected: Kind) -> None:
    assert kind_of(type_) == expected


def test_kind_of_covers_every_wing_flaps_column() -> None:
    kinds = {column.name: kind_of(column.type).name for column in wing_flaps.columns}
    assert kinds == {
        "id": "text",
        "timeline_id": "text",
        "agent_id": "text",
        "flap_type": "text",
        "action": "text",
        "stability_delta": "float",
        "direction": "text",
        "volume_usd": "decimal",
        "timeline_stability": "float",
        "spawned_ripple": "bool",
        "ripple_timeline_id": "text",
        "founder_yield_earned": "decimal",
        "created_at": "timestamp",
    }


# --- RowEncoder -------------------------------------------------------------

USER_COLUMNS = [
    ("id", TEXT_KIND),
    ("balance", MONEY),
    ("score", FLOAT_KIND),
    ("is_active", BOOL),
    ("created_at", TIMESTAMP),
    ("bio", TEXT_KIND),
    ("tags", JSON_KIND),
]


def test_row_encoder_writes_the_canonical_line() -> None:
    encoder = RowEncoder("users", USER_COLUMNS, ANCHOR, key=[0])
    row = ("U1", Decimal("10.5"), 0.1, 1, ANCHOR - timedelta(hours=4), None, {"b": 1, "a": [1.0]})
    assert encoder.encode(row) == (
        '["users",{"balance":"10.50","bio":null,"created_at":"now-4h","id":"U1",'
        '"is_active":true,"score":0.1,"tags":{"a":[1],"b":1}}]'
    )


def test_row_encoder_without_anchor_writes_utc_text() -> None:
    encoder = RowEncoder("t", [("at", TIMESTAMP)])
    assert encoder.encode([ANCHOR]) == '["t",{"at":"2026-11-25T00:37:49.000000Z"}]'


TRICKY_ROWS = [
    ("U1", Decimal("10.5"), 0.1, True, ANCHOR, "“naïve” 🕵️", {"b": 1, "a": 2}),
    ("Robert'); --", 3, -0.0, 0, ANCHOR.astimezone(ZoneInfo("Asia/Kathmandu")), 'a "q" \\ \n', "[1e2]"),
    ("", Decimal("-0.001"), math.nan, "t", "2026-11-24 20:37:49", None, None),
    (None, None, None, None, None, None, None),
    ("\x00", "12.345", math.inf, False, ANCHOR.replace(tzinfo=None), "", [None, 1.5]),
    ("油", 1.005, Decimal("1E+2"), "false", ANCHOR - timedelta(microseconds=1), "\u2028", {"ü": {"z": 0.5}}),
]


@pytest.mark.parametrize("anchor", [ANCHOR, None])
@pytest.mark.parametrize("row", TRICKY_ROWS)
def test_row_encoder_equals_dumping_the_canonical_values(row: tuple[object, ...], anchor: datetime | None) -> None:
    encoder = RowEncoder("users", USER_COLUMNS, anchor)
    expected = dumps(
        [
            "users",
            {name: canonical_value(kind, value, anchor) for (name, kind), value in zip(USER_COLUMNS, row, strict=True)},
        ]
    )
    assert encoder.encode(row) == expected


def test_row_encoder_key_gives_canonical_primary_key_values() -> None:
    columns = [("timeline_id", TEXT_KIND), ("price", FLOAT_KIND), ("ts", TIMESTAMP)]
    encoder = RowEncoder("price_history", columns, ANCHOR, key=[2, 0])
    assert encoder.key(("TL_1", 0.5, ANCHOR - timedelta(hours=1))) == ("now-1h", "TL_1")


def test_row_encoder_for_table_keys_by_the_primary_key() -> None:
    encoder = RowEncoder.for_table(wing_flaps, ANCHOR)
    row = (
        "FLAP_00042",
        "TL_QUANTUM_FED",
        "AGT_RAVEN",
        "TRADE",
        "Bought “YES”",
        -0.0125,
        "DESTABILISE",
        Decimal("1200"),
        0.6375,
        True,
        None,
        Decimal("12.3"),
        ANCHOR - timedelta(hours=4),
    )
    assert encoder.key(row) == ("FLAP_00042",)
    assert encoder.encode(row) == (
        '["wing_flaps",{"action":"Bought “YES”","agent_id":"AGT_RAVEN","created_at":"now-4h",'
        '"direction":"DESTABILISE","flap_type":"TRADE","founder_yield_earned":"12.30","id":"FLAP_00042",'
        '"ripple_timeline_id":null,"spawned_ripple":true,"stability_delta":-0.0125,'
        '"timeline_id":"TL_QUANTUM_FED","timeline_stability":0.6375,"volume_usd":"1200.00"}]'
    )


def test_row_encoder_refuses_a_row_of_the_wrong_width() -> None:
    encoder = RowEncoder("users", USER_COLUMNS, ANCHOR)
    with pytest.raises(ValueError, match="row has 2 values, expected 7"):
        encoder.encode(("U1", Decimal("1")))


@pytest.mark.parametrize(
    ("columns", "key", "message"),
    [
        ([("a", INT), ("a", TEXT_KIND)], (), "twice"),
        ([("a", INT)], (1,), "outside"),
    ],
)
def test_row_encoder_refuses_bad_definitions(
    columns: list[tuple[str, Kind]], key: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RowEncoder("t", columns, None, key)


def test_row_encoder_passes_conversion_errors_through() -> None:
    encoder = RowEncoder("users", USER_COLUMNS, ANCHOR)
    with pytest.raises(ValueError, match="bool column"):
        encoder.encode(("U1", Decimal("1"), 0.5, 2, ANCHOR, None, None))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15000.00", "15000.00"),  # SQLite money text, already canonical: passed through
        (Decimal("-3400.00"), "-3400.00"),  # PostgreSQL numeric at the column scale
        ("007.50", "7.50"),  # not canonical text: normalised, never passed through
        ("-0.00", "0.00"),
        (Decimal("-0.00"), "0.00"),
        ("1E+3", "1000.00"),
        ("10.5", "10.50"),
    ],
)
def test_decimal_fast_path_passes_only_canonical_text(raw: object, expected: str) -> None:
    assert canonical_value(Kind("decimal", scale=2), raw) == expected


def test_sqlite_timestamp_text_is_relative_like_the_datetime_it_stores() -> None:
    kind = Kind("timestamp")
    moment = ANCHOR - timedelta(hours=4, microseconds=5)
    text = moment.replace(tzinfo=None).isoformat(" ", "microseconds")
    assert canonical_value(kind, text, ANCHOR) == canonical_value(kind, moment, ANCHOR) == "now-4h0.000005s"
