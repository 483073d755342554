"""Masked against unmasked `export` (issue 26): the cost of masking, the digests and the leak check.

Usage::

    .venv/bin/python bench/mask_bench.py [--scale 2000] [--runs 3] [--database-url URL]

Seeds the built-in Echelon project at `--scale` into a temporary SQLite file
(or uses `--database-url`, which must already hold that seed), then times, in
this process and alternating so that the machine's load falls on both alike:

- `export` unmasked (the streaming path);
- `export --mask projects/echelon/echelon-mask.toml`: the Echelon policy (users,
  positions; every table is still buffered to be ordered by masked key, every
  file is written and then read back by the leak check);
- the same policy plus `"wing_flaps.action" = "text:60"`, so that the largest
  table has a masked text column (faked, recorded, scanned).

Each figure is the median of `--runs`, as wall time and as this process's
CPU time (SQLite runs in a thread of this process, so it is counted; a
PostgreSQL server's work is not); the ratio is unmasked seconds over masked
seconds (1.0: masking is free; the issue's target is at least 0.5).
The machine's load average and core count are printed beside the figures,
at the start and at the end, since other work on the machine moves them.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import anyio

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from echelon_seed import commands, project  # noqa: E402
from echelon_seed.mask import MaskKey, Policy, load_file  # noqa: E402

ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = REPO / "projects" / "echelon" / "echelon-mask.toml"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


async def _export(url: str, out: Path, policy: Policy | None, key: MaskKey) -> tuple[float, float, int]:
    started, cpu = time.perf_counter(), time.process_time()
    result = await commands.export(url, out, force=True, project=project.echelon(), mask=policy, mask_key=key)
    return time.perf_counter() - started, time.process_time() - cpu, sum(result.rows.values())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="a database already seeded at --scale (default: a new SQLite file)")
    args = parser.parse_args()

    print(f"python {platform.python_version()} on {platform.machine()}; {_load()} at the start")
    key = MaskKey(b"bench-key-" + b"0123456789abcdef", "the bench")
    base = load_file(POLICY)
    heavy = Policy((*base.rules, ("wing_flaps.action", "text:60")), base.strict, base.source + " + wing_flaps.action")
    variants: list[tuple[str, Policy | None]] = [("unmasked", None), ("masked", base), ("masked+action", heavy)]
    with tempfile.TemporaryDirectory(prefix="mask-bench-") as scratch:
        url = args.database_url
        if url is None:
            url = f"sqlite:///{Path(scratch) / 'echelon.db'}"
            started = time.perf_counter()
            await commands.apply(url, anchor=ANCHOR, scale=args.scale)
            print(f"seeded scale {args.scale} into SQLite in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        times: dict[str, list[float]] = {name: [] for name, _ in variants}
        cpus: dict[str, list[float]] = {name: [] for name, _ in variants}
        rows = 0
        for run in range(args.runs):
            for name, policy in variants:
                seconds, cpu, rows = await _export(url, Path(scratch) / name, policy, key)
                times[name].append(seconds)
                cpus[name].append(cpu)
                print(f"run {run + 1}: {name:<14} {seconds:6.2f} s wall, {cpu:6.2f} s CPU", file=sys.stderr)
        engine = url.partition(":")[0]
        print(f"export of the Echelon seed at scale {args.scale} ({rows:,} rows) from {engine}, median of {args.runs}:")
        plain, plain_cpu = statistics.median(times["unmasked"]), statistics.median(cpus["unmasked"])
        for name, _ in variants:
            median, cpu = statistics.median(times[name]), statistics.median(cpus[name])
            print(
                f"  {name:<14} {median:6.2f} s wall ({rows / median:>7,.0f} rows/s, {plain / median:.2f}x unmasked)  "
                f"{cpu:6.2f} s CPU ({plain_cpu / cpu:.2f}x)  runs: {', '.join(f'{t:.1f}' for t in times[name])}"
            )
        print("(CPU: this process's user+system time, all threads; on a loaded machine it is the steadier figure)")
    print(f"{_load()} at the end")


if __name__ == "__main__":
    anyio.run(main)
