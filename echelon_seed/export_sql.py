"""The seed as a PostgreSQL script that psql loads in one transaction (the seed guide's Method 2).

    psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f seed.sql [-v anchor=2026-11-24T12:00:00Z]

The script: ON_ERROR_STOP; the anchor (psql's `anchor` variable, else the
moment the script runs, read once from the server); BEGIN; the schema (the
migrations' DDL with `with_schema`, else a check that the database is at the
expected revision); a check that the project's tables are empty; COPY
blocks in foreign-key order; the seed record; COMMIT. Any failure stops psql
before COMMIT, so nothing is committed.

Relative times are resolved in SQL against the one anchor: a table with
aware timestamps is copied into a temporary twin whose time columns are
text (offsets as "-14400.000000 seconds", absolute times as ISO-8601), and
inserted from it with `anchor + offset`. Offsets are in seconds only, never
days, so no session time zone or daylight-saving change moves them. A
foreign key that points forward in a cycle and is not deferrable is written
NULL and filled in from the twin after every table (as `cycles` does for
`apply`). Rows are written as they are produced, so memory stays flat at
any scale. The record is the one `apply` writes, so the loaded database
verifies against the golden file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql

from . import cycles, migrate, plan, types
from .bookkeeping import seed_runs
from .engines import sequences_sql
from .fixture_set import FixtureSet, TableFixture
from .project import Project
from .tool_tables import RUNS_TABLE, VERSION_TABLE

if TYPE_CHECKING:
    from .mask import Masker

__all__ = ["write_script"]

#: The anchor generated rows are produced against; only offsets from it reach the script.
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_TWIN = "_echelon_seed_"


def _quote(name: str) -> str:
    return str(_DIALECT.identifier_preparer.quote(name))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _rows(fixture_set: FixtureSet, fixture: TableFixture, scale: int) -> Iterable[tuple[Any, ...]]:
    """The table's rows with its aware times as offsets (timedelta) or absolute datetimes."""
    if fixture.spec is None:
        return fixture.rows  # literal rows keep what the file said: offsets or absolute times
    moments = [i for i, c in enumerate(fixture.table.columns) if types.is_moment(c.type)]

    def relative(row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for i in moments:
            if values[i] is not None:
                values[i] = values[i] - _REFERENCE
        return tuple(values)

    return map(relative, plan.rows(fixture_set, fixture, anchor=_REFERENCE, scale=scale))


def _checks(out: IO[str], project: Project, *, with_schema: bool) -> None:
    tables = [t.name for t in project.tables]
    array = "ARRAY[" + ", ".join(_literal(n) for n in tables) + "]"
    if with_schema:
        out.write(
            "DO $$\nDECLARE t text;\nBEGIN\n"
            f"  FOREACH t IN ARRAY {array} || ARRAY[{_literal(VERSION_TABLE)}] LOOP\n"
            "    IF to_regclass(quote_ident(t)) IS NOT NULL THEN\n"
            "      RAISE EXCEPTION 'echelon-seed: the database already has table %, so the schema cannot be "
            "created; load a script made without --with-schema into a migrated database', t;\n"
            "    END IF;\n  END LOOP;\nEND $$;\n\n"
        )
        migrate.offline_sql(project, out)
        return
    if project.migrations is None:
        out.write(
            "DO $$\nDECLARE t text;\nBEGIN\n"
            f"  FOREACH t IN ARRAY {array} LOOP\n"
            "    IF to_regclass(quote_ident(t)) IS NULL THEN\n"
            f"      RAISE EXCEPTION 'echelon-seed: the database has no table % of project {project.name}: "
            "create the schema first (echelon-seed apply), or load a script made with --with-schema', t;\n"
            "    END IF;\n  END LOOP;\nEND $$;\n\n"
        )
        return
    head = migrate.head_revision(project)
    out.write(
        "DO $$\nDECLARE found text;\nBEGIN\n"
        f"  IF to_regclass({_literal(VERSION_TABLE)}) IS NULL THEN\n"
        f"    RAISE EXCEPTION 'echelon-seed: the database is not migrated (no {VERSION_TABLE} table); "
        "run the migrations first (echelon-seed apply, or alembic upgrade head), or load a script made with "
        "--with-schema';\n  END IF;\n"
        f"  SELECT max(version_num) INTO found FROM {VERSION_TABLE};\n"
        f"  IF found IS DISTINCT FROM {_literal(head)} THEN\n"
        f"    RAISE EXCEPTION 'echelon-seed: the database is at schema revision %, the script was made for {head}: "
        "migrate the database to that revision, or make the script with the code that matches the database', "
        "coalesce(found, 'none');\n"
        "  END IF;\nEND $$;\n\n"
    )


def _refuse_data(out: IO[str], project: Project) -> None:
    names = [t.name for t in project.tables] + [RUNS_TABLE]
    out.write(
        "DO $$\nDECLARE t text; found boolean;\nBEGIN\n"
        "  FOREACH t IN ARRAY ARRAY[" + ", ".join(_literal(n) for n in names) + "] LOOP\n"
        "    IF to_regclass(quote_ident(t)) IS NOT NULL THEN\n"
        "      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', t) INTO found;\n"
        "      IF found THEN\n"
        "        RAISE EXCEPTION 'echelon-seed: the database already has data (table % is not empty); "
        "load the script into an empty database, or reseed with echelon-seed apply --force', t;\n"
        "      END IF;\n    END IF;\n  END LOOP;\nEND $$;\n\n"
    )


def _copy(
    out: IO[str],
    table: str,
    names: Sequence[str],
    line: Callable[[Sequence[Any]], str],
    rows: Iterable[tuple[Any, ...]],
) -> int:
    out.write(f"COPY {_quote(table)} ({', '.join(_quote(n) for n in names)}) FROM STDIN;\n")
    count = 0
    for row in rows:
        out.write(line(row))
        out.write("\n")
        count += 1
    out.write("\\.\n\n")
    return count


def _table(
    out: IO[str],
    fixture_set: FixtureSet,
    fixture: TableFixture,
    scale: int,
    late: cycles.Holdback | None,
    mask: _Masking | None = None,
) -> int:
    table = fixture.table
    names = table.columns.keys()
    line = types.copy_row(table)
    moments = [c.name for c in table.columns if types.is_moment(c.type)]
    rows = _rows(fixture_set, fixture, scale)
    if mask is not None:
        rows = mask.rows(table, rows)
    if not moments and late is None:
        return _copy(out, table.name, names, line, rows)
    twin = _TWIN + table.name
    out.write(f"CREATE TEMP TABLE {_quote(twin)} (LIKE {_quote(table.name)}) ON COMMIT DROP;\n")
    for name in moments:
        out.write(f"ALTER TABLE {_quote(twin)} ALTER COLUMN {_quote(name)} TYPE text;\n")
    count = _copy(out, twin, names, line, rows)
    held = {c.name for c in late.late} if late is not None else set()
    select = []
    for name in names:
        q = _quote(name)
        if name in held:
            select.append("NULL")
        elif name in moments:
            select.append(
                f"CASE WHEN {q} LIKE '%seconds' THEN :'anchor'::timestamptz + {q}::interval ELSE {q}::timestamptz END"
            )
        else:
            select.append(q)
    # COPY writes a GENERATED ALWAYS identity as given; an INSERT must say that it means to.
    always = any(c.identity is not None and c.identity.always for c in table.columns)
    overriding = " OVERRIDING SYSTEM VALUE" if always else ""
    out.write(
        f"INSERT INTO {_quote(table.name)} ({', '.join(_quote(n) for n in names)}){overriding}\n"
        f"  SELECT {', '.join(select)} FROM {_quote(twin)};\n\n"
    )
    return count


def _fill(out: IO[str], table: Table, late: cycles.Holdback) -> None:
    target, twin = _quote(table.name), _quote(_TWIN + table.name)
    sets = ", ".join(f"{_quote(c.name)} = s.{_quote(c.name)}" for c in late.late)
    keys = " AND ".join(f"{target}.{_quote(c.name)} = s.{_quote(c.name)}" for c in table.primary_key.columns)
    present = " OR ".join(f"s.{_quote(c.name)} IS NOT NULL" for c in late.late)
    out.write(f"UPDATE {target} SET {sets} FROM {twin} s WHERE {keys} AND ({present});\n\n")


def write_script(
    out: IO[str],
    project: Project,
    fixture_set: FixtureSet,
    *,
    scale: int,
    with_schema: bool,
    tool_version: str,
    mask: Masker | None = None,
) -> int:
    """Write the psql script of the seed to `out`; return the number of rows in it.

    With `mask`, every row is masked on its way into the script, and each
    masked row is scanned for the original values (recorded in a first pass
    over the rows); a leak raises `LeakError` once the script is written, so a
    script written to a file is not kept.
    """
    masking = _Masking(mask, fixture_set, scale) if mask is not None else None
    revision = migrate.head_revision(project) if project.migrations is not None else migrate.FROM_METADATA
    out.write(
        f"-- echelon-seed export-sql: project {project.name}, fixtures {fixture_set.digest}, scale {scale}\n"
        f'-- Load it with: psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f FILE [-v anchor=2026-11-24T12:00:00Z]\n'
        "\\set ON_ERROR_STOP on\n"
        "\\if :{?anchor}\n\\else\n"
        "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS anchor \\gset\n"
        "\\endif\n"
        "BEGIN;\n"
        "SET LOCAL client_min_messages = warning;\n\n"
    )
    _checks(out, project, with_schema=with_schema)
    from sqlalchemy.schema import CreateTable

    create = str(CreateTable(seed_runs, if_not_exists=True).compile(dialect=_DIALECT)).strip()
    out.write(f"{create};\n\n")
    _refuse_data(out, project)
    out.write("SET CONSTRAINTS ALL DEFERRED;\n\n")
    late = cycles.holdbacks([f.table for f in fixture_set.tables])
    total = 0
    for fixture in fixture_set.tables:
        total += _table(out, fixture_set, fixture, scale, late.get(fixture.table.name), masking)
    for fixture in fixture_set.tables:
        if fixture.table.name in late:
            _fill(out, fixture.table, late[fixture.table.name])
    # The application's next INSERT without a key continues after the seed's largest key.
    out.write(sequences_sql(project.schema, [t.name for t in project.tables]) + ";\n\n")
    values = ", ".join(
        [
            "1",
            ":'anchor'::timestamptz",
            _literal(fixture_set.digest),
            str(scale),
            _literal(tool_version),
            _literal(revision),
            _literal(project.fingerprint),
            _literal(project.name),
        ]
    )
    columns = ", ".join(_quote(c.name) for c in seed_runs.columns)
    out.write(f"INSERT INTO {RUNS_TABLE} ({columns}) VALUES ({values});\n\nCOMMIT;\n")
    if masking is not None:
        masking.finish()
    return total


class _Masking:
    """The masker of an export-sql run, with the leak scan of the rows it writes."""

    def __init__(self, masker: Masker, fixture_set: FixtureSet, scale: int) -> None:
        from .mask import LeakError, scan_rows

        self.masker, self.scan, self.error = masker, scan_rows, LeakError
        for fixture in fixture_set.tables:  # first pass: every original recorded before any row is scanned
            for _ in masker.rows(fixture.table, _rows(fixture_set, fixture, scale)):
                pass
        self.detector = masker.detector()
        self.leaks: list[Any] = []

    def rows(self, table: Table, rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        names = table.columns.keys()
        skip = {c for t, c in self.detector.unscanned if t == table.name}
        for number, row in enumerate(self.masker.rows(table, rows), start=1):
            for leak in self.scan(self.detector, f"table {table.name}", [dict(zip(names, row, strict=True))], skip):
                self.leaks.append(type(leak)(leak.where, number, leak.column, leak.path, leak.origin))
            yield row

    def finish(self) -> None:
        if self.leaks:
            raise self.error(self.leaks, "the script holds them: mask that column too and write it again")
