"""Numbers: integers, exact decimals (Numeric, our Money, PostgreSQL's money) and floats.

SQLite has no exact decimal: `Money` stores decimal text there. A plain
`Numeric` column on SQLite has NUMERIC affinity, which keeps 15 significant
digits, so values are bound as exact decimal text (never through float) and
`check` refuses more digits than that, which SQLite would round. A 4-byte
REAL is read as PostgreSQL's shortest text of the float4, and its fixture
values must be what that text says (3.1, not 3.14159265358979), so that
both engines print the same number.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from datetime import datetime
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Integer, Numeric, SmallInteger, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from ._family import BOTH, POSTGRESQL, Binder, Family, Invalid
from ._kind import Converter, JSONValue, Kind, refuse
from ._sql import CellSql

__all__ = [
    "BOOLEAN",
    "FLOAT",
    "INTEGER",
    "MONEY",
    "NUMERIC",
    "PG_MONEY",
    "Money",
    "decimal_converter",
    "decimal_ready",
    "quantize",
    "to_bool",
    "to_decimal",
    "to_float",
    "to_int",
]

# Most specific first: BigInteger and SmallInteger are both Integers.
_INT_RANGES = {BigInteger: 2**63, SmallInteger: 2**15, Integer: 2**31}
#: Significant digits SQLite's NUMERIC affinity keeps (it converts decimal text to a double).
SQLITE_DIGITS = 15
_FLOAT_MAX = 1.7976931348623157e308


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
            step = Decimal(1).scaleb(-scale)

            def exact(value: Decimal | None) -> Decimal | None:
                # A value already at the column's scale (a generator's cents times 0.01) passes
                # as it is: same_quantum compares exponents without as_tuple's digit tuple, about
                # 8x cheaper per value; anything else is checked and re-quantised as before.
                if value is None or (type(value) is Decimal and value.same_quantum(step)):
                    return value
                return quantize(value, scale)

            return exact

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


# --- canonical text ----------------------------------------------------------------------------------

#: Enough precision and exponent range that no quantize ever rounds by accident.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, rounding=ROUND_HALF_UP, traps=[InvalidOperation])
_TRUE = frozenset({"t", "true", "1"})
_FALSE = frozenset({"f", "false", "0"})


def to_int(value: Any) -> JSONValue:
    if value is None or type(value) is int:
        return value
    if isinstance(value, int):  # bool and other int subclasses
        return int(value)
    if isinstance(value, (float, Decimal)) and math.isfinite(value) and value == int(value):
        return int(value)
    raise refuse("int", value)


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # repr gives the shortest decimal that round-trips; Decimal(float) would
        # expose the binary expansion (0.1 -> 0.1000000000000000055...).
        return Decimal(repr(value))
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            return Decimal(value)
        except InvalidOperation:
            pass
    raise refuse("decimal", value)


def _non_finite(number: Decimal) -> str:
    # The same spellings as non-finite floats; NaN has no sign worth keeping.
    if number.is_nan():
        return "NaN"
    return "-Infinity" if number.is_signed() else "Infinity"


@lru_cache(maxsize=64)
def decimal_ready(scale: int) -> tuple[Callable[[str], object], str]:
    """(test, negative zero) for text already canonical at `scale`.

    Text in canonical form at this scale (what PostgreSQL's numeric and our SQLite
    money text give) passes as it is, unless it is the negative zero; anything
    else goes through quantize.
    """
    ready = re.compile(r"-?(?:0|[1-9][0-9]*)" + (rf"\.[0-9]{{{scale}}}" if scale else "")).fullmatch
    return ready, "-" + format(Decimal(0).quantize(Decimal(1).scaleb(-scale)), "f")


def decimal_converter(scale: int | None) -> Converter:
    if scale is None:

        def convert(value: Any) -> JSONValue:
            if value is None:
                return None
            number = to_decimal(value)
            if not number.is_finite():
                return _non_finite(number)
            if not number:
                return "0"
            text = format(number, "f")
            return text.rstrip("0").rstrip(".") if "." in text else text

        return convert

    step = Decimal(1).scaleb(-scale)
    ready, zero = decimal_ready(scale)

    def convert_scaled(value: Any) -> JSONValue:
        if value is None:
            return None
        kind = type(value)
        if kind is str or kind is Decimal:
            text = value if kind is str else str(value)
            if ready(text) and text != zero:
                return text
        number = value if type(value) is Decimal else to_decimal(value)
        if not number.is_finite():
            return _non_finite(number)
        exact = number.quantize(step, context=_EXACT)
        if not exact:  # PostgreSQL NUMERIC has no negative zero.
            exact = exact.copy_abs()
        return format(exact, "f")

    return convert_scaled


def to_float(value: Any) -> JSONValue:
    if value is None:
        return None
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
            raise refuse("float", value)
        try:
            value = float(value)
        except (ValueError, OverflowError):
            raise refuse("float", value) from None
    if value != value:
        return "NaN"
    if value > _FLOAT_MAX:
        return "Infinity"
    if value < -_FLOAT_MAX:
        return "-Infinity"
    return value if value else 0.0  # folds -0.0 into 0.0


def to_bool(value: Any) -> JSONValue:
    if value is None or value is True or value is False:
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise refuse("bool", value)


# --- fixtures ----------------------------------------------------------------------------------------


def _exact(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise Invalid(f'expected {what} as a decimal string such as "12.50", got {value!r}')
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Invalid(f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise Invalid(f"{value!r} is not a finite number")
    return number


def _money_fixture(type_: Any, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise Invalid(f'expected money as a decimal string such as "1200.00", got {value!r}')
    try:
        amount = quantize(Decimal(value), type_.scale)
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(f"{value!r} is not an amount with at most {type_.scale} decimals ({exc})") from None
    if len(amount.as_tuple().digits) > type_.precision:
        raise Invalid(f"{value!r} has more than {type_.precision} digits")
    return amount


def _numeric_fixture(type_: Any, value: Any) -> Decimal | float:
    if not type_.asdecimal:
        return _float_fixture(type_, value)
    number = _exact(value, "an exact number")
    # NUMERIC(p) without a scale is NUMERIC(p, 0) on PostgreSQL: it would round 12.5 to 13.
    scale = 0 if type_.scale is None and type_.precision is not None else type_.scale
    if scale is not None:
        try:
            number = quantize(number, scale)
        except ValueError:
            raise Invalid(f"{value!r} has more than {scale} decimal places") from None
    digits = len(number.as_tuple().digits)
    if type_.precision is not None and scale is not None and digits > type_.precision and number:
        raise Invalid(f"{value!r} has more than {type_.precision} digits")
    if len(number.normalize().as_tuple().digits) > SQLITE_DIGITS:
        raise Invalid(
            f"{value!r} has more than {SQLITE_DIGITS} significant digits, which SQLite's NUMERIC rounds; "
            "declare the column echelon_seed.types.Money(precision, scale) to keep every digit on both engines"
        )
    return number


def _float32_text(number: float) -> str:
    """PostgreSQL's text of a float4: the shortest decimal that reads back as the same 4-byte float."""
    single = struct.unpack("f", struct.pack("f", number))[0]
    for digits in range(1, 10):
        text = f"{single:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            return text
    return repr(single)


def _is_real(type_: Any) -> bool:
    """A 4-byte float on PostgreSQL: REAL, or FLOAT(p) with p <= 24."""
    if isinstance(type_, postgresql.REAL) or type(type_).__name__ == "REAL":
        return True
    precision = getattr(type_, "precision", None)
    return isinstance(type_, Float) and precision is not None and precision <= 24


def _float_fixture(type_: Any, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise Invalid(f"expected a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise Invalid(f"{value!r} is not a finite number")
    if _is_real(type_):
        try:
            single = float(_float32_text(number))
        except OverflowError:
            single = math.inf
        if single != number:
            raise Invalid(
                f"{value} is not exact in a 4-byte REAL (PostgreSQL keeps {_float32_text(number)}); "
                "write that value, or declare the column Double to keep every digit"
            )
    return number


def _int_fixture(type_: Any, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"expected a whole number, got {value!r}")
    limit = next((v for k, v in _INT_RANGES.items() if isinstance(type_, k)), 2**31)
    if not -limit <= value < limit:
        raise Invalid(f"{value} is out of range for {type(type_).__name__}")
    return value


def _bool_fixture(type_: Any, value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {value!r}")
    return value


def _pg_money_fixture(type_: Any, value: Any) -> Decimal:
    number = _exact(value, "money")
    try:
        amount = quantize(number, 2)
    except ValueError:
        raise Invalid(f"{value!r} has more than 2 decimal places, which money keeps") from None
    if abs(amount) > Decimal("92233720368547758.07"):
        raise Invalid(f"{value!r} is out of range for money")
    return amount


# --- binds and COPY text -----------------------------------------------------------------------------


def _numeric_bind(type_: TypeEngine[Any], dialect: Dialect) -> Binder | None:
    if dialect.name == "sqlite" and getattr(type_, "asdecimal", False):
        # Exact text: SQLAlchemy would go through float (and warn).
        return lambda value: None if value is None else format(value, "f")
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _decimal_text(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return lambda value: format(value, "f") if isinstance(value, Decimal) else str(value)


def _float_text(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return repr


def _str(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return str


def _bool_text(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return lambda value: "t" if value else "f"


# --- canonical text in SQL (see `_sql`) ---------------------------------------------------------------


def _int_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    if engine == "postgresql":
        return CellSql("COALESCE(CAST({v} AS text), 'null')")
    # SQLite keeps whatever it is given: only an integer is written as one.
    return CellSql("CASE typeof({v}) WHEN 'integer' THEN CAST({v} AS text) WHEN 'null' THEN 'null' END")


def _bool_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    if engine == "postgresql":
        return CellSql("CASE WHEN {v} THEN 'true' WHEN NOT {v} THEN 'false' ELSE 'null' END")
    return CellSql(
        "CASE WHEN {v} IS NULL THEN 'null' WHEN typeof({v}) = 'integer' THEN "
        "CASE {v} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END END"
    )


# PostgreSQL's float8 text (shortest exact, with extra_float_digits = 1, which the session pins) has
# repr's digits and form below 1e15 in magnitude, but for an integral value without ".0" and a zero
# that may be "-0". From 1e15 on, its form changes earlier than repr's (exponent from 1e15, not 1e16),
# and from 2**53 on its digits may too: where a decimal lies exactly halfway between two doubles, it
# can keep a 17th digit that repr does not need (the property test found 4.017137109140206e+16).
# Those values are left to Python (NULL: the table is read the Python way).
# Below 1e15 a value is integral exactly when its text has neither "." nor "e", so the test is made
# on the double (cheaper than searching its text) and an integral value is printed as the whole
# number it is, with ".0" (which makes -0 "0.0" too); NaN and the infinities fail `abs(v) < 1e15`.
_FLOAT_SQL = (
    "CASE WHEN abs({d}) < CAST(1e15 AS double precision) THEN "
    "CASE WHEN {d} = trunc({d}) THEN CAST(CAST({d} AS bigint) AS text) || '.0' ELSE CAST({d} AS text) END "
    "WHEN {d} IS NULL THEN 'null' "
    "WHEN {d} IN ('NaN', 'Infinity', '-Infinity') THEN '\"' || CAST({d} AS text) || '\"' END"
)


def _float_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    # SQLite's real-to-text keeps 15 digits: Python reads its double as stored. A REAL (float4)
    # is read as its own text, which Python writes.
    if engine != "postgresql" or _is_real(type_):
        return None
    return CellSql(_FLOAT_SQL.replace("{d}", "CAST({v} AS double precision)"))


def _scaled_sql(scale: int | None) -> CellSql:
    """PostgreSQL numeric to the canonical decimal: round() rounds half away from zero, as `quantize` does."""
    if scale is None:  # the shortest plain form: trim_scale drops the trailing zeros
        return CellSql(
            "CASE WHEN {v} IS NULL THEN 'null' ELSE '\"' || CAST(trim_scale(CAST({v} AS numeric)) AS text) || '\"' END"
        )
    return CellSql(
        f"CASE WHEN {{v}} IS NULL THEN 'null' ELSE '\"' || CAST(round(CAST({{v}} AS numeric), {scale:d}) AS text) || '\"' END"
    )


def _money_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    scale: int = type_.scale  # type: ignore[attr-defined]
    if engine == "postgresql":
        return _scaled_sql(scale)
    # SQLite holds Money as decimal text: text already in canonical form (what `decimal_ready`
    # accepts) is written as it is; anything else is left to Python.
    if scale:
        shape = (
            f"substr({{v}}, -{scale + 1:d}, 1) = '.' AND instr({{v}}, '.') = length({{v}}) - {scale:d} "
            "AND NOT substr({v}, 2) GLOB '*[^0-9.]*' "
        )
    else:
        shape = "NOT substr({v}, 2) GLOB '*[^0-9]*' "
    ready = (
        "typeof({v}) = 'text' AND ({v} GLOB '[0-9]*' OR {v} GLOB '-[0-9]*') AND "
        + shape
        + "AND NOT ({v} GLOB '0[0-9]*' OR {v} GLOB '-0[0-9]*') "
        "AND NOT ({v} GLOB '-*' AND NOT {v} GLOB '*[1-9]*')"
    )
    return CellSql(f"CASE WHEN {{v}} IS NULL THEN 'null' WHEN {ready} THEN '\"' || {{v}} || '\"' END")


def _numeric_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    # On SQLite a NUMERIC column holds integers, reals or text as it pleases: Python reads it.
    if engine != "postgresql":
        return None
    if not type_.asdecimal:  # type: ignore[attr-defined]
        return _float_sql(type_, engine, anchor)
    return _scaled_sql(type_.scale)  # type: ignore[attr-defined]


def _pg_money_sql(type_: TypeEngine[Any], engine: str, anchor: datetime | None) -> CellSql | None:
    return _scaled_sql(2) if engine == "postgresql" else None


def _float_matches(type_: TypeEngine[Any]) -> bool:
    # Float before Numeric: Float subclassed Numeric in older SQLAlchemy releases.
    return isinstance(type_, Float)


MONEY = Family(
    name="Money (echelon-seed)",
    covers=("echelon_seed.types.Money",),
    matches=lambda t: isinstance(t, Money),
    kind=lambda t: Kind("decimal", scale=t.scale),  # type: ignore[attr-defined]
    fixture=_money_fixture,
    copy_text=_decimal_text,
    engines=BOTH,
    sql=_money_sql,
)
BOOLEAN = Family(
    name="Boolean",
    covers=("Boolean",),
    matches=lambda t: isinstance(t, Boolean),
    kind=lambda t: Kind("bool"),
    fixture=_bool_fixture,
    copy_text=_bool_text,
    sql=_bool_sql,
)
FLOAT = Family(
    name="Float / Double / REAL",
    covers=("Float", "Double", "REAL", "DOUBLE_PRECISION"),
    matches=_float_matches,
    kind=lambda t: Kind("float"),
    fixture=_float_fixture,
    copy_text=_float_text,
    read=lambda t: "text" if _is_real(t) else None,
    sql=_float_sql,
)
NUMERIC = Family(
    name="Numeric / DECIMAL",
    covers=("Numeric", "DECIMAL", "NUMERIC"),
    matches=lambda t: isinstance(t, Numeric),
    kind=lambda t: Kind("decimal", scale=t.scale) if t.asdecimal else Kind("float"),  # type: ignore[attr-defined]
    fixture=_numeric_fixture,
    copy_text=_decimal_text,
    bind=_numeric_bind,
    sql=_numeric_sql,
)
INTEGER = Family(
    name="Integer / SmallInteger / BigInteger",
    covers=("Integer", "SmallInteger", "BigInteger"),
    matches=lambda t: isinstance(t, Integer),
    kind=lambda t: Kind("int"),
    fixture=_int_fixture,
    copy_text=_str,
    sql=_int_sql,
)
PG_MONEY = Family(
    name="MONEY (PostgreSQL)",
    covers=("postgresql.MONEY",),
    matches=lambda t: isinstance(t, postgresql.MONEY),
    kind=lambda t: Kind("decimal", scale=2),
    fixture=_pg_money_fixture,
    copy_text=_decimal_text,
    engines=POSTGRESQL,
    read=lambda t: "numeric",
    text_copy=True,
    sql=_pg_money_sql,
)
