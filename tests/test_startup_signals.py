"""Ctrl-C at any moment of the command's start-up, on a busy machine: one line and 130, never a traceback.

The installed `echelon-seed` command is a script whose first lines install
the handler with builtins only (no `re`, not even the package), so a SIGINT
that lands anywhere after the interpreter itself started is
"echelon-seed: interrupted" and exit 130. A generated console-script wrapper
imports `re` and the package first, and a signal there was a traceback.

Signals are sent at delays spread over a whole run, measured on this machine
at this moment (a scale, not a limit), on a loaded machine so that start-up
is slow and every part of it is hit: in the suite, its other workers (two per
core); in the `slow` run, a CPU burner per core besides. Each trial must end in one of:

- exit 130 with stderr exactly the interrupted line and nothing on stdout;
- the command's own result (the signal came after it had finished);
- the interpreter's own start, before any line of ours ran: killed by the
  signal, Python's "Fatal Python error: init_…" from one of its own
  initialisation steps (the standard streams, site), with no frame of the
  script or of echelon_seed in it, or a bare "KeyboardInterrupt" (exit 1, no
  traceback at all) while it compiles the script.

and enough trials must land inside the command for the test to mean
anything. The suite runs 10 trials; `pytest -m slow` runs 52.
"""

from __future__ import annotations

import ast
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import dbtools
from tests.test_reliability_kill import cli_env

SCRIPT = Path(sys.executable).with_name("echelon-seed")
#: Trials over the start-up, and over the whole run: in the suite, and in the `slow` run.
EARLY, LATE = 8, 2
EARLY_SLOW, LATE_SLOW = 40, 12
INTERRUPTED = "echelon-seed: interrupted\n"
#: CPython's own initialisation (init_sys_streams, init_import_site, ...) reports a signal that
#: lands there this way; none of our lines has run yet, so nothing of ours can catch it.
INTERPRETER_INIT = "Fatal Python error: init_"
#: A signal while the interpreter reads and compiles the script, after its initialisation and before the
#: script's first line: no frame runs yet, so Python prints the exception's name alone (no traceback,
#: hence no line of ours) and exits 1. Seen beside a burner at load 15; tests/test_signals.py accepts it too.
BARE_INTERRUPT = "KeyboardInterrupt\n"
#: The burner stops itself after this long even if the test dies.
BURNER_LIFETIME_S = 300


@pytest.fixture
def cpu_burner() -> Iterator[None]:
    """One busy process per core, each ending itself after BURNER_LIFETIME_S."""
    code = f"import time\nend = time.monotonic() + {BURNER_LIFETIME_S}\nwhile time.monotonic() < end:\n    pass\n"
    burners = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(os.cpu_count() or 1)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def _fraction(*parts: object) -> float:
    """A reproducible spread in [0, 1) without `random`."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _default_sigint() -> None:
    # A process started in the background inherits SIGINT ignored, and exec keeps that: the
    # interpreter's own start would then look immune. A user's shell gives the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        cwd=dbtools.ECHELON,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,  # noqa: PLW1509 - the test starts no threads
    )


def _trial(command: list[str], delay: float) -> tuple[int, str, str]:
    child = _start(command)
    try:
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
        child.wait()
    return child.returncode, out, err


def _classify(code: int, out: str, err: str, finished: str) -> str:
    if code == 130 and err == INTERRUPTED and out == "":
        return "interrupted"
    if code == 0 and out == finished:
        return "finished"
    ours = "echelon_seed" in err or str(SCRIPT) in err or "echelon-seed" in err
    if code == -signal.SIGINT and out == "" and err == "":
        return "before the interpreter"
    if code == 1 and err.startswith(INTERPRETER_INIT) and not ours:
        return "before the interpreter"
    if code == 1 and err == BARE_INTERRUPT and out == "":
        return "before the interpreter"
    return f"wrong: exit {code}, stdout {out!r}, stderr {err!r}"


def _timed(command: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(command, cwd=dbtools.ECHELON, env=cli_env(), capture_output=True, text=True, timeout=300)
    return done, time.monotonic() - started


def check_start_up(script: Path, early: int = EARLY, late: int = LATE) -> list[str]:
    """The outcomes of the trials against `script` (the installed command, or another for comparison)."""
    command = [str(script), "check"]
    whole, run_time = _timed(command)
    assert whole.returncode == 0, whole.stderr
    _, start_up = _timed([str(script), "--version"])
    # Most trials are spread over the start-up itself (twice what --version takes now), where the
    # imports are; the rest over the whole run. Trial i lands in the i-th part of its span.
    delays = [2 * start_up * (i + _fraction("start", i)) / early for i in range(early)]
    delays += [run_time * (i + _fraction("run", i)) / late for i in range(late)]
    return [_classify(*_trial(command, delay), whole.stdout) for delay in delays]


def _judge(outcomes: list[str]) -> None:
    wrong = [o for o in outcomes if o.startswith("wrong")]
    assert not wrong, wrong
    assert outcomes.count("interrupted") >= len(outcomes) // 2, outcomes


def test_sigint_anywhere_in_a_loaded_start_up_is_one_line_and_130() -> None:
    # The suite's other workers are the load here (four on two cores); the `slow` run adds a burner.
    assert SCRIPT.is_file(), f"the installed command is missing: {SCRIPT}"

    _judge(check_start_up(SCRIPT))


@pytest.mark.slow
def test_sigint_anywhere_in_a_loaded_start_up_at_full_count(cpu_burner: None) -> None:
    _judge(check_start_up(SCRIPT, EARLY_SLOW, LATE_SLOW))


def test_the_command_script_installs_the_handler_before_importing_anything() -> None:
    lines = [line for line in SCRIPT.read_text().splitlines() if line and not line.startswith("#")]
    imports = [line for line in lines if line.startswith(("import ", "from "))]
    first_import_of_ours = next(i for i, line in enumerate(lines) if "echelon_seed" in line)
    handler = next(i for i, line in enumerate(lines) if "signal(_signal.SIGINT" in line)

    assert imports[:2] == ["import _signal", "import os"]  # builtin and already loaded at start-up
    assert handler < first_import_of_ours
    assert "re" not in {line.split()[1] for line in imports}


def test_python_dash_m_installs_the_handler_with_builtins_only_inside_a_keyboardinterrupt_guard() -> None:
    # `python -m echelon_seed` runs the package's light `__init__`, then `__main__`. A SIGINT that
    # lands while `__main__` imports `signal` (its enums are built in Python, tens of milliseconds)
    # was a traceback with a frame of ours: seen once in a hundred trials of tests/test_signals.py.
    module = ast.parse(Path(dbtools.REPO, "echelon_seed", "__main__.py").read_text())
    body = [s for s in module.body if not isinstance(s, ast.ImportFrom) or s.module != "__future__"]
    body = body[1:] if isinstance(body[0], ast.Expr) else body  # the docstring
    guard = body[0]

    assert isinstance(guard, ast.Try), ast.dump(guard)
    caught = {ast.unparse(h.type) for h in guard.handlers if h.type is not None}
    assert caught == {"KeyboardInterrupt"}
    imported = [alias.name for s in guard.body if isinstance(s, ast.Import) for alias in s.names]
    already_there = set(sys.builtin_module_names) | {"os"}  # os: loaded by the interpreter's start
    assert imported and set(imported) <= already_there, imported
    installs = [ast.unparse(s) for s in guard.body if "signal(" in ast.unparse(s)]
    assert any("SIGINT" in s for s in installs) and any("SIGTERM" in s for s in installs), installs
