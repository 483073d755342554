"""scripts/seed_database.sh, the seed guide's Method 3, run end to end as a user runs it, on both engines."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests import dbtools

SCRIPT = dbtools.REPO / "scripts" / "seed_database.sh"


def run(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHELON_SEED_")}
    env["DATABASE_URL"] = url
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )


async def test_the_wrapper_migrates_seeds_and_passes_flags_and_exit_codes_through(db_url: str, tmp_path: Path) -> None:
    first = run("--anchor", "2026-11-24T12:00:00Z", url=db_url, cwd=tmp_path)
    again = run(url=db_url, cwd=tmp_path)
    await dbtools.execute(db_url, "DELETE FROM echelon_seed_runs")
    refused = run(url=db_url, cwd=tmp_path)
    forced = run("--force", "-q", url=db_url, cwd=tmp_path)
    wrong = run("--scale", "0", url=db_url, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[1] == "  schema   0001 (1 migration applied)"
    assert again.stdout.startswith("already seeded") and again.returncode == 0
    assert refused.returncode == 2 and "holds data that echelon-seed did not seed" in refused.stderr
    assert (forced.returncode, forced.stdout) == (0, "")
    assert wrong.returncode == 2
    assert (await dbtools.row_counts(db_url))["wing_flaps"] == 75


def test_a_relative_sqlite_path_is_taken_from_where_it_runs(tmp_path: Path) -> None:
    done = run("-q", url="sqlite:///./here.db", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "here.db").is_file()
