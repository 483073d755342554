"""The shop's own tests, each on a database of its own seeded from the shop's fixtures.

`echelon_engine` comes from echelon-seed's pytest plugin (installing
echelon-seed registers it): an async SQLAlchemy engine on a fresh copy of a
template seeded once per session, disposed after the test. From examples/shop:
`pytest` (SQLite files), `pytest --echelon-postgres auto` (a PostgreSQL server
the plugin starts and removes), or
`pytest --echelon-db-url postgresql://USER:PASSWORD@HOST/postgres`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from shop.models import customers, order_lines, seed_runs
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@pytest.fixture
async def db(echelon_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with echelon_engine.begin() as conn:
        yield conn


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


async def test_a_join_and_a_new_order_line(db: AsyncConnection) -> None:
    # The application's own work on the seed: a new line on an order, then a join per customer.
    product = (await db.execute(select(order_lines.c.product_id).where(order_lines.c.order_no == 1002))).scalar_one()
    ordered_at = (await db.execute(select(func.max(order_lines.c.ordered_at)))).scalar_one()
    await db.execute(
        insert(order_lines).values(
            order_no=1002, line_no=2, customer_id=3, product_id=product, quantity=5, ordered_at=ordered_at
        )
    )
    per_customer = await db.execute(
        select(customers.c.name, func.sum(order_lines.c.quantity))
        .join(order_lines, order_lines.c.customer_id == customers.c.id)
        .group_by(customers.c.name)
        .order_by(customers.c.name)
    )
    assert per_customer.all() == [("Ada", 1), ("Ben", 4), ("Cléo", 7)]


async def test_the_next_test_gets_the_seed_again(db: AsyncConnection) -> None:
    # Whatever order the tests run in, no test sees another's changes.
    assert await count(db, order_lines) == 4
    assert (await db.execute(select(func.count()).where(customers.c.tier == "plus"))).scalar_one() == 2


@pytest.mark.echelon_seed(scale=3)
async def test_a_marker_chooses_another_seed(db: AsyncConnection) -> None:
    # seed_runs is generated (6 rows at scale 1); the other fixtures are written once.
    assert await count(db, seed_runs) == 18
    assert await count(db, customers) == 4
