"""Times: moments (aware timestamps), naive timestamps, dates, times of day, intervals.

SQLite has no time zones: `UTCDateTime` keeps fixed-width UTC text there.
Fixtures give moments relative to the anchor ("now-4h") or as ISO-8601 with
a zone; the other kinds in ISO-8601 ("1990-02-28", "09:30:00",
"2024-05-01T09:30:00", durations "P1DT2H"). A time of day with a zone
keeps its offset on both engines (SQLite as ISO text), and an interval on
SQLite is SQLAlchemy's text of 1970-01-01 plus the duration.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, Interval, String, Time
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from echelon_seed import clock
from echelon_seed.moments import Far, Infinite, far_date_text, far_timestamp_text

from ._family import Binder, Family, Invalid, check_text, short
from ._kind import Converter, JSONValue, Kind, refuse
from ._sql import CellSql

__all__ = [
    "DATE",
    "INTERVAL",
    "MAX_OFFSET",
    "MOMENT",
    "NAIVE",
    "SQLITE_TIMESTAMP_FORMAT",
    "TIME",
    "UTCDateTime",
    "is_moment",
    "timestamp_converter",
    "to_date",
    "to_interval",
    "to_naive_timestamp",
    "to_time",
]

#: How far from the anchor a relative time may lie: any anchor in the years 1000..9000 resolves it.
MAX_OFFSET = timedelta(days=365_000)

#: Fixed-width UTC text, so that SQLite's text order is time order.
SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time, always returned as an aware UTC datetime.

    PostgreSQL keeps `timestamptz`; SQLite keeps fixed-width UTC text. Naive
    datetimes are refused on the way in: a time without a zone is a bug.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any]:
        # Overridden rather than process_bind_param, for the same reason as Money's.
        as_text = dialect.name == "sqlite"

        def to_storage(value: datetime | None) -> Any:
            if value is None:
                return None
            if value.tzinfo is not UTC:
                if value.tzinfo is None or value.utcoffset() is None:
                    raise ValueError(f"naive datetime {value.isoformat()} has no time zone")
                value = value.astimezone(UTC)
            # isoformat gives SQLITE_TIMESTAMP_FORMAT plus "+00:00", twice as fast as strftime.
            return value.isoformat(" ", "microseconds")[:26] if as_text else value

        return to_storage

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def __repr__(self) -> str:
        return "UTCDateTime()"


def is_moment(type_: TypeEngine[Any]) -> bool:
    """A type of moments (aware timestamps): fixtures give them relative to the anchor."""
    return isinstance(type_, UTCDateTime) or (isinstance(type_, DateTime) and bool(type_.timezone))


def is_fixed_moment(value: object) -> bool:
    """A moment's fixture value that is absolute ("2024-01-31T23:59:59Z"): not an offset, not an infinity."""
    return value is not None and not isinstance(value, (timedelta, Infinite))


# --- canonical text ----------------------------------------------------------------------------------


def _utc_text(moment: datetime) -> str:
    # isoformat pads the year to four digits; strftime("%Y") does not everywhere.
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_EPOCH_UTC = datetime(2000, 1, 1, tzinfo=UTC)
# SQLAlchemy keeps an Interval on SQLite as this moment plus the duration.
_SQLITE_INTERVAL_EPOCH = datetime(1970, 1, 1)


def _far_utc_text(value: Far) -> str:
    return far_timestamp_text(value.since_2000) + "Z"


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise refuse("timestamp", value)
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)  # SQLite keeps UTC as naive text
    # Also what makes offsets from the anchor real time: two datetimes sharing
    # one tzinfo subtract as wall clocks, which is wrong across a DST change.
    return value.astimezone(UTC)


def timestamp_converter(anchor: datetime | None) -> Converter:
    if anchor is None:

        def absolute(value: Any) -> JSONValue:
            if isinstance(value, Infinite):
                return str(value)
            if isinstance(value, Far):
                return _far_utc_text(value)
            return None if value is None else _utc_text(_as_utc(value))

        return absolute

    if anchor.tzinfo is None or anchor.utcoffset() is None:
        raise ValueError(f"anchor {anchor.isoformat()} has no time zone")
    utc_anchor = anchor.astimezone(UTC)
    naive_anchor = utc_anchor.replace(tzinfo=None)
    describe, describe_offset, parse = clock.describe, clock.describe_offset, datetime.fromisoformat
    describe_micros, micro = clock.describe_micros, timedelta(microseconds=1)

    def relative(value: Any) -> JSONValue:
        kind = type(value)
        if kind is datetime and value.tzinfo is UTC:  # what asyncpg returns for timestamptz
            return describe(value, utc_anchor)
        if kind is str and len(value) == 26:  # SQLite's fixed-width UTC text (UTCDateTime)
            moment = parse(value)
            if moment.tzinfo is None:
                return describe_micros((moment - naive_anchor) // micro)
        if isinstance(value, Infinite):
            return str(value)
        if isinstance(value, Far):  # a timedelta spans every year PostgreSQL has
            return describe_offset(value.offset() + (_EPOCH_UTC - utc_anchor))
        return None if value is None else describe(_as_utc(value), utc_anchor)

    return relative


def to_naive_timestamp(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, Infinite):
        return str(value)
    if isinstance(value, Far):
        return far_timestamp_text(value.since_2000)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value.tzinfo is not None:
        raise refuse("naive timestamp", value)
    return value.isoformat(timespec="microseconds")


def to_date(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, Infinite):
        return str(value)
    if isinstance(value, Far):
        return far_date_text(value.since_2000)
    if isinstance(value, str):
        value = date.fromisoformat(value)
    # A datetime is a date too; taking its date part would hide a time.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise refuse("date", value)
    return value.isoformat()


def to_time(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, str):
        value = time.fromisoformat(value)
    if not isinstance(value, time):
        raise refuse("time", value)
    return value.isoformat(timespec="microseconds")


def to_interval(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: SQLAlchemy's 1970-01-01 plus the duration
        try:
            value = datetime.fromisoformat(value) - _SQLITE_INTERVAL_EPOCH
        except ValueError:
            raise refuse("interval", value) from None
    if not isinstance(value, timedelta):
        raise refuse("interval", value)
    sign = "-" if value < timedelta(0) else ""
    span = abs(value)
    return f"{sign}P{span.days}DT{span.seconds}.{span.microseconds:06d}S"


# --- fixtures ----------------------------------------------------------------------------------------


def _absolute_moment(value: str) -> datetime:
    """An aware column's absolute time: ISO-8601 with a zone, kept as that moment (in UTC)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(
            f"{value!r} is neither a relative time such as 'now-4h' nor an ISO-8601 time with a zone"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Invalid(f"{value!r} has no time zone; add 'Z' or an offset, or write it relative ('now-4h')")
    return moment.astimezone(UTC)


def _moment_fixture(type_: Any, value: Any) -> timedelta | datetime:
    if not isinstance(value, str):
        raise Invalid(f'expected a relative time such as "now-4h", got {value!r}')
    check_text(value, "a time")
    if not value.startswith("now"):
        return _absolute_moment(value)
    try:
        offset = clock.to_offset(value)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    except OverflowError:
        offset = timedelta.max
    if abs(offset) > MAX_OFFSET:
        raise Invalid(
            f"{short(value)} is more than {MAX_OFFSET.days:,} days from now, outside the calendar"
            " that both engines (and every anchor) share"
        )
    return offset


def _naive_fixture(type_: Any, value: Any) -> datetime:
    if not isinstance(value, str):
        raise Invalid(f'expected a date and time such as "2024-05-01T09:30:00", got {value!r}')
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{value!r} is not an ISO-8601 date and time") from None
    if moment.tzinfo is not None:
        raise Invalid(f"{value!r} has a time zone; the column holds times without one")
    return moment


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_fixture(type_: Any, value: Any) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise Invalid(f'expected an ISO-8601 date such as "1990-02-28", got {value!r}')
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(f"{value!r} is not a date ({exc})") from None


def _time_fixture(type_: Any, value: Any) -> time:
    if not isinstance(value, str):
        raise Invalid(f'expected an ISO-8601 time such as "09:30:00", got {value!r}')
    try:
        moment = time.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{value!r} is not an ISO-8601 time of day") from None
    zoned = bool(getattr(type_, "timezone", False))
    if zoned and moment.tzinfo is None:
        raise Invalid(f'{value!r} has no offset; the column keeps one (write "09:30:00+02:00" or "09:30:00Z")')
    if not zoned and moment.tzinfo is not None:
        raise Invalid(f"{value!r} has an offset; the column holds times without one")
    return moment


_DURATION = re.compile(
    r"(?P<sign>-)?P(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+(?:\.[0-9]{1,6})?)S)?)?"
)


def _interval_fixture(type_: Any, value: Any) -> timedelta:
    if not isinstance(value, str):
        raise Invalid(f'expected an ISO-8601 duration such as "P1DT2H", got {value!r}')
    found = _DURATION.fullmatch(value)
    if found is None or value.rstrip("-") in ("P", "PT") or value.endswith("T"):
        hint = " (years and months have no fixed length: write days)" if re.search(r"P[0-9]*[YM]", value) else ""
        raise Invalid(f'{value!r} is not an ISO-8601 duration such as "P1DT2H" or "PT90M"{hint}')
    parts = {k: v for k, v in found.groupdict().items() if v is not None and k != "sign"}
    seconds = Decimal(parts.pop("seconds", "0"))
    try:
        span = timedelta(**{k: int(v) for k, v in parts.items()}, microseconds=int(seconds * 1_000_000))
    except OverflowError:
        raise Invalid(f"{value!r} is longer than an interval holds") from None
    return -span if found["sign"] else span


# --- binds and COPY text -----------------------------------------------------------------------------


def _time_bind(type_: TypeEngine[Any], dialect: Dialect) -> Binder | None:
    if dialect.name == "sqlite":
        # SQLAlchemy's SQLite time text drops the offset; ISO text keeps it, and sorts the same.
        return lambda value: None if value is None else value.isoformat(timespec="microseconds")
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _moment_text(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    def text(value: Any) -> str:
        if isinstance(value, timedelta):  # an offset from the anchor (export-sql resolves it in SQL)
            micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
            sign = "-" if micros < 0 else ""
            whole, frac = divmod(abs(micros), 1_000_000)
            return f"{sign}{whole}.{frac:06d} seconds"
        return str(value.isoformat())

    return text


def _iso_text(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return lambda value: str(value.isoformat())


def _interval_text(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    def text(value: timedelta) -> str:
        micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        sign = "-" if micros < 0 else ""
        whole, frac = divmod(abs(micros), 1_000_000)
        return f"{sign}{whole}.{frac:06d} seconds"

    return text


# --- canonical text in SQL (see `_sql`) ---------------------------------------------------------------

# PostgreSQL: years 1..9999 are printed by to_char as isoformat prints them; 'infinity' is its own
# text; other years (BC, five digits) are left to Python's expanded-year rule.
_PG_YEARS = "{v} >= '0001-01-01' AND {v} < '10000-01-01'"
# SQLite: the fixed-width text SQLAlchemy and UTCDateTime write, "YYYY-MM-DD HH:MM:SS.ffffff", and only
# when it names a real moment (the round trip through unixepoch refuses 2026-02-30 and 24:00:00).
_SQLITE_WHOLE = "substr({v}, 1, 19)"
_SQLITE_MOMENT = (
    "typeof({v}) = 'text' AND length({v}) = 26 AND substr({v}, 20, 1) = '.' "
    "AND NOT substr({v}, 21) GLOB '*[^0-9]*' AND substr({v}, 1, 4) <> '0000' "
    f"AND datetime(unixepoch({_SQLITE_WHOLE}), 'unixepoch') = {_SQLITE_WHOLE}"
)


# date_part('epoch', v) is the double nearest to N / 1e6 (N: whole microseconds since 1970, exact as
# a double below 2**53); times 1e6 that is N within |N| * 2**-52 (two roundings), below 0.5 while
# |N| < 2.25e15: the cast to bigint rounds it back to N. Bounds inside |N| < 2e15 (1906-08-16
# 20:26:40 to 2033-05-18 03:33:20 UTC); other moments take the exact numeric path. For a column
# without a time zone the zone in the literal is ignored, as its epoch ignores one.
_PG_NEAR_EPOCH = "{v} > '1906-08-17 00:00:00+00' AND {v} < '2033-05-18 00:00:00+00'"


def _micros(anchor: datetime) -> int:
    since = anchor.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds


def _finish_offset(value: Any) -> str:
    """The canonical relative time from the database's offset from the anchor in microseconds (or its infinity)."""
    if value is None or value == "null":
        return "null"
    try:
        micros = int(value)
    except ValueError:
        if value in ("infinity", "-infinity"):
            return '"' + str(value) + '"'
        raise  # the "not exact" of a cell the database could not read as a moment
    return clock.quoted_micros(micros)


def _moment_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    if engine == "postgresql":
        if anchor is None:
            return CellSql(
                "CASE WHEN {v} IS NULL THEN 'null' WHEN NOT isfinite({v}) THEN '\"' || CAST({v} AS text) || '\"' "
                f"WHEN {_PG_YEARS} THEN "
                "'\"' || to_char({v} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '\"' END"
            )
        # The offset in whole microseconds, exact for every finite year (extract gives numeric);
        # Python writes it as "now-4h", which is cheaper there than in SQL. Within 2e15 µs of
        # 1970 the double date_part gives is exact enough (below), and costs half of numeric.
        # NULL is 'null' (not SQL NULL), so that a chunk of lines with a NULL time stays on the bulk path.
        return CellSql(
            f"CASE WHEN {_PG_NEAR_EPOCH} THEN "
            f"CAST(CAST(date_part('epoch', {{v}}) * 1000000 AS bigint) - {_micros(anchor):d} AS text) "
            "WHEN isfinite({v}) THEN "
            f"CAST(CAST(extract(epoch FROM {{v}}) * 1000000 AS bigint) - {_micros(anchor):d} AS text) "
            "WHEN {v} IS NULL THEN 'null' ELSE CAST({v} AS text) END",
            finish=_finish_offset,
            finish_number=clock.quoted_micros,
        )
    if anchor is None:
        return CellSql(
            f"CASE WHEN {{v}} IS NULL THEN 'null' WHEN {_SQLITE_MOMENT} THEN '\"' || replace({{v}}, ' ', 'T') || 'Z\"' END"
        )
    offset = f"unixepoch({_SQLITE_WHOLE}) * 1000000 + CAST(substr({{v}}, 21) AS integer) - {_micros(anchor):d}"
    return CellSql(
        f"CASE WHEN {{v}} IS NULL THEN NULL WHEN {_SQLITE_MOMENT} THEN {offset} ELSE 'not exact' END",
        finish=_finish_offset,
        finish_number=clock.quoted_micros,
    )


def _naive_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    if engine == "postgresql":
        return CellSql(
            "CASE WHEN {v} IS NULL THEN 'null' WHEN NOT isfinite({v}) THEN '\"' || CAST({v} AS text) || '\"' "
            f"WHEN {_PG_YEARS} THEN '\"' || to_char({{v}}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '\"' END"
        )
    return CellSql(
        f"CASE WHEN {{v}} IS NULL THEN 'null' WHEN {_SQLITE_MOMENT} THEN '\"' || replace({{v}}, ' ', 'T') || '\"' END"
    )


def _date_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    if engine == "postgresql":
        return CellSql(
            "CASE WHEN {v} IS NULL THEN 'null' WHEN NOT isfinite({v}) THEN '\"' || CAST({v} AS text) || '\"' "
            f"WHEN {_PG_YEARS} THEN '\"' || to_char({{v}}, 'YYYY-MM-DD') || '\"' END"
        )
    return CellSql(
        "CASE WHEN {v} IS NULL THEN 'null' WHEN typeof({v}) = 'text' AND length({v}) = 10 AND {v} GLOB "
        "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND substr({v}, 1, 4) <> '0000' "
        "AND date(unixepoch({v}), 'unixepoch') = {v} THEN '\"' || {v} || '\"' END"
    )


MOMENT = Family(
    name="DateTime(timezone=True) / UTCDateTime",
    covers=("DateTime(timezone=True)", "echelon_seed.types.UTCDateTime", "TIMESTAMP WITH TIME ZONE"),
    matches=is_moment,
    kind=lambda t: Kind("timestamp"),
    fixture=_moment_fixture,
    copy_text=_moment_text,
    sql=_moment_sql,
)
NAIVE = Family(
    name="DateTime (naive)",
    covers=("DateTime", "TIMESTAMP"),
    matches=lambda t: isinstance(t, DateTime),
    kind=lambda t: Kind("naive_timestamp"),
    fixture=_naive_fixture,
    copy_text=_iso_text,
    sql=_naive_sql,
)
DATE = Family(
    name="Date",
    covers=("Date",),
    matches=lambda t: isinstance(t, Date),
    kind=lambda t: Kind("date"),
    fixture=_date_fixture,
    copy_text=_iso_text,
    sql=_date_sql,
)
TIME = Family(
    name="Time (with and without zone)",
    covers=("Time", "Time(timezone=True)"),
    matches=lambda t: isinstance(t, Time),
    kind=lambda t: Kind("time"),
    fixture=_time_fixture,
    copy_text=_iso_text,
    bind=_time_bind,
)
INTERVAL = Family(
    name="Interval",
    covers=("Interval", "postgresql.INTERVAL"),
    # Interval is itself a TypeDecorator (over DateTime): matched before anything unwraps it.
    matches=lambda t: isinstance(t, Interval) or _python_type(t) is timedelta,
    kind=lambda t: Kind("interval"),
    fixture=_interval_fixture,
    copy_text=_interval_text,
)


def _python_type(type_: TypeEngine[Any]) -> type | None:
    try:
        return type_.python_type
    except NotImplementedError:
        return None
