"""Times and dates Python's datetime cannot hold: PostgreSQL's infinities, and years outside 1..9999.

PostgreSQL keeps `'infinity'` and `'-infinity'` in timestamp, timestamptz and
date columns, and years from 4713 BC to 294276 AD. asyncpg's own decoders
turn the infinities into `datetime.max` / `datetime.min` (so a database
holding 9999-12-31 23:59:59.999999 looked the same as one holding infinity)
and fail on any other year outside 1..9999 (`OverflowError`). The snapshot
reads these types through `decoders` instead: the server's integer (micro-
seconds or days since 2000-01-01) becomes the usual datetime or date when
Python can hold it, else an `Infinite` or a `Far` value that `canonical`
writes as `"infinity"` / `"-infinity"` or with an expanded year
(`"-0043-03-15"`, astronomical numbering: 1 BC is year 0). Ordinary values
come out exactly as before, so their canonical bytes do not change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

__all__ = ["Far", "Infinite", "decoders", "far_date_text", "far_timestamp_text"]

_EPOCH_DAY = date(2000, 1, 1)
_EPOCH_NAIVE = datetime(2000, 1, 1)
_EPOCH_UTC = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DAY = timedelta(days=1)
# PostgreSQL's sentinels: the largest and smallest int64 (timestamps) and int32 (dates).
_TS_INFINITY, _TS_MINUS_INFINITY = 2**63 - 1, -(2**63)
_DATE_INFINITY, _DATE_MINUS_INFINITY = 2**31 - 1, -(2**31)
# Days from 0000-03-01 (the start of a 400-year era in the civil-from-days algorithm) to 2000-01-01.
_ERA_DAYS = 146_097
_DAYS_0000_03_01_TO_2000_01_01 = 730_425


@dataclass(frozen=True, slots=True)
class Infinite:
    """PostgreSQL's 'infinity' (or '-infinity') in a timestamp or date column."""

    negative: bool

    def __str__(self) -> str:
        return "-infinity" if self.negative else "infinity"


@dataclass(frozen=True, slots=True)
class Far:
    """A timestamp (microseconds) or date (days) since 2000-01-01 whose year is outside 1..9999."""

    since_2000: int
    unit: str  # "us" or "days"

    def offset(self) -> timedelta:
        """The distance from 2000-01-01T00:00 (UTC for a zoned timestamp)."""
        return timedelta(microseconds=self.since_2000) if self.unit == "us" else timedelta(days=self.since_2000)


def _civil(days_since_2000: int) -> tuple[int, int, int]:
    """(year, month, day) in the proleptic Gregorian calendar, astronomical years (1 BC is 0)."""
    days = days_since_2000 + _DAYS_0000_03_01_TO_2000_01_01
    era, day_of_era = divmod(days, _ERA_DAYS)
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    year = year_of_era + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def _year(year: int) -> str:
    # ISO 8601's expanded form outside 0000..9999: a sign and at least four digits.
    if 0 <= year <= 9999:
        return f"{year:04d}"
    return f"-{-year:04d}" if year < 0 else f"+{year}"


def far_date_text(days_since_2000: int) -> str:
    """ "-0043-03-15": a date outside years 1..9999, ISO 8601 with an expanded year."""
    year, month, day = _civil(days_since_2000)
    return f"{_year(year)}-{month:02d}-{day:02d}"


def far_timestamp_text(micros_since_2000: int) -> str:
    """ "-0043-03-15T12:00:00.000000": a timestamp outside years 1..9999, six fractional digits."""
    days, micros = divmod(micros_since_2000, 86_400_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{far_date_text(days)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{micros:06d}"


def _timestamp_decoder(epoch: datetime) -> Callable[[tuple[int]], Any]:
    def decode(value: tuple[int], epoch: datetime = epoch, unit: timedelta = _MICROSECOND) -> Any:
        micros = value[0]
        try:
            return epoch + micros * unit
        except OverflowError:
            if micros == _TS_INFINITY or micros == _TS_MINUS_INFINITY:
                return Infinite(micros < 0)
            return Far(micros, "us")

    return decode


def _decode_date(value: tuple[int]) -> Any:
    days = value[0]
    try:
        return _EPOCH_DAY + days * _DAY
    except OverflowError:
        if days == _DATE_INFINITY or days == _DATE_MINUS_INFINITY:
            return Infinite(days < 0)
        return Far(days, "days")


def _timestamp_encoder(epoch: datetime) -> Callable[[Any], tuple[int]]:
    def encode(value: Any) -> tuple[int]:
        if isinstance(value, Infinite):
            return (_TS_MINUS_INFINITY if value.negative else _TS_INFINITY,)
        if isinstance(value, Far):
            return (value.since_2000,)
        if epoch.tzinfo is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # as UTCDateTime stores it; never written by echelon-seed
        elif epoch.tzinfo is None and value.tzinfo is not None:
            raise ValueError(f"{value.isoformat()} has a time zone; the column holds times without one")
        return ((value - epoch) // _MICROSECOND,)

    return encode


def _encode_date(value: Any) -> tuple[int]:
    if isinstance(value, Infinite):
        return (_DATE_MINUS_INFINITY if value.negative else _DATE_INFINITY,)
    if isinstance(value, Far):
        return (value.since_2000,)
    return ((value - _EPOCH_DAY).days,)


def decoders() -> dict[str, tuple[Callable[[Any], tuple[int]], Callable[[tuple[int]], Any]]]:
    """PostgreSQL type name -> (encoder, decoder), for asyncpg's `set_type_codec(format="tuple")`."""
    return {
        "timestamptz": (_timestamp_encoder(_EPOCH_UTC), _timestamp_decoder(_EPOCH_UTC)),
        "timestamp": (_timestamp_encoder(_EPOCH_NAIVE), _timestamp_decoder(_EPOCH_NAIVE)),
        "date": (_encode_date, _decode_date),
    }
