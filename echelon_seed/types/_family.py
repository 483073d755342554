"""What every column-type family provides, and the small pieces they share.

A family is one row of the documentation's type table (`docs/column-types.md`):
the fixture form and its validation, the canonical kind, how PostgreSQL's
COPY text and a snapshot read it, and on which engines the type exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from ._kind import Kind
from ._sql import CellSql

__all__ = [
    "BOTH",
    "POSTGRESQL",
    "Family",
    "Invalid",
    "LongNumber",
    "NotFinite",
    "check_text",
    "plain_text",
    "short",
]

Binder: TypeAlias = Callable[[Any], Any]
#: A family's canonical text in SQL: (type, engine name, anchor) to the cell's SQL, or None (Python writes it).
CellSqlRule: TypeAlias = Callable[[TypeEngine[Any], str, datetime | None], CellSql | None]

#: Engines a family's type exists on.
BOTH = ("sqlite", "postgresql")
POSTGRESQL = ("postgresql",)


class Invalid(ValueError):
    """A fixture value that does not fit its column; the message says why."""


class NotFinite:
    """NaN or Infinity in a fixture: kept as a marker so the problem is located to its cell."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


class LongNumber:
    """An integer literal too long for any column, kept as its digit count so the cell is still located."""

    def __init__(self, text: str) -> None:
        self.digits = len(text.lstrip("-"))

    def __repr__(self) -> str:
        return f"a {self.digits}-digit number"


def short(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:30]}… ({len(text):,} characters)"


def check_text(value: str, what: str) -> None:
    """Refuse what PostgreSQL cannot store and UTF-8 cannot encode: NUL and lone surrogates."""
    if "\x00" in value:
        raise Invalid(f"{what} may not contain a NUL character (PostgreSQL rejects it)")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise Invalid(
                f"{what} holds a lone surrogate ({value[exc.start]!r} at character {exc.start + 1}), "
                "which is not a character and has no UTF-8 form"
            ) from None


def plain_text(example: str, what: str) -> Callable[[TypeEngine[Any], Any], Any]:
    """A fixture form that is a string PostgreSQL parses itself (checked for NUL and surrogates only)."""

    def fixture(type_: TypeEngine[Any], value: Any) -> Any:
        if not isinstance(value, str):
            raise Invalid(f'expected {what} as a string such as "{example}", got {value!r}')
        check_text(value, what)
        return value

    return fixture


def _no_bind(type_: TypeEngine[Any], dialect: Dialect) -> Binder | None:
    return type_.dialect_impl(dialect).bind_processor(dialect)


@dataclass(frozen=True)
class Family:
    """One column-type family: everything echelon-seed knows about its columns, in one place.

    `read` says how a snapshot or an export reads the column on PostgreSQL:
    None as the driver decodes it, "text" as the server's own text output,
    "numeric" through numeric first (money, whose text carries a currency
    sign). `text_copy` says the driver has no binary form for it, so a
    table holding one is written with a text COPY, in `copy_text`'s form
    (the form export-sql writes too). `sql` gives, per engine, the SQL that
    makes the canonical text of a cell in the database (`_sql.CellSql`), for
    the values the engine prints exactly as `canonical` does; None leaves the
    column to Python.
    """

    name: str
    #: The SQLAlchemy / PostgreSQL type names this row covers, as the documentation lists them.
    covers: tuple[str, ...]
    matches: Callable[[TypeEngine[Any]], bool]
    kind: Callable[[TypeEngine[Any]], Kind]
    fixture: Callable[[TypeEngine[Any], Any], Any]
    copy_text: Callable[[TypeEngine[Any]], Callable[[Any], str]]
    engines: tuple[str, ...] = BOTH
    read: Callable[[TypeEngine[Any]], str | None] = field(default=lambda t: None)
    text_copy: bool = False
    bind: Callable[[TypeEngine[Any], Dialect], Binder | None] = field(default=_no_bind)
    sql: CellSqlRule = field(default=lambda t, engine, anchor: None)
