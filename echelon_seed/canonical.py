"""Turn values read from a database into canonical, engine-neutral JSON text.

SQLite and PostgreSQL hand back the same data in different Python shapes: 0/1
or False/True, float or Decimal, naive text or aware datetimes, JSON with keys
in any order. A snapshot must not care, so every value is canonicalised by its
COLUMN TYPE (a `Kind`, from `kind_of`), never by the Python type it happens to
arrive as. The rules, decided once:

- NULL is `null`, always written out.
- int: a JSON integer (a bool from an integer column counts as 0/1).
- decimal: a JSON *string*, so no reader can turn it into a float. With a known
  scale, exactly that many places ("10.50"), rounding half away from zero as
  PostgreSQL does when it stores into NUMERIC(p, s); with an unknown scale,
  the shortest plain form ("10.5", "1000", never an exponent). Negative zero
  is "0". Arithmetic runs in an exact context, so 18+ digits survive; a float
  arriving here goes through `repr`, never `Decimal(float)`. Non-finite values
  become "NaN", "Infinity" and "-Infinity".
- float: a JSON number printed by `repr` (the shortest text that round-trips);
  -0.0 is 0.0; NaN and infinities become the strings "NaN", "Infinity" and
  "-Infinity" (JSON has no such numbers).
- bool: true/false; 0/1 and "t"/"f"/"true"/"false"/"1"/"0" are accepted.
- text: the str byte for byte (str subclasses become plain str); anything
  that is not a str is refused, as a text column holding a number or bytes
  is a difference between engines, not a spelling of the same value.
- json: the decoded document. A str is JSON *text* and is parsed (so a bare
  JSON string document must reach us encoded, e.g. '"abc"'). Numbers are
  normalised because jsonb rewrites 1e2 as 100 while JSON text keeps 1e2: an
  integral number below 2**53 in magnitude becomes an int, other numbers stay
  floats. Key order is left to `dumps`, which sorts keys.
- timestamp (aware): with an anchor, `clock.describe` of the moment ("now-4h"),
  so snapshots do not depend on the seeding day; without one, UTC text with six
  fractional digits and a Z ("2026-11-24T20:37:49.000000Z"). Naive values are
  taken as UTC (SQLite text); str values are parsed as ISO 8601.
- naive_timestamp: "YYYY-MM-DDTHH:MM:SS.ffffff", never shifted; an aware value
  is refused. date: "YYYY-MM-DD". time: "HH:MM:SS.ffffff", plus "+HH:MM" when
  the value carries an offset.
- PostgreSQL's infinite timestamps and dates are "infinity" and "-infinity"
  (never a relative time, never a date, so never equal to 9999-12-31); a year
  outside 1..9999 (BC dates, year 12345) is written like any other value of
  its kind, with an ISO 8601 expanded year where the text is absolute
  ("-0043-03-15", astronomical numbering: 1 BC is year 0) and as an offset
  from the anchor where it is relative (`moments`).
- bytes: "\\x" followed by lowercase hex, PostgreSQL's bytea text form.
- uuid: lowercase, hyphenated.
- interval: "[-]P{days}DT{seconds}.{micro:06d}S" over the absolute duration,
  e.g. "P1DT7200.000005S" and "-P0DT3600.000000S": one exact form per duration.
- array: a list of the element kind's values, nested for more dimensions, with
  NULL elements kept.
- other: `str(value)`.

A cell whose stored value does not fit its column's kind (SQLite lets any
value into any column) is an error naming the table, row and column; in a
foreign database, read leniently, it is written as it is stored, and a BLOB
there is tagged, `{"blob":"\\x6869"}`, so that it can never read as the text
"\\x6869" (`_stored`).

`RowEncoder` applies these to whole rows: one converter per column, chosen once,
so the per-value cost on a million rows is a type check, not a dispatch.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, TypeAlias
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Interval,
    LargeBinary,
    Numeric,
    String,
    Table,
    Time,
    Uuid,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from . import clock
from .moments import Far, Infinite, far_date_text, far_timestamp_text
from .types import Money, UTCDateTime

__all__ = ["KIND_NAMES", "JSONValue", "Kind", "RowEncoder", "canonical_value", "dumps", "kind_of", "label"]

JSONValue: TypeAlias = "None | bool | int | float | str | list[JSONValue] | dict[str, JSONValue]"
Converter: TypeAlias = Callable[[Any], JSONValue]

#: Every kind name `Kind` accepts.
KIND_NAMES = frozenset(
    "int decimal float bool text json timestamp naive_timestamp date time bytes uuid interval array other".split()
)


@dataclass(frozen=True, slots=True)
class Kind:
    """How one column canonicalises: a kind name, a decimal scale, an array element kind."""

    name: str
    scale: int | None = None
    item: Kind | None = None

    def __post_init__(self) -> None:
        # A typo here would silently fall through to "other" otherwise.
        if self.name not in KIND_NAMES:
            raise ValueError(f"unknown kind {self.name!r}; known: {', '.join(sorted(KIND_NAMES))}")
        if self.scale is not None and self.name != "decimal":
            raise ValueError(f"kind {self.name!r} takes no scale (got {self.scale})")
        if (self.item is not None) != (self.name == "array"):
            raise ValueError("an 'array' kind needs an item kind, and only an array may have one")


def label(kind: Kind) -> str:
    """The kind as the snapshot header spells it: "int", "decimal(2)", "array(text)"."""
    if kind.name == "decimal" and kind.scale is not None:
        return f"decimal({kind.scale})"
    if kind.item is not None:
        return f"array({label(kind.item)})"
    return kind.name


# ---------------------------------------------------------------------------
# Column type -> Kind


def kind_of(type_: TypeEngine[Any]) -> Kind:
    """Return the kind for a SQLAlchemy column type, declared or reflected."""
    # Our own decorators first: their impl (String on SQLite) is a storage detail.
    if isinstance(type_, Money):
        return Kind("decimal", scale=type_.scale)
    if isinstance(type_, UTCDateTime):
        return Kind("timestamp")
    if isinstance(type_, ARRAY):
        return Kind("array", item=kind_of(type_.item_type))
    # Interval is itself a TypeDecorator (over DateTime): test it before unwrapping.
    if isinstance(type_, Interval):
        return Kind("interval")
    if isinstance(type_, TypeDecorator):
        return kind_of(type_.impl_instance)
    if isinstance(type_, Boolean):
        return Kind("bool")
    # Float before Numeric: Float subclassed Numeric in older SQLAlchemy releases.
    if isinstance(type_, Float):
        return Kind("float")
    if isinstance(type_, Numeric):
        return Kind("decimal", scale=type_.scale) if type_.asdecimal else Kind("float")
    if isinstance(type_, Integer):
        return Kind("int")
    if isinstance(type_, JSON):
        return Kind("json")
    if isinstance(type_, DateTime):
        return Kind("timestamp") if type_.timezone else Kind("naive_timestamp")
    if isinstance(type_, Date):
        return Kind("date")
    if isinstance(type_, Time):
        return Kind("time")
    if isinstance(type_, LargeBinary):
        return Kind("bytes")
    if isinstance(type_, Uuid):
        return Kind("uuid")
    if isinstance(type_, String):  # Enum, Text, VARCHAR, CITEXT, ...
        return Kind("text")
    # Dialect types outside the generic tree (PostgreSQL INTERVAL, ...) still
    # say what Python type they return.
    try:
        python_type = type_.python_type
    except NotImplementedError:
        return Kind("other")
    return _BY_PYTHON_TYPE.get(python_type, Kind("other"))


_BY_PYTHON_TYPE: dict[type, Kind] = {
    str: Kind("text"),
    timedelta: Kind("interval"),
    bytes: Kind("bytes"),
    UUID: Kind("uuid"),
}


# ---------------------------------------------------------------------------
# Converters: one per kind, each taking any value the column may return.

#: Enough precision and exponent range that no quantize ever rounds by accident.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, rounding=ROUND_HALF_UP, traps=[InvalidOperation])
_FLOAT_MAX = 1.7976931348623157e308
_SAFE_INT = 2**53
_TRUE = frozenset({"t", "true", "1"})
_FALSE = frozenset({"f", "false", "0"})


def _refuse(kind: str, value: object) -> ValueError:
    return ValueError(f"{type(value).__name__} value {value!r} does not fit a {kind} column")


def _to_int(value: Any) -> JSONValue:
    if value is None or type(value) is int:
        return value
    if isinstance(value, int):  # bool and other int subclasses
        return int(value)
    if isinstance(value, (float, Decimal)) and math.isfinite(value) and value == int(value):
        return int(value)
    raise _refuse("int", value)


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # repr gives the shortest decimal that round-trips; Decimal(float) would
        # expose the binary expansion (0.1 -> 0.1000000000000000055...).
        return Decimal(repr(value))
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            return Decimal(value)
        except InvalidOperation:
            pass
    raise _refuse("decimal", value)


def _non_finite(number: Decimal) -> str:
    # The same spellings as non-finite floats; NaN has no sign worth keeping.
    if number.is_nan():
        return "NaN"
    return "-Infinity" if number.is_signed() else "Infinity"


@lru_cache(maxsize=64)
def _decimal_ready(scale: int) -> tuple[Callable[[str], object], str]:
    """(test, negative zero) for text already canonical at `scale`.

    Text in canonical form at this scale (what PostgreSQL's numeric and our SQLite
    money text give) passes as it is, unless it is the negative zero; anything
    else goes through quantize.
    """
    ready = re.compile(r"-?(?:0|[1-9][0-9]*)" + (rf"\.[0-9]{{{scale}}}" if scale else "")).fullmatch
    return ready, "-" + format(Decimal(0).quantize(Decimal(1).scaleb(-scale)), "f")


def _decimal_converter(scale: int | None) -> Converter:
    if scale is None:

        def convert(value: Any) -> JSONValue:
            if value is None:
                return None
            number = _to_decimal(value)
            if not number.is_finite():
                return _non_finite(number)
            if not number:
                return "0"
            text = format(number, "f")
            return text.rstrip("0").rstrip(".") if "." in text else text

        return convert

    step = Decimal(1).scaleb(-scale)
    ready, zero = _decimal_ready(scale)

    def convert_scaled(value: Any) -> JSONValue:
        if value is None:
            return None
        kind = type(value)
        if kind is str or kind is Decimal:
            text = value if kind is str else str(value)
            if ready(text) and text != zero:
                return text
        number = value if type(value) is Decimal else _to_decimal(value)
        if not number.is_finite():
            return _non_finite(number)
        exact = number.quantize(step, context=_EXACT)
        if not exact:  # PostgreSQL NUMERIC has no negative zero.
            exact = exact.copy_abs()
        return format(exact, "f")

    return convert_scaled


def _to_float(value: Any) -> JSONValue:
    if value is None:
        return None
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
            raise _refuse("float", value)
        try:
            value = float(value)
        except (ValueError, OverflowError):
            raise _refuse("float", value) from None
    if value != value:
        return "NaN"
    if value > _FLOAT_MAX:
        return "Infinity"
    if value < -_FLOAT_MAX:
        return "-Infinity"
    return value if value else 0.0  # folds -0.0 into 0.0


def _to_bool(value: Any) -> JSONValue:
    if value is None or value is True or value is False:
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise _refuse("bool", value)


def _to_text(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, str):
        # str.__str__ on a subclass (asyncpg enum labels, ...) copies out a plain str.
        return str.__str__(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raise ValueError(
            f"a BLOB ({len(value):,} bytes, \\x{bytes(value[:16]).hex()}{'…' if len(value) > 16 else ''}) is stored in this text column "
            "(SQLite keeps any value in any column; PostgreSQL would refuse it); store it as text"
        )
    raise _refuse("text", value)


def _reject_constant(name: str) -> None:
    raise ValueError(f"JSON document holds {name}, which JSON (and jsonb) does not allow")


def _json_number(value: float | Decimal) -> int | float:
    if not math.isfinite(value):
        raise ValueError(f"JSON document holds {value}, which JSON (and jsonb) does not allow")
    if -_SAFE_INT < value < _SAFE_INT and value == int(value):
        return int(value)
    return float(value)


def _normalise_json(doc: Any) -> JSONValue:
    kind = type(doc)
    if doc is None or kind is str or kind is bool or kind is int:
        return doc  # type: ignore[no-any-return]
    if kind is float or isinstance(doc, Decimal):
        return _json_number(doc)
    if isinstance(doc, dict):
        out: dict[str, JSONValue] = {}
        for key, item in doc.items():
            if not isinstance(key, str):
                raise ValueError(f"JSON object key {key!r} is not a string")
            out[str.__str__(key)] = _normalise_json(item)
        return out
    if isinstance(doc, (list, tuple)):
        return [_normalise_json(item) for item in doc]
    if isinstance(doc, str):
        return str.__str__(doc)
    if isinstance(doc, bool):
        return bool(doc)
    if isinstance(doc, int):
        return int(doc)
    if isinstance(doc, float):
        return _json_number(float(doc))
    raise _refuse("json", doc)


def _to_json(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, (str, bytes, bytearray)):
        value = json.loads(value, parse_constant=_reject_constant)
    return _normalise_json(value)


def _utc_text(moment: datetime) -> str:
    # isoformat pads the year to four digits; strftime("%Y") does not everywhere.
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_EPOCH_UTC = datetime(2000, 1, 1, tzinfo=UTC)


def _far_utc_text(value: Far) -> str:
    return far_timestamp_text(value.since_2000) + "Z"


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise _refuse("timestamp", value)
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)  # SQLite keeps UTC as naive text
    # Also what makes offsets from the anchor real time: two datetimes sharing
    # one tzinfo subtract as wall clocks, which is wrong across a DST change.
    return value.astimezone(UTC)


def _timestamp_converter(anchor: datetime | None) -> Converter:
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

    def relative(value: Any) -> JSONValue:
        kind = type(value)
        if kind is datetime and value.tzinfo is UTC:  # what asyncpg returns for timestamptz
            return describe(value, utc_anchor)
        if kind is str and len(value) == 26:  # SQLite's fixed-width UTC text (types.UTCDateTime)
            moment = parse(value)
            if moment.tzinfo is None:
                return describe_offset(moment - naive_anchor)
        if isinstance(value, Infinite):
            return str(value)
        if isinstance(value, Far):  # a timedelta spans every year PostgreSQL has
            return describe_offset(value.offset() + (_EPOCH_UTC - utc_anchor))
        return None if value is None else describe(_as_utc(value), utc_anchor)

    return relative


def _to_naive_timestamp(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, Infinite):
        return str(value)
    if isinstance(value, Far):
        return far_timestamp_text(value.since_2000)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value.tzinfo is not None:
        raise _refuse("naive timestamp", value)
    return value.isoformat(timespec="microseconds")


def _to_date(value: Any) -> JSONValue:
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
        raise _refuse("date", value)
    return value.isoformat()


def _to_time(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, str):
        value = time.fromisoformat(value)
    if not isinstance(value, time):
        raise _refuse("time", value)
    return value.isoformat(timespec="microseconds")


def _to_bytes(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    raise _refuse("bytes", value)


def _to_uuid(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, str):
        return str(UUID(value))
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return str(UUID(bytes=bytes(value)))
    raise _refuse("uuid", value)


def _to_interval(value: Any) -> JSONValue:
    if value is None:
        return None
    if not isinstance(value, timedelta):
        raise _refuse("interval", value)
    sign = "-" if value < timedelta(0) else ""
    span = abs(value)
    return f"{sign}P{span.days}DT{span.seconds}.{span.microseconds:06d}S"


def _array_converter(item: Kind, anchor: datetime | None) -> Converter:
    element = _converter(item, anchor)
    # Nested lists are further dimensions, unless the elements are JSON documents.
    nested = item.name != "json"

    def convert(value: Any) -> JSONValue:
        if value is None:
            return None
        if not isinstance(value, (list, tuple)):
            raise _refuse("array", value)
        return [convert(v) if nested and isinstance(v, (list, tuple)) else element(v) for v in value]

    return convert


def _to_other(value: Any) -> JSONValue:
    return None if value is None else str(value)


_SIMPLE: dict[str, Converter] = {
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "text": _to_text,
    "json": _to_json,
    "naive_timestamp": _to_naive_timestamp,
    "date": _to_date,
    "time": _to_time,
    "bytes": _to_bytes,
    "uuid": _to_uuid,
    "interval": _to_interval,
    "other": _to_other,
}


@lru_cache(maxsize=256)
def _converter(kind: Kind, anchor: datetime | None) -> Converter:
    """Return the one function that canonicalises values of `kind`."""
    if kind.name == "decimal":
        return _decimal_converter(kind.scale)
    if kind.name == "timestamp":
        return _timestamp_converter(anchor)
    if kind.name == "array":
        assert kind.item is not None  # enforced by Kind
        return _array_converter(kind.item, anchor)
    return _SIMPLE[kind.name]


def canonical_value(kind: Kind, value: object, anchor: datetime | None = None) -> JSONValue:
    """Return `value`, read from a column of `kind`, in its canonical JSON-able form."""
    return _converter(kind, anchor)(value)


_DUMPER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps(obj: JSONValue) -> str:
    """Return the canonical JSON text of `obj`: sorted keys, no spaces, raw unicode."""
    # Same output as json.dumps with these options, without building an encoder per call.
    return _DUMPER.encode(obj)


# ---------------------------------------------------------------------------
# Rows: the canonical line is written piece by piece, column by column, and
# must equal dumps([table, {column: canonical_value}]) byte for byte (tested).

_quote = json.encoder.encode_basestring  # json's own string encoder (C), as dumps uses
_BOOL_TEXT = {True: "true", False: "false"}
Emitter: TypeAlias = Callable[[Any], str]


def _generic_emitter(convert: Converter) -> Emitter:
    return lambda value: _DUMPER.encode(convert(value))


def _ascii_string_emitter(convert: Converter) -> Emitter:
    # Decimal and timestamp text is digits, signs, letters and punctuation that
    # JSON never escapes, so quoting by hand gives the encoder's output.
    return lambda value: '"' + convert(value) + '"'  # type: ignore[operator]


def _emit_float(value: Any) -> str:
    if type(value) is float and -_FLOAT_MAX <= value <= _FLOAT_MAX and value:  # finite, nonzero: as is
        return float.__repr__(value)
    number = _to_float(value)
    return float.__repr__(number) if type(number) is float else '"' + str(number) + '"'


def _emitter(kind: Kind, anchor: datetime | None) -> tuple[type, Emitter, Emitter]:
    """Return (fast type, fast emitter, general emitter) for one column; None is handled by the caller."""
    convert = _converter(kind, anchor)
    general = _generic_emitter(convert)
    if kind.name == "text":
        return str, _quote, general
    if kind.name == "int":
        return int, int.__repr__, general
    if kind.name == "bool":
        return bool, _BOOL_TEXT.__getitem__, general
    if kind.name == "float":
        return _Never, _emit_float, _emit_float
    if kind.name in ("decimal", "timestamp"):
        quoted = _ascii_string_emitter(convert)
        return _Never, quoted, quoted
    return _Never, general, general


class _Never:
    """A type no value has: marks columns with no conversion-free fast path."""


class _Cell:
    """How one column's cells become JSON text: a general emitter and, for the row compiler, inline code."""

    __slots__ = ("convert", "emit", "fast", "fast_type", "kind", "lenient")

    def __init__(self, kind: Kind, anchor: datetime | None, *, lenient: bool) -> None:
        self.kind = kind
        self.lenient = lenient
        self.convert = _converter(kind, anchor)
        self.fast_type, self.fast, self.emit = _emitter(kind, anchor)
        if lenient:
            self.fast, self.emit = _lenient(self.fast), _lenient(self.emit)

    def code(self, v: str, n: str) -> tuple[str, dict[str, Any]]:
        """A Python expression for the JSON text of the cell in local `v`, and the helpers it names (suffixed `n`).

        Each fast path gives exactly what `emit` would, for the values it takes
        (tested against `dumps` of `canonical_value`); any other value goes to
        `emit`, which converts it or raises. NULL is always `null`.
        """
        name = self.kind.name
        if self.lenient:
            return (
                f"(NULL if {v} is None else F{n}({v}) if type({v}) is T{n} else E{n}({v}))",
                {f"F{n}": self.fast, f"T{n}": self.fast_type, f"E{n}": self.emit},
            )
        if name == "text":
            return f"(Q{n}({v}) if type({v}) is str else NULL if {v} is None else E{n}({v}))", {
                f"Q{n}": _quote,
                f"E{n}": self.emit,
            }
        if name == "int":  # an exact int formats as its repr
            return f"({v} if type({v}) is int else NULL if {v} is None else E{n}({v}))", {f"E{n}": self.emit}
        if name == "bool":
            # SQLite hands back 0 and 1: CPython keeps one object per small int, and anything
            # not identical to these (or to True/False) still takes `emit`, which decides.
            return (
                f"(TRUE if {v} is True or {v} is ONE else FALSE if {v} is False or {v} is ZERO "
                f"else NULL if {v} is None else E{n}({v}))",
                {"TRUE": "true", "FALSE": "false", "ONE": 1, "ZERO": 0, f"E{n}": self.emit},
            )
        if name == "float":  # finite and nonzero: as is
            return (
                f"(FR({v}) if type({v}) is float and NMAX <= {v} <= MAX and {v} else NULL if {v} is None else E{n}({v}))",
                {"FR": float.__repr__, "MAX": _FLOAT_MAX, "NMAX": -_FLOAT_MAX, f"E{n}": self.emit},
            )
        if name == "decimal" and self.kind.scale is not None:
            ready, zero = _decimal_ready(self.kind.scale)
            return (
                f"(DQ + {v} + DQ if type({v}) is str and R{n}({v}) and {v} != Z{n} else NULL if {v} is None "
                f"else DQ + C{n}({v}) + DQ)",
                {f"R{n}": ready, f"Z{n}": zero, f"C{n}": self.convert},
            )
        if name in ("decimal", "timestamp"):  # ASCII text JSON never escapes: quoted by hand
            return f"(NULL if {v} is None else DQ + C{n}({v}) + DQ)", {f"C{n}": self.convert}
        return f"(NULL if {v} is None else E{n}({v}))", {f"E{n}": self.emit}


def _stored(value: Any) -> JSONValue:
    """A value as its storage class says, for cells whose declared type does not fit them."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return _to_float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        # Tagged: as a plain string it would be the same line as text that spells its hex.
        return {"blob": _to_bytes(value)}
    return str(value)


def _lenient(emit: Emitter) -> Emitter:
    # SQLite lets any value into any column; a foreign database is shown as it is
    # stored rather than refused. The Echelon tables never take this path.
    def emit_or_store(value: Any) -> str:
        try:
            return emit(value)
        except (ValueError, TypeError, OverflowError):
            return _DUMPER.encode(_stored(value))

    return emit_or_store


class RowEncoder:
    """Encode rows of one table as canonical lines: `["table",{"col":value,...}]`."""

    __slots__ = ("_checks", "_key_columns", "columns", "encode", "table")

    def __init__(
        self,
        table: str,
        columns: Sequence[tuple[str, Kind]],
        anchor: datetime | None = None,
        key: Sequence[int] = (),
        *,
        lenient: bool = False,
        loose: frozenset[str] = frozenset(),
    ) -> None:
        names = [name for name, _ in columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {table!r} lists a column twice: {names}")
        for index in key:
            if not 0 <= index < len(columns):
                raise ValueError(f"table {table!r}: key column index {index} is outside 0..{len(columns) - 1}")
        self.table = table
        self.columns = tuple(columns)
        # Columns are written in sorted-name order (what sort_keys gives).
        order = sorted(range(len(columns)), key=lambda i: names[i])
        # `loose` columns (not in the declared schema) are read as stored, without the anchor.
        cells = []
        checks = []
        for i in order:
            name, kind = columns[i]
            cell = _Cell(kind, None if name in loose else anchor, lenient=lenient or name in loose)
            cells.append(cell)
            checks.append((i, name, cell.emit))
        self._checks = tuple(checks)
        self._key_columns = tuple((index, _converter(columns[index][1], anchor)) for index in key)
        self.encode: Callable[[Sequence[Any]], str] = _compile_encoder(
            table, [names[i] for i in order], order, cells, len(columns)
        )

    @classmethod
    def for_table(cls, table: Table, anchor: datetime | None = None) -> RowEncoder:
        """Build the encoder for a SQLAlchemy table, keyed by its primary key."""
        columns = list(table.columns)
        key = [columns.index(column) for column in table.primary_key.columns]
        return cls(table.name, [(c.name, kind_of(c.type)) for c in columns], anchor, key)

    def locate(self, values: Sequence[Any]) -> tuple[str, str] | None:
        """(column, why) of the first cell `encode` refuses in this row; None when it takes them all.

        Only called once `encode` has failed: the error then names the cell.
        """
        for index, name, emit in self._checks:
            if values[index] is None:
                continue
            try:
                emit(values[index])
            except (ValueError, TypeError, OverflowError) as exc:
                return name, str(exc)
        return None

    def key(self, values: Sequence[Any]) -> tuple[JSONValue, ...]:
        """Return the canonical primary-key values of one row, for matching rows in a diff."""
        return tuple(convert(values[index]) for index, convert in self._key_columns)


def _compile_encoder(
    table: str, names: Sequence[str], order: Sequence[int], cells: Sequence[_Cell], width: int
) -> Callable[[Sequence[Any]], str]:
    """Build `encode(values) -> line` for one table as straight-line code.

    Each row of a million-row snapshot passes through here, so the loop over
    columns is unrolled once per table: the row is unpacked into locals, each
    cell is one inline expression (`_Cell.code`), and the line is one f-string
    built in a single step. The fixed pieces of the line (`_quote`d names) and
    the helpers are bound as keyword-only defaults, so they are fast locals;
    values are never part of the source, and neither are names.
    """
    env: dict[str, Any] = {"WHERE": f"table {table!r}: row has ", "NULL": "null", "DQ": '"'}
    pieces = []
    static = "[" + _quote(table) + ",{"
    for pos, (name, index, cell) in enumerate(zip(names, order, cells, strict=True)):
        static += ("," if pos else "") + _quote(name) + ":"
        env[f"S{pos}"] = static
        code, helpers = cell.code(f"c{index}", str(pos))
        env.update(helpers)
        pieces.append(f"{{S{pos}}}{{{code}}}")
        static = ""
    env["END"] = static + "}]"
    pieces.append("{END}")
    unpack = f"    {''.join(f'c{i}, ' for i in range(width))}= values\n" if width else ""
    defaults = ", ".join(f"{name}={name}" for name in env if name != "WHERE")
    source = (
        f"def make({', '.join(env)}):\n"
        f"  def encode(values, *, {defaults}):\n"
        f"    if len(values) != {width}:\n"
        f"        raise ValueError(WHERE + str(len(values)) + ' values, expected {width}')\n"
        f"{unpack}"
        f"    return f'{''.join(pieces)}'\n"
        "  return encode\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<canonical encoder for {table!r}>", "exec"), namespace)  # noqa: S102
    encode: Callable[[Sequence[Any]], str] = namespace["make"](**env)
    return encode
