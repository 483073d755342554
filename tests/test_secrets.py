"""The password never leaves the process: not in output, errors, tracebacks or Alembic's messages.

The test server's superuser password is 'S3cr3t-p@ss/wo%rd' (percent-encoded
in URLs as S3cr3t-p%40ss%2Fwo%25rd). Every run below is a real `python -m
echelon_seed` (or `alembic`) child process, and neither form of the password,
nor the half-encoded one, may appear in its stdout or stderr: wrong password,
unreachable port, unknown host, malformed URLs, `--help` of every verb,
successful apply/verify/snapshot, crashes shown with ECHELON_SEED_DEBUG=1
(a simulated crash whose message holds the URL, an unknown schema revision, a
lock timeout) and `alembic upgrade head`.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from echelon_seed import commands
from tests import dbtools, pgserver
from tests.test_reliability_kill import OLD, PausedApply, cleanup

__all__ = ["cleanup"]  # a fixture, imported so that pytest finds it here

PASSWORD = pgserver.PASSWORD
ENCODED = quote(PASSWORD, safe="")
FORMS = (PASSWORD, ENCODED, quote(PASSWORD))  # raw, encoded, encoded except '/'
assert ENCODED == "S3cr3t-p%40ss%2Fwo%25rd"

# The password pasted unencoded: '@' and '/' make the URL ambiguous, and nothing may echo it back.
MALFORMED = "postgresql://u:S3cr3t-p@ss/wo%rd@host:notaport/db"
# Recognisable pieces of that password, whichever way a parser split the URL.
FRAGMENTS = ("S3cr3t", "wo%rd", "wo%25rd", "ss/wo", "ss%2Fwo")


def assert_secret_free(done: subprocess.CompletedProcess[str], *extra: str) -> None:
    output = done.stdout + done.stderr
    for secret in (*FORMS, *extra):
        assert secret not in output, f"{secret!r} leaked:\n{output}"


def _url(pg_url: str, *, password: str = ENCODED, host: str | None = None, port: int | None = None) -> str:
    parts = urlsplit(pg_url)
    user = parts.username or "postgres"
    netloc = f"{user}:{password}@{host or parts.hostname}:{port or parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def test_the_test_server_really_uses_the_awkward_password(pg_url: str) -> None:
    assert urlsplit(pg_url).password == ENCODED


# --- failures to connect ------------------------------------------------------------------------------


@pytest.fixture(params=["wrong-password", "unreachable-port", "unknown-host"])
def broken_url(request: pytest.FixtureRequest, pg_url: str) -> str:
    return {
        "wrong-password": lambda: _url(pg_url, password="x" + ENCODED),
        "unreachable-port": lambda: _url(pg_url, port=1),
        "unknown-host": lambda: _url(pg_url, host="no-such-host.invalid"),
    }[request.param]()


@pytest.mark.parametrize(
    ("verb", "debug"),
    [("apply", False), ("verify", False), ("snapshot", False), ("apply", True)],
    ids=["apply", "verify", "snapshot", "apply-debug"],
)
def test_connection_failures_never_show_the_password(broken_url: str, verb: str, debug: bool) -> None:
    env = {"ECHELON_SEED_DEBUG": "1"} if debug else {}

    runs = [dbtools.run_cli(verb, "--database-url", broken_url, env=env, timeout=60)]
    if verb != "verify":  # (verify reads only --database-url; without it, it seeds a scratch SQLite file)
        runs.append(dbtools.run_cli(verb, database_url=broken_url, env=env, timeout=60))

    for done in runs:
        assert done.returncode == 2, done.stderr
        assert_secret_free(done)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("echelon-seed: error: "), done.stderr
        assert ":***@" in lines[0], lines[0]


@pytest.mark.parametrize("verb", ["apply", "verify", "snapshot"])
def test_a_malformed_url_is_refused_without_echoing_the_password(verb: str) -> None:
    done = dbtools.run_cli(verb, "--database-url", MALFORMED, env={"ECHELON_SEED_DEBUG": "1"}, timeout=60)

    assert done.returncode == 2, done.stderr
    assert_secret_free(done)
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_malformed_url_shows_no_piece_of_the_password() -> None:
    done = dbtools.run_cli("apply", "--database-url", MALFORMED, timeout=60)

    assert_secret_free(done, *FRAGMENTS)


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://u:{ENCODED}@db.example.com/prod",
        f"postgresql+psycopg2://u:{ENCODED}@db.example.com/prod",
        f"postgresql://u:{ENCODED}@db.example.com:port/prod",
        f"postgresql://u:{ENCODED}@[not-an-address/prod",
        f"sqlite://u:{ENCODED}@/:memory:",
    ],
    ids=["other-engine", "other-driver", "bad-port", "bad-ipv6", "sqlite-with-password"],
)
def test_unusable_urls_are_one_line_without_the_password(url: str) -> None:
    done = dbtools.run_cli("apply", "--database-url", url, timeout=60)

    assert done.returncode == 2, done.stderr
    assert_secret_free(done)
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr


# --- help and normal output ---------------------------------------------------------------------------


@pytest.mark.parametrize("verb", [None, "apply", "verify", "snapshot", "check"])
def test_help_never_shows_the_database_url(verb: str | None, pg_url: str) -> None:
    done = dbtools.run_cli(*([verb] if verb else []), "--help", database_url=pg_url)

    assert done.returncode == 0
    assert "--database-url" in done.stdout or verb == "check"
    assert_secret_free(done)


def test_bad_options_next_to_a_url_never_show_it(pg_url: str) -> None:
    done = dbtools.run_cli("apply", "--database-url", pg_url, "--scale", "zero")

    assert done.returncode == 2
    assert_secret_free(done)


async def test_successful_runs_never_show_the_password(pg_url: str, tmp_path: Path) -> None:
    output = tmp_path / "out.snapshot"
    runs = [
        dbtools.run_cli("apply", "--database-url", pg_url),
        dbtools.run_cli("apply", database_url=pg_url),
        dbtools.run_cli("apply", "--force", database_url=pg_url),
        dbtools.run_cli("verify", "--database-url", pg_url),
        dbtools.run_cli("snapshot", database_url=pg_url),
        dbtools.run_cli("snapshot", "-o", str(output), "--database-url", pg_url),
        dbtools.run_cli("verify", "--database-url", pg_url, "--golden", str(output)),
    ]

    for done in runs:
        assert done.returncode == 0, done.stderr
        assert_secret_free(done)
    assert ":***@" in runs[0].stdout
    assert not any(secret in output.read_text(encoding="utf-8") for secret in FORMS)


# --- crashes, shown in full with ECHELON_SEED_DEBUG=1 ----------------------------------------------------

CRASH = """\
import os

from echelon_seed import seeder


async def crash(*args, **kwargs):
    # A driver that puts the URL, decoded password and all, into its message.
    raise RuntimeError("lost the connection to " + os.environ["DATABASE_URL"] + " as " + os.environ["CRASH_SECRET"])


seeder.write = crash
"""


def test_a_crash_traceback_is_scrubbed(pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(CRASH, encoding="utf-8")
    env = {"ECHELON_SEED_DEBUG": "1", "PYTHONPATH": str(tmp_path), "CRASH_SECRET": PASSWORD}

    done = dbtools.run_cli("apply", database_url=pg_url, env=env)

    assert done.returncode == 2
    assert "Traceback" in done.stderr, "the simulated crash did not happen"
    assert "RuntimeError: lost the connection to postgresql://postgres:***@" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("echelon-seed: internal error: RuntimeError")
    assert_secret_free(done)


async def test_an_unknown_schema_revision_traceback_is_scrubbed(pg_url: str) -> None:
    await commands.apply(pg_url, anchor=OLD)
    await dbtools.execute(pg_url, "UPDATE echelon_seed_alembic_version SET version_num = 'f00dcafe'")

    done = dbtools.run_cli("apply", "--force", database_url=pg_url, env={"ECHELON_SEED_DEBUG": "1"})

    assert done.returncode == 2
    assert "f00dcafe" in done.stderr
    assert_secret_free(done)


async def test_a_lock_timeout_in_debug_mode_is_scrubbed(pg_url: str, cleanup: list[PausedApply]) -> None:
    await commands.apply(pg_url, anchor=OLD)
    holder = PausedApply(pg_url, "--force", pause="locked", seconds=20)
    cleanup.append(holder)
    holder.wait_paused()

    done = dbtools.run_cli(
        "apply", "--force", "--lock-timeout", "0.5", database_url=pg_url, env={"ECHELON_SEED_DEBUG": "1"}
    )
    holder.signal(signal.SIGTERM)
    held = holder.finish()

    assert done.returncode == 2
    assert "another writer" in done.stderr
    assert_secret_free(done)
    assert held[0] == 128 + signal.SIGTERM
    assert_secret_free(subprocess.CompletedProcess([], held[0], held[1], held[2]))


# --- Alembic --------------------------------------------------------------------------------------------------


def test_alembic_with_a_wrong_password_fails_in_one_line_without_it(pg_url: str) -> None:
    done = dbtools.run_cli("upgrade", "head", module="alembic", database_url=_url(pg_url, password="x" + ENCODED))

    assert done.returncode != 0
    assert_secret_free(done)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert "FAILED: " in output and "password authentication failed" in output, output


@pytest.mark.parametrize(
    "url", [MALFORMED, f"postgresql://postgres:{ENCODED}@127.0.0.1:1/x"], ids=["malformed", "down"]
)
def test_alembic_with_an_unusable_url_never_shows_the_password(url: str) -> None:
    done = dbtools.run_cli("upgrade", "head", module="alembic", database_url=url, timeout=60)

    assert done.returncode != 0
    assert_secret_free(done)
    assert "Traceback" not in done.stderr, done.stderr
