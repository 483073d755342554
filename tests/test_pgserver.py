"""The test databases themselves: the suite's other tests stand on these fixtures.

asyncpg is used directly (not the project's engine module) so that a failure
here points at the fixtures, not at the code under test.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import asyncpg
import pytest

from tests import pgserver


async def _connect(url: str) -> asyncpg.Connection:
    parts = urlsplit(url)
    assert parts.scheme == "postgresql"
    assert parts.password is not None
    return await asyncpg.connect(
        host=parts.hostname,
        port=parts.port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password),
        database=unquote(parts.path.lstrip("/")),
    )


async def test_server_answers_through_its_url(pg_server: pgserver.PgServer, pg_url: str) -> None:
    conn = await _connect(pg_url)
    try:
        version = await conn.fetchval("select version()")
        encoding = await conn.fetchval("show server_encoding")
    finally:
        await conn.close()
    assert version.startswith("PostgreSQL ")
    assert encoding == "UTF8"
    if pg_server.owned:
        # The password is percent-encoded in the URL and hidden in the repr.
        assert "S3cr3t-p%40ss%2Fwo%25rd@127.0.0.1:" in pg_server.admin_url
        assert pgserver.PASSWORD not in pg_url
        assert pgserver.PASSWORD not in repr(pg_server) and "S3cr3t" not in repr(pg_server)


@pytest.mark.parametrize("round_", [1, 2])
async def test_each_pg_url_is_a_new_empty_database(pg_url: str, round_: int) -> None:
    # Two tests each leave a table behind; neither sees the other's, and each
    # database name is new.
    conn = await _connect(pg_url)
    try:
        name = await conn.fetchval("select current_database()")
        tables = await conn.fetch("select table_name from information_schema.tables where table_schema = 'public'")
        assert tables == []
        await conn.execute("create table leftover (id int primary key)")
    finally:
        await conn.close()
    assert name == urlsplit(pg_url).path.lstrip("/")
    assert name not in _seen_names
    _seen_names.add(name)


_seen_names: set[str] = set()


def test_db_url_covers_both_engines(db_url: str, engine_name: str, request: pytest.FixtureRequest) -> None:
    param_id = request.node.callspec.id
    assert param_id == engine_name
    if engine_name == "sqlite":
        assert db_url.startswith("sqlite:////") and db_url.endswith("/test.db")
    else:
        assert db_url.startswith("postgresql://")
