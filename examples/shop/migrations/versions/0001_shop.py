"""The shop's first schema.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("tier", sa.Enum("basic", "plus", name="customer_tier"), nullable=False),
        sa.Column("referred_by", sa.Integer(), nullable=True),
        sa.Column("favourite_product_id", sa.Uuid(), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
        sa.ForeignKeyConstraint(["referred_by"], ["customers.id"], name="fk_customers_referred_by"),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=True),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("listed_on", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku"),
        sa.ForeignKeyConstraint(
            ["added_by"], ["customers.id"], name="fk_products_added_by", deferrable=True, initially="DEFERRED"
        ),
    )
    # The cycle's second edge, once both tables exist (batch mode: SQLite has no ALTER ... ADD CONSTRAINT).
    with op.batch_alter_table("customers") as batch:
        batch.create_foreign_key(
            "fk_customers_favourite_product",
            "products",
            ["favourite_product_id"],
            ["id"],
            deferrable=True,
            initially="DEFERRED",
        )
    op.create_table(
        "order_lines",
        sa.Column("order_no", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.SmallInteger(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_no", "line_no", name="pk_order_lines"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_order_lines_customer"),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name="fk_order_lines_product"),
    )
    op.create_table(
        "audit_log",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    )
    op.create_table(
        "seed_runs",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("variety", sa.String(length=60), nullable=False),
        sa.Column("sown_on", sa.DateTime(timezone=False), nullable=False),
        sa.Column("trays", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("seed_runs")
    op.drop_table("audit_log")
    op.drop_table("order_lines")
    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint("fk_customers_favourite_product", type_="foreignkey")
    op.drop_table("products")
    op.drop_table("customers")
    sa.Enum(name="customer_tier").drop(op.get_bind(), checkfirst=True)
