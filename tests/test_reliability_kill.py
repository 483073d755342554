"""All or nothing: `apply --force` killed inside its transaction leaves the old seed or the new one.

A trial seeds a database with the anchor OLD (the "previous state"), starts
`echelon-seed apply --force --anchor NEW` as a subprocess held at a pause
point (ECHELON_SEED_TEST_PAUSE="<point>=<seconds>", which prints "paused at
<point>" on stderr), waits for that line, and kills it. The database must then
hold exactly the OLD tables or exactly the NEW ones (whole-database dumps, the
seed record's anchor says which), `verify --database-url` must exit 0, and on
SQLite `PRAGMA integrity_check` must say ok. Modes: SQLite in rollback-journal
mode, SQLite in WAL mode (set on the file before seeding) and PostgreSQL.

Kill points cycle through every pause point (locked, migrated, cleared, one
`table:<name>` per seeded table, before-commit) and "anywhere": no pause, a
SIGKILL after a delay, which may land before, during or after the commit.

Trial counts: the README's test command runs SAMPLE trials per mode (their
points spread over the modes: the lock, a table, the commit, "anywhere"); the
`slow` run (`make test-slow`, which CI runs after it) runs the rest, up to
ECHELON_SEED_TRIALS per mode (13 by default: every point in every mode):

    .venv/bin/pytest -m slow tests/test_reliability_kill.py tests/test_concurrency.py

The database a trial starts from is cloned (`dbtools.seed`), not applied: the
subject is the apply the test starts and kills, not the seed before it.

SIGINT and SIGTERM are tested at pause points too: exit 130 / 143, one line
"interrupted; rolled back" on stderr, and the database as it was.

The helpers here (PausedApply, the SQLite pragmas) are shared with
test_concurrency.py and test_safety.py.
"""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from echelon_project import schema
from sqlalchemy.engine import make_url

from echelon_seed import commands
from tests import dbtools, forkrun

OLD = datetime(2026, 1, 15, 12, tzinfo=UTC)
NEW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
NEW_TEXT = "2026-03-01T08:30:00Z"

PAUSE_ENV = commands.PAUSE_ENV
#: Trials per mode in the full (`slow`) run; the first SAMPLE of them run in the README's command too.
TRIALS = max(int(os.environ.get("ECHELON_SEED_TRIALS", "13")), 1)
SAMPLE = 2
MODES = ("sqlite-rollback", "sqlite-wal", "postgresql")
POINTS = (
    "locked",
    "migrated",
    "cleared",
    *(f"table:{t.name}" for t in schema.SEEDED_TABLES),
    "before-commit",
    "anywhere",
)

# --- helpers shared with test_concurrency.py and test_safety.py ---------------------------------------


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child `echelon-seed`: no DATABASE_URL, no ECHELON_SEED_* of ours."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("ECHELON_SEED_")}
    env.update(extra or {})
    return env


class PausedApply:
    """An `echelon-seed apply` subprocess, usually held at a pause point inside its transaction.

    stdout and stderr are read by threads, so that the test can wait for the
    "paused at" line with a timeout and the child never blocks on a full pipe.
    """

    def __init__(
        self,
        url: str,
        *args: str,
        pause: str | None = None,
        seconds: float = 60.0,
        release: Path | None = None,
        fresh: bool = False,
    ) -> None:
        """With `release`, the pause lasts until `finish` creates that file (no race with a slow machine).

        The child is a fork of the worker's preloaded server (tests/forkrun.py): what is tested is
        the apply, not the interpreter's start-up. `fresh` starts a real interpreter instead, for the
        tests that keep the whole process's path covered.
        """
        held = f"@{release}" if release is not None else seconds
        extra = {PAUSE_ENV: f"{pause}={held}"} if pause else {}
        self.pause = pause
        self.release = release
        self.started = time.monotonic()
        self.proc = forkrun.popen(
            "echelon_seed",
            *("apply", "--database-url", url, "-q", *args),
            cwd=dbtools.ECHELON,
            env=cli_env(extra),
            fresh=fresh,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._stdout: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stderr, self._stderr, True), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stdout, self._stdout, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, into: list[str], announce: bool) -> None:
        with stream:
            for line in stream:
                into.append(line)
                if announce:
                    self._lines.put(line)
        if announce:
            self._lines.put(None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_paused(self, timeout: float = 60.0) -> None:
        """Return once the child printed "paused at <point>"; fail if it ends or stalls first."""
        deadline = time.monotonic() + timeout
        wanted = f"paused at {self.pause}"
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                pytest.fail(f"apply never reached {self.pause!r} in {timeout} s; stderr: {''.join(self._stderr)}")
            if line is None:
                self.finish()
                pytest.fail(
                    f"apply ended (exit {self.proc.returncode}) before {self.pause!r}; stderr: {''.join(self._stderr)}"
                )
            if line.strip() == wanted:
                return

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def finish(self, timeout: float = 60.0) -> tuple[int, str, str]:
        """Wait for the child; its exit code, stdout and stderr."""
        if self.release is not None:
            self.release.touch()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"apply still running after {timeout} s; stderr so far: {''.join(self._stderr)}")
        for reader in self._readers:
            reader.join(timeout=10)
        return code, "".join(self._stdout), "".join(self._stderr)

    def ensure_dead(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def sqlite_file(url: str) -> Path:
    return Path(make_url(url).database or "")


def sqlite_pragma(url: str, pragma: str) -> list[tuple[Any, ...]]:
    """Run one PRAGMA on a SQLite file with the stdlib driver (outside echelon-seed entirely)."""
    connection = sqlite3.connect(sqlite_file(url))
    try:
        return connection.execute(f"PRAGMA {pragma}").fetchall()
    finally:
        connection.close()


def leftover_alembic_tables(names: set[str]) -> set[str]:
    return {n for n in names if n.startswith("_alembic_tmp")}


async def verify_exit(url: str) -> int:
    """What `verify --database-url` would exit with (0 match, 1 differs), run in-process."""
    result = await commands.verify(url)
    return 0 if result.matches else 1


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def mode_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database for the `mode` parameter; SQLite WAL is switched on before anything is written."""
    mode: str = request.param
    if mode == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        return url
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    if mode == "sqlite-wal":
        assert sqlite_pragma(url, "journal_mode=WAL") == [("wal",)]
    return url


@pytest.fixture
def cleanup() -> Iterator[list[PausedApply]]:
    """Children a test started; killed at the end if still alive (a failed assertion must not leak them)."""
    started: list[PausedApply] = []
    yield started
    for child in started:
        child.ensure_dead()


def sampled(values: tuple[Any, ...], trial: int, id: str) -> Any:
    """One trial's parameters; beyond the first SAMPLE per mode, part of the `slow` run only."""
    return pytest.param(*values, id=id, marks=[pytest.mark.slow] if trial >= SAMPLE else [])


# Where each mode's trials start in POINTS: the sample reaches "anywhere" and the lock, the clearing and
# the first table, the last table and the commit; 13 trials per mode reach every point in every mode.
_FIRST_POINT = {"sqlite-rollback": POINTS.index("anywhere"), "sqlite-wal": 2, "postgresql": len(POINTS) - 3}


def _trials() -> list[Any]:
    params = []
    for mode in MODES:
        for n in range(TRIALS):
            point = POINTS[(_FIRST_POINT[mode] + n) % len(POINTS)]
            params.append(sampled((mode, point, n), n, f"{mode}-{n}-{point}"))
    return params


# --- SIGKILL ------------------------------------------------------------------------------------------


#: Per engine (both SQLite modes store the same rows): the rows of the NEW seed, read once.
_NEW_DATA: dict[str, dict[str, Any]] = {}


async def _old_and_new(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Give `url` the OLD seed; its rows and the NEW seed's: the two states a kill may leave."""
    engine = "sqlite" if url.startswith("sqlite") else "postgresql"
    if engine not in _NEW_DATA:
        await dbtools.seed(url, anchor=NEW)
        _NEW_DATA[engine] = await dbtools.data(url)
    await dbtools.seed(url, anchor=OLD)
    old, new = await dbtools.data(url), _NEW_DATA[engine]
    assert old != new
    return old, new


async def _assert_old_or_new(url: str, mode: str, old: dict[str, Any], new: dict[str, Any], where: str) -> str:
    now = await dbtools.data(url)
    assert now in (old, new), f"{where}: the database is neither the old nor the new seed"
    state = "old" if now == old else "new"
    anchor = now["echelon_seed_runs"][0][1]
    assert anchor == (OLD if state == "old" else NEW), where
    assert await verify_exit(url) == 0, where
    if mode.startswith("sqlite"):
        assert sqlite_pragma(url, "integrity_check") == [("ok",)], where
        assert sqlite_pragma(url, "journal_mode") == [("wal" if mode == "sqlite-wal" else "delete",)], where
    assert not leftover_alembic_tables(set(now)), where
    return state


@pytest.mark.parametrize(("mode_url", "point", "trial"), _trials(), indirect=["mode_url"])
async def test_sigkill_inside_the_transaction_leaves_the_old_or_the_new_seed(
    mode_url: str, point: str, trial: int, request: pytest.FixtureRequest, cleanup: list[PausedApply]
) -> None:
    mode = request.node.callspec.params["mode_url"]
    old, new = await _old_and_new(mode_url)

    if point == "anywhere":
        child = PausedApply(mode_url, "--force", "--anchor", NEW_TEXT)
        cleanup.append(child)
        # Spread over the command's own imports (a fork has the libraries already), the transaction,
        # the commit and the exit.
        time.sleep(0.05 + 0.1 * (trial % 5))
    else:
        child = PausedApply(mode_url, "--force", "--anchor", NEW_TEXT, pause=point)
        cleanup.append(child)
        child.wait_paused()
    child.signal(signal.SIGKILL)
    code, _, stderr = child.finish()

    state = await _assert_old_or_new(mode_url, mode, old, new, f"SIGKILL at {point} (exit {code})")
    if point != "anywhere":
        assert code == -signal.SIGKILL
        assert state == "old", f"killed at {point}, before the commit, yet the new seed is there"
    elif code == 0:
        assert state == "new"
    # The next apply is not hindered by the corpse: no stale lock, no half-built schema.
    result = await commands.apply(mode_url, anchor=NEW, force=True, lock_timeout=30)
    assert result.action == "reseeded"
    assert await dbtools.data(mode_url) == new


@pytest.mark.parametrize("mode_url", ["postgresql"], indirect=True)
async def test_sigkill_of_a_fresh_interpreter_before_the_commit_leaves_the_old_seed(
    mode_url: str, cleanup: list[PausedApply]
) -> None:
    """The kill path in a real `python -m echelon_seed` (the other trials fork a preloaded server)."""
    old, new = await _old_and_new(mode_url)
    child = PausedApply(mode_url, "--force", "--anchor", NEW_TEXT, pause="before-commit", fresh=True)
    cleanup.append(child)
    assert isinstance(child.proc, subprocess.Popen)
    child.wait_paused()
    child.signal(signal.SIGKILL)
    code, _, _ = child.finish()

    assert code == -signal.SIGKILL
    assert await _assert_old_or_new(mode_url, "postgresql", old, new, "SIGKILL before the commit") == "old"
    result = await commands.apply(mode_url, anchor=NEW, force=True, lock_timeout=30)
    assert result.action == "reseeded"


@pytest.mark.parametrize("mode_url", MODES, indirect=True)
async def test_sigkill_while_migrating_a_fresh_database_leaves_no_schema(
    mode_url: str, request: pytest.FixtureRequest, cleanup: list[PausedApply]
) -> None:
    mode = request.node.callspec.params["mode_url"]
    child = PausedApply(mode_url, "--anchor", NEW_TEXT, pause="migrated")
    cleanup.append(child)
    child.wait_paused()
    child.signal(signal.SIGKILL)
    child.finish()

    assert await dbtools.table_names(mode_url) == set()
    if mode == "postgresql":
        assert await dbtools.enum_types(mode_url) == set()
    else:
        assert sqlite_pragma(mode_url, "integrity_check") == [("ok",)]
    # And the database is as good as new: the next apply migrates and seeds it.
    result = await commands.apply(mode_url, anchor=NEW)
    assert result.action == "seeded"
    assert result.migration.applied >= 1


# --- SIGINT / SIGTERM ---------------------------------------------------------------------------------

SIGNAL_CASES = [
    pytest.param(mode, signum, point, id=f"{mode}-{signum.name}-{point}")
    for mode, signum, point in [
        ("sqlite-rollback", signal.SIGINT, "table:agents"),
        ("sqlite-rollback", signal.SIGTERM, "cleared"),
        ("sqlite-wal", signal.SIGINT, "before-commit"),
        ("sqlite-wal", signal.SIGTERM, "migrated"),
        ("postgresql", signal.SIGINT, "locked"),
        ("postgresql", signal.SIGTERM, "table:wing_flaps"),
    ]
]


@pytest.mark.parametrize(("mode_url", "signum", "point"), SIGNAL_CASES, indirect=["mode_url"])
async def test_sigint_and_sigterm_roll_back_and_exit_128_plus_signal(
    mode_url: str, signum: signal.Signals, point: str, request: pytest.FixtureRequest, cleanup: list[PausedApply]
) -> None:
    mode = request.node.callspec.params["mode_url"]
    old, new = await _old_and_new(mode_url)
    child = PausedApply(mode_url, "--force", "--anchor", NEW_TEXT, pause=point)
    cleanup.append(child)
    child.wait_paused()

    signalled = time.monotonic()
    child.signal(signum)
    code, stdout, stderr = child.finish(timeout=30)

    assert code == 128 + signum, stderr
    # Rolled back promptly: the grace period in cli.py is a safety net, not the normal path.
    assert time.monotonic() - signalled < 2.5, stderr
    said = [line for line in stderr.splitlines() if line != f"paused at {point}"]
    assert said == ["echelon-seed: interrupted; rolled back"], stderr
    assert "Traceback" not in stderr and stdout == ""
    assert await _assert_old_or_new(mode_url, mode, old, new, f"{signum.name} at {point}") == "old"


@pytest.mark.parametrize("mode_url", MODES, indirect=True)
async def test_sigint_in_the_middle_of_a_bulk_write_rolls_back(
    mode_url: str, request: pytest.FixtureRequest, cleanup: list[PausedApply]
) -> None:
    """The signal lands inside the largest COPY / executemany, not at a quiet pause point.

    An aiosqlite statement cannot be interrupted, and a cancelled one made the
    process hang in its close; the CLI's grace period bounds the wait.
    """
    mode = request.node.callspec.params["mode_url"]
    old, new = await _old_and_new(mode_url)
    # wing_flaps comes right after timeline_links: a zero-second pause marks its start.
    child = PausedApply(mode_url, "--force", "--scale", "1000", pause="table:timeline_links", seconds=0)
    cleanup.append(child)
    child.wait_paused()

    signalled = time.monotonic()
    child.signal(signal.SIGINT)
    code, stdout, stderr = child.finish(timeout=30)

    assert code == 130, stderr
    assert time.monotonic() - signalled < 6, stderr
    said = [line for line in stderr.splitlines() if not line.startswith("paused at ")]
    assert said == ["echelon-seed: interrupted; rolled back"], stderr
    assert await _assert_old_or_new(mode_url, mode, old, new, "SIGINT inside the wing_flaps bulk write") == "old"
