"""Fixture files in, typed rows out: `load(dir)` validates everything up front.

`data/` holds one JSON file per table, named after it. A file either lists
its rows (`{"rows": [{...}, ...]}`, every value in the column's JSON form) or
declares a generator (`{"generate": {"generator": ..., "seed": ..., "count":
N}}`) that `generate` expands. Every problem is found before a database is
touched, and each names its file, row and column, so that a bad fixture can
never leave a half-seeded database behind.

Times in fixtures are relative ("now-4h"): they are kept as offsets and
resolved against the anchor only when rows are produced. An aware column also
takes an absolute ISO-8601 time with a zone ("2026-11-24T12:00:00Z", what
`export --absolute` writes), which no anchor moves.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shlex
import stat
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Column, MetaData, Table, UniqueConstraint

from . import clock, constraints, defaults, generate, interrupts, jsonstream, plan, project, types
from .errors import ConfigError, FixtureError, FixtureProblem
from .fixture_set import FixtureSet, TableFixture, resolved
from .project import Project
from .types import Invalid as _Invalid
from .types import LongNumber as _LongNumber
from .types import NotFinite as _NotFinite
from .types.json import MAX_JSON_DEPTH
from .types.time import MAX_OFFSET

__all__ = [
    "LARGE_ROWS",
    "MAX_JSON_DEPTH",
    "MAX_OFFSET",
    "check",
    "load",
    "unchecked",
]

#: Rows a generator may yield at scale 1 (count, times the timelines for price history) without --allow-large.
LARGE_ROWS = 1_000_000
# Longer integer literals are kept as text: int() refuses more than 4300 digits, and none fits a column.
_MAX_DIGITS = 400
# `check` has no anchor: times resolve against this one, which every allowed offset fits.
_CHECK_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)
# The longest single row (or generate block) a fixture file may hold, in characters: memory follows it.
_MAX_VALUE = 16 << 20
# Problems listed per file: a file of a million bad rows is one finding, not a million lines.
_MAX_FILE_PROBLEMS = 1_000
# Generated rows per table that the constraint trial inserts: enough to run the generator on its inputs.
_TRIAL_SAMPLE = 1_000


# --- reading -----------------------------------------------------------------------------------------


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers keys given twice (the last one wins, as in jsonb)."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    parsed = _Object(pairs)
    if len(parsed) != len(pairs):
        keys = [k for k, _ in pairs]
        parsed.duplicates = tuple(sorted({k for k in keys if keys.count(k) > 1}))
    return parsed


def _parse_int(text: str) -> int | _LongNumber:
    return int(text) if len(text) <= _MAX_DIGITS else _LongNumber(text)


# The decoder of every fixture value: keys given twice, exact decimals, long numbers and NaN kept locatable.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_object, parse_float=Decimal, parse_int=_parse_int, parse_constant=_NotFinite
)


class _Unreadable(Exception):
    """A fixture path that is not a readable regular file; the message says what it is."""


def _kind_of_file(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _os_reason(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    if exc.errno == errno.ENOENT and path.is_symlink():
        return f"a symbolic link to {os.readlink(path)}, which does not exist"
    return f"cannot be read ({exc.strerror or exc})"


def _open_regular(path: Path, size_limit: int) -> IO[bytes]:
    """A fixture file opened for reading; anything but a regular file of at most `size_limit` bytes is refused.

    Opening a FIFO blocks until a writer comes, and a device may never end,
    so the type is checked first (through symbolic links, which are allowed),
    and again on the open descriptor in case the path changed in between.
    """
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise _Unreadable(f"{_kind_of_file(mode)}, not a regular file")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        stream = os.fdopen(fd, "rb")
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            stream.close()
            raise _Unreadable(f"{_kind_of_file(info.st_mode)}, not a regular file")
        if info.st_size > size_limit:
            stream.close()
            raise _Unreadable(_too_large(info.st_size, size_limit))
        return stream
    except OSError as exc:
        raise _Unreadable(_os_reason(path, exc)) from None


def _too_large(size: int, size_limit: int) -> str:
    return (
        f"{size:,} bytes, over the {size_limit / (1 << 20):g} MB limit for a fixture file "
        "(max_fixture_mb in [tool.echelon-seed] raises it)"
    )


# --- converting one value ------------------------------------------------------------------------------


def _convert(column: Column[Any], value: Any) -> Any:
    """Return the typed Python value for `value`, the column's JSON form; raise _Invalid if it does not fit."""
    if isinstance(value, _NotFinite):
        raise _Invalid(f"{value.name} is not a finite number")
    if isinstance(value, _LongNumber):
        raise _Invalid(f"{value!r} is out of range for every column type")
    if value is None:
        if not column.nullable:
            raise _Invalid("null in a required column")
        return None
    return types.fixture_value(column.type, value)


# --- loading one file ----------------------------------------------------------------------------------


def _row_label(table: Table, row: Mapping[str, Any]) -> str | None:
    keys = [row.get(c.name) for c in table.primary_key.columns]
    if any(k is None or isinstance(k, dict | list) for k in keys):
        return None
    return ", ".join(str(k) for k in keys)


def _load_file(
    table: Table,
    path: Path,
    shown: str,
    problems: list[FixtureProblem],
    *,
    size_limit: int,
    seen: Any,
    incomplete: set[tuple[str, int]],
) -> TableFixture | None:
    """Read one fixture file, a value at a time (see `jsonstream`); None when it cannot be used.

    A file that is not JSON, or not shaped as a fixture, is one problem: the
    problems of its rows read so far are dropped with it, as if the file had
    been parsed whole first. `incomplete` gets the rows reported only through
    a problem about their column (a default that must be given).
    """
    try:
        stream = _open_regular(path, size_limit)
    except _Unreadable as exc:
        problems.append(FixtureProblem(shown, str(exc)))
        return None
    found = _FileProblems(shown, incomplete)
    with stream:
        reader = jsonstream.Reader(stream, _DECODER, limit=_MAX_VALUE, size_limit=size_limit, seen=seen)
        try:
            fixture = _read_document(table, path, reader, found)
            if fixture is not None:
                reader.end()
        except jsonstream.NotText as exc:
            problems.append(FixtureProblem(shown, f"not UTF-8 text ({exc})"))
            return None
        except jsonstream.JSONError as exc:
            problems.append(
                FixtureProblem(shown, f"invalid JSON at line {exc.line} column {exc.column}: {exc.message}")
            )
            return None
        except jsonstream.TooLarge:
            what = f"row {found.rows + 1}" if found.rows else "a value"
            if reader.bytes_read > size_limit:
                problems.append(FixtureProblem(shown, _too_large(reader.bytes_read, size_limit) + " (it grew)"))
            else:
                problems.append(
                    FixtureProblem(
                        shown, f"{what} is longer than {_MAX_VALUE:,} characters; no fixture row is that long"
                    )
                )
            return None
        except RecursionError:
            problems.append(FixtureProblem(shown, f"JSON nested too deeply to read (at most {MAX_JSON_DEPTH} levels)"))
            return None
    problems.extend(found.listed())
    return fixture if not found.over else None


class _FileProblems:
    """The problems of one file: the first `_MAX_FILE_PROBLEMS`; after them, rows are read but not checked."""

    def __init__(self, shown: str, incomplete: set[tuple[str, int]]) -> None:
        self.shown = shown
        self.incomplete = incomplete
        self.kept: list[FixtureProblem] = []
        self.rows = 0
        #: The first row not checked, once the list is full.
        self.full_at: int | None = None

    @property
    def over(self) -> bool:
        return self.full_at is not None

    def add(self, problem: FixtureProblem) -> None:
        if len(self.kept) < _MAX_FILE_PROBLEMS:
            self.kept.append(problem)
        elif self.full_at is None:
            self.full_at = max(self.rows, 1)

    def listed(self) -> list[FixtureProblem]:
        if self.full_at is None:
            return self.kept
        unchecked = f"rows {self.full_at:,} to {self.rows:,}" if self.rows > self.full_at else f"row {self.rows:,}"
        summary = FixtureProblem(
            self.shown,
            f"more than {len(self.kept):,} problems: the first {len(self.kept):,} are listed, "
            f"{unchecked} were read as JSON but not checked",
        )
        return [summary, *self.kept]


def _read_document(table: Table, path: Path, reader: jsonstream.Reader, found: _FileProblems) -> TableFixture | None:
    """The one-key object of a fixture file; a problem of its shape goes to `found`."""
    shape = 'expected an object with exactly one key, "rows" or "generate"'
    if reader.peek() != "{":
        reader.value()  # not JSON is said before not an object
        found.add(FixtureProblem(found.shown, shape))
        return None
    reader.take("{", "Expecting value")
    if reader.peek() != '"':
        if reader.peek() == "}":
            found.add(FixtureProblem(found.shown, shape))
            return None
        raise reader.error("Expecting property name enclosed in double quotes")
    key = reader.value()
    reader.take(":", "Expecting ':' delimiter")
    fixture: TableFixture | None = None
    if key == "rows":
        fixture = _read_rows(table, path, reader, found)
    elif key == "generate":
        spec = reader.value()
        if not isinstance(spec, dict):
            found.add(FixtureProblem(found.shown, '"generate" must be an object'))
            return None
        spec_problems = generate.validate(table.name, spec)
        for message in spec_problems:
            found.add(FixtureProblem(found.shown, message))
        fixture = None if spec_problems else TableFixture(table=table, path=path, spec=spec)
    else:
        found.add(FixtureProblem(found.shown, shape))
        return None
    after = reader.peek()
    if after == ",":
        reader.take(",", "")
        if reader.peek() == '"' and reader.value() == key:
            message = f"duplicate key {key!r} at the top level"
        else:
            message = shape
        found.kept, found.full_at = [FixtureProblem(found.shown, message)], None
        return None
    reader.take("}", "Expecting ',' delimiter")
    return fixture


def _read_rows(table: Table, path: Path, reader: jsonstream.Reader, found: _FileProblems) -> TableFixture | None:
    """The list of rows, one at a time: each converted, then its JSON let go."""
    if reader.peek() != "[":
        reader.value()
        found.add(FixtureProblem(found.shown, '"rows" must be a list of objects'))
        return None
    reader.take("[", "Expecting value")
    names = table.columns.keys()
    filled = {c.name: defaults.of(table, c) for c in table.columns}
    unstable: dict[str, list[tuple[int, str | None]]] = {}
    rows: list[tuple[Any, ...]] | None = []
    if reader.peek() == "]":
        reader.take("]", "")
        return TableFixture(table=table, path=path, rows=())
    while True:
        raw = reader.value()
        found.rows += 1
        if found.rows % 1024 == 0:
            interrupts.check()
        row = None if found.over else _row(table, names, raw, found.rows, found, filled, unstable)
        if found.over:
            rows = None  # past the problems listed: its rows are no use, and memory stays flat
        elif rows is not None and row is not None:
            rows.append(row)
        if reader.peek() == ",":
            reader.take(",", "")
            continue
        reader.take("]", "Expecting ',' delimiter")
        break
    for name, missing in unstable.items():
        default = filled[name]
        assert isinstance(default, defaults.Unstable)
        first, label = missing[0]
        found.add(
            FixtureProblem(
                found.shown,
                f"left out of {len(missing)} row(s); its default ({default.why}) is not the same on every run, "
                "so every row must give it",
                row=first,
                row_id=label,
                column=name,
            )
        )
    return TableFixture(table=table, path=path, rows=tuple(rows)) if rows is not None else None


def _row(
    table: Table,
    names: Any,
    raw: Any,
    number: int,
    found: _FileProblems,
    filled: Mapping[str, defaults.Default | None],
    unstable: dict[str, list[tuple[int, str | None]]],
) -> tuple[Any, ...] | None:
    """One row object as typed values in column order; each problem is located to its cell."""
    shown = found.shown
    if not isinstance(raw, dict):
        found.add(FixtureProblem(shown, "a row must be a JSON object", row=number))
        return None
    label = _row_label(table, raw)

    def problem(message: str, column: str) -> FixtureProblem:
        return FixtureProblem(shown, message, row=number, row_id=label, column=column)

    for name in getattr(raw, "duplicates", ()):
        found.add(problem("duplicate key in the row object (each column once)", name))
    for name in raw:
        if name not in names:
            found.add(problem(f"unknown column; known: {', '.join(names)}", name))
    values: list[Any] = []
    for column in table.columns:
        given: Any = raw.get(column.name)
        if column.name not in raw:
            default = filled[column.name]
            if isinstance(default, defaults.Unstable):
                unstable.setdefault(column.name, []).append((number, label))
                found.incomplete.add((shown, number))
                values.append(None)
                continue
            if isinstance(default, defaults.Numbered):
                given = number
            elif isinstance(default, defaults.Fixed):
                given = default.value
            elif not column.nullable:
                found.add(problem("missing required value", column.name))
                values.append(None)
                continue
        try:
            values.append(_convert(column, given))
        except _Invalid as exc:
            found.add(problem(str(exc) if column.name in raw else f"its default: {exc}", column.name))
            values.append(None)
    return tuple(values)


# --- checks across rows and tables ---------------------------------------------------------------------


def _check_unique(fixture: TableFixture, shown: str, problems: list[FixtureProblem]) -> None:
    table = fixture.table
    names = table.columns.keys()
    keys = [tuple(c.name for c in table.primary_key.columns)]
    keys += [tuple(c.name for c in u.columns) for u in table.constraints if isinstance(u, UniqueConstraint)]
    keys += [(c.name,) for c in table.columns if c.unique]
    keys = list(dict.fromkeys(keys))  # a unique column is also listed as a UniqueConstraint
    primary = keys[0]
    keys = [key for key in keys if key]  # a table without a primary key may repeat rows
    for key in keys:
        where = [names.index(k) for k in key]
        first: dict[tuple[Any, ...], int] = {}
        for number, row in enumerate(fixture.rows, start=1):
            value = tuple(row[i] for i in where)
            if any(v is None for v in value):
                continue
            if value in first:
                label = ", ".join(str(v) for v in value)
                what = "primary key" if key == primary else "unique value"
                problems.append(
                    FixtureProblem(
                        shown,
                        f"duplicate {what} {label!r} (first in row {first[value]})",
                        row=number,
                        row_id=_row_label(table, dict(zip(names, row, strict=True))),
                        column=", ".join(key),
                    )
                )
            else:
                first[value] = number


def _check_foreign_keys(
    fixtures: Mapping[str, TableFixture],
    shown: Mapping[str, str],
    problems: list[FixtureProblem],
    *,
    skip: set[str],
) -> None:
    for fixture in fixtures.values():
        table = fixture.table
        names = table.columns.keys()
        for fk in table.foreign_keys:
            if fk.column.table.name in skip:
                continue
            target = fixtures.get(fk.column.table.name)
            known = (
                set() if target is None else {r[target.table.columns.keys().index(fk.column.name)] for r in target.rows}
            )
            where = names.index(fk.parent.name)
            for number, row in enumerate(fixture.rows, start=1):
                value = row[where]
                if value is not None and value not in known:
                    problems.append(
                        FixtureProblem(
                            shown[table.name],
                            f"{value!r} does not exist in {fk.column.table.name}.{fk.column.name}",
                            row=number,
                            row_id=_row_label(table, dict(zip(names, row, strict=True))),
                            column=fk.parent.name,
                        )
                    )


def _digest(files: Mapping[str, str], code: Sequence[tuple[str, bytes]]) -> str:
    """The fixture set's identity: its files (name and sha256 of the bytes) and the generators' code.

    A generator's source is part of the rows it makes, so an edited generator
    is another seed even when every fixture file is unchanged.
    """
    hasher = hashlib.sha256()
    hasher.update(f"generators={generate.GENERATOR_VERSION}\n".encode())
    for name, file_digest in sorted(files.items()):
        hasher.update(name.encode("utf-8", "surrogateescape") + b"\x00" + file_digest.encode() + b"\n")
    for module, source in code:
        hasher.update(f"code {module} {len(source)}\n".encode("utf-8", "surrogateescape") + source)
    return "sha256:" + hasher.hexdigest()


def _display(directory: Path) -> str:
    """The directory as the user knows it; a path that cannot be resolved (a link loop) as given."""
    try:
        return project.display(directory)
    except (OSError, RuntimeError):
        return str(directory)


def _json_files(directory: Path) -> list[Path]:
    """The *.json entries of the fixture directory, which must be a readable directory."""
    shown = _display(directory)
    try:
        mode = directory.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(
            f"fixture directory {shown} does not exist: 'echelon-seed export' writes it from a database "
            "(or write one <table>.json per table there)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"fixture directory {shown}: {_os_reason(directory, exc)} (--fixtures)") from None
    if not stat.S_ISDIR(mode):
        raise ConfigError(
            f"{shown} is {_kind_of_file(mode) if not stat.S_ISREG(mode) else 'a file'}, not a directory; "
            "--fixtures takes the directory that holds one <table>.json per table"
        )
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise ConfigError(f"fixture directory {shown}: {_os_reason(directory, exc)} (--fixtures)") from None
    return sorted(directory / name for name in names if name.endswith(".json"))


def _check_generators(
    fixtures: Mapping[str, TableFixture],
    shown: Mapping[str, str],
    problems: list[FixtureProblem],
    *,
    failed: set[str],
    allow_large: bool,
) -> None:
    """A generator's input tables are listed rows of this set, and its size is within the limit."""
    listed = FixtureSet(Path(), "", tuple(f for f in fixtures.values() if f.spec is None))
    for fixture in fixtures.values():
        if fixture.spec is None:
            continue
        name = fixture.table.name
        needs = generate.inputs(fixture.spec)
        missing = [t for t in needs if t not in fixtures and t not in failed]
        generated = [t for t in needs if t in fixtures and fixtures[t].spec is not None]
        for table in missing:
            problems.append(
                FixtureProblem(
                    shown[name],
                    f"generator {fixture.spec['generator']!r} draws from the rows of {table}, "
                    f"and there is no {table}.json in this directory",
                )
            )
        for table in generated:
            problems.append(
                FixtureProblem(shown[name], f"generator {fixture.spec['generator']!r} needs {table}.json to list rows")
            )
        if missing or generated or any(t in failed for t in needs):
            continue
        try:
            count = plan.row_count(listed, fixture, anchor=_CHECK_ANCHOR, scale=1)
        except generate.GeneratorError as exc:
            problems.append(FixtureProblem(shown[name], str(exc)))
            continue
        if count > LARGE_ROWS and not allow_large:
            problems.append(
                FixtureProblem(
                    shown[name],
                    f"the generator yields {count:,} rows at scale 1, more than {LARGE_ROWS:,}; "
                    "pass --allow-large if that many is meant",
                )
            )


def _check_times(
    fixture_set: FixtureSet, shown: Mapping[str, str], anchor: datetime, scale: int
) -> list[FixtureProblem]:
    """Every time resolves to a date both engines (and Python) hold, at this anchor and scale."""
    problems: list[FixtureProblem] = []
    lowest, highest = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)

    def outside(offset: timedelta | datetime) -> bool:
        if isinstance(offset, datetime):  # an absolute time: Python already holds it
            return False
        try:
            return not lowest <= anchor + offset <= highest
        except OverflowError:
            return True

    for fixture in fixture_set.tables:
        table = fixture.table
        if fixture.spec is not None:
            # A generator that does not declare its earliest time is judged by running it (the trial).
            earliest = generate.earliest_offset(table.name, fixture.spec, scale=scale)
            if earliest is not None and outside(earliest):
                problems.append(
                    FixtureProblem(
                        shown[table.name],
                        f"at scale {scale} the oldest generated time falls before the year 1 "
                        f"(anchor {anchor.isoformat()})",
                    )
                )
            continue
        names = table.columns.keys()
        times = [i for i, c in enumerate(table.columns) if types.is_moment(c.type)]
        for number, row in enumerate(fixture.rows, start=1):
            for i in times:
                if row[i] is not None and outside(row[i]):
                    problems.append(
                        FixtureProblem(
                            shown[table.name],
                            f"{clock.describe_offset(row[i])} falls outside the years 1..9999 "
                            f"at anchor {anchor.isoformat()}",
                            row=number,
                            row_id=_row_label(table, dict(zip(names, row, strict=True))),
                            column=names[i],
                        )
                    )
    return problems


def _trial(
    fixture_set: FixtureSet,
    owner: Project,
    shown: Mapping[str, str],
    anchor: datetime,
    known: list[FixtureProblem],
    incomplete: set[tuple[str, int]],
) -> list[FixtureProblem]:
    """Let a real database judge the rows: CHECK constraints, keys (see `constraints`).

    With problems already `known`, their rows are left out and the rest still
    judged, so that a CHECK violation is listed with everything else; only
    the cross-row checks (foreign keys, generators) wait for a clean set.
    """
    skip = {(p.file, p.row) for p in known} | incomplete
    batches: list[constraints.Batch] = []
    problems: list[FixtureProblem] = []
    for fixture in fixture_set.tables:
        file = shown[fixture.table.name]
        if fixture.spec is None:
            rows = enumerate(resolved(fixture, anchor), start=1)
            batches.append(constraints.Batch(fixture.table, file, [r for r in rows if (file, r[0]) not in skip]))
            continue
        if known:
            continue
        try:
            sample = list(islice(plan.rows(fixture_set, fixture, anchor=anchor, scale=1), _TRIAL_SAMPLE))
        except generate.GeneratorError as exc:
            problems.append(FixtureProblem(file, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - a project's generator failing is a finding about its fixture
            problems.append(FixtureProblem(file, f"generator {fixture.spec['generator']!r} failed: {exc!r}"))
            continue
        batches.append(constraints.Batch(fixture.table, file, list(enumerate(sample, start=1))))
    return problems or constraints.trial(owner.tables, batches, foreign_keys=not known)


def unchecked(owner: Project) -> list[str]:
    """What of the project's schema the constraint trial cannot evaluate; PostgreSQL judges it at apply."""
    return constraints.gaps(owner.tables)


def _collect(
    directory: Path, owner: Project, *, anchor: datetime | None = None, scale: int = 1, allow_large: bool = False
) -> tuple[FixtureSet | None, list[FixtureProblem]]:
    known = {t.name: t for t in owner.tables}
    files = _json_files(directory)
    problems: list[FixtureProblem] = []
    by_name: dict[str, TableFixture] = {}
    shown: dict[str, str] = {}
    failed: set[str] = set()
    contents: dict[str, str] = {}
    incomplete: set[tuple[str, int]] = set()
    # Named inside the directory as given: resolving the file itself would follow its link.
    where = _display(directory)
    for path in files:
        name = path.name if where == "." else os.path.join(where, path.name)
        table = known.get(path.stem)
        if table is None:
            problems.append(FixtureProblem(name, f"no seeded table is called {path.stem!r}; known: {', '.join(known)}"))
            continue
        shown[table.name] = name
        file_hash = hashlib.sha256()
        fixture = _load_file(
            table,
            path,
            name,
            problems,
            size_limit=owner.max_fixture_bytes,
            seen=file_hash.update,
            incomplete=incomplete,
        )
        contents[path.name] = file_hash.hexdigest()
        if fixture is None:
            failed.add(table.name)
        else:
            by_name[table.name] = fixture
            _check_unique(fixture, name, problems)
    if not files:
        problems.append(FixtureProblem(where, "no *.json fixture files"))
    # A table whose file could not be read says nothing about which keys exist.
    _check_foreign_keys(by_name, shown, problems, skip=failed)
    _check_generators(by_name, shown, problems, failed=failed, allow_large=allow_large)
    tables = tuple(by_name[t.name] for t in owner.tables if t.name in by_name)
    used = [f.spec["generator"] for f in tables if f.spec is not None]
    fixture_set = FixtureSet(
        directory=directory, digest=_digest(contents, generate.code(owner.generators, used)), tables=tables
    )
    if anchor is not None and not problems:
        problems = _check_times(fixture_set, shown, anchor, scale)
    if not problems or anchor is None:
        problems += _trial(fixture_set, owner, shown, anchor or _CHECK_ANCHOR, problems, incomplete)
    if not problems:
        return fixture_set, []
    # File by file, row by row: the order a person fixes them in.
    problems.sort(key=lambda p: (p.file, p.row or 0))
    return None, problems


def digest(directory: Path, generators: Sequence[str] = ()) -> str:
    """The digest `load` gives a directory whose every *.json file is a table's (no table needs to be known)."""
    files = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in _json_files(directory)}
    return _digest(files, generate.code(generators, []))


def check_shapes(directory: Path, size_limit: int = project.MAX_FIXTURE_MB << 20) -> list[FixtureProblem]:
    """What can be judged of fixture files without knowing the tables: JSON, layout, one object per row.

    For a project without models, whose tables exist only once its
    migrations ran: `apply` judges the rest against the database.
    """
    problems: list[FixtureProblem] = []
    where = _display(directory)
    files = _json_files(directory)
    for path in files:
        name = path.name if where == "." else os.path.join(where, path.name)
        # A table with no column: every row's columns are "unknown", and only the layout is judged.
        shapeless = Table(path.stem, MetaData())
        found: list[FixtureProblem] = []
        _load_file(shapeless, path, name, found, size_limit=size_limit, seen=None, incomplete=set())
        problems += [p for p in found if not p.message.startswith("unknown column")]
    if not files:
        problems.append(FixtureProblem(where, "no *.json fixture files"))
    return problems


def check(directory: Path, owner: Project | None = None, *, allow_large: bool = False) -> list[FixtureProblem]:
    """Every problem in the fixtures of `directory` for the project's tables; empty when either engine seeds them."""
    return _collect(directory, owner or project.echelon(), allow_large=allow_large)[1]


def load(
    directory: Path,
    owner: Project | None = None,
    *,
    anchor: datetime | None = None,
    scale: int = 1,
    allow_large: bool = False,
) -> FixtureSet:
    """Load and validate `directory` for the project's tables (for this anchor and scale, when given).

    Raises FixtureError naming every problem.
    """
    owner = owner or project.echelon()
    fixture_set, problems = _collect(directory, owner, anchor=anchor, scale=scale, allow_large=allow_large)
    if fixture_set is None:
        raise FixtureError(problems, _check_command(directory, owner))
    return fixture_set


def _check_command(directory: Path, owner: Project) -> str:
    """The `check` that lists these problems: with --fixtures unless they are the project's own."""
    words = ["echelon-seed", "check", *project.command_options(owner)]
    if _resolved_path(directory) != _resolved_path(owner.fixtures):
        words += ["--fixtures", _display(directory)]
    return shlex.join(words)


def _resolved_path(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()
