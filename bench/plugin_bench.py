"""The pytest plugin's benchmark (issue 12): a seeded database per test, cloned, against apply per test.

Usage::

    .venv/bin/python bench/plugin_bench.py [--tests 200] [--apply-tests 20] [--scales 1,10,100]

Each figure comes from a real pytest session in a child process, on a test
directory written for it: the built-in project, a fixed anchor, every test
taking one database and writing to it (an UPDATE of every user, so a clone
that shared pages with its template would show). A small conftest records the
setup time of every test (pytest's own `report.duration` of the setup phase:
what the test waits for before its first line runs) into a JSON file.

- plugin: `echelon_db_url` from the plugin. The first test's setup builds
  the template (its overhead is shown apart); the median and p95 are over
  the others. On PostgreSQL the next clone is made while a test runs, so a
  test waits only for what is left of it: the setup time is what a user pays.
- apply per test (the baseline): a fixture that makes an empty database
  (a SQLite file; `CREATE DATABASE` on the server) and runs `commands.apply`
  into it, what a suite without templates does. Fewer tests, as each costs
  an apply.
- session: the whole child pytest process, wall time, for the plugin's
  session of `--tests` tests (start-up, template, every test, teardown).

It starts its own throwaway PostgreSQL server (tests/pgserver.py) and
removes it and its temporary directory at the end. Output: a table, then one
JSON line starting with `{"bench": "plugin"`. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
TARGET_MS = {"sqlite": 5.0, "postgresql": 15.0}
TARGET_RATIO = 20.0

PYPROJECT = """
[tool.pytest.ini_options]
addopts = ["-p", "no:cacheprovider", "-p", "no:randomly"]
"""

CONFTEST = """
import json, os, pytest

_setups = []

def pytest_runtest_logreport(report):
    if report.when == "setup" and report.passed:
        _setups.append(report.duration)

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(_setups, out)

@pytest.fixture
def applied_db_url(tmp_path):
    # What a suite without templates does: an empty database and a full apply, for every test.
    import asyncio, asyncpg
    from datetime import datetime
    from echelon_seed import commands, urls
    scale = int(os.environ["BENCH_SCALE"])
    anchor = datetime.fromisoformat(os.environ["BENCH_ANCHOR"].replace("Z", "+00:00"))
    server = os.environ.get("BENCH_SERVER")
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
    """One child pytest session: every test's setup time and the process's wall time."""

    setups: list[float]
    wall: float


def run_session(root: Path, *, engine: str, server: str | None, fixture: str, count: int, scale: int) -> Session:
    work = Path(tempfile.mkdtemp(prefix=f"{fixture}-{engine}-", dir=root))
    (work / "pyproject.toml").write_text(PYPROJECT)
    (work / "conftest.py").write_text(CONFTEST)
    (work / "test_bench.py").write_text(textwrap.dedent(TESTS.format(scale=scale, count=count, fixture=fixture)))
    out = work / "setups.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECHELON_", "PYTEST_"))}
    env.update(BENCH_OUT=str(out), BENCH_SCALE=str(scale), BENCH_ANCHOR=ANCHOR)
    if server is not None:
        env["ECHELON_TEST_DATABASE_URL"] = server
        env["BENCH_SERVER"] = server
    argv = [sys.executable, "-m", "pytest", "-q", f"--echelon-anchor={ANCHOR}", "--basetemp", str(work / "tmp")]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, check=False, timeout=3600)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"plugin-bench: the {fixture} session on {engine} failed:\n{done.stdout}{done.stderr}")
    setups = json.loads(out.read_text())
    if len(setups) != count:
        raise SystemExit(f"plugin-bench: expected {count} setup times, got {len(setups)}")
    shutil.rmtree(work, ignore_errors=True)
    return Session(setups, wall)


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(root: Path, engine: str, server: str | None, scale: int, tests: int, apply_tests: int) -> dict[str, Any]:
    if server is not None:
        _drop_templates(server)  # the first test builds the template, every run
    log(f"{engine} scale {scale}: plugin session of {tests} tests")
    plugin = run_session(root, engine=engine, server=server, fixture="echelon_db_url", count=tests, scale=scale)
    log(f"{engine} scale {scale}: apply per test, {apply_tests} tests")
    baseline = run_session(root, engine=engine, server=server, fixture="applied_db_url", count=apply_tests, scale=scale)
    clones = plugin.setups[1:]
    median = statistics.median(clones)
    applied = statistics.median(baseline.setups)
    return {
        "engine": engine,
        "scale": scale,
        "tests": tests,
        "clone_median_ms": median * 1000,
        "clone_p95_ms": _p95(clones) * 1000,
        "first_test_ms": plugin.setups[0] * 1000,
        "apply_median_ms": applied * 1000,
        "ratio": applied / median,
        "session_s": plugin.wall,
        "target_ms": TARGET_MS[engine],
        "ok_ms": median <= TARGET_MS[engine] / 1000 and _p95(clones) <= TARGET_MS[engine] / 1000,
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


def render(results: list[dict[str, Any]]) -> str:
    lines = [
        "| engine | scale | per test: median / p95 (ms) | target | first test (ms) | apply per test (ms) | apply / clone (≥ 20×) | session of N tests (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        verdict = "ok" if r["ok_ms"] else "MISSED"
        ratio = f"{r['ratio']:.0f}× {'ok' if r['ratio'] >= TARGET_RATIO else 'MISSED'}"
        lines.append(
            f"| {r['engine']} | {r['scale']} | {r['clone_median_ms']:.1f} / {r['clone_p95_ms']:.1f} "
            f"| ≤ {r['target_ms']:.0f} {verdict} | {r['first_test_ms']:.0f} | {r['apply_median_ms']:.0f} "
            f"| {ratio} | {r['session_s']:.1f} ({r['tests']}) |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--tests", type=int, default=200, help="tests in the plugin's session (default 200)")
    parser.add_argument("--apply-tests", type=int, default=20, help="tests in the apply-per-test session (default 20)")
    parser.add_argument("--scales", default="1,10,100", help="comma-separated scales (default 1,10,100)")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated engines")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))
    from tests import pgserver

    scales = [int(s) for s in args.scales.split(",")]
    engines = [e.strip() for e in args.engines.split(",")]
    root = Path(tempfile.mkdtemp(prefix="echelon-plugin-bench-"))
    server = pgserver.start() if "postgresql" in engines else None
    load_before = os.getloadavg()[0]
    results = []
    try:
        for engine in engines:
            url = server.admin_url if engine == "postgresql" and server is not None else None
            for scale in scales:
                results.append(measure(root, engine, url, scale, args.tests, args.apply_tests))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"machine: {os.cpu_count()} CPUs, load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(render(results))
    print(json.dumps({"bench": "plugin", "results": results}, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
