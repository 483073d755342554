"""A URL is parsed once into the target the driver uses; libpq's parameters are honoured or refused by name.

The first half checks `urls.parse` on its own (no database): where hosts,
ports, user, password and database come from, the asyncpg arguments each
parameter becomes, and the errors. The second half runs each parameter
against the session's real server through the CLI: sslmode=disable, allow and
prefer connect (the test server has no SSL), require/verify-* fail in one line
that says so; connect_timeout bounds a connection to a server that never
answers; application_name is what pg_stat_activity shows; options reach the
server (`-c statement_timeout=1` cancels the migration); target_session_attrs
is passed on; $PGHOST and $PGPORT fill in what the URL leaves out, and the
local/remote decision follows them.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import pytest

from echelon_seed import urls
from echelon_seed.errors import ConfigError
from tests import dbtools, pgserver
from tests.test_reliability_kill import PausedApply, cleanup

__all__ = ["cleanup"]  # a fixture, imported so that pytest finds it here

# --- parsing, no database -------------------------------------------------------------------------------------


def test_the_query_host_wins_and_is_what_the_target_says() -> None:
    target = urls.parse("postgresql://postgres@localhost/db?host=127.0.0.2:56104", environ={})
    assert (target.hosts, target.ports, target.is_local) == (("127.0.0.2",), (56104,), False)
    assert target.connect_kwargs()["host"] == ["127.0.0.2"]


@pytest.mark.parametrize(
    ("url", "hosts", "ports"),
    [
        ("postgresql://u@h:6000/db", ("h",), (6000,)),
        ("postgresql://u@h/db?port=6001", ("h",), (6001,)),
        ("postgresql://u@[::1]:6002/db", ("::1",), (6002,)),
        ("postgresql://u@a:1,b/db", ("a", "b"), (1, 5432)),
        ("postgresql://u@/db?host=/var/run/postgresql", ("/var/run/postgresql",), (5432,)),
        ("postgresql://u@%2Ftmp%2Fpg/db", ("/tmp/pg",), (5432,)),
        ("postgresql://u@/db?host=a:7,b:8", ("a", "b"), (7, 8)),
    ],
)
def test_hosts_and_ports_come_from_the_authority_or_the_query(
    url: str, hosts: tuple[str, ...], ports: tuple[int, ...]
) -> None:
    target = urls.parse(url, environ={})
    assert (target.hosts, target.ports) == (hosts, ports)


def test_the_environment_fills_in_what_the_url_leaves_out() -> None:
    env = {"PGHOST": "db.example.com", "PGPORT": "6543", "PGUSER": "ci", "PGDATABASE": "app", "PGSSLMODE": "require"}
    target = urls.parse("postgresql://", environ=env)
    assert (target.hosts, target.ports, target.user, target.database) == (("db.example.com",), (6543,), "ci", "app")
    assert target.params["sslmode"] == "require"
    assert not target.is_local
    # What the URL says wins over the environment.
    assert urls.parse("postgresql://me@localhost/mine", environ=env).hosts == ("localhost",)


def test_the_password_comes_from_the_userinfo_or_the_query_decoded() -> None:
    assert urls.parse("postgresql://u:p%40ss%2Fw@h/db", environ={}).password == "p@ss/w"
    assert urls.parse("postgresql://u@h/db?password=p%40ss", environ={}).password == "p@ss"
    assert urls.parse("postgresql://u@h/db", environ={}).password is None


def test_each_libpq_parameter_becomes_a_driver_argument() -> None:
    target = urls.parse(
        "postgresql://u:pw@h/db?sslmode=verify-full&sslrootcert=/certs/root.crt&sslcert=/certs/c.crt"
        "&sslkey=/certs/c.key&connect_timeout=5&application_name=ci%20job&options=-c%20statement_timeout%3D5000"
        "&target_session_attrs=read-write",
        environ={},
    )
    kwargs = target.connect_kwargs(server_settings={"timezone": "UTC"})
    assert kwargs["ssl"] == "verify-full"
    assert kwargs["timeout"] == 5.0
    assert kwargs["target_session_attrs"] == "read-write"
    assert kwargs["server_settings"] == {
        "application_name": "ci job",
        "options": "-c statement_timeout=5000",
        "timezone": "UTC",
    }
    assert kwargs["dsn"] == "postgresql://?sslrootcert=/certs/root.crt&sslcert=/certs/c.crt&sslkey=/certs/c.key"
    assert (kwargs["user"], kwargs["password"], kwargs["database"]) == ("u", "pw", "db")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("postgresql://u@h/db?sslmod=require", ["unknown parameter 'sslmod'"]),
        ("postgresql://u@h/db?sslmode=sometimes", ["sslmode='sometimes'", "verify-full"]),
        ("postgresql://u@h/db?connect_timeout=soon", ["connect_timeout='soon'"]),
        ("postgresql://u@h/db?target_session_attrs=any-old", ["target_session_attrs='any-old'"]),
        ("postgresql://u@h/db?sslmode=disable&sslmode=require", ["'sslmode' is given twice"]),
        ("sqlite:///x.db?mode=ro", ["unknown parameter(s) mode"]),
        ("mysql://u@h/db", ["unsupported database 'mysql'"]),
        ("postgresql+psycopg://u@h/db", ["unsupported driver 'postgresql+psycopg'"]),
    ],
)
def test_an_unusable_parameter_is_refused_by_name(url: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as refused:
        urls.parse(url, environ={})
    for word in words:
        assert word in str(refused.value)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("at postgresql://u:postgres@h/db: refused", "at postgresql://u:***@h/db: refused"),
        ("postgresql://u@h/db?password=5&sslmode=disable", "postgresql://u@h/db?password=***&sslmode=disable"),
        ("error: postgresql://u:p@ss:w/rd%20?#@host/db", "error: postgresql://u:***@host/db"),
        (
            "x postgresql+asyncpg:://user:S3cr3tPW9x@h/db?password=y y",
            "x postgresql+asyncpg:://user:***@h/db?password=*** y",
        ),
        ("at mysql://u:e@h/db", "at mysql://u:***@h/db"),
        (
            "kw {'password': 'e', 'port': 1} dsn password=x dbname=d",
            "kw {'password': '***', 'port': 1} dsn password=*** dbname=d",
        ),
        (
            "for user postgres on postgresql://postgres@h/postgres",
            "for user postgres on postgresql://postgres@h/postgres",
        ),
    ],
)
def test_scrub_hides_only_the_password(text: str, shown: str) -> None:
    assert urls.scrub(text) == shown


def test_scrub_args_hides_url_option_values() -> None:
    assert urls.scrub_args(["--database-url", "postgresql://u:5@h/d", "--database-url=postgresql://u:e@h/d", "x"]) == [
        "--database-url",
        "postgresql://u:***@h/d",
        "--database-url=postgresql://u:***@h/d",
        "x",
    ]


def test_the_documented_environment_variables_are_the_ones_honoured() -> None:
    readme = (dbtools.REPO / "docs" / "engines.md").read_text(encoding="utf-8")
    for name in urls.PG_ENVIRONMENT:
        assert f"`{name}`" in readme, name


# --- against the real server ------------------------------------------------------------------------------------


def _with_query(url: str, query: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
def test_sslmodes_that_allow_plain_connections_work(pg_url: str, mode: str) -> None:
    done = dbtools.run_cli("apply", "-q", database_url=_with_query(pg_url, f"sslmode={mode}"))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("mode", ["require", "verify-ca", "verify-full"])
def test_sslmodes_that_need_ssl_fail_in_one_line_against_a_server_without_it(pg_url: str, mode: str) -> None:
    done = dbtools.run_cli("apply", "-q", database_url=_with_query(pg_url, f"sslmode={mode}"), timeout=60)

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("echelon-seed: error: "), done.stderr
    assert "SSL" in lines[0] or "ssl" in lines[0] or "certificate" in lines[0], lines[0]
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def test_connect_timeout_bounds_a_server_that_never_answers(pg_url: str) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the TCP connection and never says a word
    try:
        parts = urlsplit(pg_url)
        netloc = f"{parts.netloc.rpartition('@')[0]}@127.0.0.1:{silent.getsockname()[1]}"
        url = urlunsplit((parts.scheme, netloc, parts.path, "connect_timeout=1", ""))
        started = time.monotonic()
        done = dbtools.run_cli("apply", "-q", database_url=url, timeout=60)
        elapsed = time.monotonic() - started
    finally:
        silent.close()

    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    # Start-up of the interpreter included; the default timeout is 10 s.
    assert elapsed < 8, f"gave up after {elapsed:.1f} s with connect_timeout=1"


async def test_application_name_is_what_the_server_shows(pg_url: str, cleanup: list[PausedApply]) -> None:
    holder = PausedApply(_with_query(pg_url, "application_name=nightly%20ci"), pause="locked", seconds=30)
    cleanup.append(holder)
    holder.wait_paused()
    admin = await asyncpg.connect(**pgserver.connect_kwargs(pg_url))
    try:
        names = {r[0] for r in await admin.fetch("SELECT application_name FROM pg_stat_activity")}
    finally:
        await admin.close()
    holder.proc.terminate()
    holder.finish()

    assert "nightly ci" in names, names


async def test_options_reach_the_server(pg_url: str) -> None:
    # A setting whose effect does not depend on timing (a 1 ms statement_timeout raced the client's own
    # cancellation on a busy machine): every transaction read-only, so the seed's first write is refused.
    options = quote("-c default_transaction_read_only=on", safe="")
    done = dbtools.run_cli("apply", "-q", database_url=_with_query(pg_url, f"options={options}"))

    assert done.returncode == 2, done.stderr
    assert "read-only transaction" in done.stderr, done.stderr
    assert await dbtools.table_names(pg_url) == set()  # and nothing was written


@pytest.mark.parametrize(("attrs", "code"), [("read-write", 0), ("any", 0), ("standby", 2)])
def test_target_session_attrs_are_passed_to_the_driver(pg_url: str, attrs: str, code: int) -> None:
    done = dbtools.run_cli("apply", "-q", database_url=_with_query(pg_url, f"target_session_attrs={attrs}"))

    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


async def test_pghost_and_pgport_fill_in_and_decide_locality(pg_url: str, pg_server: pgserver.PgServer) -> None:
    parts = urlsplit(pg_url)
    userinfo = parts.netloc.rpartition("@")[0]
    bare = urlunsplit((parts.scheme, f"{userinfo}@", parts.path, "", ""))
    env = {"PGHOST": "127.0.0.1", "PGPORT": str(pg_server.port)}

    seeded = dbtools.run_cli("apply", "-q", database_url=bare, env=env)
    await dbtools.execute(pg_url, "DELETE FROM echelon_seed_runs")  # rows, but no record: not plainly ours
    # The same server through $PGHOST=127.1 is not plainly local: --force needs the name.
    refused = dbtools.run_cli("apply", "--force", database_url=bare, env={**env, "PGHOST": "127.1"})
    forced = dbtools.run_cli("apply", "--force", "-q", database_url=bare, env=env)

    assert seeded.returncode == 0, seeded.stderr
    assert refused.returncode == 2 and "--confirm" in refused.stderr and "@127.1:" in refused.stderr, refused.stderr
    assert forced.returncode == 0, forced.stderr


def test_a_unix_socket_directory_in_the_query_connects_and_is_local(pg_url: str, pg_server: pgserver.PgServer) -> None:
    assert pg_server.log_file is not None, "the suite's own server listens on a socket in its directory"
    socket_dir = str(pg_server.log_file.parent)
    parts = urlsplit(pg_url)
    userinfo = parts.netloc.rpartition("@")[0]
    url = urlunsplit((parts.scheme, f"{userinfo}@", parts.path, f"host={socket_dir}&port={pg_server.port}", ""))
    target = urls.parse(url, environ={})

    done = dbtools.run_cli("apply", database_url=url)

    assert (target.hosts, target.ports, target.is_local) == ((socket_dir,), (pg_server.port,), True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"seeded {target.display}\n"), done.stdout
    assert f"?host={socket_dir}&port={pg_server.port}" in target.display


async def test_the_lock_timeout_names_the_target_the_driver_uses(pg_url: str, cleanup: list[PausedApply]) -> None:
    holder = PausedApply(pg_url, pause="locked", seconds=60)
    cleanup.append(holder)
    holder.wait_paused()
    parts = urlsplit(pg_url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    # The authority says localhost; the query sends the driver to 127.0.0.1, and the message says so.
    url = urlunsplit((parts.scheme, f"{userinfo}@localhost", parts.path, f"host={hostport}", ""))

    done = dbtools.run_cli("apply", "--force", "--lock-timeout", "1", database_url=url, timeout=60)
    holder.proc.terminate()
    holder.finish()

    assert done.returncode == 2, done.stderr
    shown = f"postgresql://{userinfo.partition(':')[0]}:***@{hostport}{parts.path}"
    assert f"another writer holds the seed lock on {shown} (" in done.stderr, done.stderr
