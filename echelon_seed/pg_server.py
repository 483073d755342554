"""A throwaway PostgreSQL server for a test session: found, started once, stopped and removed.

The pytest plugin uses it when no server URL is given and PostgreSQL is
wanted (`--echelon-postgres auto`, or a schema that SQLite cannot hold), so
that a team with the binaries installed needs no running server. The server
is for tests only: durability is switched off (fsync, synchronous commit,
full page writes), it listens on 127.0.0.1 and a unix socket in its own
directory, and its superuser password is drawn afresh (kept in a 0600 file
only when the directory is reused).

PostgreSQL refuses to run as root: then every server command runs as the
`postgres` system user (created when absent) through `runuser`, in a
directory that user owns. pytest's own temporary directory is private to
root, so as root the server's directory is made in /dev/shm or /tmp instead.

A watchdog process (this module run with `watch`) stops the server and
removes its directory when the process that started it dies without doing
so itself (SIGKILL, a crash); an orderly stop ends the watchdog first.

Standard library only; nothing here imports SQLAlchemy or a driver.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from .errors import ConfigError

__all__ = ["SEARCHED", "Server", "default_cache_dir", "find_bindir", "server_version", "start"]

_TOOLS = ("initdb", "pg_ctl", "postgres")
_OS_USER = "postgres"
_SUPERUSER = "postgres"
_HOST = "127.0.0.1"
#: Where the binaries are looked for, in this order (for the error that names them).
SEARCHED = (
    "PATH",
    "pg_config --bindir",
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql*/bin",
    "/usr/local/opt/postgresql*/bin",
    "/opt/homebrew/bin",
    "/home/linuxbrew/.linuxbrew/bin",
)
# The directories searched after PATH and pg_config, newest version first within each.
_GLOBS = SEARCHED[2:]
# Settings for a server whose data nobody needs after the session: appended, so they win.
_TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "logging_collector": "off",
}


def _version_key(path: str) -> tuple[int, ...]:
    """The PostgreSQL version in a versioned directory name, for newest-first order."""
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def _candidates(environ: dict[str, str]) -> Iterator[Path]:
    for directory in environ.get("PATH", "").split(os.pathsep):
        if directory:
            yield Path(directory)
    pg_config = shutil.which("pg_config", path=environ.get("PATH"))
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False)
            if out.returncode == 0 and out.stdout.strip():
                yield Path(out.stdout.strip())
    for pattern in _GLOBS:
        for path in sorted(glob.glob(pattern), key=_version_key, reverse=True):
            yield Path(path)


def find_bindir(environ: dict[str, str] | None = None) -> Path:
    """The first directory holding initdb, pg_ctl and postgres; a one-line error naming what was searched."""
    env = dict(os.environ if environ is None else environ)
    for directory in _candidates(env):
        if all(os.access(directory / tool, os.X_OK) and (directory / tool).is_file() for tool in _TOOLS):
            return directory
    raise ConfigError(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; searched "
        + ", ".join(SEARCHED)
        + "; install PostgreSQL's server package, or give a server with --echelon-db-url"
    )


def server_version(bindir: Path) -> str:
    """The binaries' version, e.g. "15.8" (from `postgres --version`)."""
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"(\d+(?:\.\d+)?)", out.stdout)
    if out.returncode != 0 or found is None:
        raise ConfigError(f"{bindir / 'postgres'} --version did not say its version: {out.stdout or out.stderr}")
    return found[1]


def _as_root() -> bool:
    return os.geteuid() == 0


def _os_user() -> pwd.struct_passwd:
    """The unprivileged user the server runs as when we are root (made when missing)."""
    try:
        return pwd.getpwnam(_OS_USER)
    except KeyError:
        pass
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", _OS_USER],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(_OS_USER)


def _give(path: Path) -> None:
    if _as_root():
        user = _os_user()
        os.chown(path, user.pw_uid, user.pw_gid)


def _env() -> dict[str, str]:
    # No PG* variables and no locale of the caller's shell reach the server's tools.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "LC_")) and k != "LANG"}
    env["LANG"] = "C"
    return env


def _run(bindir: Path, tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A server tool, as the unprivileged user when we are root; output through a file.

    `pg_ctl start` leaves the postmaster running, which must not hold a pipe of ours open.
    """
    cmd = [str(bindir / tool), *args]
    if _as_root():
        cmd = ["runuser", "-u", _OS_USER, "--", *cmd]
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.run(
            cmd, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            text=True, check=False, start_new_session=True,
        )  # fmt: skip
        out.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), "")


def _tail(text: str, lines: int = 8) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _scratch_parent() -> Path:
    """As root: a roomy tmpfs when there is one (file creation is what CREATE DATABASE costs), else /tmp."""
    with contextlib.suppress(OSError):
        stat = os.statvfs("/dev/shm")
        if stat.f_bavail * stat.f_frsize >= 2 * 1024**3 and os.access("/dev/shm", os.W_OK | os.X_OK):
            return Path("/dev/shm")
    return Path(tempfile.gettempdir())


@dataclass
class Server:
    """A server this process started; `url` is its superuser's URL to the `postgres` database."""

    url: str = field(repr=False)
    password: str = field(repr=False)
    version: str
    root: Path
    bindir: Path
    reused: bool = False
    _watchdog: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _lock: IO[bytes] | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def display(self) -> str:
        return self.url.replace(":" + quote(self.password, safe="") + "@", ":***@", 1)

    @property
    def settings(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in _TEST_SETTINGS.items() if k != "logging_collector")

    def stop(self) -> None:
        """Stop the server; remove its directory unless it is the reused one. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._watchdog is not None:
            with contextlib.suppress(OSError):
                self._watchdog.terminate()
                self._watchdog.wait(timeout=5)
        try:
            _shutdown(self.bindir, self.root, keep=self.reused)
        finally:
            if self._lock is not None:
                self._lock.close()


def _shutdown(bindir: Path, root: Path, *, keep: bool) -> None:
    datadir = root / "data"
    try:
        if (datadir / "postmaster.pid").exists():
            # A kept directory is shut down cleanly, so its next start needs no crash recovery.
            mode = "fast" if keep else "immediate"
            _run(bindir, "pg_ctl", "stop", "-D", str(datadir), "-m", mode, "-w", "-t", "60", cwd=root)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def _initdb(bindir: Path, root: Path, password: str) -> None:
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n", encoding="utf-8")
    pwfile.chmod(0o600)
    _give(pwfile)
    common = [
        "-D", str(root / "data"), "--username", _SUPERUSER, "--auth=scram-sha-256", f"--pwfile={pwfile}",
        "--encoding=UTF8", "--no-instructions", "--no-sync",
    ]  # fmt: skip
    try:
        done = _run(bindir, "initdb", *common, "--locale=C.UTF-8", cwd=root)
        if done.returncode != 0:  # a libc without C.UTF-8: the C locale sorts alike (by code point)
            shutil.rmtree(root / "data", ignore_errors=True)
            done = _run(bindir, "initdb", *common, "--no-locale", cwd=root)
        if done.returncode != 0:
            raise ConfigError(f"initdb ({bindir}) failed in {root}: {_tail(done.stdout)}")
    finally:
        pwfile.unlink(missing_ok=True)


def _configure(root: Path, port: int) -> None:
    settings = {
        "listen_addresses": f"'{_HOST}'",
        "port": str(port),
        "unix_socket_directories": f"'{root}'",
        **_TEST_SETTINGS,
    }
    with (root / "data" / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("\n# echelon-seed's test server: no durability, this machine only\n")
        for name, value in settings.items():
            conf.write(f"{name} = {value}\n")


def _start(bindir: Path, root: Path, attempts: int = 3) -> int:
    """pg_ctl start on a free port (another if someone took it meanwhile); the port."""
    log = root / "postgres.log"
    last = ""
    for _ in range(attempts):
        port = _free_port()
        _configure(root, port)
        done = _run(bindir, "pg_ctl", "start", "-D", str(root / "data"), "-l", str(log), "-w", "-t", "60", cwd=root)
        if done.returncode == 0:
            return port
        text = log.read_text(errors="replace") if log.exists() else ""
        last = _tail(text) or _tail(done.stdout)
        if "could not bind" not in text and "already in use" not in text:
            break
    raise ConfigError(f"PostgreSQL ({bindir}) did not start in {root}: {last}")


def _watch(pid: int, root: Path, bindir: Path, *, keep: bool) -> subprocess.Popen[bytes]:
    """A process that stops the server (and removes `root` unless kept) once `pid` is gone without doing so."""
    return subprocess.Popen(
        [sys.executable, "-m", "echelon_seed.pg_server", "watch", str(pid), str(root), str(bindir), str(int(keep))],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C is for pytest, not for the watchdog
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )


def _reuse_root(cache: Path, version: str) -> Path:
    return cache / f"postgres-{version}"


def default_cache_dir() -> Path:
    """Where a reused server's directory lives: $ECHELON_SEED_CACHE_DIR, else the user's cache directory.

    As root the server's user must be able to reach it, and root's home is private: /var/tmp then.
    """
    given = os.environ.get("ECHELON_SEED_CACHE_DIR")
    if given:
        return Path(given)
    if _as_root():
        return Path("/var/tmp/echelon-seed")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "echelon-seed"


def start(base: Path, *, reuse: Path | None = None, environ: dict[str, str] | None = None) -> Server:
    """Start a server for this session.

    Its directory is made under `base` (pytest's temporary directory; as
    root, a directory of its own in /dev/shm or /tmp). With `reuse` (a cache
    directory), the directory `reuse/postgres-<version>` is kept between
    sessions, so templates built by one session serve the next; a second
    session while one holds it gets a throwaway server instead.
    """
    bindir = find_bindir(environ)
    version = server_version(bindir)
    lock: IO[bytes] | None = None
    if reuse is not None:
        root = _reuse_root(reuse, version)
        root.parent.mkdir(parents=True, exist_ok=True)
        lock = (root.parent / f"{root.name}.lock").open("a+b")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            lock, reuse = None, None
    if reuse is not None:
        return _start_reused(bindir, version, root, lock)
    parent = _scratch_parent() if _as_root() else base
    parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="echelon-postgres-", dir=parent))
    watchdog = None
    try:
        root.chmod(0o700)
        _give(root)
        password = secrets.token_urlsafe(18)
        _initdb(bindir, root, password)
        watchdog = _watch(os.getpid(), root, bindir, keep=False)
        port = _start(bindir, root)
    except BaseException:
        if watchdog is not None:
            watchdog.terminate()
        _shutdown(bindir, root, keep=False)
        raise
    url = f"postgresql://{_SUPERUSER}:{quote(password, safe='')}@{_HOST}:{port}/postgres"
    return Server(url=url, password=password, version=version, root=root, bindir=bindir, _watchdog=watchdog)


def _start_reused(bindir: Path, version: str, root: Path, lock: IO[bytes] | None) -> Server:
    secret = root.parent / f"{root.name}.password"
    try:
        if not (root / "data" / "PG_VERSION").is_file() or not secret.is_file():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(mode=0o700)
            _give(root)
            password = secrets.token_urlsafe(18)
            _initdb(bindir, root, password)
            secret.touch(mode=0o600)
            secret.write_text(password, encoding="utf-8")
        password = secret.read_text(encoding="utf-8").strip()
        pidfile = root / "data" / "postmaster.pid"
        if pidfile.exists():  # left by a session that was killed: its server may still run
            _run(bindir, "pg_ctl", "stop", "-D", str(root / "data"), "-m", "fast", "-w", "-t", "60", cwd=root)
        port = _start(bindir, root)
    except BaseException:
        if lock is not None:
            lock.close()
        raise
    watchdog = _watch(os.getpid(), root, bindir, keep=True)
    url = f"postgresql://{_SUPERUSER}:{quote(password, safe='')}@{_HOST}:{port}/postgres"
    return Server(
        url=url, password=password, version=version, root=root, bindir=bindir, reused=True,
        _watchdog=watchdog, _lock=lock,
    )  # fmt: skip


def _watch_main(argv: Sequence[str]) -> int:
    """`python -m echelon_seed.pg_server watch PID ROOT BINDIR KEEP`: the watchdog's loop."""
    pid, root, bindir, keep = int(argv[0]), Path(argv[1]), Path(argv[2]), argv[3] == "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = False

    def ended(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, ended)  # the owner stops the server itself: just leave
    while not stop:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                _shutdown(bindir, root, keep=keep)
            return 0
        except PermissionError:
            pass
        time.sleep(0.5)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "watch":
        raise SystemExit(_watch_main(sys.argv[2:]))
    raise SystemExit("usage: python -m echelon_seed.pg_server watch PID ROOT BINDIR KEEP")
