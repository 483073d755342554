"""`urls.parse` and `urls.scrub`, without a database.

Where hosts, ports, user, password and database come from (authority, query,
libpq environment), the asyncpg arguments each libpq parameter becomes, the
errors, and scrubbing by structure. (Wiring the target into `engines` is the
next step; the real-server tests for each parameter come with it.)
"""

from __future__ import annotations

import pytest

from echelon_seed import urls
from echelon_seed.errors import ConfigError

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
        ("error: postgresql://u:p@ss:w/rd%20?#@host/db", "error: postgresql://***"),
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
