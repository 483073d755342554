"""Progress of long table work on stderr: a live bar on a terminal, quiet elsewhere.

Seeding a million rows takes seconds; a person at a terminal should see it
move, while CI logs should not fill with carriage returns. A reporter is
told when a table starts, how many rows are done, and when it ends.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TextIO, TypeVar

__all__ = ["BarReporter", "LineReporter", "NullReporter", "Reporter", "Stoppable", "choose", "counted"]

T = TypeVar("T")
_EVERY = 2048  # rows between updates: cheap enough for a million-row table


class Reporter(Protocol):
    def start(self, table: str, total: int | None) -> None: ...
    def advance(self, rows: int) -> None: ...
    def finish(self) -> None: ...


class NullReporter:
    """Says nothing (--quiet, and library use)."""

    def start(self, table: str, total: int | None) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass

    def finish(self) -> None:
        pass


class LineReporter:
    """One line per table that took long enough to matter, for logs that are not terminals."""

    def __init__(self, stream: TextIO, *, min_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._stream, self._min, self._clock = stream, min_seconds, clock
        self._table, self._done, self._started = "", 0, 0.0

    def start(self, table: str, total: int | None) -> None:
        self._table, self._done, self._started = table, 0, self._clock()

    def advance(self, rows: int) -> None:
        self._done += rows

    def finish(self) -> None:
        elapsed = self._clock() - self._started
        if elapsed >= self._min:
            rate = self._done / elapsed if elapsed else 0.0
            self._stream.write(f"{self._table}: {self._done:,} rows in {elapsed:.1f} s ({rate:,.0f} rows/s)\n")
            self._stream.flush()


class BarReporter:
    """A redrawn bar per table: rows done, rows/s and time left, after the first second."""

    def __init__(self, stream: TextIO, *, delay: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._stream, self._delay, self._clock = stream, delay, clock
        self._table, self._done = "", 0
        self._total: int | None = None
        self._started = self._drawn = 0.0
        self._shown = False

    def start(self, table: str, total: int | None) -> None:
        self._table, self._total, self._done = table, total, 0
        self._started = self._drawn = self._clock()
        self._shown = False

    def advance(self, rows: int) -> None:
        self._done += rows
        now = self._clock()
        if now - self._started >= self._delay and now - self._drawn >= 0.1:
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-9)
        rate = self._done / elapsed
        if self._total:
            share = min(self._done / self._total, 1.0)
            bar = "#" * int(share * 30)
            left = (self._total - self._done) / rate if rate else 0.0
            line = f"{self._table:<15} [{bar:<30}] {self._done:,}/{self._total:,} {rate:,.0f} rows/s ETA {left:.0f} s"
        else:
            line = f"{self._table:<15} {self._done:,} rows {rate:,.0f} rows/s"
        self._stream.write("\r" + line + "\x1b[K")
        self._stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown:
            self._draw(self._clock())
            self._stream.write("\n")
            self._stream.flush()


def choose(*, quiet: bool, stream: Any = None) -> Reporter:
    """The reporter for this run: silent with --quiet, a bar on a terminal, else lines."""
    stream = stream if stream is not None else sys.stderr
    if quiet:
        return NullReporter()
    if stream.isatty():
        return BarReporter(stream)
    return LineReporter(stream)


def counted(rows: Iterable[T], advance: Callable[[int], None]) -> Iterator[T]:
    """Pass `rows` through, calling `advance(n)` every few thousand rows and at the end."""
    pending = 0
    for row in rows:
        yield row
        pending += 1
        if pending == _EVERY:
            advance(pending)
            pending = 0
    if pending:
        advance(pending)


class Stoppable:
    """A reporter that ends the work it reports on once `stop` is set.

    A bulk write on SQLite runs in the driver's thread, where no cancellation
    reaches; its rows pass through `counted`, which calls `advance` every few
    thousand rows, so raising there stops the write within milliseconds and
    lets the rollback run before the process leaves.
    """

    def __init__(self, reporter: Reporter, stop: threading.Event, error: Callable[[], BaseException]) -> None:
        self._reporter, self._stop, self._error = reporter, stop, error

    def start(self, table: str, total: int | None) -> None:
        self._reporter.start(table, total)

    def advance(self, rows: int) -> None:
        if self._stop.is_set():
            raise self._error()
        self._reporter.advance(rows)

    def finish(self) -> None:
        self._reporter.finish()
