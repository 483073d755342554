"""The shop's tables, declared as the application declares them.

Chosen to be unlike Echelon's schema: integer and UUID keys, a composite
key, a self-reference (who referred a customer), a two-table cycle (a
customer's favourite product, a product's adding customer: both foreign keys
DEFERRABLE INITIALLY DEFERRED, so either table can be written first), a
table without a primary key, aware and naive timestamps, binary data, an
enum, and a table of the shop's own that happens to be called `seed_runs`.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


metadata = Base.metadata

CustomerTier = Enum("basic", "plus", name="customer_tier")

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("email", String(120), nullable=False, unique=True),
    Column("name", String(80), nullable=False),
    Column("tier", CustomerTier, nullable=False),
    # The self-reference: a referrer's row comes before the rows it refers to.
    Column("referred_by", Integer, ForeignKey("customers.id", name="fk_customers_referred_by"), nullable=True),
    # One side of the cycle; use_alter tells SQLAlchemy's sort where to cut it.
    Column(
        "favourite_product_id",
        Uuid,
        ForeignKey(
            "products.id",
            name="fk_customers_favourite_product",
            use_alter=True,
            deferrable=True,
            initially="DEFERRED",
        ),
        nullable=True,
    ),
    Column("joined_at", DateTime(timezone=True), nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("sku", String(20), nullable=False, unique=True),
    Column("title", String(120), nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("thumbnail", LargeBinary, nullable=True),
    # The other side of the cycle.
    Column(
        "added_by",
        Integer,
        ForeignKey("customers.id", name="fk_products_added_by", deferrable=True, initially="DEFERRED"),
        nullable=False,
    ),
    # Wall-clock time in the shop's own zone, as the supplier's catalogue prints it.
    Column("listed_on", DateTime(timezone=False), nullable=False),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_no", Integer, nullable=False),
    Column("line_no", SmallInteger, nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id", name="fk_order_lines_customer"), nullable=False),
    Column("product_id", Uuid, ForeignKey("products.id", name="fk_order_lines_product"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("ordered_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("order_no", "line_no", name="pk_order_lines"),
)

# No primary key: the same event may be logged twice.
audit_log = Table(
    "audit_log",
    metadata,
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(40), nullable=False),
    Column("message", Text, nullable=False),
)

# The shop's own table (batches of seeds sown in the nursery), not echelon-seed's record.
seed_runs = Table(
    "seed_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("variety", String(60), nullable=False),
    Column("sown_on", DateTime(timezone=False), nullable=False),
    Column("trays", SmallInteger, nullable=False),
)
