"""The pytest plugin: a freshly seeded database of the configured project for every test that asks.

Registered through the `pytest11` entry point, so installing echelon-seed is
enough. It adds nothing to a test that does not ask for its fixtures: no
autouse fixture, and no import of SQLAlchemy or a driver until one is used.

- `echelon_db_url` (function): the URL of a database of its own, cloned from
  the template; dropped after the test (kept with `--echelon-keep-failed`
  when the test failed, its URL printed in the report, password hidden).
- `echelon_template` (session): the template, with its URL and seed record.
- `@pytest.mark.echelon_seed(scale=…, fixtures=…, anchor=…)`: another seed
  for a test, class or module.
- `echelon_engine` (function): an async SQLAlchemy engine on the test's
  database (aiosqlite or asyncpg), disposed after the test.
- `--echelon-db-url URL` / $ECHELON_TEST_DATABASE_URL: a PostgreSQL server
  where the plugin may create databases; without it, SQLite files under
  pytest's temporary directory, or a PostgreSQL server the plugin starts
  itself (`echelon_seed.pg_server`) with `--echelon-postgres auto`
  ($ECHELON_TEST_POSTGRES, ini `echelon_postgres`) or when the project's
  schema needs PostgreSQL; `--echelon-reuse` keeps its data directory.
- `--echelon-anchor`: the session's anchor (default: midnight UTC of the day
  the session started, so templates are reused all day); printed in the header.
- `--echelon-clean-templates`: drop this project's templates of other keys first.

The library part (keys, building, cloning) is `echelon_seed.templates`.
Everything pytest reports (failures, captured output, the header) has the
server's password removed, whatever the test printed or compared.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sys
import threading
from collections.abc import Coroutine, Generator, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncEngine

    from .bookkeeping import SeedRecord
    from .pg_server import Server
    from .project import Project
    from .templates import Clone, DatabaseURL, Seed, Template, Templates

__all__ = ["ENV_POSTGRES", "ENV_URL"]

#: The environment variable naming the PostgreSQL server for test databases.
ENV_URL = "ECHELON_TEST_DATABASE_URL"
#: The environment variable choosing whether the plugin starts a PostgreSQL server of its own.
ENV_POSTGRES = "ECHELON_TEST_POSTGRES"
_POSTGRES_MODES = ("needed", "auto", "off")
_MARKER = "echelon_seed"
_ANCHOR_KEY = "echelon_seed_anchor"
_SERVER_KEY = "echelon_seed_server"
_SECTION = "echelon-seed"
_T = TypeVar("_T")

_anchor_key = pytest.StashKey[datetime]()
_server_key = pytest.StashKey["str | None"]()
_origin_key = pytest.StashKey[str]()
_own_key: pytest.StashKey[Server] = pytest.StashKey()
_mode_key = pytest.StashKey[str]()
_scrub_key = pytest.StashKey["_Scrubber"]()
_session_key = pytest.StashKey["_Session"]()
_clone_key = pytest.StashKey["Clone"]()
_failed_key = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(_SECTION, "echelon-seed: a seeded database per test")
    group.addoption(
        "--echelon-db-url",
        metavar="URL",
        default=None,
        help=f"PostgreSQL server URL where test databases may be created (also ${ENV_URL}); "
        "default: SQLite files under pytest's temporary directory",
    )
    group.addoption(
        "--echelon-keep-failed",
        action="store_true",
        default=False,
        help="keep the database of a failing test and print its URL (password hidden) in the report",
    )
    group.addoption(
        "--echelon-anchor",
        metavar="ISO",
        default=None,
        help="the seeding anchor for the session, e.g. 2026-01-01T00:00:00Z (default: today 00:00 UTC)",
    )
    group.addoption(
        "--echelon-clean-templates",
        action="store_true",
        default=False,
        help="drop this project's echelon-seed templates of other keys on the server before the session",
    )
    group.addoption(
        "--echelon-postgres",
        choices=_POSTGRES_MODES,
        default=None,
        help=f"without --echelon-db-url: auto starts a PostgreSQL server of the plugin's own for the session, "
        f"needed (the default) only when the project's schema needs PostgreSQL, off never "
        f"(also ${ENV_POSTGRES}, ini echelon_postgres)",
    )
    group.addoption(
        "--echelon-reuse",
        action="store_true",
        default=False,
        help="keep the plugin's own server's data directory (and so its templates) between sessions, "
        "under $ECHELON_SEED_CACHE_DIR or the user's cache directory, one per server version",
    )
    parser.addini(
        "echelon_postgres",
        "auto, needed or off: whether the plugin starts a PostgreSQL server of its own (see --echelon-postgres)",
        default="needed",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(scale=1, fixtures=None, anchor=None): seed this test's echelon_db_url differently "
        "(fixtures: a directory, relative to the rootdir; anchor: ISO-8601 with a zone)",
    )
    from . import clock
    from .errors import ConfigError

    worker: dict[str, Any] = getattr(config, "workerinput", {})
    text = worker.get(_ANCHOR_KEY) or config.getoption("--echelon-anchor")
    try:
        anchor = clock.parse_anchor(text) if text else _today(clock.now())
    except ValueError as exc:
        raise pytest.UsageError(f"--echelon-anchor: {exc}") from None
    config.stash[_anchor_key] = anchor
    server = config.getoption("--echelon-db-url") or os.environ.get(ENV_URL) or None
    if server is not None:
        from . import urls

        origin = "--echelon-db-url" if config.getoption("--echelon-db-url") else ENV_URL
        try:
            engine = urls.parse(server).engine
        except ConfigError as exc:
            raise pytest.UsageError(f"{origin}: {exc}") from None
        if engine != "postgresql":
            raise pytest.UsageError(
                f"{origin}: expected a PostgreSQL server URL (postgresql://user:PASSWORD@host/postgres); "
                "without one, test databases are SQLite files under pytest's temporary directory"
            )
    config.stash[_server_key] = worker.get(_SERVER_KEY) or server
    config.stash[_origin_key] = "given" if server else ("own" if worker.get(_SERVER_KEY) else "")
    mode = config.getoption("--echelon-postgres") or os.environ.get(ENV_POSTGRES) or config.getini("echelon_postgres")
    if mode not in _POSTGRES_MODES:
        where = f"${ENV_POSTGRES}" if os.environ.get(ENV_POSTGRES) else "ini echelon_postgres"
        raise pytest.UsageError(f"{where}: expected one of {', '.join(_POSTGRES_MODES)}, got {mode!r}")
    config.stash[_mode_key] = mode
    config.stash[_scrub_key] = _Scrubber(config.stash[_server_key])
    config.pluginmanager.register(_KeptReport(), "echelon-seed-kept")


def _today(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker seeds with the controller's anchor (even across midnight), on its server."""
    node.workerinput[_ANCHOR_KEY] = node.config.stash[_anchor_key].isoformat()
    own = node.config.stash.get(_own_key, None)
    if own is not None:
        node.workerinput[_SERVER_KEY] = own.url


def pytest_report_header(config: pytest.Config) -> list[str]:
    from . import urls

    server = config.stash.get(_server_key, None)
    own = config.stash.get(_own_key, None)
    if own is not None:
        kept = "reused" if own.reused else "removed at the end"
        where = (
            f"PostgreSQL {own.version} started by the plugin at {urls.parse(own.url).display} "
            f"(data in {own.root}, {kept}; {own.settings})"
        )
    elif server:
        where = f"PostgreSQL {urls.parse(server).display}"
    else:
        where = "SQLite files under pytest's temporary directory"
    line = f"echelon-seed: anchor {config.stash[_anchor_key].isoformat()}, test databases: {where}"
    return [config.stash[_scrub_key](line)]


def _needs_postgresql(config: pytest.Config) -> str | None:
    """Why the project needs PostgreSQL (it says so, a column of PostgreSQL's types or one SQLite cannot hold), or None.

    Only a configured project is looked at (the built-in one runs on both engines); a
    project that does not load is left for the fixtures to report.
    """
    from . import project as projects
    from .errors import EchelonSeedError

    try:
        found = projects.find(cwd=config.rootpath)
        if found is None:
            return None
        project = projects.load(found)
    except (EchelonSeedError, ImportError):
        return None
    if project.needs_postgresql:
        return f'project {project.name!r} is written for PostgreSQL (engine = "postgresql")'
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.exc import CompileError, UnsupportedCompilationError

    dialect = sqlite.dialect()
    for table in project.tables:
        for column in table.columns:
            kinds = [column.type, getattr(column.type, "impl", None)]
            if any(type(k).__module__.startswith("sqlalchemy.dialects.postgresql") for k in kinds if k is not None):
                return f"{table.name}.{column.name} is PostgreSQL's {column.type!r}"
            try:
                column.type.compile(dialect=dialect)
            except (CompileError, UnsupportedCompilationError):
                return f"{table.name}.{column.name} is {column.type!r}, which SQLite cannot hold"
    return None


def _start_own_server(config: pytest.Config) -> None:
    """Start the session's own PostgreSQL server when asked or needed (controller only)."""
    mode = config.stash[_mode_key]
    if config.stash[_server_key] is not None or mode == "off":
        return
    if mode == "needed" and _needs_postgresql(config) is None:
        return
    from . import pg_server
    from .errors import EchelonSeedError

    factory: pytest.TempPathFactory | None = getattr(config, "_tmp_path_factory", None)
    base = factory.getbasetemp() if factory is not None else config.rootpath / ".echelon-seed"
    reuse = pg_server.default_cache_dir() if config.getoption("--echelon-reuse") else None
    try:
        own = pg_server.start(base, reuse=reuse)
    except EchelonSeedError as exc:
        raise pytest.UsageError(f"echelon-seed: {exc}") from None
    config.add_cleanup(own.stop)  # at the end of the session, also after Ctrl-C
    config.stash[_own_key] = own
    config.stash[_server_key] = own.url
    config.stash[_origin_key] = "own"
    config.stash[_scrub_key] = _Scrubber(own.url)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """The own server and --echelon-clean-templates, once, before any worker starts (and before the header)."""
    config = session.config
    if hasattr(config, "workerinput"):
        return
    _start_own_server(config)
    if not config.getoption("--echelon-clean-templates"):
        return
    server = config.stash[_server_key]
    if server is None:
        return  # SQLite templates live in this session's temporary directory: nothing to clean
    from .engines.pg_templates import PostgresTemplates
    from .templates import Seed, key

    project = _project(config)
    keep = key(project, Seed(anchor=config.stash[_anchor_key]))
    templates = PostgresTemplates(server, seeder=_seed_database, prefetch=False)

    async def clean() -> list[str]:
        try:
            return await templates.clean(project.name, [keep])
        finally:
            await templates.close()

    dropped = _run_apart(clean())
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"echelon-seed: dropped templates of other keys: {', '.join(dropped) or 'none'}")


def _run_apart(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine on a loop of its own, whatever the calling thread has running."""
    result: list[_T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="echelon-seed")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def _project(config: pytest.Config) -> Project:
    from . import project as projects
    from .errors import EchelonSeedError

    try:
        return projects.load(projects.find(cwd=config.rootpath))
    except EchelonSeedError as exc:
        raise pytest.UsageError(f"echelon-seed: {exc}") from None


class _Scrubber:
    """Hides passwords in text: every URL-shaped token by structure, and the server's own password anywhere.

    The password alone is replaced only where it stands apart from letters
    and digits, so a password that is a common word does not garble the words
    it is part of (`postgres` in `postgresql://`).
    """

    def __init__(self, server: str | None) -> None:
        from urllib.parse import quote

        from . import urls

        secrets: set[str] = set()
        if server:
            password = urls.parse(server).password
            if password and len(password) >= 4:
                secrets |= {password, quote(password, safe=""), quote(password)}
        alternatives = "|".join(re.escape(p) for p in sorted(secrets, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])") if secrets else None

    def __call__(self, text: str) -> str:
        from . import urls

        text = urls.scrub(text)
        return self._pattern.sub("***", text) if self._pattern is not None else text

    def report(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        """Scrub a report in place: its sections (captured output, logs) and its failure text."""
        report.sections = [(title, self(content)) for title, content in report.sections]
        longrepr = report.longrepr
        if longrepr is None:
            return
        if isinstance(longrepr, str):
            report.longrepr = self(longrepr)
            return
        if isinstance(longrepr, tuple):
            path, lineno, message = longrepr
            report.longrepr = (path, lineno, self(message))
            return
        self._walk(longrepr, set())
        # Whatever the walk could not reach: the rendered text, scrubbed, in place of the structure.
        text = str(longrepr)
        if self(text) != text:
            report.longrepr = self(text)

    def _walk(self, value: Any, seen: set[int]) -> Any:
        """Scrub every string held by pytest's report objects (entries, locals, crash message)."""
        if isinstance(value, str):
            return self(value)
        if id(value) in seen or isinstance(value, (int, float, bool, bytes)) or value is None:
            return value
        seen.add(id(value))
        if isinstance(value, list):
            value[:] = [self._walk(v, seen) for v in value]
            return value
        if isinstance(value, tuple):
            return tuple(self._walk(v, seen) for v in value)
        if isinstance(value, dict):
            for k in list(value):
                value[k] = self._walk(value[k], seen)
            return value
        attributes = getattr(value, "__dict__", None)
        if isinstance(attributes, dict) and type(value).__module__.startswith("_pytest"):
            for name, held in list(attributes.items()):
                scrubbed = self._walk(held, seen)
                if scrubbed is not held:
                    object.__setattr__(value, name, scrubbed)
        return value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Remember a failed test for its database's teardown; name the kept database; hide passwords."""
    report = yield
    if report.failed and report.when == "call" and _clone_key in item.stash:
        item.stash[_failed_key] = True
        if item.config.getoption("--echelon-keep-failed"):
            report.sections.append((_SECTION, f"kept database: {item.stash[_clone_key].url.display}"))
    scrub = item.config.stash.get(_scrub_key, None)
    if scrub is not None:
        scrub.report(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    """A module that fails to import with a URL in its error: shown with the password hidden."""
    report = yield
    scrub = collector.config.stash.get(_scrub_key, None)
    if scrub is not None:
        scrub.report(report)
    return report


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: object, right: object) -> list[str] | None:
    """A failed comparison with a test database's URL: both sides shown with passwords hidden.

    pytest's own explanation diffs the raw text of strings, password included.
    """
    templates = sys.modules.get("echelon_seed.templates")  # not loaded: no URL of ours can exist (and stay light)
    if templates is None or not any(isinstance(side, templates.DatabaseURL) for side in (left, right)):
        return None
    from . import urls

    def shown(value: object) -> str:
        return repr(urls.scrub(value)) if isinstance(value, str) else urls.scrub(repr(value))

    return [f"{shown(left)} {op} {shown(right)}", "(echelon-seed: database URLs shown with their passwords hidden)"]


class _KeptReport:
    """The databases kept for failed tests, from this process or an xdist worker, listed at the end."""

    def __init__(self) -> None:
        self.kept: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for title, content in report.sections:
            if title == _SECTION and content.startswith("kept database: "):
                self.kept.append(f"{report.nodeid}: {content.removeprefix('kept database: ')}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        config = terminalreporter.config
        if self.kept and not hasattr(config, "workerinput"):
            terminalreporter.section("echelon-seed: databases kept for failed tests")
            for line in self.kept:
                terminalreporter.write_line(line)
        session = config.stash.get(_session_key, None)
        plan = getattr(session.templates, "plan", None) if session is not None else None
        if plan is not None:
            terminalreporter.write_line(f"echelon-seed: {plan.describe()}")


class _Loop:
    """A private event loop in a thread: the templates' connection lives there, whatever the tests run."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="echelon-seed", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class _Session:
    """The session's templates (one per seed asked for) and the store they live in."""

    def __init__(self, config: pytest.Config, templates: Templates) -> None:
        self.config = config
        self.anchor = config.stash[_anchor_key]
        self.templates = templates
        self._project: Project | None = None
        self._built: dict[Seed, Template] = {}
        self._failed: dict[Seed, str] = {}
        self._loop = _Loop()

    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = _project(self.config)
        return self._project

    def seed(self, marker: pytest.Mark | None) -> Seed:
        from . import clock
        from .templates import Seed

        if marker is None:
            return Seed(anchor=self.anchor)
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{_MARKER} takes keywords only: scale=, fixtures=, anchor=")
        unknown = sorted(set(marker.kwargs) - {"scale", "fixtures", "anchor"})
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.{_MARKER}: unknown keyword {unknown[0]!r}; known: scale, fixtures, anchor"
            )
        scale = marker.kwargs.get("scale", 1)
        if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
            raise pytest.UsageError(
                f"@pytest.mark.{_MARKER}: scale must be a whole number of at least 1, got {scale!r}"
            )
        anchor = marker.kwargs.get("anchor")
        if isinstance(anchor, str):
            try:
                anchor = clock.parse_anchor(anchor)
            except ValueError as exc:
                raise pytest.UsageError(f"@pytest.mark.{_MARKER}: {exc}") from None
        elif anchor is not None and not (isinstance(anchor, datetime) and anchor.tzinfo is not None):
            raise pytest.UsageError(f"@pytest.mark.{_MARKER}: anchor must be ISO-8601 text or an aware datetime")
        fixtures = marker.kwargs.get("fixtures")
        if fixtures is not None:
            fixtures = (self.config.rootpath / fixtures).resolve()
            if not fixtures.is_dir():
                raise pytest.UsageError(f"@pytest.mark.{_MARKER}: fixtures directory {fixtures} does not exist")
        return Seed(anchor=anchor or self.anchor, scale=scale, fixtures=fixtures)

    def template(self, seed: Seed) -> Template:
        """The template for `seed`, built once; a build that failed fails every later ask alike, at once."""
        if seed in self._failed:
            raise _BuildFailed(self._failed[seed])
        if seed not in self._built:
            try:
                self._built[seed] = self._loop.run(self.templates.ensure(self.project, seed))
            except Exception as exc:
                from .errors import ConfigError, EchelonSeedError, RefusedError

                if isinstance(exc, (ConfigError, RefusedError, pytest.UsageError)):
                    self._failed[seed] = str(exc).removeprefix("echelon-seed: ")  # nothing was built: the reason
                else:
                    reason = str(exc) if isinstance(exc, EchelonSeedError) else f"{type(exc).__name__}: {exc}"
                    self._failed[seed] = (
                        f"the template could not be built: {reason.strip()}\nreproduce it with: {self.reproduce(seed)}"
                    )
                raise _BuildFailed(self._failed[seed]) from None
        return self._built[seed]

    def reproduce(self, seed: Seed) -> str:
        """The command that seeds an empty database as this template was (password hidden)."""
        from . import project as projects
        from . import urls

        server = self.config.stash[_server_key]
        if server is None:
            url = "sqlite:///echelon-seed-repro.db"
        else:
            url = urls.scrub(urls.parse(server).url_for("echelon_seed_repro"))  # an empty database of yours
        words = ["echelon-seed", "apply", "--database-url", url]
        found = projects.find(cwd=self.config.rootpath)
        if found is not None:
            words += ["--project", str(found.path)]
        if seed.fixtures is not None:
            words += ["--fixtures", str(seed.fixtures)]
        words += ["--anchor", seed.anchor.isoformat().replace("+00:00", "Z"), "--scale", str(seed.scale)]
        return shlex.join(words)

    def clone(self, template: Template) -> Clone:
        return self._loop.run(self.templates.clone(template))

    def drop(self, clone: Clone) -> None:
        self._loop.run(self.templates.drop(clone))

    def close(self) -> None:
        try:
            self._loop.run(self.templates.close())
        finally:
            self._loop.close()


class _BuildFailed(Exception):
    """A template that could not be built: the reason and the command that reproduces it."""


def _fail(exc: BaseException, config: pytest.Config) -> NoReturn:
    """An echelon-seed error as a fixture error without a traceback (whose locals may hold a URL)."""
    pytest.fail(f"echelon-seed: {config.stash[_scrub_key](str(exc))}", pytrace=False)


def _open_templates(server_url: str | None, *, shared: Path, private: Path) -> Templates:
    """PostgreSQL templates on `server_url` when given, else SQLite files (`shared` across workers).

    Chosen here, by the one caller, so that the shared `templates` module never
    imports the engines' stores that build on it.
    """
    if server_url is not None:
        from .engines.pg_templates import PostgresTemplates

        return PostgresTemplates(server_url, seeder=_seed_database)
    from .engines.sqlite_templates import SQLiteTemplates

    return SQLiteTemplates(shared, private, seeder=_seed_database)


async def _seed_database(url: str, project: Project, seed: Seed) -> SeedRecord:
    """A new template's rows: `apply` into the empty database at `url`; the record of what it holds."""
    from . import commands
    from .bookkeeping import SeedRecord
    from .version import __version__

    result = await commands.apply(
        url, project=project, fixtures_dir=seed.fixtures, scale=seed.scale, anchor=seed.anchor, allow_large=True
    )
    return SeedRecord(
        anchor=result.anchor,
        fixture_digest=result.fixture_digest,
        scale=result.scale,
        tool_version=__version__,
        schema_revision=result.migration.after,
        schema_fingerprint=project.fingerprint,
        project=project.name,
    )


@pytest.fixture(scope="session")
def _echelon_seed_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_Session]:
    config = request.config
    base = tmp_path_factory.getbasetemp()
    # Under xdist every worker has its own basetemp inside the session's: the templates go one level up.
    shared = (base.parent if hasattr(config, "workerinput") else base) / "echelon-seed-templates"
    templates = _open_templates(config.stash[_server_key], shared=shared, private=base / "echelon-seed")
    session = _Session(config, templates)
    config.stash[_session_key] = session
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session")
def echelon_template(_echelon_seed_session: _Session) -> Template:
    """The session's template: the configured project seeded at scale 1 with the session's anchor."""
    from .errors import EchelonSeedError

    try:
        return _echelon_seed_session.template(_echelon_seed_session.seed(None))
    except (EchelonSeedError, _BuildFailed) as exc:
        reason = exc
    _fail(reason, _echelon_seed_session.config)  # outside the handler: no "during handling" chain


@pytest.fixture
def echelon_db_url(_echelon_seed_session: _Session, request: pytest.FixtureRequest) -> Iterator[DatabaseURL]:
    """A database of the configured project, seeded and private to this test; gone after it."""
    from .errors import EchelonSeedError

    session = _echelon_seed_session
    try:
        template = session.template(session.seed(request.node.get_closest_marker(_MARKER)))
        clone = session.clone(template)
    except (EchelonSeedError, _BuildFailed) as exc:
        reason: BaseException | None = exc
    else:
        reason = None
    if reason is not None:
        _fail(reason, request.config)  # outside the handler: no "during handling" chain
    request.node.stash[_clone_key] = clone
    yield clone.url
    if request.node.stash.get(_failed_key, False) and request.config.getoption("--echelon-keep-failed"):
        return
    session.drop(clone)


@pytest.fixture
def echelon_engine(echelon_db_url: DatabaseURL) -> Iterator[AsyncEngine]:
    """An async SQLAlchemy engine on this test's database (aiosqlite or asyncpg), disposed after the test.

    It pools nothing (each `connect()` opens a connection and closing it closes
    it), so nothing outlives the event loop of the test that used it; SQLite
    connections enforce foreign keys, as the seed was checked with them.
    """
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from . import urls

    target = urls.parse(str(echelon_db_url))
    if target.engine == "sqlite":
        engine = create_async_engine(f"sqlite+aiosqlite:///{target.path}", poolclass=NullPool)

        @event.listens_for(engine.sync_engine, "connect")
        def _foreign_keys(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    else:
        from . import drivers

        kwargs = target.connect_kwargs()
        asyncpg = drivers.asyncpg()

        async def connect() -> Any:
            return await asyncpg.connect(**kwargs)

        engine = create_async_engine("postgresql+asyncpg://", async_creator=connect, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.sync_engine.dispose()
