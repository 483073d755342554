"""`apply` from the command line runs without Python's cycle collector, and gives it back as it found it.

Start-up allocates a few hundred thousand long-lived objects (SQLAlchemy,
Alembic, the models), over which the collector ran about 200 times before
the first row reached the database (docs/cache.md, "The warm apply on
PostgreSQL"). The command line turns it off for apply and on again after,
whether apply succeeded or failed, and leaves it off when it was off: the
suite and the pytest plugin run `cli.main` inside a longer process.
"""

from __future__ import annotations

import gc
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands
from tests import dbtools

ANCHOR = "2026-01-15T12:00:00Z"


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, bool]]:
    """Whether the collector was on when `commands.apply` began and when it ended, per call."""
    calls: list[tuple[bool, bool]] = []
    real = commands.apply

    async def watched(*args: Any, **kwargs: Any) -> Any:
        began = gc.isenabled()
        try:
            return await real(*args, **kwargs)
        finally:
            calls.append((began, gc.isenabled()))

    monkeypatch.setattr(commands, "apply", watched)
    return calls


def test_apply_runs_without_the_cycle_collector_and_turns_it_on_again(
    tmp_path: Path, seen: list[tuple[bool, bool]]
) -> None:
    assert gc.isenabled()

    done = dbtools.run_cli("apply", "--database-url", f"sqlite:///{tmp_path / 'a.db'}", "--anchor", ANCHOR)

    assert done.returncode == 0, done.stderr
    assert "seeded" in done.stdout
    assert seen == [(False, False)]  # off from before the imports to after the commit
    assert gc.isenabled()
    garbage: list[Any] = []
    garbage.append(garbage)  # a cycle only the collector frees: it collects again
    del garbage
    assert gc.collect() >= 1


def test_a_failed_apply_turns_the_collector_on_again(tmp_path: Path, seen: list[tuple[bool, bool]]) -> None:
    occupied = tmp_path / "other.db"
    conn = sqlite3.connect(occupied)
    with conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO users VALUES (1)")
    conn.close()

    done = dbtools.run_cli("apply", "--database-url", f"sqlite:///{occupied}", "--anchor", ANCHOR)

    assert done.returncode == 2 and "already holds tables" in done.stderr, done.stderr
    assert seen == [(False, False)]
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(tmp_path: Path, seen: list[tuple[bool, bool]]) -> None:
    gc.disable()
    try:
        done = dbtools.run_cli("apply", "--database-url", f"sqlite:///{tmp_path / 'a.db'}", "--anchor", ANCHOR)

        assert done.returncode == 0, done.stderr
        assert seen == [(False, False)]
        assert not gc.isenabled()
    finally:
        gc.enable()
