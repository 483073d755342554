"""The suite's own measuring tools: tests/cpu_log.py records CPU per test, scripts/suite_times.py sums per file."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests import dbtools

_SPEC = importlib.util.spec_from_file_location("suite_times", dbtools.REPO / "scripts" / "suite_times.py")
assert _SPEC is not None and _SPEC.loader is not None
suite_times = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(suite_times)

DURATIONS = """
============================= slowest durations ==============================
12.50s call     tests/test_a.py::test_one[sqlite]
2.25s setup    tests/test_a.py::test_one[sqlite]
0.25s teardown tests/test_a.py::test_one[sqlite]
1.00s call     tests/test_a.py::test_two
30.00s call     tests/test_b.py::test_three[postgresql-x y]
(12 durations < 0.005s hidden.  Use -vv to show these durations.)
"""


def test_durations_are_summed_per_file_and_phase() -> None:
    tests = suite_times.durations(DURATIONS)
    files = suite_times.per_file(tests)

    assert dict(tests["tests/test_a.py::test_one[sqlite]"]) == {"call": 12.5, "setup": 2.25, "teardown": 0.25}
    assert dict(files["tests/test_a.py"]) == {"call": 13.5, "setup": 2.25, "teardown": 0.25}
    assert dict(files["tests/test_b.py"]) == {"call": 30.0}


def test_the_cpu_log_counts_a_tests_children_and_the_table_sums_it(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "test_burn.py").write_text(
        textwrap.dedent(
            """
            import subprocess, sys

            def test_burns_in_a_child():
                subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)

            def test_idle():
                pass
            """
        )
    )
    logs = tmp_path / "cpu"
    env = {**os.environ, "ECHELON_TEST_CPU_LOG": str(logs), "PYTHONPATH": str(dbtools.REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.cpu_log", str(work)],
        cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr

    tests = suite_times.cpu_logs(logs)
    burn, idle = tests["test_burn.py::test_burns_in_a_child"], tests["test_burn.py::test_idle"]
    # The child's CPU is the test's, not its own process's; the idle test has next to none.
    assert burn["children"] > 0.05 and burn["children"] > 10 * idle["children"], tests
    table = suite_times.table(suite_times.per_file(tests), ("own", "children"), None)
    assert table[2].startswith("| test_burn.py | ") and table[-1].startswith("| **all** | "), table
