"""The canonical kind of a column: how its values are written in a snapshot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = ["KIND_NAMES", "Converter", "JSONValue", "Kind", "label", "refuse"]

JSONValue: TypeAlias = "None | bool | int | float | str | list[JSONValue] | dict[str, JSONValue]"
Converter: TypeAlias = Callable[[Any], JSONValue]

#: Every kind name `Kind` accepts.
KIND_NAMES = frozenset(
    "int decimal float bool text json timestamp naive_timestamp date time bytes uuid interval array other "
    "inet cidr macaddr tsvector range bits xml".split()
)


@dataclass(frozen=True, slots=True)
class Kind:
    """How one column canonicalises: a kind name, a decimal scale, an array element kind."""

    name: str
    scale: int | None = None
    item: Kind | None = None

    def __post_init__(self) -> None:
        # A typo here would silently fall through to "other" otherwise.
        if self.name not in KIND_NAMES:
            raise ValueError(f"unknown kind {self.name!r}; known: {', '.join(sorted(KIND_NAMES))}")
        if self.scale is not None and self.name != "decimal":
            raise ValueError(f"kind {self.name!r} takes no scale (got {self.scale})")
        if (self.item is not None) != (self.name == "array"):
            raise ValueError("an 'array' kind needs an item kind, and only an array may have one")


def label(kind: Kind) -> str:
    """The kind as the snapshot header spells it: "int", "decimal(2)", "array(text)"."""
    if kind.name == "decimal" and kind.scale is not None:
        return f"decimal({kind.scale})"
    if kind.item is not None:
        return f"array({label(kind.item)})"
    return kind.name


def refuse(kind: str, value: object) -> ValueError:
    return ValueError(f"{type(value).__name__} value {value!r} does not fit a {kind} column")
