"""`echelon-seed apply` as a user runs it: a subprocess, DATABASE_URL, exit codes, output.

Each run is `python -m echelon_seed ...` in a child process with a clean
environment (DATABASE_URL only when the test sets it), so options, the
default URL, the output and the exit code are exactly what a terminal sees.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests import dbtools

ANCHOR_TEXT = "2026-01-15T12:00:00Z"
ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)
UNREACHABLE = "postgresql://u:S3cr3t-p%40ss@127.0.0.1:1/x"

COUNTS = dbtools.CANONICAL_ROWS


def secrets_of(url: str) -> list[str]:
    """The password of `url` as written (percent-encoded) and decoded; empty without one."""
    raw = urlsplit(url).password
    if not raw:
        return []
    return sorted({raw, unquote(raw)})


def test_default_database_is_dev_db_in_the_working_directory(tmp_path: Path) -> None:
    done = dbtools.run_cli("apply", "--anchor", ANCHOR_TEXT, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dev.db").is_file()
    assert "sqlite:///./dev.db" in done.stdout


async def test_default_database_holds_the_seed(tmp_path: Path) -> None:
    done = dbtools.run_cli("apply", "--anchor", ANCHOR_TEXT, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    counts = await dbtools.row_counts(f"sqlite:///{tmp_path / 'dev.db'}")
    assert counts == {**COUNTS, "echelon_seed_runs": 1}


async def test_database_url_environment_variable_is_used(db_url: str, tmp_path: Path) -> None:
    done = dbtools.run_cli("apply", "--anchor", ANCHOR_TEXT, database_url=db_url, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "dev.db").exists()
    assert (await dbtools.row_counts(db_url))["users"] == 5


async def test_database_url_option_overrides_the_environment(db_url: str, tmp_path: Path) -> None:
    decoy = tmp_path / "decoy.db"

    done = dbtools.run_cli(
        "apply", "--database-url", db_url, "--anchor", ANCHOR_TEXT, database_url=f"sqlite:///{decoy}", cwd=tmp_path
    )

    assert done.returncode == 0, done.stderr
    assert not decoy.exists()
    assert not (tmp_path / "dev.db").exists()
    assert (await dbtools.row_counts(db_url))["wing_flaps"] == 75


def test_output_shows_per_table_counts_and_elapsed_time(db_url: str) -> None:
    done = dbtools.run_cli("apply", "--anchor", ANCHOR_TEXT, database_url=db_url)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("seeded ")
    for table, count in COUNTS.items():
        assert re.search(rf"^\s+{table}\s+{count:,}$", done.stdout, re.MULTILINE), table
    assert re.search(r"^\s+total\s+176 rows in \d+\.\d\d s", done.stdout, re.MULTILINE), done.stdout


async def test_anchor_option_is_recorded_in_seed_runs(db_url: str) -> None:
    done = dbtools.run_cli("apply", "--anchor", ANCHOR_TEXT, database_url=db_url)

    assert done.returncode == 0, done.stderr
    runs = await dbtools.table_rows(db_url, "echelon_seed_runs")
    assert [r[1] for r in runs] == [ANCHOR]
    assert "anchor 2026-01-15T12:00:00+00:00" in done.stdout
    paradoxes = {r[0]: r for r in await dbtools.table_rows(db_url, "paradoxes")}
    assert paradoxes["PARADOX_GHOST_001"][5] == datetime(2026, 1, 15, 8, tzinfo=UTC)


def test_anchor_without_a_time_zone_is_refused_with_exit_2(sqlite_url: str) -> None:
    done = dbtools.run_cli("apply", "--anchor", "2026-01-15T12:00:00", database_url=sqlite_url)

    assert done.returncode == 2
    assert "time zone" in done.stderr
    assert "Traceback" not in done.stderr


async def test_second_apply_prints_already_seeded_and_exits_0(db_url: str) -> None:
    first = dbtools.run_cli("apply", "--anchor", ANCHOR_TEXT, database_url=db_url)
    assert first.returncode == 0, first.stderr
    before = await dbtools.dump(db_url)

    again = dbtools.run_cli("apply", "--anchor", "2026-02-01T00:00:00Z", database_url=db_url)

    assert again.returncode == 0, again.stderr
    assert "already seeded" in again.stdout
    assert await dbtools.dump(db_url) == before


async def test_database_holding_other_data_exits_2_naming_table_count_and_force(db_url: str) -> None:
    assert dbtools.run_cli("apply", "--anchor", ANCHOR_TEXT, database_url=db_url).returncode == 0
    await dbtools.replace_with_one_hand_made_user(db_url)
    before = await dbtools.dump(db_url)

    refused = dbtools.run_cli("apply", database_url=db_url)

    assert refused.returncode == 2
    assert refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("echelon-seed: error: "), lines[0]
    assert "users: 1 row" in lines[0]
    assert "--force" in lines[0]
    assert await dbtools.dump(db_url) == before


async def test_force_reseeds_a_modified_database(db_url: str) -> None:
    assert dbtools.run_cli("apply", "--anchor", ANCHOR_TEXT, database_url=db_url).returncode == 0
    seeded = await dbtools.dump(db_url)
    await dbtools.execute(db_url, "UPDATE agents SET win_rate = 0.1")

    done = dbtools.run_cli("apply", "--force", "--anchor", ANCHOR_TEXT, database_url=db_url)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("reseeded ")
    assert await dbtools.dump(db_url) == seeded


def test_password_never_appears_in_any_output(pg_url: str) -> None:
    secrets = secrets_of(pg_url)
    assert secrets, "the test server's URL has a password"
    runs = [
        dbtools.run_cli("apply", "--anchor", ANCHOR_TEXT, database_url=pg_url),
        dbtools.run_cli("apply", database_url=pg_url),
        dbtools.run_cli("apply", "--database-url", pg_url, "--scale", "2"),
        dbtools.run_cli("apply", "--database-url", pg_url, "--force", "--anchor", ANCHOR_TEXT),
    ]

    assert [r.returncode for r in runs] == [0, 0, 2, 0], [r.stderr for r in runs]
    for done in runs:
        for secret in secrets:
            assert secret not in done.stdout
            assert secret not in done.stderr
    assert "***" in runs[0].stdout


def test_unreachable_server_is_one_error_line_with_exit_2_and_no_password() -> None:
    done = dbtools.run_cli("apply", "--database-url", UNREACHABLE)

    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    for secret in secrets_of(UNREACHABLE):
        assert secret not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("echelon-seed: error: "), lines[0]
    assert "127.0.0.1:1" in lines[0]


def test_unreachable_server_traceback_in_debug_mode_hides_the_password() -> None:
    done = dbtools.run_cli("apply", "--database-url", UNREACHABLE, env={"ECHELON_SEED_DEBUG": "1"})

    assert done.returncode == 2
    for secret in secrets_of(UNREACHABLE):
        assert secret not in done.stderr
