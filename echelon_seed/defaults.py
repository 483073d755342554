"""What a column's default means for a fixture row that leaves the column out.

The application's schema already says what a row without a value gets; a
fixture may rely on it only where the answer is the same on every run and on
both engines. So a default is filled in here, in Python, before anything is
written, rather than left to the database (whose `DEFAULT` a bulk COPY does
not apply anyway):

- a literal server default (`server_default="active"`, `text("0")`,
  PostgreSQL's reflected `'active'::character varying`): its value;
- a scalar Python default (`default=0`): its value;
- an autoincrement integer key (SQLAlchemy's, SERIAL, IDENTITY, SQLite's
  rowid): the row's position in its file, 1..n, on every engine.

Anything else (`now()`, a callable such as `uuid4`, `gen_random_uuid()`, a
sequence shared with other tables) differs from run to run, so the fixture
must give the column; `Unstable` says why, for the one problem per column.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Integer, Numeric, Sequence
from sqlalchemy.schema import Column, DefaultClause, Identity, Table
from sqlalchemy.sql.elements import TextClause

from .types import Money

__all__ = ["Fixed", "Numbered", "Unstable", "of"]


@dataclass(frozen=True)
class Fixed:
    """The same value in every row that leaves the column out (in the fixture's JSON form)."""

    value: Any


@dataclass(frozen=True)
class Numbered:
    """The row's position in its file, counted from 1: an autoincrement key."""


@dataclass(frozen=True)
class Unstable:
    """A default that differs between runs; `why` names it for the problem message."""

    why: str


Default = Fixed | Numbered | Unstable

# A literal as PostgreSQL and SQLite print a default: a quoted string, a number, a boolean, NULL,
# optionally in parentheses and followed by casts ('active'::character varying, (0)::numeric).
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_CAST = re.compile(r"(::[\w .\"\[\]()]+?)+$")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_NEXTVAL = re.compile(r"nextval\('([^']+)'(::regclass)?\)", re.IGNORECASE)
_TRUE, _FALSE = frozenset({"true", "t", "1", "yes", "on"}), frozenset({"false", "f", "0", "no", "off"})


def _literal_text(sql: str) -> str | None:
    """The value a default's SQL stands for, as text; None when it is not a literal."""
    text = sql.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    text = _CAST.sub("", text).strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    quoted = _QUOTED.fullmatch(text)
    if quoted:
        return quoted.group(1).replace("''", "'")
    if _NUMBER.fullmatch(text) or text.lower() in _TRUE | _FALSE:
        return text
    return None


def _typed(column: Column[Any], text: str) -> Any:
    """`text` in the column's fixture form (what a fixture row would have written); None if it cannot be."""
    type_ = column.type
    if isinstance(type_, Boolean):
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else None
    if isinstance(type_, Integer):
        try:
            return int(text)
        except ValueError:
            return None
    if isinstance(type_, Money | Numeric | Float):
        try:
            return Decimal(text) if isinstance(type_, Float) else text
        except InvalidOperation:
            return None
    if isinstance(type_, JSON):
        try:
            return json.loads(text, parse_float=Decimal)
        except ValueError:
            return None
    return text


def _shared(sequence: Sequence, table: Table) -> str | None:
    """A column of another table that draws from `sequence` too, as `table.column`, if any."""
    for other in table.metadata.tables.values():
        if other is table:
            continue
        for column in other.columns:
            if isinstance(column.default, Sequence) and column.default.name == sequence.name:
                return f"{other.name}.{column.name}"
    return None


def of(table: Table, column: Column[Any]) -> Default | None:
    """What a row without `column` gets; None when the schema gives it nothing (NULL, or required)."""
    if column.computed is not None:
        return None
    autoincrement = table.autoincrement_column is column
    default = column.default
    if isinstance(default, Sequence):
        other = _shared(default, table)
        if other is not None:
            return Unstable(f"sequence {default.name}, shared with {other}")
        return Numbered() if autoincrement else Unstable(f"sequence {default.name}")
    if default is not None:
        if getattr(default, "is_scalar", False):
            return Fixed(getattr(default, "arg", None))
        arg = getattr(default, "arg", None)
        name = getattr(arg, "__name__", None) or type(arg).__name__
        return Unstable(f"Python default {name}()" if callable(arg) else f"SQL default {arg}")
    server = column.server_default
    if isinstance(server, Identity) or autoincrement:
        if isinstance(server, DefaultClause) and not isinstance(server, Identity):
            sql = str(server.arg.text if isinstance(server.arg, TextClause) else server.arg)
            if not _NEXTVAL.fullmatch(sql.strip()):
                return _server(column, server)
        return Numbered() if autoincrement else Unstable("an identity that is not the table's key")
    if isinstance(server, DefaultClause):
        return _server(column, server)
    if server is not None:
        return Unstable("a default the database computes")
    return None


def _server(column: Column[Any], server: DefaultClause) -> Default:
    arg = server.arg
    if isinstance(arg, str):  # server_default="active": SQLAlchemy quotes it as a string literal
        value = _typed(column, arg)
        return Fixed(value) if value is not None else Unstable(f"server default {arg!r}")
    sql = arg.text if isinstance(arg, TextClause) else str(arg)
    literal = _literal_text(sql)
    value = None if literal is None else _typed(column, literal)
    if value is None:
        return Unstable(f"server default {sql}")
    return Fixed(value)
