"""Validated rows become an ordered plan: what `apply` writes, table by table, in which order.

The fixture set says what each table holds (listed rows, or a generator and
its spec); the plan fixes the run's choices once, the anchor and the scale,
and gives each table its row count and a stream of its rows in column order,
times resolved. The tables come in foreign-key order (the project's), a
cycle broken into insert-then-update (`cycles`). The generators' context (the
listed rows they draw from) is built once per plan, not per table.

The engine's writer (`engines.writer`) takes the plan and knows nothing of fixtures or
generators; `fixtures` asks the same two questions (how many rows, which
rows) of one table when it checks a set, and `export-sql` when it writes one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Table

from . import cycles, generate
from .fixture_set import FixtureSet, TableFixture, resolved

__all__ = ["Plan", "TablePlan", "make", "row_count", "rows"]

_Context = Mapping[str, Sequence[Mapping[str, Any]]]


@dataclass(frozen=True)
class TablePlan:
    """One table of the plan: its row count, its rows on demand, and the cycle's holdback if it has one."""

    table: Table
    total: int
    generated: bool
    holdback: cycles.Holdback | None
    _rows: Callable[[], Iterator[tuple[Any, ...]]]

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The table's rows as written: a cycle's forward keys NULL here, filled by its holdback after."""
        source = self._rows()
        return source if self.holdback is None else self.holdback.hold(source)


@dataclass(frozen=True)
class Plan:
    """Every table of one apply, in the order they are written, and what is filled in after."""

    tables: tuple[TablePlan, ...]
    holdbacks: tuple[cycles.Holdback, ...]

    @property
    def total(self) -> int:
        return sum(t.total for t in self.tables)


def make(fixture_set: FixtureSet, *, anchor: datetime, scale: int) -> Plan:
    """The plan of `fixture_set` at this anchor and scale (the tables keep the set's foreign-key order)."""
    context = _context(fixture_set, anchor) if any(f.spec is not None for f in fixture_set.tables) else {}
    totals = [_count(f, anchor=anchor, scale=scale, context=context) for f in fixture_set.tables]
    late = cycles.holdbacks([f.table for f in fixture_set.tables])
    planned = tuple(
        TablePlan(
            table=fixture.table,
            total=total,
            generated=fixture.spec is not None,
            holdback=late.get(fixture.table.name),
            _rows=partial(_stream, fixture, anchor=anchor, scale=scale, context=context),
        )
        for fixture, total in zip(fixture_set.tables, totals, strict=True)
    )
    return Plan(tables=planned, holdbacks=tuple(late.values()))


def row_count(fixture_set: FixtureSet, fixture: TableFixture, *, anchor: datetime, scale: int) -> int:
    """How many rows one table of the set holds at this anchor and scale."""
    context = _context(fixture_set, anchor) if fixture.spec is not None else {}
    return _count(fixture, anchor=anchor, scale=scale, context=context)


def rows(fixture_set: FixtureSet, fixture: TableFixture, *, anchor: datetime, scale: int) -> Iterator[tuple[Any, ...]]:
    """One table's rows as tuples in column order, times resolved; streamed when generated."""
    context = _context(fixture_set, anchor) if fixture.spec is not None else {}
    return _stream(fixture, anchor=anchor, scale=scale, context=context)


def _context(fixture_set: FixtureSet, anchor: datetime) -> dict[str, list[dict[str, Any]]]:
    """The listed rows a generator may draw from, by table."""
    return {
        f.table.name: [dict(zip(f.table.columns.keys(), row, strict=True)) for row in resolved(f, anchor)]
        for f in fixture_set.tables
        if f.spec is None
    }


def _count(fixture: TableFixture, *, anchor: datetime, scale: int, context: _Context) -> int:
    if fixture.spec is None:
        return len(fixture.rows)
    return generate.row_count(fixture.table.name, fixture.spec, scale=scale, anchor=anchor, context=context)


def _stream(fixture: TableFixture, *, anchor: datetime, scale: int, context: _Context) -> Iterator[tuple[Any, ...]]:
    if fixture.spec is None:
        return resolved(fixture, anchor)
    return generate.rows(
        fixture.table.name,
        fixture.spec,
        scale=scale,
        anchor=anchor,
        context=context,
        columns=fixture.table.columns.keys(),
    )
