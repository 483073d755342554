"""Domains (their base type's rules, on PostgreSQL) and types echelon-seed does not know.

A domain's fixture form, canonical kind and text are its base type's; its
CHECK is judged by PostgreSQL at `apply`. A type reflection does not
recognise (`NullType`: xml, point, a type from an extension) is kept in
PostgreSQL's own text form: read as the server prints it, written back
through its text input.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.dialects.postgresql import DOMAIN
from sqlalchemy.exc import SAWarning
from sqlalchemy.types import TypeEngine

from ._family import POSTGRESQL, Family, plain_text
from ._kind import Kind

__all__ = ["DOMAINS", "UNKNOWN", "base_of", "reflecting"]


@contextmanager
def reflecting() -> Iterator[None]:
    """Reflect without SQLAlchemy's warning about types it does not know: they are read as text here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Did not recognize type", category=SAWarning)
        yield


def base_of(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """The type a domain is over (domains over domains included); any other type itself."""
    while isinstance(type_, DOMAIN):
        type_ = type_.data_type
    return type_


def _delegate(attribute: str) -> Callable[..., Any]:
    def call(type_: TypeEngine[Any], *args: Any) -> Any:
        from . import family_of

        base = base_of(type_)
        return getattr(family_of(base), attribute)(base, *args)

    return call


def _same(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return str


DOMAINS = Family(
    name="domains",
    covers=("postgresql.DOMAIN",),
    matches=lambda t: isinstance(t, DOMAIN),
    kind=_delegate("kind"),
    fixture=_delegate("fixture"),
    copy_text=_delegate("copy_text"),
    engines=POSTGRESQL,
    read=_delegate("read"),
)
UNKNOWN = Family(
    name="other types (reflected NullType)",
    covers=("NullType", "any other type"),
    matches=lambda t: True,
    kind=lambda t: Kind("other"),
    fixture=plain_text("(1,2)", "a value in PostgreSQL's text form"),
    copy_text=_same,
    engines=POSTGRESQL,
    read=lambda t: "text",
    text_copy=True,
)
