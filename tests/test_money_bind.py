"""Money's PostgreSQL bind: a value already at the column's scale passes untouched, the rest as before."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from echelon_seed.types import Money


def test_an_exact_value_passes_as_it_is_and_others_are_requantised_or_refused() -> None:
    bind = Money(18, 2).bind_processor(postgresql.asyncpg.dialect())
    exact = Decimal(4174396) * Decimal("0.01")
    assert bind(exact) is exact
    assert bind(None) is None
    assert str(bind(Decimal("10.5"))) == "10.50"
    assert str(bind(Decimal("7"))) == "7.00"
    assert str(bind(Decimal("1.500"))) == "1.50"
    for wrong in (Decimal("1.005"), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValueError):
            bind(wrong)


def test_both_engines_store_the_same_digits_for_the_same_values() -> None:
    on_pg = Money(18, 2).bind_processor(postgresql.asyncpg.dialect())
    on_sqlite = Money(18, 2).bind_processor(sqlite.dialect())
    for value in (Decimal("0.10"), Decimal("10.5"), Decimal("-3"), Decimal(123) * Decimal("0.01")):
        assert str(on_pg(value)) == on_sqlite(value)
