"""One rule for "other data", the same on both engines.

Other data is any row in the database (PostgreSQL: in the project's schema)
that echelon-seed's seed record does not account for: rows in the project's
tables without that record or under another seed's record, and rows in any
table that is neither the project's nor echelon-seed's own. An empty table of
another application is not data.

- Without `--force`, other data is refused (exit 2, the tables named,
  nothing changed); the same seed again is still a no-op.
- With `--force`, the project's tables are cleared and reseeded and other
  tables are never touched; a database that is not local and holds no seed
  record of echelon-seed's also needs `--confirm DBNAME`.
- A table of another application whose name is one of the project's, in a
  database echelon-seed's migrations never ran on, is refused with and without `--force`,
  naming the tables: never a raw `relation "users" already exists`.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.engine import Connection

from echelon_seed import commands, engines
from tests import dbtools
from tests.test_reliability_kill import NEW_TEXT, OLD

ORDERS = [(1, "widget"), (2, "gadget"), (3, "gizmo")]


async def _orders(url: str, rows: list[tuple[int, str]] = ORDERS) -> None:
    await dbtools.execute(url, "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL)")
    for row_id, item in rows:
        await dbtools.execute(
            url, "INSERT INTO orders (id, item) VALUES (:id, :item)", params={"id": row_id, "item": item}
        )


async def test_another_applications_rows_are_refused_without_force(db_url: str) -> None:
    await _orders(db_url)
    before = await dbtools.dump(db_url)

    done = dbtools.run_cli("apply", "--database-url", db_url)

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("echelon-seed: error: refusing to seed "), done.stderr
    assert "tables that are not the project's (orders: rows)" in lines[0], lines[0]
    assert "--force" in lines[0]
    assert await dbtools.dump(db_url) == before


async def test_force_seeds_alongside_and_never_touches_them(db_url: str) -> None:
    await _orders(db_url)

    done = dbtools.run_cli("apply", "--force", "-q", "--database-url", db_url)
    again = dbtools.run_cli("apply", "--database-url", db_url)

    assert done.returncode == 0, done.stderr
    assert await dbtools.table_rows(db_url, "orders") == ORDERS
    assert (await dbtools.row_counts(db_url))["users"] == dbtools.CANONICAL_ROWS["users"]
    # The same seed again is a no-op, whatever else the database holds.
    assert again.returncode == 0 and again.stdout.startswith("already seeded"), again.stderr


async def test_an_empty_table_of_another_application_is_not_data(db_url: str) -> None:
    await _orders(db_url, rows=[])

    done = dbtools.run_cli("apply", "-q", "--database-url", db_url)

    assert done.returncode == 0, done.stderr


async def test_a_reseed_with_other_rows_beside_ours_needs_force(db_url: str) -> None:
    await commands.apply(db_url, anchor=OLD)
    await _orders(db_url)

    refused = dbtools.run_cli("apply", "--scale", "2", "--database-url", db_url)
    forced = dbtools.run_cli("apply", "--force", "--scale", "2", "--anchor", NEW_TEXT, "-q", "--database-url", db_url)

    assert refused.returncode == 2, refused.stderr
    assert "another seed" in refused.stderr and "orders: rows" in refused.stderr, refused.stderr
    assert forced.returncode == 0, forced.stderr
    assert await dbtools.table_rows(db_url, "orders") == ORDERS


async def _as_reflected(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every table as stored, read through reflection (these tables are not the schema's)."""
    database = engines.open_database(url, write=False)
    try:
        async with database.transaction() as conn:

            def read(connection: Connection) -> dict[str, list[tuple[object, ...]]]:
                names = inspect(connection).get_table_names()
                return {
                    n: sorted(map(tuple, connection.execute(select(Table(n, MetaData(), autoload_with=connection)))))
                    for n in names
                }

            return await conn.run_sync(read)
    finally:
        await database.dispose()


async def test_a_table_named_like_ours_is_refused_by_name_with_and_without_force(db_url: str) -> None:
    await dbtools.execute(db_url, "CREATE TABLE users (login TEXT PRIMARY KEY, karma INTEGER)")
    await dbtools.execute(db_url, "INSERT INTO users (login, karma) VALUES ('ada', 7)")
    await dbtools.execute(db_url, "CREATE TABLE agents (id INTEGER PRIMARY KEY)")
    before = await _as_reflected(db_url)

    for args in ([], ["--force"]):
        done = dbtools.run_cli("apply", *args, "--database-url", db_url)

        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "already holds tables of project 'echelon' (users, agents) but no " in lines[0], lines[0]
        assert "never drops or alters a table it did not create, with or without --force" in lines[0], lines[0]
        assert "already exists" not in lines[0]
        assert await _as_reflected(db_url) == before


async def test_force_on_a_remote_database_with_only_other_data_needs_its_name(pg_url: str) -> None:
    await _orders(pg_url)
    parts = urlsplit(pg_url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    remote = urlunsplit((parts.scheme, f"{userinfo}@127.1:{hostport.rsplit(':', 1)[1]}", parts.path, "", ""))
    name = parts.path.lstrip("/")

    refused = dbtools.run_cli("apply", "--force", "--database-url", remote)
    confirmed = dbtools.run_cli("apply", "--force", "--confirm", name, "-q", "--database-url", remote)

    assert refused.returncode == 2 and f"--force --confirm {name}" in refused.stderr, refused.stderr
    assert "orders: rows" in refused.stderr
    assert confirmed.returncode == 0, confirmed.stderr
    assert await dbtools.table_rows(pg_url, "orders") == ORDERS
