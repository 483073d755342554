"""JSON and JSONB: the document itself in fixtures, sorted compact text in the database.

A fixture cell holds the document (never its text: a string is ambiguous
between JSON text and a JSON string). Numbers inside are doubles within
±(2**53 - 1): jsonb prints large numbers as exact decimals, SQLite keeps our
text, and below 2**53 both read back as the same double. `apply` and
`export-sql` write the same text, `dumps` with sorted keys.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from ._family import Binder, Family, Invalid, LongNumber, NotFinite, check_text, short
from ._kind import JSONValue, Kind, refuse

__all__ = ["JSONFAMILY", "MAX_JSON_DEPTH", "dumps", "to_json"]

#: How deeply a JSON document in a fixture may nest (PostgreSQL's parser gives up at a stack limit).
MAX_JSON_DEPTH = 100
# Beyond this magnitude a JSON number is not exact as a double, and the engines print it differently.
_JSON_INT_LIMIT = 2**53 - 1
_SAFE_INT = 2**53

_DUMPER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps(obj: JSONValue) -> str:
    """Return the canonical JSON text of `obj`: sorted keys, no spaces, raw unicode."""
    # Same output as json.dumps with these options, without building an encoder per call.
    return _DUMPER.encode(obj)


# --- canonical text ----------------------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise ValueError(f"JSON document holds {name}, which JSON (and jsonb) does not allow")


def _json_number(value: float | Decimal) -> int | float:
    if not math.isfinite(value):
        raise ValueError(f"JSON document holds {value}, which JSON (and jsonb) does not allow")
    if -_SAFE_INT < value < _SAFE_INT and value == int(value):
        return int(value)
    return float(value)


def _normalise_json(doc: Any) -> JSONValue:
    kind = type(doc)
    if doc is None or kind is str or kind is bool or kind is int:
        return doc  # type: ignore[no-any-return]
    if kind is float or isinstance(doc, Decimal):
        return _json_number(doc)
    if isinstance(doc, dict):
        out: dict[str, JSONValue] = {}
        for key, item in doc.items():
            if not isinstance(key, str):
                raise ValueError(f"JSON object key {key!r} is not a string")
            out[str.__str__(key)] = _normalise_json(item)
        return out
    if isinstance(doc, (list, tuple)):
        return [_normalise_json(item) for item in doc]
    if isinstance(doc, str):
        return str.__str__(doc)
    if isinstance(doc, bool):
        return bool(doc)
    if isinstance(doc, int):
        return int(doc)
    if isinstance(doc, float):
        return _json_number(float(doc))
    raise refuse("json", doc)


def to_json(value: Any) -> JSONValue:
    if value is None:
        return None
    if isinstance(value, (str, bytes, bytearray)):
        value = json.loads(value, parse_constant=_reject_constant)
    return _normalise_json(value)


# --- fixtures ----------------------------------------------------------------------------------------


def _fixture_number(value: int | Decimal) -> int | float:
    """One canonical form for both engines: a double that both print the same way, or an error.

    jsonb keeps numbers as exact decimals and prints 1e20 as 100000000000000000000,
    where SQLite keeps our text (1e+20); below 2**53 every integer is exact as a
    double and the two agree once read back, so that is the range allowed.
    """
    if isinstance(value, int):
        if abs(value) > _JSON_INT_LIMIT:
            raise Invalid(
                f"{short(str(value))} in a JSON document is beyond ±{_JSON_INT_LIMIT} (2**53 - 1), "
                "where JSON numbers stop being exact; store it as a string"
            )
        return value
    number = float(value)
    if math.isinf(number):
        raise Invalid(f"{short(str(value))} in a JSON document is out of the range of a double")
    if abs(value) > _JSON_INT_LIMIT:
        raise Invalid(
            f"{short(str(value))} in a JSON document is beyond ±{_JSON_INT_LIMIT} (2**53 - 1), "
            "where JSON numbers stop being exact; store it as a string"
        )
    if number == 0 and value != 0:
        raise Invalid(f"{short(str(value))} in a JSON document is too small for a double (it would become 0)")
    return number


def document(value: Any, depth: int = 1) -> Any:
    """Fixture JSON parsed with Decimal, back to plain JSON values (floats for fractions), checked."""
    if depth > MAX_JSON_DEPTH:
        raise Invalid(f"the JSON document nests more than {MAX_JSON_DEPTH} levels deep")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal):
        return _fixture_number(value)
    if isinstance(value, str):
        check_text(value, "JSON text")
        return value
    if isinstance(value, NotFinite):
        raise Invalid(f"{value.name} in a JSON document is not a finite number")
    if isinstance(value, LongNumber):
        raise Invalid(f"{value!r} in a JSON document is beyond ±{_JSON_INT_LIMIT} (2**53 - 1)")
    if isinstance(value, list):
        return [document(v, depth + 1) for v in value]
    if isinstance(value, dict):
        duplicates = getattr(value, "duplicates", ())
        if duplicates:
            raise Invalid(f"duplicate key {duplicates[0]!r} in a JSON document")
        for key in value:
            check_text(key, "a JSON key")
        return {k: document(v, depth + 1) for k, v in value.items()}
    raise Invalid(f"internal: no JSON conversion for {type(value).__name__}")


def _json_fixture(type_: Any, value: Any) -> Any:
    if isinstance(value, str):
        # One rule on both engines: the cell holds the document itself, never its text.
        raise Invalid(
            f"a JSON column takes the document itself, not a string ({short(repr(value))}); "
            "write the object, array, number or boolean without quotes"
        )
    return document(value)


# --- binds and COPY text -----------------------------------------------------------------------------


def _json_bind(type_: TypeEngine[Any], dialect: Dialect) -> Binder | None:
    # The same text export-sql writes: sorted keys, no spaces (SQLAlchemy's json.dumps keeps
    # the fixture's key order, so `json` columns held different text after apply and after psql).
    return lambda value: None if value is None else dumps(value)


def _json_text(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return dumps


JSONFAMILY = Family(
    name="JSON / JSONB",
    covers=("JSON", "postgresql.JSON", "postgresql.JSONB"),
    matches=lambda t: isinstance(t, JSON),
    kind=lambda t: Kind("json"),
    fixture=_json_fixture,
    copy_text=_json_text,
    bind=_json_bind,
)
