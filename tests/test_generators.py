"""The public generator API: deterministic draws, the registry, and rows that fit their table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from echelon_seed import generate
from echelon_seed.generators import Context, Draw, Spec, lookup, register, register_table

ANCHOR = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_same_seed_name_and_index_draw_the_same_values() -> None:
    def values(draw: Draw) -> list[Any]:
        return [
            draw.integer(1, 6),
            draw.choice(["a", "b", "c"], weights=[1, 0, 3]),
            draw.decimal("0.50", "99.99", 2),
            draw.offset(timedelta(0), timedelta(days=1)),
            draw.text(["{x} one", "{x} two"], x="row"),
        ]

    first = values(Draw("s", "g", 7))

    assert first == values(Draw("s", "g", 7))
    assert first != values(Draw("s", "g", 8)) or first != values(Draw("t", "g", 7))
    assert isinstance(first[2], Decimal) and first[2].as_tuple().exponent == -2
    assert first[1] in ("a", "c")  # weight 0 is never drawn


def test_draws_cover_their_range_and_respect_weights() -> None:
    rolls = [Draw("dice", "d6", i).integer(1, 6) for i in range(600)]
    picks = [Draw("w", "w", i).choice(["rare", "common"], weights=[1, 9]) for i in range(1000)]

    assert set(rolls) == {1, 2, 3, 4, 5, 6}
    assert 50 < picks.count("rare") < 150


def test_the_draw_stream_is_pinned() -> None:
    """The scheme is part of the golden files of every project that uses it: a change must be deliberate.

    Ten draws cross the first 64-byte block (eight words) into the second.
    """
    draw = Draw("nursery-2024", "shop.sowing", 0)

    assert [draw.integer(0, 999) for _ in range(10)] == [493, 570, 445, 618, 504, 423, 195, 983, 8, 317]
    assert Draw("s", "g", 0).word() == 0xD361BB84B010CD4D


@register("tests.counter", table="counters")
def _counter(spec: Spec, index: int, context: Context, draw: Draw) -> Mapping[str, Any]:
    return {"id": index + 1, "label": spec.params.get("prefix", "n") + str(index), "at": context.anchor}


def test_registered_rows_follow_the_table_columns_and_grow_with_scale() -> None:
    spec = {"generator": "tests.counter", "seed": "c", "count": 2, "params": {"prefix": "p"}}

    rows = list(
        generate.rows("counters", spec, scale=2, anchor=ANCHOR, context={}, columns=["label", "id", "note", "at"])
    )

    assert rows == [(f"p{i}", i + 1, None, ANCHOR) for i in range(4)]
    assert generate.row_count("counters", spec, scale=2, anchor=ANCHOR, context={}) == 4


def test_a_registered_generator_is_validated_like_the_built_in_ones() -> None:
    assert generate.validate("counters", {"generator": "tests.counter", "seed": "c", "count": 1}) == []
    assert generate.validate("others", {"generator": "tests.counter", "seed": "c", "count": 1}) == [
        "others: generator 'tests.counter' fills table 'counters', not 'others'"
    ]
    assert (
        "params must be an object"
        in generate.validate("counters", {"generator": "tests.counter", "seed": "c", "count": 1, "params": [1]})[0]
    )


def test_a_row_with_an_unknown_column_names_the_generator_and_row() -> None:
    @register("tests.stray")
    def stray(spec: Spec, index: int, context: Context, draw: Draw) -> Mapping[str, Any]:
        return {"id": index, "colour": "red"}

    with pytest.raises(generate.GeneratorError, match="t: generator 'tests.stray' row 0: unknown column 'colour'"):
        list(
            generate.rows(
                "t",
                {"generator": "tests.stray", "seed": "s", "count": 1},
                scale=1,
                anchor=ANCHOR,
                context={},
                columns=["id"],
            )
        )


def test_one_name_cannot_be_registered_by_two_functions() -> None:
    def other(spec: Spec, index: int, context: Context, draw: Draw) -> Mapping[str, Any]:
        return {}

    with pytest.raises(ValueError, match="generator 'tests.counter' is already registered by"):
        register("tests.counter")(other)
    entry = lookup("tests.counter")
    assert entry is not None and (entry.function, entry.table) == (_counter, "counters")


# A table generator: each row's balance depends on the row before it, which no per-row draw can carry.
@register_table(
    "tests.ledger",
    table="ledger",
    columns=("id", "account", "amount", "balance", "at"),
    inputs=("accounts",),
    size=lambda spec, context: spec.count * len(context.rows["accounts"]),
    earliest=lambda spec: -timedelta(hours=spec.count),
)
def _ledger(spec: Spec, context: Context) -> Iterator[tuple[Any, ...]]:
    row_id = 0
    for account in context.rows["accounts"]:
        balance = Decimal(str(account["opening"]))
        for k in range(spec.count):
            row_id += 1
            amount = Draw(spec.seed, spec.generator, row_id).decimal("-50.00", "100.00", 2)
            balance += amount
            yield (row_id, account["id"], amount, balance, context.anchor - timedelta(hours=spec.count - k))


LEDGER_SPEC = {"generator": "tests.ledger", "seed": "books-1", "count": 3}
ACCOUNTS = {"accounts": [{"id": "A", "opening": "10.00"}, {"id": "B", "opening": "0.00"}]}


def test_a_table_generator_carries_state_across_rows_and_says_its_size_and_earliest_time() -> None:
    produced = list(
        generate.rows(
            "ledger",
            LEDGER_SPEC,
            scale=2,
            anchor=ANCHOR,
            context=ACCOUNTS,
            columns=["id", "account", "amount", "balance", "at"],
        )
    )

    assert len(produced) == 12 == generate.row_count("ledger", LEDGER_SPEC, scale=2, anchor=ANCHOR, context=ACCOUNTS)
    for account, opening in (("A", Decimal("10.00")), ("B", Decimal("0.00"))):
        mine = [row for row in produced if row[1] == account]
        assert [row[3] for row in mine] == [opening + sum(r[2] for r in mine[: i + 1]) for i in range(len(mine))]
    assert min(row[4] for row in produced) == ANCHOR + generate.earliest_offset("ledger", LEDGER_SPEC, scale=2)
    assert produced == list(generate.rows("ledger", LEDGER_SPEC, scale=2, anchor=ANCHOR, context=ACCOUNTS))
    assert generate.inputs(LEDGER_SPEC) == ("accounts",)


def test_a_table_generator_whose_columns_differ_from_the_table_is_refused_by_name() -> None:
    with pytest.raises(generate.GeneratorError, match=r"ledger: schema columns .* differ from the generator's"):
        generate.rows("ledger", LEDGER_SPEC, scale=1, anchor=ANCHOR, context=ACCOUNTS, columns=["id", "account"])
