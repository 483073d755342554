"""The snapshot's lines written by the database, for the columns whose canonical text it writes exactly.

Each column-type family says, per engine, the SQL that prints its canonical
text (`types.canonical_sql`); this module only assembles a table's query.
When every column has such SQL, the database writes the whole line,
`["table",{"column":value,...}]`, and Python only hashes it (PostgreSQL
streams it with COPY). Otherwise the query returns the runs of columns the
database writes as text segments, with the other columns' values between
them, which Python encodes as `canonical` does and joins.

A family's SQL yields NULL for a value it cannot print exactly (a float in
SQLite, a year outside 1..9999, SQLite text in a column typed otherwise);
a line then comes back NULL, `NotExact` is raised, and the snapshot reads
that table again the Python way, so the bytes never depend on the path.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from . import canonical, types
from .engines import Backend

__all__ = [
    "SPLIT_ROWS",
    "Cell",
    "LineQuery",
    "NotExact",
    "Sink",
    "line_query",
    "read_chunks",
    "read_lines",
    "read_table",
]

#: Tables of at least this many rows (the planner's estimate) are read by two sessions at once,
#: each writing half of the lines, where the engine lets two sessions share one snapshot.
SPLIT_ROWS = 50_000


class NotExact(Exception):
    """A cell the database cannot print exactly: the table is read the Python way instead."""


@dataclass(frozen=True)
class Cell:
    """One column as the snapshot reads it: its kind, the anchor its times are relative to, how it is read."""

    name: str
    kind: canonical.Kind
    anchor: datetime | None
    lenient: bool
    how: str | None  # `types.read_of`, for a column Python encodes


@dataclass(frozen=True)
class LineQuery:
    """A table's query, and how its rows become lines.

    The query's columns alternate: a segment of the line made in SQL, then a
    value Python finishes (`finishers`), then a segment... With one column,
    the database made the whole line. `as_text`: every column is text the
    database printed, so the rows may come as COPY text (PostgreSQL).
    """

    query: Select[Any]
    finishers: tuple[Callable[[Any], str], ...]
    as_text: bool
    #: Per finisher, its faster form for values that are all whole numbers (`CellSql.finish_number`).
    numbers: tuple[Callable[[int], str] | None, ...] = ()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def line_query(
    table: Table,
    cells: Sequence[Cell],
    key: Sequence[str],
    backend: Backend,
    where: ColumnElement[bool] | None = None,
) -> LineQuery | None:
    """The query that reads `table` (its rows `where` says) in `key` order with the database writing what it can.

    None when the database writes no column of it.
    """
    made = {cell.name: types.canonical_sql(table.columns[cell.name].type, backend.name, cell.anchor) for cell in cells}
    if not any(made.values()):
        return None
    texts = {name: "(" + sql.text.format(v=_quote(name)) + ")" for name, sql in made.items() if sql is not None}

    # Segments: the static JSON around the cells and the cells the database writes, concatenated in SQL;
    # between them, the values Python finishes. Columns in name order, as `RowEncoder` writes them.
    terms: list[ColumnElement[Any]] = []
    finishers: list[Callable[[Any], str]] = []
    numbers: list[Callable[[int], str] | None] = []
    as_text = True
    pending = [_literal("[" + canonical.json_string(table.name) + ",{")]
    for position, cell in enumerate(sorted(cells, key=lambda c: c.name)):
        pending.append(_literal(("," if position else "") + canonical.json_string(cell.name) + ":"))
        sql = made[cell.name]
        if sql is not None and sql.finish is None:
            pending.append(texts[cell.name])
            continue
        terms.append(literal_column(" || ".join(pending)))
        pending = []
        if sql is not None and sql.finish is not None:
            terms.append(literal_column(texts[cell.name]))
            finishers.append(sql.finish)
            numbers.append(sql.finish_number)
            continue
        terms.append(backend.read_term(table.columns[cell.name], cell.how))
        finishers.append(canonical.cell_text(cell.kind, cell.anchor, lenient=cell.lenient))
        numbers.append(None)
        as_text = False
    pending.append(_literal("}]"))
    terms.append(literal_column(" || ".join(pending)))

    query = select(*terms).select_from(table)
    if where is not None:
        query = query.where(where)
    query = query.order_by(*[backend.sort_key(table.columns[k]) for k in key])
    return LineQuery(query=query, finishers=tuple(finishers), as_text=as_text, numbers=tuple(numbers))


def _combiner(finishers: Sequence[Callable[[Any], str]], null: object) -> Callable[[Sequence[Any]], str]:
    """Join a row of segments (even places) and values Python finishes (odd places) into its line.

    A segment equal to `null` (the database could not print a cell exactly) raises NotExact; a
    value equal to it is NULL. Written out as straight-line code once per table, as `canonical`
    does for its rows: this runs once per row of a million-row table.
    """
    width = 2 * len(finishers) + 1
    names = [f"c{i}" for i in range(width)]
    env: dict[str, Any] = {"NULL": null, "NotExact": NotExact}
    env.update({f"F{i}": finish for i, finish in enumerate(finishers)})
    segments = " or ".join(f"c{i} == NULL" for i in range(0, width, 2))
    pieces = [names[0]]
    for index in range(len(finishers)):
        value = names[2 * index + 1]
        pieces.append(f"F{index}(None if {value} == NULL else {value})")
        pieces.append(names[2 * index + 2])
    source = (
        f"def make({', '.join(env)}):\n"
        f"  def combine(row):\n"
        f"    {', '.join(names)}, = row\n"
        f"    if {segments}:\n"
        f"      raise NotExact\n"
        f"    return {' + '.join(pieces)}\n"
        "  return combine\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<snapshot line combiner>", "exec"), namespace)  # noqa: S102
    combine: Callable[[Sequence[Any]], str] = namespace["make"](**env)
    return combine


def _chunk_finisher(lines: LineQuery, null: str) -> Callable[[bytes], tuple[bytes, int]]:
    """Finish a chunk of whole COPY lines at once, and count them: segments (even fields), values Python writes (odd).

    Split on the tab alone, a chunk's fields keep their pattern across its
    lines (a line's last segment and the next line's first are one field,
    newline between), so every value is found by a stride and finished by
    one `map` per column, and one join makes the lines: no Python per line.
    A NULL segment (the database could not write a cell exactly) raises
    NotExact; a NULL value is handed to its finisher as None.
    """
    finishers = lines.finishers
    numbers = lines.numbers or (None,) * len(finishers)
    width = 2 * len(finishers)
    null_bytes = null.encode("utf-8")

    def per_line(text: str) -> tuple[str, int]:
        made = text.split("\n")
        made.pop()  # after the last newline
        for number, line in enumerate(made):
            fields = line.split("\t")
            if len(fields) != width + 1 or null in fields[0::2]:
                raise NotExact
            for index, finish in enumerate(finishers):
                value = fields[2 * index + 1]
                fields[2 * index + 1] = finish(None if value == null else value)
            made[number] = "".join(fields)
        return "\n".join(made) + "\n", len(made)

    def finish_chunk(data: bytes) -> tuple[bytes, int]:
        if not finishers:
            if null_bytes in data:
                raise NotExact
            return data, data.count(b"\n")
        text = data.decode("utf-8")
        if null in text:
            made, rows = per_line(text)
            return made.encode("utf-8"), rows
        # No field holds a tab or a line break (the engine refuses such a value), so the fields
        # are the lines' fields in order.
        fields = text.split("\t")
        for index, finish in enumerate(finishers):
            values = fields[2 * index + 1 :: width]
            number = numbers[index]
            if number is not None:
                try:
                    fields[2 * index + 1 :: width] = map(number, map(int, values))
                    continue
                except ValueError:
                    pass  # not all whole numbers (an infinity): each value its own way
            fields[2 * index + 1 :: width] = map(finish, values)
        return "".join(fields).encode("utf-8"), (len(fields) - 1) // width

    return finish_chunk


#: Where the lines go: whole lines as UTF-8, each ending in a newline, and how many.
Sink = Callable[[bytes, int], None]


async def read_chunks(conn: AsyncConnection, backend: Backend, lines: LineQuery, sink: Sink, batch: int) -> None:
    """Hand the table's lines to `sink` in chunks; raise NotExact once a row the database could not write shows.

    `sink` may have taken earlier chunks by then: the caller starts the table again.
    """
    if lines.as_text:
        failed = False
        finish = _chunk_finisher(lines, backend.TEXT_NULL)

        def take(data: bytes) -> None:
            nonlocal failed
            if failed:
                return
            try:
                data, rows = finish(data)
            except (NotExact, TypeError, ValueError, OverflowError):
                failed = True  # COPY runs to its end: stopping it midway would break the transaction
                return
            sink(data, rows)

        try:
            await backend.text_lines(conn, lines.query, take)
        except ValueError:
            raise NotExact from None  # a value the lines cannot carry: the Python way reads it
        if failed:
            raise NotExact
        return
    combine = _combiner(lines.finishers, None)
    stream = backend.stream(conn, lines.query, batch)
    try:
        async for rows in stream:
            try:
                made = [combine(row) for row in rows]
            except (TypeError, ValueError, OverflowError):
                # A value Python's own path refuses: read that way, it says which and where.
                raise NotExact from None
            if made:
                sink(("\n".join(made) + "\n").encode("utf-8"), len(made))
    finally:
        close = getattr(stream, "aclose", None)  # the cursor closes now, not when collected
        if close is not None:
            await close()


async def read_lines(
    conn: AsyncConnection, backend: Backend, lines: LineQuery, sink: Callable[[list[str]], None], batch: int
) -> None:
    """`read_chunks`, the lines handed over as a list of strings without their newlines."""

    def take(data: bytes, rows: int) -> None:
        sink(data.decode("utf-8").split("\n")[:-1])

    await read_chunks(conn, backend, lines, take, batch)


async def read_table(
    conn: AsyncConnection,
    backend: Backend,
    table: Table,
    cells: Sequence[Cell],
    key: Sequence[str],
    sink: Sink,
    batch: int,
) -> bool:
    """Hand the table's lines, as the database writes them, to `sink`; False when it writes none of its columns.

    A big table whose key starts with a column of whole numbers or text is
    read in two halves at once, cut on that column, the second by another
    session of the same snapshot (`Backend.second_reader`), its lines kept in
    a temporary file until the first half has gone by. Raises NotExact as
    `read_chunks` does.
    """
    whole = line_query(table, cells, key, backend)
    if whole is None:
        return False
    kinds = {cell.name: cell.kind.name for cell in cells}
    # Cut on the first key column: all rows below a value of it come before all rows from it on,
    # whatever the other key columns (a key is never NULL on the engines that split).
    if key and kinds[key[0]] in ("int", "text"):
        rows = await backend.estimated_rows(conn, table)
        if rows >= SPLIT_ROWS:
            term = backend.sort_key(table.columns[key[0]])
            middle = await backend.middle_value(conn, table, table.columns[key[0]], rows)
            if middle is not None:
                async with backend.second_reader(conn) as other:
                    if other is not None:
                        first = line_query(table, cells, key, backend, term < middle)
                        second = line_query(table, cells, key, backend, term >= middle)
                        assert first is not None and second is not None
                        await _halves(conn, other, backend, (first, second), sink, batch)
                        return True
    await read_chunks(conn, backend, whole, sink, batch)
    return True


async def _halves(
    conn: AsyncConnection,
    other: AsyncConnection,
    backend: Backend,
    halves: tuple[LineQuery, LineQuery],
    sink: Sink,
    batch: int,
) -> None:
    with tempfile.TemporaryFile() as later:
        kept: list[tuple[int, int]] = []  # each chunk's length and lines: read back as they were

        def keep(data: bytes, rows: int) -> None:
            later.write(data)
            kept.append((len(data), rows))

        # Both run to their end (a COPY cut short would break its transaction); then the outcome.
        results = await asyncio.gather(
            read_chunks(conn, backend, halves[0], sink, batch),
            read_chunks(other, backend, halves[1], keep, batch),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        later.seek(0)
        size = rows = 0
        for length, count in kept:  # in pieces of about a megabyte, each ending with a line
            size, rows = size + length, rows + count
            if size >= 2**20:
                sink(later.read(size), rows)
                size = rows = 0
        if size:
            sink(later.read(size), rows)
