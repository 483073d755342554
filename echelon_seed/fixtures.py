"""Fixture files in, typed rows out: `load(dir)` validates everything up front.

`data/` holds one JSON file per table, named after it. A file either lists
its rows (`{"rows": [{...}, ...]}`, every value in the column's JSON form) or
declares a generator (`{"generate": {"generator": ..., "seed": ..., "count":
N}}`) that `generate` expands. Every problem is found before a database is
touched, and each names its file, row and column, so that a bad fixture can
never leave a half-seeded database behind.

Times in fixtures are always relative ("now-4h"): they are kept as offsets
and resolved against the anchor only when rows are produced.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Enum,
    Float,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from . import clock, generate, project
from .errors import ConfigError, FixtureError, FixtureProblem
from .project import Project
from .types import Money, UTCDateTime, quantize

__all__ = ["FixtureSet", "TableFixture", "check", "load"]

_INT_RANGES = {SmallInteger: 2**15, Integer: 2**31, BigInteger: 2**63}


class _Invalid(ValueError):
    """A value that does not fit its column; the message says why."""


@dataclass(frozen=True)
class TableFixture:
    """One table's fixture: literal rows (typed, times as offsets) or a generator spec."""

    table: Table
    path: Path
    rows: tuple[tuple[Any, ...], ...] = ()
    spec: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class FixtureSet:
    """A validated fixture directory: what `apply` seeds and `seed_runs` records."""

    directory: Path
    digest: str
    tables: tuple[TableFixture, ...]

    def table(self, name: str) -> TableFixture | None:
        return next((f for f in self.tables if f.table.name == name), None)

    def _context(self, anchor: datetime) -> dict[str, list[dict[str, Any]]]:
        return {
            f.table.name: [dict(zip(f.table.columns.keys(), row, strict=True)) for row in _resolved(f, anchor)]
            for f in self.tables
            if f.spec is None
        }

    def row_count(self, fixture: TableFixture, *, anchor: datetime, scale: int) -> int:
        if fixture.spec is None:
            return len(fixture.rows)
        return generate.row_count(fixture.table.name, fixture.spec, scale=scale, context=self._context(anchor))

    def rows(self, fixture: TableFixture, *, anchor: datetime, scale: int) -> Iterator[tuple[Any, ...]]:
        """The table's rows as tuples in column order, with times resolved; streamed when generated."""
        if fixture.spec is None:
            return _resolved(fixture, anchor)
        return generate.rows(
            fixture.table.name,
            fixture.spec,
            scale=scale,
            anchor=anchor,
            context=self._context(anchor),
            columns=fixture.table.columns.keys(),
        )


def _is_moment(column: Column[Any]) -> bool:
    """A column of moments (aware timestamps): fixtures give them relative to the anchor."""
    return isinstance(column.type, UTCDateTime) or (isinstance(column.type, DateTime) and column.type.timezone)


def _resolved(fixture: TableFixture, anchor: datetime) -> Iterator[tuple[Any, ...]]:
    times = [i for i, c in enumerate(fixture.table.columns) if _is_moment(c)]
    for row in fixture.rows:
        values = list(row)
        for i in times:
            if values[i] is not None:
                values[i] = anchor + values[i]
        yield tuple(values)


# --- reading -----------------------------------------------------------------------------------------


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers keys given twice (the last one wins, as in jsonb)."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    parsed = _Object(pairs)
    if len(parsed) != len(pairs):
        keys = [k for k, _ in pairs]
        parsed.duplicates = tuple(sorted({k for k in keys if keys.count(k) > 1}))
    return parsed


class _NotFinite:
    """NaN or Infinity in a fixture: kept as a marker so the problem is located to its cell."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def _read_json(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text, object_pairs_hook=_object, parse_float=Decimal, parse_constant=_NotFinite)


# --- converting one value ------------------------------------------------------------------------------


def _convert(column: Column[Any], value: Any) -> Any:
    """Return the typed Python value for `value`, the column's JSON form; raise _Invalid if it does not fit."""
    type_ = column.type
    if isinstance(value, _NotFinite):
        raise _Invalid(f"{value.name} is not a finite number")
    if value is None:
        if not column.nullable:
            raise _Invalid("null in a required column")
        return None
    if isinstance(type_, Money):
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise _Invalid(f'expected money as a decimal string such as "1200.00", got {value!r}')
        try:
            amount = quantize(Decimal(value), type_.scale)
        except (InvalidOperation, ValueError) as exc:
            raise _Invalid(f"{value!r} is not an amount with at most {type_.scale} decimals ({exc})") from None
        if len(amount.as_tuple().digits) > type_.precision:
            raise _Invalid(f"{value!r} has more than {type_.precision} digits")
        return amount
    if _is_moment(column):
        if not isinstance(value, str):
            raise _Invalid(f'expected a relative time such as "now-4h", got {value!r}')
        try:
            return clock.to_offset(value)
        except ValueError as exc:
            raise _Invalid(str(exc)) from None
    if isinstance(type_, Enum):
        if value not in type_.enums:
            raise _Invalid(f"{value!r} is not one of {', '.join(type_.enums)}")
        return value
    if isinstance(type_, Boolean):
        if not isinstance(value, bool):
            raise _Invalid(f"expected true or false, got {value!r}")
        return value
    if isinstance(type_, Float):
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise _Invalid(f"expected a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise _Invalid(f"{value!r} is not a finite number")
        return number
    if isinstance(type_, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"expected a whole number, got {value!r}")
        limit = next(v for k, v in _INT_RANGES.items() if isinstance(type_, k))
        if not -limit <= value < limit:
            raise _Invalid(f"{value} is out of range for {type(type_).__name__}")
        return value
    if isinstance(type_, JSON):
        return _json_document(value)
    if isinstance(type_, String):
        if not isinstance(value, str):
            raise _Invalid(f"expected a string, got {value!r}")
        if "\x00" in value:
            raise _Invalid("text may not contain a NUL character (PostgreSQL rejects it)")
        if type_.length is not None and len(value) > type_.length:
            raise _Invalid(f"{len(value)} characters; the column holds at most {type_.length}")
        return value
    return _convert_more(type_, value)


def _convert_more(type_: Any, value: Any) -> Any:
    """The types beyond the Echelon schema's: naive timestamps, UUIDs, binary, arrays."""
    if isinstance(type_, ARRAY):
        if not isinstance(value, list):
            raise _Invalid(f"expected a JSON array, got {value!r}")
        item = Column("item", type_.item_type, nullable=True)
        try:
            return [_convert(item, v) for v in value]
        except _Invalid as exc:
            raise _Invalid(f"array item: {exc}") from None
    if isinstance(type_, DateTime):  # naive: a wall-clock value, written as it is
        if not isinstance(value, str):
            raise _Invalid(f'expected a date and time such as "2024-05-01T09:30:00", got {value!r}')
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _Invalid(f"{value!r} is not an ISO-8601 date and time") from None
        if moment.tzinfo is not None:
            raise _Invalid(f"{value!r} has a time zone; the column holds times without one")
        return moment
    if isinstance(type_, Uuid):
        if not isinstance(value, str):
            raise _Invalid(f"expected a UUID string, got {value!r}")
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            raise _Invalid(f"{value!r} is not a UUID") from None
        return parsed if type_.as_uuid else str(parsed)
    if isinstance(type_, LargeBinary):
        if not isinstance(value, str):
            raise _Invalid(f"expected base64 text, got {value!r}")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _Invalid(f"{value!r} is not base64") from None
    raise _Invalid(f"unsupported column type {type_!r}; echelon-seed cannot seed this column from fixtures")


def _json_document(value: Any) -> Any:
    """Fixture JSON parsed with Decimal, back to plain JSON values (floats for fractions)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, _NotFinite):
        raise _Invalid(f"{value.name} in a JSON document is not a finite number")
    if isinstance(value, list):
        return [_json_document(v) for v in value]
    if isinstance(value, dict):
        if isinstance(value, _Object) and value.duplicates:
            raise _Invalid(f"duplicate key {value.duplicates[0]!r} in a JSON document")
        return {k: _json_document(v) for k, v in value.items()}
    if isinstance(value, str) and "\x00" in value:
        raise _Invalid("JSON text may not contain a NUL character (PostgreSQL rejects it)")
    return value


# --- loading one file ----------------------------------------------------------------------------------


def _row_label(table: Table, row: Mapping[str, Any]) -> str | None:
    keys = [row.get(c.name) for c in table.primary_key.columns]
    if any(k is None or isinstance(k, dict | list) for k in keys):
        return None
    return ", ".join(str(k) for k in keys)


def _load_file(table: Table, path: Path, shown: str, problems: list[FixtureProblem]) -> TableFixture | None:
    try:
        document = _read_json(path)
    except UnicodeDecodeError as exc:
        problems.append(FixtureProblem(shown, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return None
    except json.JSONDecodeError as exc:
        problems.append(FixtureProblem(shown, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"))
        return None
    if getattr(document, "duplicates", ()):
        problems.append(FixtureProblem(shown, f"duplicate key {document.duplicates[0]!r} at the top level"))
        return None
    if not isinstance(document, dict) or len(document) != 1 or next(iter(document)) not in ("rows", "generate"):
        problems.append(FixtureProblem(shown, 'expected an object with exactly one key, "rows" or "generate"'))
        return None
    if "generate" in document:
        spec = document["generate"]
        if not isinstance(spec, dict):
            problems.append(FixtureProblem(shown, '"generate" must be an object'))
            return None
        spec_problems = generate.validate(table.name, spec)
        problems.extend(FixtureProblem(shown, message) for message in spec_problems)
        return None if spec_problems else TableFixture(table=table, path=path, spec=spec)
    raw_rows = document["rows"]
    if not isinstance(raw_rows, list):
        problems.append(FixtureProblem(shown, '"rows" must be a list of objects'))
        return None
    names = table.columns.keys()
    rows: list[tuple[Any, ...]] = []
    for number, raw in enumerate(raw_rows, start=1):
        if not isinstance(raw, dict):
            problems.append(FixtureProblem(shown, "a row must be a JSON object", row=number))
            continue
        label = _row_label(table, raw)

        def problem(message: str, column: str, number: int = number, label: str | None = label) -> FixtureProblem:
            return FixtureProblem(shown, message, row=number, row_id=label, column=column)

        for name in getattr(raw, "duplicates", ()):
            problems.append(problem("duplicate key in the row object (each column once)", name))
        for name in raw:
            if name not in names:
                problems.append(problem(f"unknown column; known: {', '.join(names)}", name))
        values: list[Any] = []
        for column in table.columns:
            if column.name not in raw and not column.nullable:
                problems.append(problem("missing required value", column.name))
                values.append(None)
                continue
            try:
                values.append(_convert(column, raw.get(column.name)))
            except _Invalid as exc:
                problems.append(problem(str(exc), column.name))
                values.append(None)
        rows.append(tuple(values))
    return TableFixture(table=table, path=path, rows=tuple(rows))


# --- checks across rows and tables ---------------------------------------------------------------------


def _check_unique(fixture: TableFixture, shown: str, problems: list[FixtureProblem]) -> None:
    table = fixture.table
    names = table.columns.keys()
    keys = [tuple(c.name for c in table.primary_key.columns)]
    keys += [tuple(c.name for c in u.columns) for u in table.constraints if isinstance(u, UniqueConstraint)]
    keys += [(c.name,) for c in table.columns if c.unique]
    keys = list(dict.fromkeys(keys))  # a unique column is also listed as a UniqueConstraint
    primary = keys[0]
    keys = [key for key in keys if key]  # a table without a primary key may repeat rows
    for key in keys:
        where = [names.index(k) for k in key]
        first: dict[tuple[Any, ...], int] = {}
        for number, row in enumerate(fixture.rows, start=1):
            value = tuple(row[i] for i in where)
            if any(v is None for v in value):
                continue
            if value in first:
                label = ", ".join(str(v) for v in value)
                what = "primary key" if key == primary else "unique value"
                problems.append(
                    FixtureProblem(
                        shown,
                        f"duplicate {what} {label!r} (first in row {first[value]})",
                        row=number,
                        row_id=_row_label(table, dict(zip(names, row, strict=True))),
                        column=", ".join(key),
                    )
                )
            else:
                first[value] = number


def _check_foreign_keys(
    fixtures: Mapping[str, TableFixture],
    shown: Mapping[str, str],
    problems: list[FixtureProblem],
    *,
    skip: set[str],
) -> None:
    for fixture in fixtures.values():
        table = fixture.table
        names = table.columns.keys()
        for fk in table.foreign_keys:
            if fk.column.table.name in skip:
                continue
            target = fixtures.get(fk.column.table.name)
            known = (
                set() if target is None else {r[target.table.columns.keys().index(fk.column.name)] for r in target.rows}
            )
            where = names.index(fk.parent.name)
            for number, row in enumerate(fixture.rows, start=1):
                value = row[where]
                if value is not None and value not in known:
                    problems.append(
                        FixtureProblem(
                            shown[table.name],
                            f"{value!r} does not exist in {fk.column.table.name}.{fk.column.name}",
                            row=number,
                            row_id=_row_label(table, dict(zip(names, row, strict=True))),
                            column=fk.parent.name,
                        )
                    )


def _digest(files: Sequence[Path]) -> str:
    hasher = hashlib.sha256()
    hasher.update(f"generators={generate.GENERATOR_VERSION}\n".encode())
    for path in files:
        hasher.update(path.name.encode() + b"\x00" + path.read_bytes() + b"\x00")
    return "sha256:" + hasher.hexdigest()


def _collect(directory: Path, owner: Project) -> tuple[FixtureSet | None, list[FixtureProblem]]:
    known = {t.name: t for t in owner.tables}
    if not directory.is_dir():
        raise ConfigError(f"fixture directory {directory} does not exist (--fixtures)")
    problems: list[FixtureProblem] = []
    files = sorted(directory.glob("*.json"))
    by_name: dict[str, TableFixture] = {}
    shown: dict[str, str] = {}
    failed: set[str] = set()
    for path in files:
        name = project.display(path)
        table = known.get(path.stem)
        if table is None:
            problems.append(FixtureProblem(name, f"no seeded table is called {path.stem!r}; known: {', '.join(known)}"))
            continue
        shown[table.name] = name
        fixture = _load_file(table, path, name, problems)
        if fixture is None:
            failed.add(table.name)
        else:
            by_name[table.name] = fixture
            _check_unique(fixture, name, problems)
    if not files:
        problems.append(FixtureProblem(project.display(directory), "no *.json fixture files"))
    # A table whose file could not be read says nothing about which keys exist.
    _check_foreign_keys(by_name, shown, problems, skip=failed)
    if problems:
        # File by file, row by row: the order a person fixes them in.
        problems.sort(key=lambda p: (p.file, p.row or 0))
        return None, problems
    tables = tuple(by_name[t.name] for t in owner.tables if t.name in by_name)
    return FixtureSet(directory=directory, digest=_digest(files), tables=tables), problems


def check(directory: Path, owner: Project | None = None) -> list[FixtureProblem]:
    """Every problem in the fixtures of `directory` for the project's tables; empty when they can be seeded."""
    return _collect(directory, owner or project.echelon())[1]


def load(directory: Path, owner: Project | None = None) -> FixtureSet:
    """Load and validate `directory` for the project's tables; raise FixtureError naming every problem."""
    fixture_set, problems = _collect(directory, owner or project.echelon())
    if fixture_set is None:
        raise FixtureError(problems)
    return fixture_set
