"""PostgreSQL arrays of any family: a JSON list of the item's fixture form, NULL items kept.

An array's rules are its item's: its fixture form, its canonical text, its
COPY text inside an array literal. Only PostgreSQL has arrays. Aware times
inside an array are absolute, in fixtures and in snapshots: the anchor moves
a column's own times only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
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


def literal(item_text: Callable[[Any], str], *, nested: bool = True) -> Callable[[Sequence[Any]], str]:
    """PostgreSQL's array input text: {"a","b",NULL}, items quoted and escaped.

    Nested lists are further dimensions, unless the items are JSON documents (`nested` False).
    """

    def text(value: Sequence[Any]) -> str:
        parts = []
        for item in value:
            if item is None:
                parts.append("NULL")
            elif nested and isinstance(item, list | tuple):
                parts.append(text(item))
            else:
                parts.append('"' + item_text(item).replace("\\", "\\\\").replace('"', '\\"') + '"')
        return "{" + ",".join(parts) + "}"

    return text


def _item(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    assert isinstance(type_, ARRAY)
    return type_.item_type


def _array_fixture(type_: TypeEngine[Any], value: Any) -> list[Any]:
    from . import fixture_value, is_moment

    item = _item(type_)
    moments = is_moment(item)
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
                    typed = fixture_value(item, v)
                except Invalid as exc:
                    raise Invalid(f"array item: {exc}") from None
                if moments and isinstance(typed, timedelta):  # only a column's own times move with the anchor
                    raise Invalid(
                        f"array item: {v!r} is relative; an array of aware times holds absolute ones "
                        'such as "2024-05-01T09:30:00Z"'
                    )
                out.append(typed)
        return out

    return convert(value, 1)


def _array_text(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    from . import copy_text, kind_of

    item = _item(type_)
    return literal(copy_text(item), nested=kind_of(item).name != "json")


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
