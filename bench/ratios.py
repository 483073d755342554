"""Issue 24's ratios in one run: each figure beside its limit, with the CPU each side spent.

    .venv/bin/python bench/ratios.py                         # scale 10,000, one round
    .venv/bin/python bench/ratios.py --scales 1000 --runs 3

Wall ratios of two-process pipelines (client and server, or the SQLite
writer and its forked row-maker) collapse on a busy two-core machine, so
every figure carries the CPU seconds of the client (the measured child and
the children it reaped, from `wait4`; in-process figures from
`time.process_time`) and of the server (the postmaster's own and reaped
children's CPU plus its live children's, from /proc, read before and after
once the backends have gone). PostgreSQL figures are measured on two
servers started for the run, one with initdb's defaults (fsync on, as users
run it) and one tuned for throwaway use (fsync, synchronous_commit and
full_page_writes off); each figure names the settings it was measured with.

"warm" is `apply` a second time with the replay cache (issue 24,
behaviour 2) in a cache directory of the run; "cold" is `apply --no-cache`.
Where this version of apply has no `--no-cache` there is no cache: cold is
today's apply and warm is reported as not measured.
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench as b

# Issue 24's targets: each ratio is the limit's time over ours (our rate over the limit's rate).
TARGETS = {
    "pg_cold": 0.3,  # PostgreSQL apply (generating) / pg_restore --single-transaction
    "pg_warm": 0.8,  # PostgreSQL apply (replayed) / pg_restore
    "sqlite_cold": 0.8,  # SQLite apply (generating) / raw executemany of pre-built tuples
    "sqlite_warm": 2.0,  # SQLite apply (replayed) / raw executemany
    "pg_snapshot": 0.4,  # snapshot / COPY (SELECT … ORDER BY key) TO STDOUT
    "sqlite_snapshot": 0.5,  # snapshot / ordered SELECT fetched in full
}
LABELS = {
    "pg_cold": "PostgreSQL apply cold / pg_restore",
    "pg_warm": "PostgreSQL apply warm / pg_restore",
    "sqlite_cold": "SQLite apply cold / executemany",
    "sqlite_warm": "SQLite apply warm / executemany",
    "pg_snapshot": "PostgreSQL snapshot / COPY out",
    "sqlite_snapshot": "SQLite snapshot / SELECT",
}
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Cost:
    """One measured side of a ratio: wall seconds, client CPU seconds, server CPU seconds (PostgreSQL)."""

    wall: float
    client: float
    server: float = math.nan
    peak_mb: float = math.nan  # our command's peak RSS, the largest of its process and the children it reaped


@dataclass
class Pair:
    """Ours against the limit, one Cost per round."""

    ours: list[Cost] = field(default_factory=list)
    limit: list[Cost] = field(default_factory=list)
    settings: str = ""  # the PostgreSQL server's durability settings, or "" for SQLite
    note: str = ""

    def summary(self, target: float) -> dict[str, Any]:
        def median(costs: list[Cost], what: str) -> float:
            values = [getattr(c, what) for c in costs]
            return statistics.median(values) if values else math.nan

        ours, limit = median(self.ours, "wall"), median(self.limit, "wall")
        ratio = limit / ours if self.ours and self.limit else math.nan
        return {
            "ratio": ratio,
            "target": target,
            "pass": None if math.isnan(ratio) else ratio >= target,
            "ours_s": ours,
            "limit_s": limit,
            "ours_client_cpu_s": median(self.ours, "client"),
            "ours_server_cpu_s": median(self.ours, "server"),
            "limit_client_cpu_s": median(self.limit, "client"),
            "limit_server_cpu_s": median(self.limit, "server"),
            "ours_peak_rss_mb": max((c.peak_mb for c in self.ours), default=math.nan),
            "server_settings": self.settings,
            "note": self.note,
            "rounds": len(self.ours),
        }


class ServerCpu:
    """CPU seconds a PostgreSQL server has spent: the postmaster, its reaped children and its live ones."""

    def __init__(self, datadir: Path) -> None:
        self.pid = int((datadir / "postmaster.pid").read_text().split()[0])
        self.resident = len(self._children())  # checkpointer, WAL writer, autovacuum launcher...

    @staticmethod
    def _stat(pid: int) -> tuple[int, list[int]]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), [int(x) for x in fields[11:15]]  # ppid; utime, stime, cutime, cstime

    def _children(self) -> list[list[int]]:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    parent, times = self._stat(int(entry))
                except (OSError, ValueError, IndexError):
                    continue
                if parent == self.pid:
                    found.append(times)
        return found

    def read(self) -> float:
        """Once the measured sessions' backends have exited and been reaped (their CPU is then the postmaster's)."""
        deadline = time.monotonic() + 5.0
        while len(children := self._children()) > self.resident and time.monotonic() < deadline:
            time.sleep(0.05)
        own = self._stat(self.pid)[1]
        return (sum(own) + sum(t[0] + t[1] for t in children)) / _TICK


def _spawned(argv: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of a program (pg_restore), from its own wait4."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def _in_process(work: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU seconds of `work` run here (all threads of this process)."""
    cpu, started = time.process_time(), time.perf_counter()
    work()
    return time.perf_counter() - started, time.process_time() - cpu


async def _settings(url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(**b.pg_connect_kwargs(url))
    try:
        names = ("fsync", "synchronous_commit", "full_page_writes")
        return " ".join([f"{name}={await conn.fetchval(f'SHOW {name}')}" for name in names])
    finally:
        await conn.close()


def has_replay_cache() -> bool:
    """Whether this apply has the replay cache (it then takes --no-cache)."""
    done = subprocess.run(
        [b.PYTHON, "-m", "echelon_seed", "apply", "--help"], capture_output=True, text=True, cwd=b.REPO, check=False
    )
    return "--no-cache" in done.stdout


class Ratios:
    """The measurements of one run; `bench` gives the children's environment, the targets and the rows."""

    def __init__(self, bench: b.Bench, scale: int, runs: int, cache: bool) -> None:
        self.bench = bench
        self.scale = scale
        self.runs = runs
        self.cache = cache
        self.rows = sum(b.expected_rows(scale, bench.anchor).values())
        if cache:
            self.bench.env["ECHELON_SEED_CACHE_DIR"] = str(bench.scratch / "cache")

    def _apply(self, engine: str, url: str, *, warm: bool) -> b.ChildRun:
        argv = ["apply", "--database-url", url, "--force", "--quiet", "--scale", str(self.scale), "--anchor", b.ANCHOR]
        if self.cache and not warm:
            argv.append("--no-cache")
        return self.bench.cli(argv, f"apply {'warm' if warm else 'cold'} {engine} scale {self.scale}")

    def _prime(self, engine: str, targets: b.Targets) -> None:
        """An untimed apply with the cache, into a database of its own: it keeps the rows the warm apply replays."""
        primer, primer_url = targets.fresh(engine, f"prime_{self.scale}")
        try:
            self._apply(engine, primer_url, warm=True)
        finally:
            targets.drop(engine, primer)

    # -- PostgreSQL ------------------------------------------------------------------------------

    def postgresql(self, server: Any, targets: b.Targets) -> dict[str, Pair]:
        cpu = ServerCpu(server._datadir)
        settings = asyncio.run(_settings(server.admin_url))
        note = "" if self.cache else "no replay cache in this version (apply has no --no-cache)"
        pairs = {key: Pair(settings=settings) for key in ("pg_cold", "pg_warm", "pg_snapshot")}
        pairs["pg_warm"].note = note
        env = b.pg_client_env(server.admin_url)
        bindir = b.pg_bindir()
        for run in range(self.runs):
            handle, url = targets.fresh("postgresql", f"cold_{self.scale}")
            try:
                before = cpu.read()
                child = self._apply("postgresql", url, warm=False)
                pairs["pg_cold"].ours.append(Cost(child.seconds, child.cpu_s, cpu.read() - before, child.maxrss_mb))
                b.log(f"[{settings}] apply cold run {run + 1}: {child.seconds:.2f} s, client CPU {child.cpu_s:.2f} s")
                if self.cache:
                    self._prime("postgresql", targets)
                    again, again_url = targets.fresh("postgresql", f"warm_{self.scale}")
                    try:
                        before = cpu.read()
                        child = self._apply("postgresql", again_url, warm=True)
                        pairs["pg_warm"].ours.append(
                            Cost(child.seconds, child.cpu_s, cpu.read() - before, child.maxrss_mb)
                        )
                    finally:
                        targets.drop("postgresql", again)
                dump = self.bench.scratch / "ratios.dump"
                subprocess.run(
                    [str(bindir / "pg_dump"), "-Fc", "--no-owner", "-f", str(dump), handle], env=env, check=True
                )
                restored, _ = targets.fresh("postgresql", f"restore_{self.scale}")
                try:
                    before = cpu.read()
                    wall, client = _spawned(
                        [str(bindir / "pg_restore"), "--single-transaction", "--no-owner", "-d", restored, str(dump)],
                        env,
                    )
                    cost = Cost(wall, client, cpu.read() - before)
                finally:
                    targets.drop("postgresql", restored)
                    dump.unlink(missing_ok=True)
                pairs["pg_cold"].limit.append(cost)
                pairs["pg_warm"].limit.append(cost)
                b.log(f"[{settings}] pg_restore run {run + 1}: {wall:.2f} s, client CPU {client:.2f} s")

                before = cpu.read()
                child = self.bench.cli(["snapshot", "--database-url", url, "-o", "-", "--quiet"], "snapshot postgresql")
                pairs["pg_snapshot"].ours.append(Cost(child.seconds, child.cpu_s, cpu.read() - before, child.maxrss_mb))
                before = cpu.read()
                counted: list[int] = []
                wall, client = _in_process(
                    lambda url=url, counted=counted: counted.append(asyncio.run(b.raw_copy_out(url))[1])
                )
                pairs["pg_snapshot"].limit.append(Cost(wall, client, cpu.read() - before))
                if counted != [self.rows]:
                    raise RuntimeError(f"raw read gave {counted} rows, expected {self.rows}")
            finally:
                targets.drop("postgresql", handle)
        return pairs

    # -- SQLite ----------------------------------------------------------------------------------

    def sqlite(self, targets: b.Targets) -> dict[str, Pair]:
        pairs = {key: Pair() for key in ("sqlite_cold", "sqlite_warm", "sqlite_snapshot")}
        pairs["sqlite_warm"].note = "" if self.cache else "no replay cache in this version (apply has no --no-cache)"
        tables: list[Any] = []
        try:
            for run in range(self.runs):
                handle, url = targets.fresh("sqlite", f"cold_{self.scale}")
                try:
                    child = self._apply("sqlite", url, warm=False)
                    pairs["sqlite_cold"].ours.append(Cost(child.seconds, child.cpu_s, peak_mb=child.maxrss_mb))
                    b.log(f"[sqlite] apply cold run {run + 1}: {child.seconds:.2f} s, CPU {child.cpu_s:.2f} s")
                    if self.cache:
                        self._prime("sqlite", targets)
                        again, again_url = targets.fresh("sqlite", f"warm_{self.scale}")
                        try:
                            child = self._apply("sqlite", again_url, warm=True)
                            pairs["sqlite_warm"].ours.append(Cost(child.seconds, child.cpu_s, peak_mb=child.maxrss_mb))
                        finally:
                            targets.drop("sqlite", again)
                    raw, _raw_url = targets.fresh("sqlite", f"raw_{self.scale}")
                    try:
                        dialect = asyncio.run(b.migrate_fresh(_raw_url))
                        if not tables:
                            tables = b.build_rows(dialect, self.scale, self.bench.anchor)  # untimed
                        wall, client = _in_process(lambda raw=raw, tables=tables: b.raw_executemany(raw, tables))
                    finally:
                        targets.drop("sqlite", raw)
                    pairs["sqlite_cold"].limit.append(Cost(wall, client))
                    pairs["sqlite_warm"].limit.append(Cost(wall, client))
                    b.log(f"[sqlite] raw executemany run {run + 1}: {wall:.2f} s, CPU {client:.2f} s")

                    child = self.bench.cli(["snapshot", "--database-url", url, "-o", "-", "--quiet"], "snapshot sqlite")
                    pairs["sqlite_snapshot"].ours.append(Cost(child.seconds, child.cpu_s, peak_mb=child.maxrss_mb))
                    wall, client = _in_process(lambda handle=handle: b.raw_select(handle))
                    pairs["sqlite_snapshot"].limit.append(Cost(wall, client))
                finally:
                    targets.drop("sqlite", handle)
        finally:
            tables.clear()
        return pairs


def render(scale: int, rows: int, load: tuple[list[float], list[float]], results: dict[str, dict[str, Any]]) -> str:
    """The table: one line per ratio and server, its target, and the seconds and CPU behind it."""

    def num(value: float | None, fmt: str) -> str:
        return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)

    lines = [
        "",
        f"issue 24 ratios at scale {scale:,} ({rows:,} rows); load average (1 min) "
        f"{load[0][0]:.2f} at start, {load[1][0]:.2f} at end",
        f"{'':<38}{'ratio':>7}{'target':>8}   {'ours s':>7}{'limit s':>8}   "
        f"{'CPU ours client/server':>23}   {'CPU limit client/server':>24}   {'peak MB':>7}   server",
    ]
    for key, entry in results.items():
        verdict = "" if entry["pass"] is None else ("PASS" if entry["pass"] else "MISS")
        lines.append(
            f"{LABELS[key.split('@')[0]]:<38}{num(entry['ratio'], '.2f'):>7}{'>= ' + format(entry['target'], 'g'):>8} "
            f"{verdict:>4} {num(entry['ours_s'], '.2f'):>5}{num(entry['limit_s'], '.2f'):>8}   "
            f"{num(entry['ours_client_cpu_s'], '.2f'):>11} / {num(entry['ours_server_cpu_s'], '.2f'):<9}   "
            f"{num(entry['limit_client_cpu_s'], '.2f'):>12} / {num(entry['limit_server_cpu_s'], '.2f'):<9}   "
            f"{num(entry['ours_peak_rss_mb'], '.0f'):>7}   "
            f"{entry['server_settings'] or '-'}{'  (' + entry['note'] + ')' if entry['note'] else ''}"
        )
    return "\n".join(lines) + "\n"


def run(scale: int, runs: int, engines: Sequence[str], scratch: Path) -> dict[str, Any]:
    """Measure every ratio at `scale`; print the table; return the JSON line's content."""
    from tests import pgserver

    scratch.mkdir(parents=True, exist_ok=True)
    load_start = list(os.getloadavg())
    cache = has_replay_cache()
    results: dict[str, dict[str, Any]] = {}
    servers: list[Any] = []
    try:
        if "postgresql" in engines:
            for kind, durable in (("default", True), ("tuned", False)):
                b.log(f"starting a PostgreSQL server with {kind} settings")
                # An own server each (an adopted ECHELON_TEST_POSTGRES_URL has settings we did not choose).
                saved = os.environ.pop(pgserver.ENV_URL, None)
                try:
                    # The durable one on a real disk (/tmp), as users run it; the tuned one wherever the tests' go.
                    server = pgserver.start(durable=durable, parent=tempfile.gettempdir() if durable else None)
                finally:
                    if saved is not None:
                        os.environ[pgserver.ENV_URL] = saved
                servers.append(server)
                (scratch / kind).mkdir()
                bench = b.Bench(server, scratch / kind, runs)
                ratios = Ratios(bench, scale, runs, cache)
                try:
                    for key, pair in ratios.postgresql(server, bench.targets).items():
                        results[f"{key}@{kind}"] = pair.summary(TARGETS[key])
                finally:
                    bench.targets.drop_all()
                    server.stop()
        if "sqlite" in engines:
            (scratch / "sqlite").mkdir()
            bench = b.Bench(None, scratch / "sqlite", runs)
            ratios = Ratios(bench, scale, runs, cache)
            for key, pair in ratios.sqlite(bench.targets).items():
                results[key] = pair.summary(TARGETS[key])
    finally:
        for server in servers:
            server.stop()
    rows = sum(b.expected_rows(scale, b.datetime.fromisoformat(b.ANCHOR)).values())
    load = (load_start, list(os.getloadavg()))
    print(render(scale, rows, load, results), flush=True)
    return {
        "scale": scale,
        "rows": rows,
        "runs": runs,
        "replay_cache": cache,
        "loadavg_start": load[0],
        "loadavg_end": load[1],
        "ratios": results,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Issue 24's ratios, one JSON line per scale: scale 10,000 and one round unless --scales/--runs say otherwise."""
    import argparse
    import json
    import platform
    import shutil
    import sys

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scales", default="10000", help="comma-separated scales (default 10000)")
    parser.add_argument("--runs", type=int, default=1, help="rounds per figure (default 1)")
    parser.add_argument("--engines", default=",".join(b.ENGINES), help="comma-separated subset of sqlite,postgresql")
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if args.runs < 1 or any(s < 1 for s in scales) or not set(engines) <= set(b.ENGINES):
        parser.error("runs and scales must be >= 1; engines among sqlite,postgresql")
    sys.path.insert(0, str(b.REPO))
    scratch = Path(tempfile.mkdtemp(prefix="echelon-ratios-"))
    try:
        with b._terminations_unwind():
            machine = {"nproc": len(os.sched_getaffinity(0)), "python": platform.python_version()}
            for scale in scales:
                found = run(scale, args.runs, engines, scratch / f"scale-{scale}")
                line = {"bench": "echelon-seed-ratios", "machine": machine, "anchor": b.ANCHOR, **found}
                print(json.dumps(b._json_safe(line), separators=(",", ":"), allow_nan=False), flush=True)
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
