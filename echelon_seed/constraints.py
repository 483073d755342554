"""The schema's own constraints, judged by a real database: fixtures loaded into an in-memory SQLite.

Checking CHECK constraints in Python would mean re-implementing SQL
expressions; instead `trial` creates the project's tables in a private
in-memory SQLite database and inserts every fixture row, one statement per
row, so that CHECK, NOT NULL, UNIQUE and primary keys are enforced by a
database, and foreign keys are checked once at the end (`PRAGMA
foreign_key_check`, so a table may reference itself or a later one). Each
failure is mapped back to the fixture file, row and columns it came from.

The tables are the project's metadata, rewritten for SQLite (`plan`): each
column declared by its type's family (INTEGER, REAL, NUMERIC, TEXT, BLOB),
so that a CHECK compares numbers as numbers; LIKE made case-sensitive, as on
PostgreSQL. What SQLite cannot express is left out and listed (`gaps`) rather
than guessed at: a column of a PostgreSQL-only type (an array) with every
constraint that names it, a CHECK whose SQL SQLite cannot prepare (a
PostgreSQL function or operator), a partial or expression unique index, a
foreign key to a table outside the project. PostgreSQL still judges those
at `apply`, inside the transaction, so nothing half-written can remain.

It runs after the Python checks in `fixtures` and only when they found
nothing, so it reports what they cannot see (CHECK constraints above all)
rather than repeating them.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Integer,
    Interval,
    LargeBinary,
    Numeric,
    String,
    Table,
    Time,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from . import types
from .errors import FixtureProblem

__all__ = ["Batch", "Plan", "gaps", "plan", "trial"]

_DIALECT = SQLiteDialect_pysqlite()
_QUOTE = _DIALECT.identifier_preparer.quote
_FAILED = re.compile(r"constraint failed: (?P<names>.+)$")
# Declared types by family, in the order tried (Boolean before Integer: a bool is an int in Python).
_FAMILIES: tuple[tuple[type[Any], str], ...] = (
    (Boolean, "INTEGER"),
    (Integer, "INTEGER"),
    (Float, "REAL"),
    (Numeric, "NUMERIC"),
    (String, "TEXT"),
    (JSON, "TEXT"),
    (DateTime, "TEXT"),
    (Date, "TEXT"),
    (Time, "TEXT"),
    (Interval, "TEXT"),
    (Uuid, "TEXT"),
    (LargeBinary, "BLOB"),
)


@dataclass(frozen=True)
class Batch:
    """One table's rows for the trial: (row number in the file, typed values in column order)."""

    table: Table
    file: str
    rows: Iterable[tuple[int, tuple[Any, ...]]]


@dataclass(frozen=True)
class _Check:
    name: str
    sql: str
    columns: str


@dataclass(frozen=True)
class _TrialTable:
    """One table as the trial creates it: the columns kept (by index) and how each value is bound."""

    ddl: str
    insert: str
    kept: tuple[int, ...]
    binders: tuple[Callable[[Any], Any] | None, ...]
    checks: Mapping[str, _Check]


@dataclass(frozen=True)
class Plan:
    """The project's tables in SQLite's terms, and what of them SQLite cannot express."""

    tables: Mapping[str, _TrialTable]
    gaps: tuple[str, ...]


def _declared(column: Column[Any]) -> str | None:
    """The column's declared SQLite type, or None when the trial cannot hold its values."""
    type_ = column.type
    family = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    return next((name for kind, name in _FAMILIES if isinstance(family, kind)), None)


def _binder(column: Column[Any]) -> Callable[[Any], Any] | None:
    # The values `apply` would store on SQLite (exact decimal text, not a float).
    return types.bind_processor(column.type, _DIALECT)


def _check_sql(constraint: CheckConstraint) -> str:
    compiled = constraint.sqltext.compile(
        dialect=_DIALECT, compile_kwargs={"include_table": False, "literal_binds": True}
    )
    return str(compiled)


def _name(constraint: Any) -> str:
    name = constraint.name
    return "(unnamed)" if name is None or str(name) == "_NONE_NAME" else str(name)


def _unique_sets(table: Table, kept: set[str], gaps: list[str]) -> list[tuple[str, ...]]:
    """The primary key, unique constraints and plain unique indexes over columns the trial holds."""
    sets: list[tuple[str, ...]] = []
    candidates: list[tuple[str, tuple[str, ...] | None]] = []
    candidates.append(("primary key", tuple(c.name for c in table.primary_key.columns)))
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            candidates.append((f"unique constraint {_name(constraint)}", tuple(c.name for c in constraint.columns)))
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        if not index.unique:
            continue
        where = any(k.endswith("_where") and v is not None for k, v in index.dialect_kwargs.items())
        plain = all(isinstance(e, Column) for e in index.expressions)
        if where or not plain:
            gaps.append(f"{table.name}: unique index {_name(index)} ({'partial' if where else 'on expressions'})")
            continue
        candidates.append((f"unique index {_name(index)}", tuple(c.name for c in index.columns)))
    for what, names in candidates:
        if not names or names in sets:
            continue
        if not set(names) <= kept:
            gaps.append(f"{table.name}: {what} ({', '.join(names)}) names a column left out")
            continue
        sets.append(names)
    return sets


def _probe(database: sqlite3.Connection, table: str, sql: str) -> str | None:
    """Why SQLite cannot evaluate this CHECK on `table` (None when it can)."""
    try:
        database.execute(f"SELECT 1 FROM {_QUOTE(table)} WHERE NOT ({sql})").fetchall()
    except sqlite3.Error as exc:
        return str(exc)
    return None


def _build(tables: tuple[Table, ...]) -> Plan:
    gaps: list[str] = []
    kept: dict[str, list[int]] = {}
    declared: dict[str, list[str]] = {}
    for table in tables:
        kept[table.name], declared[table.name] = [], []
        for i, column in enumerate(table.columns):
            kind = _declared(column)
            if kind is None or column.computed is not None:
                reason = "computed" if column.computed is not None else f"{column.type!r}: SQLite has no such type"
                gaps.append(f"{table.name}.{column.name} ({reason}), with every constraint that names it")
                continue
            null = "" if column.nullable else " NOT NULL"
            kept[table.name].append(i)
            declared[table.name].append(f"{_QUOTE(column.name)} {kind}{null}")
    names = {t.name: {t.columns.keys()[i] for i in kept[t.name]} for t in tables}
    uniques = {t.name: _unique_sets(t, names[t.name], gaps) for t in tables}
    probe = sqlite3.connect(":memory:")
    planned: dict[str, _TrialTable] = {}
    try:
        for table in tables:
            parts = list(declared[table.name])
            primary = tuple(c.name for c in table.primary_key.columns)
            for names_ in uniques[table.name]:
                kind = "PRIMARY KEY" if names_ == primary else "UNIQUE"
                parts.append(f"{kind} ({', '.join(_QUOTE(n) for n in names_)})")
            parts += _foreign_keys(table, names, uniques, gaps)
            probe.execute(f"CREATE TABLE {_QUOTE(table.name)} ({', '.join(parts)})")
            checks: dict[str, _Check] = {}
            for constraint in sorted(
                (c for c in table.constraints if isinstance(c, CheckConstraint)), key=lambda c: _name(c)
            ):
                sql = _check_sql(constraint)
                why = _probe(probe, table.name, sql)
                if why is not None:
                    gaps.append(f"{table.name}: check constraint {_name(constraint)} ({sql}): {why}")
                    continue
                tag = f"c{len(checks)}"
                used = [c for c in table.columns.keys() if re.search(rf"\b{re.escape(c)}\b", sql)]
                checks[tag] = _Check(_name(constraint), sql, ", ".join(used))
                parts.append(f"CONSTRAINT {tag} CHECK ({sql})")
            columns = [table.columns[i] for i in kept[table.name]]
            planned[table.name] = _TrialTable(
                ddl=f"CREATE TABLE {_QUOTE(table.name)} ({', '.join(parts)})",
                insert=(
                    f"INSERT INTO {_QUOTE(table.name)} ({', '.join(_QUOTE(c.name) for c in columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})"
                ),
                kept=tuple(kept[table.name]),
                binders=tuple(_binder(c) for c in columns),
                checks=checks,
            )
    finally:
        probe.close()
    return Plan(tables=planned, gaps=tuple(gaps))


def _foreign_keys(
    table: Table, names: Mapping[str, set[str]], uniques: Mapping[str, list[tuple[str, ...]]], gaps: list[str]
) -> list[str]:
    clauses: list[str] = []
    for fk in sorted(
        (c for c in table.constraints if isinstance(c, ForeignKeyConstraint)), key=lambda c: tuple(c.column_keys)
    ):
        parents = [e.parent.name for e in fk.elements]
        target = fk.elements[0].column.table
        targets = [e.column.name for e in fk.elements]
        described = f"{table.name}: foreign key {_name(fk)} ({', '.join(parents)})"
        if target.name not in names or target.schema != table.schema:
            gaps.append(f"{described} points outside the project's tables")
        elif not set(parents) <= names[table.name] or set(targets) not in [set(u) for u in uniques[target.name]]:
            gaps.append(f"{described} names a column or key left out")
        else:
            clauses.append(
                f"FOREIGN KEY ({', '.join(_QUOTE(n) for n in parents)}) "
                f"REFERENCES {_QUOTE(target.name)} ({', '.join(_QUOTE(n) for n in targets)})"
            )
    return clauses


@lru_cache(maxsize=8)
def plan(tables: tuple[Table, ...]) -> Plan:
    """The trial's schema for these tables, built once per process (compiling costs more than running)."""
    return _build(tables)


def gaps(tables: Sequence[Table]) -> list[str]:
    """What of these tables the trial cannot evaluate, one line each; PostgreSQL judges it at apply."""
    return list(plan(tuple(tables)).gaps)


def _label(table: Table, row: tuple[Any, ...]) -> str | None:
    names = table.columns.keys()
    keys = [row[names.index(c.name)] for c in table.primary_key.columns]
    return None if any(k is None for k in keys) else ", ".join(str(k) for k in keys)


def _explain(trial: _TrialTable, error: sqlite3.Error) -> tuple[str | None, str]:
    """(column, message) for one failed INSERT."""
    text = str(error)
    found = _FAILED.search(text)
    if text.startswith("CHECK constraint failed") and found and found["names"] in trial.checks:
        check = trial.checks[found["names"]]
        return check.columns or None, f"breaks the check constraint {check.name} ({check.sql})"
    if found and (text.startswith("UNIQUE") or text.startswith("NOT NULL")):
        columns = ", ".join(n.strip().rpartition(".")[2] for n in found["names"].split(","))
        kind = "duplicate value" if text.startswith("UNIQUE") else "missing required value"
        return columns, f"{kind} ({text})"
    return None, f"the database refuses this row: {text}"


def trial(tables: Sequence[Table], batches: Sequence[Batch], *, foreign_keys: bool = True) -> list[FixtureProblem]:
    """Insert every batch into a fresh in-memory SQLite database with `tables`; return each row it refuses.

    Without `foreign_keys` (some rows are known bad and left out, so rows
    pointing at them would be blamed) only the per-row constraints are judged.
    """
    schema = plan(tuple(tables))
    problems: list[FixtureProblem] = []
    where: dict[tuple[str, int], tuple[Batch, int, tuple[Any, ...]]] = {}
    database = sqlite3.connect(":memory:")
    try:
        database.execute("PRAGMA case_sensitive_like = ON")  # LIKE as PostgreSQL has it
        for planned in schema.tables.values():
            database.execute(planned.ddl)
        for batch in batches:
            planned = schema.tables[batch.table.name]
            for number, row in batch.rows:
                values = [row[i] for i in planned.kept]
                try:
                    bound = [
                        v if f is None or v is None else f(v) for f, v in zip(planned.binders, values, strict=True)
                    ]
                    cursor = database.execute(planned.insert, bound)
                except (sqlite3.Error, ValueError, TypeError, OverflowError, LookupError) as exc:
                    column, message = _explain(planned, exc) if isinstance(exc, sqlite3.Error) else (None, str(exc))
                    problems.append(FixtureProblem(batch.file, message, number, _label(batch.table, row), column))
                    continue
                assert cursor.lastrowid is not None
                where[(batch.table.name, cursor.lastrowid)] = (batch, number, row)
        # A refused row is missing from the trial, and rows pointing at it would be blamed for it.
        if foreign_keys and not problems:
            problems.extend(_foreign_key_problems(database, where))
    finally:
        database.close()
    return problems


def _foreign_key_problems(
    database: sqlite3.Connection, where: dict[tuple[str, int], tuple[Batch, int, tuple[Any, ...]]]
) -> list[FixtureProblem]:
    problems: list[FixtureProblem] = []
    keys: dict[str, dict[int, list[tuple[str, str, str]]]] = {}
    for name, rowid, parent, fkid in database.execute("PRAGMA foreign_key_check").fetchall():
        if name not in keys:
            keys[name] = {}
            for fk in database.execute(f"PRAGMA foreign_key_list({_QUOTE(name)})"):
                keys[name].setdefault(fk[0], []).append((fk[3], fk[2], fk[4]))
        batch, number, row = where[(name, rowid)]
        pairs = keys[name].get(fkid, [])
        columns = ", ".join(p[0] for p in pairs)
        target = ", ".join(f"{p[1]}.{p[2]}" for p in pairs) or parent
        problems.append(
            FixtureProblem(
                batch.file, f"no row of {parent} matches ({target})", number, _label(batch.table, row), columns
            )
        )
    return problems
