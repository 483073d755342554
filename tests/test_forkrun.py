"""The fork runner (tests/forkrun.py) is what `python -m <module>` would be, for the suite's child processes.

Each claim is checked against the fork's own behaviour, and where it can be,
against a fresh interpreter running the same command in the same setting.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands
from tests import dbtools, forkrun

# A child pytest session's conftest that reports, at configure time, the process it runs in.
REPORTER = """
import json, os, sys, time

def pytest_configure(config):
    with open(os.environ["FORKRUN_OUT"], "w") as out:
        json.dump({
            "pid": os.getpid(), "argv": sys.argv, "orig_argv": sys.orig_argv[1:], "cwd": os.getcwd(), "path": sys.path,
            "env": dict(os.environ), "utcoffset": time.localtime().tm_gmtoff,
            "stdin": sys.stdin.read(), "modules_main": sys.modules["__main__"].__spec__.name,
        }, out)
"""

INTERLEAVED = """
import sys

def pytest_configure(config):
    for n in range(3):
        sys.stdout.write(f"out {n}\\n")
        sys.stdout.flush()
        sys.stderr.write(f"err {n}\\n")
        sys.stderr.flush()
"""

UNCONFIGURE_RAISES = """
def pytest_unconfigure(config):
    raise RuntimeError("broken on the way out")
"""

BURN = """
import time

def pytest_configure(config):
    end = time.process_time() + 0.4
    while time.process_time() < end:
        pass
"""


def _session(tmp_path: Path, conftest: str) -> Path:
    work = tmp_path / "session"
    work.mkdir()
    (work / "conftest.py").write_text(textwrap.dedent(conftest), encoding="utf-8")
    (work / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
        'addopts = ["-p", "no:cacheprovider", "-p", "no:anyio", "-p", "no:randomly", "-p", "no:hypothesispytest"]\n'
    )
    return work


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ECHELON_SEED_"))}
    env.update(extra)
    return env


def test_exit_codes_are_the_commands_own(tmp_path: Path) -> None:
    assert forkrun.run("echelon_seed", "--version", cwd=tmp_path, env=_env()).returncode == 0
    usage = forkrun.run("echelon_seed", "apply", "--scale", "many", cwd=tmp_path, env=_env())
    assert usage.returncode == 2 and "--scale" in usage.stderr and usage.stdout == ""
    # An exception nothing catches: Python's traceback on stderr and exit 1.
    work = _session(tmp_path, UNCONFIGURE_RAISES)
    raised = forkrun.run("pytest", "-q", cwd=work, env=_env())
    fresh = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"], cwd=work, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert (raised.returncode, fresh.returncode) == (1, 1), raised.stderr
    assert raised.stderr.startswith("Traceback (most recent call last):\n")
    assert raised.stderr.splitlines()[-1] == fresh.stderr.splitlines()[-1] == "RuntimeError: broken on the way out"
    assert raised.stdout.splitlines()[-1].startswith("no tests ran in ")
    assert fresh.stdout.splitlines()[-1].startswith("no tests ran in ")


def test_a_kill_reports_minus_the_signal_and_the_pid_is_the_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'held.db'}"
    env = _env(**{commands.PAUSE_ENV: "locked=120"})
    child = forkrun.popen("echelon_seed", "apply", "--database-url", url, cwd=dbtools.ECHELON, env=env)
    assert isinstance(child, forkrun.Forked)
    assert child.stderr is not None
    assert child.stderr.readline() == "paused at locked\n"
    # The pid is the process holding the database open, not a server or a go-between.
    assert os.readlink(f"/proc/{child.pid}/cwd") == str(dbtools.ECHELON)
    assert str(tmp_path / "held.db") in {os.readlink(fd) for fd in Path(f"/proc/{child.pid}/fd").iterdir()}
    assert child.poll() is None
    child.kill()
    assert child.wait(timeout=60) == -signal.SIGKILL
    assert child.returncode == -signal.SIGKILL
    child.kill()  # as Popen: a no-op once the process is known to be gone
    assert child.communicate(timeout=60) == ("", "")


def test_sigterm_reaches_the_commands_own_handler(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'held.db'}"
    env = _env(**{commands.PAUSE_ENV: "migrated=120"})
    child = forkrun.popen("echelon_seed", "apply", "--database-url", url, cwd=dbtools.ECHELON, env=env)
    assert child.stderr is not None and child.stderr.readline() == "paused at migrated\n"
    child.terminate()
    out, err = child.communicate(timeout=60)
    assert child.returncode == 143, err
    assert (out, err) == ("", "echelon-seed: interrupted; rolled back\n")


def test_wait_with_a_timeout_raises_and_leaves_the_child_running(tmp_path: Path) -> None:
    env = _env(**{commands.PAUSE_ENV: "locked=120"})
    url = f"sqlite:///{tmp_path / 'held.db'}"
    child = forkrun.popen("echelon_seed", "apply", "--database-url", url, cwd=dbtools.ECHELON, env=env)
    assert child.stderr is not None and child.stderr.readline() == "paused at locked\n"
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(timeout=0.2)
    assert child.poll() is None
    os.kill(child.pid, 0)  # still there
    child.kill()
    assert child.wait(timeout=60) == -signal.SIGKILL
    assert child.communicate(timeout=60) == ("", "")


def test_stdout_and_stderr_stay_apart_and_in_order(tmp_path: Path) -> None:
    work = _session(tmp_path, INTERLEAVED)
    apart = forkrun.run("pytest", "-q", "-s", cwd=work, env=_env())
    assert [line for line in apart.stdout.splitlines() if line.startswith("out")] == ["out 0", "out 1", "out 2"]
    assert apart.stderr == "err 0\nerr 1\nerr 2\n"
    merged = forkrun.popen("pytest", "-q", "-s", cwd=work, env=_env(), merge=True)
    out, err = merged.communicate(timeout=300)
    assert err is None
    assert [line for line in out.splitlines() if line[:3] in ("out", "err")] == [
        "out 0", "err 0", "out 1", "err 1", "out 2", "err 2",
    ]  # fmt: skip


def _report(tmp_path: Path, name: str, fresh: bool, env: dict[str, str]) -> dict[str, Any]:
    (tmp_path / name).mkdir()
    work = _session(tmp_path / name, REPORTER)
    out = tmp_path / f"{name}.json"
    proc = forkrun.popen("pytest", "-q", "-s", "--co", cwd=work, env={**env, "FORKRUN_OUT": str(out)}, fresh=fresh)
    out_text, err_text = proc.communicate(timeout=300)
    assert proc.returncode == 5, (out_text, err_text)  # no tests collected
    report: dict[str, Any] = json.loads(out.read_text())
    assert report.pop("pid") == proc.pid
    report["cwd"] = report["cwd"].replace(f"/{name}/", "/<session>/")
    report["path"] = [p.replace(f"/{name}/", "/<session>/") for p in report["path"]]
    report["env"].pop("FORKRUN_OUT")
    return report


def test_the_fork_has_the_environment_cwd_argv_and_path_of_a_fresh_interpreter(tmp_path: Path) -> None:
    assert "HOME" in os.environ  # the server started with it: the fork must lose it
    env = {k: v for k, v in _env(TZ="Asia/Tokyo", FORKRUN_ONLY_HERE="yes").items() if k != "HOME"}
    forked = _report(tmp_path, "forked", fresh=False, env=env)
    fresh = _report(tmp_path, "fresh", fresh=True, env=env)
    assert "HOME" not in forked["env"] and forked["env"]["FORKRUN_ONLY_HERE"] == "yes"
    assert forked["utcoffset"] == 9 * 3600  # TZ taken up (time.tzset), not the server's zone
    assert forked["cwd"].endswith("/<session>/session")
    assert forked["argv"][0].endswith("pytest/__main__.py") and forked["argv"][1:] == ["-q", "-s", "--co"]
    assert forked["stdin"] == ""  # /dev/null, as the suite's children had
    assert forked == fresh


def test_a_fork_is_refused_where_it_would_not_be_faithful(tmp_path: Path) -> None:
    assert forkrun.fork_refused("echelon_seed", _env()) is None
    assert "PYTHON" in (forkrun.fork_refused("echelon_seed", _env(PYTHONHASHSEED="123")) or "")
    assert "PYTHON" in (forkrun.fork_refused("pytest", _env(PYTHONPATH=str(tmp_path))) or "")
    assert "'alembic'" in (forkrun.fork_refused("alembic", _env()) or "")
    # Refused, the command still runs: in a fresh interpreter, with the variable in effect.
    done = forkrun.run("echelon_seed", "--version", cwd=tmp_path, env=_env(PYTHONDONTWRITEBYTECODE="1"))
    assert done.returncode == 0 and done.stdout.startswith("echelon-seed ")
    child = forkrun.popen("echelon_seed", "--version", cwd=tmp_path, env=_env(PYTHONHASHSEED="7"))
    assert isinstance(child, subprocess.Popen)
    child.communicate(timeout=120)


def test_a_forks_cpu_is_counted_for_the_test_that_ran_it(tmp_path: Path) -> None:
    work = _session(tmp_path, BURN)
    before = forkrun.cpu["children"]
    assert forkrun.run("pytest", "-q", "--co", cwd=work, env=_env()).returncode == 5
    assert forkrun.cpu["children"] - before >= 0.4


def _children(pid: int) -> list[int]:
    return [int(p) for task in Path(f"/proc/{pid}/task").iterdir() for p in (task / "children").read_text().split()]


def test_no_zombie_and_no_server_is_left(tmp_path: Path) -> None:
    forkrun.stop()  # this worker's server, started anew below and stopped here (the next test starts another)
    done = [forkrun.run("echelon_seed", "--version", cwd=tmp_path, env=_env()) for _ in range(3)]
    assert [d.returncode for d in done] == [0, 0, 0]
    server = forkrun._server[0]
    pid, directory = server.proc.pid, server.directory
    assert server.socket.is_socket()
    deadline = time.monotonic() + 60  # a bound for a loaded machine: the claim is that they go
    while _children(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _children(pid) == []  # every handler and command reaped, none a zombie
    forkrun.stop()
    assert not forkrun._server
    assert not Path(f"/proc/{pid}").exists()
    assert not directory.exists()


def test_the_server_leaves_when_its_worker_is_gone(tmp_path: Path) -> None:
    """A worker killed outright never stops its server: the server sees its stdin close and leaves."""
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(dbtools.REPO)!r})
        from pathlib import Path
        from tests import forkrun
        forkrun.run("echelon_seed", "--version", cwd=Path.cwd(), env=dict(os.environ))
        print(forkrun._server[0].proc.pid, forkrun._server[0].directory, flush=True)
        os.kill(os.getpid(), 9)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr
    pid, directory = done.stdout.split()
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        # Its parent is gone, so init reaps it; until then it may show as a zombie.
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]
    assert not Path(directory).exists()
