"""Run `echelon-seed` commands as forks of one process that imported the package once.

The documentation's transcripts run dozens of commands in a bash session, and
a fresh interpreter spends most of a small command's CPU importing
SQLAlchemy, Alembic and the package before it does anything. Here one server
process imports them, and `echelon-seed` on the session's PATH is a small
client (`CLIENT`, written by `install_client`) that hands the server its
arguments, working directory, environment and its three standard streams
(the open files themselves, passed over a unix socket), then exits with the
command's exit code. For each command the server forks a process that takes
those streams as its own and runs `echelon_seed.__main__.main`, as the
installed command does: what it prints, on which stream, in which order, and
the exit code are the command's own, and no command sees what another did.

What a fork does not show is the interpreter's own start-up (the installed
script's first lines, the imports under a signal): tests/test_startup_signals.py
and tests/test_packaging.py run real processes for that.

    python scripts/command_server.py SOCKET [LOG]   # serve until SIGTERM; LOG gets one line per command
"""

from __future__ import annotations

import json
import locale
import os
import signal
import socket
import sys
import time
from pathlib import Path

#: Imported once by the server, so that no fork imports them again: the drivers and migrations some
#: command loads, and every module of the package (found by walking it, so that a module moved or
#: renamed is still warmed) but the two that act on import: the entry point (signal handlers) and
#: the pytest plugin.
WARM = ("sqlalchemy.ext.asyncio", "sqlalchemy.dialects.sqlite.aiosqlite", "aiosqlite", "alembic.runtime.migration")
COLD = ("echelon_seed.__main__", "echelon_seed.pytest_plugin")


def warm(extra: tuple[str, ...] = ()) -> list[str]:
    """Import WARM, `extra` and the package's modules; the names that would not import (a fork imports them itself).

    tests/forkrun.py warms the same set, and pytest besides, for the suite's child processes.
    """
    import importlib
    import pkgutil

    import echelon_seed

    names = (
        list(WARM)
        + list(extra)
        + [info.name for info in pkgutil.walk_packages(echelon_seed.__path__, "echelon_seed.") if info.name not in COLD]
    )
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional driver missing only costs its fork the import
            failed.append(name)
    return failed


#: The `echelon-seed` a transcript's PATH finds: stdlib only, no site (`-IS`), so it starts in milliseconds.
CLIENT = """#!{python} -IS
import json, os, socket, sys
request = json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}}).encode()
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    sock.connect({socket!r})
except OSError as exc:
    os.write(2, f"echelon-seed (transcript client): no command server at {socket!r}: {{exc}}\\n".encode())
    os._exit(70)
socket.send_fds(sock, [len(request).to_bytes(8, "big") + request], [0, 1, 2])
reply = b""
while len(reply) < 4:
    chunk = sock.recv(4 - len(reply))
    if not chunk:
        os.write(2, b"echelon-seed (transcript client): the command server hung up\\n")
        os._exit(70)
    reply += chunk
os._exit(int.from_bytes(reply, "big"))
"""


def install_client(directory: Path, socket_path: Path, python: Path) -> Path:
    """Write the `echelon-seed` client into `directory` (put it first on PATH); its path."""
    client = directory / "echelon-seed"
    client.write_text(CLIENT.format(python=python, socket=str(socket_path)), encoding="utf-8")
    client.chmod(0o755)
    return client


def receive(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 3)
    if len(data) < 8 or len(fds) != 3:
        raise OSError(f"a request without its length or its three streams ({len(fds)} given)")
    size = int.from_bytes(data[:8], "big")
    body = data[8:]
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise OSError("the client hung up mid-request")
        body += chunk
    request: dict[str, object] = json.loads(body)
    return request, fds


def _become_the_command(request: dict[str, object], fds: list[int]) -> None:
    """In the fork: take the client's streams, directory and environment, and run the command. Never returns."""
    argv = request["argv"]
    assert isinstance(argv, list)
    # As the installed script starts: its directory first on sys.path, its name as argv[0].
    script = Path(sys.executable).with_name("echelon-seed")
    try:
        take_over(fds, str(request["cwd"]), request["env"], [str(script), *argv], str(script.parent))
        from echelon_seed.__main__ import main

        main()  # leaves through os._exit with the command's code
    except BaseException:  # what an uncaught exception does to a process: a traceback and exit 1
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
    os._exit(1)


def take_over(fds: list[int], cwd: str, env: object, argv: list[str], path0: str) -> None:
    """Become the client's process: its three streams, directory, environment, argv and sys.path[0]."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(cwd)
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    sys.argv = argv
    sys.path[0] = path0
    # The streams Python would make for these files: block-buffered unless a terminal, stderr line-buffered.
    encoding = locale.getencoding()
    sys.stdin = open(0, encoding=encoding, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding=encoding, closefd=False)  # noqa: SIM115
    sys.stderr = open(  # noqa: SIM115
        2, "w", buffering=1, encoding=encoding, errors="backslashreplace", closefd=False
    )


def _handle(conn: socket.socket, log: Path | None) -> None:
    """In a fork of the server: run one command in a fork of its own and send its exit code. Never returns."""
    code = 70
    try:
        request, fds = receive(conn)
        if log is not None:
            with log.open("a", encoding="utf-8") as out:
                out.write(json.dumps(request["argv"]) + "\n")
        pid = os.fork()
        if pid == 0:
            conn.close()
            _become_the_command(request, fds)
        for fd in fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code < 0:  # killed by a signal: what a shell reports
            code = 128 - code
    finally:
        try:
            conn.sendall(code.to_bytes(4, "big"))
        finally:
            os._exit(0)


def serve(socket_path: Path, log: Path | None = None) -> None:
    """Import the package, listen on `socket_path`, say "ready" on stdout, and fork per command until SIGTERM."""
    warm()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    listener.listen(16)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _handle(conn, log)
        conn.close()
        reap()


def reap(*, block: bool = False) -> None:
    """Collect the finished forks (all of them with `block`), so that their CPU is counted as the server's children's."""
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _stop(_signum: int, _frame: object) -> None:
    reap(block=True)
    os._exit(0)


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    serve(Path(argv[0]), Path(argv[1]) if len(argv) == 2 else None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
