"""A connection the server ends is reported as such, and the database is as it was (PostgreSQL).

`apply --force` is held at a pause point inside its transaction (the
ECHELON_SEED_TEST_PAUSE hook, which says "paused at <point>" on stderr), the
test ends its server process with pg_terminate_backend, and the apply must
fail in one line that says the server closed the connection and that nothing
was committed, never a driver's internal state ("cannot call
Transaction.rollback(): the underlying connection is closed").
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from echelon_seed import commands
from tests import dbtools, pgserver
from tests.test_reliability_kill import NEW_TEXT, OLD, PausedApply, cleanup

__all__ = ["cleanup"]  # a fixture, imported so that pytest finds it here


async def _terminate(url: str, child_pid: int) -> int:
    """End the apply's backend and wait until it is gone (at most a minute): the number ended.

    Without the wait, the backend may still be exiting when the test releases the apply: its
    COMMIT then reaches a socket the server has not closed yet, and "unknown" is the honest answer.
    """
    admin = await asyncpg.connect(**pgserver.connect_kwargs(url))
    try:
        ended = await admin.fetch(
            "SELECT pg_terminate_backend(pid, 60000) AS gone FROM pg_stat_activity WHERE application_name = $1",
            f"echelon-seed apply pid={child_pid}",
        )
    finally:
        await admin.close()
    return sum(1 for row in ended if row["gone"])


@pytest.mark.parametrize("point", ["locked", "cleared", "table:agents", "before-commit"])
async def test_a_terminated_backend_is_reported_as_a_closed_connection(
    pg_url: str, point: str, cleanup: list[PausedApply], tmp_path: Path
) -> None:
    await commands.apply(pg_url, anchor=OLD)
    before = await dbtools.dump(pg_url)
    writer = PausedApply(pg_url, "--force", "--anchor", NEW_TEXT, pause=point, release=tmp_path / "go")
    cleanup.append(writer)
    writer.wait_paused()

    assert await _terminate(pg_url, writer.pid) == 1
    code, _, stderr = writer.finish()

    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0] == f"paused at {point}", stderr
    assert lines[1].startswith("echelon-seed: error: postgresql://postgres:***@"), stderr
    assert "the server closed the connection (" in lines[1] and lines[1].endswith("; nothing was committed"), stderr
    assert "cannot call" not in lines[1] and "internal error" not in lines[1], stderr
    assert await dbtools.dump(pg_url) == before
