"""PostgreSQL's range types (int4range, int8range, numrange, daterange, tsrange, tstzrange).

Fixtures write a range in PostgreSQL's own text ("[80,443)", "empty",
"[2024-01-01,2024-02-01)"); PostgreSQL reads it and normalises discrete
ranges ("[80,443]" becomes "[80,444)"), and that text is the canonical form.
`check` validates the shape (bounds, a comma); the server judges the bounds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects.postgresql.ranges import AbstractRange
from sqlalchemy.types import TypeEngine

from ._family import POSTGRESQL, Family, Invalid, check_text
from ._kind import Kind

__all__ = ["RANGE"]

# A bound is empty, a bare word without , ( ) [ ] " \ or a double-quoted string.
_BOUND = r'(?:"(?:[^"\\]|\\.|"")*"|[^,()\[\]"\\]*)'
_RANGE = re.compile(rf"\s*(?:empty|[\[(]{_BOUND},{_BOUND}[\])])\s*", re.IGNORECASE)


def _range_fixture(type_: TypeEngine[Any], value: Any) -> str:
    if not isinstance(value, str) or not _RANGE.fullmatch(value):
        raise Invalid(f'expected a range in PostgreSQL\'s text form such as "[80,443)" or "empty", got {value!r}')
    check_text(value, "a range")
    return value


def _same(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return str


RANGE = Family(
    name="range types",
    covers=("INT4RANGE", "INT8RANGE", "NUMRANGE", "DATERANGE", "TSRANGE", "TSTZRANGE"),
    matches=lambda t: isinstance(t, AbstractRange),
    kind=lambda t: Kind("range"),
    fixture=_range_fixture,
    copy_text=_same,
    engines=POSTGRESQL,
    read=lambda t: "text",
    text_copy=True,
)
