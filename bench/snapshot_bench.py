"""Snapshot ÷ ordered raw read, with CPU seconds, on both engines (issue 24, behaviour 4).

Usage::

    .venv/bin/python bench/snapshot_bench.py [--scales 1000,10000] [--runs 3] [--url postgresql://...]

The raw read is bench.py's (`raw_copy_out`: COPY (SELECT * ... ORDER BY pk) TO
STDOUT into a null sink; `raw_select`: an ordered SELECT fetched in full with
sqlite3). The snapshot is `snapshot.capture` into a null sink, in this process,
timed twice per run: with the database writing the canonical text (the
default) and with Python writing every line (`database_text=False`), so the
two are measured side by side on the same database and the same load.
CPU seconds: this process (client) from `time.process_time`, the server from
/proc (its postmaster's own and reaped children's time plus its live
backends'), so that wall ratios of a two-process pipeline can be told from
a busy machine. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import bench  # noqa: E402  (bench.py's raw reads and server)

ANCHOR = "2026-01-01T00:00:00+00:00"
_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int, *, children: bool) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime stime cutime cstime are fields 14..17 of stat; after the ")" they are 12..15 (index 11..14).
    own = int(fields[11]) + int(fields[12])
    return (own + (int(fields[13]) + int(fields[14]) if children else 0)) / _TICK


def server_cpu(postmaster: int | None) -> float:
    """The server's CPU seconds so far: the postmaster's own and reaped children's, plus its live children."""
    if postmaster is None:
        return 0.0
    total = _proc_cpu(postmaster, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(Path(entry, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == postmaster:
                total += _proc_cpu(int(entry.name), children=False)
    return total


def postmaster_pid(server: Any) -> int | None:
    data = getattr(server, "_datadir", None)
    if data is None:
        return None
    try:
        return int(Path(data, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError):
        return None


class _Null:
    def write(self, data: bytes) -> int:
        return len(data)


async def capture(url: str, *, database_text: bool) -> str:
    from echelon_seed import engines, project
    from echelon_seed import snapshot as snapshots

    database = engines.open_database(url, write=False)
    try:
        async with database.transaction() as conn:
            header = await snapshots.capture(
                conn,
                database.backend,
                _Null(),
                project=project.echelon(),
                database_text=database_text,  # type: ignore[arg-type]
            )
            return header.digest
    finally:
        await database.dispose()


def measure(what: str, run: Any, postmaster: int | None) -> dict[str, float]:
    cpu0, srv0, wall0 = time.process_time(), server_cpu(postmaster), time.perf_counter()
    result = run()
    wall = time.perf_counter() - wall0
    time.sleep(0.2)  # let the postmaster reap a backend that just ended
    return {
        "wall_s": wall,
        "client_cpu_s": time.process_time() - cpu0,
        "server_cpu_s": server_cpu(postmaster) - srv0,
        "result": result,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    engines_ = args.engines.split(",")
    out: dict[str, Any] = {"load_before": os.getloadavg(), "cpus": os.cpu_count(), "figures": []}
    pgserver = bench.pgserver_module()
    server = pgserver.start() if "postgresql" in engines_ else None
    postmaster = postmaster_pid(server) if server is not None else None
    scratch = Path(tempfile.mkdtemp(prefix="snapbench-"))
    try:
        for scale in scales:
            for engine in engines_:
                if engine == "postgresql":
                    name = f"snapbench_{scale}"
                    url = server.create_database(name)
                else:
                    path = scratch / f"s{scale}.db"
                    url = f"sqlite:///{path}"
                from echelon_seed import cli

                argv = ["apply", "--database-url", url, "--force", "--quiet", "--scale", str(scale), "--anchor", ANCHOR]
                if cli.main(argv) != 0:
                    raise RuntimeError("apply failed")
                for run in range(args.runs):
                    if engine == "postgresql":
                        raw = measure("raw", lambda url=url: asyncio.run(bench.raw_copy_out(url))[1], postmaster)
                    else:
                        raw = measure("raw", lambda path=path: bench.raw_select(str(path))[1], postmaster)
                    db = measure("db", lambda url=url: asyncio.run(capture(url, database_text=True)), postmaster)
                    py = measure("py", lambda url=url: asyncio.run(capture(url, database_text=False)), postmaster)
                    if db["result"] != py["result"]:
                        raise RuntimeError(f"digests differ: {db['result']} vs {py['result']}")
                    row = {
                        "engine": engine,
                        "scale": scale,
                        "run": run + 1,
                        "rows": raw["result"],
                        "raw": {k: round(v, 3) for k, v in raw.items() if k != "result"},
                        "database_text": {k: round(v, 3) for k, v in db.items() if k != "result"},
                        "python_text": {k: round(v, 3) for k, v in py.items() if k != "result"},
                        "ratio_database_text": round(raw["wall_s"] / db["wall_s"], 3),
                        "ratio_python_text": round(raw["wall_s"] / py["wall_s"], 3),
                        "load": os.getloadavg(),
                    }
                    out["figures"].append(row)
                    print(
                        f"{engine:10} scale {scale:>6} run {run + 1}: raw {raw['wall_s']:.2f} s, "
                        f"database text {db['wall_s']:.2f} s (client {db['client_cpu_s']:.2f} + server "
                        f"{db['server_cpu_s']:.2f} CPU s, ratio {row['ratio_database_text']:.2f}), "
                        f"python text {py['wall_s']:.2f} s (client {py['client_cpu_s']:.2f} + server "
                        f"{py['server_cpu_s']:.2f} CPU s, ratio {row['ratio_python_text']:.2f}); "
                        f"load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
                if engine == "postgresql":
                    server.drop_database(name)
                else:
                    path.unlink()
    finally:
        if server is not None:
            server.stop()
        for leftover in scratch.iterdir():
            leftover.unlink()
        scratch.rmdir()
    out["load_after"] = os.getloadavg()
    print(json.dumps({"snapshot_bench": out}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
