"""The pytest plugin, run as users run it: pytest in a child process on a test directory of its own.

Each engine gets a few child sessions (SQLite files; the suite's PostgreSQL
server given as the plugin's server URL), and the claims are read from their
outcomes, their output and what they leave on the server or disk. Every
child session has an anchor of its own, so its templates are new to the
server unless the test means to find one built before.
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest

from tests import forkrun, pgserver

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("sqlite", "postgresql")
_anchors = itertools.count(1)
# A template of the shape echelon-seed names them, marked as another project's.
OTHER_TEMPLATE = "echelon_tpl_0123456789ab"

# A helper the child sessions' tests import: a query on either engine, with the stdlib or asyncpg.
DB_HELPER = """
import asyncio, sqlite3
from echelon_seed import urls

def query(url, sql):
    url = str(url)
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            with conn:
                return conn.execute(sql).fetchall()
        finally:
            conn.close()
    import asyncpg
    async def run():
        conn = await asyncpg.connect(**urls.parse(url).connect_kwargs())
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    return asyncio.run(run())

def is_pg(url):
    return str(url).startswith("postgresql")
"""

PYTEST_INI = """
[tool.pytest.ini_options]
asyncio_default_fixture_loop_scope = "function"
addopts = ["-p", "no:cacheprovider", "-p", "no:anyio"]
"""


def fresh_anchor() -> str:
    """An anchor no other child session of this run used (so its template key is new)."""
    n = next(_anchors)
    return f"2030-01-{n % 28 + 1:02d}T{n // 28 % 24:02d}:{os.getpid() % 60:02d}:00Z"


@dataclass
class Backend:
    """How a child session reaches the engine under test."""

    engine: str
    server: pgserver.PgServer | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ECHELON_", "PYTEST_"))}
        if self.server is not None:
            env["ECHELON_TEST_DATABASE_URL"] = self.server.admin_url
        return env

    def databases(self, prefix: str) -> set[str]:
        if self.server is None:
            return set()

        async def names() -> set[str]:
            assert self.server is not None
            conn = await asyncpg.connect(**pgserver.connect_kwargs(self.server.admin_url))
            try:
                rows = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%")
            finally:
                await conn.close()
            return {r["datname"] for r in rows}

        return asyncio.run(names())

    def comment(self, name: str, comment: dict[str, object]) -> None:
        """Write a database comment as echelon-seed marks its templates."""
        assert self.server is not None
        server = self.server

        async def run() -> None:
            conn = await asyncpg.connect(**pgserver.connect_kwargs(server.admin_url))
            try:
                text = json.dumps(comment).replace("'", "''")
                await conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{text}'")
            finally:
                await conn.close()

        asyncio.run(run())

    def drop(self, name: str) -> None:
        """Drop a database this suite made or the plugin left (a template must stop being one first)."""
        if self.server is None:
            return
        server = self.server

        async def unmark() -> None:
            conn = await asyncpg.connect(**pgserver.connect_kwargs(server.admin_url))
            try:
                if await conn.fetchval("SELECT datistemplate FROM pg_database WHERE datname = $1", name):
                    await conn.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false')
            finally:
                await conn.close()

        asyncio.run(unmark())
        server.drop_database(name)


@pytest.fixture(scope="module", params=ENGINES, ids=ENGINES)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Module-scoped (it holds no state of its own), so `echelon_session` can be shared by its tests."""
    if request.param == "sqlite":
        return Backend("sqlite")
    return Backend("postgresql", request.getfixturevalue("pg_server"))


@dataclass
class Run:
    code: int
    output: str


#: The suite's own plugins that a team's session would not have: hypothesis alone doubled a child session's
#: start-up (about 0.6 s of imports in every child and xdist worker), and the claims here are about ours.
NOT_THEIRS = ("-p", "no:randomly", "-p", "no:hypothesispytest")


def run_pytest(
    directory: Path, backend: Backend, *args: str, env: dict[str, str] | None = None, fresh: bool = False
) -> Run:
    """pytest in a child process in `directory`; its exit code and everything it printed.

    The process is a fork of the worker's preloaded server (tests/forkrun.py): the claims are about
    the plugin's session, not the interpreter's start-up. `fresh` starts a real `python -m pytest`
    (test_the_example_projects_own_tests_pass_on_their_own_databases keeps that path covered).
    """
    proc = forkrun.run(
        "pytest", *NOT_THEIRS, *args, cwd=directory, env={**backend.env, **(env or {})}, timeout=600, fresh=fresh
    )
    return Run(proc.returncode, proc.stdout + proc.stderr)


def once_per_run(factory: pytest.TempPathFactory, name: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`compute()` once in the whole run, its result (JSON) shared by every xdist worker that asks for it.

    A module-scoped fixture runs once in each worker that runs one of its tests, and under
    `--dist worksteal` the tests that read one child session often land on two workers, which
    then paid for the session twice. The first worker to ask computes under a file lock in the
    run's temporary directory (shared by the workers); the others wait for it and read.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return compute()
    root = factory.getbasetemp().parent
    result = root / f"{name}.json"
    with (root / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when its worker dies
        if not result.exists():
            partial = root / f"{name}.partial"
            partial.write_text(json.dumps(compute()))
            partial.replace(result)
    shared: dict[str, Any] = json.loads(result.read_text())
    return shared


def secrets() -> list[str]:
    """The suite server's password as it could leak: raw and percent-encoded."""
    return [pgserver.PASSWORD, quote(pgserver.PASSWORD, safe=""), quote(pgserver.PASSWORD)]


# --- one session of the built-in project: isolation, the marker, the record, keep-failed, secrets ----

ECHELON_TESTS = """
import pytest
from datetime import datetime, timezone
from db import query, is_pg

def test_deletes_every_user(echelon_db_url):
    query(echelon_db_url, "TRUNCATE users CASCADE" if is_pg(echelon_db_url) else "DELETE FROM users")
    assert query(echelon_db_url, "SELECT count(*) FROM users") == [(0,)]

def test_sees_all_five_users(echelon_db_url):
    assert query(echelon_db_url, "SELECT count(*) FROM users") == [(5,)]

def test_record_has_the_session_anchor(echelon_db_url, echelon_template, pytestconfig):
    (anchor,) = query(echelon_db_url, "SELECT anchor FROM echelon_seed_runs")[0]
    if isinstance(anchor, str):
        anchor = datetime.fromisoformat(anchor).replace(tzinfo=timezone.utc)
    assert anchor == echelon_template.record.anchor
    assert echelon_template.record.anchor.isoformat() == pytestconfig.getoption("--echelon-anchor").replace("Z", "+00:00")
    assert echelon_template.record.scale == 1 and echelon_template.record.project == "echelon"

@pytest.mark.echelon_seed(scale=3, anchor="2021-06-01T12:00:00Z")
def test_marker_seeds_scale_three(echelon_db_url):
    assert query(echelon_db_url, "SELECT count(*) FROM wing_flaps") == [(3 * 75,)]
    assert query(echelon_db_url, "SELECT scale FROM echelon_seed_runs") == [(3,)]

def test_fails_on_purpose(echelon_db_url, echelon_template):
    query(echelon_db_url, "TRUNCATE users CASCADE" if is_pg(echelon_db_url) else "DELETE FROM users")
    print(repr(echelon_template))
    assert echelon_db_url == "not this one"
"""


@dataclass
class EchelonSession:
    """One child session and what it left behind, read before its kept databases were dropped."""

    backend: Backend
    anchor: str
    run: Run
    kept: list[str]
    #: The session's databases still on the server after it ended (PostgreSQL).
    left: set[str]
    #: The kept database's URL and its users, as the failing test left it.
    kept_url: str | None
    kept_users: int | None


@pytest.fixture(scope="module")
def echelon_session(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> EchelonSession:
    """One child session over the built-in project per engine, shared by the tests that read it.

    Once per run (`once_per_run`): each test only reads the session's output and what it left,
    and the kept database is read and dropped here, before any test of the
    module looks at the server (several check that no test database is left).
    """

    def compute() -> dict[str, Any]:
        found = _echelon_session(backend, tmp_path_factory)
        return {
            "anchor": found.anchor, "run": asdict(found.run), "kept": found.kept, "left": sorted(found.left),
            "kept_url": found.kept_url, "kept_users": found.kept_users,
        }  # fmt: skip

    shared = once_per_run(tmp_path_factory, f"plugin-echelon-session-{backend.engine}", compute)
    shared |= {"run": Run(**shared["run"]), "left": set(shared["left"])}
    return EchelonSession(backend=backend, **shared)


def _echelon_session(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> EchelonSession:
    work = tmp_path_factory.mktemp(f"echelon-session-{backend.engine}")
    (work / "pyproject.toml").write_text(PYTEST_INI)
    (work / "db.py").write_text(DB_HELPER)
    (work / "test_echelon.py").write_text(textwrap.dedent(ECHELON_TESTS))
    anchor = fresh_anchor()
    # A basetemp of its own: pytest keeps only the newest three under /tmp/pytest-of-<user>, and the
    # parallel child sessions of this suite would otherwise remove the kept database's directory.
    args = ["-rA", "-l", "--echelon-keep-failed", f"--echelon-anchor={anchor}", f"--basetemp={work / 'basetemp'}"]
    run = run_pytest(work, backend, *args)
    kept = kept_names(run.output)
    left: set[str] = set()
    kept_url: str | None = None
    kept_users: int | None = None
    try:
        if len(set(kept)) == 1:
            if backend.server is None:
                path = re.search(r"kept database: sqlite:///(\S+)", run.output)
                if path is not None and Path(path[1]).is_file():
                    kept_url = f"sqlite:///{path[1]}"
            else:
                left = backend.databases(kept[0].rsplit("_", 2)[0])
                if kept[0] in left:
                    kept_url = backend.server.url(kept[0])
            if kept_url is not None:
                kept_users = _count(kept_url, "users")
    finally:
        for name in kept:
            backend.drop(name)
    return EchelonSession(backend, anchor, run, kept, left, kept_url, kept_users)


def kept_names(output: str) -> list[str]:
    return re.findall(r"kept database: \S+/(echelon_test_\w+|test-[0-9a-f]+-\d+\.db)", output)


def test_each_test_gets_a_pristine_seeded_database(echelon_session: EchelonSession) -> None:
    out = echelon_session.run.output
    assert "PASSED test_echelon.py::test_deletes_every_user" in out
    assert "PASSED test_echelon.py::test_sees_all_five_users" in out, out
    assert "PASSED test_echelon.py::test_record_has_the_session_anchor" in out, out


def test_marker_chooses_another_seed(echelon_session: EchelonSession) -> None:
    assert "PASSED test_echelon.py::test_marker_seeds_scale_three" in echelon_session.run.output, (
        echelon_session.run.output
    )


def test_header_shows_anchor_and_backend(echelon_session: EchelonSession) -> None:
    out = echelon_session.run.output
    anchor = echelon_session.anchor.replace("Z", "+00:00")
    if echelon_session.backend.engine == "sqlite":
        assert f"echelon-seed: anchor {anchor}, test databases: SQLite files under pytest's temporary directory" in out
    else:
        assert f"echelon-seed: anchor {anchor}, test databases: PostgreSQL postgresql://postgres:***@127.0.0.1:" in out


def test_keep_failed_keeps_the_database_and_names_it(echelon_session: EchelonSession) -> None:
    backend, out = echelon_session.backend, echelon_session.run.output
    assert echelon_session.run.code == 1, out
    assert "FAILED test_echelon.py::test_fails_on_purpose" in out
    assert "echelon-seed: databases kept for failed tests" in out
    (name,) = set(echelon_session.kept)
    if backend.server is None:
        assert re.search(r"kept database: sqlite:///(\S+)", out)
        assert echelon_session.kept_url is not None, "the kept SQLite file was not there after the session"
    else:
        assert re.search(rf"kept database: postgresql://postgres:\*\*\*@127\.0\.0\.1:\d+/{name}", out)
        # Only the kept database was left of this session's; every other test's was dropped.
        assert echelon_session.left == {name}
    # It is the failing test's own database, as the test left it: no users.
    assert echelon_session.kept_users == 0


def _count(url: str, table: str) -> int:
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        finally:
            conn.close()

    async def count() -> int:
        conn = await asyncpg.connect(**pgserver.connect_kwargs(url))
        try:
            return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
        finally:
            await conn.close()

    return asyncio.run(count())


def test_password_never_shown(echelon_session: EchelonSession) -> None:
    out = echelon_session.run.output
    # The failing comparison and --showlocals both printed the URL: with its password hidden.
    assert "not this one" in out and "echelon_db_url = " in out
    if echelon_session.backend.server is not None:
        assert "postgres:***@" in out
        for secret in secrets():
            assert secret not in out


# --- one session without --echelon-keep-failed: the engine fixture's tests and a failing test ---------

FAILING_TEST = """
from db import query, is_pg

def test_fails_on_purpose(echelon_db_url):
    query(echelon_db_url, "TRUNCATE users CASCADE" if is_pg(echelon_db_url) else "DELETE FROM users")
    assert echelon_db_url == "not this one"
"""


@dataclass
class PlainSession:
    """A child session run without --echelon-keep-failed, and what it left."""

    backend: Backend
    run: Run
    basetemp: Path
    #: The test databases still on the server after it ended (PostgreSQL).
    left: set[str]


@pytest.fixture(scope="module")
def plain_session(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> PlainSession:
    """One child session per engine, shared by the tests that only read its outcome and what it left.

    It holds ENGINE_TESTS (the engine fixture) and FAILING_TEST (what happens to a failed
    test's database without --echelon-keep-failed). Once per run, as `echelon_session`.
    """

    def compute() -> dict[str, Any]:
        work = _project_dir(tmp_path_factory.mktemp(f"plain-session-{backend.engine}"), ENGINE_TESTS)
        config = work / "pyproject.toml"
        config.write_text(config.read_text() + 'asyncio_mode = "auto"\n')
        (work / "test_fails.py").write_text(textwrap.dedent(FAILING_TEST))
        basetemp = work / "basetemp"
        args = ["-rA", f"--echelon-anchor={fresh_anchor()}", f"--basetemp={basetemp}"]
        run = run_pytest(work, backend, *args, env={"PLUGIN_OUT": str(work / "out")})
        return {"run": asdict(run), "basetemp": str(basetemp), "left": sorted(backend.databases("echelon_test_"))}

    shared = once_per_run(tmp_path_factory, f"plugin-plain-session-{backend.engine}", compute)
    return PlainSession(backend, Run(**shared["run"]), Path(shared["basetemp"]), set(shared["left"]))


def test_databases_are_dropped_without_keep_failed(plain_session: PlainSession) -> None:
    run, basetemp = plain_session.run, plain_session.basetemp
    assert run.code == 1 and "FAILED test_fails.py::test_fails_on_purpose" in run.output, run.output
    assert "kept database" not in run.output
    assert plain_session.left == set()
    if plain_session.backend.server is None:
        assert (basetemp / "echelon-seed").is_dir()  # where the copies were: none is left, made ahead or used
        assert not list(basetemp.glob("**/echelon-seed/test-*.db"))


# --- a project of its own: a fixture change rebuilds the template; cleaning other keys ----------------

SHOP_TEST = """
import json, os
from db import query

def test_reads_the_first_customer(echelon_db_url, echelon_template):
    (name,) = query(echelon_db_url, "SELECT name FROM customers WHERE id = 1")[0]
    with open(os.environ["PLUGIN_OUT"], "w") as out:
        json.dump({"name": name, "key": echelon_template.key, "built": echelon_template.built}, out)
"""


def _shop(tmp_path: Path) -> Path:
    """The example project with one test of this module's in place of its own tests."""
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", shop, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    config = shop / "pyproject.toml"
    section = "[tool.pytest.ini_options]\n"
    assert section in config.read_text()
    config.write_text(config.read_text().replace(section, section + 'addopts = ["-p", "no:cacheprovider"]\n'))
    (shop / "db.py").write_text(DB_HELPER)
    (shop / "tests").mkdir()
    (shop / "tests" / "test_shop.py").write_text(textwrap.dedent(SHOP_TEST))
    return shop


EXAMPLE_TESTS = (
    "test_the_seed_is_there",
    "test_a_test_may_change_anything",
    "test_a_join_and_a_new_order_line",
    "test_the_next_test_gets_the_seed_again",
    "test_a_marker_chooses_another_seed",
)


def test_the_example_projects_own_tests_pass_on_their_own_databases(backend: Backend, tmp_path: Path) -> None:
    """The README's example test (examples/shop/tests), run as the shop's team runs it."""
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", shop, ignore=shutil.ignore_patterns("__pycache__"))
    # A fresh interpreter: the one plugin test whose child session is a real `python -m pytest`.
    run = run_pytest(shop, backend, "-v", "-p", "no:cacheprovider", f"--echelon-anchor={fresh_anchor()}", fresh=True)
    assert run.code == 0, run.output
    for name in EXAMPLE_TESTS:
        assert f"tests/test_with_plugin.py::{name} PASSED" in run.output, run.output
    assert f"{len(EXAMPLE_TESTS)} passed" in run.output
    assert backend.databases("echelon_test_") == set()
    for secret in secrets():
        assert secret not in run.output


def _session(shop: Path, backend: Backend, anchor: str, *args: str) -> tuple[Run, dict[str, object]]:
    out = shop / "out.json"
    out.unlink(missing_ok=True)
    run = run_pytest(shop, backend, "-q", f"--echelon-anchor={anchor}", *args, env={"PLUGIN_OUT": str(out)})
    assert run.code == 0, run.output
    result: dict[str, object] = json.loads(out.read_text())
    return run, result


def test_fixture_change_rebuilds_the_template(backend: Backend, tmp_path: Path) -> None:
    shop = _shop(tmp_path)
    anchor = fresh_anchor()
    _, first = _session(shop, backend, anchor)
    assert first["name"] == "Ada" and first["built"] is True
    if backend.server is not None:
        # A server keeps the template between sessions (SQLite templates live in the session's temporary
        # directory, so a second SQLite session would only build again: the key's sameness is shown here).
        _, again = _session(shop, backend, anchor)
        assert again["key"] == first["key"]
        assert again["built"] is False
    customers = shop / "seed" / "fixtures" / "customers.json"
    customers.write_text(customers.read_text().replace('"name": "Ada"', '"name": "Ada Lovelace"'))
    _, changed = _session(shop, backend, anchor)
    assert changed["name"] == "Ada Lovelace" and changed["built"] is True
    assert changed["key"] != first["key"]
    if backend.server is not None:
        old, new = f"echelon_tpl_{str(first['key'])[:12]}", f"echelon_tpl_{str(changed['key'])[:12]}"
        assert {old, new} <= backend.databases("echelon_tpl_")
        # Another project's finished template on the same server: never this project's to clean.
        backend.server.create_database(OTHER_TEMPLATE)
        backend.comment(OTHER_TEMPLATE, {"echelon-seed": "template", "record": {"project": "other"}})
        try:
            run, _ = _session(shop, backend, anchor, "--echelon-clean-templates")
            dropped = re.search(r"echelon-seed: dropped templates of other keys: (.*)", run.output)
            assert dropped is not None, run.output
            assert old in dropped[1].split(", ") and new not in dropped[1]
            templates = backend.databases("echelon_tpl_")
            assert new in templates and old not in templates and OTHER_TEMPLATE in templates
        finally:
            backend.drop(OTHER_TEMPLATE)


# The name a session's template takes, as the plugin works it out (its key), without a session that builds it.
TEMPLATE_NAME = """
import sys
from pathlib import Path
from echelon_seed import clock, project, templates
shop = project.load(project.find(cwd=Path(sys.argv[1])))
print(templates.TEMPLATE_PREFIX + templates.key(shop, templates.Seed(anchor=clock.parse_anchor(sys.argv[2])))[:12])
"""


def test_plugin_never_takes_over_a_database_it_did_not_create(pg_server: pgserver.PgServer, tmp_path: Path) -> None:
    backend = Backend("postgresql", pg_server)
    shop = _shop(tmp_path)
    anchor = fresh_anchor()
    named = subprocess.run(
        [sys.executable, "-c", TEMPLATE_NAME, str(shop), anchor],
        cwd=shop, env=backend.env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    name = named.stdout.strip()
    assert name.startswith("echelon_tpl_") and len(name) == len("echelon_tpl_") + 12, named
    # Someone else's database under the very name the session's template would take: were the name
    # not the plugin's, the session would build its own and pass, and this test would fail.
    pg_server.create_database(name)
    try:
        run = run_pytest(shop, backend, "-q", f"--echelon-anchor={anchor}", env={"PLUGIN_OUT": str(shop / "out.json")})
        assert run.code == 1, run.output
        assert f"echelon-seed: refusing to use database '{name}'" in run.output
        assert "Traceback" not in run.output
        # Not reused, not dropped, and no clone was made of it.
        assert name in backend.databases(name)
        assert backend.databases("echelon_test_") == set()
    finally:
        backend.drop(name)


# --- two xdist workers build one template ------------------------------------------------------------

XDIST_TESTS = """
import json, os
import pytest

@pytest.mark.parametrize("n", range(6))
def test_uses_the_template(echelon_db_url, echelon_template, n):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.path.join(os.environ["PLUGIN_OUT"], f"{n}.json"), "w") as out:
        json.dump({"worker": worker, "key": echelon_template.key, "built": echelon_template.built}, out)
"""


def test_two_xdist_workers_build_one_template(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYTEST_INI)
    (tmp_path / "test_xdist.py").write_text(textwrap.dedent(XDIST_TESTS))
    out = tmp_path / "out"
    out.mkdir()
    anchor = fresh_anchor()
    run = run_pytest(tmp_path, backend, "-q", "-n", "2", f"--echelon-anchor={anchor}", env={"PLUGIN_OUT": str(out)})
    assert run.code == 0, run.output
    results = [json.loads(path.read_text()) for path in sorted(out.glob("*.json"))]
    assert len(results) == 6
    workers = {r["worker"] for r in results}
    assert workers == {"gw0", "gw1"}, results
    assert len({r["key"] for r in results}) == 1
    # Each worker asks once per session; exactly one of them built it, the other waited and found it.
    built_by = {r["worker"] for r in results if r["built"]}
    assert len(built_by) == 1, results
    if backend.server is not None:
        assert backend.databases(f"echelon_tpl_{results[0]['key'][:12]}") == {f"echelon_tpl_{results[0]['key'][:12]}"}
        assert backend.databases("echelon_test_") == set()


# --- the plugin's own server, a default-settings server, failures, the engine, passwords ----------------

OWN_TESTS = """
import json, os
import pytest
from db import query, is_pg

@pytest.mark.parametrize("n", range(6))
def test_writes_to_its_own_seeded_database(echelon_db_url, n):
    assert is_pg(echelon_db_url)
    assert query(echelon_db_url, "SELECT count(*) FROM users") == [(5,)]
    query(echelon_db_url, "DELETE FROM wing_flaps")
    query(echelon_db_url, "UPDATE users SET bio = 'changed'")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.path.join(os.environ["PLUGIN_OUT"], f"{n}.json"), "w") as out:
        json.dump({"worker": worker, "url": str(echelon_db_url).rsplit("/", 1)[0]}, out)
"""

HEADER = re.compile(
    r"test databases: PostgreSQL [\d.]+ started by the plugin at "
    r"postgresql://postgres:\*\*\*@127\.0\.0\.1:(\d+)/postgres \(data in (\S+), removed at the end; fsync=off"
)


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _own_server_gone(port: int, root: Path, within: float = 300.0) -> bool:
    """Whether the server is stopped and its directory removed; `within` bounds the test, not the claim."""
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not root.exists() and not _port_open(port):
            return True
        time.sleep(0.2)
    return False


def _project_dir(tmp_path: Path, tests: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYTEST_INI)
    (tmp_path / "db.py").write_text(DB_HELPER)
    (tmp_path / "test_own.py").write_text(textwrap.dedent(tests))
    (tmp_path / "out").mkdir()
    return tmp_path


def test_own_server_serves_two_xdist_workers_once_and_is_gone_after(tmp_path: Path) -> None:
    """`-n 2` with $ECHELON_TEST_POSTGRES=auto and no server running: one server, seeded databases, nothing left.

    The variable, the ini key (the interrupted session) and the option (the killed one) each start it.
    """
    work = _project_dir(tmp_path, OWN_TESTS)
    backend = Backend("sqlite")  # no server URL in the child's environment
    run = run_pytest(
        work, backend, "-n", "2", f"--echelon-anchor={fresh_anchor()}",
        env={"PLUGIN_OUT": str(work / "out"), "ECHELON_TEST_POSTGRES": "auto"},
    )  # fmt: skip
    assert run.code == 0, run.output
    assert "6 passed" in run.output
    header = HEADER.search(run.output)
    assert header is not None, run.output
    assert len(HEADER.findall(run.output)) == 1
    results = [json.loads(p.read_text()) for p in (work / "out").glob("*.json")]
    assert {r["worker"] for r in results} == {"gw0", "gw1"}
    # Both workers were on the one server the controller started.
    (server,) = {r["url"] for r in results}
    assert server.startswith("postgresql://postgres:") and server.endswith(f"@127.0.0.1:{header[1]}")
    assert _own_server_gone(int(header[1]), Path(header[2]))


def test_the_command_line_turns_the_own_server_off_over_the_ini_key_and_the_variable(tmp_path: Path) -> None:
    """The ini key and $ECHELON_TEST_POSTGRES each start the server (the tests above); the option wins over both."""
    work = _project_dir(tmp_path, "def test_needs_no_database():\n    pass\n")
    config = work / "pyproject.toml"
    config.write_text(config.read_text() + 'echelon_postgres = "auto"\n')
    off = run_pytest(work, Backend("sqlite"), "--echelon-postgres", "off", env={"ECHELON_TEST_POSTGRES": "auto"})
    assert off.code == 0, off.output
    assert "test databases: SQLite files under pytest's temporary directory" in off.output, off.output
    assert "started by the plugin" not in off.output


SLOW_TEST = """
import os, time

def test_waits(echelon_db_url):
    open(os.environ["PLUGIN_OUT"] + "/ready", "w").close()
    time.sleep(120)
"""


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_own_server_is_removed_when_the_session_is_interrupted(tmp_path: Path, how: str) -> None:
    """Ctrl-C runs pytest's clean-up; a killed pytest leaves the server to its watchdog.

    The interrupted session asks for the server through the ini key, the killed one through the option.
    """
    import signal
    import time

    work = _project_dir(tmp_path, SLOW_TEST)
    env = {**Backend("sqlite").env, "PLUGIN_OUT": str(work / "out")}
    if how == "SIGINT":
        config = work / "pyproject.toml"
        config.write_text(config.read_text() + 'echelon_postgres = "auto"\n')
        ask = []
    else:
        ask = ["--echelon-postgres", "auto"]
    proc = forkrun.popen("pytest", *NOT_THEIRS, *ask, "-s", cwd=work, env=env, merge=True)
    try:
        deadline = time.monotonic() + 600  # bounds on the test, generous for a busy machine: the claim is an order
        while not (work / "out" / "ready").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.1)
        proc.send_signal(getattr(signal, how))
        output = proc.communicate(timeout=600)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    header = HEADER.search(output)
    assert header is not None, output
    assert _own_server_gone(int(header[1]), Path(header[2])), output


NO_BINARIES_CONFTEST = """
from echelon_seed import pg_server
pg_server._GLOBS = ()  # this machine has PostgreSQL installed: search PATH and pg_config only
"""


def test_without_binaries_the_error_is_one_line_naming_what_was_searched(tmp_path: Path) -> None:
    work = _project_dir(tmp_path, OWN_TESTS)
    (work / "conftest.py").write_text(NO_BINARIES_CONFTEST)
    empty = tmp_path / "bin"
    empty.mkdir()
    run = run_pytest(work, Backend("sqlite"), "--echelon-postgres", "auto", env={"PATH": str(empty)})
    assert run.code == 4, run.output
    lines = [line for line in run.output.splitlines() if "echelon-seed" in line]
    assert lines == [
        "ERROR: echelon-seed: no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; searched PATH, "
        "pg_config --bindir, /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin, /opt/homebrew/opt/postgresql*/bin, "
        "/usr/local/opt/postgresql*/bin, /opt/homebrew/bin, /home/linuxbrew/.linuxbrew/bin; install PostgreSQL's "
        "server package, or give a server with --echelon-db-url"
    ], run.output
    assert "Traceback" not in run.output


# A project whose schema SQLite cannot hold (JSONB), and a generator that fails on demand.
PG_PROJECT = {
    "pyproject.toml": """
        [tool.echelon-seed]
        name = "notes"
        metadata = "notes_models:metadata"
        fixtures = "fixtures"
        snapshots = "snapshots"
        generators = ["notes_generators"]

        [tool.pytest.ini_options]
        pythonpath = ["."]
        asyncio_mode = "auto"
        asyncio_default_fixture_loop_scope = "function"
        addopts = ["-p", "no:cacheprovider", "-p", "no:anyio"]
    """,
    "notes_models.py": """
        from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table
        from sqlalchemy.dialects.postgresql import JSONB

        metadata = MetaData()
        authors = Table("authors", metadata, Column("id", Integer, primary_key=True), Column("name", String(40), nullable=False))
        notes = Table(
            "notes", metadata,
            Column("id", Integer, primary_key=True),
            Column("author_id", Integer, ForeignKey("authors.id"), nullable=False),
            Column("body", JSONB, nullable=False),
        )
    """,
    "notes_generators.py": """
        import os
        from echelon_seed.generators import register

        @register("notes.extra", table="notes")
        def extra(spec, index, context, draw):
            if os.environ.get("NOTES_FAIL"):
                with open(os.environ["NOTES_FAIL"], "a") as calls:
                    calls.write("called\\n")
                raise RuntimeError("the notes generator broke on purpose")
            return {"id": 100 + index, "author_id": 1 + index % 2, "body": {"n": index, "tags": ["a"]}}
    """,
    "snapshots/README": "golden files would go here",
    "fixtures/authors.json": '{"rows": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Brian"}]}',
    "fixtures/notes.json": '{"generate": {"generator": "notes.extra", "seed": "n", "count": 3}}',
}

PG_PROJECT_TESTS = """
from sqlalchemy import text

async def test_the_application_inserts_and_joins(echelon_engine):
    async with echelon_engine.begin() as conn:
        await conn.execute(text("INSERT INTO authors (id, name) VALUES (3, 'Grace')"))
        rows = await conn.execute(text(
            "SELECT a.name, count(n.id) FROM authors a LEFT JOIN notes n ON n.author_id = a.id GROUP BY a.name ORDER BY a.name"
        ))
        assert rows.all() == [("Ada", 2), ("Brian", 1), ("Grace", 0)]

def test_two(echelon_db_url):
    pass

def test_three(echelon_template):
    pass
"""


def _write_project(root: Path, files: dict[str, str], tests: str) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).strip() + "\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_notes.py").write_text(textwrap.dedent(tests))
    return root


def test_a_schema_that_needs_postgresql_gets_the_plugins_own_server(tmp_path: Path) -> None:
    project = _write_project(tmp_path / "notes", PG_PROJECT, PG_PROJECT_TESTS)
    run = run_pytest(project, Backend("sqlite"), "-v", f"--echelon-anchor={fresh_anchor()}")
    assert run.code == 0, run.output
    assert "3 passed" in run.output
    header = HEADER.search(run.output)
    assert header is not None, run.output
    assert _own_server_gone(int(header[1]), Path(header[2]))
    # Told not to start one, it does not (this SQLite stores JSONB too).
    off = run_pytest(project, Backend("sqlite"), "--echelon-postgres", "off", f"--echelon-anchor={fresh_anchor()}")
    assert "test databases: SQLite files under pytest's temporary directory" in off.output, off.output
    assert "started by the plugin" not in off.output


def test_a_failed_template_fails_once_with_the_reason_and_the_command(backend: Backend, tmp_path: Path) -> None:
    # JSON rather than JSONB: a project both engines hold, so the SQLite run stays on SQLite.
    files = {**PG_PROJECT, "notes_models.py": PG_PROJECT["notes_models.py"].replace("JSONB", "JSON")}
    files["notes_models.py"] = files["notes_models.py"].replace("sqlalchemy.dialects.postgresql", "sqlalchemy")
    project = _write_project(tmp_path / "notes", files, PG_PROJECT_TESTS)
    calls = tmp_path / "calls.txt"
    anchor = fresh_anchor()
    run = run_pytest(project, backend, "-rE", f"--echelon-anchor={anchor}", env={"NOTES_FAIL": str(calls)})
    assert run.code == 1, run.output
    assert "3 errors" in run.output, run.output
    # One build, one reason, for the three tests that needed it.
    assert calls.read_text() == "called\n"
    reasons = re.findall(r"^(echelon-seed: the template could not be built: .*)$", run.output, flags=re.MULTILINE)
    assert len(reasons) == 3 and len(set(reasons)) == 1, run.output
    assert "the notes generator broke on purpose" in reasons[0]
    command = re.findall(r"^reproduce it with: (echelon-seed apply .*)$", run.output, flags=re.MULTILINE)
    # Three errors; under CI=true pytest also prints the short summary untruncated, which repeats them.
    assert len(command) in (3, 6) and len(set(command)) == 1, run.output
    assert f"--anchor {anchor} --scale 1" in command[0] and f"--project {project / 'pyproject.toml'}" in command[0]
    for secret in secrets():
        assert secret not in run.output
    if backend.server is None:
        # Pasted as printed, it fails the same way (on a SQLite file in the working directory).
        args = shlex.split(command[0])[1:]
        pasted = forkrun.run(
            "echelon_seed", *args, cwd=tmp_path, env={**backend.env, "NOTES_FAIL": str(calls)}, timeout=120
        )
        assert pasted.returncode == 2, pasted.stdout + pasted.stderr
        assert "the notes generator broke on purpose" in pasted.stderr
    else:
        assert "--database-url 'postgresql://postgres:***@127.0.0.1:" in command[0]
        assert backend.databases("echelon_test_") == set()
        assert not {n for n in backend.databases("echelon_tpl_") if n.endswith("_build")}


LEAKY_TESTS = """
import logging, os, sys
from echelon_seed import urls

def _keep(url):
    with open(os.path.join(os.environ["PLUGIN_OUT"], "password"), "w") as out:
        out.write(urls.parse(str(url)).password or "")

def test_compares_the_url_as_text(echelon_db_url):
    _keep(echelon_db_url)
    assert str(echelon_db_url) == "x"

def test_compares_the_password_alone(echelon_db_url):
    password = urls.parse(str(echelon_db_url)).password
    assert password == "not it"

def test_prints_and_logs_it(echelon_db_url):
    url = str(echelon_db_url)
    print("stdout:", url, urls.parse(url).password)
    print("stderr:", url, file=sys.stderr)
    logging.getLogger("app").warning("connecting to %s", url)
    raise RuntimeError(f"cannot use {url}")

def test_passes_with_a_print(echelon_db_url):
    print("the password is", urls.parse(str(echelon_db_url)).password)
"""


@pytest.mark.parametrize("server", ["given", "own"])
def test_no_password_reaches_anything_pytest_reports(pg_server: pgserver.PgServer, tmp_path: Path, server: str) -> None:
    """Failures, locals, captured output and logs, the short summary and JUnit XML, with -rA: no password."""
    work = _project_dir(tmp_path, LEAKY_TESTS)
    backend = Backend("postgresql", pg_server) if server == "given" else Backend("sqlite")
    args = ["-rA", "-l", "--junitxml", str(tmp_path / "junit.xml"), f"--echelon-anchor={fresh_anchor()}"]
    if server == "own":
        args += ["--echelon-postgres", "auto"]
    run = run_pytest(work, backend, *args, env={"PLUGIN_OUT": str(work / "out")})
    assert run.code == 1, run.output
    assert "3 failed, 1 passed" in run.output, run.output
    password = (work / "out" / "password").read_text()
    assert len(password) >= 8
    junit = (tmp_path / "junit.xml").read_text()
    for text in (run.output, junit):
        for secret in {password, quote(password, safe=""), quote(password)}:
            assert secret not in text
    # What was printed, logged and compared is still there, the password starred.
    assert "stdout: postgresql://postgres:***@127.0.0.1:" in run.output
    assert "stderr: postgresql://postgres:***@127.0.0.1:" in run.output
    assert "connecting to postgresql://postgres:***@127.0.0.1:" in run.output
    assert "RuntimeError: cannot use postgresql://postgres:***@" in run.output
    assert "the password is ***" in run.output
    assert "+ postgresql://postgres:***@127.0.0.1:" in run.output  # the assertion's diff
    assert "'***' == 'not it'" in run.output or "- not it" in run.output


ENGINE_TESTS = """
import os
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from db import query, is_pg

async def test_a_the_engine_reads_joins_and_keeps_keys(echelon_engine, echelon_db_url):
    async with echelon_engine.connect() as conn:
        owners = await conn.execute(text(
            "SELECT count(*) FROM agents a JOIN users u ON u.id = a.owner_id"
        ))
        assert owners.scalar_one() == (await conn.execute(text("SELECT count(*) FROM agents"))).scalar_one() > 0
    with pytest.raises(IntegrityError):  # foreign keys hold on both engines
        async with echelon_engine.begin() as conn:
            await conn.execute(text("UPDATE agents SET owner_id = 'NOBODY'"))
    with open(os.path.join(os.environ["PLUGIN_OUT"], "previous"), "w") as out:
        out.write(str(echelon_db_url))

def test_b_the_engine_let_go_of_its_database(echelon_db_url):
    previous = open(os.path.join(os.environ["PLUGIN_OUT"], "previous")).read()
    if is_pg(previous):
        name = previous.rsplit("/", 1)[1]
        assert query(echelon_db_url, f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'") == [(0,)]
    else:
        # Its file is removed off the test's path, maybe not yet; what must be gone is every handle to it.
        path = os.path.realpath(previous.removeprefix("sqlite:///"))
        fds = os.listdir("/proc/self/fd")
        assert not [fd for fd in fds if os.path.realpath(os.path.join("/proc/self/fd", fd)).startswith(path)]
"""


def test_echelon_engine_is_an_async_engine_on_the_tests_database_disposed_after(plain_session: PlainSession) -> None:
    out = plain_session.run.output
    assert "PASSED test_own.py::test_a_the_engine_reads_joins_and_keeps_keys" in out, out
    assert "PASSED test_own.py::test_b_the_engine_let_go_of_its_database" in out, out
    assert re.search(r"\b1 failed, 2 passed\b", out), out  # the failing test is FAILING_TEST's, nothing else
    assert plain_session.left == set()


# --- a server with initdb's default settings (fsync on): what a team runs ---------------------------------


@pytest.fixture(scope="module")
def durable_server() -> Iterator[pgserver.PgServer]:
    import tempfile

    server = pgserver.start(durable=True, parent=tempfile.gettempdir())
    try:
        yield server
    finally:
        server.stop()


def test_default_settings_server_measures_its_strategy_and_leaves_nothing(
    durable_server: pgserver.PgServer, tmp_path: Path
) -> None:
    backend = Backend("postgresql", durable_server)
    work = _project_dir(tmp_path, OWN_TESTS)
    run = run_pytest(work, backend, f"--echelon-anchor={fresh_anchor()}", env={"PLUGIN_OUT": str(work / "out")})
    assert run.code == 0, run.output
    assert "6 passed" in run.output
    plan = re.search(
        r"echelon-seed: fsync on; clone strategy (WAL_LOG|FILE_COPY) \(median create measured: "
        r"FILE_COPY (\d+) ms, WAL_LOG (\d+) ms\)",
        run.output,
    )
    assert plan is not None, run.output
    chosen = {"FILE_COPY": int(plan[2]), "WAL_LOG": int(plan[3])}
    assert chosen[plan[1]] == min(chosen.values())
    assert backend.databases("echelon_test_") == set()
    # Under two workers too.
    again = run_pytest(work, backend, "-n", "2", f"--echelon-anchor={fresh_anchor()}",
                       env={"PLUGIN_OUT": str(work / "out")})  # fmt: skip
    assert again.code == 0 and "6 passed" in again.output, again.output
    assert backend.databases("echelon_test_") == set()


REUSE_TEST = """
import json, os

def test_records_whether_it_built(echelon_db_url, echelon_template):
    with open(os.path.join(os.environ["PLUGIN_OUT"], "built.json"), "w") as out:
        json.dump(echelon_template.built, out)
"""

REUSED_HEADER = re.compile(
    r"started by the plugin at postgresql://postgres:\*\*\*@127\.0\.0\.1:(\d+)/postgres \(data in (\S+), reused;"
)


def test_reuse_keeps_the_servers_directory_and_its_templates_between_sessions(tmp_path: Path) -> None:
    import tempfile

    work = _project_dir(tmp_path, REUSE_TEST)
    anchor = fresh_anchor()
    # Outside pytest's temporary directory, which is private to root: the server's user must reach it.
    cache = Path(tempfile.mkdtemp(prefix="echelon-reuse-"))
    cache.chmod(0o755)
    env = {"PLUGIN_OUT": str(work / "out"), "ECHELON_SEED_CACHE_DIR": str(cache)}
    built = []
    try:
        for _ in range(2):
            run = run_pytest(
                work, Backend("sqlite"), "--echelon-postgres", "auto", "--echelon-reuse", f"--echelon-anchor={anchor}",
                env=env,
            )  # fmt: skip
            assert run.code == 0, run.output
            header = REUSED_HEADER.search(run.output)
            assert header is not None, run.output
            built.append(json.loads((work / "out" / "built.json").read_text()))
            # The server is stopped after each session; its directory stays, under the cache directory.
            assert not _port_open(int(header[1]))
            assert Path(header[2]).parent == cache and (Path(header[2]) / "data" / "PG_VERSION").is_file()
        assert built == [True, False]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
