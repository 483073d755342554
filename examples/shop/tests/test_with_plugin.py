"""The shop's own tests, each on a database of its own seeded from the shop's fixtures.

`echelon_db_url` comes from echelon-seed's pytest plugin (installing
echelon-seed registers it): the URL of a fresh copy of a template seeded once
per session. From examples/shop: `pytest` (SQLite files), or
`pytest --echelon-db-url postgresql://USER:PASSWORD@HOST/postgres`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from shop.models import customers, order_lines, seed_runs
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

# The plugin hands out plain URLs; the application chooses its async driver.
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


@pytest.fixture
async def db(echelon_db_url: str) -> AsyncIterator[AsyncConnection]:
    url = make_url(str(echelon_db_url))
    engine = create_async_engine(url.set(drivername=ASYNC_DRIVERS[url.drivername]))
    try:
        async with engine.begin() as conn:
            yield conn
    finally:
        await engine.dispose()


async def count(db: AsyncConnection, table: Table) -> int:
    return int((await db.execute(select(func.count()).select_from(table))).scalar_one())


async def test_the_seed_is_there(db: AsyncConnection) -> None:
    plus = await db.execute(select(customers.c.name).where(customers.c.tier == "plus").order_by(customers.c.id))
    assert plus.scalars().all() == ["Ada", "Dev"]
    assert await count(db, order_lines) == 4


async def test_a_test_may_change_anything(db: AsyncConnection) -> None:
    await db.execute(delete(order_lines))
    await db.execute(update(customers).values(tier="basic"))
    assert await count(db, order_lines) == 0


async def test_the_next_test_gets_the_seed_again(db: AsyncConnection) -> None:
    # Whatever order the tests run in, no test sees another's changes.
    assert await count(db, order_lines) == 4
    assert (await db.execute(select(func.count()).where(customers.c.tier == "plus"))).scalar_one() == 2


@pytest.mark.echelon_seed(scale=3)
async def test_a_marker_chooses_another_seed(db: AsyncConnection) -> None:
    # seed_runs is generated (6 rows at scale 1); the other fixtures are written once.
    assert await count(db, seed_runs) == 18
    assert await count(db, customers) == 4
