"""The migrations build exactly `schema.metadata`, from apply and from the `alembic` command.

Alembic's autogenerate comparison (with type comparison on) between a
migrated database and `echelon_seed.schema.metadata` must find nothing on
either engine; `alembic upgrade head` run from the repository root with
DATABASE_URL must leave a schema that `echelon-seed apply` seeds without
migrating again; `alembic downgrade base` must remove every table, and on
PostgreSQL the enum types too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, String
from sqlalchemy.engine import Connection

from echelon_seed import bookkeeping, commands, engines, migrate, schema
from tests import dbtools

SCHEMA_TABLES = {t.name for t in schema.metadata.sorted_tables}
#: The tables echelon-seed keeps for itself beside the schema (not the migrations' business).
TOOL_TABLES = bookkeeping.TOOL_TABLES
ENUM_TYPES = {
    "user_tier",
    "agent_archetype",
    "flap_type",
    "flap_direction",
    "paradox_status",
    "paradox_severity",
    "position_side",
}


def _differences(connection: Connection, metadata: MetaData) -> list[Any]:
    def ours(name: str | None, type_: str, _parent: Any) -> bool:
        return not (type_ == "table" and name in TOOL_TABLES)

    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": ours})
    return list(compare_metadata(context, metadata))


async def differences(url: str, metadata: MetaData = schema.metadata) -> list[Any]:
    """What autogenerate would change to make the database match `metadata`."""
    database = engines.open_database(url, write=False)
    try:
        async with database.transaction() as conn:
            return await conn.run_sync(_differences, metadata)
    finally:
        await database.dispose()


def metadata_with_an_extra_column() -> MetaData:
    """A copy of the schema whose users table has one more column than the migrations make."""
    copy = MetaData(naming_convention=schema.metadata.naming_convention)
    for table in schema.metadata.sorted_tables:
        table.to_metadata(copy)
    copy.tables["users"].append_column(Column("nickname", String(20), nullable=True))
    return copy


async def test_upgrade_inside_a_transaction_builds_exactly_the_schema(db_url: str) -> None:
    database = engines.open_database(db_url, write=True)
    try:
        async with database.transaction() as conn:
            result = await migrate.upgrade(conn)
            found = await conn.run_sync(_differences, schema.metadata)
    finally:
        await database.dispose()

    assert (result.before, result.after, result.applied) == (None, migrate.head_revision(), 1)
    assert found == []


async def test_schema_after_apply_matches_the_metadata(db_url: str) -> None:
    await commands.apply(db_url)

    assert await dbtools.table_names(db_url) == SCHEMA_TABLES | TOOL_TABLES
    assert await differences(db_url) == []


async def test_comparison_notices_a_column_the_migrations_lack(db_url: str) -> None:
    """The empty comparisons above are not vacuous: a one-column drift is seen."""
    await commands.apply(db_url)

    found = await differences(db_url, metadata_with_an_extra_column())

    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "users", "nickname")]


async def test_alembic_cli_upgrade_head_then_echelon_seed_apply_seeds(db_url: str) -> None:
    upgraded = dbtools.run_cli("upgrade", "head", module="alembic", database_url=db_url)

    assert upgraded.returncode == 0, upgraded.stderr
    assert await dbtools.table_names(db_url) == SCHEMA_TABLES | {migrate.VERSION_TABLE}
    assert await differences(db_url) == []
    assert set((await dbtools.row_counts(db_url)).values()) == {0}
    assert await dbtools.table_rows(db_url, migrate.VERSION_TABLE) == [(migrate.head_revision(),)]

    seeded = dbtools.run_cli("apply", database_url=db_url)

    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.startswith("seeded ")
    assert "(up to date)" in seeded.stdout
    counts = await dbtools.row_counts(db_url)
    assert (counts["users"], counts["agents"], counts["wing_flaps"], counts["echelon_seed_runs"]) == (5, 12, 75, 1)


async def test_alembic_cli_downgrade_base_removes_every_table(db_url: str, engine_name: str) -> None:
    assert dbtools.run_cli("apply", database_url=db_url).returncode == 0
    if engine_name == "postgresql":
        assert await dbtools.enum_types(db_url) == ENUM_TYPES

    downgraded = dbtools.run_cli("downgrade", "base", module="alembic", database_url=db_url)

    assert downgraded.returncode == 0, downgraded.stderr
    # Alembic keeps its own (now empty) version table; every table of the schema is gone.
    assert await dbtools.table_names(db_url) == TOOL_TABLES  # echelon-seed's own record stays
    assert await dbtools.table_rows(db_url, migrate.VERSION_TABLE) == []
    if engine_name == "postgresql":
        assert await dbtools.enum_types(db_url) == set()


async def test_apply_after_downgrade_migrates_and_seeds_again(db_url: str) -> None:
    assert dbtools.run_cli("apply", database_url=db_url).returncode == 0
    assert dbtools.run_cli("downgrade", "base", module="alembic", database_url=db_url).returncode == 0

    result = await commands.apply(db_url)

    assert (result.action, result.migration.applied) == ("seeded", 1)
    assert await differences(db_url) == []


def test_alembic_cli_never_prints_the_password(pg_url: str) -> None:
    password = urlsplit(pg_url).password or ""
    assert password, "the test server's URL has a password"

    runs = [
        dbtools.run_cli(*verb, module="alembic", database_url=pg_url)
        for verb in (("upgrade", "head"), ("downgrade", "base"))
    ]

    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    for done in runs:
        for secret in (password, unquote(password)):
            assert secret not in done.stdout + done.stderr
