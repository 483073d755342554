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

import re
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
    # A driver that puts the URL and its connect arguments, decoded password and all, into its message.
    secret = os.environ["CRASH_SECRET"]
    raise RuntimeError(
        "lost the connection to " + os.environ["DATABASE_URL"] + " with " + repr({"password": secret, "port": 1})
        + " (dsn host=h password=" + secret + " dbname=d)"
    )


seeder.write = crash
"""


def test_a_crash_traceback_is_scrubbed(pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(CRASH, encoding="utf-8")
    env = {"ECHELON_SEED_DEBUG": "1", "PYTHONPATH": str(tmp_path), "CRASH_SECRET": PASSWORD}

    done = dbtools.run_cli("apply", database_url=pg_url, env=env, process=True)  # sitecustomize: a fresh interpreter

    assert done.returncode == 2
    assert "Traceback" in done.stderr, "the simulated crash did not happen"
    assert "RuntimeError: lost the connection to postgresql://postgres:***@" in done.stderr
    assert "with {'password': '***', 'port': 1} (dsn host=h password=*** dbname=d)" in done.stderr
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


# --- every failure path over awkward and ordinary passwords ------------------------------------------------

# Each is hidden by structure: a password that is also a common word, a letter or a digit must not
# garble the rest of a message, and a half-parsed URL must not show a piece of one.
AWKWARD = ["S3cr3t-p@ss/wo%rd", "p@ss:w/rd%20?#", "postgres", "e", "5"]
REFERENCE = "Reference-Pw-9"


def _in_process(argv: list[str], capsys: pytest.CaptureFixture[str], env: dict[str, str] | None = None) -> str:
    """Run the CLI in this process; its exit code, stdout and stderr as one text."""
    import os

    from echelon_seed import cli

    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    cwd = os.getcwd()
    os.chdir(dbtools.ECHELON)  # the project's own directory, as a user runs it (no note about a missing project)
    try:
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    finally:
        os.chdir(cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    out, err = capsys.readouterr()
    return f"exit {code}\n{out}{err}"


def _failure_paths(pg_url: str, password: str, encode: bool) -> dict[str, list[str]]:
    """Argument lists that fail, each with `password` in the URL (percent-encoded or as pasted).

    The user `someone` does not exist, so no password is the right one. The
    last four fail in argparse (which echoes what it could not use) or before
    the scheme is even read.
    """
    pw = quote(password, safe="") if encode else password
    parts = urlsplit(pg_url)
    port, db = parts.port, parts.path
    url = f"postgresql://someone:{pw}@127.0.0.1:{port}{db}"
    return {
        "wrong password": ["apply", "--database-url", url],
        "wrong password, query": [
            "snapshot",
            "--database-url",
            f"postgresql://someone@127.0.0.1:{port}{db}?password={pw}",
        ],
        "unreachable": ["verify", "--database-url", f"postgresql://someone:{pw}@127.0.0.1:1{db}"],
        "unknown parameter": ["apply", "--database-url", f"{url}?sslmod=x"],
        "no such database": ["snapshot", "--database-url", f"postgresql://someone:{pw}@127.0.0.1:{port}/nope_db"],
        "bad sslmode": ["apply", "--database-url", f"{url}?sslmode=require"],
        "misspelt option": ["apply", "--databse-url", url],
        "stray positional": ["apply", "-q", url],
        "bad command before": ["--database-url", url, "aply"],
        "malformed scheme": ["apply", "--database-url", url.replace("postgresql://", "postgresql+asyncpg:://")],
    }


def _normalised(text: str) -> str:
    return re.sub(r"pid=\d+|\d+\.\d+ s|[\d,]+ rows/s", "#", text)


@pytest.mark.parametrize("encode", [True, False], ids=["encoded", "as-pasted"])
@pytest.mark.parametrize("password", AWKWARD)
def test_every_failure_path_hides_the_password_and_nothing_else(
    pg_url: str, password: str, encode: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    forms = {password, quote(password, safe=""), quote(password)}
    ambiguous = not encode and quote(password, safe="") != password
    reference = {name: _in_process(argv, capsys) for name, argv in _failure_paths(pg_url, REFERENCE, True).items()}
    for name, argv in _failure_paths(pg_url, password, encode).items():
        text = _in_process(argv, capsys)
        assert text.startswith("exit 2\n"), f"{name}: {text}"
        lines = text.splitlines()[1:]
        if lines[0].startswith("usage: "):  # argparse: its usage, then the one error line
            lines = [line for line in lines if not line.startswith(" ")][1:]
        assert len(lines) == 1 and lines[0].startswith("echelon-seed: error: "), f"{name}: {text}"
        for form in forms:
            # A form that the reference run's text holds anyway ('postgres' in 'postgresql://') proves nothing.
            if form not in reference[name]:
                assert form not in text, f"{name}: {form!r} leaked: {text}"
        if not ambiguous or _normalised(text) == _normalised(reference[name]):
            # Parsed (or echoed) like the reference: the same message, word for word, with only the password hidden.
            assert _normalised(text) == _normalised(reference[name]), name
        else:
            # Pasted unencoded, '@', '/', '?' or '#' make it ambiguous: refused without echoing any of it.
            assert "cannot parse database URL postgresql://…" in text, f"{name}: {text}"
        if ambiguous:
            for piece in ("p@ss", "w/rd", "rd%20", "ss:w", "ss/wo", "wo%rd"):
                assert piece not in text, f"{name}: {piece!r} leaked: {text}"


def test_a_success_line_shows_the_password_as_stars_and_the_rest_as_written(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = urlsplit(pg_url)
    url = f"postgresql://postgres@127.0.0.1:{parts.port}{parts.path}?password={ENCODED}"

    text = _in_process(["apply", "--database-url", url], capsys)

    assert text.startswith("exit 0\n"), text
    assert f"seeded postgresql://postgres:***@127.0.0.1:{parts.port}{parts.path}\n" in text
    for form in FORMS:
        assert form not in text


@pytest.mark.parametrize("password", ["postgres", "e", "p@ss:w/rd%20?#"])
def test_alembic_failed_line_hides_the_password_and_nothing_else(pg_url: str, password: str) -> None:
    parts = urlsplit(pg_url)
    url = f"postgresql://postgres:{quote(password, safe='')}@127.0.0.1:{parts.port}{parts.path}"

    done = dbtools.run_cli("upgrade", "head", module="alembic", database_url=url, timeout=60)

    failed = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("FAILED:")]
    assert done.returncode != 0 and len(failed) == 1, done.stdout + done.stderr
    assert failed[0] == (
        f"FAILED: postgresql://postgres:***@127.0.0.1:{parts.port}{parts.path}: "
        'password authentication failed for user "postgres"'
    )
