"""echelon-seed performance benchmark (issue 5): apply and snapshot against their raw limits.

Usage::

    .venv/bin/python bench/bench.py [--scales 1000,10000] [--runs 3] [--quick]

Everything runs in this one process tree: a throwaway PostgreSQL server
(tests/pgserver.py), a temporary directory for the SQLite files, and the
measured commands as child processes. Output: a table on stdout, then one JSON
line starting with ``{"bench":``. Progress goes to stderr.

What is measured, per scale and engine, and why it is measured that way:

- apply: the real CLI (``echelon-seed apply --force --quiet --scale N --anchor
  ...``) in a child process, on a brand-new database each run. The child is a
  tiny driver that imports ``echelon_seed.cli`` and times ``cli.main`` alone,
  so the figure is the whole apply (fixture loading, migrations, generation,
  adaptation, bulk insert, integrity check, commit) without the interpreter's
  start-up, which is reported separately as the process wall time.
- raw limit: the same rows, generated and adapted to driver values *before*
  the clock starts, written with nothing in between: asyncpg
  ``copy_records_to_table`` (PostgreSQL) or ``sqlite3.executemany`` (SQLite,
  foreign keys on, as apply has them) into freshly migrated empty tables, in
  one transaction, commit included. On PostgreSQL a second variant drops and
  re-adds the foreign keys of the big tables around the COPY (what apply does
  from 5,000 rows), so a ratio above 1 can be told apart from a bad limit.
- naive: what the Echelon team does today, one ORM object per row and a
  ``session.flush()`` per row through an AsyncSession, on a sample of 10,000
  wing flaps (typed values built before the clock starts, which flatters it).
- snapshot: ``echelon-seed snapshot -o -`` with stdout on /dev/null (never
  ``-o /dev/null``: the CLI stages ``PATH.tmp`` and renames it over PATH, which
  as root replaces the device node with a regular file). Its raw limit is
  ``COPY (SELECT * ... ORDER BY pk) TO STDOUT`` through asyncpg into a null
  sink (PostgreSQL), or a plain ordered ``SELECT`` fetched in full with
  sqlite3 (SQLite), over the same tables in one read transaction.
- peak RSS of apply, snapshot and ``verify --database-url`` (against a digest
  manifest made first with ``verify --update --golden <tmp>``, so the repo's
  snapshots/ is never written): ``ru_maxrss`` of exactly that child, from
  ``os.wait4`` in a tiny wrapper process between the bench and the child
  (RUSAGE_CHILDREN would be the max over all children, and Linux copies the
  spawning process's peak RSS into the child's ru_maxrss at exec, so the bench,
  which holds millions of pre-built rows, must not spawn it directly). The
  child's own VmHWM is recorded as a cross-check.
- the fixed cost of apply (at scale 1) and the marginal rate beyond it, since
  migrations and set-up dominate at scale 100.

Timings are medians of ``--runs``; RSS is the maximum over the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.schema import Table

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
ANCHOR = "2026-01-01T00:00:00+00:00"
NAIVE_ROWS = 10_000
CHILD_TIMEOUT_S = 3600.0

# Targets (issue 14 raised those of issue 5; the naive ratio is issue 5's).
APPLY_VS_RAW = 0.8  # SQLite: apply / raw executemany of pre-built tuples
APPLY_VS_PG_RESTORE = 0.8  # PostgreSQL: apply / pg_restore --single-transaction of a pg_dump -Fc
APPLY_VS_NAIVE = 30.0
SNAPSHOT_VS_RAW = 0.5
RSS_LIMIT_MB = 150.0
RSS_GROWTH = 1.5
RSS_SCALE = 10_000  # the scale the RSS targets are about
RSS_BASE_SCALE = 1_000
STARTUP_VS_PYTHON = 5.0  # `echelon-seed --version` / `python -c pass`, process wall time
NOOP_APPLY_S = 0.35  # `echelon-seed apply` on an already-seeded SQLite database, whole process
STARTUP_RUNS = 15

ENGINES = ("sqlite", "postgresql")

# The measured child: the real CLI entry point, timed around cli.main only, so that the
# interpreter's start-up and imports are not billed to apply. Minimal imports keep its RSS
# the CLI's own. VmHWM (peak RSS of this process image) is a cross-check of the wrapper's figure.
_DRIVER = """\
import json, sys, time
t0 = time.perf_counter()
from echelon_seed import cli
t1 = time.perf_counter()
rc = cli.main(sys.argv[2:])
t2 = time.perf_counter()
hwm = next((int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")), -1)
with open(sys.argv[1], "w") as f:
    json.dump({"rc": rc, "import_s": t1 - t0, "seconds": t2 - t1, "vmhwm_kb": hwm}, f)
sys.exit(rc)
"""

# The tiny wrapper between the bench and the driver. Linux copies the *spawning* process's
# peak RSS into the child's ru_maxrss at exec (fork or vfork alike), so a child spawned by
# the bench, which holds millions of pre-built rows, would report the bench's size. This
# wrapper is a few MB, so the ru_maxrss it gets from wait4 on its one child is the child's own.
_WRAPPER = """\
import json, os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
code = os.waitstatus_to_exitcode(status)
with open(out, "w") as f:
    json.dump({"exit": code, "maxrss_kb": usage.ru_maxrss, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime}, f)
sys.exit(code if 0 <= code < 256 else 128 - code)
"""


def log(message: str) -> None:
    """Progress on stderr, so that stdout holds only the table and the JSON line."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------- children


@dataclass(frozen=True)
class ChildRun:
    """One measured child process: its own timing of cli.main, wall time, and peak RSS."""

    rc: int
    seconds: float  # cli.main alone, as timed inside the child
    wall: float  # the whole process, interpreter start-up included
    maxrss_mb: float  # ru_maxrss of the child, from its wrapper's wait4
    vmhwm_mb: float  # the child's own VmHWM at the end (cross-check)
    stderr: str
    cpu_s: float = math.nan  # user + system CPU of the child and the children it reaped (a forked row-maker)


def run_cli(argv: Sequence[str], *, scratch: Path, env: dict[str, str], label: str) -> ChildRun:
    """Run `echelon-seed ARGV` (wrapper -> timing driver -> cli.main); raise with its stderr if it fails."""
    stamp = f"{os.getpid()}-{time.monotonic_ns()}"
    timing, measured, err_path = (scratch / f"{what}-{stamp}.json" for what in ("timing", "rusage", "stderr"))
    with open(err_path, "w+") as err:
        proc = subprocess.Popen(
            [PYTHON, "-c", _WRAPPER, str(measured), PYTHON, "-c", _DRIVER, str(timing), *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=scratch,
            env=env,
            start_new_session=True,  # its own process group: a timeout or our exit kills both
        )
        timer = threading.Timer(CHILD_TIMEOUT_S, lambda: _kill_group(proc.pid))
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
            if proc.returncode is None:  # interrupted while waiting: leave no child behind
                _kill_group(proc.pid)
                proc.wait()
        err.seek(0)
        stderr = err.read()
    err_path.unlink(missing_ok=True)
    try:
        inner = json.loads(timing.read_text())
        outer = json.loads(measured.read_text())
    except (OSError, ValueError):
        inner, outer = {}, {}
    finally:
        timing.unlink(missing_ok=True)
        measured.unlink(missing_ok=True)
    if proc.returncode != 0 or not inner or not outer:
        raise RuntimeError(f"{label}: exit {proc.returncode}\n{stderr.strip()[-3000:]}")
    return ChildRun(
        rc=proc.returncode,
        seconds=float(inner["seconds"]),
        wall=float(outer["wall"]),
        maxrss_mb=outer["maxrss_kb"] / 1024,  # KiB on Linux
        vmhwm_mb=inner["vmhwm_kb"] / 1024,
        stderr=stderr,
        cpu_s=float(outer.get("cpu", math.nan)),
    )


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ------------------------------------------------------------------------------------ databases


class Targets:
    """Fresh databases on demand: PostgreSQL ones on the throwaway server, SQLite files in scratch.

    Every target made is remembered so that `drop_all` removes it even after a failure.
    """

    def __init__(self, server: Any, scratch: Path) -> None:
        self.server = server
        self.scratch = scratch
        self._pg: set[str] = set()
        self._counter = itertools.count()

    def fresh(self, engine: str, label: str) -> tuple[str, str]:
        """Return (handle, URL) of a new, empty database for `engine`."""
        name = f"bench_{label}_{next(self._counter)}"
        if engine == "postgresql":
            url = self.server.create_database(name)
            self._pg.add(name)
            return name, url
        path = self.scratch / f"{name}.db"
        return str(path), f"sqlite:///{path}"

    def drop(self, engine: str, handle: str) -> None:
        if engine == "postgresql":
            self.server.drop_database(handle)
            self._pg.discard(handle)
        else:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(handle + suffix).unlink(missing_ok=True)

    def drop_all(self) -> None:
        for name in list(self._pg):
            try:
                self.drop("postgresql", name)
            except Exception as exc:  # the server may already be gone; stop() removes its files
                log(f"could not drop {name}: {exc}")


def pg_connect_kwargs(url: str) -> dict[str, Any]:
    from tests import pgserver

    kwargs = pgserver.connect_kwargs(url)
    kwargs["server_settings"] = {"timezone": "UTC"}
    return kwargs


def pg_client_env(url: str) -> dict[str, str]:
    """libpq environment for pg_dump/pg_restore: the password never goes on a command line."""
    kwargs = pgserver_module().connect_kwargs(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(
        PGHOST=str(kwargs["host"]),
        PGPORT=str(kwargs["port"]),
        PGUSER=str(kwargs["user"]),
        PGPASSWORD=str(kwargs.get("password") or ""),
    )
    return env


def pg_bindir() -> Path:
    return Path(pgserver_module().find_bindir())


def pgserver_module() -> Any:
    from tests import pgserver

    return pgserver


async def migrate_fresh(url: str) -> Dialect:
    """Bring an empty database to head with the package's own migrations; return the live dialect.

    The dialect is the connected one, so the bind processors used to pre-adapt
    the raw rows are exactly those the seeder uses.
    """
    from echelon_seed import engines, migrate

    database = engines.open_database(url, write=True)
    try:
        async with database.transaction() as conn:
            await migrate.upgrade(conn)
            return conn.dialect
    finally:
        await database.dispose()


def build_rows(dialect: Dialect, scale: int, anchor: datetime) -> list[tuple[Table, list[tuple[Any, ...]]]]:
    """Every row apply writes at `scale`, in its table order, already adapted to driver values."""
    from echelon_seed import fixtures, plan, project
    from echelon_seed.engines.writer import row_adapter

    fixture_set = fixtures.load(project.data_dir())
    out = []
    for planned in plan.make(fixture_set, anchor=anchor, scale=scale).tables:
        rows = planned.rows()
        adapt = row_adapter(dialect, planned.table)
        out.append((planned.table, [adapt(r) for r in rows] if adapt is not None else list(rows)))
    return out


def expected_rows(scale: int, anchor: datetime) -> dict[str, int]:
    """Rows per seeded table at `scale`, from the fixtures (what apply and snapshot handle)."""
    from echelon_seed import fixtures, plan, project

    fixture_set = fixtures.load(project.data_dir())
    return {t.table.name: t.total for t in plan.make(fixture_set, anchor=anchor, scale=scale).tables}


# ------------------------------------------------------------------------------------ raw limits


async def raw_copy_in(url: str, tables: list[tuple[Table, list[tuple[Any, ...]]]], *, defer_fks: bool) -> float:
    """Seconds for asyncpg COPY of pre-built rows into migrated empty tables, one transaction.

    With `defer_fks`, tables of 5,000 rows or more get their foreign keys dropped
    before and re-added (validated) after the COPY, as the package's PostgreSQL
    backend does.
    """
    import asyncpg
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import AddConstraint, DropConstraint

    dialect = postgresql.dialect()
    conn = await asyncpg.connect(**pg_connect_kwargs(url))
    try:
        started = time.perf_counter()
        async with conn.transaction():
            for table, rows in tables:
                fks = list(table.foreign_key_constraints) if defer_fks and len(rows) >= 5_000 else []
                for fk in fks:
                    await conn.execute(str(DropConstraint(fk).compile(dialect=dialect)))
                await conn.copy_records_to_table(table.name, records=rows, columns=[c.name for c in table.columns])
                for fk in fks:
                    await conn.execute(str(AddConstraint(fk).compile(dialect=dialect)))
        return time.perf_counter() - started
    finally:
        await conn.close()


def raw_executemany(path: str, tables: list[tuple[Table, list[tuple[Any, ...]]]]) -> float:
    """Seconds for sqlite3 executemany of pre-built rows into a migrated empty file, one transaction."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys=ON")
        started = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        for table, rows in tables:
            columns = ", ".join(f'"{c.name}"' for c in table.columns)
            marks = ", ".join("?" for _ in table.columns)
            con.executemany(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', rows)
        con.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        con.close()


def _order_by(table: Table, *, collate_c: bool) -> str:
    """The primary key as ORDER BY terms; text by code point on PostgreSQL, as the snapshot sorts."""
    from sqlalchemy import Enum, String

    terms = []
    for column in table.primary_key.columns:
        term = f'"{column.name}"'
        if collate_c and isinstance(column.type, String) and not isinstance(column.type, Enum):
            term += ' COLLATE "C"'
        terms.append(term)
    return ", ".join(terms)


def _seeded_tables() -> tuple[Table, ...]:
    from echelon_project.schema import SEEDED_TABLES

    return SEEDED_TABLES


async def raw_copy_out(url: str) -> tuple[float, int]:
    """Seconds and rows for COPY (SELECT * ... ORDER BY pk) TO STDOUT of every seeded table into a null sink."""
    import asyncpg

    async def sink(_data: bytes) -> None:
        return None

    conn = await asyncpg.connect(**pg_connect_kwargs(url))
    try:
        rows = 0
        started = time.perf_counter()
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            for table in _seeded_tables():
                query = f'SELECT * FROM "{table.name}" ORDER BY {_order_by(table, collate_c=True)}'
                status = await conn.copy_from_query(query, output=sink)
                rows += int(status.split()[-1])
        return time.perf_counter() - started, rows
    finally:
        await conn.close()


def raw_select(path: str) -> tuple[float, int]:
    """Seconds and rows for a plain ordered SELECT of every seeded table, fetched in full with sqlite3."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        rows = 0
        started = time.perf_counter()
        con.execute("BEGIN")
        for table in _seeded_tables():
            cursor = con.execute(f'SELECT * FROM "{table.name}" ORDER BY {_order_by(table, collate_c=False)}')
            while batch := cursor.fetchmany(5000):
                rows += len(batch)
        con.execute("COMMIT")
        return time.perf_counter() - started, rows
    finally:
        con.close()


# ------------------------------------------------------------------------------------------ naive


class _WingFlap:
    """The naive seeder's ORM class: a plain mapping of the wing_flaps table."""

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)


_MAPPED: list[bool] = []


def _map_wing_flaps() -> None:
    from echelon_project.schema import wing_flaps
    from sqlalchemy.orm import registry

    if not _MAPPED:
        registry().map_imperatively(_WingFlap, wing_flaps)
        _MAPPED.append(True)


def naive_sample(anchor: datetime, count: int) -> list[dict[str, Any]]:
    """The first `count` generated wing flaps as typed column dicts (built before any clock starts)."""
    from echelon_seed import fixtures, project

    fixture_set = fixtures.load(project.data_dir())
    fixture = fixture_set.table("wing_flaps")
    assert fixture is not None and fixture.spec is not None
    scale = math.ceil(count / int(fixture.spec["count"]))
    names = list(fixture.table.columns.keys())
    rows = itertools.islice(fixture_set.rows(fixture, anchor=anchor, scale=scale), count)
    return [dict(zip(names, row, strict=True)) for row in rows]


async def naive_insert(url: str, sample: list[dict[str, Any]]) -> float:
    """Seconds for the team's current seeder: session.add + session.flush() per row, one commit.

    The engine comes from echelon_seed.engines so that it is configured exactly
    as apply's (UTC sessions, SQLite foreign keys on and BEGIN IMMEDIATE).
    """
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession

    from echelon_seed import engines

    _map_wing_flaps()
    database = engines.open_database(url, write=True)
    try:
        async with AsyncSession(database.engine, expire_on_commit=False) as session:
            async with session.begin():
                await session.execute(text("DELETE FROM wing_flaps"))
            started = time.perf_counter()
            async with session.begin():
                for values in sample:
                    session.add(_WingFlap(**values))
                    await session.flush()
            return time.perf_counter() - started
    finally:
        await database.dispose()


# ----------------------------------------------------------------------------------- measurement


@dataclass
class EngineFigures:
    """Raw measurements of one engine at one scale (lists hold one value per run)."""

    rows: int = 0
    apply_s: list[float] = field(default_factory=list)
    apply_wall_s: list[float] = field(default_factory=list)
    apply_rss_mb: list[float] = field(default_factory=list)
    apply_hwm_mb: list[float] = field(default_factory=list)
    raw_in_s: list[float] = field(default_factory=list)
    raw_in_deferred_s: list[float] = field(default_factory=list)
    pg_restore_s: list[float] = field(default_factory=list)
    snapshot_s: list[float] = field(default_factory=list)
    snapshot_wall_s: list[float] = field(default_factory=list)
    snapshot_rss_mb: list[float] = field(default_factory=list)
    snapshot_hwm_mb: list[float] = field(default_factory=list)
    raw_out_s: list[float] = field(default_factory=list)
    verify_s: list[float] = field(default_factory=list)
    verify_rss_mb: list[float] = field(default_factory=list)
    verify_hwm_mb: list[float] = field(default_factory=list)


class Bench:
    """Runs every measurement; owns the scratch directory, the targets and the children's environment."""

    def __init__(self, server: Any, scratch: Path, runs: int) -> None:
        self.scratch = scratch
        self.runs = runs
        self.targets = Targets(server, scratch)
        child_tmp = scratch / "tmp"
        child_tmp.mkdir()
        self.env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("ECHELON_")}
        # Spooled snapshot bodies and verify's scratch land here and go with it.
        self.env["TMPDIR"] = str(child_tmp)
        self.anchor = datetime.fromisoformat(ANCHOR)

    def cli(self, argv: Sequence[str], label: str) -> ChildRun:
        return run_cli(argv, scratch=self.scratch, env=self.env, label=label)

    # -- start-up ------------------------------------------------------------------------------

    def startup(self) -> dict[str, list[float]]:
        """Whole-process wall times: `python -c pass`, `echelon-seed --version`, and no-op applies.

        These are the figures a user feels on every call; the no-op apply (a
        database that already holds this seed) is what a dev loop or CI step
        pays when nothing changed. It is timed as users run it (answered by
        the stamp) and, as the baseline, with `--anchor`, which always takes
        the full path (SQLAlchemy, the project, the fixtures, the record).
        """
        script = Path(PYTHON).parent / "echelon-seed"
        command = [str(script)] if script.exists() else [PYTHON, "-m", "echelon_seed"]
        targets = {engine: self.targets.fresh(engine, "noop") for engine in ("sqlite", "postgresql")}
        try:
            for _engine, (_handle, url) in targets.items():
                self._wall([*command, "apply", "--database-url", url, "--quiet", "--anchor", ANCHOR])
            out: dict[str, list[float]] = {k: [] for k in ("python", "version", "noop_apply", "noop_full", "noop_pg")}
            noop = [*command, "apply", "--quiet", "--database-url"]
            for _ in range(STARTUP_RUNS):
                out["python"].append(self._wall([PYTHON, "-c", "pass"]))
                out["version"].append(self._wall([*command, "--version"]))
                out["noop_apply"].append(self._wall([*noop, targets["sqlite"][1]]))
                out["noop_full"].append(self._wall([*noop, targets["sqlite"][1], "--anchor", ANCHOR]))
                out["noop_pg"].append(self._wall([*noop, targets["postgresql"][1]]))
        finally:
            for engine, (handle, _url) in targets.items():
                self.targets.drop(engine, handle)
        log(
            "start-up medians: python -c pass {:.0f} ms, --version {:.0f} ms, no-op apply {:.0f} ms "
            "(full path {:.0f} ms; PostgreSQL {:.0f} ms)".format(*(_median(v) * 1000 for v in out.values()))
        )
        return out

    def _wall(self, argv: Sequence[str]) -> float:
        started = time.perf_counter()
        subprocess.run(argv, env=self.env, cwd=self.scratch, check=True, capture_output=True)
        return time.perf_counter() - started

    # -- naive ---------------------------------------------------------------------------------

    def fixed_cost(self, engine: str) -> list[float]:
        """Seconds of cli.main for apply at scale 1 (161 rows): the per-apply cost that no row pays.

        Migrations, engine set-up and the seed record dominate small scales; with it the
        marginal rate (rows beyond scale 1 per second beyond it) can be told from the total.
        """
        seconds = []
        for _ in range(self.runs):
            handle, url = self.targets.fresh(engine, "fixed")
            try:
                argv = ["apply", "--database-url", url, "--force", "--quiet", "--scale", "1", "--anchor", ANCHOR]
                seconds.append(self.cli(argv, f"apply scale 1 {engine}").seconds)
            finally:
                self.targets.drop(engine, handle)
        log(f"apply {engine} scale 1 (fixed cost): median {_median(seconds) * 1000:.0f} ms")
        return seconds

    def naive(self, engine: str) -> list[float]:
        """Rows/s of the ORM flush-per-row seeder, one value per run."""
        sample = naive_sample(self.anchor, NAIVE_ROWS)
        rates = []
        for run in range(self.runs):
            handle, url = self.targets.fresh(engine, "naive")
            try:
                self.cli(
                    ["apply", "--database-url", url, "--quiet", "--force", "--anchor", ANCHOR], f"naive setup {engine}"
                )
                seconds = asyncio.run(naive_insert(url, sample))
                rates.append(len(sample) / seconds)
                log(f"naive {engine} run {run + 1}: {len(sample):,} rows in {seconds:.2f} s = {rates[-1]:,.0f} rows/s")
            finally:
                self.targets.drop(engine, handle)
        return rates

    # -- one scale -----------------------------------------------------------------------------

    def scale(self, engine: str, scale: int) -> EngineFigures:
        figures = EngineFigures(rows=sum(expected_rows(scale, self.anchor).values()))
        seeded: tuple[str, str] | None = None
        try:
            seeded = self._apply(engine, scale, figures)
            self._raw_in(engine, scale, figures)
            if engine == "postgresql":
                self._pg_restore(seeded, figures)
            self._snapshot(engine, seeded[1], figures)
            self._raw_out(engine, seeded, figures)
            self._verify(engine, scale, seeded[1], figures)
        finally:
            if seeded is not None:
                self.targets.drop(engine, seeded[0])
        return figures

    def _apply(self, engine: str, scale: int, figures: EngineFigures) -> tuple[str, str]:
        """Apply on a brand-new database each run; keep the last one for the read benchmarks."""
        kept: tuple[str, str] | None = None
        for run in range(self.runs):
            handle, url = self.targets.fresh(engine, f"apply_{scale}")
            try:
                argv = ["apply", "--database-url", url, "--force", "--quiet", "--scale", str(scale)]
                child = self.cli([*argv, "--anchor", ANCHOR], f"apply {engine} scale {scale}")
            except BaseException:
                self.targets.drop(engine, handle)
                raise
            figures.apply_s.append(child.seconds)
            figures.apply_wall_s.append(child.wall)
            figures.apply_rss_mb.append(child.maxrss_mb)
            figures.apply_hwm_mb.append(child.vmhwm_mb)
            log(
                f"apply {engine} scale {scale} run {run + 1}: {figures.rows:,} rows in {child.seconds:.2f} s "
                f"({figures.rows / child.seconds:,.0f} rows/s; process {child.wall:.2f} s, "
                f"peak RSS {child.maxrss_mb:.0f} MB, VmHWM {child.vmhwm_mb:.0f})"
            )
            if kept is not None:
                self.targets.drop(engine, kept[0])
            kept = (handle, url)
        assert kept is not None
        return kept

    def _raw_in(self, engine: str, scale: int, figures: EngineFigures) -> None:
        tables: list[tuple[Table, list[tuple[Any, ...]]]] = []
        variants = [False, True] if engine == "postgresql" else [False]
        try:
            for run in range(self.runs):
                for defer in variants:
                    handle, url = self.targets.fresh(engine, f"raw_{scale}")
                    try:
                        dialect = asyncio.run(migrate_fresh(url))
                        if not tables:
                            started = time.perf_counter()
                            tables = build_rows(dialect, scale, self.anchor)
                            built = sum(len(rows) for _, rows in tables)
                            log(f"built {built:,} {engine} rows in {time.perf_counter() - started:.1f} s (untimed)")
                            if built != figures.rows:
                                raise RuntimeError(f"raw rows {built} != expected {figures.rows}")
                        if engine == "postgresql":
                            seconds = asyncio.run(raw_copy_in(url, tables, defer_fks=defer))
                        else:
                            seconds = raw_executemany(handle, tables)
                    finally:
                        self.targets.drop(engine, handle)
                    (figures.raw_in_deferred_s if defer else figures.raw_in_s).append(seconds)
                    what = "COPY, FKs re-added after" if defer else "COPY" if engine == "postgresql" else "executemany"
                    log(
                        f"raw {what} {engine} scale {scale} run {run + 1}: {seconds:.2f} s "
                        f"({figures.rows / seconds:,.0f} rows/s)"
                    )
        finally:
            tables.clear()

    def _pg_restore(self, seeded: tuple[str, str], figures: EngineFigures) -> None:
        """pg_restore --single-transaction of a pg_dump -Fc of the seeded database into an empty one.

        The dump is taken untimed; the restore does all that apply does on the
        server (tables, data, then indexes and foreign keys, one transaction),
        so it is the like-for-like limit for apply into an empty database.
        """
        dump = self.scratch / "seeded.dump"
        env = pg_client_env(seeded[1])
        bindir = pg_bindir()
        try:
            subprocess.run(
                [str(bindir / "pg_dump"), "-Fc", "--no-owner", "-f", str(dump), seeded[0]], env=env, check=True
            )
            for run in range(self.runs):
                handle, _url = self.targets.fresh("postgresql", "restore")
                try:
                    started = time.perf_counter()
                    subprocess.run(
                        [str(bindir / "pg_restore"), "--single-transaction", "--no-owner", "-d", handle, str(dump)],
                        env=env,
                        check=True,
                    )
                    seconds = time.perf_counter() - started
                finally:
                    self.targets.drop("postgresql", handle)
                figures.pg_restore_s.append(seconds)
                log(f"pg_restore run {run + 1}: {seconds:.2f} s ({figures.rows / seconds:,.0f} rows/s)")
        finally:
            dump.unlink(missing_ok=True)

    def _snapshot(self, engine: str, url: str, figures: EngineFigures) -> None:
        for run in range(self.runs):
            child = self.cli(["snapshot", "--database-url", url, "-o", "-", "--quiet"], f"snapshot {engine}")
            figures.snapshot_s.append(child.seconds)
            figures.snapshot_wall_s.append(child.wall)
            figures.snapshot_rss_mb.append(child.maxrss_mb)
            figures.snapshot_hwm_mb.append(child.vmhwm_mb)
            log(
                f"snapshot {engine} run {run + 1}: {child.seconds:.2f} s "
                f"({figures.rows / child.seconds:,.0f} rows/s; peak RSS {child.maxrss_mb:.0f} MB, VmHWM {child.vmhwm_mb:.0f})"
            )

    def _raw_out(self, engine: str, seeded: tuple[str, str], figures: EngineFigures) -> None:
        for run in range(self.runs):
            if engine == "postgresql":
                seconds, rows = asyncio.run(raw_copy_out(seeded[1]))
            else:
                seconds, rows = raw_select(seeded[0])
            if rows != figures.rows:
                raise RuntimeError(f"raw read of {engine} gave {rows} rows, expected {figures.rows}")
            figures.raw_out_s.append(seconds)
            log(f"raw read {engine} run {run + 1}: {seconds:.2f} s ({rows / seconds:,.0f} rows/s)")

    def _verify(self, engine: str, scale: int, url: str, figures: EngineFigures) -> None:
        golden = self.scratch / f"golden-{engine}-{scale}.manifest.json"
        common = ["--database-url", url, "--scale", str(scale), "--golden", str(golden), "--quiet"]
        try:
            self.cli(["verify", *common, "--update"], f"verify --update {engine}")
            for run in range(self.runs):
                child = self.cli(["verify", *common], f"verify {engine}")
                figures.verify_s.append(child.seconds)
                figures.verify_rss_mb.append(child.maxrss_mb)
                figures.verify_hwm_mb.append(child.vmhwm_mb)
                log(
                    f"verify {engine} run {run + 1}: {child.seconds:.2f} s, peak RSS {child.maxrss_mb:.0f} MB, VmHWM {child.vmhwm_mb:.0f}"
                )
        finally:
            golden.unlink(missing_ok=True)


# -------------------------------------------------------------------------------------- summary


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def _rate(rows: int, seconds: Sequence[float]) -> float:
    return rows / _median(seconds) if seconds else math.nan


def summarise(
    figures: dict[int, dict[str, EngineFigures]],
    naive: dict[str, list[float]],
    fixed: dict[str, list[float]],
    base_rows: int,
) -> dict[str, Any]:
    """Medians, ratios and PASS/MISS verdicts, as the JSON line carries them."""
    scales: dict[str, Any] = {}
    for scale, by_engine in figures.items():
        out: dict[str, Any] = {}
        for engine, f in by_engine.items():
            apply_rate = _rate(f.rows, f.apply_s)
            raw_in = _rate(f.rows, f.raw_in_s)
            raw_in_deferred = _rate(f.rows, f.raw_in_deferred_s)
            naive_rate = _median(naive.get(engine, []))
            snapshot_rate = _rate(f.rows, f.snapshot_s)
            raw_out = _rate(f.rows, f.raw_out_s)
            entry: dict[str, Any] = {
                "rows": f.rows,
                "apply_s": _median(f.apply_s),
                "apply_rows_s": apply_rate,
                "apply_process_s": _median(f.apply_wall_s),
                "apply_process_rows_s": _rate(f.rows, f.apply_wall_s),
                "apply_fixed_s": _median(fixed.get(engine, [])),
                "apply_marginal_rows_s": (f.rows - base_rows) / (_median(f.apply_s) - _median(fixed.get(engine, []))),
                "raw_in_s": _median(f.raw_in_s),
                "raw_in_rows_s": raw_in,
                "apply_vs_raw": apply_rate / raw_in,
                "naive_rows_s": naive_rate,
                "apply_vs_naive": apply_rate / naive_rate,
                "snapshot_s": _median(f.snapshot_s),
                "snapshot_rows_s": snapshot_rate,
                "snapshot_process_s": _median(f.snapshot_wall_s),
                "raw_out_s": _median(f.raw_out_s),
                "raw_out_rows_s": raw_out,
                "snapshot_vs_raw": snapshot_rate / raw_out,
                "apply_rss_mb": max(f.apply_rss_mb),
                "snapshot_rss_mb": max(f.snapshot_rss_mb),
                "verify_s": _median(f.verify_s),
                "verify_rss_mb": max(f.verify_rss_mb),
                "vmhwm_mb": {
                    "apply": max(f.apply_hwm_mb),
                    "snapshot": max(f.snapshot_hwm_mb),
                    "verify": max(f.verify_hwm_mb),
                },
                "runs": {
                    "apply_s": f.apply_s,
                    "raw_in_s": f.raw_in_s,
                    "snapshot_s": f.snapshot_s,
                    "raw_out_s": f.raw_out_s,
                },
            }
            if f.pg_restore_s:
                entry["pg_restore_s"] = _median(f.pg_restore_s)
                entry["pg_restore_rows_s"] = _rate(f.rows, f.pg_restore_s)
                entry["apply_vs_pg_restore"] = apply_rate / entry["pg_restore_rows_s"]
                entry["runs"]["pg_restore_s"] = f.pg_restore_s
            if f.raw_in_deferred_s:
                entry["raw_in_deferred_fk_rows_s"] = raw_in_deferred
                entry["apply_vs_raw_deferred_fk"] = apply_rate / raw_in_deferred
                entry.setdefault("pass_info", {})["apply_vs_raw_deferred_fk"] = (
                    entry["apply_vs_raw_deferred_fk"] >= APPLY_VS_RAW
                )
                entry["runs"]["raw_in_deferred_fk_s"] = f.raw_in_deferred_s
            entry["pass"] = {
                "apply_vs_naive": entry["apply_vs_naive"] >= APPLY_VS_NAIVE,
                "snapshot_vs_raw": entry["snapshot_vs_raw"] >= SNAPSHOT_VS_RAW,
            }
            # The apply target is engine-specific: PostgreSQL against pg_restore (like for like:
            # tables, data, indexes and foreign keys in one transaction), SQLite against executemany.
            if "apply_vs_pg_restore" in entry:
                entry["pass"]["apply_vs_pg_restore"] = entry["apply_vs_pg_restore"] >= APPLY_VS_PG_RESTORE
                entry.setdefault("pass_info", {})["apply_vs_raw"] = entry["apply_vs_raw"] >= APPLY_VS_RAW
            else:
                entry["pass"]["apply_vs_raw"] = entry["apply_vs_raw"] >= APPLY_VS_RAW
            if scale == RSS_SCALE:
                entry["pass"]["apply_rss"] = entry["apply_rss_mb"] < RSS_LIMIT_MB
                entry["pass"]["verify_rss"] = entry["verify_rss_mb"] < RSS_LIMIT_MB
            out[engine] = entry
        scales[str(scale)] = out
    growth: dict[str, Any] = {}
    if str(RSS_SCALE) in scales and str(RSS_BASE_SCALE) in scales:
        for engine in ENGINES:
            big, small = scales[str(RSS_SCALE)].get(engine), scales[str(RSS_BASE_SCALE)].get(engine)
            if big and small:
                growth[engine] = {}
                for what in ("apply", "verify"):
                    ratio = big[f"{what}_rss_mb"] / small[f"{what}_rss_mb"]
                    growth[engine][what] = {"ratio": ratio, "pass": ratio <= RSS_GROWTH}
    return {"scales": scales, "rss_growth": growth}


def summarise_startup(startup: dict[str, list[float]]) -> dict[str, Any]:
    python, version, noop = (_median(startup[k]) for k in ("python", "version", "noop_apply"))
    return {
        "python_ms": python * 1000,
        "version_ms": version * 1000,
        "version_vs_python": version / python,
        "noop_apply_ms": noop * 1000,
        "noop_full_ms": _median(startup["noop_full"]) * 1000,
        "noop_pg_ms": _median(startup["noop_pg"]) * 1000,
        "pass": {"version_vs_python": version / python <= STARTUP_VS_PYTHON, "noop_apply": noop <= NOOP_APPLY_S},
        "runs": startup,
    }


def _json_safe(value: Any) -> Any:
    """NaN (a figure that could not be measured) becomes null: the line must stay strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def render(machine: dict[str, Any], summary: dict[str, Any]) -> str:
    """The human table: one block per scale, engines side by side, targets next to the figures."""
    lines = ["", "echelon-seed benchmark (issues 5 and 14)"]
    lines.append(
        f"machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['ram_gb']:.1f} GB RAM; "
        f"Python {machine['python']}; PostgreSQL {machine['postgresql']}; SQLite {machine['sqlite']}; "
        f"SQLAlchemy {machine['sqlalchemy']}; asyncpg {machine['asyncpg']}"
    )
    lines.append(f"runs per figure: {machine['runs']} (medians; RSS is the max)")
    start, end = machine["loadavg_start"], machine.get("loadavg_end", [math.nan])
    lines.append(
        f"load average (1 min) at start {start[0]:.2f}, at end {end[0]:.2f}"
        + ("  ** the machine was busy: timings are noisy **" if max(start[0], end[0]) > 1.0 else "")
    )
    width = 34

    def row(label: str, cells: list[str], target: str = "") -> str:
        return f"{label:<{width}}" + "".join(f"{c:>24}" for c in cells) + (f"   {target}" if target else "")

    def num(value: float, fmt: str = ",.0f") -> str:
        return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)

    for scale, by_engine in summary["scales"].items():
        engines = [e for e in ENGINES if e in by_engine]
        first = by_engine[engines[0]]
        lines += ["", f"scale {int(scale):,}: {first['rows']:,} rows per apply/snapshot", "-" * (width + 24 * 2 + 20)]
        lines.append(row("", engines, "target"))

        def cells(
            key: str,
            fmt: str = ",.0f",
            verdict: str | None = None,
            engines: list[str] = engines,
            by_engine: dict[str, Any] = by_engine,
        ) -> list[str]:
            out = []
            for e in engines:
                text = num(by_engine[e].get(key, math.nan), fmt)
                verdicts = {**by_engine[e]["pass"], **by_engine[e].get("pass_info", {})}
                if verdict is not None and verdict in verdicts:
                    text += " " + _verdict(verdicts[verdict])
                out.append(text)
            return out

        lines.append(row("apply rows/s (cli.main)", cells("apply_rows_s")))
        lines.append(row("  apply seconds", cells("apply_s", ".2f")))
        lines.append(row("  process wall s (w/ startup)", cells("apply_process_s", ".2f")))
        lines.append(row("  fixed cost s (apply at scale 1)", cells("apply_fixed_s", ".3f")))
        lines.append(row("  marginal rows/s (beyond scale 1)", cells("apply_marginal_rows_s")))
        lines.append(row("raw insert rows/s", cells("raw_in_rows_s")))
        lines.append(
            row(
                "  apply / raw",
                cells("apply_vs_raw", ".2f", "apply_vs_raw"),
                f">= {APPLY_VS_RAW} (SQLite; info on PostgreSQL)",
            )
        )
        if any("pg_restore_rows_s" in by_engine[e] for e in engines):
            lines.append(row("pg_restore --single-transaction r/s", cells("pg_restore_rows_s")))
            lines.append(
                row(
                    "  apply / pg_restore",
                    cells("apply_vs_pg_restore", ".2f", "apply_vs_pg_restore"),
                    f">= {APPLY_VS_PG_RESTORE}",
                )
            )
        if any("raw_in_deferred_fk_rows_s" in by_engine[e] for e in engines):
            lines.append(row("raw COPY, FKs re-added, rows/s", cells("raw_in_deferred_fk_rows_s")))
            lines.append(
                row(
                    "  apply / that (like for like)",
                    cells("apply_vs_raw_deferred_fk", ".2f", "apply_vs_raw_deferred_fk"),
                    f">= {APPLY_VS_RAW} (info, not in all_pass)",
                )
            )
        lines.append(row(f"naive ORM rows/s ({NAIVE_ROWS:,} flaps)", cells("naive_rows_s")))
        lines.append(row("  apply / naive", cells("apply_vs_naive", ".1f", "apply_vs_naive"), f">= {APPLY_VS_NAIVE:g}"))
        lines.append(row("snapshot rows/s (cli.main)", cells("snapshot_rows_s")))
        lines.append(row("  snapshot seconds", cells("snapshot_s", ".2f")))
        lines.append(row("raw read rows/s (COPY out/SELECT)", cells("raw_out_rows_s")))
        lines.append(
            row("  snapshot / raw", cells("snapshot_vs_raw", ".2f", "snapshot_vs_raw"), f">= {SNAPSHOT_VS_RAW}")
        )
        rss_target = f"< {RSS_LIMIT_MB:g} MB at scale {RSS_SCALE:,}" if int(scale) == RSS_SCALE else ""
        lines.append(row("apply peak RSS MB", cells("apply_rss_mb", ".1f", "apply_rss"), rss_target))
        lines.append(row("verify peak RSS MB", cells("verify_rss_mb", ".1f", "verify_rss"), rss_target))
        lines.append(row("  verify seconds", cells("verify_s", ".2f")))
        lines.append(row("snapshot peak RSS MB", cells("snapshot_rss_mb", ".1f"), "(info)"))
    startup = summary.get("startup")
    if startup:
        lines += ["", "start-up (whole process, SQLite, medians)"]
        lines.append(row("python -c pass, ms", [num(startup["python_ms"], ".0f")]))
        lines.append(
            row(
                "echelon-seed --version, ms",
                [
                    f"{num(startup['version_ms'], '.0f')} ({num(startup['version_vs_python'], '.1f')}x)"
                    f" {_verdict(startup['pass']['version_vs_python'])}"
                ],
                f"<= {STARTUP_VS_PYTHON:g}x python -c pass",
            )
        )
        lines.append(
            row(
                "apply, already seeded, ms",
                [f"{num(startup['noop_apply_ms'], '.0f')} {_verdict(startup['pass']['noop_apply'])}"],
                f"<= {NOOP_APPLY_S * 1000:.0f} ms (idle machine)",
            )
        )
        lines.append(row("  full path (--anchor), ms", [num(startup["noop_full_ms"], ".0f")], "(baseline)"))
        lines.append(row("  on PostgreSQL, ms", [num(startup["noop_pg_ms"], ".0f")], "(info)"))
    growth = summary["rss_growth"]
    if growth:
        lines += ["", f"peak RSS growth, scale {RSS_SCALE:,} / scale {RSS_BASE_SCALE:,}"]
        for what in ("apply", "verify"):
            parts = [f"{num(growth[e][what]['ratio'], '.2f')} {_verdict(growth[e][what]['pass'])}" for e in growth if e]
            lines.append(row(f"  {what}", parts, f"<= {RSS_GROWTH}"))
    lines.append("")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- machine


def machine_info(server: Any, runs: int) -> dict[str, Any]:
    """What the figures were measured on, so that two reports can be compared fairly."""
    import asyncpg
    import sqlalchemy

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    except OSError:
        pass

    async def pg_version() -> str:
        conn = await asyncpg.connect(**pg_connect_kwargs(server.admin_url))
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "ram_gb": ram_kb / 1024**2,
        "python": platform.python_version(),
        "postgresql": asyncio.run(pg_version()),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "asyncpg": asyncpg.__version__,
        "runs": runs,
        "loadavg_start": list(os.getloadavg()),
    }


# ----------------------------------------------------------------------------------------- main


@contextmanager
def _terminations_unwind() -> Iterator[None]:
    """SIGTERM/SIGHUP raise SystemExit, so the finally blocks drop databases and stop the server."""

    def handler(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scales", default="1000,10000", help="comma-separated scales (default 1000,10000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per timing; medians are reported (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke check: scale 100 only, 1 run")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of sqlite,postgresql")
    args = parser.parse_args(argv)
    args.scales = [100] if args.quick else [int(s) for s in args.scales.split(",") if s.strip()]
    args.runs = 1 if args.quick else args.runs
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if args.runs < 1 or any(s < 1 for s in args.scales) or not set(args.engines) <= set(ENGINES):
        parser.error("runs and scales must be >= 1; engines among sqlite,postgresql")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))
    from tests import pgserver

    scratch = Path(tempfile.mkdtemp(prefix="echelon-bench-"))
    server = None
    bench: Bench | None = None
    try:
        with _terminations_unwind():
            log("starting a throwaway PostgreSQL server")
            server = pgserver.start()
            machine = machine_info(server, args.runs)
            bench = Bench(server, scratch, args.runs)
            startup = bench.startup()
            naive = {engine: bench.naive(engine) for engine in args.engines}
            fixed = {engine: bench.fixed_cost(engine) for engine in args.engines}
            base_rows = sum(expected_rows(1, bench.anchor).values())
            figures: dict[int, dict[str, EngineFigures]] = {}
            for scale in args.scales:
                figures[scale] = {engine: bench.scale(engine, scale) for engine in args.engines}
            summary = summarise(figures, naive, fixed, base_rows)
            summary["startup"] = summarise_startup(startup)
            machine["loadavg_end"] = list(os.getloadavg())
            print(render(machine, summary), flush=True)
            verdicts = [v for s in summary["scales"].values() for e in s.values() for v in e["pass"].values()]
            verdicts += [w["pass"] for g in summary["rss_growth"].values() for w in g.values()]
            verdicts += list(summary["startup"]["pass"].values())
            line = {
                "bench": "echelon-seed",
                "machine": machine,
                "anchor": ANCHOR,
                "naive_rows": NAIVE_ROWS,
                "naive_rows_s": {e: _median(v) for e, v in naive.items()},
                **summary,
                "all_pass": all(verdicts),
            }
            print(json.dumps(_json_safe(line), separators=(",", ":"), allow_nan=False), flush=True)
        return 0
    finally:
        if bench is not None:
            bench.targets.drop_all()
        if server is not None:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
