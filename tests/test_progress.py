"""Progress on stderr: a bar on a terminal, a line per slow table in logs, nothing with --quiet.

Reporters take their clock as an argument, so these tests drive time by hand
instead of sleeping.
"""

from __future__ import annotations

import asyncio
import io
import os
import pty
import re
import select
import signal
import sys
import time

import pytest

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


def test_line_reporter_writes_one_line_per_slow_table_named_by_its_phase() -> None:
    clock, stream = FakeClock(), io.StringIO()
    reporter = progress.LineReporter(stream, clock=clock)

    reporter.phase("seeding", 650_019)
    run_table(reporter, clock, "price_history", 2.0, 500_000)
    run_table(reporter, clock, "timeline_links", 0.1, 19)
    run_table(reporter, clock, "wing_flaps", 1.0, 150_000)
    reporter.phase("reading", None)
    run_table(reporter, clock, "wing_flaps", 1.5, 150_000)

    assert stream.getvalue() == (
        "seeding price_history: 500,000 rows in 2.0 s (250,000 rows/s)\n"
        "seeding wing_flaps: 150,000 rows in 1.0 s (150,000 rows/s)\n"
        "reading wing_flaps: 150,000 rows in 1.5 s (100,000 rows/s)\n"
    )


# --- the bar --------------------------------------------------------------------------------------------


def screen(drawn: str) -> list[str]:
    """What a terminal shows after `drawn`: the few escapes the bar uses, interpreted."""
    lines, row, col = [""], 0, 0
    i = 0
    while i < len(drawn):
        if drawn.startswith("\x1b[1A", i):
            row, i = max(row - 1, 0), i + 4
        elif drawn.startswith("\x1b[K", i):
            lines[row], i = lines[row][:col], i + 3
        elif drawn[i] == "\r":
            col, i = 0, i + 1
        elif drawn[i] == "\n":
            row, col, i = row + 1, 0, i + 1
            if row == len(lines):
                lines.append("")
        else:
            line = lines[row]
            lines[row] = line[:col] + drawn[i] + line[col + 1 :]
            col, i = col + 1, i + 1
    return lines


def test_bar_reporter_stays_silent_before_its_delay() -> None:
    clock, stream = FakeClock(), TTYStream()
    reporter = progress.BarReporter(stream, clock=clock)

    reporter.phase("seeding", 1_000)
    run_table(reporter, clock, "users", 0.9, 1_000, total=1_000)
    reporter.close()

    assert stream.getvalue() == ""


def test_bar_reporter_draws_an_overall_line_above_the_table_bar() -> None:
    clock, stream = FakeClock(), TTYStream()
    reporter = progress.BarReporter(stream, clock=clock)

    reporter.phase("seeding", 4_000)
    run_table(reporter, clock, "users", 1.0, 1_000, total=1_000)  # 1,000 rows in the first second
    reporter.start("wing_flaps", 3_000)
    clock.tick(1.0)
    reporter.advance(1_000)  # 2,000 of 4,000 after 2 s: 1,000 rows/s overall, 2 s to go

    shown = screen(stream.getvalue())
    assert len(shown) == 2, shown
    assert shown[0] == "seeding  2,000/4,000 rows  1,000 rows/s ETA 2 s"
    assert shown[1].startswith("wing_flaps      [" + "#" * 10 + " " * 20 + "] 1,000/3,000 1,000 rows/s ETA 2 s")

    clock.tick(2.0)
    reporter.advance(2_000)
    reporter.finish()
    reporter.close()
    shown = screen(stream.getvalue())
    assert shown[0] == "seeding  4,000/4,000 rows  1,000 rows/s ETA 0 s"
    assert "3,000/3,000" in shown[1]
    assert stream.getvalue().endswith("\n")
    assert shown[2] == ""  # the next line starts clean


def test_bar_reporter_reading_has_no_total_and_shows_rows_and_rate() -> None:
    clock, stream = FakeClock(), TTYStream()
    reporter = progress.BarReporter(stream, clock=clock)

    reporter.phase("reading", None)
    run_table(reporter, clock, "price_history", 4.0, 40_000)
    reporter.close()

    shown = screen(stream.getvalue())
    assert shown[0] == "reading  40,000 rows  10,000 rows/s"
    assert shown[1].startswith("price_history   40,000 rows 10,000 rows/s")


def test_an_error_after_the_bar_starts_on_its_own_line() -> None:
    clock, stream = FakeClock(), TTYStream()
    reporter = progress.BarReporter(stream, clock=clock)
    reporter.phase("seeding", 10_000)
    reporter.start("wing_flaps", 10_000)
    clock.tick(1.5)
    reporter.advance(2_048)

    reporter.close()  # what the CLI does before it prints an error
    stream.write("echelon-seed: interrupted; rolled back\n")

    shown = screen(stream.getvalue())
    assert shown[-2] == "echelon-seed: interrupted; rolled back"
    assert shown[1].startswith("wing_flaps ") and "interrupted" not in shown[1]


def test_a_new_phase_leaves_the_previous_one_on_screen() -> None:
    clock, stream = FakeClock(), TTYStream()
    reporter = progress.BarReporter(stream, clock=clock)

    reporter.phase("seeding", 8_000)
    run_table(reporter, clock, "wing_flaps", 2.0, 8_000, total=8_000)
    reporter.phase("reading", None)
    run_table(reporter, clock, "wing_flaps", 2.0, 8_000)
    reporter.close()

    shown = screen(stream.getvalue())
    assert [line.split()[0] for line in shown if line] == ["seeding", "wing_flaps", "reading", "wing_flaps"]


def test_a_stopped_reporter_ends_the_work_at_its_next_advance() -> None:
    import threading

    stop = threading.Event()
    reporter = progress.Stoppable(progress.NullReporter(), stop, lambda: RuntimeError("stopped"))
    reporter.advance(10)
    stop.set()

    try:
        reporter.advance(10)
    except RuntimeError as exc:
        assert str(exc) == "stopped"
    else:
        raise AssertionError("advance went on after stop")


# --- the command line -----------------------------------------------------------------------------------


def test_cli_apply_with_captured_stderr_has_no_carriage_return(sqlite_url: str) -> None:
    done = dbtools.run_cli("apply", "--database-url", sqlite_url)

    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    assert "\r" not in done.stdout


# Same, with the line reporter's threshold at zero so that every table reports: proof that
# progress is on and that, without a terminal, it is lines and never a redrawn bar.
def test_cli_apply_progress_without_a_terminal_is_plain_lines(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(progress.LineReporter.__init__.__kwdefaults__, "min_seconds", 0.0)

    done = dbtools.run_cli("apply", "--database-url", sqlite_url)

    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "\x1b" not in done.stderr
    reported = [line.split(":")[0].removeprefix("seeding ") for line in done.stderr.splitlines()]
    assert all(line.startswith("seeding ") for line in done.stderr.splitlines()), done.stderr
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


# --- on a real terminal (a pseudo-terminal), both engines ----------------------------------------------

# The bar's one-second delay set to zero, so that even the small canonical seed draws it; then the
# real entry point, signal handling and all.
_BAR_AT_ONCE = """
import sys
from echelon_seed import progress
progress.BarReporter.__init__.__kwdefaults__["delay"] = 0.0
from echelon_seed.__main__ import main
main()
"""
_OVERALL = re.compile(r"(seeding|reading) +[\d,]+/(?P<total>[\d,]+) rows +[\d,]+ rows/s ETA \d+ s\x1b\[K\r\n")
_TABLE_BAR = re.compile(r"\r\n(?P<table>\w+) +\[[# ]{30}\] [\d,]+/[\d,]+ [\d,]+ rows/s ETA \d+ s\x1b\[K")


def on_terminal(*args: str, env: dict[str, str] | None = None, signal_when: str | None = None) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal: its exit code and everything it drew (\\n is \\r\\n there).

    With `signal_when`, SIGINT is sent once that text has appeared: a readiness line, not a sleep.
    """
    child_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("ECHELON_SEED_")}
    child_env.update(env or {})
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once
        os.chdir(dbtools.ECHELON)
        os.execve(sys.executable, [sys.executable, "-c", _BAR_AT_ONCE, *args], child_env)
    drawn, signalled = b"", False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
            if signal_when is not None and not signalled and signal_when.encode() in drawn:
                os.kill(pid, signal.SIGINT)
                signalled = True
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), drawn.decode("utf-8", "replace")


def test_on_a_terminal_apply_draws_the_overall_line_above_each_table_bar_and_the_result_on_its_own_line(
    db_url: str,
) -> None:
    code, drawn = on_terminal("apply", "--database-url", db_url, "--anchor", "2026-01-15T12:00:00Z")

    assert code == 0, drawn
    overall = [m for m in _OVERALL.finditer(drawn) if m[1] == "seeding"]
    assert overall, drawn
    assert {m["total"] for m in overall} == {"176"}, drawn
    # Each overall line is followed directly by the table's bar: overall above, table below.
    assert all(_TABLE_BAR.match(drawn, m.end() - 2) for m in overall), drawn
    assert {m["table"] for m in _TABLE_BAR.finditer(drawn)} >= {"users", "wing_flaps"}
    assert "\x1b[K\r\nseeded " in drawn, drawn  # the result starts on a fresh line below the bar


def test_on_a_terminal_verify_names_the_seeding_and_the_reading_phase_each_with_its_total(db_url: str) -> None:
    assert dbtools.run_cli("apply", "--database-url", db_url, "-q").returncode == 0

    code, fresh = on_terminal("verify", "--fresh")
    code_db, given = on_terminal("verify", "--database-url", db_url)

    assert (code, code_db) == (0, 0), fresh + given
    assert [m[1] for m in _OVERALL.finditer(fresh)][0] == "seeding", fresh
    assert [m[1] for m in _OVERALL.finditer(fresh)][-1] == "reading", fresh
    assert {m["total"] for m in _OVERALL.finditer(fresh)} == {"176"}, fresh
    assert {(m[1], m["total"]) for m in _OVERALL.finditer(given)} == {("reading", "176")}, given
    assert "\x1b[K\r\nOK: 176 rows in 8 tables match " in given, given


def test_on_a_terminal_an_error_after_the_bar_starts_on_its_own_line(db_url: str, engine_name: str) -> None:
    # A real failure in the middle of the write: the database refuses one wing flap.
    refuse = {
        "sqlite": "CREATE TRIGGER refuse_one BEFORE INSERT ON wing_flaps WHEN NEW.id = 'FLAP_00042' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        "postgresql": "ALTER TABLE wing_flaps ADD CONSTRAINT refused_by_the_test CHECK (id <> 'FLAP_00042') NOT VALID",
    }[engine_name]
    assert dbtools.run_cli("apply", "--database-url", db_url, "-q").returncode == 0
    asyncio.run(dbtools.execute(db_url, refuse))

    code, drawn = on_terminal("apply", "--database-url", db_url, "--force")

    assert code == 2, drawn
    assert _TABLE_BAR.search(drawn), drawn  # the bar was on screen when the error came
    error = drawn[drawn.index("echelon-seed: error: ") :]
    assert drawn[: -len(error)].endswith("\x1b[K\r\n"), drawn  # the bar's line was ended first
    assert error.endswith("\r\n") and error.count("\r\n") == 1, error
    assert "refused" in error


def test_on_a_terminal_an_interrupt_after_the_bar_starts_on_its_own_line(db_url: str) -> None:
    assert dbtools.run_cli("apply", "--database-url", db_url, "-q").returncode == 0

    code, drawn = on_terminal(
        "apply",
        "--database-url",
        db_url,
        "--force",
        "--anchor",
        "2026-03-01T08:30:00Z",
        env={"ECHELON_SEED_TEST_PAUSE": "table:positions=60"},
        signal_when="paused at table:positions",
    )

    assert code == 130, drawn
    assert _TABLE_BAR.search(drawn), drawn
    assert drawn.endswith("\r\nechelon-seed: interrupted; rolled back\r\n"), drawn
