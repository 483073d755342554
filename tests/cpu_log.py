"""Per-test CPU seconds, for measuring the suite on a machine whose wall clock is shared.

Off unless $ECHELON_TEST_CPU_LOG names a directory: then every process that
runs tests (each xdist worker, or the single session) appends one line per
test to a file of its own there: the node id, the process's own CPU seconds
(user + system), its reaped children's (command-line children, child pytest
sessions, psql; and the forks tests/forkrun.py ran for it, whose CPU its
server reports), and the wall seconds. Servers that detach (PostgreSQL) are
not counted per test: each logs one line of its own before it stops. `python scripts/suite_times.py --cpu DIR` sums them per file.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Generator
from pathlib import Path
from typing import IO

import pytest

ENV = "ECHELON_TEST_CPU_LOG"
_log: list[IO[str]] = []


def _seconds() -> tuple[float, float]:
    from tests import forkrun

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime + forkrun.cpu["children"]


def _file() -> IO[str] | None:
    directory = os.environ.get(ENV)
    if not directory:
        return None
    if not _log:
        Path(directory).mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        _log.append((Path(directory) / f"cpu-{worker}-{os.getpid()}.tsv").open("a", encoding="utf-8"))
    return _log[0]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    out = _file()
    if out is None:
        return (yield)
    own, children = _seconds()
    start = time.monotonic()
    try:
        return (yield)
    finally:
        own_after, children_after = _seconds()
        out.write(
            f"{item.nodeid}\t{own_after - own:.3f}\t{children_after - children:.3f}\t{time.monotonic() - start:.3f}\n"
        )
        out.flush()


def _process_seconds(pid: int) -> tuple[float, float]:
    """A process's own CPU seconds and its reaped children's, from /proc (0, 0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    # After the ")" field 3 is the state; utime, stime, cutime, cstime are fields 14-17 of stat(5).
    utime, stime, cutime, cstime = (int(x) / tick for x in fields[11:15])
    return utime + stime, cutime + cstime


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def record_server(data_directory: Path | None) -> None:
    """Log the CPU seconds of a PostgreSQL server this process started, before it stops.

    The postmaster's own, its reaped backends' (each test's connections, CREATE and
    DROP DATABASE) and its living helpers' (checkpointer, walwriter...): the server
    side of the suite's work, which the per-test lines cannot see.
    """
    out = _file()
    if out is None or data_directory is None:
        return
    try:
        pid = int((data_directory / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    own, reaped = _process_seconds(pid)
    living = sum(sum(_process_seconds(child)) for child in _children(pid))
    out.write(f"<postgresql server {pid}>\t{own + reaped + living:.3f}\t0.000\t0.000\n")
    out.flush()


def record_forks(seconds: float) -> None:
    """Log the fork server's own CPU (its imports and forking; its commands are in their tests' lines)."""
    out = _file()
    if out is None or not seconds:
        return
    out.write(f"<fork server {os.getpid()}>\t{seconds:.3f}\t0.000\t0.000\n")
    out.flush()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close this process's log (left to the interpreter's exit, it was a ResourceWarning there)."""
    while _log:
        _log.pop().close()
