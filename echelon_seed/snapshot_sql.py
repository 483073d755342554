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

__all__ = ["SPLIT_ROWS", "Cell", "LineQuery", "NotExact", "line_query", "read_lines", "read_table"]

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


_NO_LIMIT = 2**63 - 1


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
    prepared: list[ColumnElement[Any]] = []
    texts: dict[str, str] = {}
    for cell in cells:
        sql = made[cell.name]
        if sql is None:
            continue
        names = {"v": _quote(cell.name)}
        for index, step in enumerate(sql.prepared):
            label = f"echelon-seed p{len(prepared)}"
            names[f"p{index}"] = _quote(label)
            prepared.append(literal_column(step.format(v=_quote(cell.name))).label(label))
        texts[cell.name] = "(" + sql.text.format(**names) + ")"

    source: Any = table
    if prepared:
        # Computed once per row in a subquery that neither planner merges into the outer query
        # (one with an OFFSET, and a LIMIT both engines spell alike), so the text built from a
        # prepared value does not compute it again.
        inner = [table.columns[c.name].label(c.name) for c in cells if c.name in texts]
        inner += [backend.read_term(table.columns[c.name], c.how).label(c.name) for c in cells if c.name not in texts]
        ordered = select(*inner, *prepared).select_from(table)
        if where is not None:
            ordered = ordered.where(where)
        source = ordered.order_by(*[backend.sort_key(table.columns[k]) for k in key]).limit(_NO_LIMIT).offset(0)
        source = source.subquery("echelon-seed")

    # Segments: the static JSON around the cells and the cells the database writes, concatenated in SQL;
    # between them, the values Python finishes. Columns in name order, as `RowEncoder` writes them.
    terms: list[ColumnElement[Any]] = []
    finishers: list[Callable[[Any], str]] = []
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
            continue
        column = source.columns[cell.name]
        terms.append(column if prepared else backend.read_term(column, cell.how))
        finishers.append(canonical.cell_text(cell.kind, cell.anchor, lenient=cell.lenient))
        as_text = False
    pending.append(_literal("}]"))
    terms.append(literal_column(" || ".join(pending)))

    query = select(*terms).select_from(source)
    if where is not None and not prepared:
        query = query.where(where)
    if not prepared or not backend.keeps_subquery_order:
        query = query.order_by(*[backend.sort_key(source.columns[k]) for k in key])
    return LineQuery(query=query, finishers=tuple(finishers), as_text=as_text)


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


async def read_lines(
    conn: AsyncConnection, backend: Backend, lines: LineQuery, sink: Callable[[list[str]], None], batch: int
) -> None:
    """Hand the table's lines to `sink` in batches; raise NotExact once a row the database could not write shows.

    `sink` may have taken earlier batches by then: the caller starts the table again.
    """
    if lines.as_text:
        failed = False
        combine = _combiner(lines.finishers, _COPY_NULL) if lines.finishers else None

        def take(rows: list[str]) -> None:
            nonlocal failed
            if failed:
                return
            try:
                if combine is None:
                    if _COPY_NULL in rows:
                        raise NotExact
                    sink(rows)
                else:
                    sink([combine(row.split("\t")) for row in rows])
            except (NotExact, TypeError, ValueError, OverflowError):
                failed = True  # COPY runs to its end: stopping it midway would break the transaction

        await backend.text_rows(conn, lines.query, take)
        if failed:
            raise NotExact
        return
    combine = _combiner(lines.finishers, None)
    stream = backend.stream(conn, lines.query, batch)
    try:
        async for rows in stream:
            try:
                sink([combine(row) for row in rows])
            except (TypeError, ValueError, OverflowError):
                # A value Python's own path refuses: read that way, it says which and where.
                raise NotExact from None
    finally:
        close = getattr(stream, "aclose", None)  # the cursor closes now, not when collected
        if close is not None:
            await close()


#: How COPY's text form spells NULL.
_COPY_NULL = "\\N"


async def read_table(
    conn: AsyncConnection,
    backend: Backend,
    table: Table,
    cells: Sequence[Cell],
    key: Sequence[str],
    sink: Callable[[list[str]], None],
    batch: int,
) -> bool:
    """Hand the table's lines, as the database writes them, to `sink`; False when it writes none of its columns.

    A big table whose key starts with a column of whole numbers or text is
    read in two halves at once, cut on that column, the second by another
    session of the same snapshot (`Backend.second_reader`), its lines kept in
    a temporary file until the first half has gone by. Raises NotExact as
    `read_lines` does.
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
            middle = await conn.scalar(select(table.columns[key[0]]).order_by(term).offset(rows // 2).limit(1))
            if middle is not None:
                async with backend.second_reader(conn) as other:
                    if other is not None:
                        first = line_query(table, cells, key, backend, term < middle)
                        second = line_query(table, cells, key, backend, term >= middle)
                        assert first is not None and second is not None
                        await _halves(conn, other, backend, (first, second), sink, batch)
                        return True
    await read_lines(conn, backend, whole, sink, batch)
    return True


async def _halves(
    conn: AsyncConnection,
    other: AsyncConnection,
    backend: Backend,
    halves: tuple[LineQuery, LineQuery],
    sink: Callable[[list[str]], None],
    batch: int,
) -> None:
    with tempfile.TemporaryFile("w+", encoding="utf-8") as later:

        def keep(lines: list[str]) -> None:
            if lines:
                later.write("\n".join(lines) + "\n")

        # Both run to their end (a COPY cut short would break its transaction); then the outcome.
        results = await asyncio.gather(
            read_lines(conn, backend, halves[0], sink, batch),
            read_lines(other, backend, halves[1], keep, batch),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        later.seek(0)
        pending = ""
        while chunk := later.read(2**20):  # in big pieces: a line at a time costs more than the hashing
            lines = (pending + chunk).split("\n")
            pending = lines.pop()
            for start in range(0, len(lines), batch):
                sink(lines[start : start + batch])
        if pending:
            sink([pending])
