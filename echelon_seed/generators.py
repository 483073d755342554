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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from hashlib import blake2b
from struct import Struct
from typing import Any, TypeVar

__all__ = ["Context", "Draw", "Generator", "Spec", "lookup", "register", "registered"]

T = TypeVar("T")

_DOMAIN = b"echelon-seed.draw\x00"
_WORDS = Struct("<8Q").unpack


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


@dataclass(frozen=True)
class _Entry:
    function: Generator
    table: str | None


_REGISTRY: dict[str, _Entry] = {}


def register(name: str, *, table: str | None = None) -> Callable[[Generator], Generator]:
    """Register a generator under `name` (for `table` only, when given); a decorator."""

    def add(function: Generator) -> Generator:
        known = _REGISTRY.get(name)
        if known is not None and known.function is not function:
            where = f"{known.function.__module__}.{known.function.__qualname__}"
            raise ValueError(f"generator {name!r} is already registered by {where}")
        _REGISTRY[name] = _Entry(function, table)
        return function

    return add


def registered() -> list[str]:
    """The names of every registered generator, sorted."""
    return sorted(_REGISTRY)


def lookup(name: str) -> tuple[Generator, str | None] | None:
    """The generator registered as `name` and the table it is for, or None."""
    entry = _REGISTRY.get(name)
    return None if entry is None else (entry.function, entry.table)
