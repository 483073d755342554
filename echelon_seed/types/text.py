"""Text: String, Text, Unicode, CHAR, Enum (native or not), CITEXT, XML and TSVECTOR.

All are strings in fixtures. CITEXT, XML and TSVECTOR exist on PostgreSQL
only; the server's text output is their canonical form (a tsvector's
lexemes sorted and quoted), and their fixture text is what PostgreSQL reads,
so an export applies back unchanged.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine, UserDefinedType

from ._family import POSTGRESQL, Family, Invalid, check_text, plain_text
from ._kind import JSONValue, Kind, refuse
from ._sql import CellSql, json_string, labels_sql, server_text_sql

__all__ = ["CITEXT", "ENUM", "STRING", "TSVECTOR", "XML", "XMLFAMILY", "to_text"]


class XML(UserDefinedType[str]):
    """PostgreSQL's xml, which SQLAlchemy does not name: declare an XML column with it."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "XML"


def to_text(value: Any) -> JSONValue:
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
    raise refuse("text", value)


def server_text(kind: str) -> Callable[[Any], JSONValue]:
    """A kind whose canonical form is the server's text output (read as text), as it is."""

    def convert(value: Any) -> JSONValue:
        if value is None:
            return None
        if isinstance(value, str):
            return str.__str__(value)
        raise refuse(kind, value)

    return convert


def _enum_fixture(type_: Any, value: Any) -> str:
    if value not in type_.enums:
        raise Invalid(f"{value!r} is not one of {', '.join(type_.enums)}")
    return str(value)


def _string_fixture(type_: Any, value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {value!r}")
    check_text(value, "text")
    if type_.length is not None and len(value) > type_.length:
        raise Invalid(f"{len(value)} characters; the column holds at most {type_.length}")
    return value


def _xml_fixture(type_: Any, value: Any) -> str:
    text = plain_text('<track id="1"/>', "XML")(type_, value)
    try:  # PostgreSQL's default XMLOPTION is CONTENT: any sequence of elements and text
        ElementTree.fromstring(f"<echelon-seed-root>{text}</echelon-seed-root>")
    except ElementTree.ParseError as exc:
        raise Invalid(f"{text!r} is not well-formed XML ({exc})") from None
    return str(text)


def _same(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return str


def _text_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    if engine == "postgresql":
        # No cast: to_json prints the value with its type's output, as the driver returns it
        # (a CHAR(n) keeps its padding, which a cast to text would strip).
        return CellSql(f"COALESCE({json_string(engine, '{v}')}, 'null')")
    return CellSql(f"CASE typeof({{v}}) WHEN 'text' THEN {json_string(engine, '{v}')} WHEN 'null' THEN 'null' END")


def _enum_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    if engine == "postgresql":  # a label is text: the cast spares to_json a look-up of the enum type per value
        return CellSql(labels_sql("CAST({v} AS text)", type_.enums))  # type: ignore[attr-defined]
    return _text_sql(type_, engine, anchor)


ENUM = Family(
    name="Enum (native and not), user enums",
    covers=("Enum", "postgresql.ENUM"),
    matches=lambda t: isinstance(t, Enum),
    kind=lambda t: Kind("text"),
    fixture=_enum_fixture,
    copy_text=_same,
    sql=_enum_sql,
)
CITEXT = Family(
    name="CITEXT",
    covers=("postgresql.CITEXT",),
    matches=lambda t: isinstance(t, postgresql.CITEXT),
    kind=lambda t: Kind("text"),
    fixture=_string_fixture,
    copy_text=_same,
    engines=POSTGRESQL,
    read=lambda t: "text",
    text_copy=True,
    sql=_text_sql,
)
STRING = Family(
    name="String / Text / Unicode / CHAR",
    covers=("String", "Text", "Unicode", "UnicodeText", "CHAR", "VARCHAR"),
    matches=lambda t: isinstance(t, String),
    kind=lambda t: Kind("text"),
    fixture=_string_fixture,
    copy_text=_same,
    sql=_text_sql,
)
XMLFAMILY = Family(
    name="XML",
    covers=("echelon_seed.types.XML", "xml (reflected)"),
    matches=lambda t: isinstance(t, XML),
    kind=lambda t: Kind("xml"),
    fixture=_xml_fixture,
    copy_text=_same,
    engines=POSTGRESQL,
    read=lambda t: "text",
    text_copy=True,
    sql=server_text_sql,
)
TSVECTOR = Family(
    name="TSVECTOR",
    covers=("postgresql.TSVECTOR",),
    matches=lambda t: isinstance(t, postgresql.TSVECTOR),
    kind=lambda t: Kind("tsvector"),
    fixture=plain_text("'fat':2 'cat':3", "a tsvector"),
    copy_text=_same,
    engines=POSTGRESQL,
    read=lambda t: "text",
    text_copy=True,
    sql=server_text_sql,
)
