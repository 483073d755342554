"""Database fixtures shared by the whole suite.

Every engine-sensitive test asks for ``db_url`` and so runs twice, on SQLite
and on a real PostgreSQL (ids ``[sqlite]`` and ``[postgresql]``), because the
two engines differ exactly where the project must not (ordering, floats,
decimals, time zones, booleans; see shared/PITFALLS.md).

- ``pg_server``   one throwaway PostgreSQL server for the session (tests/pgserver.py).
- ``pg_url``      a fresh, empty PostgreSQL database per test, dropped afterwards.
- ``sqlite_url``  a fresh SQLite file per test in pytest's ``tmp_path``.
- ``db_url``      one of the two above, parametrised over both engines.
- ``engine_name`` "sqlite" or "postgresql": which one ``db_url`` is.

The URLs are plain strings as users write them (``sqlite:///...``,
``postgresql://user:pass@host:port/db``), not SQLAlchemy URL objects, so the
tests go through the same URL handling as the command line.

PostgreSQL is never skipped: if the server cannot start, every test that needs
it errors with the server log's tail.  Under ``CI=true`` a skipped test of any
kind is reported as a failure, so CI cannot go green on tests that did not run.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from tests import dbtools, pgserver

# Per-test CPU seconds when $ECHELON_TEST_CPU_LOG names a directory (tests/cpu_log.py); off otherwise.
pytest_plugins = ["tests.cpu_log"]

ENGINES = ("sqlite", "postgresql")

_db_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer]:
    """The session's PostgreSQL server, started once and stopped at the end.

    Not skipped when PostgreSQL is missing: a start failure raises, and pytest
    reports that error on every test that depends on it.
    """
    server = pgserver.start()
    try:
        yield server
    finally:
        dbtools.drop_templates("postgresql")
        from tests import cpu_log  # the plugin pytest_plugins loads (imported first there, so rewritten)

        cpu_log.record_server(server._datadir)
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _replay_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The replay cache of every apply in the session (and its child processes): never the user's own.

    XDG_CACHE_HOME too, for the tests that give a child an environment without echelon-seed's variables.
    """
    names = ("ECHELON_SEED_CACHE_DIR", "XDG_CACHE_HOME")
    before = {name: os.environ.get(name) for name in names}
    home = tmp_path_factory.mktemp("replay-cache")
    os.environ["ECHELON_SEED_CACHE_DIR"] = str(home / "echelon-seed")
    os.environ["XDG_CACHE_HOME"] = str(home)
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session", autouse=True)
def _sqlite_templates() -> Iterator[None]:
    """The SQLite templates of `dbtools.seed`, removed at the session's end."""
    yield
    dbtools.drop_templates("sqlite")


@pytest.fixture
def pg_url(pg_server: pgserver.PgServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new empty PostgreSQL database for this test; its plain ``postgresql://`` URL.

    The name joins a counter, a hash of the test's node id and the pid, so
    reruns and parallel sessions on a shared ``ECHELON_TEST_POSTGRES_URL``
    server never collide.  Dropped WITH (FORCE) after the test, even when the
    test left connections open.
    """
    digest = hashlib.blake2b(request.node.nodeid.encode(), digest_size=4).hexdigest()
    name = f"test_{next(_db_counter)}_{digest}_{os.getpid()}"
    url = pg_server.create_database(name)
    try:
        yield url
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file (not yet created) in this test's ``tmp_path``."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=ENGINES, ids=ENGINES)
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh database on each engine in turn: ``sqlite_url`` or ``pg_url``.

    Resolved lazily, so the SQLite run never starts PostgreSQL.
    """
    fixture = {"sqlite": "sqlite_url", "postgresql": "pg_url"}[request.param]
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def engine_name(db_url: str) -> str:
    """Which engine ``db_url`` points at: "sqlite" or "postgresql"."""
    return "sqlite" if db_url.startswith("sqlite") else "postgresql"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop this process's fork server (tests/forkrun.py), if a test started it.

    Here rather than in a session fixture, whose teardown runs inside the last test: reaping the
    server there would count all its forks' CPU a second time in that test's line (tests/cpu_log.py).
    """
    from tests import cpu_log, forkrun

    forkrun.stop()
    cpu_log.record_forks(forkrun.cpu["servers"])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI=true, turn a skip into a failure (CI must run everything)."""
    report = yield
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if in_ci and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI={os.environ['CI']}, which must run every test: {reason}"
    return report


_extra_databases = itertools.count(1)


@pytest.fixture
def new_database(engine_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of further empty databases on the same engine as ``db_url``, dropped afterwards."""
    created: list[str] = []
    server: pgserver.PgServer | None = None

    def make() -> str:
        nonlocal server
        n = next(_extra_databases)
        if engine_name == "sqlite":
            return f"sqlite:///{tmp_path / f'extra_{n}.db'}"
        server = request.getfixturevalue("pg_server")
        name = f"extra_{n}_{os.getpid()}"
        url = server.create_database(name)
        created.append(name)
        return url

    yield make
    for name in created:
        assert server is not None
        server.drop_database(name)
