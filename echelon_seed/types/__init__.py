"""Column types: one module per family, each owning all of a type's rules.

A family (`_family.Family`) says, for its columns: the fixture form and its
validation, the canonical kind a snapshot writes, how each engine stores it
(binds, and the text PostgreSQL's COPY reads), how a snapshot reads it, and
on which engines it exists. `FAMILIES` is the registry, and the rows of the
documentation's type table (`docs/column-types.md`, kept in step by a test).
This package and `engines` are the only modules allowed to name an engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID as _UUID

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from . import arrays, binary, json, network, numbers, other, ranges, text, time, uuids
from ._family import BOTH, POSTGRESQL, Binder, Family, Invalid, LongNumber, NotFinite
from ._kind import KIND_NAMES, Converter, JSONValue, Kind, label
from ._sql import CellSql
from .numbers import Money, quantize
from .text import XML
from .time import SQLITE_TIMESTAMP_FORMAT, UTCDateTime, is_fixed_moment, is_moment

__all__ = [
    "BOTH",
    "FAMILIES",
    "KIND_NAMES",
    "POSTGRESQL",
    "SQLITE_TIMESTAMP_FORMAT",
    "XML",
    "Binder",
    "CellSql",
    "Converter",
    "Family",
    "Invalid",
    "JSONValue",
    "Kind",
    "LongNumber",
    "Money",
    "NotFinite",
    "UTCDateTime",
    "bind_processor",
    "canonical_sql",
    "copy_cell",
    "copy_row",
    "copy_text",
    "engines_of",
    "family_of",
    "fixture_value",
    "is_fixed_moment",
    "is_moment",
    "kind_of",
    "label",
    "missing_on",
    "quantize",
    "read_of",
    "text_copy",
]

#: Every family, in the order a column type is matched (the first that matches owns it).
FAMILIES: tuple[Family, ...] = (
    numbers.MONEY,
    time.MOMENT,
    arrays.ARRAYS,
    time.INTERVAL,
    other.DOMAINS,
    numbers.BOOLEAN,
    numbers.FLOAT,
    numbers.NUMERIC,
    numbers.INTEGER,
    json.JSONFAMILY,
    time.NAIVE,
    time.DATE,
    time.TIME,
    binary.BYTES,
    uuids.UUID,
    text.ENUM,
    text.CITEXT,
    text.STRING,
    numbers.PG_MONEY,
    binary.BITS,
    network.INET,
    network.CIDR,
    network.MACADDR,
    text.TSVECTOR,
    ranges.RANGE,
    text.XMLFAMILY,
    other.UNKNOWN,
)

_BY_PYTHON_TYPE: dict[type, Family] = {
    str: text.STRING,
    timedelta: time.INTERVAL,
    bytes: binary.BYTES,
    _UUID: uuids.UUID,
}


def family_of(type_: TypeEngine[Any]) -> Family:
    """The family that owns a column type, declared or reflected."""
    for family in FAMILIES[:-1]:
        if family.matches(type_):
            return family
    # A project's own decorator: its storage type decides (ours matched above).
    if isinstance(type_, TypeDecorator):
        return family_of(type_.impl_instance)
    # Dialect types outside the generic tree still say what Python type they return.
    try:
        python_type = type_.python_type
    except NotImplementedError:
        return other.UNKNOWN
    return _BY_PYTHON_TYPE.get(python_type, other.UNKNOWN)


def _owner(type_: TypeEngine[Any]) -> tuple[Family, TypeEngine[Any]]:
    """The family and the type it reads: a decorator unwrapped to what its family owns."""
    family = family_of(type_)
    while isinstance(type_, TypeDecorator) and not family.matches(type_):
        type_ = type_.impl_instance
    return family, type_


def kind_of(type_: TypeEngine[Any]) -> Kind:
    """The canonical kind of a column type."""
    family, owned = _owner(type_)
    return family.kind(owned)


def fixture_value(type_: TypeEngine[Any], value: Any) -> Any:
    """A fixture's non-null JSON value as the typed Python value the column takes; raises Invalid."""
    family, owned = _owner(type_)
    return family.fixture(owned, value)


def engines_of(type_: TypeEngine[Any]) -> tuple[str, ...]:
    """The engines on which a column of this type can exist (arrays and domains: their own rule)."""
    family, owned = _owner(type_)
    if family is arrays.ARRAYS or family is other.DOMAINS:
        return POSTGRESQL
    if "sqlite" in family.engines and not _renders_on_sqlite(type_):
        return POSTGRESQL  # a PostgreSQL spelling of a common type (JSONB, UUID, BYTEA...)
    return family.engines


def _renders_on_sqlite(type_: TypeEngine[Any]) -> bool:
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.exc import CompileError, UnsupportedCompilationError

    try:
        type_.compile(dialect=sqlite.dialect())
    except (CompileError, UnsupportedCompilationError, NotImplementedError):
        return False
    return True


def read_of(type_: TypeEngine[Any]) -> str | None:
    """How PostgreSQL's column is read: None (the driver's value), "text" or "numeric" (see `Family`)."""
    family, owned = _owner(type_)
    return family.read(owned)


def canonical_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    """The SQL that writes a column's canonical text on `engine` (see `_sql`), or None: Python writes it."""
    family, owned = _owner(type_)
    return family.sql(owned, engine, anchor)


def text_copy(type_: TypeEngine[Any]) -> bool:
    """Whether the driver has no binary form for it, so its table is written with a text COPY."""
    family, owned = _owner(type_)
    if family is arrays.ARRAYS:
        return text_copy(owned.item_type)  # type: ignore[attr-defined]
    if family is other.DOMAINS:
        return text_copy(other.base_of(owned))
    return family.text_copy


def copy_text(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    """The PostgreSQL text input form of the column's typed values (COPY text, export-sql)."""
    family, owned = _owner(type_)
    return family.copy_text(owned)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def copy_cell(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    """One typed value as a field of COPY text: escaped, NULL as \\N."""
    text = copy_text(type_)
    return lambda value: "\\N" if value is None else text(value).translate(_COPY_ESCAPES)


def copy_row(table: Table) -> Callable[[Sequence[Any]], str]:
    """A typed row as one line of COPY text (without its newline): what apply and export-sql both write."""
    cells = [copy_cell(c.type) for c in table.columns]
    return lambda row: "\t".join(cell(v) for cell, v in zip(cells, row, strict=True))


def bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Binder | None:
    """Typed value to driver value on `dialect` (SQLAlchemy's own unless the family knows better)."""
    family, owned = _owner(type_)
    if owned is not type_:  # a project's decorator: its own processing, then its storage type's
        return type_.dialect_impl(dialect).bind_processor(dialect)
    return family.bind(owned, dialect)


def describe(type_: TypeEngine[Any]) -> str:
    """A type as a person reads it in a message: its SQL name on PostgreSQL where it has one."""
    from sqlalchemy.dialects import postgresql

    try:
        return str(type_.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    except Exception:  # noqa: BLE001 - any type that cannot render names itself by class
        return type(type_).__name__


def missing_on(engine: str, tables: Sequence[Table]) -> list[str]:
    """`table.column (TYPE)` for each column whose type does not exist on `engine` (one per column)."""
    found = []
    for table in tables:
        for column in table.columns:
            if engine not in engines_of(column.type):
                found.append(f"{table.name}.{column.name} ({describe(column.type)})")
    return found
