"""The pytest plugin, run as users run it: pytest in a child process on a test directory of its own.

Each engine gets a few child sessions (SQLite files; the suite's PostgreSQL
server given as the plugin's server URL), and the claims are read from their
outcomes, their output and what they leave on the server or disk. Every
child session has an anchor of its own, so its templates are new to the
server unless the test means to find one built before.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from tests import pgserver

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


@pytest.fixture(params=ENGINES, ids=ENGINES)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite")
    return Backend("postgresql", request.getfixturevalue("pg_server"))


@dataclass
class Run:
    code: int
    output: str


def run_pytest(directory: Path, backend: Backend, *args: str, env: dict[str, str] | None = None) -> Run:
    """pytest in a child process in `directory`; its exit code and everything it printed."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", *args],
        cwd=directory,
        env={**backend.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return Run(proc.returncode, proc.stdout + proc.stderr)


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
    backend: Backend
    anchor: str
    run: Run


@pytest.fixture
def echelon_session(backend: Backend, tmp_path: Path) -> Iterator[EchelonSession]:
    """One child session over the built-in project, kept databases dropped afterwards."""
    (tmp_path / "pyproject.toml").write_text(PYTEST_INI)
    (tmp_path / "db.py").write_text(DB_HELPER)
    (tmp_path / "test_echelon.py").write_text(textwrap.dedent(ECHELON_TESTS))
    anchor = fresh_anchor()
    args = ["-rA", "-l", "--echelon-keep-failed", f"--echelon-anchor={anchor}"]
    run = run_pytest(tmp_path, backend, *args)
    session = EchelonSession(backend, anchor, run)
    yield session
    for name in kept_names(run.output):
        backend.drop(name)


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
    (name,) = set(kept_names(out))
    if backend.server is None:
        path = re.search(r"kept database: sqlite:///(\S+)", out)
        assert path is not None
        assert Path(path[1]).is_file()
        kept_url = f"sqlite:///{path[1]}"
    else:
        assert re.search(rf"kept database: postgresql://postgres:\*\*\*@127\.0\.0\.1:\d+/{name}", out)
        # Only the kept database is left of this session's; every other test's was dropped.
        assert backend.databases(name.rsplit("_", 2)[0]) == {name}
        kept_url = backend.server.url(name)
    # It is the failing test's own database, as the test left it: no users.
    assert _count(kept_url, "users") == 0


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


def test_databases_are_dropped_without_keep_failed(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYTEST_INI)
    (tmp_path / "db.py").write_text(DB_HELPER)
    (tmp_path / "test_echelon.py").write_text(textwrap.dedent(ECHELON_TESTS))
    run = run_pytest(tmp_path, backend, "-rA", f"--echelon-anchor={fresh_anchor()}")
    assert run.code == 1 and "FAILED test_echelon.py::test_fails_on_purpose" in run.output, run.output
    assert "kept database" not in run.output
    assert backend.databases("echelon_test_") == set()
    if backend.server is None:
        assert not list(tmp_path.parent.glob("**/echelon-seed/test-*.db"))


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
    "test_the_next_test_gets_the_seed_again",
    "test_a_marker_chooses_another_seed",
)


def test_the_example_projects_own_tests_pass_on_their_own_databases(backend: Backend, tmp_path: Path) -> None:
    """The README's example test (examples/shop/tests), run as the shop's team runs it."""
    shop = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", shop, ignore=shutil.ignore_patterns("__pycache__"))
    run = run_pytest(shop, backend, "-v", "-p", "no:cacheprovider", f"--echelon-anchor={fresh_anchor()}")
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
    _, again = _session(shop, backend, anchor)
    assert again["key"] == first["key"]
    # A server keeps the template between sessions; SQLite templates live in the session's temporary directory.
    assert again["built"] is (backend.server is None)
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


def test_plugin_never_takes_over_a_database_it_did_not_create(pg_server: pgserver.PgServer, tmp_path: Path) -> None:
    backend = Backend("postgresql", pg_server)
    shop = _shop(tmp_path)
    anchor = fresh_anchor()
    _, first = _session(shop, backend, anchor)
    name = f"echelon_tpl_{str(first['key'])[:12]}"
    # Someone else's database under the very name the template takes (the template dropped first).
    backend.drop(name)
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
