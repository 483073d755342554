"""A throwaway PostgreSQL server for the test session.

The suite runs every engine-sensitive test on a real PostgreSQL, so it needs a
server that exists only for the session: :func:`start` runs ``initdb`` in a
fresh directory under ``/dev/shm`` (tmpfs) or ``/tmp``, starts it on a free
port of 127.0.0.1 (plus a unix socket in that directory) and returns a
:class:`PgServer` that makes and drops databases.  ``stop()`` kills it and
deletes the directory.

PostgreSQL refuses to run as root, and CI runs as root: then every server
command runs as the ``postgres`` system user (created if absent) through
``runuser``, in a directory chowned to it (pytest's ``tmp_path`` is not
readable by that user).  As any other user the commands run directly.

The superuser password is deliberately awkward (``@``, ``/``, ``%``) so that
the tests notice any place that mis-encodes a URL or prints a password.  It is
never put on a command line, in an environment variable or in a message.

Set ``ECHELON_TEST_POSTGRES_URL`` to the admin URL of an existing server (a
superuser, or a role that may create databases) to use it instead.

This module must not import ``echelon_seed``: it tests the ground the package
stands on.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg

ENV_URL = "ECHELON_TEST_POSTGRES_URL"
SUPERUSER = "postgres"
PASSWORD = "S3cr3t-p@ss/wo%rd"
OS_USER = "postgres"
HOST = "127.0.0.1"

_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_T = TypeVar("_T")


class PgServerError(RuntimeError):
    """The test server could not be found, started or used."""


# --------------------------------------------------------------------------- URLs


def _scheme_ok(scheme: str) -> bool:
    # Accept "postgresql", "postgres" and SQLAlchemy's "postgresql+asyncpg".
    return scheme.split("+", 1)[0] in ("postgresql", "postgres")


def connect_kwargs(url: str) -> dict[str, Any]:
    """asyncpg.connect() keyword arguments for a ``postgresql://`` URL.

    The user and password are percent-decoded here rather than trusting any
    DSN parser with them (the password has ``@``, ``/`` and ``%`` in it).
    """
    parts = urlsplit(url)
    if not _scheme_ok(parts.scheme):
        raise PgServerError(f"not a PostgreSQL URL (scheme {parts.scheme!r})")
    kwargs: dict[str, Any] = {
        "host": parts.hostname or HOST,
        "port": parts.port or 5432,
        "user": unquote(parts.username) if parts.username else SUPERUSER,
        "database": unquote(parts.path.lstrip("/")) or "postgres",
    }
    if parts.password is not None:
        kwargs["password"] = unquote(parts.password)
    return kwargs


def _with_database(url: str, name: str) -> str:
    """The same URL (credentials, host, query) pointing at database *name*."""
    parts = urlsplit(url)
    scheme = "postgresql" if _scheme_ok(parts.scheme) else parts.scheme
    return urlunsplit((scheme, parts.netloc, "/" + quote(name, safe=""), parts.query, ""))


def hide_password(url: str) -> str:
    """*url* with its password replaced by ``***`` (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo = parts.netloc.rsplit("@", 1)
    user = userinfo[0].split(":", 1)[0]
    return urlunsplit((parts.scheme, f"{user}:***@{userinfo[1]}", parts.path, parts.query, ""))


# --------------------------------------------------------------------- async glue


def _run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run *coro* to completion from synchronous code.

    Fixtures are synchronous; if a caller is already inside a running event
    loop, the coroutine runs on its own loop in a worker thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise PgServerError(f"unsafe database name {name!r} (want [a-z_][a-z0-9_]*, at most 63)")
    return name


# ------------------------------------------------------------------------- server


class PgServer:
    """A PostgreSQL server the tests may create and drop databases on.

    ``admin_url`` connects as the superuser to the ``postgres`` database.  Its
    ``repr`` hides the password.
    """

    def __init__(self, admin_url: str, *, datadir: Path | None = None, bindir: Path | None = None) -> None:
        self.admin_url = admin_url
        self._root = datadir.parent if datadir is not None else None
        self._datadir = datadir
        self._bindir = bindir
        self._stopped = False
        self._strategy: str | None = None
        self.start_seconds = 0.0

    @property
    def owned(self) -> bool:
        """True when this process started the server (and ``stop()`` kills it)."""
        return self._datadir is not None

    @property
    def port(self) -> int:
        return int(urlsplit(self.admin_url).port or 5432)

    @property
    def log_file(self) -> Path | None:
        return self._root / "postgres.log" if self._root is not None else None

    def __repr__(self) -> str:
        return f"PgServer({hide_password(self.admin_url)!r}, owned={self.owned})"

    def url(self, name: str) -> str:
        """The URL of database *name* on this server (plain ``postgresql://``)."""
        return _with_database(self.admin_url, _check_name(name))

    async def _execute(self, sql: str) -> None:
        conn = await asyncpg.connect(**connect_kwargs(self.admin_url), timeout=30)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def create_database(self, name: str) -> str:
        """Create an empty database *name* (from template1); return its URL."""
        _check_name(name)
        _run(self._execute(f'CREATE DATABASE "{name}"{self.copy_strategy()}'))
        return self.url(name)

    def copy_strategy(self) -> str:
        """`` STRATEGY FILE_COPY`` on PostgreSQL 15 and later, else nothing: how the tests' databases are made.

        The default (WAL_LOG) writes every page of the template through the WAL,
        which suits a large template on a busy server; a test database is copied
        from a small one on an idle server, where copying the files costs the
        server about half the CPU (measured: 11 ms against 19.5 ms per CREATE
        from template1, 22 ms against 33 ms from a seeded template).
        """
        if self._strategy is None:
            version = _run(self._fetch("SELECT current_setting('server_version_num')::int"))
            self._strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
        return self._strategy

    async def _fetch(self, sql: str) -> Any:
        conn = await asyncpg.connect(**connect_kwargs(self.admin_url), timeout=30)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    def drop_database(self, name: str) -> None:
        """Drop database *name*, disconnecting anyone still on it."""
        _check_name(name)
        _run(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def stop(self) -> None:
        """Stop the server (immediate mode) and delete its directory.

        Idempotent.  A server given by ``ECHELON_TEST_POSTGRES_URL`` is left
        running.
        """
        if self._stopped:
            return
        self._stopped = True
        if self._datadir is None or self._bindir is None or self._root is None:
            return
        try:
            if (self._datadir / "postmaster.pid").exists():
                _pg(
                    self._bindir,
                    "pg_ctl",
                    "stop",
                    "-D",
                    str(self._datadir),
                    "-m",
                    "immediate",
                    "-w",
                    "-t",
                    "30",
                    cwd=self._root,
                    check=False,
                )
        finally:
            shutil.rmtree(self._root, ignore_errors=True)


# ---------------------------------------------------------------- finding, running


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``.

    ``pg_config --bindir`` first (it may name a client-only directory, so the
    binaries are checked), then the newest ``/usr/lib/postgresql/*/bin``,
    then ``PATH``.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))

    def version(path: str) -> tuple[int, ...]:
        ver = Path(path).parent.name
        return tuple(int(p) for p in ver.split(".") if p.isdigit())

    for path in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        candidates.append(Path(path))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise PgServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package "
        "`postgresql` (.ci/run does), or set ECHELON_TEST_POSTGRES_URL to an existing server's admin URL"
    )


def _as_root() -> bool:
    return os.geteuid() == 0


def _ensure_os_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        pass
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(OS_USER)


def _child_env() -> dict[str, str]:
    # No PG* variables (PGDATA, PGPORT, PGPASSWORD...) and no locale from the
    # caller's shell: initdb gets its locale from the command line only.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "LC_")) and k != "LANG"}
    env["LANG"] = "C"
    return env


def _pg(bindir: Path, tool: str, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool, as the ``postgres`` user when we are root.

    Output goes to a file, not a pipe: ``pg_ctl start`` leaves a postmaster
    behind, which must not hold our pipe open.
    """
    cmd = [str(bindir / tool), *args]
    if _as_root():
        cmd = (["runuser", "-u", OS_USER, "--"] if shutil.which("runuser") else []) + cmd
    out_path = cwd / f".{tool}.out"
    with open(out_path, "w+") as out:
        kwargs: dict[str, Any] = {}
        if _as_root() and not shutil.which("runuser"):
            kwargs = {"user": OS_USER, "group": OS_USER, "extra_groups": []}
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=_child_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            start_new_session=True,
            **kwargs,
        )
        out.seek(0)
        output = out.read()
    result = subprocess.CompletedProcess(cmd, proc.returncode, output, "")
    if check and proc.returncode != 0:
        raise PgServerError(f"{tool} failed (exit {proc.returncode}):\n{_tail(output)}")
    return result


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _parent_dir() -> str:
    """Where the server's directory goes: /dev/shm when it is a roomy tmpfs, else /tmp.

    On this project's machines /tmp is ext4 whose file opens and creates are
    slow: CREATE DATABASE (about 1,200 file opens) took 60-300 ms there and
    10 ms on tmpfs.  A small /dev/shm (Docker's default is 64 MiB) is skipped.
    """
    shm = "/dev/shm"
    try:
        stat = os.statvfs(shm)
        roomy = stat.f_bavail * stat.f_frsize >= 2 * 1024**3
        if roomy and os.access(shm, os.W_OK | os.X_OK) and os.path.isdir(shm):
            return shm
    except OSError:
        pass
    return "/tmp"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _initdb(bindir: Path, root: Path, datadir: Path) -> None:
    pwfile = root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    pwfile.chmod(0o600)
    if _as_root():
        user = pwd.getpwnam(OS_USER)
        os.chown(pwfile, user.pw_uid, user.pw_gid)
    common = [
        "-D",
        str(datadir),
        "--username",
        SUPERUSER,
        "--auth=scram-sha-256",
        f"--pwfile={pwfile}",
        "--encoding=UTF8",
        "--no-instructions",
        "--no-sync",
    ]
    try:
        first = _pg(bindir, "initdb", *common, "--locale=C.UTF-8", cwd=root, check=False)
        if first.returncode != 0:
            # C.UTF-8 missing from this libc: the C locale with UTF-8 encoding
            # sorts the same way (by code point).
            shutil.rmtree(datadir, ignore_errors=True)
            second = _pg(bindir, "initdb", *common, "--no-locale", cwd=root, check=False)
            if second.returncode != 0:
                raise PgServerError(
                    "initdb failed with --locale=C.UTF-8:\n"
                    + _tail(first.stdout, 15)
                    + "\nand with --no-locale:\n"
                    + _tail(second.stdout)
                )
    finally:
        pwfile.unlink(missing_ok=True)


def _write_config(datadir: Path, root: Path, port: int, *, durable: bool = False) -> None:
    # Appended to postgresql.conf: the last setting of a name wins.  The
    # speed settings lose durability, which a throwaway server never needs;
    # a durable server keeps initdb's defaults (fsync on), as users run it.
    settings = {
        "listen_addresses": f"'{HOST}'",
        "port": str(port),
        "unix_socket_directories": f"'{root}'",
        "max_connections": "100",
    }
    if not durable:
        settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    with open(datadir / "postgresql.conf", "a") as conf:
        conf.write("\n# echelon-seed test server (tests/pgserver.py)\n")
        for key, value in settings.items():
            conf.write(f"{key} = {value}\n")


def _admin_url(port: int) -> str:
    return f"postgresql://{SUPERUSER}:{quote(PASSWORD, safe='')}@{HOST}:{port}/postgres"


def start(*, attempts: int = 3, durable: bool = False, parent: str | None = None) -> PgServer:
    """Start a fresh server (or adopt ``ECHELON_TEST_POSTGRES_URL``).

    ``durable`` keeps initdb's default settings (fsync on) instead of the
    fast ones, and ``parent`` chooses the directory's parent (a durable
    server is meant to stand on a real disk, not tmpfs): the server users
    run, for the plugin's tests and bench.  An external server is adopted
    only when neither is asked for.

    Raises :class:`PgServerError` with the tail of the server log when the
    server does not come up.
    """
    began = time.perf_counter()
    external = os.environ.get(ENV_URL, "").strip()
    if external and not durable:
        server = PgServer(external)
        try:
            _run(server._execute("SELECT 1"))
        except Exception as exc:  # re-raised with a message that hides the password
            raise PgServerError(
                f"{ENV_URL} ({hide_password(external)}) does not answer: {type(exc).__name__}: {exc}"
            ) from None
        server.start_seconds = time.perf_counter() - began
        return server

    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="echelon-pg-", dir=parent or _parent_dir()))
    datadir = root / "data"
    log = root / "postgres.log"
    try:
        root.chmod(0o700)
        if _as_root():
            user = _ensure_os_user()
            os.chown(root, user.pw_uid, user.pw_gid)
        _initdb(bindir, root, datadir)
        last = ""
        for _ in range(attempts):
            port = _free_port()
            _write_config(datadir, root, port, durable=durable)
            result = _pg(
                bindir, "pg_ctl", "start", "-D", str(datadir), "-l", str(log), "-w", "-t", "60", cwd=root, check=False
            )
            if result.returncode == 0:
                server = PgServer(_admin_url(port), datadir=datadir, bindir=bindir)
                atexit.register(server.stop)  # in case the session dies before its finalizer
                server.start_seconds = time.perf_counter() - began
                return server
            log_text = log.read_text(errors="replace") if log.exists() else ""
            last = (
                f"pg_ctl start (port {port}) exit {result.returncode}:\n{_tail(result.stdout, 10)}\n"
                f"--- {log} (tail) ---\n{_tail(log_text)}"
            )
            # Someone took the port between our probe and the bind: try another.
            if "could not bind" not in log_text and "Address already in use" not in log_text:
                break
            # Don't let a half-started server linger.
            _pg(bindir, "pg_ctl", "stop", "-D", str(datadir), "-m", "immediate", "-w", cwd=root, check=False)
        raise PgServerError(f"PostgreSQL test server did not start ({bindir}).\n{last}")
    except BaseException:
        if (datadir / "postmaster.pid").exists():
            _pg(bindir, "pg_ctl", "stop", "-D", str(datadir), "-m", "immediate", "-w", cwd=root, check=False)
        shutil.rmtree(root, ignore_errors=True)
        raise
