"""The canonical snapshot: a database as bytes that depend only on its data and schema.

Format (`FORMAT`), one JSON value per line, UTF-8:

    line 1      the header: format, schema revision, fixture digest, scale, the
                ignored-column patterns, and per table its columns in order (name,
                canonical kind, nullability), its key, row count and digest; then
                the digest of the whole snapshot
    line 2..    the body: one row per line, `["table",{"column":value,...}]`, tables
                in name order, rows in primary-key order (text by code point)

Digests (why they are built this way: the verdict of `verify` is digest
equality, so everything that makes two databases different must be in them):

    table digest  sha256 of the table's schema line, dumps({"columns":..,"key":..}),
                  a newline, then its body lines; a column added, dropped,
                  retyped or made nullable changes it even when the table is empty
    digest        sha256 of dumps({"ignore": [...], "tables": {name: table digest}});
                  a table added or dropped changes it, empty or not

Both can be recomputed from the file alone (`check_consistent`), so a golden
file edited by hand or cut short is refused rather than trusted; a manifest
(the header alone) can at least be checked for its own arithmetic.

Values are canonical by column type (`canonical`), and times written by the
seeder are relative to the seeding anchor, so the same fixtures give the same
bytes on SQLite and PostgreSQL, whatever the anchor, the client's TZ or the
server's time zone. The two tables echelon-seed keeps for itself are not in
the body: `echelon_seed_alembic_version` is the header's schema revision,
`echelon_seed_runs` its fixture digest and scale (and the anchor the body is
relative to). Every other table is the project's or the database's, whatever
its name (a project's own `seed_runs` or `alembic_version` included).

A column is read with the project's declared type only when the seed record
says the database was seeded into this project's schema (same project name,
same metadata fingerprint), or when echelon-seed's own version table says the
project's migrations built it; otherwise every table is reflected, as for any
foreign database. Provenance (fixtures, scale, the anchor) comes from the
record alone.

The body is streamed through a spooled temporary file while it is hashed, so
memory stays flat however many rows there are; the header, which needs the
digests, is written first when the body is copied out.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import heapq
import itertools
import json
import os
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Column as SAColumn
from sqlalchemy import MetaData, Select, Table, func, literal, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from . import bookkeeping, canonical, forked, migrate, progress, schema_facts, seeder, snapshot_sql, types
from . import project as projects
from .engines import Backend, schema_of, table_names
from .errors import ConfigError, OlderFormatError, SnapshotError
from .project import Project
from .tool_tables import TOOL_TABLES
from .types.other import reflecting

__all__ = [
    "BLOCK_ROWS",
    "FORMAT",
    "Column",
    "Header",
    "TableSummary",
    "capture",
    "check_consistent",
    "ignored",
    "read_header",
    "read_rows",
]

FORMAT = "echelon-seed-snapshot/3"
#: Formats this version can name but not compare: their headers lack the schema facts.
_OLDER = ("echelon-seed-snapshot/1", "echelon-seed-snapshot/2")
#: Rows per block digest in a manifest: a changed row is located to one block.
BLOCK_ROWS = 10_000
_FETCH = 5_000
_SORT_CHUNK = 100_000
#: The share of a big table's rows the child reads on SQLite (`_split_in_child`); this process
#: also reads the small tables and hashes every line.
_CHILD_SHARE = 0.55


def ignored(patterns: Sequence[str], table: str, column: str) -> bool:
    """Whether `--ignore` patterns leave `table.column` out: `col`, `*.col`, `table.*` (fnmatch, case-sensitive)."""
    for pattern in patterns:
        if pattern.startswith(schema_facts.PATTERN_PREFIX):
            continue
        target = f"{table}.{column}" if "." in pattern else column
        if fnmatch.fnmatchcase(target, pattern):
            return True
    return False


@dataclass(frozen=True)
class Column:
    """One column of a table as the header records it."""

    name: str
    kind: str
    nullable: bool

    def describe(self) -> str:
        """ "text, nullable" / "int, not null": how a schema line names it."""
        return f"{self.kind}, {'nullable' if self.nullable else 'not null'}"


@dataclass(frozen=True)
class Block:
    """`rows` consecutive rows starting at key `first`, and their digest."""

    first: list[Any]
    rows: int
    digest: str


def schema_line(columns: Sequence[Column], key: Sequence[str]) -> bytes:
    """The line a table digest starts with: its schema, so that a schema change changes the digest."""
    data: canonical.JSONValue = {"columns": [[c.name, c.kind, c.nullable] for c in columns], "key": list(key)}
    return (canonical.dumps(data) + "\n").encode("utf-8")


def whole_digest(ignore: Sequence[str], tables: dict[str, str], schema: dict[str, Any] | None = None) -> str:
    """The snapshot's digest, from its ignore list, its schema facts and its table digests (see the module docstring)."""
    data: dict[str, Any] = {"ignore": list(ignore), "schema": schema or {}, "tables": dict(sorted(tables.items()))}
    text = canonical.dumps(data)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def physical_digest(physical: dict[str, Any]) -> str:
    """The digest of the indexes and views: not part of the verdict unless asked, but still checked."""
    return "sha256:" + hashlib.sha256(canonical.dumps(physical).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TableSummary:
    """One table in the header: its columns, how its rows are keyed, how many, and their digest."""

    key: list[str]
    rows: int
    digest: str
    columns: list[Column] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    def to_json(self, *, blocks: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "columns": [{"kind": c.kind, "name": c.name, "nullable": c.nullable} for c in self.columns],
            "digest": self.digest,
            "key": self.key,
            "rows": self.rows,
        }
        if blocks:
            out["blocks"] = [[b.first, b.rows, b.digest] for b in self.blocks]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableSummary:
        blocks = [Block(first=list(b[0]), rows=int(b[1]), digest=str(b[2])) for b in data.get("blocks", [])]
        columns = [
            Column(name=str(c["name"]), kind=str(c["kind"]), nullable=bool(c["nullable"])) for c in data["columns"]
        ]
        return cls(
            key=[str(k) for k in data["key"]],
            rows=int(data["rows"]),
            digest=str(data["digest"]),
            columns=columns,
            blocks=blocks,
        )

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class Header:
    """Provenance, schema and digests of a snapshot; on its own, it is a manifest."""

    schema_revision: str | None
    fixtures: str | None
    scale: int | None
    tables: dict[str, TableSummary]
    digest: str
    ignore: list[str] = field(default_factory=list)
    schema: dict[str, Any] = field(default_factory=dict)
    physical: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT

    @property
    def facts(self) -> schema_facts.Facts:
        return schema_facts.Facts.from_json(self.schema, self.physical)

    def to_line(self, *, blocks: bool = False) -> str:
        return canonical.dumps(
            {
                "digest": self.digest,
                "fixtures": self.fixtures,
                "format": self.format,
                "ignore": list[canonical.JSONValue](self.ignore),
                "physical": {**self.physical, "digest": physical_digest(self.physical)},
                "scale": self.scale,
                "schema": self.schema,
                "schema_revision": self.schema_revision,
                "tables": {name: t.to_json(blocks=blocks) for name, t in self.tables.items()},
            }
        )

    @classmethod
    def from_line(cls, line: str, source: str) -> Header:
        try:
            data = json.loads(line)
            if data.get("format") in _OLDER:
                raise OlderFormatError(
                    f"{source} is of the older format {data['format']}, which holds no constraints, defaults, "
                    f"triggers or indexes; this echelon-seed reads {FORMAT}"
                )
            if data.get("format") != FORMAT:
                raise SnapshotError(f"{source} is not a snapshot of format {FORMAT} (found {data.get('format')!r})")
            tables = {str(name): TableSummary.from_json(t) for name, t in data["tables"].items()}
            ignore = data["ignore"]
            if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
                raise TypeError("'ignore' is not a list of patterns")
            scale = data["scale"]
            if scale is not None and type(scale) is not int:
                raise TypeError("'scale' is not a whole number")
            for text_field in ("schema_revision", "fixtures", "digest"):
                if data[text_field] is not None and not isinstance(data[text_field], str):
                    raise TypeError(f"{text_field!r} is not text")
            schema, physical = data["schema"], dict(data["physical"])
            if not isinstance(schema, dict) or not isinstance(schema.get("tables"), dict):
                raise TypeError("'schema' is not a set of schema facts")
            if physical.pop("digest") != physical_digest(physical):
                raise SnapshotError(f"{source} is inconsistent: its indexes and views do not match their digest")
            return cls(
                schema=schema,
                physical=physical,
                schema_revision=data["schema_revision"],
                fixtures=data["fixtures"],
                scale=scale,
                tables=tables,
                digest=data["digest"],
                ignore=list(ignore),
            )
        except SnapshotError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise SnapshotError(f"{source}: unreadable snapshot header ({exc})") from None

    @property
    def rows(self) -> dict[str, int]:
        return {name: t.rows for name, t in self.tables.items()}


@dataclass(frozen=True)
class _Plan:
    """How one table is read: the table object, its columns as recorded, its key, the encoder."""

    table: Table
    columns: list[Column]
    key: list[str]
    encoder: canonical.RowEncoder
    ordered_by_key: bool
    cells: tuple[snapshot_sql.Cell, ...] = ()


# Declared kinds whose storage reflection names differently on some engine: SQLite keeps a zoned
# DateTime as naive DATETIME text, a Uuid as CHAR(32), an Interval as DATETIME. The declared type
# still reads such a column exactly, so it is ours, not loose.
_REFLECTED_AS: dict[str, frozenset[str]] = {
    "timestamp": frozenset({"naive_timestamp"}),
    "uuid": frozenset({"text"}),
    "interval": frozenset({"naive_timestamp"}),
    "xml": frozenset({"other"}),  # PostgreSQL reflects xml as a type SQLAlchemy does not know
}


def _stored_as_declared(declared: TypeEngine[Any], reflected: TypeEngine[Any], dialect: Dialect) -> bool:
    """Whether a reflected column still holds what the declared type writes (so the declared type reads it)."""
    mine, found = _storage_kind(declared, dialect), canonical.kind_of(reflected).name
    return mine == found or found in _REFLECTED_AS.get(mine, frozenset())


def _storage_kind(type_: TypeEngine[Any], dialect: Dialect) -> str:
    """The kind the engine stores a declared type as: what reflection of it gives back."""
    while isinstance(type_, TypeDecorator) and not isinstance(type_.impl_instance, TypeDecorator):
        loaded = type_.load_dialect_impl(dialect)
        if loaded is type_:
            break
        type_ = loaded
    return canonical.kind_of(type_).name


@dataclass
class _Reading:
    """What `_plans` decided, and what it saw on the way: the declared types used, the patterns that matched."""

    plans: list[_Plan] = field(default_factory=list)
    declared: dict[tuple[str, str], TypeEngine[Any]] = field(default_factory=dict)
    matched: set[str] = field(default_factory=set)
    keys_named: dict[str, list[str]] = field(default_factory=dict)


def _plans(sync: Connection, anchor: datetime | None, ours: MetaData | None, ignore: Sequence[str]) -> _Reading:
    """Decide, table by table and column by column, how to read it.

    The columns are always the database's own (reflected): a column added by
    hand is read and recorded, a dropped one is missing. Where a column is
    also one of ours (the seed record names this project's schema) and the engine still stores it as we
    declared it, our declared type reads it, strictly and relative to the
    anchor; anything else is read as stored, as reflection types it.
    """
    reflected = MetaData()
    dialect = sync.dialect
    reading_out = _Reading()
    plans = reading_out.plans
    # The project's schema, named (never the session's search_path); the tables read below are
    # built without one, and the connection's schema translation qualifies them.
    schema = schema_of(sync)
    for name in table_names(sync):
        if name in TOOL_TABLES:
            continue
        with reflecting():
            found = Table(name, reflected, autoload_with=sync, schema=schema)
        declared = ours.tables.get(name) if ours is not None else None
        pk_names = [c.name for c in found.primary_key.columns]
        reading = MetaData()
        chosen: list[SAColumn[Any]] = []
        recorded: list[Column] = []
        kinds: list[tuple[str, canonical.Kind]] = []
        cells: list[snapshot_sql.Cell] = []
        loose: set[str] = set()
        for col in found.columns:
            for pattern in ignore:
                if ignored([pattern], name, col.name):
                    if col.name in pk_names:
                        reading_out.keys_named.setdefault(pattern, []).append(f"{name}.{col.name}")
                    else:
                        reading_out.matched.add(pattern)
            if col.name not in pk_names and ignored(ignore, name, col.name):
                continue
            mine = declared.columns.get(col.name) if declared is not None else None
            if mine is not None and _stored_as_declared(mine.type, col.type, dialect):
                type_: TypeEngine[Any] = mine.type
                reading_out.declared[(name, col.name)] = mine.type
            else:
                type_ = col.type
                loose.add(col.name)
            kind = canonical.kind_of(type_)
            chosen.append(SAColumn(col.name, type_, primary_key=col.name in pk_names))
            recorded.append(Column(name=col.name, kind=canonical.label(kind), nullable=bool(col.nullable)))
            kinds.append((col.name, kind))
            strict = declared is not None and col.name not in loose
            cells.append(snapshot_sql.Cell(col.name, kind, anchor if strict else None, not strict, _how(type_, kind)))
        table = Table(name, reading, *chosen)
        names = [c.name for c in chosen]
        key_names = pk_names or names
        encoder = canonical.RowEncoder(
            name,
            kinds,
            anchor if declared is not None else None,
            [names.index(k) for k in key_names],
            lenient=declared is None,
            loose=frozenset(loose),
        )
        plans.append(
            _Plan(
                table=table,
                columns=recorded,
                key=key_names,
                encoder=encoder,
                ordered_by_key=bool(pk_names),
                cells=tuple(cells),
            )
        )
    return reading_out


def _read_facts(sync: Connection, reading: _Reading, patterns: Sequence[str]) -> schema_facts.Facts:
    """The schema facts of the tables read, without the ignored ones; an `--ignore` that named nothing is refused."""
    columns = {p.table.name: [(c.name, c.kind) for c in p.columns] for p in reading.plans}
    with reflecting():
        facts = schema_facts.read(sync, schema_of(sync), columns, reading.declared)
    facts, matched = schema_facts.filter_facts(facts, patterns)
    matched |= reading.matched
    for pattern in patterns:
        if pattern in matched:
            continue
        keys = reading.keys_named.get(pattern)
        if keys:
            raise ConfigError(
                f"--ignore {pattern} names only key columns ({', '.join(keys)}): a key identifies its rows "
                "and is never ignored"
            )
        what = "schema fact" if pattern.startswith(schema_facts.PATTERN_PREFIX) else "column"
        raise ConfigError(
            f"--ignore {pattern} matches no {what} of the database; "
            + (
                "facts are named like film.rental_rate.default, film.check.NAME, film.foreign_key.COLUMNS, "
                "film.unique.COLUMNS, film.trigger.NAME, domain.NAME"
                if what == "schema fact"
                else "give a column (created_at), TABLE.COLUMN or TABLE.* that exists"
            )
        )
    return facts


async def _provenance(conn: AsyncConnection, project: Project) -> tuple[str | None, bookkeeping.SeedRecord | None]:
    """The schema revision, and the seed record when it is a seed of this project's schema."""
    revision = await migrate.current_revision(conn)
    record = await seeder.read_record(conn)
    if record is None or not record.same_schema(project):
        return revision, None
    return revision, record


class _ExternalSort:
    """Sorts lines by code point with bounded memory: sorted runs on disk, merged."""

    def __init__(self) -> None:
        self._runs: list[IO[str]] = []
        self._chunk: list[str] = []

    def add(self, line: str) -> None:
        self._chunk.append(line)
        if len(self._chunk) >= _SORT_CHUNK:
            self._runs.append(_spill(self._chunk))
            self._chunk = []

    def sorted(self) -> Iterator[str]:
        if not self._runs:
            self._chunk.sort()
            yield from self._chunk
            return
        self._runs.append(_spill(self._chunk))
        try:
            yield from heapq.merge(*[(line.rstrip("\n") for line in run) for run in self._runs])
        finally:
            for run in self._runs:
                run.close()


def _spill(chunk: list[str]) -> IO[str]:
    chunk.sort()
    run = tempfile.TemporaryFile("w+", encoding="utf-8")
    run.writelines(line + "\n" for line in chunk)
    run.seek(0)
    return run


class _Digester:
    """Hashes a table's lines, in batches, and cuts them into blocks as they stream by."""

    def __init__(self, plan: _Plan, sink: IO[bytes] | None, *, blocks: bool) -> None:
        self.plan = plan
        self.sink = sink
        self.table = hashlib.sha256(schema_line(plan.columns, plan.key))
        self.block = hashlib.sha256()
        self.rows = 0
        self.blocks: list[Block] = []
        self.cuts_blocks = blocks
        self._first: list[Any] = []
        self._in_block = 0

    def add(self, lines: list[str]) -> None:
        if not self.cuts_blocks:
            self.add_bytes(("\n".join(lines) + "\n").encode("utf-8") if lines else b"", len(lines))
            return
        while lines:
            part, lines = lines[: BLOCK_ROWS - self._in_block], lines[BLOCK_ROWS - self._in_block :]
            if self._in_block == 0:
                row = json.loads(part[0])[1]
                self._first = [row[name] for name in self.plan.key]
            data = ("\n".join(part) + "\n").encode("utf-8")
            for hasher in (self.table, self.block):
                hasher.update(data)
            if self.sink is not None:
                self.sink.write(data)
            self.rows += len(part)
            self._in_block += len(part)
            if self._in_block == BLOCK_ROWS:
                self._close_block()

    def add_chunk(self, data: bytes, lines: int) -> None:
        """Digest `lines` whole lines already encoded, each ending in a newline."""
        if self.cuts_blocks:
            self.add(data.decode("utf-8").split("\n")[:-1])
        else:
            self.add_bytes(data, lines)

    def add_bytes(self, data: bytes, lines: int) -> None:
        """Digest `lines` whole lines already encoded, each ending in a newline (only without blocks)."""
        assert not self.cuts_blocks
        self.table.update(data)
        if self.sink is not None:
            self.sink.write(data)
        self.rows += lines

    def _close_block(self) -> None:
        self.blocks.append(Block(first=self._first, rows=self._in_block, digest="sha256:" + self.block.hexdigest()))
        self.block = hashlib.sha256()
        self._in_block = 0

    def summary(self) -> TableSummary:
        if self._in_block:
            self._close_block()
        return TableSummary(
            key=self.plan.key,
            rows=self.rows,
            digest="sha256:" + self.table.hexdigest(),
            columns=self.plan.columns,
            blocks=self.blocks,
        )


async def capture(
    conn: AsyncConnection,
    backend: Backend,
    out: IO[bytes] | None,
    *,
    blocks: bool = False,
    ignore: Sequence[str] = (),
    reporter: progress.Reporter | None = None,
    project: Project | None = None,
    database_text: bool | None = None,
) -> Header:
    """Write the canonical snapshot of the database behind `conn` to `out` (None: digests only).

    With `blocks`, each table's rows are also digested in blocks of
    `BLOCK_ROWS` (a manifest's, to locate a change); without, the summaries
    list none.

    Columns matching an `ignore` pattern (`ignored`) are left out of the body
    and the schema, and the patterns are recorded in the header; key columns
    are never left out, as they are what identifies a row.

    `conn` should be in a read-only, repeatable-read transaction so that the
    snapshot is of one moment; `commands` opens it that way.

    With `database_text` the database writes the canonical text of the
    columns whose types let it (`snapshot_sql`); with False, Python writes
    every line; None lets the engine choose (`Backend.writes_canonical_text`).
    The bytes are the same either way.
    """
    reporter = reporter or progress.NullReporter()
    project = project or projects.echelon()
    revision, record = await _provenance(conn, project)
    anchor = None if record is None or not record.anchored else record.anchor
    # The declared types read the tables when the record says this is the project's schema, or when
    # echelon-seed's own version table says its migrations built it (a seed record deleted by hand).
    built_here = project.migrations is not None and revision is not None and revision == migrate.head_revision(project)
    ours = project.metadata if record is not None or built_here else None
    patterns = sorted(set(ignore))
    reading = await conn.run_sync(lambda sync: _plans(sync, anchor, ours, patterns))
    plans = reading.plans
    facts = await conn.run_sync(lambda sync: _read_facts(sync, reading, patterns))
    totals = await _counts(conn, plans) if reporter.live else {}
    reporter.phase("reading", sum(totals.values()) if totals else None)
    summaries: dict[str, TableSummary] = {}
    if database_text is None:
        database_text = await backend.writes_canonical_text(conn)
    splits, child = ({}, None) if database_text else await _split_in_child(conn, backend, plans)
    try:
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as body:
            for plan in plans:
                reporter.start(plan.table.name, totals.get(plan.table.name))
                sink = body if out is not None else None
                start = body.tell()
                digester = _Digester(plan, sink, blocks=blocks)
                split = splits.get(plan.table.name)
                if split is not None and child is not None:
                    await _read_split(conn, backend, plan, split, child, digester, reporter)
                elif not database_text or not await _read_by_database(conn, backend, plan, digester, reporter):
                    if body.tell() != start:  # the database's lines stopped at a value it cannot write exactly
                        body.seek(start)
                        body.truncate()
                    digester = _Digester(plan, sink, blocks=blocks)
                    async for lines in _read_table(conn, backend, plan, reporter):
                        digester.add(lines)
                reporter.finish()
                summaries[plan.table.name] = digester.summary()
            header = Header(
                schema_revision=revision,
                fixtures=None if record is None else record.fixture_digest,
                scale=None if record is None else record.scale,
                tables=summaries,
                digest=whole_digest(patterns, {name: t.digest for name, t in summaries.items()}, facts.logical()),
                ignore=patterns,
                schema=facts.logical(),
                physical=facts.physical(),
            )
            if out is not None:
                out.write((header.to_line(blocks=blocks) + "\n").encode("utf-8"))
                _copy_body(body, out)
    finally:
        if child is not None:
            child.close()
    return header


#: The body stays in memory up to this size, then goes to a temporary file.
_SPOOL = 16 * 2**20


def _copy_body(body: IO[bytes], out: IO[bytes]) -> None:
    """Copy the spooled body after the header; file to file by the kernel (`sendfile`) where both are files."""
    size = body.tell()
    body.seek(0)
    if size > _SPOOL:  # on disk by now: asking its descriptor does not move it there
        try:
            target = out.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the last two
            target = -1
        if target >= 0:
            out.flush()
            sent, source = 0, body.fileno()
            try:
                while sent < size and (step := os.sendfile(target, source, sent, size - sent)):
                    sent += step
            except OSError:
                pass  # a target sendfile cannot write to: the rest the ordinary way (which reports a real error)
            body.seek(sent)
    while chunk := body.read(2**20):
        out.write(chunk)


def _cell_error(plan: _Plan, rows: Sequence[Sequence[Any]], exc: Exception) -> SnapshotError:
    """The error for a batch `encode` refused, naming the table, the row's key and the column."""
    for row in rows:
        found = plan.encoder.locate(row)
        if found is not None:
            column, why = found
            try:
                key = ", ".join(canonical.dumps(v) for v in plan.encoder.key(row))
            except (ValueError, TypeError, OverflowError):
                key = "?"
            where = f"row ({key})" if plan.ordered_by_key else "a row"
            return SnapshotError(f"table {plan.table.name}, {where}, column {column!r}: {why}")
    return SnapshotError(f"table {plan.table.name}: a value does not fit its column type ({exc})")


def _how(type_: TypeEngine[Any], kind: canonical.Kind) -> str | None:
    """How the engine reads a column: the family's rule, else decimals as text."""
    return types.read_of(type_) or ("text" if kind.name == "decimal" else None)


async def _counts(conn: AsyncConnection, plans: Sequence[_Plan]) -> dict[str, int]:
    """Each table's rows, in the snapshot's own transaction: the totals a live progress bar shows."""
    counts = {}
    for plan in plans:
        counts[plan.table.name] = int((await conn.execute(select(func.count()).select_from(plan.table))).scalar_one())
    return counts


async def _read_by_database(
    conn: AsyncConnection, backend: Backend, plan: _Plan, digester: _Digester, reporter: progress.Reporter
) -> bool:
    """Digest the table's lines as the database writes them; False when it cannot write them all exactly."""
    if not plan.ordered_by_key:
        return False  # a table without a key is sorted by its whole lines, in Python

    def take(data: bytes, rows: int) -> None:
        digester.add_chunk(data, rows)
        reporter.advance(rows)

    try:
        return await snapshot_sql.read_table(conn, backend, plan.table, plan.cells, plan.key, take, _FETCH)
    except snapshot_sql.NotExact:
        return False


def _query(backend: Backend, plan: _Plan, where: ColumnElement[bool] | None = None) -> Select[Any]:
    """The query the Python path reads the table (its rows `where` says) with, in key order."""
    table = plan.table
    kinds = dict(plan.encoder.columns)
    query = select(*[backend.read_term(c, _how(c.type, kinds[c.name])) for c in table.columns])
    if where is not None:
        query = query.where(where)
    if plan.ordered_by_key:
        query = query.order_by(*[backend.sort_key(table.columns[name]) for name in plan.key])
    return query


async def _read_table(
    conn: AsyncConnection,
    backend: Backend,
    plan: _Plan,
    reporter: progress.Reporter,
    where: ColumnElement[bool] | None = None,
) -> AsyncIterator[list[str]]:
    """The table's canonical lines in key order, in batches, streamed from a cursor."""
    encode = plan.encoder.encode
    query = _query(backend, plan, where)
    spill = None if plan.ordered_by_key else _ExternalSort()
    async for rows in backend.stream(conn, query, _FETCH):
        try:
            lines = [encode(row) for row in rows]
        except (ValueError, TypeError, OverflowError) as exc:
            raise _cell_error(plan, rows, exc) from None
        reporter.advance(len(lines))
        if spill is None:
            yield lines
        else:
            for line in lines:
                spill.add(line)
    if spill is not None:
        batch: list[str] = []
        for line in spill.sorted():
            batch.append(line)
            if len(batch) == _FETCH:
                yield batch
                batch = []
        if batch:
            yield batch


@dataclass(frozen=True)
class _Split:
    """A table read in two parts: this process reads the keys below a middle one, the child the rest."""

    job: int
    lower: ColumnElement[bool]
    rows: int


async def _split_in_child(
    conn: AsyncConnection, backend: Backend, plans: Sequence[_Plan]
) -> tuple[dict[str, _Split], forked.LineReader | None]:
    """Start a child encoding the upper part of every big table, where the engine lets one read this very state.

    Only where the engine runs in this process (SQLite): its reading and the
    encoding are the snapshot's whole cost there, and one interpreter cannot
    use the second core (the GIL). The split is on the first key column, so
    that the two parts, one after the other, are the table in key order.
    """
    if not forked.available():
        return {}, None
    wanted = [plan for plan in plans if _splittable(plan)]
    if not wanted:
        return {}, None
    connect = await backend.forked_reader(conn)
    if connect is None:
        return {}, None
    splits: dict[str, _Split] = {}
    jobs: list[forked.LineJob] = []
    for plan in wanted:
        rows = int((await conn.execute(select(func.count()).select_from(plan.table))).scalar_one())
        if rows < snapshot_sql.SPLIT_ROWS:
            continue
        first = plan.table.columns[plan.key[0]]
        term = backend.sort_key(first)
        if next(c.nullable for c in plan.columns if c.name == first.name):
            # SQLite lets a key hold NULL (legacy), and NULL is on neither side of a cut.
            if (await conn.execute(select(literal(1)).select_from(plan.table).where(first.is_(None)).limit(1))).first():
                continue
        # The raw value (no type processing), compared as a plain literal of its own Python type.
        at = select(first).order_by(term).offset(rows - int(rows * _CHILD_SHARE)).limit(1)
        middle = None
        async for found in backend.stream(conn, at, 1):
            middle = found[0][0]
        if middle is None or type(middle) not in (int, str):
            continue
        upper = _query(backend, plan, term >= literal(middle))
        jobs.append(
            forked.LineJob(
                plan.table.name,
                backend.query_text(conn, upper),
                plan.encoder.encode,
                functools.partial(_explain, plan),
            )
        )
        splits[plan.table.name] = _Split(len(jobs) - 1, term < literal(middle), rows)
    if not jobs:
        return {}, None
    return splits, forked.read_lines(connect, jobs)


def _splittable(plan: _Plan) -> bool:
    """Whether the table's key order can be cut in two by its first key column (a number or text)."""
    return plan.ordered_by_key and dict(plan.encoder.columns)[plan.key[0]].name in ("int", "text")


def _explain(plan: _Plan, rows: Sequence[Sequence[Any]], exc: Exception) -> str:
    return str(_cell_error(plan, rows, exc))


async def _read_split(
    conn: AsyncConnection,
    backend: Backend,
    plan: _Plan,
    split: _Split,
    child: forked.LineReader,
    digester: _Digester,
    reporter: progress.Reporter,
) -> None:
    """Digest the lower part as this process reads it, then the child's lines of the upper part."""
    async for lines in _read_table(conn, backend, plan, reporter, split.lower):
        digester.add(lines)
    found = await child.take(split.job)
    if digester.cuts_blocks:
        for lines in _file_lines(found):
            digester.add(lines)
            reporter.advance(len(lines))
    else:  # the child's bytes are the lines as this process would encode them: digested as they are
        while chunk := found.read(2**20):
            count = chunk.count(b"\n")
            digester.add_bytes(chunk, count)
            reporter.advance(count)
    if digester.rows != split.rows:  # the two parts must be the table: a guard on the cut, not a case
        raise SnapshotError(f"table {plan.table.name}: read {digester.rows} rows in two parts, counted {split.rows}")


def _file_lines(file: IO[bytes]) -> Iterator[list[str]]:
    """A file of lines in batches, without their newlines."""
    pending = b""
    while chunk := file.read(2**20):
        chunk = pending + chunk
        cut = chunk.rfind(b"\n") + 1
        pending = chunk[cut:]
        if cut:
            yield chunk[: cut - 1].decode("utf-8").split("\n")
    if pending:
        yield [pending.decode("utf-8")]


def read_header(path_text: str, stream: IO[str]) -> Header:
    """The header of a snapshot or manifest file."""
    first = stream.readline()
    if not first:
        raise SnapshotError(f"{path_text} is empty")
    return Header.from_line(first, path_text)


def read_rows(stream: IO[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The body rows of an open snapshot, after its header, as (table, row) pairs."""
    for line in stream:
        table, row = json.loads(line)
        yield table, row


def check_consistent(path_text: str, stream: IO[bytes]) -> Header:
    """Read a snapshot or manifest file and refuse it unless every digest in it is what its content gives.

    A golden file is trusted as the truth only once its rows (or, for a
    manifest, its table digests) are shown to be what its header claims:
    otherwise a hand-edited row, a cut-short body or a made-up table digest
    would be compared as if it were real.
    """
    first = stream.readline()
    if not first:
        raise SnapshotError(f"{path_text} is empty")
    header = Header.from_line(first.decode("utf-8", errors="replace"), path_text)

    def refuse(what: str) -> SnapshotError:
        return SnapshotError(f"{path_text} is inconsistent: {what} (edited by hand or cut short?)")

    for name, summary in header.tables.items():
        missing = [k for k in summary.key if k not in summary.column_names]
        if missing or len(set(summary.column_names)) != len(summary.columns):
            raise refuse(f"table {name}: its key or columns do not add up")
        if summary.blocks and sum(b.rows for b in summary.blocks) != summary.rows:
            raise refuse(f"table {name}: its blocks do not add up to {summary.rows} rows")
    if whole_digest(header.ignore, {n: t.digest for n, t in header.tables.items()}, header.schema) != header.digest:
        raise refuse("its digest is not the digest of its tables")
    if list(header.tables) != sorted(header.tables):
        raise refuse("its tables are not in name order")
    seen: set[str] = set()
    body_started = False
    for table, lines in itertools.groupby(stream, key=_table_of):
        body_started = True
        listed = header.tables.get(table)
        if listed is None or table in seen:
            raise refuse(f"its body has rows of table {table!r} where the header has none")
        seen.add(table)
        digest = hashlib.sha256(schema_line(listed.columns, listed.key))
        count = 0
        for line in lines:
            digest.update(line)
            count += 1
        if count != listed.rows or "sha256:" + digest.hexdigest() != listed.digest:
            raise refuse(f"the rows of table {table} do not match its digest in the header")
    for name, summary in header.tables.items():
        if name in seen or (not body_started and summary.rows):
            continue  # checked above, or a manifest's table: only its rows could check it
        empty = "sha256:" + hashlib.sha256(schema_line(summary.columns, summary.key)).hexdigest()
        if summary.rows or summary.digest != empty:
            raise refuse(f"table {name} has no rows in the body but the header says otherwise")
    return header


def _table_of(line: bytes) -> str:
    try:
        table = json.loads(line)[0]
    except (ValueError, IndexError, KeyError, TypeError):
        return "\0unreadable line"
    return table if isinstance(table, str) else "\0unreadable line"


def is_manifest(stream: IO[bytes]) -> bool:
    """Whether the file behind `stream` (positioned after the header) has no body."""
    position = stream.tell()
    has_body = bool(stream.readline())
    stream.seek(position)
    return not has_body
