"""Where the suite's time goes: worker seconds and CPU seconds per test file.

    pytest -n 4 --durations=0 -p no:randomly > run.txt      # wall seconds per test and phase
    ECHELON_TEST_CPU_LOG=cpu/ pytest -n 4                    # CPU seconds per test (tests/cpu_log.py)
    python scripts/suite_times.py run.txt                    # per file: total, setup, call, teardown
    python scripts/suite_times.py --cpu cpu/                 # per file: own CPU, children's CPU, wall
    python scripts/suite_times.py run.txt --tests 30         # and the 30 costliest tests

On a shared machine the wall seconds of a test grow with the load; its CPU
seconds hardly do, so compare runs by CPU and read the wall table for order.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

_DURATION = re.compile(r"^(\d+\.\d+)s (setup|call|teardown)\s+(\S+?)::(\S.*)$")
_PHASES = ("setup", "call", "teardown")
_CPU = ("own", "children", "wall")

#: Seconds by column (a phase, or own / children / wall).
Seconds = defaultdict[str, float]


def _seconds() -> Seconds:
    return defaultdict(float)


def durations(text: str) -> dict[str, Seconds]:
    """Test id -> seconds per phase, from pytest's --durations=0 report."""
    found: dict[str, Seconds] = defaultdict(_seconds)
    for line in text.splitlines():
        match = _DURATION.match(line.strip())
        if match:
            found[f"{match[3]}::{match[4]}"][match[2]] += float(match[1])
    return found


def cpu_logs(directory: Path) -> dict[str, Seconds]:
    """Test id -> own CPU, children's CPU and wall seconds, from tests/cpu_log.py's files."""
    found: dict[str, Seconds] = defaultdict(_seconds)
    for path in sorted(directory.glob("cpu-*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            test, *numbers = line.split("\t")
            for column, number in zip(_CPU, numbers, strict=True):
                found[test][column] += float(number)
    return found


def per_file(tests: dict[str, Seconds]) -> dict[str, Seconds]:
    files: dict[str, Seconds] = defaultdict(_seconds)
    for test, seconds in tests.items():
        into = files[test.split("::", 1)[0]]
        for column, value in seconds.items():
            into[column] += value
    return files


def table(rows: dict[str, Seconds], columns: tuple[str, ...], limit: int | None) -> list[str]:
    total = _seconds()
    for seconds in rows.values():
        for column, value in seconds.items():
            total[column] += value
    ordered = sorted(rows.items(), key=lambda item: (-item[1][columns[0]], item[0]))
    lines = [
        f"| {'file' if limit is None else 'test'} | " + " | ".join(columns) + " |",
        "|---" + "|---:" * len(columns) + "|",
    ]
    for name, seconds in ordered[:limit]:
        lines.append(f"| {name} | " + " | ".join(f"{seconds[c]:.1f}" for c in columns) + " |")
    lines.append("| **all** | " + " | ".join(f"{total[c]:.1f}" for c in columns) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", type=Path, help="pytest output with --durations=0")
    parser.add_argument("--cpu", type=Path, help="the directory $ECHELON_TEST_CPU_LOG named")
    parser.add_argument("--tests", type=int, default=0, help="also list the N costliest tests")
    args = parser.parse_args(argv)
    if args.report is None and args.cpu is None:
        parser.error("give a --durations=0 report, --cpu DIRECTORY, or both")
    if args.report is not None:
        tests = durations(args.report.read_text(encoding="utf-8", errors="replace"))
        columns = ("total", *_PHASES)
        for seconds in tests.values():
            seconds["total"] = sum(seconds[p] for p in _PHASES)
        print("\n".join(table(per_file(tests), columns, None)))
        if args.tests:
            print("\n".join(table(tests, columns, args.tests)))
    if args.cpu is not None:
        tests = cpu_logs(args.cpu)
        for seconds in tests.values():
            seconds["cpu"] = seconds["own"] + seconds["children"]
        columns = ("cpu", "own", "children", "wall")
        print("\n".join(table(per_file(tests), columns, None)))
        if args.tests:
            print("\n".join(table(tests, columns, args.tests)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
