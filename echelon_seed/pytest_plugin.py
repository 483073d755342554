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
- `--echelon-db-url URL` / $ECHELON_TEST_DATABASE_URL: a PostgreSQL server
  where the plugin may create databases; without it, SQLite files under
  pytest's temporary directory.
- `--echelon-anchor`: the session's anchor (default: midnight UTC of the day
  the session started, so templates are reused all day); printed in the header.
- `--echelon-clean-templates`: drop this project's templates of other keys first.

The library part (keys, building, cloning) is `echelon_seed.templates`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Coroutine, Generator, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

if TYPE_CHECKING:
    from .project import Project
    from .templates import Clone, DatabaseURL, Seed, Template, Templates

__all__ = ["ENV_URL"]

#: The environment variable naming the PostgreSQL server for test databases.
ENV_URL = "ECHELON_TEST_DATABASE_URL"
_MARKER = "echelon_seed"
_ANCHOR_KEY = "echelon_seed_anchor"
_SECTION = "echelon-seed"
_T = TypeVar("_T")

_anchor_key = pytest.StashKey[datetime]()
_server_key = pytest.StashKey["str | None"]()
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
    config.stash[_server_key] = server
    config.pluginmanager.register(_KeptReport(), "echelon-seed-kept")


def _today(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker seeds with the controller's anchor, even across midnight."""
    node.workerinput[_ANCHOR_KEY] = node.config.stash[_anchor_key].isoformat()


def pytest_report_header(config: pytest.Config) -> list[str]:
    from . import urls

    server = config.stash.get(_server_key, None)
    where = f"PostgreSQL {urls.parse(server).display}" if server else "SQLite files under pytest's temporary directory"
    return [f"echelon-seed: anchor {config.stash[_anchor_key].isoformat()}, test databases: {where}"]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """--echelon-clean-templates, once, before any worker starts building."""
    config = session.config
    if not config.getoption("--echelon-clean-templates") or hasattr(config, "workerinput"):
        return
    server = config.stash[_server_key]
    if server is None:
        return  # SQLite templates live in this session's temporary directory: nothing to clean
    from .templates import PostgresTemplates, Seed, key

    project = _project(config)
    keep = key(project, Seed(anchor=config.stash[_anchor_key]))
    templates = PostgresTemplates(server, prefetch=False)

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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Remember a failed test for its database's teardown; name the kept database in the report."""
    report = yield
    if report.failed and report.when == "call" and _clone_key in item.stash:
        item.stash[_failed_key] = True
        if item.config.getoption("--echelon-keep-failed"):
            report.sections.append((_SECTION, f"kept database: {item.stash[_clone_key].url.display}"))
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
        if self.kept and not hasattr(terminalreporter.config, "workerinput"):
            terminalreporter.section("echelon-seed: databases kept for failed tests")
            for line in self.kept:
                terminalreporter.write_line(line)


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
        self._templates = templates
        self._project: Project | None = None
        self._built: dict[Seed, Template] = {}
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
        if seed not in self._built:
            self._built[seed] = self._loop.run(self._templates.ensure(self.project, seed))
        return self._built[seed]

    def clone(self, template: Template) -> Clone:
        return self._loop.run(self._templates.clone(template))

    def drop(self, clone: Clone) -> None:
        self._loop.run(self._templates.drop(clone))

    def close(self) -> None:
        try:
            self._loop.run(self._templates.close())
        finally:
            self._loop.close()


def _fail(exc: BaseException) -> NoReturn:
    """An echelon-seed error as a one-line fixture error: no traceback, whose locals may hold a URL."""
    from . import urls

    pytest.fail(f"echelon-seed: {urls.scrub(str(exc))}", pytrace=False)


@pytest.fixture(scope="session")
def _echelon_seed_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_Session]:
    from .templates import open_templates

    config = request.config
    base = tmp_path_factory.getbasetemp()
    # Under xdist every worker has its own basetemp inside the session's: the templates go one level up.
    shared = (base.parent if hasattr(config, "workerinput") else base) / "echelon-seed-templates"
    templates = open_templates(config.stash[_server_key], shared=shared, private=base / "echelon-seed")
    session = _Session(config, templates)
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
    except EchelonSeedError as exc:
        _fail(exc)


@pytest.fixture
def echelon_db_url(_echelon_seed_session: _Session, request: pytest.FixtureRequest) -> Iterator[DatabaseURL]:
    """A database of the configured project, seeded and private to this test; gone after it."""
    from .errors import EchelonSeedError

    session = _echelon_seed_session
    try:
        template = session.template(session.seed(request.node.get_closest_marker(_MARKER)))
        clone = session.clone(template)
    except EchelonSeedError as exc:
        _fail(exc)
    request.node.stash[_clone_key] = clone
    yield clone.url
    if request.node.stash.get(_failed_key, False) and request.config.getoption("--echelon-keep-failed"):
        return
    session.drop(clone)
