"""Bytes and bits: LargeBinary (base64 in fixtures) and PostgreSQL's BIT / VARBIT ("1010")."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from ._family import POSTGRESQL, Family, Invalid
from ._kind import JSONValue, Kind, refuse
from ._sql import CellSql, server_text_sql

__all__ = ["BITS", "BYTES", "to_bits", "to_bytes"]


def to_bytes(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    raise refuse("bytes", value)


def to_bits(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, str):
        return str.__str__(value)
    as_string = getattr(value, "as_string", None)  # asyncpg's BitString
    if callable(as_string):
        return str(as_string()).replace(" ", "")
    raise refuse("bits", value)


def _bytes_fixture(type_: Any, value: Any) -> bytes:
    if not isinstance(value, str):
        raise Invalid(f"expected base64 text, got {value!r}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(f"{value!r} is not base64") from None


_BITS = re.compile(r"[01]*")


def _bits_fixture(type_: Any, value: Any) -> str:
    if not isinstance(value, str) or not _BITS.fullmatch(value):
        raise Invalid(f'expected bits as a string of 0 and 1 such as "1010", got {value!r}')
    length = type_.length
    if type_.varying:
        if length is not None and len(value) > length:
            raise Invalid(f"{len(value)} bits; the column holds at most {length}")
    elif len(value) != (length or 1):
        raise Invalid(f"{len(value)} bits; the column holds exactly {length or 1}")
    return value


def _bytes_text(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return lambda value: "\\x" + bytes(value).hex()


def _same(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return str


def _bytes_sql(type_: TypeEngine[Any], engine: str, anchor: object) -> CellSql | None:
    if engine == "postgresql":
        return CellSql("CASE WHEN {v} IS NULL THEN 'null' ELSE '\"\\\\x' || encode({v}, 'hex') || '\"' END")
    return CellSql("CASE typeof({v}) WHEN 'blob' THEN '\"\\\\x' || lower(hex({v})) || '\"' WHEN 'null' THEN 'null' END")


BYTES = Family(
    name="LargeBinary",
    covers=("LargeBinary", "postgresql.BYTEA"),
    matches=lambda t: isinstance(t, LargeBinary),
    kind=lambda t: Kind("bytes"),
    fixture=_bytes_fixture,
    copy_text=_bytes_text,
    sql=_bytes_sql,
)
BITS = Family(
    name="BIT / VARBIT",
    covers=("postgresql.BIT",),
    matches=lambda t: isinstance(t, postgresql.BIT),
    kind=lambda t: Kind("bits"),
    fixture=_bits_fixture,
    copy_text=_same,
    engines=POSTGRESQL,
    read=lambda t: "text",
    text_copy=True,
    sql=server_text_sql,
)
