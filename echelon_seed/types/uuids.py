"""UUIDs: a hyphenated string in fixtures, lowercase in snapshots; CHAR(32) on SQLite, uuid on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Uuid
from sqlalchemy.types import TypeEngine

from ._family import Family, Invalid
from ._kind import JSONValue, Kind, refuse
from ._sql import CellSql

__all__ = ["UUID", "to_uuid"]


def to_uuid(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return str(uuid.UUID(value))
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return str(uuid.UUID(bytes=bytes(value)))
    raise refuse("uuid", value)


def _uuid_fixture(type_: Any, value: Any) -> uuid.UUID | str:
    if not isinstance(value, str):
        raise Invalid(f"expected a UUID string, got {value!r}")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise Invalid(f"{value!r} is not a UUID") from None
    return parsed if type_.as_uuid else str(parsed)


def _same(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return str


def _uuid_sql(type_: TypeEngine[Any], engine: str, anchor: object) -> CellSql | None:
    # SQLite keeps a Uuid as 32 hex digits (or whatever text it was given): Python reads it.
    if engine != "postgresql":
        return None
    return CellSql("CASE WHEN {v} IS NULL THEN 'null' ELSE '\"' || CAST({v} AS text) || '\"' END")


UUID = Family(
    name="Uuid",
    covers=("Uuid", "postgresql.UUID"),
    matches=lambda t: isinstance(t, Uuid),
    kind=lambda t: Kind("uuid"),
    fixture=_uuid_fixture,
    copy_text=_same,
    sql=_uuid_sql,
)
