"""One writer at a time, and readers that see a whole seed: concurrent `echelon-seed` processes.

- Two `apply --force` started together on one database: both exit 0 (the
  second waits for the writer lock) or one fails with the lock-timeout message
  naming the holder; never a unique-violation or deadlock traceback; the final
  database verifies. SAMPLE trials per mode in the README's command, up to
  ECHELON_SEED_TRIALS in the `slow` run (see test_reliability_kill.py).
- A held lock and `--lock-timeout 1`: exit 2 within seconds, naming the holder.
- Three `apply` at once on an empty, never-migrated database: the migrations
  run once (one alembic_version row, at head) and all three exit 0.
- `verify` and `snapshot` while an `apply --force` is paused inside its
  transaction see the whole previous seed, on every engine and journal mode.

Modes: SQLite in rollback-journal and WAL mode, and PostgreSQL. The seed a
test starts from is cloned (`dbtools.seed`); the applies under test are real
`echelon-seed` processes.
"""

from __future__ import annotations

import signal
import time

import anyio
import pytest
from sqlalchemy import text

from echelon_seed import engines, migrate
from tests import dbtools
from tests.test_reliability_kill import (
    MODES,
    NEW,
    NEW_TEXT,
    OLD,
    TRIALS,
    PausedApply,
    cleanup,
    mode_url,
    sampled,
    sqlite_pragma,
    verify_exit,
)

__all__ = ["cleanup", "mode_url"]  # fixtures, imported so that pytest finds them here

# Words that would mean two writers really ran at once.
RACE_SYMPTOMS = ("Traceback", "UniqueViolation", "duplicate key", "deadlock", "IntegrityError", "already exists")


def _assert_no_race(stderr: str) -> None:
    for symptom in RACE_SYMPTOMS:
        assert symptom not in stderr, stderr


def _is_lock_timeout(code: int, stderr: str) -> bool:
    return code == 2 and "another writer" in stderr and "--lock-timeout" in stderr


async def _alembic_versions(url: str) -> list[str]:
    database = engines.open_database(url, write=False)
    try:
        async with database.transaction() as conn:
            return [row[0] for row in await conn.execute(text("SELECT version_num FROM echelon_seed_alembic_version"))]
    finally:
        await database.dispose()


# --- two writers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode_url", "trial"),
    [sampled((mode, n), n, f"{mode}-{n}") for mode in MODES for n in range(TRIALS)],
    indirect=["mode_url"],
)
async def test_two_concurrent_force_applies_take_turns(mode_url: str, trial: int, cleanup: list[PausedApply]) -> None:
    await dbtools.seed(mode_url, anchor=OLD)
    first = PausedApply(mode_url, "--force", "--anchor", NEW_TEXT)
    second = PausedApply(mode_url, "--force", "--anchor", NEW_TEXT)
    cleanup.extend([first, second])

    outcomes = [first.finish(), second.finish()]

    for code, _, stderr in outcomes:
        _assert_no_race(stderr)
        assert code == 0 or _is_lock_timeout(code, stderr), stderr
    assert any(code == 0 for code, _, _ in outcomes)
    assert await verify_exit(mode_url) == 0
    assert (await dbtools.table_rows(mode_url, "echelon_seed_runs"))[0][1] == NEW


@pytest.mark.parametrize("mode_url", MODES, indirect=True)
async def test_a_second_writer_waits_for_the_first_to_commit(mode_url: str, cleanup: list[PausedApply]) -> None:
    await dbtools.seed(mode_url, anchor=OLD)
    holder = PausedApply(mode_url, "--force", "--anchor", NEW_TEXT, pause="before-commit", seconds=1.5)
    cleanup.append(holder)
    holder.wait_paused()
    waiter = PausedApply(mode_url, "--force", "--anchor", "2026-05-05T05:05:05Z")
    cleanup.append(waiter)

    held, waited = holder.finish(), waiter.finish()

    assert held[0] == 0, held[2]
    assert waited[0] == 0, waited[2]
    _assert_no_race(held[2] + waited[2])
    # The waiter ran after the holder's commit, so its seed is the one left.
    assert str((await dbtools.table_rows(mode_url, "echelon_seed_runs"))[0][1].date()) == "2026-05-05"
    assert await verify_exit(mode_url) == 0


LOCK_TIMEOUT_CASES = [pytest.param(mode, id=mode) for mode in MODES]


@pytest.mark.parametrize("mode_url", LOCK_TIMEOUT_CASES, indirect=True)
async def test_lock_timeout_fails_fast_naming_the_holder(
    mode_url: str, request: pytest.FixtureRequest, cleanup: list[PausedApply]
) -> None:
    mode = request.node.callspec.params["mode_url"]
    await dbtools.seed(mode_url, anchor=OLD)
    before = await dbtools.dump(mode_url)
    # The holder keeps the lock far longer than the waiter's timeout, and is only let go afterwards:
    # the waiter ending while the holder still holds the lock proves it gave up, whatever the load.
    holder = PausedApply(mode_url, "--force", "--anchor", NEW_TEXT, pause="locked", seconds=120)
    cleanup.append(holder)
    holder.wait_paused()

    waiter = PausedApply(mode_url, "--force", "--lock-timeout", "1")
    cleanup.append(waiter)
    code, stdout, stderr = waiter.finish(timeout=100)
    holder_still_paused = holder.proc.poll() is None

    holder.signal(signal.SIGTERM)
    assert holder.finish()[0] == 128 + signal.SIGTERM
    assert code == 2, stderr
    assert holder_still_paused, "the waiter ended only when the holder did: it never gave up on its own"
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("echelon-seed: error: "), stderr
    assert "another writer" in lines[0] and "--lock-timeout" in lines[0], lines[0]
    if mode == "postgresql":
        assert f"echelon-seed apply pid={holder.pid}" in lines[0], lines[0]
    assert await dbtools.dump(mode_url) == before


@pytest.mark.parametrize("mode_url", MODES, indirect=True)
async def test_three_applies_on_an_empty_database_migrate_it_once(mode_url: str, cleanup: list[PausedApply]) -> None:
    children = [PausedApply(mode_url, "--anchor", NEW_TEXT) for _ in range(3)]
    cleanup.extend(children)

    outcomes = [child.finish() for child in children]

    for code, _, stderr in outcomes:
        assert code == 0, stderr
        _assert_no_race(stderr)
    assert await _alembic_versions(mode_url) == [migrate.head_revision()]
    assert len(await dbtools.table_rows(mode_url, "echelon_seed_runs")) == 1
    assert await verify_exit(mode_url) == 0


# --- readers during a write ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode_url", "point"),
    [
        pytest.param("sqlite-rollback", "table:wing_flaps", id="sqlite-rollback"),
        pytest.param("sqlite-wal", "before-commit", id="sqlite-wal"),
        pytest.param("postgresql", "before-commit", id="postgresql-before-commit"),
        pytest.param("postgresql", "cleared", id="postgresql-cleared"),
    ],
    indirect=["mode_url"],
)
async def test_verify_during_a_paused_force_apply_sees_the_whole_old_seed(
    mode_url: str, point: str, cleanup: list[PausedApply]
) -> None:
    await dbtools.seed(mode_url, anchor=OLD)
    old = await dbtools.dump(mode_url)
    writer = PausedApply(mode_url, "--force", "--anchor", NEW_TEXT, pause=point)
    cleanup.append(writer)
    writer.wait_paused()

    seen = await dbtools.dump(mode_url)
    verified = dbtools.run_cli("verify", "--database-url", mode_url, timeout=60)
    snapshot = dbtools.run_cli("snapshot", "--database-url", mode_url, "--quiet", timeout=60)

    writer.signal(signal.SIGTERM)
    assert writer.finish()[0] == 128 + signal.SIGTERM
    assert seen == old
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK: ")
    assert snapshot.returncode == 0, snapshot.stderr
    header = snapshot.stdout.splitlines()[0]
    assert '"fixtures":"' + old["echelon_seed_runs"][0][2] + '"' in header
    assert await dbtools.dump(mode_url) == old


@pytest.mark.parametrize("mode_url", ["sqlite-rollback", "sqlite-wal"], indirect=True)
async def test_a_reader_does_not_stop_the_writer_from_committing(mode_url: str, cleanup: list[PausedApply]) -> None:
    """In rollback-journal mode the commit needs every reader gone; the busy timeout waits for them."""
    await dbtools.seed(mode_url, anchor=OLD)
    writer = PausedApply(mode_url, "--force", "--anchor", NEW_TEXT, pause="before-commit", seconds=0.5)
    cleanup.append(writer)
    writer.wait_paused()
    reads = [await dbtools.row_counts(mode_url) for _ in range(5)]

    code, _, stderr = writer.finish()

    assert code == 0, stderr
    assert all(counts == reads[0] for counts in reads)
    assert (await dbtools.table_rows(mode_url, "echelon_seed_runs"))[0][1] == NEW
    assert sqlite_pragma(mode_url, "integrity_check") == [("ok",)]


async def _waiting_for_the_lock(url: str, waiter: PausedApply, timeout: float = 60.0) -> None:
    """Return once `waiter` is in its lock wait: on PostgreSQL, its session polling the advisory lock.

    SQLite's wait (BEGIN IMMEDIATE under the busy timeout) shows nowhere outside
    the process: there the "paused at connecting" line, printed right before it,
    is the readiness signal.
    """
    waiter.wait_paused()
    if not url.startswith("postgresql"):
        return
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
        "AND query LIKE '%pg_try_advisory_xact_lock%'"
    ).bindparams(app=f"echelon-seed apply pid={waiter.pid}")

    async def polls() -> bool:
        database = engines.open_database(url, write=False)
        try:
            async with database.transaction() as conn:
                return bool((await conn.execute(query)).scalar_one())
        finally:
            await database.dispose()

    deadline = time.monotonic() + timeout
    while not await polls():
        assert waiter.proc.poll() is None, "the waiter ended before it waited for the lock"
        assert time.monotonic() < deadline, f"the waiter's session never polled the lock in {timeout} s"
        await anyio.sleep(0.05)


@pytest.mark.parametrize("mode_url", MODES, indirect=True)
async def test_a_signal_while_waiting_for_the_lock_ends_the_waiter(mode_url: str, cleanup: list[PausedApply]) -> None:
    """On SQLite the wait is inside BEGIN IMMEDIATE, which no cancellation reaches: the grace period ends it."""
    await dbtools.seed(mode_url, anchor=OLD)
    before = await dbtools.dump(mode_url)
    holder = PausedApply(mode_url, "--force", "--anchor", NEW_TEXT, pause="locked", seconds=20)
    cleanup.append(holder)
    holder.wait_paused()
    waiter = PausedApply(mode_url, "--force", pause="connecting", seconds=0)
    cleanup.append(waiter)
    await _waiting_for_the_lock(mode_url, waiter)

    signalled = time.monotonic()
    waiter.signal(signal.SIGINT)
    code, _, stderr = waiter.finish(timeout=30)
    waited = time.monotonic() - signalled
    holder.signal(signal.SIGTERM)

    assert holder.finish()[0] == 128 + signal.SIGTERM
    assert code == 130, stderr
    assert waited < 5, f"the waiter took {waited:.1f} s to leave"
    said = [line for line in stderr.splitlines() if line != "paused at connecting"]
    assert said == ["echelon-seed: interrupted; rolled back"], stderr
    assert await dbtools.dump(mode_url) == before
