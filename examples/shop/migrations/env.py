"""The shop's own Alembic environment, for `alembic upgrade head` with the shop's alembic.ini.

echelon-seed never runs this file: it drives the revision files under
versions/ itself, on the connection of its seeding transaction. This
environment builds its own engine from `sqlalchemy.url`, as most do.
"""

from __future__ import annotations

from alembic import context
from shop.models import metadata
from sqlalchemy import engine_from_config, pool

config = context.config

if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
