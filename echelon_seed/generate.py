"""Running registered generators: a fixture file's `generate` block to the rows of its table.

The generators themselves are registered through the public API
(`echelon_seed.generators`): per-row generators get a `Draw` per row, table
generators make the whole table in one call. This module validates a spec,
scales its count, hands the generator a read-only context (the listed rows
of the other fixture tables, the anchor in UTC), and checks what comes back
against the table's columns. It knows no schema and no generator by name.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from . import generators
from .generators import GeneratorError

__all__ = [
    "GENERATOR_VERSION",
    "GeneratorError",
    "code",
    "earliest_offset",
    "inputs",
    "row_count",
    "rows",
    "validate",
]

#: Bump when the way specs become rows changes (the digests of every fixture set change with it).
GENERATOR_VERSION = "1"

_SPEC_KEYS = frozenset({"generator", "seed", "count", "params"})


def code(modules: Iterable[str], used: Iterable[str] = ()) -> list[tuple[str, bytes]]:
    """The source of the generator modules, by module name in order: part of a seed's identity.

    `modules` are the project's generator modules; `used` names registered
    generators whose modules count too (one registered from elsewhere). A
    generator's rows follow from its code, so the fixture digest (and the
    pytest plugin's template key) covers this: an edited constant is another
    seed, whatever the file's size or time. A module whose file cannot be
    found or read counts as empty.
    """
    names = set(modules)
    for name in used:
        entry = generators.lookup(name)
        if entry is not None:
            names.add(entry.function.__module__)
    return [(name, _source(name)) for name in sorted(names)]


def _source(module: str) -> bytes:
    loaded = sys.modules.get(module)
    origin = getattr(loaded, "__file__", None)
    if not isinstance(origin, str):
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None else None
    if not origin:
        return b""
    try:
        with open(origin, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def validate(table: str, spec: Mapping[str, object]) -> list[str]:
    """Return the problems with a generator spec for `table`; empty when it is usable."""
    problems: list[str] = []
    name = spec.get("generator")
    entry = generators.lookup(name) if isinstance(name, str) else None
    if entry is None:
        problems.append(f"{table}: unknown generator {name!r}; known: {', '.join(generators.registered())}")
    elif entry.table is not None and entry.table != table:
        problems.append(f"{table}: generator {name!r} fills table {entry.table!r}, not {table!r}")
    if not isinstance(spec.get("params", {}), Mapping):
        problems.append(f"{table}: params must be an object, got {spec.get('params')!r}")
    unknown = sorted(str(key) for key in spec if key not in _SPEC_KEYS)
    if unknown:
        problems.append(f"{table}: unknown spec keys {', '.join(unknown)}; known: {', '.join(sorted(_SPEC_KEYS))}")
    count = spec.get("count")
    if not _is_positive_int(count):
        problems.append(f"{table}: count must be a positive integer, got {count!r}")
    seed = spec.get("seed")
    if not isinstance(seed, str) or not seed:
        problems.append(f"{table}: seed must be a non-empty string, got {seed!r}")
    elif not seed.isascii() and not _is_utf8(seed):
        problems.append(f"{table}: seed {seed!r} holds a lone surrogate, which has no UTF-8 bytes to hash")
    return problems


def inputs(spec: Mapping[str, object]) -> tuple[str, ...]:
    """The tables whose listed rows the spec's generator reads (none when it is unknown)."""
    name = spec.get("generator")
    entry = generators.lookup(name) if isinstance(name, str) else None
    return () if entry is None else entry.inputs


def earliest_offset(table: str, spec: Mapping[str, object], *, scale: int) -> timedelta | None:
    """The oldest time any row of this spec has, as an offset from the anchor; None when the generator does not say."""
    entry, public = _public(table, spec, scale)
    return None if entry.earliest is None else entry.earliest(public)


def row_count(
    table: str,
    spec: Mapping[str, object],
    *,
    scale: int,
    anchor: datetime,
    context: Mapping[str, Sequence[Mapping[str, object]]],
) -> int:
    """Return how many rows `rows` yields for this spec at `scale` and `anchor`."""
    entry, public = _public(table, spec, scale)
    if entry.size is None:
        return public.count
    return entry.size(public, _context(context, anchor.astimezone(UTC)))


def rows(
    table: str,
    spec: Mapping[str, object],
    *,
    scale: int,
    anchor: datetime,
    context: Mapping[str, Sequence[Mapping[str, object]]],
    columns: Sequence[str] = (),
) -> Iterator[tuple[Any, ...]]:
    """Return the rows of `table`, lazily, as tuples in `columns` order (a table generator's own order without it)."""
    entry, public = _public(table, spec, scale)
    if anchor.tzinfo is None or anchor.utcoffset() is None:
        raise GeneratorError(f"{table}: anchor {anchor.isoformat()} has no time zone")
    ctx = _context(context, anchor.astimezone(UTC))
    if entry.columns is not None:
        if columns and tuple(columns) != entry.columns:
            raise GeneratorError(
                f"{table}: schema columns {tuple(columns)} differ from the generator's {entry.columns}"
            )
        return iter(entry.function(public, ctx))
    return _per_row(entry, public, ctx, columns)


def _per_row(
    entry: generators.Entry, spec: generators.Spec, ctx: generators.Context, columns: Sequence[str]
) -> Iterator[tuple[Any, ...]]:
    function = entry.function
    known = frozenset(columns)
    for index in range(spec.count):
        row = function(spec, index, ctx, generators.Draw(spec.seed, spec.generator, index))
        stray = sorted(set(row) - known)
        if stray:
            raise GeneratorError(f"{spec.table}: generator {spec.generator!r} row {index}: unknown column {stray[0]!r}")
        yield tuple(row.get(column) for column in columns)


def _public(table: str, spec: Mapping[str, object], scale: int) -> tuple[generators.Entry, generators.Spec]:
    """The registered entry and the spec as generators see it (count x scale), or raise with every problem."""
    problems = validate(table, spec)
    if not _is_positive_int(scale):
        problems.append(f"{table}: scale must be a positive integer, got {scale!r}")
    if problems:
        raise GeneratorError("; ".join(problems))
    name, seed, count = spec["generator"], spec["seed"], spec["count"]
    assert isinstance(name, str) and isinstance(seed, str) and isinstance(count, int)
    entry = generators.lookup(name)
    assert entry is not None  # checked by validate
    params = spec.get("params", {})
    assert isinstance(params, Mapping)
    public = generators.Spec(
        table=table, generator=name, seed=seed, count=count * scale, params=MappingProxyType(dict(params))
    )
    return entry, public


def _context(context: Mapping[str, Sequence[Mapping[str, object]]], anchor: datetime) -> generators.Context:
    frozen = {key: tuple(MappingProxyType(dict(row)) for row in rows) for key, rows in context.items()}
    return generators.Context(rows=MappingProxyType(frozen), anchor=anchor)


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
