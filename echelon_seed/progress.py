"""Progress of long table work on stderr: a live bar on a terminal, quiet elsewhere.

Seeding a million rows takes seconds; a person at a terminal should see it
move, while CI logs should not fill with carriage returns. A reporter is
told which phase runs (`seeding`, `reading`) and its total when known, when
each table starts, how many rows are done, when a table ends, and `close`d
when the command ends (or fails) so that the next line starts clean.

A reporter that draws live (`live`) is worth a count of each table before it
is read, so that reading too shows a total and an ETA; the others are not.
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
    #: Drawn as it goes (a terminal): totals are worth counting for it before reading.
    live: bool

    def phase(self, name: str, total: int | None) -> None: ...
    def start(self, table: str, total: int | None) -> None: ...
    def advance(self, rows: int) -> None: ...
    def finish(self) -> None: ...
    def close(self) -> None: ...


class NullReporter:
    """Says nothing (--quiet, and library use)."""

    live = False

    def phase(self, name: str, total: int | None) -> None:
        pass

    def start(self, table: str, total: int | None) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass


class LineReporter:
    """One line per table that took long enough to matter, for logs that are not terminals."""

    live = False

    def __init__(self, stream: TextIO, *, min_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._stream, self._min, self._clock = stream, min_seconds, clock
        self._phase, self._table, self._done, self._started = "", "", 0, 0.0

    def phase(self, name: str, total: int | None) -> None:
        self._phase = name

    def start(self, table: str, total: int | None) -> None:
        self._table, self._done, self._started = table, 0, self._clock()

    def advance(self, rows: int) -> None:
        self._done += rows

    def finish(self) -> None:
        elapsed = self._clock() - self._started
        if elapsed >= self._min:
            rate = self._done / elapsed if elapsed else 0.0
            self._stream.write(
                f"{self._phase + ' ' if self._phase else ''}{self._table}: "
                f"{self._done:,} rows in {elapsed:.1f} s ({rate:,.0f} rows/s)\n"
            )
            self._stream.flush()

    def close(self) -> None:
        pass


class BarReporter:
    """Two redrawn lines after the first second: the phase overall, then the current table.

        seeding  412,000/1,150,062 rows  98,000 rows/s  ETA 8 s
        wing_flaps      [##########          ] 400,000/1,000,000 120,000 rows/s ETA 5 s

    `close` ends the drawing on a fresh line, so that whatever is printed next
    (an error, the result) starts on its own line.
    """

    live = True

    def __init__(self, stream: TextIO, *, delay: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._stream, self._delay, self._clock = stream, delay, clock
        self._phase, self._phase_done = "", 0
        self._phase_total: int | None = None
        self._phase_started = self._clock()
        self._table, self._done = "", 0
        self._total: int | None = None
        self._started = self._drawn = 0.0
        self._lines = 0  # how many lines of ours are on screen, the cursor at the end of the last

    def phase(self, name: str, total: int | None) -> None:
        self.close()
        self._phase, self._phase_total, self._phase_done = name, total, 0
        self._phase_started = self._clock()
        self._drawn = 0.0  # a new phase draws at its first advance, however soon after the last one's draw

    def start(self, table: str, total: int | None) -> None:
        self._table, self._total, self._done = table, total, 0
        self._started = self._clock()

    def advance(self, rows: int) -> None:
        self._done += rows
        self._phase_done += rows
        now = self._clock()
        if now - self._phase_started >= self._delay and now - self._drawn >= 0.1:
            self._drawn = now
            self._draw(now)

    @staticmethod
    def _rate_and_eta(done: int, total: int | None, elapsed: float) -> tuple[float, str]:
        rate = done / max(elapsed, 1e-9)
        if not total:
            return rate, ""
        left = (total - done) / rate if rate else 0.0
        return rate, f" ETA {max(left, 0.0):.0f} s"

    def _draw(self, now: float) -> None:
        rate, eta = self._rate_and_eta(self._phase_done, self._phase_total, now - self._phase_started)
        counted = f"{self._phase_done:,}/{self._phase_total:,}" if self._phase_total else f"{self._phase_done:,}"
        overall = f"{self._phase or 'working':<8} {counted} rows  {rate:,.0f} rows/s{eta}"
        rate, eta = self._rate_and_eta(self._done, self._total, now - self._started)
        if self._total:
            share = min(self._done / self._total, 1.0)
            bar = "#" * int(share * 30)
            table = f"{self._table:<15} [{bar:<30}] {self._done:,}/{self._total:,} {rate:,.0f} rows/s{eta}"
        else:
            table = f"{self._table:<15} {self._done:,} rows {rate:,.0f} rows/s"
        up = "\x1b[1A" if self._lines == 2 else ""
        self._stream.write(f"{up}\r{overall}\x1b[K\n{table}\x1b[K")
        self._stream.flush()
        self._lines = 2

    def finish(self) -> None:
        if self._lines:
            self._draw(self._clock())

    def close(self) -> None:
        if self._lines:
            self._stream.write("\n")
            self._stream.flush()
            self._lines = 0


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
        self.live = reporter.live

    def phase(self, name: str, total: int | None) -> None:
        self._reporter.phase(name, total)

    def start(self, table: str, total: int | None) -> None:
        self._reporter.start(table, total)

    def advance(self, rows: int) -> None:
        if self._stop.is_set():
            raise self._error()
        self._reporter.advance(rows)

    def finish(self) -> None:
        self._reporter.finish()

    def close(self) -> None:
        self._reporter.close()
