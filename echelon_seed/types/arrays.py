"""PostgreSQL arrays of any family: a JSON list of the item's fixture form, NULL items kept.

An array's rules are its item's: its fixture form, its canonical text, its
COPY text inside an array literal. Only PostgreSQL has arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ARRAY
from sqlalchemy.types import TypeEngine

from ._family import POSTGRESQL, Family, Invalid
from ._kind import Converter, JSONValue, Kind, refuse

__all__ = ["ARRAYS", "array_converter", "literal"]


def array_converter(element: Converter, nested: bool) -> Converter:
    """Canonical lists: nested lists are further dimensions, unless the elements are JSON documents."""

    def convert(value: Any) -> JSONValue:
        if value is None:
            return None
        if not isinstance(value, (list, tuple)):
            raise refuse("array", value)
        return [convert(v) if nested and isinstance(v, (list, tuple)) else element(v) for v in value]

    return convert


def literal(item_text: Callable[[Any], str]) -> Callable[[Sequence[Any]], str]:
    """PostgreSQL's array input text: {"a","b",NULL}, items quoted and escaped."""

    def text(value: Sequence[Any]) -> str:
        parts = []
        for item in value:
            if item is None:
                parts.append("NULL")
            elif isinstance(item, list | tuple):
                parts.append(text(item))
            else:
                parts.append('"' + item_text(item).replace("\\", "\\\\").replace('"', '\\"') + '"')
        return "{" + ",".join(parts) + "}"

    return text


def _item(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    assert isinstance(type_, ARRAY)
    return type_.item_type


def _array_fixture(type_: TypeEngine[Any], value: Any) -> list[Any]:
    from . import fixture_value

    item = _item(type_)
    deep = (getattr(type_, "dimensions", None) or 1) > 1

    def convert(values: Any, depth: int) -> list[Any]:
        if not isinstance(values, list):
            raise Invalid(f"expected a JSON array, got {values!r}")
        out: list[Any] = []
        for v in values:
            if v is None:
                out.append(None)
            elif deep and isinstance(v, list):
                out.append(convert(v, depth + 1))
            else:
                try:
                    out.append(fixture_value(item, v))
                except Invalid as exc:
                    raise Invalid(f"array item: {exc}") from None
        return out

    return convert(value, 1)


def _array_text(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    from . import copy_text

    return literal(copy_text(_item(type_)))


def _kind(type_: TypeEngine[Any]) -> Kind:
    from . import kind_of

    return Kind("array", item=kind_of(_item(type_)))


def _read(type_: TypeEngine[Any]) -> str | None:
    from . import family_of

    item = _item(type_)
    return family_of(item).read(item)


def _text_copy(type_: TypeEngine[Any]) -> bool:
    from . import family_of

    return family_of(_item(type_)).text_copy


ARRAYS = Family(
    name="ARRAY",
    covers=("ARRAY", "postgresql.ARRAY"),
    matches=lambda t: isinstance(t, ARRAY),
    kind=_kind,
    fixture=_array_fixture,
    copy_text=_array_text,
    engines=POSTGRESQL,
    read=_read,
)
