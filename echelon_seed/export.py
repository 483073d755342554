"""A database to fixture files: the rows `apply` reads back into the same snapshot body.

Values are written in each column's fixture form, which is its canonical
snapshot form (`canonical`) except binary data, which fixtures hold as
base64: so `export D`, `apply` into an empty E with D's anchor, and
`snapshot(E)` give back the body of `snapshot(D)` byte for byte. Aware
timestamps are written relative to an anchor ("now-4h") or, without one,
as absolute UTC times with a zone, which `fixtures` accepts too.

A selection (`--root TABLE:KEY`, `--tables T,...`) is closed over the
foreign keys: every row a selected row references is selected too,
transitively, so a subset applies cleanly into an empty database whatever
the graph (self-references and cycles included). Generated tables are
written as their rows. Rows go out in key order (text by code point), with
a self-referencing table's parents before their children and a table
without a key in the order of its lines, one row per line.

The files are written into a temporary sibling directory, checked with
`fixtures.check` (the same check `apply` and `echelon-seed check` run) and
renamed into place only then, so an interrupted or refused export leaves
nothing half-written.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import (
    DateTime,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    Uuid,
    and_,
    inspect,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import NullType

from . import canonical, clock, fixtures, progress, types
from . import project as projects
from .engines import Backend, table_names
from .errors import ConfigError, DatabaseError, FixtureError, FixtureProblem, RefusedError
from .project import Project
from .tool_tables import TOOL_TABLES
from .types.other import reflecting

if TYPE_CHECKING:
    from .mask import Masker

__all__ = [
    "Root",
    "Selection",
    "check_destination",
    "check_target",
    "counts_of",
    "describe_anchor",
    "parse_root",
    "per_column",
    "read_selection",
    "staged_directory",
    "write_tables",
]

_BATCH = 5_000
_IN_CHUNK = 500


@dataclass(frozen=True)
class Root:
    """One `--root TABLE:KEY`: a row whose closure is exported."""

    table: str
    key: tuple[Any, ...]
    text: str


@dataclass
class Selection:
    """The rows a subset export writes, per table, keyed by primary key (or by the whole row)."""

    rows: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=dict)
    #: Tables the user asked for (by --tables or --root); the others were added for the foreign keys.
    asked: set[str] = field(default_factory=set)


# --- parsing --root --------------------------------------------------------------------------------


def _key_value(column: Any, text: str, where: str) -> Any:
    """One key part typed as its column: what a bind parameter of that column takes."""
    type_ = column.type
    try:
        if isinstance(type_, Integer):
            return int(text)
        if isinstance(type_, Uuid):
            parsed = uuid.UUID(text)
            return parsed if type_.as_uuid else str(parsed)
        if types.is_moment(column.type):
            return clock.parse_anchor(text)
        if isinstance(type_, DateTime):
            return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: {text!r} does not fit column {column.name} ({exc})") from None
    if isinstance(type_, String):
        return text
    raise ConfigError(f"{where}: a key of type {type_!r} (column {column.name}) cannot be given on the command line")


def parse_root(text: str, project: Project) -> Root:
    """`TABLE:KEY` or `TABLE:k1,k2` (a composite key, in key-column order) to a typed Root."""
    where = f"--root {text}"
    name, sep, key_text = text.partition(":")
    tables = {t.name: t for t in project.tables}
    if not sep or not name or not key_text:
        raise ConfigError(f"{where}: expected TABLE:KEY (composite keys: TABLE:k1,k2)")
    table = tables.get(name)
    if table is None:
        raise ConfigError(f"{where}: project {project.name!r} has no table {name!r}; known: {', '.join(tables)}")
    key_columns = list(table.primary_key.columns)
    if not key_columns:
        raise ConfigError(f"{where}: table {name} has no primary key, so no row of it can be named")
    parts = key_text.split(",")
    if len(parts) != len(key_columns):
        names = ", ".join(c.name for c in key_columns)
        raise ConfigError(
            f"{where}: table {name} has a key of {len(key_columns)} column(s) ({names}), got {len(parts)}"
        )
    key = tuple(_key_value(c, part, where) for c, part in zip(key_columns, parts, strict=True))
    return Root(table=name, key=key, text=text)


# --- the database side -----------------------------------------------------------------------------


def _check_schema(sync: Connection, project: Project) -> list[str]:
    """Refuse a database whose tables are not the project's columns; return the tables left out."""
    with reflecting():
        return _compare_schema(sync, project)


def _compare_schema(sync: Connection, project: Project) -> list[str]:
    inspector = inspect(sync)
    present = set(table_names(sync))
    for table in project.tables:
        if table.name not in present:
            raise DatabaseError(
                f"the database has no table {table.name!r} of project {project.name!r}: "
                "is it migrated? ('echelon-seed status' shows its schema revision)"
            )
        found = [c["name"] for c in inspector.get_columns(table.name)]
        extra = [c for c in found if c not in table.columns]
        missing = [c for c in table.columns.keys() if c not in found]
        if extra:
            raise DatabaseError(
                f"column {table.name}.{extra[0]} is in the database but not in the models of project "
                f"{project.name!r}: the export would lose it (add it to the models and migrations first)"
            )
        if missing:
            raise DatabaseError(
                f"column {table.name}.{missing[0]} of project {project.name!r} is not in the database: "
                "is it at the project's schema revision?"
            )
    owned = {t.name for t in project.tables}
    return sorted(name for name in present if name not in owned and name not in TOOL_TABLES)


async def check_target(conn: AsyncConnection, project: Project) -> list[str]:
    """Check that the database holds the project's tables as declared; the other tables, not exported."""
    return await conn.run_sync(_check_schema, project)


def _reading(table: Table, backend: Backend) -> list[Any]:
    """The table's columns as an export reads them.

    Key and foreign-key columns are typed values (rows are matched and
    followed by them); every other column is read as the snapshot reads it,
    as the driver returns it (`type_coerce` to NullType: no SQLAlchemy result
    processing, as in a stream) and as the server prints it where the type's
    family says so (`types.read_of`).
    """
    keyish = {c.name for c in table.primary_key.columns} | {fk.parent.name for fk in table.foreign_keys}
    terms: list[Any] = []
    for column in table.columns:
        if column.name in keyish:
            terms.append(column)
            continue
        kind = types.kind_of(column.type)
        how = types.read_of(column.type) or ("text" if kind.name == "decimal" else None)
        terms.append(type_coerce(backend.read_term(column, how), NullType()).label(column.name))
    return terms


def _key_of(table: Table, row: Sequence[Any]) -> tuple[Any, ...]:
    names = table.columns.keys()
    key = [names.index(c.name) for c in table.primary_key.columns]
    return tuple(row[i] for i in key) if key else tuple(row)


def _matching(columns: Sequence[Any], values: Sequence[tuple[Any, ...]]) -> Any:
    if len(columns) == 1:
        return columns[0].in_([v[0] for v in values])
    return or_(*(and_(*(c == v for c, v in zip(columns, value, strict=True))) for value in values))


async def read_selection(
    conn: AsyncConnection,
    project: Project,
    *,
    tables: Sequence[str] = (),
    roots: Sequence[Root] = (),
    backend: Backend | None = None,
) -> Selection:
    """The rows of `tables` and `roots`, closed over every foreign key (transitively)."""
    by_name = {t.name: t for t in project.tables}

    def reading(table: Table) -> list[Any]:
        return list(table.columns) if backend is None else _reading(table, backend)

    selection = Selection(asked=set(tables) | {r.table for r in roots})
    fresh: list[tuple[Table, tuple[Any, ...]]] = []

    def add(table: Table, row: tuple[Any, ...]) -> None:
        chosen = selection.rows.setdefault(table.name, {})
        key = _key_of(table, row)
        if key not in chosen:
            chosen[key] = row
            fresh.append((table, row))

    for name in tables:
        table = by_name[name]
        for row in (await conn.execute(select(*reading(table)))).all():
            add(table, tuple(row))
    for root in roots:
        table = by_name[root.table]
        found = (
            await conn.execute(select(*reading(table)).where(_matching(list(table.primary_key.columns), [root.key])))
        ).first()
        if found is None:
            keys = ", ".join(c.name for c in table.primary_key.columns)
            raise ConfigError(f"--root {root.text}: no row of {root.table} has {keys} = {root.text.partition(':')[2]}")
        add(table, tuple(found))
    looked_up: set[tuple[str, tuple[str, ...], tuple[Any, ...]]] = set()
    while fresh:
        wanted: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
        batch, fresh = fresh, []
        for table, selected in batch:
            names = table.columns.keys()
            for constraint in sorted(
                (c for c in table.constraints if isinstance(c, ForeignKeyConstraint)), key=lambda c: list(c.column_keys)
            ):
                values = tuple(selected[names.index(c.name)] for c in constraint.columns)
                if any(v is None for v in values):
                    continue  # MATCH SIMPLE: a key with a NULL part references nothing
                target = constraint.referred_table.name
                columns = tuple(e.column.name for e in constraint.elements)
                if (target, columns, values) not in looked_up:
                    looked_up.add((target, columns, values))
                    wanted.setdefault((target, columns), []).append(values)
        for (target, columns), value_list in sorted(wanted.items(), key=lambda item: item[0]):
            table = by_name[target]
            referred = [table.columns[c] for c in columns]
            seen: set[tuple[Any, ...]] = set()
            for start in range(0, len(value_list), _IN_CHUNK):
                chunk = value_list[start : start + _IN_CHUNK]
                query = select(*reading(table)).where(_matching(referred, chunk))
                for row in (await conn.execute(query)).all():
                    seen.add(tuple(row[table.columns.keys().index(c)] for c in columns))
                    add(table, tuple(row))
            missing = [v for v in value_list if v not in seen]
            if missing:
                shown = ", ".join(map(str, missing[0]))
                raise DatabaseError(
                    f"a row references {target}({', '.join(columns)}) = {shown}, which does not exist "
                    "(foreign keys were not enforced when it was written); fix the database or export another subset"
                )
    return selection


# --- values and files ------------------------------------------------------------------------------


class _ValueError(ValueError):
    pass


def _value_writer(table: Table, anchor: datetime | None) -> Any:
    """A function from a database row (raw or typed) to its fixture object, columns in table order."""
    steps = []
    for column in table.columns:
        kind = canonical.kind_of(column.type)
        steps.append((column.name, kind, types.is_moment(column.type)))

    def to_fixture(row: Sequence[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (name, kind, moment), value in zip(steps, row, strict=True):
            try:
                out[name] = _fixture_value(kind, value, anchor if moment else None)
            except (ValueError, TypeError) as exc:
                raise _ValueError(f"column {name!r}: {exc}") from None
        return out

    return to_fixture


def _fixture_value(kind: canonical.Kind, value: Any, anchor: datetime | None) -> Any:
    if value is None:
        return None
    if kind.name == "bytes" and isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind.item is not None and kind.item.name in ("bytes", "float") and isinstance(value, list | tuple):
        return [_fixture_value(kind.item, v, None) for v in value]
    if kind.name == "float" and isinstance(value, float | int) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number, which fixtures cannot hold")
    return canonical.canonical_value(kind, value, anchor)


def _parents_first(table: Table, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows in key order, each moved after the rows of its own table that it references."""
    names = table.columns.keys()
    links = [
        ([names.index(c.name) for c in fk.columns], [names.index(e.column.name) for e in fk.elements])
        for fk in table.constraints
        if isinstance(fk, ForeignKeyConstraint) and fk.referred_table is table
    ]
    if not links:
        return rows
    index: list[dict[tuple[Any, ...], int]] = [
        {tuple(row[i] for i in referred): n for n, row in enumerate(rows)} for _, referred in links
    ]
    done: set[int] = set()
    ordered: list[tuple[Any, ...]] = []
    for start in range(len(rows)):
        stack = [(start, False)]
        while stack:
            n, expanded = stack.pop()
            if n in done:
                continue
            if expanded:
                done.add(n)
                ordered.append(rows[n])
                continue
            stack.append((n, True))
            for (own, _), lookup in zip(links, index, strict=True):
                parent = lookup.get(tuple(rows[n][i] for i in own))
                if parent is not None and parent not in done and parent != n:
                    stack.append((parent, False))
    return ordered


def _lines(
    table: Table, rows: Iterable[Sequence[Any]], anchor: datetime | None, shown: str, before: int = 0
) -> Iterator[str]:
    to_fixture = _value_writer(table, anchor)
    for number, row in enumerate(rows, start=before + 1):
        try:
            document = to_fixture(row)
        except _ValueError as exc:
            raise DatabaseError(f"{shown} row {number} (key {_key_text(table, row)}): {exc}") from None
        yield json.dumps(document, ensure_ascii=False, allow_nan=False)


def _key_text(table: Table, row: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in _key_of(table, row)) if table.primary_key.columns else "no key"


class _FileWriter:
    """One fixture file, `{"rows": [` then one row per line, written as the rows arrive."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.count = 0
        out.write('{"rows": [')

    def write(self, lines: Iterable[str]) -> int:
        before = self.count
        for line in lines:
            self.out.write("\n" if self.count == 0 else ",\n")
            self.out.write(line)
            self.count += 1
        return self.count - before

    def close(self) -> None:
        self.out.write("]}\n" if self.count == 0 else "\n]}\n")


async def write_tables(
    conn: AsyncConnection,
    backend: Backend,
    project: Project,
    directory: Path,
    *,
    anchor: datetime | None,
    selection: Selection | None = None,
    reporter: progress.Reporter | None = None,
    mask: Masker | None = None,
) -> dict[str, int]:
    """Write one fixture file per table into `directory` (every table, or the selection's); rows per table.

    With `mask`, each table's rows are masked on their way to fixture form; a
    table whose key is masked is then ordered by its masked keys, so that the
    order of a file does not tell the order of the original keys (such a table
    is held in memory; the others stream as without a mask).
    """
    reporter = reporter or progress.NullReporter()
    written: dict[str, int] = {}
    for table in project.tables:
        if selection is not None and table.name not in selection.rows:
            continue
        path = directory / f"{table.name}.json"
        reporter.start(table.name, None)
        with path.open("w", encoding="utf-8", newline="\n") as out:
            writer = _FileWriter(out)
            streams = selection is None and table.primary_key.columns and not _self_referencing(table)
            if streams and (mask is None or not mask.reorders(table)):
                # Key order from the server, through a cursor: memory stays flat however large the table.
                query = select(*_reading(table, backend)).order_by(
                    *[backend.sort_key(c) for c in table.primary_key.columns]
                )
                async for batch in backend.stream(conn, query, _BATCH):
                    masked = batch if mask is None else list(mask.rows(table, batch))
                    reporter.advance(writer.write(_lines(table, masked, anchor, path.name, writer.count)))
            else:
                if selection is not None:
                    rows = list(selection.rows[table.name].values())
                else:
                    rows = [tuple(r) for r in (await conn.execute(select(*_reading(table, backend)))).all()]
                if mask is not None:
                    rows = list(mask.rows(table, rows))
                if table.primary_key.columns:
                    rows.sort(key=lambda row: _sort_key(table, row))
                    lines: Iterable[str] = _lines(table, _parents_first(table, rows), anchor, path.name)
                else:  # no key: the rows in the order of their lines (the snapshot orders them so too)
                    lines = sorted(_lines(table, rows, anchor, path.name))
                reporter.advance(writer.write(lines))
            writer.close()
        reporter.finish()
        written[table.name] = writer.count
    return written


def _self_referencing(table: Table) -> bool:
    return any(isinstance(c, ForeignKeyConstraint) and c.referred_table is table for c in table.constraints)


def _sort_key(table: Table, row: Sequence[Any]) -> tuple[Any, ...]:
    """Key order as the server gives it to a full export: typed values, text by code point."""
    return tuple(
        (value is not None, str(value) if isinstance(value, uuid.UUID) else value) for value in _key_of(table, row)
    )


# --- the directory -----------------------------------------------------------------------------------


def check_destination(target: Path, *, force: bool) -> None:
    """Refuse, before any work, a destination that is a file or a non-empty directory without --force."""
    if target.exists() and not target.is_dir():
        raise ConfigError(f"-o {projects.display(target)}: it is a file; give a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise RefusedError(
            f"refusing to write into {projects.display(target)}: it is not empty; "
            "--force replaces its contents, or give -o a new directory"
        )


class staged_directory:  # noqa: N801 - used as a context manager, like tempfile's
    """A temporary sibling of `target` that replaces it when the block ends well, and vanishes otherwise."""

    def __init__(self, target: Path, project: Project) -> None:
        self.target = target
        self.project = project
        self.path = Path()

    def __enter__(self) -> Path:
        parent = self.target.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.export-", dir=parent))
        return self.path

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        problems = fixtures.check(self.path, self.project)
        if problems:
            shutil.rmtree(self.path, ignore_errors=True)
            raise FixtureError(
                per_column(problems),
                advice="nothing was written; correct those values in the database, "
                "or export the other tables with --tables",
            )
        target = self.target.resolve()
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / target.name)
        os.replace(self.path, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def per_column(problems: Sequence[FixtureProblem]) -> list[FixtureProblem]:
    """One problem per file and column (the first, with how many rows share it): one line per cause."""
    first: dict[tuple[str, str | None], FixtureProblem] = {}
    count: dict[tuple[str, str | None], int] = {}
    for problem in problems:
        where = (problem.file, problem.column)
        first.setdefault(where, problem)
        count[where] = count.get(where, 0) + 1
    grouped = []
    for where, problem in first.items():
        rows = count[where]
        if rows > 1:
            message = f"{problem.message} (and {rows - 1:,} more row{'s' if rows > 2 else ''} of this column)"
            problem = FixtureProblem(problem.file, message, problem.row, problem.row_id, problem.column)
        grouped.append(problem)
    return grouped


def describe_anchor(anchor: datetime | None) -> str:
    return "absolute times" if anchor is None else f"times relative to {anchor.isoformat()}"


def counts_of(selection: Selection) -> Mapping[str, int]:
    return {name: len(rows) for name, rows in selection.rows.items()}
