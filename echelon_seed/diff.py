"""Golden snapshot versus actual snapshot: what differs, keyed by table, row and column.

Provenance first: a golden file made for another schema revision, other
fixtures or another scale is reported as that, in one sentence, instead of a
wall of row differences. Then digests: equal digests mean equal bytes and
nothing more is read. Only tables whose digests differ are compared row by
row (a hash join on the primary key, one table in memory at a time); against
a manifest, which has no rows, the first block whose digest differs says
where to look.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import canonical, project, snapshot
from .errors import SnapshotError
from .snapshot import Header

__all__ = ["Difference", "Report", "compare"]

DEFAULT_LIMIT = 20


def _show(value: Any) -> str:
    return value if isinstance(value, str) else canonical.dumps(value)


@dataclass(frozen=True)
class Difference:
    """One row or cell that is not as in the golden file."""

    table: str
    key: tuple[Any, ...]
    kind: Literal["changed", "missing", "extra", "table"]
    column: str | None = None
    golden: Any = None
    actual: Any = None
    note: str = ""

    def __str__(self) -> str:
        where = f"{self.table}[{', '.join(_show(k) for k in self.key)}]"
        if self.kind == "changed":
            return f"{where}.{self.column}: golden {_show(self.golden)}, actual {_show(self.actual)}"
        if self.kind == "missing":
            return f"{where}: only in the golden file"
        if self.kind == "extra":
            return f"{where}: only in the database"
        return f"{self.table}: {self.note}"


@dataclass(frozen=True)
class Report:
    """The outcome of a comparison, ready to print."""

    golden: str
    provenance: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    omitted: int = 0
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def matches(self) -> bool:
        return not self.provenance and not self.differences and not self.omitted

    def render(self, regenerate: str) -> str:
        if self.matches:
            return f"matches {self.golden}"
        lines: list[str] = []
        if self.provenance:
            lines += self.provenance
        lines += [str(d) for d in self.differences]
        if self.omitted:
            lines.append(f"(+{self.omitted:,} more differences; --full shows them all)")
        if self.counts:
            parts = []
            for table, counts in sorted(self.counts.items()):
                shown = ", ".join(f"{n:,} {what}" for what, n in sorted(counts.items()))
                parts.append(f"{table}: {shown}")
            lines.append("summary: " + "; ".join(parts))
        lines.append(f"the database differs from {self.golden}; if the change is intended, regenerate it: {regenerate}")
        return "\n".join(lines)


def _provenance(golden: Header, actual: Header) -> list[str]:
    fields = [("schema revision", "schema_revision"), ("fixtures", "fixtures"), ("scale", "scale")]
    changed = [(label, getattr(golden, attr), getattr(actual, attr)) for label, attr in fields]
    changed = [c for c in changed if c[1] != c[2]]
    if not changed:
        return []
    said = ", ".join(f"{label} {_show(g)}" for label, g, _ in changed)
    has = ", ".join(f"{label} {_show(a)}" for label, _, a in changed)
    return [f"the golden file was made for {said}; the database has {has} (row differences not compared)"]


def _groups(stream: Iterator[str]) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
    rows = (json.loads(line) for line in stream)
    for table, group in itertools.groupby(rows, key=lambda pair: pair[0]):
        yield table, (row for _, row in group)


class _Collector:
    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.shown: list[Difference] = []
        self.omitted = 0
        self.counts: dict[str, Counter[str]] = {}

    def add(self, difference: Difference) -> None:
        label = {"changed": "changed", "missing": "only in golden", "extra": "only in database", "table": "differ"}
        self.counts.setdefault(difference.table, Counter())[label[difference.kind]] += 1
        if self.limit is None or len(self.shown) < self.limit:
            self.shown.append(difference)
        else:
            self.omitted += 1


def _compare_rows(
    table: str, key: list[str], golden: Iterator[dict[str, Any]], actual: Iterator[dict[str, Any]], out: _Collector
) -> None:
    def key_of(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row.get(k) for k in key)

    def ident(values: tuple[Any, ...]) -> str:
        return canonical.dumps(list(values))

    expected = {ident(key_of(row)): row for row in golden}
    for row in actual:
        k = key_of(row)
        before = expected.pop(ident(k), None)
        if before is None:
            out.add(Difference(table, k, "extra"))
            continue
        for column in sorted(set(before) | set(row)):
            if before.get(column) != row.get(column) or type(before.get(column)) is not type(row.get(column)):
                out.add(Difference(table, k, "changed", column, before.get(column), row.get(column)))
    for row in expected.values():
        out.add(Difference(table, key_of(row), "missing"))


def _empty() -> Iterator[dict[str, Any]]:
    return iter(())


def compare(golden_path: Path, actual_path: Path, *, limit: int | None = DEFAULT_LIMIT) -> Report:
    """Compare two snapshot files (the golden one may be a manifest: a header alone)."""
    shown = project.display(golden_path)
    with golden_path.open(encoding="utf-8") as golden_file, actual_path.open(encoding="utf-8") as actual_file:
        golden = snapshot.read_header(shown, golden_file)
        actual = snapshot.read_header(str(actual_path), actual_file)
        provenance = _provenance(golden, actual)
        if provenance:
            return Report(golden=shown, provenance=provenance)
        _check_golden_body(golden_path, golden)
        if golden.digest == actual.digest:
            return Report(golden=shown)
        out = _Collector(limit)
        differing = sorted(
            name
            for name in set(golden.tables) | set(actual.tables)
            if (g := golden.tables.get(name)) is None or (a := actual.tables.get(name)) is None or g.digest != a.digest
        )
        has_rows = golden_file.readline()
        if not has_rows:
            _compare_manifest(golden, actual, differing, out)
        else:
            golden_stream = itertools.chain([has_rows], golden_file)
            _compare_bodies(golden, actual, differing, _groups(golden_stream), _groups(actual_file), out)
    return Report(golden=shown, differences=out.shown, omitted=out.omitted, counts=out.counts)


def _check_golden_body(path: Path, header: Header) -> None:
    """Refuse a golden file whose rows are not the ones its header digests (hand-edited, cut short)."""
    body = hashlib.sha256()
    with path.open("rb") as stream:
        stream.readline()
        first = stream.readline()
        if not first:
            return  # a manifest: the header is all there is
        body.update(first)
        while chunk := stream.read(2**20):
            body.update(chunk)
    if "sha256:" + body.hexdigest() != header.digest:
        raise SnapshotError(
            f"{project.display(path)} is inconsistent: its rows do not match the digest in its header "
            "(edited by hand or cut short?); regenerate it with 'echelon-seed verify --update'"
        )


def _compare_bodies(
    golden: Header,
    actual: Header,
    differing: list[str],
    golden_groups: Iterator[tuple[str, Iterator[dict[str, Any]]]],
    actual_groups: Iterator[tuple[str, Iterator[dict[str, Any]]]],
    out: _Collector,
) -> None:
    # Both bodies list tables in name order, so the two streams are walked side by side.
    pending_golden = next(golden_groups, None)
    pending_actual = next(actual_groups, None)
    for table in differing:
        while pending_golden is not None and pending_golden[0] < table:
            pending_golden = next(golden_groups, None)
        while pending_actual is not None and pending_actual[0] < table:
            pending_actual = next(actual_groups, None)
        g_rows = pending_golden[1] if pending_golden is not None and pending_golden[0] == table else _empty()
        a_rows = pending_actual[1] if pending_actual is not None and pending_actual[0] == table else _empty()
        summary = golden.tables.get(table) or actual.tables[table]
        _compare_rows(table, summary.key, g_rows, a_rows, out)


def _compare_manifest(golden: Header, actual: Header, differing: list[str], out: _Collector) -> None:
    for table in differing:
        g, a = golden.tables.get(table), actual.tables.get(table)
        if g is None or a is None:
            note = "only in the database" if g is None else "only in the golden manifest"
            out.add(Difference(table, (), "table", note=note))
            continue
        first = next(
            (gb or ab for gb, ab in itertools.zip_longest(g.blocks, a.blocks) if gb != ab),
            None,
        )
        where = f"; first differing block starts at key ({', '.join(_show(k) for k in first.first)})" if first else ""
        out.add(Difference(table, (), "table", note=f"{a.rows:,} rows (golden {g.rows:,}), digest differs{where}"))
