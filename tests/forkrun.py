"""The suite's child processes as forks of one preloaded process per worker, not fresh interpreters.

A test that needs `python -m echelon_seed ...` or `python -m pytest ...` as a
separate process (to signal it, kill it, hold a lock in it, or run a whole
pytest session) paid 0.4-1.5 s of CPU per child for the interpreter's start-up
and the imports of SQLAlchemy, Alembic, the drivers and pytest, for a few
milliseconds of work. Here one server per xdist worker (started on first use,
stopped at the session's end by conftest.py) imports all that once, and each
request forks a process that takes the caller's three streams (pipes passed
over a unix socket, as scripts/command_server.py does for the documentation's
transcripts), working directory, environment, `sys.argv` and `sys.path[0]` as
`python -m <module>` sets them, and runs the module as `__main__`. The reply
is the child's pid at once (so a test can signal it, or find its
`application_name`), then its exit code as Popen reports it (negative for a
death by signal) and its CPU seconds (counted into tests/cpu_log.py's lines).

`popen` and `run` return a Popen-like `Forked` handle or a CompletedProcess,
or a real `python -m` child where a fork would not be faithful (see
`fork_refused`). What a fork does not show is the interpreter's own start-up
and its hash seed (every fork shares the server's): tests of start-up, imports,
signals during start-up, the console script or hash randomisation across
processes start fresh interpreters, and so does anything given `fresh=True`.

    python tests/forkrun.py SOCKET     # the server: serves until its stdin closes
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
#: The modules a fork runs as `python -m` would.
SERVED = ("echelon_seed", "pytest")
#: Set to 1 to give every child a fresh interpreter (to compare, or to rule the forks out).
NO_FORK_ENV = "ECHELON_TEST_NO_FORK"
#: Read by the interpreter while it starts: a child whose values differ cannot be a fork of the server.
_STARTUP_NAMES = ("LANG", "LC_ALL", "LC_CTYPE")
#: Imported once by the server besides what scripts/command_server.py warms: the PostgreSQL driver and
#: the migrations' commands some commands load, and pytest with the plugins a child session loads.
_EXTRA = (
    "asyncpg",
    "anyio",
    "alembic.command",
    "alembic.config",
    "pytest",
    "_pytest.pytester",
    "_pytest.python_api",
    "_pytest.junitxml",
    "_pytest.pastebin",
    "_pytest.unittest",
    "_pytest.legacypath",
    "pytest_asyncio",
    "pytest_asyncio.plugin",
    "xdist.plugin",
    "xdist.looponfail",
    "xdist.dsession",
    "execnet",
    "_hypothesis_pytestplugin",
    "hypothesis",
)
_PID = struct.Struct(">q")
_RESULT = struct.Struct(">qd")


def _command_server() -> ModuleType:
    """scripts/command_server.py, loaded by path and kept out of sys.modules (a fork's project may own the name)."""
    spec = importlib.util.spec_from_file_location("command_server", REPO / "scripts" / "command_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the server ------------------------------------------------------------------------------------


def serve(socket_path: Path) -> None:
    """Warm the imports, say "ready", and fork a handler per request until stdin closes (the worker is gone)."""
    server = _command_server()
    server.warm(_EXTRA)
    preloaded = frozenset(sys.modules)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    listener.listen(16)
    # Handlers are reaped as they end (not at the next request), so that none lingers as a zombie.
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: server.reap())
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1):
            break
        if listener in ready:
            conn, _ = listener.accept()
            if os.fork() == 0:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                listener.close()
                _handle(server, conn, preloaded)
            conn.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    listener.close()
    socket_path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # the directory made for the socket; the client removes it too
        socket_path.parent.rmdir()
    server.reap(block=True)


def _handle(server: ModuleType, conn: socket.socket, preloaded: frozenset[str]) -> None:
    """In a fork of the server: fork the command, send its pid, wait, send its exit code and CPU. Never returns."""
    try:
        request, fds = server.receive(conn)
        pid = os.fork()
        if pid == 0:
            conn.close()
            _become(server, request, fds, preloaded)
        for fd in fds:
            os.close(fd)
        conn.sendall(_PID.pack(pid))
        _, status, usage = os.wait4(pid, 0)
        conn.sendall(_RESULT.pack(os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime))
    finally:
        os._exit(0)


def _become(server: ModuleType, request: dict[str, Any], fds: list[int], preloaded: frozenset[str]) -> None:
    """In the command's fork: be `python -m <module> <argv>` in the caller's setting. Never returns."""
    import runpy
    import traceback

    code = 1
    try:
        # A fresh interpreter's dispositions: the server's are Python's own, but say so rather than trust it.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        module = request["module"]
        # `python -m` puts the working directory first on sys.path; runpy sets argv[0] to the module's file.
        server.take_over(fds, request["cwd"], request["env"], ["-m", *request["argv"]], request["cwd"])
        sys.orig_argv = [sys.executable, "-m", module, *request["argv"]]
        if module == "pytest":
            _quiet_preloaded(preloaded)
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:  # as Python ends on one: the traceback, then death by SIGINT
        traceback.print_exc()
        _leave(code=None)
    except BaseException:  # noqa: BLE001 - what an uncaught exception does to a process: a traceback, exit 1
        traceback.print_exc()
    _leave(code)


def _leave(code: int | None) -> None:
    """What the interpreter does on its way out: wait for threads, run atexit, flush; then exit (or die by SIGINT)."""
    import atexit
    import threading

    try:
        threading._shutdown()  # type: ignore[attr-defined]  # the interpreter's own wait for non-daemon threads
        atexit._run_exitfuncs()
    finally:
        flushed = True
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - Python exits 120 when it cannot flush stdout at exit
                flushed = False
        if code is None:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        os._exit(120 if not flushed else 130 if code is None else code)


def _quiet_preloaded(preloaded: frozenset[str]) -> None:
    """Stop pytest warning that the server's preloaded modules were imported too early to rewrite their asserts.

    A fresh interpreter imports them after pytest marked them, so it never warns; their asserts are
    then rewritten (only the message of a failing assert inside them differs). A plugin module the
    server did not import (echelon_seed.pytest_plugin) is rewritten as usual.
    """
    from _pytest.assertion.rewrite import AssertionRewritingHook

    warn = AssertionRewritingHook._warn_already_imported

    def warn_unless_preloaded(self: AssertionRewritingHook, name: str) -> None:
        if name not in preloaded:
            warn(self, name)

    AssertionRewritingHook._warn_already_imported = warn_unless_preloaded  # type: ignore[method-assign]


# --- the client ------------------------------------------------------------------------------------


class _Server:
    """This process's server: started on first use, stopped by `stop()`; what it started with."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="forkrun-"))
        self.socket = self.directory / "socket"
        self.startup = _startup(dict(os.environ))
        #: CPU seconds of this server's forks, already counted in the tests that started them.
        self.children = 0.0
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(self.socket)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C at the terminal is for pytest, which stops the server itself
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line != b"ready\n":
            self.stop()
            raise RuntimeError(f"the fork server did not start (said {line!r}, exit {self.proc.poll()})")

    def stop(self) -> None:
        """Close its stdin (it reaps its forks and leaves), wait; count its own CPU; remove its directory."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            deadline = time.monotonic() + 60
            while True:
                try:
                    pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
                except ChildProcessError:  # reaped already (it had failed to start)
                    return
                if pid:
                    break
                if time.monotonic() > deadline:  # a fork a test leaked holds it: end the server's whole group
                    os.killpg(self.proc.pid, signal.SIGKILL)
                time.sleep(0.02)
            self.proc.returncode = os.waitstatus_to_exitcode(status)
            # Its own imports and forking and its handlers', less the commands' counted in their tests.
            cpu["servers"] += max(0.0, usage.ru_utime + usage.ru_stime - self.children)
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            shutil.rmtree(self.directory, ignore_errors=True)


_server: list[_Server] = []
#: CPU seconds of the forks that ended, and of the servers' own work (imports, forking), for tests/cpu_log.py.
cpu = {"children": 0.0, "servers": 0.0}


def _startup(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("PYTHON") or k in _STARTUP_NAMES}


def fork_refused(module: str, env: dict[str, str]) -> str | None:
    """Why a fork would not be what `python -m module` with `env` is; None when it would be."""
    if os.environ.get(NO_FORK_ENV) == "1":
        return f"{NO_FORK_ENV}=1"
    if module not in SERVED:
        return f"the fork server does not serve {module!r}"
    startup = _startup(dict(os.environ)) if not _server else _server[0].startup
    if _startup(env) != startup:
        # The hash seed, the path, the bytecode and locale settings act while an interpreter starts: a fork of
        # a server started with other values would carry those, so only a fresh interpreter is faithful.
        return "its start-up variables (PYTHON*, LANG, LC_*) differ from the fork server's"
    return None


def stop() -> None:
    """Stop this process's server, if one started: no process or socket is left."""
    while _server:
        _server.pop().stop()


class Forked:
    """A forked `python -m module argv` with the Popen surface the tests use.

    stdin is /dev/null; stdout and stderr are pipes (stderr into stdout with `merge`), read as text
    through `.stdout` / `.stderr` or `communicate`.
    """

    def __init__(self, server: _Server, module: str, argv: list[str], cwd: Path, env: dict[str, str], merge: bool):
        self.args = [sys.executable, "-m", module, *argv]
        self.returncode: int | None = None
        self._server = server
        out_r, out_w = os.pipe()
        err_r, err_w = (out_r, out_w) if merge else os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        self.stdout: IO[str] | None = open(out_r, encoding="utf-8", errors="replace")  # noqa: SIM115
        self.stderr: IO[str] | None = None if merge else open(err_r, encoding="utf-8", errors="replace")  # noqa: SIM115
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._conn.connect(str(server.socket))
            request = _request(module, argv, cwd, env)
            socket.send_fds(self._conn, [len(request).to_bytes(8, "big") + request], [null, out_w, err_w])
            self.pid: int = _PID.unpack(self._recv(_PID.size))[0]
        finally:
            for fd in {null, out_w, err_w}:
                os.close(fd)

    def _recv(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self._conn.recv(size - len(data))
            if not chunk:
                raise RuntimeError(f"the fork server hung up on {self.args[2:]}")
            data += chunk
        return data

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._conn], [], [], 0)[0]:
            self._finish()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._conn], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            self._finish()
        assert self.returncode is not None
        return self.returncode

    def _finish(self) -> None:
        code, seconds = _RESULT.unpack(self._recv(_RESULT.size))
        self._conn.close()
        cpu["children"] += seconds
        self._server.children += seconds
        self.returncode = code

    def send_signal(self, signum: int) -> None:
        # As Popen: never signal a pid whose process is known to be gone (it may be another's by now).
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[str, str | None]:
        """Read both streams to their end and wait; raises TimeoutExpired (the child left running) as Popen does."""
        import threading

        texts: dict[str, str] = {}
        readers = [
            threading.Thread(
                target=lambda name=name, stream=stream: texts.__setitem__(name, stream.read()), daemon=True
            )
            for name, stream in (("out", self.stdout), ("err", self.stderr))
            if stream is not None
        ]
        for reader in readers:
            reader.start()
        self.wait(timeout)
        for reader in readers:
            reader.join(timeout)
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        return texts.get("out", ""), texts.get("err") if self.stderr is not None else None

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.returncode is None:
            self.kill()
            self.wait()


def _request(module: str, argv: list[str], cwd: Path, env: dict[str, str]) -> bytes:
    import json

    return json.dumps({"module": module, "argv": argv, "cwd": str(cwd), "env": env}).encode()


def popen(
    module: str, *argv: str, cwd: Path, env: dict[str, str], merge: bool = False, fresh: bool = False
) -> Forked | subprocess.Popen[str]:
    """`python -m module argv` in `cwd` with exactly `env`: a fork when faithful, else a fresh interpreter."""
    if fresh or fork_refused(module, env) is not None:
        return subprocess.Popen(
            [sys.executable, "-m", module, *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge else subprocess.PIPE,
            text=True,
        )
    if not _server:
        _server.append(_Server())
    return Forked(_server[0], module, list(argv), cwd, env, merge)


def run(
    module: str, *argv: str, cwd: Path, env: dict[str, str], timeout: float = 600, fresh: bool = False
) -> subprocess.CompletedProcess[str]:
    """`popen`, read both streams and wait, as subprocess.run(capture_output=True, text=True) does."""
    proc = popen(module, *argv, cwd=cwd, env=env, fresh=fresh)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode is not None
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr or "")


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
