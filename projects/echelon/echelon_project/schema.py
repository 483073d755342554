"""The Echelon schema: tables, their keys and fixed constraint names.

The migrations under `migrations/` are the only thing that creates this
schema in a database; this module is what they are checked against and what
the seeder and the snapshot read column order and types from.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Double,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

from echelon_seed import bookkeeping
from echelon_seed.types import Money, UTCDateTime

__all__ = [
    "OWNED_TABLES",
    "SEEDED_TABLES",
    "agents",
    "metadata",
    "paradoxes",
    "positions",
    "price_history",
    "seed_runs",
    "timeline_links",
    "timelines",
    "users",
    "wing_flaps",
]

# Fixed names, so that both engines (and every migration) agree on them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# JSONB on PostgreSQL (indexable, what the Echelon backend uses); JSON text on SQLite.
Document = JSON().with_variant(JSONB(), "postgresql")

UserTier = Enum("free", "pro", "elite", name="user_tier", create_constraint=True)
AgentArchetype = Enum(
    "SHARK", "SPY", "DIPLOMAT", "SABOTEUR", "WHALE", "DEGEN", name="agent_archetype", create_constraint=True
)
FlapType = Enum(
    "TRADE",
    "SHIELD",
    "SABOTAGE",
    "RIPPLE",
    "PARADOX",
    "FOUNDER_YIELD",
    "ENTROPY",
    name="flap_type",
    create_constraint=True,
)
FlapDirection = Enum("ANCHOR", "DESTABILISE", name="flap_direction", create_constraint=True)
ParadoxStatus = Enum("ACTIVE", "EXTRACTING", "DETONATED", "RESOLVED", name="paradox_status", create_constraint=True)
ParadoxSeverity = Enum(
    "CLASS_1_CRITICAL",
    "CLASS_2_SEVERE",
    "CLASS_3_MODERATE",
    "CLASS_4_MINOR",
    name="paradox_severity",
    create_constraint=True,
)
PositionSide = Enum("YES", "NO", name="position_side", create_constraint=True)

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("email", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("tier", UserTier, nullable=False),
    Column("balance_usdc", Money(18, 2), nullable=False),
    Column("balance_echelon", Integer, nullable=False),
    Column("wallet_address", String(42), nullable=True),
    Column("bio", Text, nullable=True),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

agents = Table(
    "agents",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("archetype", AgentArchetype, nullable=False),
    Column("tier", SmallInteger, nullable=False),
    Column("level", Integer, nullable=False),
    Column("sanity", Integer, nullable=False),
    Column("max_sanity", Integer, nullable=False),
    Column("owner_id", String(32), ForeignKey("users.id"), nullable=False),
    Column("wallet_address", String(42), nullable=False, unique=True),
    Column("total_pnl_usd", Money(18, 2), nullable=False),
    Column("win_rate", Double, nullable=False),
    Column("total_trades", Integer, nullable=False),
    Column("genome", Document, nullable=False),
    Column("motto", Text, nullable=True),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint("sanity >= 0 AND sanity <= max_sanity", name="sanity_range"),
)

timelines = Table(
    "timelines",
    metadata,
    Column("id", String(48), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("narrative", Text, nullable=False),
    Column("keywords", Document, nullable=False),
    Column("stability", Double, nullable=False),
    Column("surface_tension", Double, nullable=False),
    Column("price_yes", Double, nullable=False),
    Column("price_no", Double, nullable=False),
    Column("osint_alignment", Double, nullable=False),
    Column("logic_gap", Double, nullable=False),
    Column("gravity_score", Double, nullable=False),
    Column("total_volume_usd", Money(18, 2), nullable=False),
    Column("liquidity_depth_usd", Money(18, 2), nullable=False),
    Column("active_agent_count", Integer, nullable=False),
    Column("decay_rate_per_hour", Double, nullable=False),
    Column("founder_id", String(32), ForeignKey("users.id"), nullable=False),
    Column("founder_yield_rate", Double, nullable=False),
    Column("has_active_paradox", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

timeline_links = Table(
    "timeline_links",
    metadata,
    Column("source_timeline_id", String(48), ForeignKey("timelines.id"), nullable=False),
    Column("target_timeline_id", String(48), ForeignKey("timelines.id"), nullable=False),
    PrimaryKeyConstraint("source_timeline_id", "target_timeline_id"),
    CheckConstraint("source_timeline_id <> target_timeline_id", name="not_self"),
)

price_history = Table(
    "price_history",
    metadata,
    Column("timeline_id", String(48), ForeignKey("timelines.id"), nullable=False),
    Column("ts", UTCDateTime(), nullable=False),
    Column("price_yes", Double, nullable=False),
    Column("price_no", Double, nullable=False),
    Column("volume_usd", Money(18, 2), nullable=False),
    PrimaryKeyConstraint("timeline_id", "ts"),
)

paradoxes = Table(
    "paradoxes",
    metadata,
    Column("id", String(48), primary_key=True),
    Column("timeline_id", String(48), ForeignKey("timelines.id"), nullable=False),
    Column("status", ParadoxStatus, nullable=False),
    Column("severity", ParadoxSeverity, nullable=False),
    Column("logic_gap", Double, nullable=False),
    Column("spawned_at", UTCDateTime(), nullable=False),
    Column("detonation_time", UTCDateTime(), nullable=False),
    Column("decay_multiplier", Double, nullable=False),
    Column("extraction_cost_usdc", Money(18, 2), nullable=False),
    Column("extraction_cost_echelon", Integer, nullable=False),
    Column("carrier_sanity_cost", Integer, nullable=False),
)

wing_flaps = Table(
    "wing_flaps",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("timeline_id", String(48), ForeignKey("timelines.id"), nullable=False),
    Column("agent_id", String(32), ForeignKey("agents.id"), nullable=False),
    Column("flap_type", FlapType, nullable=False),
    Column("action", Text, nullable=False),
    Column("stability_delta", Double, nullable=False),
    Column("direction", FlapDirection, nullable=False),
    Column("volume_usd", Money(18, 2), nullable=False),
    Column("timeline_stability", Double, nullable=False),
    Column("spawned_ripple", Boolean, nullable=False),
    Column("ripple_timeline_id", String(48), ForeignKey("timelines.id"), nullable=True),
    Column("founder_yield_earned", Money(18, 2), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

positions = Table(
    "positions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False),
    Column("timeline_id", String(48), ForeignKey("timelines.id"), nullable=False),
    Column("side", PositionSide, nullable=False),
    Column("shard_count", Integer, nullable=False),
    Column("average_entry_price", Double, nullable=False),
    Column("is_founder", Boolean, nullable=False),
    Column("founder_yield_earned_usd", Money(18, 2), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("user_id", "timeline_id"),
)

# echelon-seed's own record of a seeding, which lives beside (not in) the Echelon schema.
seed_runs = bookkeeping.seed_runs

#: Tables filled from `data/`, in foreign-key order.
SEEDED_TABLES: tuple[Table, ...] = tuple(metadata.sorted_tables)

#: Every table echelon-seed clears before reseeding Echelon; nothing else is ever cleared.
OWNED_TABLES: tuple[Table, ...] = (*SEEDED_TABLES, seed_runs)
