"""Alembic environment for the Echelon schema.

`echelon-seed apply` does not run this file: it drives the revision files
itself, on its seeding transaction. This environment serves `alembic upgrade
head` from the repository root, which opens its own connection to DATABASE_URL
through echelon-seed's engine module, takes the same writer lock, keeps the
revision in echelon-seed's version table, and commits once at the end. A
connection handed over through `config.attributes["connection"]` is used as is.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

import anyio
from alembic import context
from alembic.util import CommandError
from echelon_project import schema
from sqlalchemy.engine import Connection

from echelon_seed import engines, tool_tables
from echelon_seed.errors import EchelonSeedError

config = context.config
target_metadata = schema.metadata


def run_on(connection: Connection) -> None:
    """Run the pending migrations in the caller's transaction."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transactional_ddl=True,
        version_table=tool_tables.VERSION_TABLE,
        # The schema the caller's Database names (PostgreSQL: public), never the session's search_path.
        version_table_schema=engines.schema_of(connection),
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone(raw_url: str) -> None:
    database = engines.open_database(raw_url, write=True)
    try:
        async with database.transaction() as conn:
            await database.lock(conn, timeout=30.0)
            await conn.run_sync(run_on)
    finally:
        await database.dispose()


if context.is_offline_mode():
    target = engines.parse_url(os.environ.get("DATABASE_URL") or engines.DEFAULT_URL)
    context.configure(
        dialect_name=target.engine,
        target_metadata=target_metadata,
        literal_binds=True,
        version_table=tool_tables.VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()
elif (shared := config.attributes.get("connection")) is not None:
    run_on(shared)
else:
    # `alembic upgrade head` logs what it runs ("Running upgrade  -> 0001, ..."), as Alembic
    # users expect; `echelon-seed apply` (the shared connection above) keeps its output its own.
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    try:
        anyio.run(run_standalone, os.environ.get("DATABASE_URL") or engines.DEFAULT_URL)
    except EchelonSeedError as exc:
        # Alembic prints a CommandError as one "FAILED:" line, not a traceback; scrubbed like ours.
        raise CommandError(engines.scrub(str(exc))) from None
