"""The canonical snapshot: a database as bytes that depend only on its data.

Format (`FORMAT`), one JSON value per line, UTF-8:

    line 1      the header: format, schema revision, fixture digest, scale, and per
                table its key, row count and digest, then the digest of the body
    line 2..    the body: one row per line, `["table",{"column":value,...}]`, tables
                in name order, rows in primary-key order (text by code point)

Values are canonical by column type (`canonical`), and times written by the
seeder are relative to the seeding anchor, so the same fixtures give the same
bytes on SQLite and PostgreSQL, whatever the anchor, the client's TZ or the
server's time zone. The two tables echelon-seed keeps for itself are not in
the body: `alembic_version` is the header's schema revision, `seed_runs` its
fixture digest and scale (and the anchor the body is relative to).

The body is streamed through a spooled temporary file while it is hashed, so
memory stays flat however many rows there are; the header, which needs the
digests, is written first when the body is copied out.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from . import canonical, migrate, progress
from .engines import Backend
from .errors import SnapshotError
from .schema import metadata as echelon_metadata
from .schema import seed_runs

__all__ = [
    "BLOCK_ROWS",
    "FORMAT",
    "Header",
    "TableSummary",
    "capture",
    "read_header",
    "read_rows",
]

FORMAT = "echelon-seed-snapshot/1"
#: Rows per block digest in a manifest: a changed row is located to one block.
BLOCK_ROWS = 10_000
_TOOL_TABLES = frozenset({migrate.VERSION_TABLE, seed_runs.name})
_FETCH = 5_000
_SORT_CHUNK = 100_000


@dataclass(frozen=True)
class Block:
    """`rows` consecutive rows starting at key `first`, and their digest."""

    first: list[Any]
    rows: int
    digest: str


@dataclass(frozen=True)
class TableSummary:
    """One table in the header: how its rows are keyed, how many, and their digest."""

    key: list[str]
    rows: int
    digest: str
    blocks: list[Block] = field(default_factory=list)

    def to_json(self, *, blocks: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"digest": self.digest, "key": self.key, "rows": self.rows}
        if blocks:
            out["blocks"] = [[b.first, b.rows, b.digest] for b in self.blocks]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableSummary:
        blocks = [Block(first=b[0], rows=b[1], digest=b[2]) for b in data.get("blocks", [])]
        return cls(key=list(data["key"]), rows=int(data["rows"]), digest=str(data["digest"]), blocks=blocks)


@dataclass(frozen=True)
class Header:
    """Provenance and digests of a snapshot; on its own, it is a manifest."""

    schema_revision: str | None
    fixtures: str | None
    scale: int | None
    tables: dict[str, TableSummary]
    digest: str
    format: str = FORMAT

    def to_line(self, *, blocks: bool = False) -> str:
        return canonical.dumps(
            {
                "digest": self.digest,
                "fixtures": self.fixtures,
                "format": self.format,
                "scale": self.scale,
                "schema_revision": self.schema_revision,
                "tables": {name: t.to_json(blocks=blocks) for name, t in self.tables.items()},
            }
        )

    @classmethod
    def from_line(cls, line: str, source: str) -> Header:
        try:
            data = json.loads(line)
            if data.get("format") != FORMAT:
                raise SnapshotError(
                    f"{source} is not a snapshot of format {FORMAT} (found {data.get('format')!r}); "
                    "regenerate it with 'echelon-seed verify --update'"
                )
            tables = {name: TableSummary.from_json(t) for name, t in data["tables"].items()}
            return cls(
                schema_revision=data["schema_revision"],
                fixtures=data["fixtures"],
                scale=data["scale"],
                tables=tables,
                digest=data["digest"],
            )
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise SnapshotError(f"{source}: unreadable snapshot header ({exc})") from None

    @property
    def rows(self) -> dict[str, int]:
        return {name: t.rows for name, t in self.tables.items()}


@dataclass(frozen=True)
class _Plan:
    """How one table is read: the table object, its key columns, the encoder."""

    table: Table
    key: list[str]
    encoder: canonical.RowEncoder
    ordered_by_key: bool


def _plans(sync: Connection, anchor: datetime | None, revision: str | None) -> list[_Plan]:
    """Decide, table by table, how to read it: our schema's types when it is ours, else reflection."""
    ours = revision == migrate.head_revision()
    reflected = MetaData()
    plans = []
    for name in sorted(inspect(sync).get_table_names()):
        if name in _TOOL_TABLES:
            continue
        strict = ours and name in echelon_metadata.tables
        if strict:
            table = echelon_metadata.tables[name]
            table_anchor = anchor
        else:
            table = Table(name, reflected, autoload_with=sync)
            table_anchor = None
        columns = list(table.columns)
        pk = list(table.primary_key.columns)
        key_columns = pk or columns
        kinds = [(c.name, canonical.kind_of(c.type)) for c in columns]
        # Our own tables are strict (a value that does not fit is a bug); others are shown as stored.
        encoder = canonical.RowEncoder(
            name, kinds, table_anchor, [columns.index(c) for c in key_columns], lenient=not strict
        )
        plans.append(_Plan(table=table, key=[c.name for c in key_columns], encoder=encoder, ordered_by_key=bool(pk)))
    return plans


async def _provenance(conn: AsyncConnection) -> tuple[str | None, str | None, int | None, datetime | None]:
    revision = await migrate.current_revision(conn)
    has_record = await conn.run_sync(lambda sync: inspect(sync).has_table(seed_runs.name))
    if not has_record or revision != migrate.head_revision():
        return revision, None, None, None
    row = (await conn.execute(select(seed_runs).order_by(seed_runs.c.id.desc()).limit(1))).first()
    if row is None:
        return revision, None, None, None
    return revision, row.fixture_digest, row.scale, row.anchor


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

    def __init__(self, plan: _Plan, body: hashlib._Hash, sink: IO[bytes] | None) -> None:
        self.plan = plan
        self.body = body
        self.sink = sink
        self.table = hashlib.sha256()
        self.block = hashlib.sha256()
        self.rows = 0
        self.blocks: list[Block] = []
        self._first: list[Any] = []
        self._in_block = 0

    def add(self, lines: list[str]) -> None:
        while lines:
            part, lines = lines[: BLOCK_ROWS - self._in_block], lines[BLOCK_ROWS - self._in_block :]
            if self._in_block == 0:
                row = json.loads(part[0])[1]
                self._first = [row[name] for name in self.plan.key]
            data = ("\n".join(part) + "\n").encode("utf-8")
            for hasher in (self.body, self.table, self.block):
                hasher.update(data)
            if self.sink is not None:
                self.sink.write(data)
            self.rows += len(part)
            self._in_block += len(part)
            if self._in_block == BLOCK_ROWS:
                self._close_block()

    def _close_block(self) -> None:
        self.blocks.append(Block(first=self._first, rows=self._in_block, digest="sha256:" + self.block.hexdigest()))
        self.block = hashlib.sha256()
        self._in_block = 0

    def summary(self) -> TableSummary:
        if self._in_block:
            self._close_block()
        return TableSummary(
            key=self.plan.key, rows=self.rows, digest="sha256:" + self.table.hexdigest(), blocks=self.blocks
        )


async def capture(
    conn: AsyncConnection,
    backend: Backend,
    out: IO[bytes] | None,
    *,
    blocks: bool = False,
    reporter: progress.Reporter | None = None,
) -> Header:
    """Write the canonical snapshot of the database behind `conn` to `out` (None: digests only).

    `conn` should be in a read-only, repeatable-read transaction so that the
    snapshot is of one moment; `commands` opens it that way.
    """
    reporter = reporter or progress.NullReporter()
    revision, fixtures, scale, anchor = await _provenance(conn)
    plans = await conn.run_sync(lambda sync: _plans(sync, anchor, revision))
    body_digest = hashlib.sha256()
    summaries: dict[str, TableSummary] = {}
    with tempfile.SpooledTemporaryFile(max_size=16 * 2**20) as body:
        for plan in plans:
            reporter.start(plan.table.name, None)
            digester = _Digester(plan, body_digest, body if out is not None else None)
            async for lines in _read_table(conn, backend, plan, reporter):
                digester.add(lines)
            reporter.finish()
            summaries[plan.table.name] = digester.summary()
        header = Header(
            schema_revision=revision,
            fixtures=fixtures,
            scale=scale,
            tables=summaries,
            digest="sha256:" + body_digest.hexdigest(),
        )
        if out is not None:
            out.write((header.to_line(blocks=blocks) + "\n").encode("utf-8"))
            body.seek(0)
            while chunk := body.read(2**20):
                out.write(chunk)
    return header


async def _read_table(
    conn: AsyncConnection, backend: Backend, plan: _Plan, reporter: progress.Reporter
) -> AsyncIterator[list[str]]:
    """The table's canonical lines in key order, in batches, streamed from a cursor."""
    table, encode = plan.table, plan.encoder.encode
    query = select(*table.columns)
    if plan.ordered_by_key:
        query = query.order_by(*[backend.sort_key(table.columns[name]) for name in plan.key])
    spill = None if plan.ordered_by_key else _ExternalSort()
    async for rows in backend.stream(conn, query, _FETCH):
        try:
            lines = [encode(row) for row in rows]
        except ValueError as exc:
            raise SnapshotError(f"table {table.name}: a value does not fit its column type ({exc})") from None
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
