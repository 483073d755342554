"""Golden snapshot versus actual snapshot: the verdict, and what differs, grouped for a reader.

The verdict is digest equality and nothing else: two snapshots match when
their digests (schema facts, ignore list and every row, see `snapshot`) are
equal, and, when asked (`indexes`, `views`), their indexes and views too.
How the rows got there (schema revision, fixtures, scale: the seed record)
never decides it: a database exported and applied elsewhere is the same
database, and `verify` and `diff` give one answer for one pair. A different
provenance is a note beside the verdict. The rest of this module only
explains a difference, in the order a reviewer needs it:

1. schema: tables and columns only on one side, retyped, made nullable,
   reordered, re-keyed; then the other schema facts grouped by kind
   (`foreign key dropped: film(language_id) → language(language_id)`,
   `default changed: film.rental_rate 4.99 → 2.99`, see `schema_facts`);
2. rows: a summary grouped by table and column (`wing_flaps.volume_usd: 75 of
   75 rows`), then examples spread over the groups, every value a JSON
   literal so that two different values never print alike.

If the explanation finds nothing, the report says that the digests differ: a
difference is never explained away. Only tables whose digests differ are
compared row by row (a hash join on the key, one table in memory at a time);
against a manifest, which has no rows, the first differing block says where
to look.
"""

from __future__ import annotations

import itertools
import json
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import canonical, schema_facts, snapshot
from .errors import DatabaseError
from .schema_facts import Change
from .snapshot import Header, TableSummary

__all__ = ["DEFAULT_LIMIT", "Difference", "Group", "Report", "compare", "literal"]

DEFAULT_LIMIT = 20
GOLDEN = "the golden file"


def _escape(char: str) -> str:
    return json.dumps(char)[1:-1]  # \uXXXX (a surrogate pair beyond the BMP)


def literal(value: Any) -> str:
    """`value` as a JSON literal a person can tell apart from any other.

    Strings are quoted ("null" is not null, "" is visible, a trailing space
    sits inside the quotes), a newline is \\n so one difference stays one
    line, and characters that do not show (controls, combining marks, format
    characters, spaces other than the plain space) are escaped, so NFC and
    NFD "Café" print differently.
    """
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if text.isascii():
        return text
    return "".join(
        char
        if char.isascii() or (char.isprintable() and unicodedata.category(char) not in ("Mn", "Me", "Cf", "Zs"))
        else _escape(char)
        for char in text
    )


def _rows(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Difference:
    """One row or cell that is not as in the golden file (or one table, against a manifest)."""

    table: str
    key: tuple[Any, ...]
    kind: Literal["changed", "missing", "extra", "table"]
    column: str | None = None
    golden: Any = None
    actual: Any = None
    note: str = ""
    actual_side: str = "the database"
    golden_side: str = GOLDEN

    def __str__(self) -> str:
        where = f"{self.table}[{','.join(literal(k) for k in self.key)}]"
        if self.kind == "changed":
            return f"{where}.{self.column}: golden {literal(self.golden)}, actual {literal(self.actual)}"
        if self.kind == "missing":
            return f"{where}: only in {self.golden_side}"
        if self.kind == "extra":
            return f"{where}: only in {self.actual_side}"
        return f"{self.table}: {self.note}"


@dataclass
class Group:
    """Differences of one kind in one place: a column's changed cells, a table's missing/extra rows."""

    table: str
    column: str | None
    changed: int = 0
    missing: int = 0
    extra: int = 0
    compared: int = 0
    note: str = ""
    examples: list[Difference] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.changed + self.missing + self.extra + (1 if self.note else 0)

    def describe(self, actual_side: str, golden_side: str = GOLDEN) -> str:
        if self.note:
            return f"{self.table}: {self.note}"
        if self.column is not None:
            return f"{self.table}.{self.column}: {self.changed:,} of {_rows(self.compared)}"
        parts = []
        if self.extra:
            parts.append(f"{_rows(self.extra)} only in {actual_side}")
        if self.missing:
            parts.append(
                f"{self.missing:,} only in {golden_side}" if parts else f"{_rows(self.missing)} only in {golden_side}"
            )
        return f"{self.table}: {', '.join(parts)}"


@dataclass
class Report:
    """The outcome of a comparison: the verdict (`matches`) and its explanation, ready to print."""

    golden: str
    golden_header: Header
    actual_header: Header
    actual_side: str = "the database"
    golden_side: str = GOLDEN
    provenance: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    limit: int | None = DEFAULT_LIMIT
    physical_differs: bool = False

    @property
    def schema(self) -> list[str]:
        """The schema differences as lines, grouped by kind: what the text report prints under "schema:"."""
        return [str(c) for c in self.changes]

    @property
    def golden_digest(self) -> str:
        return self.golden_header.digest

    @property
    def actual_digest(self) -> str:
        return self.actual_header.digest

    @property
    def matches(self) -> bool:
        """Digest equality (and indexes and views, when asked): nothing else ever makes two snapshots equal."""
        return self.golden_digest == self.actual_digest and not self.physical_differs

    @property
    def differences(self) -> list[Difference]:
        """The example lines: one per group first, then more in turn, up to the limit (all with no limit)."""
        shown: list[Difference] = []
        queues = [iter(g.examples) for g in self.groups]
        for round_ in itertools.count():
            took = False
            for queue in queues:
                if round_ and self.limit is not None and len(shown) >= self.limit:
                    return shown
                example = next(queue, None)
                if example is not None:
                    shown.append(example)
                    took = True
            if not took:
                return shown
        return shown  # pragma: no cover - the loop always returns

    @property
    def total(self) -> int:
        return sum(g.total for g in self.groups)

    @property
    def unexplained(self) -> bool:
        return self.golden_digest != self.actual_digest and not self.changes and not self.groups

    def render(self, regenerate: str | None = None, *, advice: str | None = None) -> str:
        """The report as text; its last line ends with `advice` when given, else with the `regenerate` command."""
        if self.matches:
            return f"matches {self.golden}"
        lines: list[str] = []
        if self.schema:
            lines.append("schema:")
            lines += [f"  {line}" for line in self.schema]
        if self.groups:
            lines.append("rows:")
            lines += [f"  {g.describe(self.actual_side, self.golden_side)}" for g in self.groups]
            examples = self.differences
            shown = [e for e in examples if e.kind != "table"]
            if shown:
                lines.append("examples:" if len(shown) < self.total else "differences:")
                lines += [f"  {e}" for e in shown]
                hidden = self.total - len(examples)
                if hidden > 0:
                    lines.append(f"  (+{hidden:,} more; --full shows them all)")
        if self.unexplained:
            lines.append("no schema or row difference was found, but the digests differ")
        digests = (
            f"golden {self.golden_digest[:19]}…, actual {self.actual_digest[:19]}…"
            if self.golden_digest != self.actual_digest
            else f"same rows and schema, {self.actual_digest[:19]}…, other indexes or views"
        )
        hint = f"; if the change is intended, regenerate it: {regenerate}" if regenerate else ""
        if advice:
            hint = f"; {advice}"
        lines.append(f"{self.actual_side} differs from {self.golden} ({digests}){hint}")
        lines += [f"note: {note}" for note in self.provenance]
        return "\n".join(lines)


# --- provenance and schema -----------------------------------------------------------------------


def _provenance(golden: Header, actual: Header, actual_side: str, golden_side: str = GOLDEN) -> list[str]:
    fields = [("schema revision", "schema_revision"), ("fixtures", "fixtures"), ("scale", "scale")]
    changed = [(label, getattr(golden, attr), getattr(actual, attr)) for label, attr in fields]
    changed = [c for c in changed if c[1] != c[2]]
    lines = []
    if changed:
        said = ", ".join(f"{label} {literal(g)}" for label, g, _ in changed)
        has = ", ".join(f"{label} {literal(a)}" for label, _, a in changed)
        lines.append(
            f"{golden_side} was made for {said}; {actual_side} has {has} (how the rows got there; not compared)"
        )
    return lines


def _ignore_line(golden: Header, actual: Header, actual_side: str, golden_side: str = GOLDEN) -> list[Change]:
    if golden.ignore == actual.ignore:
        return []
    return [
        Change(
            "ignore list",
            None,
            f"{golden_side} was made ignoring {_patterns(golden.ignore)}; {actual_side} was read ignoring "
            f"{_patterns(actual.ignore)} (give the same --ignore options, or regenerate the golden file)",
            plain=True,
        )
    ]


def _patterns(patterns: list[str]) -> str:
    return " ".join(f"--ignore {p}" for p in patterns) if patterns else "no columns"


def _schema(
    golden: Header, actual: Header, actual_side: str, golden_side: str = GOLDEN, *, indexes: bool, views: bool
) -> list[Change]:
    """Tables, columns, types, nullability, order and keys first (one line each), then the other facts by kind."""
    lines: list[Change] = []
    shared: dict[str, set[str]] = {}
    for name in sorted(set(golden.tables) | set(actual.tables)):
        g, a = golden.tables.get(name), actual.tables.get(name)
        if g is None or a is None:
            only, where = (a, actual_side) if g is None else (g, golden_side)
            assert only is not None
            kind = "table dropped" if a is None else "table added"
            lines.append(Change(kind, name, f"{name}: table only in {where} ({_rows(only.rows)})", plain=True))
            continue
        g_cols = {c.name: c for c in g.columns}
        a_cols = {c.name: c for c in a.columns}
        for col in g.columns:
            if col.name not in a_cols:
                lines.append(
                    Change(
                        "column dropped",
                        name,
                        f"{name}: column {col.name} ({col.describe()}) only in {golden_side}",
                        plain=True,
                    )
                )
        for col in a.columns:
            if col.name not in g_cols:
                lines.append(
                    Change(
                        "column added",
                        name,
                        f"{name}: column {col.name} ({col.describe()}) only in {actual_side}",
                        plain=True,
                    )
                )
        for col in g.columns:
            other = a_cols.get(col.name)
            if other is None:
                continue
            if other.kind != col.kind:
                lines.append(
                    Change(
                        "type changed",
                        name,
                        f"{name}.{col.name}: {col.kind} in {golden_side}, {other.kind} in {actual_side}",
                        plain=True,
                    )
                )
            if other.nullable != col.nullable:
                lines.append(
                    Change(
                        "nullability changed",
                        name,
                        f"{name}.{col.name}: {'nullable' if col.nullable else 'not null'} in {golden_side}, "
                        f"{'nullable' if other.nullable else 'not null'} in {actual_side}",
                        plain=True,
                    )
                )
        g_order = [c for c in g.column_names if c in a_cols]
        a_order = [c for c in a.column_names if c in g_cols]
        if g_order != a_order:
            lines.append(
                Change(
                    "column order changed",
                    name,
                    f"{name}: columns in another order ({golden_side}: {', '.join(g_order)}; {actual_side}: {', '.join(a_order)})",
                    plain=True,
                )
            )
        if g.key != a.key:
            lines.append(
                Change(
                    "key changed",
                    name,
                    f"{name}: key ({', '.join(g.key)}) in {golden_side}, ({', '.join(a.key)}) in {actual_side}",
                    plain=True,
                )
            )
        shared[name] = set(g_cols) & set(a_cols)
    structural = {kind: i for i, kind in enumerate(_STRUCTURAL)}
    lines.sort(key=lambda c: structural[c.kind])
    facts = schema_facts.compare(golden.facts, actual.facts, shared, indexes=indexes, views=views)
    return lines + facts


_STRUCTURAL = (
    "ignore list",
    "table dropped",
    "table added",
    "column dropped",
    "column added",
    "type changed",
    "nullability changed",
    "column order changed",
    "key changed",
)


# --- rows ------------------------------------------------------------------------------------------


def _same(x: Any, y: Any) -> bool:
    """Equal as canonical JSON: 1 is not 1.0 or true, "1" is not 1."""
    if x is y:
        return True
    if type(x) is not type(y) or x != y:
        return False
    return not isinstance(x, (dict, list)) or canonical.dumps(x) == canonical.dumps(y)


class _Collector:
    """Groups differences by table and column as they are found, keeping at most `limit` examples each."""

    def __init__(self, limit: int | None, actual_side: str, golden_side: str = GOLDEN) -> None:
        self.limit = limit
        self.actual_side = actual_side
        self.golden_side = golden_side
        self.groups: dict[tuple[str, str | None], Group] = {}

    def group(self, table: str, column: str | None) -> Group:
        found = self.groups.get((table, column))
        if found is None:
            found = self.groups[(table, column)] = Group(table, column)
        return found

    def add(self, difference: Difference) -> None:
        group = self.group(difference.table, difference.column)
        if difference.kind == "changed":
            group.changed += 1
        elif difference.kind == "missing":
            group.missing += 1
        elif difference.kind == "extra":
            group.extra += 1
        else:
            group.note = difference.note
        if self.limit is None or len(group.examples) < self.limit:
            group.examples.append(difference)

    def ordered(self) -> list[Group]:
        # Table by table; within a table, missing/extra rows first, then columns by name.
        return [self.groups[k] for k in sorted(self.groups, key=lambda k: (k[0], k[1] is not None, k[1] or ""))]


def _compare_rows(
    table: str,
    key: list[str],
    columns: list[str],
    golden: Iterator[dict[str, Any]],
    actual: Iterator[dict[str, Any]],
    out: _Collector,
) -> None:
    def key_of(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row.get(k) for k in key)

    expected: dict[str, dict[str, Any]] = {}
    for row in golden:
        expected.setdefault(canonical.dumps(list(key_of(row))), row)
    compared = 0
    counts: Counter[str] = Counter()
    for row in actual:
        k = key_of(row)
        before = expected.pop(canonical.dumps(list(k)), None)
        if before is None:
            out.add(Difference(table, k, "extra", actual=row, actual_side=out.actual_side, golden_side=out.golden_side))
            continue
        compared += 1
        for column in columns:
            old, new = before.get(column), row.get(column)
            if not _same(old, new):
                counts[column] += 1
                out.add(
                    Difference(
                        table, k, "changed", column, old, new, actual_side=out.actual_side, golden_side=out.golden_side
                    )
                )
    for row in expected.values():
        out.add(
            Difference(
                table, key_of(row), "missing", golden=row, actual_side=out.actual_side, golden_side=out.golden_side
            )
        )
    for column in counts:
        out.group(table, column).compared = compared


def _groups(stream: Iterator[str]) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
    rows = (json.loads(line) for line in stream)
    for table, group in itertools.groupby(rows, key=lambda pair: pair[0]):
        yield table, (row for _, row in group)


def _comparable(g: TableSummary, a: TableSummary) -> list[str] | None:
    """The columns both sides have, in the golden order; None when rows cannot be matched (another key)."""
    if g.key != a.key:
        return None
    shared = set(a.column_names)
    return [c for c in g.column_names if c in shared and c not in g.key]


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
        g_rows = pending_golden[1] if pending_golden is not None and pending_golden[0] == table else iter(())
        a_rows = pending_actual[1] if pending_actual is not None and pending_actual[0] == table else iter(())
        columns = _comparable(golden.tables[table], actual.tables[table])
        if columns is not None:
            _compare_rows(table, golden.tables[table].key, columns, g_rows, a_rows, out)


def _compare_manifest(golden: Header, actual: Header, differing: list[str], out: _Collector) -> None:
    for table in differing:
        g, a = golden.tables[table], actual.tables[table]
        first = next(
            (gb or ab for gb, ab in itertools.zip_longest(g.blocks, a.blocks) if gb != ab),
            None,
        )
        if first is None and g.rows == a.rows:
            continue  # the same rows: the schema lines explain the digest
        where = f"; first differing block starts at key {literal(first.first)}" if first else ""
        note = f"{a.rows:,} rows (golden {g.rows:,}), digest differs{where}"
        out.add(Difference(table, (), "table", note=note, actual_side=out.actual_side, golden_side=out.golden_side))


# --- the comparison ---------------------------------------------------------------------------------


def _refuse_empty(golden: Header, actual: Header, golden_label: str, actual_label: str) -> None:
    """One rule for empty, whichever side and whatever each side is (a database or a snapshot file).

    A snapshot of a database with no tables (and no schema revision) is never
    compared, not even with another empty one, whose digest is the same: two
    empty databases "matching" would pass a gate that checked nothing.
    """
    for header, label, other in ((actual, actual_label, golden_label), (golden, golden_label, actual_label)):
        if not header.tables and header.schema_revision is None:
            raise DatabaseError(
                f"{label} is empty (no tables): there is nothing to compare with {other}; "
                "an empty database is never compared, on either side"
            )


def _refuse_incomparable(golden: Header, actual: Header, golden_label: str, actual_label: str) -> None:
    """Exit 2, not 1: the database is not a version of what the golden file describes at all."""
    if golden.schema_revision is not None and actual.schema_revision is None:
        raise DatabaseError(
            f"{actual_label} is not migrated (no alembic_version; {golden_label} is of schema revision "
            f"{golden.schema_revision}): it is not a database that golden file can describe"
        )
    if (
        golden.fixtures is not None
        and actual.fixtures is None
        and golden.schema_revision == actual.schema_revision
        and _same_schema(golden, actual)
    ):
        # Without the seed record there is no anchor: its times cannot be read relative to one,
        # so a row diff would be every timestamp. Saying what is missing is the useful answer.
        raise DatabaseError(
            f"not seeded by echelon-seed: {actual_label} has the schema of {golden_label} but no seed record "
            f"(the golden file is of fixtures {golden.fixtures[:19]}…, scale {golden.scale}); "
            "seed it with 'echelon-seed apply', or compare it with a golden file made from an unseeded database"
        )


def _same_schema(golden: Header, actual: Header) -> bool:
    return {n: (t.columns, t.key) for n, t in golden.tables.items()} == {
        n: (t.columns, t.key) for n, t in actual.tables.items()
    }


def compare(
    golden_path: Path,
    actual_path: Path,
    *,
    limit: int | None = DEFAULT_LIMIT,
    golden_label: str | None = None,
    actual_label: str = "the database",
    actual_side: str = "the database",
    golden_side: str = GOLDEN,
    check_actual: bool = False,
    indexes: bool = False,
    views: bool = False,
) -> Report:
    """Compare two snapshot files (either may be a manifest: a header alone); the golden one is checked first.

    `indexes` and `views` add those sections to the verdict. Raises
    `SnapshotError` for an unreadable or inconsistent file and
    `DatabaseError` when the actual side differs and is empty, unmigrated,
    or differs from a seeded golden file only by having no seed record (exit 2).
    """
    shown = golden_label or str(golden_path)
    with golden_path.open("rb") as raw:
        golden = snapshot.check_consistent(shown, raw)
    if check_actual:
        with actual_path.open("rb") as raw:
            snapshot.check_consistent(actual_label, raw)
    with golden_path.open(encoding="utf-8") as golden_file, actual_path.open(encoding="utf-8") as actual_file:
        golden_file.readline()
        actual = snapshot.read_header(actual_label, actual_file)
        report = Report(
            golden=shown,
            golden_header=golden,
            actual_header=actual,
            actual_side=actual_side,
            golden_side=golden_side,
            provenance=_provenance(golden, actual, actual_side, golden_side),
            limit=limit,
        )
        _refuse_empty(golden, actual, shown, actual_label)
        if golden.digest == actual.digest:
            physical = schema_facts.compare_physical(golden.facts, actual.facts, indexes=indexes, views=views)
            report.changes = physical
            report.physical_differs = bool(physical)
            return report
        _refuse_incomparable(golden, actual, shown, actual_label)
        report.changes = _ignore_line(golden, actual, actual_side, golden_side) + _schema(
            golden, actual, actual_side, golden_side, indexes=indexes, views=views
        )
        report.physical_differs = any(c.kind.startswith(("index", "view")) for c in report.changes)
        out = _Collector(limit, actual_side, golden_side)
        differing = sorted(
            name
            for name in set(golden.tables) & set(actual.tables)
            if golden.tables[name].digest != actual.tables[name].digest
        )
        golden_first = golden_file.readline()
        actual_first = actual_file.readline()
        if not golden_first or not actual_first:
            _compare_manifest(golden, actual, differing, out)
        else:
            _compare_bodies(
                golden,
                actual,
                differing,
                _groups(itertools.chain([golden_first], golden_file)),
                _groups(itertools.chain([actual_first], actual_file)),
                out,
            )
        report.groups = out.ordered()
    return report
