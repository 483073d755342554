"""Progress on stderr: a bar on a terminal, a line per slow table in logs, nothing with --quiet.

Reporters take their clock as an argument, so these tests drive time by hand
instead of sleeping.
"""

from __future__ import annotations

import io
import subprocess
import sys

from echelon_seed import progress
from tests import dbtools


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


class TTYStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_table(
    reporter: progress.Reporter, clock: FakeClock, name: str, seconds: float, rows: int, total: int | None = None
) -> None:
    """One table's work: `rows` rows over `seconds`, in eight even steps (exact in binary)."""
    reporter.start(name, total)
    for _ in range(8):
        clock.tick(seconds / 8)
        reporter.advance(rows // 8)
    reporter.finish()


# --- choosing -------------------------------------------------------------------------------------------


def test_choose_gives_a_line_reporter_for_a_stream_that_is_not_a_terminal() -> None:
    assert isinstance(progress.choose(quiet=False, stream=io.StringIO()), progress.LineReporter)


def test_choose_gives_a_bar_reporter_for_a_terminal() -> None:
    assert isinstance(progress.choose(quiet=False, stream=TTYStream()), progress.BarReporter)


def test_choose_quiet_prints_nothing_even_on_a_terminal() -> None:
    for stream in (TTYStream(), io.StringIO()):
        reporter = progress.choose(quiet=True, stream=stream)
        reporter.start("wing_flaps", 1_000_000)
        reporter.advance(1_000_000)
        reporter.finish()

        assert stream.getvalue() == ""


# --- lines ----------------------------------------------------------------------------------------------


def test_line_reporter_writes_nothing_for_tables_under_a_second() -> None:
    clock, stream = FakeClock(), io.StringIO()
    reporter = progress.LineReporter(stream, clock=clock)

    run_table(reporter, clock, "users", 0.2, 5)
    run_table(reporter, clock, "wing_flaps", 0.99, 75_000)

    assert stream.getvalue() == ""


def test_line_reporter_writes_one_line_per_slow_table() -> None:
    clock, stream = FakeClock(), io.StringIO()
    reporter = progress.LineReporter(stream, clock=clock)

    run_table(reporter, clock, "price_history", 2.0, 500_000)
    run_table(reporter, clock, "timeline_links", 0.1, 19)
    run_table(reporter, clock, "wing_flaps", 1.0, 150_000)

    assert stream.getvalue() == (
        "price_history: 500,000 rows in 2.0 s (250,000 rows/s)\nwing_flaps: 150,000 rows in 1.0 s (150,000 rows/s)\n"
    )


# --- the bar --------------------------------------------------------------------------------------------


def test_bar_reporter_stays_silent_before_its_delay() -> None:
    clock, stream = FakeClock(), TTYStream()
    reporter = progress.BarReporter(stream, clock=clock)

    run_table(reporter, clock, "users", 0.9, 1_000, total=1_000)

    assert stream.getvalue() == ""


def test_bar_reporter_draws_rows_rate_and_eta_after_its_delay() -> None:
    clock, stream = FakeClock(), TTYStream()
    reporter = progress.BarReporter(stream, clock=clock)

    reporter.start("wing_flaps", 1_000)
    clock.tick(0.5)
    reporter.advance(100)
    assert stream.getvalue() == ""
    clock.tick(1.5)
    reporter.advance(400)  # 500 of 1,000 rows after 2 s: 250 rows/s, 2 s to go

    drawn = stream.getvalue()
    assert drawn.startswith("\r")
    assert "wing_flaps" in drawn
    assert "[" + "#" * 15 + " " * 15 + "]" in drawn
    assert "500/1,000" in drawn
    assert "250 rows/s" in drawn
    assert "ETA 2 s" in drawn

    clock.tick(2.0)
    reporter.advance(500)
    reporter.finish()
    assert stream.getvalue().endswith("\n")
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert "1,000/1,000" in last and "ETA 0 s" in last


def test_bar_reporter_without_a_total_shows_rows_and_rate() -> None:
    clock, stream = FakeClock(), TTYStream()
    reporter = progress.BarReporter(stream, clock=clock)

    run_table(reporter, clock, "price_history", 4.0, 40_000)

    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert "price_history" in last
    assert "40,000 rows" in last
    assert "10,000 rows/s" in last


# --- the command line -----------------------------------------------------------------------------------


def test_cli_apply_with_captured_stderr_has_no_carriage_return(sqlite_url: str) -> None:
    done = dbtools.run_cli("apply", "--database-url", sqlite_url)

    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    assert "\r" not in done.stdout


# Same, with the line reporter's threshold at zero so that every table reports: proof that
# progress is on and that, without a terminal, it is lines and never a redrawn bar.
_EVERY_TABLE_REPORTS = """
import sys
from echelon_seed import cli, progress
progress.LineReporter.__init__.__kwdefaults__["min_seconds"] = 0.0
sys.exit(cli.main(sys.argv[1:]))
"""


def test_cli_apply_progress_without_a_terminal_is_plain_lines(sqlite_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _EVERY_TABLE_REPORTS, "apply", "--database-url", sqlite_url],
        cwd=dbtools.REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "\x1b" not in done.stderr
    reported = [line.split(":")[0] for line in done.stderr.splitlines()]
    assert reported == [
        "users",
        "agents",
        "timelines",
        "paradoxes",
        "positions",
        "price_history",
        "timeline_links",
        "wing_flaps",
    ]
