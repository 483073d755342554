"""Per-test CPU seconds, for measuring the suite on a machine whose wall clock is shared.

Off unless $ECHELON_TEST_CPU_LOG names a directory: then every process that
runs tests (each xdist worker, or the single session) appends one line per
test to a file of its own there: the node id, the process's own CPU seconds
(user + system), its reaped children's (command-line children, child pytest
sessions, psql), and the wall seconds. Servers that detach (PostgreSQL) are
not counted. `python scripts/suite_times.py --cpu DIR` sums them per file.
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
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


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
