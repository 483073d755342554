"""Rows made in a second process (`forked`): the same rows, errors carried back, no child left behind.

The library is exercised directly (real forks, real pipes); then `apply` on
SQLite at a scale that forks is compared with the in-process path, and
interrupted, as a user would, to show the child never outlives its parent.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from echelon_seed import commands, forked
from echelon_seed.generators import GeneratorError
from tests import dbtools
from tests.test_reliability_kill import NEW, cli_env

pytestmark = pytest.mark.skipif(not forked.available(), reason="needs os.fork")

# 75 wing flaps per scale step: 300 makes 22,500, above the threshold.
FORKING_SCALE = 300
assert 75 * FORKING_SCALE >= forked.THRESHOLD


def _children() -> set[int]:
    """This process's living children, from /proc (the kernel's word, not ours)."""
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                found.add(int(entry))
    return found


@pytest.mark.parametrize("count", [0, 1, 1_999, 2_000, 2_001, 25_000])
def test_the_rows_come_back_the_same_and_in_order(count: int) -> None:
    made = [(i, f"row {i}", i / 7, None, "é" * (i % 3)) for i in range(count)]
    before = _children()

    assert list(forked.rows(iter(made))) == made
    assert _children() == before


class _Label(str):
    """A str subclass, as an enum's value can be: marshal would not carry it, pickle does."""


def test_values_marshal_cannot_carry_come_back_with_their_types() -> None:
    plain = [(i, f"row {i}", i / 7, None, i % 2 == 0, b"\x00") for i in range(2_500)]
    typed = [(Decimal("1.10"), datetime(2026, 1, 1, tzinfo=UTC), _Label("x"))] * 10
    made = plain[:2_000] + typed + plain[2_000:]  # the second batch holds both kinds

    got = list(forked.rows(iter(made)))
    assert got == made
    assert [[type(v) for v in row] for row in got] == [[type(v) for v in row] for row in made]


def test_an_error_in_the_child_is_raised_in_the_parent_as_it_was() -> None:
    def failing() -> Iterator[tuple[int]]:
        yield from ((i,) for i in range(5_000))
        raise GeneratorError("wing_flaps: the seed 'x' yields a negative price at row 5,001")

    got: list[tuple[int]] = []
    with pytest.raises(GeneratorError, match="negative price at row 5,001"):
        for row in forked.rows(failing()):
            got.append(row)
    assert got == [(i,) for i in range(5_000)]


def test_an_error_that_cannot_be_pickled_still_says_what_it_was() -> None:
    class Local(Exception):  # a class pickle cannot find by name
        pass

    def failing() -> Iterator[tuple[int]]:
        yield (1,)
        raise Local("made in a closure")

    with pytest.raises(RuntimeError, match="Local: made in a closure"):
        list(forked.rows(failing()))


def test_a_reader_that_stops_early_kills_and_reaps_the_child() -> None:
    before = _children()
    rows = forked.rows((i,) for i in range(10_000_000))
    assert next(rows) == (0,)
    assert _children() - before  # it is running

    rows.close()

    assert _children() == before


def test_a_child_that_dies_is_an_error_not_missing_rows() -> None:
    def slow() -> Iterator[tuple[int]]:
        for i in range(10_000_000):
            if i == 2_500:
                os.kill(os.getpid(), signal.SIGKILL)  # runs in the child: as if the OOM killer took it
            yield (i,)

    with pytest.raises(Exception, match="ended before they were all made"):
        list(forked.rows(slow()))


async def test_apply_at_a_forking_scale_writes_what_the_in_process_path_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digests = []
    for threshold in (forked.THRESHOLD, 10**12):  # the second never forks
        monkeypatch.setattr(forked, "THRESHOLD", threshold)
        url = f"sqlite:///{tmp_path / f'{threshold}.db'}"
        result = await commands.apply(url, anchor=NEW, scale=FORKING_SCALE, cache=False)  # generated, both times
        out = io.BytesIO()
        await commands.snapshot(url, out)
        digests.append((result.rows, hashlib.sha256(out.getvalue()).hexdigest()))

    assert digests[0] == digests[1]
    assert digests[0][0]["wing_flaps"] == 75 * FORKING_SCALE


def _no_process_holds(path: Path, deadline: float) -> bool:
    """Poll until no process has `path` among its open files (the forked child included)."""
    while time.monotonic() < deadline:
        holders = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                holders += [
                    entry
                    for fd in os.listdir(f"/proc/{entry}/fd")
                    if os.readlink(f"/proc/{entry}/fd/{fd}") == str(path)
                ]
            except OSError:
                continue
        if not holders:
            return True
        time.sleep(0.02)
    return False


def _forked_child_of(pid: int) -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                return True
    return False


@contextmanager
def _forcing_apply_once_forked(url: str) -> Iterator[subprocess.Popen[str]]:
    """`apply --force` at a forking scale, in its own session, yielded once its row-making child exists.

    With --no-cache: the rows must be generated (a replay of the session's cache forks nothing).
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "echelon_seed", "apply", "--database-url", url, "--force", "--no-cache"]
        + ["--scale", str(FORKING_SCALE)],
        cwd=dbtools.ECHELON,
        env=cli_env({commands.PAUSE_ENV: "table:users=0"}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        # Inside the transaction once the hook says so; then ready when the fork exists.
        line = child.stderr.readline() if child.stderr else ""
        assert "paused at table:users" in line, line
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _forked_child_of(child.pid):
            time.sleep(0.005)
        assert _forked_child_of(child.pid), "apply never forked its row-making child"
        yield child
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_a_signal_to_the_process_group_mid_write_rolls_back_and_leaves_no_child(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """As a Ctrl-C on a terminal: the signal reaches the parent and its row-making child alike."""
    db = tmp_path / "group.db"
    url = f"sqlite:///{db}"
    await commands.apply(url, anchor=NEW)
    before = await dbtools.data(url)
    with _forcing_apply_once_forked(url) as child:
        os.killpg(child.pid, signum)
        _out, err = child.communicate(timeout=60)

    assert child.returncode == 128 + signum, err
    assert "rolled back" in err
    assert await dbtools.data(url) == before
    assert _no_process_holds(db, time.monotonic() + 30), "a process still holds the database file"


async def test_a_parent_killed_mid_write_takes_its_child_with_it(tmp_path: Path) -> None:
    """SIGKILL leaves no handler to run: the child must notice the closed pipe and leave by itself."""
    db = tmp_path / "killed.db"
    url = f"sqlite:///{db}"
    await commands.apply(url, anchor=NEW)
    before = await dbtools.data(url)
    with _forcing_apply_once_forked(url) as child:
        child.kill()  # the parent only
        child.wait(timeout=60)

    assert _no_process_holds(db, time.monotonic() + 30), "the orphaned child still holds the database file"
    assert await dbtools.data(url) == before
