"""The pytest plugin's benchmark (issues 12, 23): a seeded database per test, cloned, against apply per test.

Usage::

    .venv/bin/python bench/plugin_bench.py [--tests 200] [--apply-tests 20] [--scales 1]
        [--servers sqlite,own,default]

Three kinds of database, each in real pytest sessions:

- sqlite: SQLite files under pytest's temporary directory (no server);
- own: the PostgreSQL server the plugin starts itself (`--echelon-postgres
  auto`: fsync off, its directory on tmpfs as root);
- default: a PostgreSQL server started here with initdb's default settings
  (fsync on, its directory on the disk under the temporary directory), given
  to the plugin with $ECHELON_TEST_DATABASE_URL: the server a team runs.

Each figure is printed beside the server's fsync setting and the clone
strategy the plugin chose there (its summary line).

Each figure comes from a real pytest session in a child process, on a test
directory written for it: the built-in project, a fixed anchor, every test
taking one database and writing to it (an UPDATE of every user, so a clone
that shared pages with its template would show). A small conftest records the
setup time of every test (pytest's own `report.duration` of the setup phase:
what the test waits for before its first line runs) into a JSON file.

- plugin: `echelon_db_url` from the plugin. Per test: its set-up plus its
  tear-down (pytest's own durations), what the test's path pays. The first
  test's set-up builds the template and the last test's tear-down closes
  the session (drops what is left), so both are shown apart; the median and
  p95 are over the others.
- apply per test (the baseline): a fixture that makes an empty database
  (a SQLite file; `CREATE DATABASE` on the server) and runs `commands.apply`
  into it, what a suite without templates does. Fewer tests, as each costs
  an apply.
- session: the whole child pytest process, wall time, for the plugin's
  session of `--tests` tests (start-up, template, every test, teardown).

It starts the default-settings PostgreSQL server itself (tests/pgserver.py,
durable) and removes it and its temporary directory at the end. Output: a table, then one
JSON line starting with `{"bench": "plugin"`. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ANCHOR = "2026-01-01T00:00:00Z"
# Targets from the issue: per-test median and p95, and the speed-up over apply per test.
TARGET_MS = {"sqlite": (5.0, 5.0), "own": (15.0, 15.0), "default": (50.0, 150.0)}

PYPROJECT = """
[tool.pytest.ini_options]
addopts = ["-p", "no:cacheprovider", "-p", "no:randomly"]
"""

CONFTEST = """
import json, os, pytest

_setups = {}
_teardowns = {}

def pytest_runtest_logreport(report):
    if report.when == "setup" and report.passed:
        _setups[report.nodeid] = report.duration
    if report.when == "teardown":
        _teardowns[report.nodeid] = report.duration

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump([[_setups[n], _teardowns.get(n, 0.0)] for n in _setups], out)

@pytest.fixture
def applied_db_url(tmp_path, pytestconfig):
    # What a suite without templates does: an empty database and a full apply, for every test.
    import asyncio, asyncpg
    from datetime import datetime
    from echelon_seed import commands, urls
    from echelon_seed import pytest_plugin
    scale = int(os.environ["BENCH_SCALE"])
    anchor = datetime.fromisoformat(os.environ["BENCH_ANCHOR"].replace("Z", "+00:00"))
    server = pytestconfig.stash.get(pytest_plugin._server_key, None)  # the plugin's own server too
    if server is None:
        url = f"sqlite:///{tmp_path / 'seed.db'}"
        asyncio.run(commands.apply(url, scale=scale, anchor=anchor, allow_large=True))
        yield url
        return
    target = urls.parse(server)
    name = "bench_apply_" + os.environ.get("PYTEST_XDIST_WORKER", "main")

    async def admin(sql):
        conn = await asyncpg.connect(**target.connect_kwargs())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def make():
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin(f'CREATE DATABASE "{name}"')
        await commands.apply(target.url_for(name), scale=scale, anchor=anchor, allow_large=True)

    asyncio.run(make())
    yield target.url_for(name)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
"""

TESTS = """
import asyncio, sqlite3
import pytest
from echelon_seed import urls

pytestmark = pytest.mark.echelon_seed(scale={scale})

def write(url):
    url = str(url)
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        with conn:
            conn.execute("UPDATE users SET bio = 'benched'")
        conn.close()
        return
    import asyncpg
    async def run():
        conn = await asyncpg.connect(**urls.parse(url).connect_kwargs())
        try:
            await conn.execute("UPDATE users SET bio = 'benched'")
        finally:
            await conn.close()
    asyncio.run(run())

@pytest.mark.parametrize("n", range({count}))
def test_writes(n, {fixture}):
    write({fixture})
"""


def log(message: str) -> None:
    print(f"[plugin-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Session:
    """One child pytest session: every test's set-up and tear-down, the wall time, the plugin's summary."""

    setups: list[float]
    teardowns: list[float]
    wall: float
    summary: str


def run_session(root: Path, *, kind: str, server: str | None, fixture: str, count: int, scale: int) -> Session:
    work = Path(tempfile.mkdtemp(prefix=f"{fixture}-{kind}-", dir=root))
    (work / "pyproject.toml").write_text(PYPROJECT)
    (work / "conftest.py").write_text(CONFTEST)
    (work / "test_bench.py").write_text(textwrap.dedent(TESTS.format(scale=scale, count=count, fixture=fixture)))
    out = work / "setups.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECHELON_", "PYTEST_"))}
    env.update(BENCH_OUT=str(out), BENCH_SCALE=str(scale), BENCH_ANCHOR=ANCHOR)
    if server is not None:
        env["ECHELON_TEST_DATABASE_URL"] = server
    postgres = "auto" if kind == "own" else "off"
    argv = [
        sys.executable, "-m", "pytest", "-q", f"--echelon-anchor={ANCHOR}", f"--echelon-postgres={postgres}",
        "--basetemp", str(work / "tmp"),
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, check=False, timeout=3600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"plugin-bench: the {fixture} session on {kind} failed:\n{done.stdout}{done.stderr}")
    times = json.loads(out.read_text())
    if len(times) != count:
        raise SystemExit(f"plugin-bench: expected {count} setup times, got {len(times)}")
    summary = next((line for line in done.stdout.splitlines() if line.startswith("echelon-seed: fsync")), "")
    shutil.rmtree(work, ignore_errors=True)
    return Session([t[0] for t in times], [t[1] for t in times], wall, summary)


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _plan(summary: str) -> tuple[str, str]:
    """The fsync setting and clone strategy from the plugin's summary line (SQLite: a file copy)."""
    fsync = re.search(r"fsync (\w+)", summary)
    strategy = re.search(r"clone strategy (\w+)", summary)
    return (fsync[1] if fsync else "-", strategy[1] if strategy else "file copy")


def measure(root: Path, kind: str, server: str | None, scale: int, tests: int, apply_tests: int) -> dict[str, Any]:
    if server is not None:
        _drop_templates(server)  # the first test builds the template, every run
    log(f"{kind} scale {scale}: plugin session of {tests} tests")
    plugin = run_session(root, kind=kind, server=server, fixture="echelon_db_url", count=tests, scale=scale)
    log(f"{kind} scale {scale}: apply per test, {apply_tests} tests")
    baseline = run_session(root, kind=kind, server=server, fixture="applied_db_url", count=apply_tests, scale=scale)
    # The first set-up builds the template, the last tear-down closes the session: shown apart.
    paths = [s + t for s, t in zip(plugin.setups[1:-1], plugin.teardowns[1:-1], strict=True)]
    median = statistics.median(paths)
    applied = statistics.median(s + t for s, t in zip(baseline.setups, baseline.teardowns, strict=True))
    fsync, strategy = _plan(plugin.summary)
    target_median, target_p95 = TARGET_MS[kind]
    return {
        "server": kind,
        "fsync": fsync,
        "strategy": strategy,
        "scale": scale,
        "tests": tests,
        "clone_median_ms": median * 1000,
        "clone_p95_ms": _p95(paths) * 1000,
        "first_test_ms": plugin.setups[0] * 1000,
        "last_teardown_ms": plugin.teardowns[-1] * 1000,
        "apply_median_ms": applied * 1000,
        "ratio": applied / median,
        "session_s": plugin.wall,
        "target_ms": [target_median, target_p95],
        "ok_ms": median <= target_median / 1000 and _p95(paths) <= target_p95 / 1000,
        "summary": plugin.summary,
    }


def _drop_templates(server: str) -> None:
    import asyncio

    import asyncpg

    sys.path.insert(0, str(REPO))
    from echelon_seed import urls

    async def drop() -> None:
        conn = await asyncpg.connect(**urls.parse(server).connect_kwargs())
        try:
            for row in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'echelon\\_tpl\\_%'"):
                await conn.execute(f'ALTER DATABASE "{row["datname"]}" WITH IS_TEMPLATE false')
                await conn.execute(f'DROP DATABASE "{row["datname"]}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


_NAMES = {
    "sqlite": "SQLite files",
    "own": "PostgreSQL, the plugin's own",
    "default": "PostgreSQL, initdb defaults",
}


def render(results: list[dict[str, Any]]) -> str:
    lines = [
        "| database | fsync | clone strategy | scale | per test set-up+tear-down: median / p95 (ms) | target "
        "| first test (ms) | last tear-down (ms) | apply per test (ms) | apply / clone | session of N tests (s) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        verdict = "ok" if r["ok_ms"] else "MISSED"
        target = "≤ {:.0f} / {:.0f}".format(*r["target_ms"])
        lines.append(
            f"| {_NAMES[r['server']]} | {r['fsync']} | {r['strategy']} | {r['scale']} "
            f"| {r['clone_median_ms']:.1f} / {r['clone_p95_ms']:.1f} | {target} {verdict} "
            f"| {r['first_test_ms']:.0f} | {r['last_teardown_ms']:.0f} | {r['apply_median_ms']:.0f} "
            f"| {r['ratio']:.0f}× | {r['session_s']:.1f} ({r['tests']}) |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--tests", type=int, default=200, help="tests in the plugin's session (default 200)")
    parser.add_argument("--apply-tests", type=int, default=20, help="tests in the apply-per-test session (default 20)")
    parser.add_argument("--scales", default="1", help="comma-separated scales (default 1)")
    parser.add_argument(
        "--servers", default="sqlite,own,default", help="comma-separated: sqlite, own, default (default: all three)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM runs the clean-up below too (the server started here and the temporary directory).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.path.insert(0, str(REPO))
    from tests import pgserver

    scales = [int(s) for s in args.scales.split(",")]
    kinds = [k.strip() for k in args.servers.split(",")]
    unknown = sorted(set(kinds) - set(TARGET_MS))
    if unknown:
        raise SystemExit(f"plugin-bench: unknown server kind {unknown[0]!r}; known: {', '.join(TARGET_MS)}")
    root = Path(tempfile.mkdtemp(prefix="echelon-plugin-bench-"))
    # initdb's defaults on the disk (not tmpfs): the server a team runs on a laptop or in CI.
    server = pgserver.start(durable=True, parent=tempfile.gettempdir()) if "default" in kinds else None
    load_before = os.getloadavg()
    results = []
    try:
        for kind in kinds:
            url = server.admin_url if kind == "default" and server is not None else None
            for scale in scales:
                results.append(measure(root, kind, url, scale, args.tests, args.apply_tests))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    load_after = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} CPUs, load average (1/5/15 min) "
        f"{'/'.join(f'{x:.2f}' for x in load_before)} before, {'/'.join(f'{x:.2f}' for x in load_after)} after"
    )
    for r in results:
        if r["summary"]:
            print(f"{_NAMES[r['server']]}: {r['summary']}")
    print(render(results))
    print(json.dumps({"bench": "plugin", "results": results}, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
