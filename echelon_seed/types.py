"""Column types that make SQLite and PostgreSQL hand back the same Python values.

SQLite has no exact decimal and no time zones; PostgreSQL has both. Each type
here stores its value in the form the engine keeps exactly and returns the
same Python value on both engines, so that nothing above this module has to
know which engine it talks to. This is one of the two modules (with
`engines`) allowed to name an engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["SQLITE_TIMESTAMP_FORMAT", "Money", "UTCDateTime", "quantize"]

#: Fixed-width UTC text, so that SQLite's text order is time order.
SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def quantize(value: Decimal, scale: int) -> Decimal:
    """Return `value` at exactly `scale` decimal places, refusing to lose digits."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"expected a finite Decimal, got {value!r}")
    exponent = value.as_tuple().exponent
    if exponent == -scale:  # already exact at this scale: the common case, and the hot path
        return value
    assert isinstance(exponent, int)
    if -exponent > scale and value != value.quantize(Decimal(1).scaleb(-scale), rounding="ROUND_DOWN"):
        raise ValueError(f"{value} has more than {scale} decimal places")
    try:
        return value.quantize(Decimal(1).scaleb(-scale))
    except InvalidOperation as exc:  # more digits than the context holds
        raise ValueError(f"{value} does not fit at scale {scale}") from exc


class Money(TypeDecorator[Decimal]):
    """Exact money: NUMERIC on PostgreSQL, decimal text on SQLite (never float)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 2) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def bind_processor(self, dialect: Dialect) -> Callable[[Decimal | None], Any]:
        # Overridden rather than process_bind_param: the seeder calls this once per value
        # of a million-row COPY, and the engines' own numeric/text binds need nothing more.
        scale = self.scale
        if dialect.name != "sqlite":
            return lambda value: None if value is None else quantize(value, scale)

        def to_text(value: Decimal | None) -> str | None:
            if value is None:
                return None
            text = str(value)
            dot = text.find(".")
            if (dot > 0 if scale else dot < 0) and len(text) - dot - 1 == scale and "E" not in text:
                return text  # already exact at the column's scale: the usual case
            return str(quantize(value, scale))

        return to_text

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return quantize(Decimal(value), self.scale)

    def __repr__(self) -> str:
        return f"Money(precision={self.precision}, scale={self.scale})"


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time, always returned as an aware UTC datetime.

    PostgreSQL keeps `timestamptz`; SQLite keeps fixed-width UTC text. Naive
    datetimes are refused on the way in: a time without a zone is a bug.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any]:
        # Overridden rather than process_bind_param, for the same reason as Money's.
        as_text = dialect.name == "sqlite"

        def to_storage(value: datetime | None) -> Any:
            if value is None:
                return None
            if value.tzinfo is not UTC:
                if value.tzinfo is None or value.utcoffset() is None:
                    raise ValueError(f"naive datetime {value.isoformat()} has no time zone")
                value = value.astimezone(UTC)
            # isoformat gives SQLITE_TIMESTAMP_FORMAT plus "+00:00", twice as fast as strftime.
            return value.isoformat(" ", "microseconds")[:26] if as_text else value

        return to_storage

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def __repr__(self) -> str:
        return "UTCDateTime()"
