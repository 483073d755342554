"""The public generator API: functions that make rows, registered by name, drawing deterministically.

A fixture file may declare its rows instead of listing them:

    {"generate": {"generator": "shop.seed_runs", "seed": "nursery-1", "count": 6, "params": {...}}}

and a module named in the project's `generators` registers the function:

    from echelon_seed.generators import Context, Draw, Spec, register

    @register("shop.seed_runs", table="seed_runs")
    def seed_run(spec: Spec, index: int, context: Context, draw: Draw) -> dict[str, object]:
        return {"id": index + 1, "trays": draw.integer(1, 24), ...}

Row `index` (0 .. count x scale - 1) gets its own `Draw`, whose values come
only from BLAKE2b over (seed, generator name, index, draw number): the same
spec gives the same rows on every platform, and a larger count or scale
never changes the rows already there. Nothing here reads the clock or
`random`; times are offsets from `context.anchor`. `context.rows` holds the
literal rows the fixtures declare (read-only), for picking foreign keys.

A generator returns one row as a mapping of column name to the Python value
the column takes (an aware datetime for a zoned timestamp, a Decimal for a
Numeric, bytes for binary); columns left out are NULL.

When rows depend on each other (a running balance, a chain of states), a
table generator (`register_table`) makes the whole table in one call: it
gets the spec and the context and yields rows as tuples in its declared
column order, drawing with `Draw` or a scheme of its own that is just as
deterministic. Echelon's wing flaps are one (`echelon_project.generators`).

A project's own masking transform (`export --mask`) is registered the same
way and named in the policy like a built-in one:

    @register_mask("shop.sku", one_to_one=False)
    def sku(value: object, draw: Draw) -> str:
        return f"SKU-{draw.integer(0, 99_999):05d}"

Its `Draw` is seeded by a keyed digest of the original value (never by the
key itself), so the same value gets the same output in every table and run.

A generator whose rows depend on the anchor only by moving their moments
(`created_at = anchor - offset`, every other value the same whatever the
anchor) says so with `anchor_shifts_times=True`. That is a promise the replay
cache (`echelon_seed.replay`) relies on: rows generated at one anchor are
replayed at another by adding the difference to every aware timestamp
column of the table, instead of being generated again. Without the
declaration the anchor is part of the cache key, so a generator that reads
the anchor any other way (a weekday, a count of days) stays correct.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from hashlib import blake2b
from struct import Struct
from typing import Any, TypeVar

__all__ = [
    "Context",
    "Draw",
    "Entry",
    "Generator",
    "GeneratorError",
    "MaskEntry",
    "MaskFunction",
    "Spec",
    "TableGenerator",
    "lookup",
    "lookup_mask",
    "register",
    "register_mask",
    "register_table",
    "registered",
    "registered_masks",
]

T = TypeVar("T")

_DOMAIN = b"echelon-seed.draw\x00"
_WORDS = Struct("<8Q").unpack


class GeneratorError(ValueError):
    """A generator spec, scale, anchor or context that rows cannot be drawn from; raise it with a clear message."""


@dataclass(frozen=True)
class Spec:
    """A fixture file's generate block: which generator, its seed, how many rows, its parameters."""

    table: str
    generator: str
    seed: str
    count: int
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Context:
    """What a generator may read: the fixtures' literal rows by table (read-only) and the anchor."""

    rows: Mapping[str, Sequence[Mapping[str, Any]]]
    anchor: datetime


def _field(text: str) -> bytes:
    data = text.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


class Draw:
    """Deterministic values for one row: each call takes the next 64-bit word of the row's digest stream."""

    __slots__ = ("_block", "_prefix", "_words")

    def __init__(self, seed: str, generator: str, index: int) -> None:
        self._prefix = _DOMAIN + _field(seed) + _field(generator) + index.to_bytes(8, "big")
        self._block = 0
        self._words: list[int] = []

    def word(self) -> int:
        """The next unsigned 64-bit word (a modulo of it is off uniform by at most n / 2**64)."""
        if not self._words:
            digest = blake2b(self._prefix + self._block.to_bytes(4, "big"), digest_size=64).digest()
            self._words = list(reversed(_WORDS(digest)))
            self._block += 1
        return self._words.pop()

    def integer(self, low: int, high: int) -> int:
        """An integer in low..high, both included."""
        if high < low:
            raise ValueError(f"empty range {low}..{high}")
        return low + self.word() % (high - low + 1)

    def choice(self, options: Sequence[T], weights: Sequence[int] | None = None) -> T:
        """One of `options`, with whole-number `weights` when given."""
        if not options:
            raise ValueError("nothing to choose from")
        if weights is None:
            return options[self.word() % len(options)]
        if len(weights) != len(options) or any(w < 0 for w in weights) or sum(weights) == 0:
            raise ValueError("weights must be one non-negative integer per option, not all zero")
        point = self.word() % sum(weights)
        for option, weight in zip(options, weights, strict=True):
            if point < weight:
                return option
            point -= weight
        raise AssertionError("unreachable")

    def decimal(self, low: Decimal | str, high: Decimal | str, scale: int) -> Decimal:
        """A decimal in low..high (both included) with exactly `scale` places."""
        unit = Decimal(1).scaleb(-scale)
        lo, hi = (int(Decimal(v) / unit) for v in (low, high))
        return (Decimal(self.integer(lo, hi)) * unit).quantize(unit)

    def offset(self, low: timedelta, high: timedelta) -> timedelta:
        """A duration in low..high, in whole seconds (add it to or subtract it from `context.anchor`)."""
        return timedelta(seconds=self.integer(int(low.total_seconds()), int(high.total_seconds())))

    def text(self, templates: Sequence[str], **values: Any) -> str:
        """One of `templates`, formatted with `values` (`"{name} bought {n} packets"`)."""
        return self.choice(templates).format(**values)

    def pick(self, rows: Sequence[Mapping[str, Any]], column: str = "id") -> Any:
        """`column` of one of `rows` (a foreign key among the declared rows)."""
        return self.choice(rows)[column]


#: The function a generator is: (spec, row index, context, draw) -> the row by column name.
Generator = Callable[[Spec, int, Context, Draw], Mapping[str, Any]]

#: A table generator: (spec, context) -> every row, each a tuple in the registered `columns` order.
TableGenerator = Callable[[Spec, Context], Iterable[tuple[Any, ...]]]


@dataclass(frozen=True)
class Entry:
    """A registered generator and what `check` and `apply` need to know of it without running it.

    `columns` is set for a table generator (its rows are tuples in that
    order) and None for a per-row one. `inputs` names the tables whose listed
    rows it reads from `context.rows`. `size` gives the number of rows when it
    is not `spec.count`; `earliest` the oldest time it writes as an offset from
    the anchor (zero or negative), so that a scale's calendar can be judged
    without drawing the rows. `anchor_shifts_times` promises that another
    anchor only moves the table's aware timestamps by the anchors' difference
    (see the module's docstring): replay may then shift instead of generate.
    """

    function: Callable[..., Any]
    table: str | None
    inputs: tuple[str, ...] = ()
    columns: tuple[str, ...] | None = None
    size: Callable[[Spec, Context], int] | None = None
    earliest: Callable[[Spec], timedelta] | None = None
    anchor_shifts_times: bool = False


_REGISTRY: dict[str, Entry] = {}


def _add(name: str, entry: Entry) -> None:
    known = _REGISTRY.get(name)
    if known is not None and known.function is not entry.function:
        where = f"{known.function.__module__}.{known.function.__qualname__}"
        raise ValueError(f"generator {name!r} is already registered by {where}")
    _REGISTRY[name] = entry


def register(
    name: str, *, table: str | None = None, inputs: Sequence[str] = (), anchor_shifts_times: bool = False
) -> Callable[[Generator], Generator]:
    """Register a per-row generator under `name` (for `table` only, when given); a decorator."""

    def add(function: Generator) -> Generator:
        _add(name, Entry(function, table, tuple(inputs), anchor_shifts_times=anchor_shifts_times))
        return function

    return add


def register_table(
    name: str,
    *,
    table: str,
    columns: Sequence[str],
    inputs: Sequence[str] = (),
    size: Callable[[Spec, Context], int] | None = None,
    earliest: Callable[[Spec], timedelta] | None = None,
    anchor_shifts_times: bool = False,
) -> Callable[[TableGenerator], TableGenerator]:
    """Register a table generator under `name` for `table`; a decorator (see `Entry` for the arguments)."""

    def add(function: TableGenerator) -> TableGenerator:
        _add(name, Entry(function, table, tuple(inputs), tuple(columns), size, earliest, anchor_shifts_times))
        return function

    return add


def registered() -> list[str]:
    """The names of every registered generator, sorted."""
    return sorted(_REGISTRY)


def lookup(name: str) -> Entry | None:
    """The generator registered as `name`, or None."""
    return _REGISTRY.get(name)


#: A masking transform: (original value, a Draw seeded by its keyed digest) -> the masked value.
MaskFunction = Callable[[Any, Draw], Any]


@dataclass(frozen=True)
class MaskEntry:
    """A project's masking transform and what the policy check needs to know of it before any row is read.

    `kinds` are the column kinds it takes (canonical kind names: "text", "int",
    ...). `one_to_one` promises that different inputs give different outputs
    (then it may mask a unique column as it is); otherwise, on a unique text
    column, a tag is appended when `unique_form` is true, and the rule is
    refused when it is false.
    """

    function: MaskFunction
    kinds: tuple[str, ...]
    one_to_one: bool
    unique_form: bool


_MASKS: dict[str, MaskEntry] = {}


def register_mask(
    name: str, *, kinds: Sequence[str] = ("text",), one_to_one: bool = False, unique_form: bool = True
) -> Callable[[MaskFunction], MaskFunction]:
    """Register a masking transform under `name` (a dotted name: `shop.sku`); a decorator."""
    if "." not in name or ":" in name:
        raise ValueError(f"a project's transform has a dotted name without ':' (shop.sku), got {name!r}")

    def add(function: MaskFunction) -> MaskFunction:
        known = _MASKS.get(name)
        if known is not None and known.function is not function:
            where = f"{known.function.__module__}.{known.function.__qualname__}"
            raise ValueError(f"masking transform {name!r} is already registered by {where}")
        _MASKS[name] = MaskEntry(function, tuple(kinds), one_to_one, unique_form)
        return function

    return add


def registered_masks() -> list[str]:
    """The names of every registered masking transform, sorted."""
    return sorted(_MASKS)


def lookup_mask(name: str) -> MaskEntry | None:
    """The masking transform registered as `name`, or None."""
    return _MASKS.get(name)
