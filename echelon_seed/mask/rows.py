"""A checked plan bound to a key: rows in, masked rows out, the originals' digests recorded on the way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Table

from echelon_seed import canonical

from .key import MaskKey
from .leaks import Detector, Recorder
from .policy import Plan

__all__ = ["Masker"]

_Step = tuple[int, Callable[[Any], Any], canonical.Kind, str | None]


class Masker:
    """Masks the rows of one export; one per run, since it gathers the leak digests."""

    def __init__(self, plan: Plan, key: MaskKey) -> None:
        self.plan = plan
        self.recorder = Recorder(key)
        shared: dict[str, Callable[[Any], Any]] = {}
        self._steps: dict[str, list[_Step]] = {}
        for table, rules in plan.tables.items():
            steps: list[_Step] = []
            for index, rule in enumerate(rules):
                if rule.transform.keeps:
                    continue
                # A referencing column uses the very function of the key it references: joins still match.
                name = f"{rule.shared.name}={rule.transform.text}"
                if name not in shared:
                    shared[name] = rule.transform.bind(rule.shared, key)
                steps.append((index, shared[name], rule.kind, rule.shared.name if rule.sensitive else None))
            self._steps[table] = steps

    def reorders(self, table: Table) -> bool:
        """Whether a column of the table's primary key is masked: its rows must then be sorted anew."""
        names = table.columns.keys()
        keys = {names.index(c.name) for c in table.primary_key.columns}
        return any(index in keys for index, *_ in self._steps.get(table.name, ()))

    def rows(self, table: Table, rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
        """`rows` of `table` (columns in table order) with every masked column replaced."""
        steps = self._steps.get(table.name)
        if not steps:
            yield from (tuple(row) for row in rows)
            return
        record = self.recorder.add
        for row in rows:
            values = list(row)
            for index, mask, kind, origin in steps:
                value = values[index]
                if value is None:
                    continue
                value = _neutral(kind, value)
                if origin is not None:
                    record(value, origin)
                values[index] = mask(value)
            yield tuple(values)

    def detector(self) -> Detector:
        return self.recorder.detector(self.plan.unscanned())


def _neutral(kind: canonical.Kind, value: Any) -> Any:
    """The value in the engine-neutral form the transforms (and their digests) read."""
    try:
        return canonical.canonical_value(kind, value, None)
    except (TypeError, ValueError):
        return value  # a fixture's offset time (export-sql) reaches 'date' as a timedelta
