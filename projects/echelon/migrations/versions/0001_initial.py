"""The initial Echelon schema: users, agents, timelines and what hangs off them.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import echelon_seed.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENUM_TYPES = (
    "user_tier",
    "agent_archetype",
    "flap_type",
    "flap_direction",
    "paradox_status",
    "paradox_severity",
    "position_side",
)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("tier", sa.Enum("free", "pro", "elite", name="user_tier", create_constraint=True), nullable=False),
        sa.Column("balance_usdc", echelon_seed.types.Money(precision=18, scale=2), nullable=False),
        sa.Column("balance_echelon", sa.Integer(), nullable=False),
        sa.Column("wallet_address", sa.String(length=42), nullable=True),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", echelon_seed.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "archetype",
            sa.Enum(
                "SHARK", "SPY", "DIPLOMAT", "SABOTEUR", "WHALE", "DEGEN", name="agent_archetype", create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("sanity", sa.Integer(), nullable=False),
        sa.Column("max_sanity", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("total_pnl_usd", echelon_seed.types.Money(precision=18, scale=2), nullable=False),
        sa.Column("win_rate", sa.Double(), nullable=False),
        sa.Column("total_trades", sa.Integer(), nullable=False),
        sa.Column(
            "genome", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("motto", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", echelon_seed.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("sanity >= 0 AND sanity <= max_sanity", name=op.f("ck_agents_sanity_range")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_agents_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("name", name=op.f("uq_agents_name")),
        sa.UniqueConstraint("wallet_address", name=op.f("uq_agents_wallet_address")),
    )
    op.create_table(
        "timelines",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column(
            "keywords", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("stability", sa.Double(), nullable=False),
        sa.Column("surface_tension", sa.Double(), nullable=False),
        sa.Column("price_yes", sa.Double(), nullable=False),
        sa.Column("price_no", sa.Double(), nullable=False),
        sa.Column("osint_alignment", sa.Double(), nullable=False),
        sa.Column("logic_gap", sa.Double(), nullable=False),
        sa.Column("gravity_score", sa.Double(), nullable=False),
        sa.Column("total_volume_usd", echelon_seed.types.Money(precision=18, scale=2), nullable=False),
        sa.Column("liquidity_depth_usd", echelon_seed.types.Money(precision=18, scale=2), nullable=False),
        sa.Column("active_agent_count", sa.Integer(), nullable=False),
        sa.Column("decay_rate_per_hour", sa.Double(), nullable=False),
        sa.Column("founder_id", sa.String(length=32), nullable=False),
        sa.Column("founder_yield_rate", sa.Double(), nullable=False),
        sa.Column("has_active_paradox", sa.Boolean(), nullable=False),
        sa.Column("created_at", echelon_seed.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["founder_id"], ["users.id"], name=op.f("fk_timelines_founder_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timelines")),
    )
    op.create_table(
        "paradoxes",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("timeline_id", sa.String(length=48), nullable=False),
        sa.Column(
            "status",
            sa.Enum("ACTIVE", "EXTRACTING", "DETONATED", "RESOLVED", name="paradox_status", create_constraint=True),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum(
                "CLASS_1_CRITICAL",
                "CLASS_2_SEVERE",
                "CLASS_3_MODERATE",
                "CLASS_4_MINOR",
                name="paradox_severity",
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("logic_gap", sa.Double(), nullable=False),
        sa.Column("spawned_at", echelon_seed.types.UTCDateTime(), nullable=False),
        sa.Column("detonation_time", echelon_seed.types.UTCDateTime(), nullable=False),
        sa.Column("decay_multiplier", sa.Double(), nullable=False),
        sa.Column("extraction_cost_usdc", echelon_seed.types.Money(precision=18, scale=2), nullable=False),
        sa.Column("extraction_cost_echelon", sa.Integer(), nullable=False),
        sa.Column("carrier_sanity_cost", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["timeline_id"], ["timelines.id"], name=op.f("fk_paradoxes_timeline_id_timelines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paradoxes")),
    )
    op.create_table(
        "positions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("timeline_id", sa.String(length=48), nullable=False),
        sa.Column("side", sa.Enum("YES", "NO", name="position_side", create_constraint=True), nullable=False),
        sa.Column("shard_count", sa.Integer(), nullable=False),
        sa.Column("average_entry_price", sa.Double(), nullable=False),
        sa.Column("is_founder", sa.Boolean(), nullable=False),
        sa.Column("founder_yield_earned_usd", echelon_seed.types.Money(precision=18, scale=2), nullable=False),
        sa.Column("created_at", echelon_seed.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["timeline_id"], ["timelines.id"], name=op.f("fk_positions_timeline_id_timelines")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_positions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
        sa.UniqueConstraint("user_id", "timeline_id", name=op.f("uq_positions_user_id_timeline_id")),
    )
    op.create_table(
        "price_history",
        sa.Column("timeline_id", sa.String(length=48), nullable=False),
        sa.Column("ts", echelon_seed.types.UTCDateTime(), nullable=False),
        sa.Column("price_yes", sa.Double(), nullable=False),
        sa.Column("price_no", sa.Double(), nullable=False),
        sa.Column("volume_usd", echelon_seed.types.Money(precision=18, scale=2), nullable=False),
        sa.ForeignKeyConstraint(["timeline_id"], ["timelines.id"], name=op.f("fk_price_history_timeline_id_timelines")),
        sa.PrimaryKeyConstraint("timeline_id", "ts", name=op.f("pk_price_history")),
    )
    op.create_table(
        "timeline_links",
        sa.Column("source_timeline_id", sa.String(length=48), nullable=False),
        sa.Column("target_timeline_id", sa.String(length=48), nullable=False),
        sa.CheckConstraint("source_timeline_id <> target_timeline_id", name=op.f("ck_timeline_links_not_self")),
        sa.ForeignKeyConstraint(
            ["source_timeline_id"], ["timelines.id"], name=op.f("fk_timeline_links_source_timeline_id_timelines")
        ),
        sa.ForeignKeyConstraint(
            ["target_timeline_id"], ["timelines.id"], name=op.f("fk_timeline_links_target_timeline_id_timelines")
        ),
        sa.PrimaryKeyConstraint("source_timeline_id", "target_timeline_id", name=op.f("pk_timeline_links")),
    )
    op.create_table(
        "wing_flaps",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("timeline_id", sa.String(length=48), nullable=False),
        sa.Column("agent_id", sa.String(length=32), nullable=False),
        sa.Column(
            "flap_type",
            sa.Enum(
                "TRADE",
                "SHIELD",
                "SABOTAGE",
                "RIPPLE",
                "PARADOX",
                "FOUNDER_YIELD",
                "ENTROPY",
                name="flap_type",
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("stability_delta", sa.Double(), nullable=False),
        sa.Column(
            "direction", sa.Enum("ANCHOR", "DESTABILISE", name="flap_direction", create_constraint=True), nullable=False
        ),
        sa.Column("volume_usd", echelon_seed.types.Money(precision=18, scale=2), nullable=False),
        sa.Column("timeline_stability", sa.Double(), nullable=False),
        sa.Column("spawned_ripple", sa.Boolean(), nullable=False),
        sa.Column("ripple_timeline_id", sa.String(length=48), nullable=True),
        sa.Column("founder_yield_earned", echelon_seed.types.Money(precision=18, scale=2), nullable=True),
        sa.Column("created_at", echelon_seed.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_wing_flaps_agent_id_agents")),
        sa.ForeignKeyConstraint(
            ["ripple_timeline_id"], ["timelines.id"], name=op.f("fk_wing_flaps_ripple_timeline_id_timelines")
        ),
        sa.ForeignKeyConstraint(["timeline_id"], ["timelines.id"], name=op.f("fk_wing_flaps_timeline_id_timelines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wing_flaps")),
    )


def downgrade() -> None:
    op.drop_table("wing_flaps")
    op.drop_table("timeline_links")
    op.drop_table("price_history")
    op.drop_table("positions")
    op.drop_table("paradoxes")
    op.drop_table("timelines")
    op.drop_table("agents")
    op.drop_table("users")
    # PostgreSQL keeps native enum types after their tables are gone.
    bind = op.get_bind()
    for name in ENUM_TYPES:
        sa.Enum(name=name).drop(bind, checkfirst=True)
