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
  NULL elements kept; aware times inside an array are absolute.
- inet, cidr, macaddr, tsvector, range, xml, bits: PostgreSQL's own text of
  the value (the snapshot reads these columns as text), as it is.
- other: `str(value)` (PostgreSQL's text, for the types read as text).

The converters live with their type families in `echelon_seed.types`; this
module picks one per kind and compiles rows.

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
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeAlias

from sqlalchemy import Table

from .types import KIND_NAMES, Converter, JSONValue, Kind, kind_of, label
from .types.arrays import array_converter
from .types.binary import to_bits, to_bytes
from .types.json import dumps, to_json
from .types.numbers import decimal_converter, decimal_ready, to_bool, to_float, to_int
from .types.text import server_text, to_text
from .types.time import timestamp_converter, to_date, to_interval, to_naive_timestamp, to_time
from .types.uuids import to_uuid

__all__ = [
    "KIND_NAMES",
    "JSONValue",
    "Kind",
    "RowEncoder",
    "canonical_value",
    "cell_text",
    "dumps",
    "json_string",
    "kind_of",
    "label",
]

_FLOAT_MAX = 1.7976931348623157e308


def _to_other(value: Any) -> JSONValue:
    return None if value is None else str(value)


_SIMPLE: dict[str, Converter] = {
    "int": to_int,
    "float": to_float,
    "bool": to_bool,
    "text": to_text,
    "json": to_json,
    "naive_timestamp": to_naive_timestamp,
    "date": to_date,
    "time": to_time,
    "bytes": to_bytes,
    "uuid": to_uuid,
    "interval": to_interval,
    "other": _to_other,
    "bits": to_bits,
    **{name: server_text(name) for name in ("inet", "cidr", "macaddr", "tsvector", "range", "xml")},
}


@lru_cache(maxsize=256)
def _converter(kind: Kind, anchor: datetime | None) -> Converter:
    """Return the one function that canonicalises values of `kind`."""
    if kind.name == "decimal":
        return decimal_converter(kind.scale)
    if kind.name == "timestamp":
        return timestamp_converter(anchor)
    if kind.name == "array":
        assert kind.item is not None  # enforced by Kind
        # Aware times inside an array are absolute: fixtures give them so (`types.arrays`).
        return array_converter(_converter(kind.item, None), nested=kind.item.name != "json")
    return _SIMPLE[kind.name]


def canonical_value(kind: Kind, value: object, anchor: datetime | None = None) -> JSONValue:
    """Return `value`, read from a column of `kind`, in its canonical JSON-able form."""
    return _converter(kind, anchor)(value)


_DUMPER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


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
    number = to_float(value)
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
            ready, zero = decimal_ready(self.kind.scale)
            return (
                f"(DQ + {v} + DQ if type({v}) is str and R{n}({v}) and {v} != Z{n} else NULL if {v} is None "
                f"else DQ + C{n}({v}) + DQ)",
                {f"R{n}": ready, f"Z{n}": zero, f"C{n}": self.convert},
            )
        if name in ("decimal", "timestamp"):  # ASCII text JSON never escapes: quoted by hand
            return f"(NULL if {v} is None else DQ + C{n}({v}) + DQ)", {f"C{n}": self.convert}
        return f"(NULL if {v} is None else E{n}({v}))", {f"E{n}": self.emit}


def cell_text(kind: Kind, anchor: datetime | None, *, lenient: bool = False) -> Emitter:
    """One cell's JSON text as `RowEncoder` writes it (`null` for NULL), for lines assembled elsewhere."""
    emit = _Cell(kind, anchor, lenient=lenient).emit
    return lambda value: "null" if value is None else emit(value)


def json_string(text: str) -> str:
    """`text` as a JSON string, exactly as the canonical lines quote table and column names."""
    return _quote(text)


def _stored(value: Any) -> JSONValue:
    """A value as its storage class says, for cells whose declared type does not fit them."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return to_float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        # Tagged: as a plain string it would be the same line as text that spells its hex.
        return {"blob": to_bytes(value)}
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
