"""The in-process command-line tests still catch what a child process would show (scripts/mutation_check.py).

Slow (four pytest runs on scratch copies of the repository): `pytest -m slow`,
which CI runs after the README's command.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import dbtools


@pytest.mark.slow
def test_a_wrong_exit_code_a_message_on_stdout_and_a_traceback_are_each_caught() -> None:
    done = subprocess.run(
        [sys.executable, str(dbtools.REPO / "scripts" / "mutation_check.py")],
        cwd=dbtools.REPO,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = [line.split(":", 1)[0].split() for line in done.stdout.splitlines()]
    assert verdicts == [["unbroken", "passes"], ["exit-code", "caught"], ["stream", "caught"], ["traceback", "caught"]]
