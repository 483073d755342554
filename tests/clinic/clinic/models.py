"""The clinic's tables, as an application would declare them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from echelon_seed.types import UTCDateTime

metadata = MetaData()

patients = Table(
    "patients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(120), nullable=False, unique=True),
    Column("full_name", String(80), nullable=False),
    Column("phone", String(32)),
    Column("city", String(60)),
    Column("notes", Text),
    Column("born_at", UTCDateTime(), nullable=False),
    Column("badge", String(24)),
    Column("referrer_id", Integer, ForeignKey("patients.id")),
    Column("created_at", UTCDateTime(), nullable=False),
)

clinics = Table(
    "clinics",
    metadata,
    Column("region", String(8), nullable=False),
    Column("code", Integer, nullable=False),
    Column("name", String(80), nullable=False),
    PrimaryKeyConstraint("region", "code"),
)

visits = Table(
    "visits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False),
    Column("region", String(8), nullable=False),
    Column("clinic_code", Integer, nullable=False),
    Column("note", Text),
    Column("details", JSON),
    Column("visited_at", UTCDateTime(), nullable=False),
    ForeignKeyConstraint(["region", "clinic_code"], ["clinics.region", "clinics.code"]),
)

referrals = Table(
    "referrals",
    metadata,
    Column("patient_id", Integer, ForeignKey("patients.id"), nullable=False),
    Column("referred_by", Integer, ForeignKey("patients.id"), nullable=False),
    PrimaryKeyConstraint("patient_id", "referred_by"),
)
