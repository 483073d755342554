"""Odd fixture files stay cheap: memory follows the rows, a size cap, a stop on a signal while reading.

Peak memory is the child's own (`os.wait4`'s ru_maxrss), never a share of
the machine's. Promptness is proven by order, not by a time limit: the
signal is sent while the file is still being read (its read position, from
/proc, is short of its end) and the command ends with the interrupted line
and 143, never with a verdict on a file it did not finish.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from echelon_seed import fixtures, project
from tests import dbtools, forkrun
from tests.test_reliability_kill import cli_env

PEAK_LIMIT = 200 * 1024 * 1024
#: Rows of `{"x": 1}` (a column no table has): every row is a problem.
BAD_ROWS = 2_000_000
#: The suite's sample of BAD_ROWS (the full count runs under `pytest -m slow`), and how far the peak
#: may rise from 2,000 bad rows to it.
SAMPLE_ROWS = 250_000
FLAT_LIMIT = 24 * 1024 * 1024


def _project(tmp_path: Path, *, max_mb: int | None = None) -> Path:
    """The built-in project's schema and fixtures, as a project of its own in `tmp_path`."""
    shutil.copytree(dbtools.ECHELON / "data", tmp_path / "data")
    # Its package too: a command in a child process imports the project's modules from the project.
    shutil.copytree(
        dbtools.ECHELON / "echelon_project", tmp_path / "echelon_project", ignore=shutil.ignore_patterns("__pycache__")
    )
    cap = f"max_fixture_mb = {max_mb}\n" if max_mb is not None else ""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.echelon-seed]\nname = "echelon"\nmetadata = "echelon_project.schema:metadata"\n'
        'fixtures = "data"\nsnapshots = "data"\ngenerators = ["echelon_project.generators"]\n' + cap,
        encoding="utf-8",
    )
    return tmp_path


def _run(cwd: Path, *args: str) -> tuple[int, str, str]:
    """The command in a process of its own: a fork of the worker's preloaded server (tests/forkrun.py)."""
    done = forkrun.run("echelon_seed", *args, cwd=cwd, env=cli_env(), timeout=600)
    return done.returncode, done.stdout, done.stderr


def _peak(cwd: Path, *args: str) -> tuple[int, str, str, int]:
    """`_run` from a fresh process of its own, whose children's ru_maxrss is then this command's peak alone.

    A fresh interpreter, not a fork (tests/forkrun.py): a fork's peak would count the server's preloaded pages.
    """
    script = (
        "import json, resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
        "print(json.dumps([done.returncode, done.stdout, done.stderr, peak]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, sys.executable, "-m", "echelon_seed", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    code, out, err, peak = json.loads(done.stdout)
    return code, out, err, peak


def test_a_file_over_the_default_cap_is_refused_unread_with_its_size_and_the_cap(tmp_path: Path) -> None:
    root = _project(tmp_path)
    with (root / "data" / "agents.json").open("r+b") as handle:
        handle.truncate(1 << 30)  # sparse: a gigabyte that costs no disk

    code, out, err, peak = _peak(root, "check")

    assert code == 2, err
    assert "data/agents.json: 1,073,741,824 bytes, over the 64 MB limit for a fixture file" in err
    assert "max_fixture_mb in [tool.echelon-seed]" in err
    assert peak < PEAK_LIMIT, f"peak {peak:,} bytes"


def test_the_cap_is_configured_and_a_bad_value_is_named(tmp_path: Path) -> None:
    root = _project(tmp_path, max_mb=1)
    with (root / "data" / "agents.json").open("a") as handle:
        handle.write(" " * (1 << 20))

    code, _, err = _run(root, "check")
    assert code == 2 and "over the 1 MB limit for a fixture file" in err, err

    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text().replace("max_fixture_mb = 1", "max_fixture_mb = 0")
    )
    code, _, err = _run(root, "check")
    assert code == 2 and "key 'max_fixture_mb': expected a whole number of megabytes" in err, err


def test_a_gigabyte_file_under_a_raised_cap_costs_little_memory(tmp_path: Path) -> None:
    root = _project(tmp_path, max_mb=4096)
    agents = root / "data" / "agents.json"
    size = agents.stat().st_size
    with agents.open("r+b") as handle:
        handle.truncate(1 << 30)  # the fixture, then a gigabyte of NUL bytes

    code, out, err, peak = _peak(root, "check")

    assert code == 2, err
    lines = err.strip().splitlines()
    assert lines[0].startswith("data/agents.json: invalid JSON at line "), err
    assert lines[0].endswith(": Extra data") and size > 0
    assert peak < PEAK_LIMIT, f"peak {peak:,} bytes"


def _bad_rows(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('{"rows": [')
        out.write(",".join(['{"x": 1}'] * count))
        out.write("]}")


def _check_bad_rows(tmp_path: Path, count: int) -> tuple[list[str], int]:
    """`check` of the built-in project with `count` bad rows in agents.json: stderr's lines and the peak."""
    root = _project(tmp_path)
    _bad_rows(root / "data" / "agents.json", count)

    code, out, err, peak = _peak(root, "check")

    assert code == 2, err
    lines = err.strip().splitlines()
    assert lines[0].startswith("data/agents.json: more than 1,000 problems: the first 1,000 are listed, rows ")
    assert f"to {count:,} were read as JSON but not checked" in lines[0]
    assert len([line for line in lines if line.startswith("data/agents.json row ")]) == 1_000
    return lines, peak


def test_bad_rows_are_a_bounded_list_and_flat_memory(tmp_path: Path) -> None:
    """The suite's sample of the full count below: memory flat between 2,000 and SAMPLE_ROWS bad rows.

    Keeping every problem, or every parsed row, would cost far more than
    FLAT_LIMIT at this count (a few hundred bytes each); the limit is against
    the same run's own small file, so a busy or different machine cannot move it.
    """
    small_lines, small_peak = _check_bad_rows(tmp_path / "small", 2_000)
    lines, peak = _check_bad_rows(tmp_path / "sample", SAMPLE_ROWS)

    assert lines[1:] == small_lines[1:]  # the same first 1,000 problems, whatever follows them
    assert peak - small_peak < FLAT_LIMIT, f"peak {peak:,} bytes at {SAMPLE_ROWS:,} rows, {small_peak:,} at 2,000"
    assert peak < PEAK_LIMIT, f"peak {peak:,} bytes"


@pytest.mark.slow
def test_a_million_bad_rows_are_a_bounded_list_and_flat_memory(tmp_path: Path) -> None:
    _, peak = _check_bad_rows(tmp_path, BAD_ROWS)

    assert peak < PEAK_LIMIT, f"peak {peak:,} bytes"


def test_problems_per_file_are_capped_in_the_library_too(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _bad_rows(root / "data" / "agents.json", 5_000)

    problems = fixtures.check(root / "data", project.echelon())

    assert len(problems) == 1_001
    assert problems[0].row is None and "the first 1,000 are listed" in problems[0].message


def _position(pid: int, path: Path) -> int | None:
    """How far the process has read `path` (its descriptor's offset), or None while it is not open."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                    with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                        return int(next(line for line in info if line.startswith("pos:")).split()[1])
            except (OSError, StopIteration):
                continue
    except OSError:
        return None
    return None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_check_stops_mid_file_on_a_signal_and_says_interrupted(tmp_path: Path, signum: int) -> None:
    root = _project(tmp_path)
    big = root / "data" / "agents.json"
    _bad_rows(big, BAD_ROWS)
    size = big.stat().st_size
    child = forkrun.popen("echelon_seed", "check", cwd=root, env=cli_env())
    try:
        deadline = time.monotonic() + 300  # a bound on the test, not on the command
        position = None
        while time.monotonic() < deadline and child.poll() is None:
            position = _position(child.pid, big)
            if position is not None and position >= 2 << 20:
                break
            time.sleep(0.005)
        assert position is not None and 0 < position < size, (position, size)
        child.send_signal(signum)
        out, err = child.communicate(timeout=300)
    finally:
        child.kill()
        child.wait()

    assert child.returncode == 128 + signum, err
    assert err == "echelon-seed: interrupted\n"  # check has no transaction: nothing was rolled back
    assert out == ""
