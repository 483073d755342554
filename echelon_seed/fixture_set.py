"""A validated fixture directory as plain values: what `fixtures` makes and `plan` orders.

Kept apart from the reading and the checks so that everything downstream
(the plan, the writers, `export-sql`) depends on the values alone, never on
how files are read or judged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table

from . import project, types
from .errors import FixtureProblem

__all__ = ["FixtureSet", "TableFixture", "resolved"]


@dataclass(frozen=True)
class TableFixture:
    """One table's fixture: literal rows (typed, times as offsets) or a generator spec."""

    table: Table
    path: Path
    rows: tuple[tuple[Any, ...], ...] = ()
    spec: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class FixtureSet:
    """A validated fixture directory: what `apply` seeds and `seed_runs` records."""

    directory: Path
    digest: str
    tables: tuple[TableFixture, ...]

    @property
    def anchored(self) -> bool:
        """Whether any value of this seed is placed on the anchor: a relative time, or a generator's rows.

        A seed with none (every time absolute, as `export` writes a database
        echelon-seed did not seed) is the same data at every anchor, so it is
        recorded without one and snapshotted with absolute times.
        """
        for fixture in self.tables:
            if fixture.spec is not None:
                return True
            times = [i for i, c in enumerate(fixture.table.columns) if types.is_moment(c.type)]
            if times and any(isinstance(row[i], timedelta) for row in fixture.rows for i in times):
                return True
        return False

    def fixed_times(self) -> list[FixtureProblem]:
        """Absolute moments in a seed placed on an anchor, one note per column (file, first row, how many).

        A snapshot of an anchored seed shows every moment relative to the
        anchor, so an absolute one reads differently after each reseed: the
        golden file would follow the clock. Said, not refused: the rows are
        valid, and a team may mean it (a gate that ignores the column).
        """
        if not self.anchored:
            return []
        try:
            where = project.display(self.directory)
        except (OSError, RuntimeError):  # a directory that cannot be resolved (a link loop), as given
            where = str(self.directory)
        found: list[FixtureProblem] = []
        for fixture in self.tables:
            for i, column in enumerate(fixture.table.columns):
                if not types.is_moment(column.type):
                    continue
                fixed = [n for n, row in enumerate(fixture.rows, 1) if types.is_fixed_moment(row[i])]
                if fixed:
                    found.append(
                        FixtureProblem(
                            fixture.path.name if where == "." else os.path.join(where, fixture.path.name),
                            f"{len(fixed)} absolute time(s) in a seed whose other times are relative: a snapshot "
                            "shows them relative to each seed's anchor, so the golden file would change with the "
                            'clock; write them relative ("now-3d") or every time absolute',
                            row=fixed[0],
                            column=column.name,
                        )
                    )
        return found

    def table(self, name: str) -> TableFixture | None:
        return next((f for f in self.tables if f.table.name == name), None)


def resolved(fixture: TableFixture, anchor: datetime) -> Iterator[tuple[Any, ...]]:
    """A listed table's rows with its relative times put on the anchor (absolute times stay)."""
    times = [i for i, c in enumerate(fixture.table.columns) if types.is_moment(c.type)]
    for row in fixture.rows:
        values = list(row)
        for i in times:
            if isinstance(values[i], timedelta):
                values[i] = anchor + values[i]
        yield tuple(values)
