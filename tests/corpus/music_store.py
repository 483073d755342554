"""A music store, shaped like the sample database teams learn SQL on, holding every column type.

The tables every engine has (`COMMON`) use SQLAlchemy's generic types:
integers of three sizes, Numeric with and without precision and scale,
DECIMAL, Float / Double / REAL, String / Text / Unicode / CHAR, Boolean,
Date, Time with and without zone, DateTime aware and naive, Interval, Enum
native and not, Uuid, LargeBinary, JSON. The PostgreSQL tables (`store`,
`track_extra`) add what real PostgreSQL schemas use: JSONB, an ARRAY of each
type, INET, CIDR, MACADDR, MACADDR8, TSVECTOR, ranges, CITEXT, MONEY, BIT,
VARBIT, XML, a domain and a user enum. The fixtures sit beside this file in
`music_store/`, one file per table.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import (
    ARRAY,
    DECIMAL,
    JSON,
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    Enum,
    Float,
    ForeignKey,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    Unicode,
    Uuid,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import CHAR

from echelon_seed.project import Project
from echelon_seed.types import XML, UTCDateTime

FIXTURES = Path(__file__).with_name("music_store")
#: The tables that exist on PostgreSQL only.
POSTGRESQL_ONLY = ("store", "track_extra")

#: The year a store opened: a domain over integer, as the rental-store sample has.
YEAR = postgresql.DOMAIN("year", Integer, check="VALUE >= 1901 AND VALUE <= 2155")
MOOD = postgresql.ENUM("calm", "busy", "closed", name="store_mood", create_type=True)


def _common(metadata: MetaData) -> None:
    Table(
        "genre",
        metadata,
        Column("genre_id", Integer, primary_key=True, autoincrement=False),
        Column("name", String(120), nullable=False, unique=True),
    )
    Table(
        "media_type",
        metadata,
        Column("media_type_id", SmallInteger, primary_key=True, autoincrement=False),
        Column("name", Unicode(120), nullable=False),
        Column("is_lossless", Boolean, nullable=False),
    )
    Table(
        "artist",
        metadata,
        Column("artist_id", Integer, primary_key=True, autoincrement=False),
        Column("name", String(120), nullable=False),
        Column("country", CHAR(2)),
        Column("formed", Date),
    )
    Table(
        "album",
        metadata,
        Column("album_id", Integer, primary_key=True, autoincrement=False),
        Column("title", Text, nullable=False),
        Column("artist_id", ForeignKey("artist.artist_id"), nullable=False),
        Column("released", Date),
        Column("catalog_id", Uuid),
        Column("cover", LargeBinary),
        Column("rating", Float),
        Column("popularity", Double),
        Column("loudness", REAL),
    )
    Table(
        "track",
        metadata,
        Column("track_id", BigInteger, primary_key=True, autoincrement=False),
        Column("name", String(200), nullable=False),
        Column("album_id", ForeignKey("album.album_id")),
        Column("media_type_id", ForeignKey("media_type.media_type_id"), nullable=False),
        Column("genre_id", ForeignKey("genre.genre_id")),
        Column("composer", Text),
        Column("milliseconds", Integer, nullable=False),
        Column("length", Interval),
        Column("bytes", BigInteger),
        Column("unit_price", Numeric(10, 2), nullable=False),
        Column("bpm", Numeric),
        Column("weight_kg", DECIMAL(8, 3)),
        Column("advisory", Enum("clean", "explicit", name="advisory", native_enum=False)),
        CheckConstraint("milliseconds > 0", name="track_positive_length"),
    )
    Table(
        "employee",
        metadata,
        Column("employee_id", Integer, primary_key=True, autoincrement=False),
        Column("last_name", String(20), nullable=False),
        Column("first_name", String(20), nullable=False),
        Column("title", String(30)),
        Column("reports_to", ForeignKey("employee.employee_id")),
        Column("birth_date", Date),
        Column("hired", DateTime),
        Column("shift_start", Time),
        Column("shift_start_local", Time(timezone=True)),
        Column("last_login", DateTime(timezone=True)),
        Column("role", Enum("clerk", "manager", "owner", name="staff_role")),
    )
    Table(
        "customer",
        metadata,
        Column("customer_id", Integer, primary_key=True, autoincrement=False),
        Column("first_name", String(40), nullable=False),
        Column("last_name", String(20), nullable=False),
        Column("email", String(60), nullable=False),
        Column("support_rep_id", ForeignKey("employee.employee_id")),
        Column("preferences", JSON),
        Column("joined", UTCDateTime(), nullable=False),
    )
    Table(
        "invoice",
        metadata,
        Column("invoice_id", Integer, primary_key=True, autoincrement=False),
        Column("customer_id", ForeignKey("customer.customer_id"), nullable=False),
        Column("invoice_date", DateTime(timezone=True), nullable=False),
        Column("billing_country", String(40)),
        Column("total", Numeric(10, 2), nullable=False),
    )
    Table(
        "invoice_line",
        metadata,
        Column("invoice_line_id", Integer, primary_key=True, autoincrement=False),
        Column("invoice_id", ForeignKey("invoice.invoice_id"), nullable=False),
        Column("track_id", ForeignKey("track.track_id"), nullable=False),
        Column("unit_price", Numeric(10, 2), nullable=False),
        Column("quantity", Integer, nullable=False),
    )
    Table(
        "playlist",
        metadata,
        Column("playlist_id", Integer, primary_key=True, autoincrement=False),
        Column("name", String(120)),
    )
    Table(
        "playlist_track",
        metadata,
        Column("playlist_id", ForeignKey("playlist.playlist_id"), primary_key=True),
        Column("track_id", ForeignKey("track.track_id"), primary_key=True),
    )


def _postgresql(metadata: MetaData) -> None:
    Table(
        "store",
        metadata,
        Column("store_id", Integer, primary_key=True, autoincrement=False),
        Column("name", postgresql.CITEXT, nullable=False, unique=True),
        Column("address", postgresql.INET),
        Column("network", postgresql.CIDR),
        Column("till", postgresql.MACADDR),
        Column("scanner", postgresql.MACADDR8),
        Column("opened", YEAR),
        Column("mood", MOOD),
        Column("flags", postgresql.BIT(4)),
        Column("options", postgresql.BIT(8, varying=True)),
        Column("layout", XML()),
        Column("float_money", postgresql.MONEY),
        Column("ports", postgresql.INT4RANGE),
        Column("stock_ids", postgresql.INT8RANGE),
        Column("price_band", postgresql.NUMRANGE),
        Column("season", postgresql.DATERANGE),
        Column("shift", postgresql.TSRANGE),
        Column("promotion", postgresql.TSTZRANGE),
        Column("search", postgresql.TSVECTOR),
        Column("profile", postgresql.JSONB),
    )
    Table(
        "track_extra",
        metadata,
        Column("track_id", ForeignKey("track.track_id"), primary_key=True),
        Column("ints", ARRAY(Integer)),
        Column("smallints", ARRAY(SmallInteger)),
        Column("bigints", ARRAY(BigInteger)),
        Column("prices", ARRAY(Numeric(10, 2))),
        Column("ratios", ARRAY(Numeric)),
        Column("floats", ARRAY(Float)),
        Column("doubles", ARRAY(Double)),
        Column("reals", ARRAY(REAL)),
        Column("names", ARRAY(String(40))),
        Column("notes", ARRAY(Text)),
        Column("codes", ARRAY(CHAR(2))),
        Column("flags", ARRAY(Boolean)),
        Column("dates", ARRAY(Date)),
        Column("times", ARRAY(Time)),
        Column("zoned_times", ARRAY(Time(timezone=True))),
        Column("stamps", ARRAY(DateTime)),
        Column("moments", ARRAY(DateTime(timezone=True))),
        Column("lengths", ARRAY(Interval)),
        Column("advisories", ARRAY(postgresql.ENUM("calm", "busy", "closed", name="store_mood", create_type=False))),
        Column("ids", ARRAY(Uuid)),
        Column("blobs", ARRAY(LargeBinary)),
        Column("docs", ARRAY(JSON)),
        Column("binary_docs", ARRAY(postgresql.JSONB)),
        Column("addresses", ARRAY(postgresql.INET)),
        Column("networks", ARRAY(postgresql.CIDR)),
        Column("macs", ARRAY(postgresql.MACADDR)),
        Column("aliases", ARRAY(postgresql.CITEXT)),
        Column("amounts", ARRAY(postgresql.MONEY)),
        Column("bits", ARRAY(postgresql.BIT(4))),
        Column("ranges", ARRAY(postgresql.INT4RANGE)),
        Column("fragments", ARRAY(XML())),
        Column("vectors", ARRAY(postgresql.TSVECTOR)),
        Column("years", ARRAY(YEAR)),
    )


def metadata(engine: str) -> MetaData:
    """The store's tables on `engine`: the common ones, and on PostgreSQL its own as well."""
    built = MetaData()
    _common(built)
    if engine == "postgresql":
        _postgresql(built)
    return built


def project(engine: str, root: Path) -> Project:
    """The store as a project under `root`: its fixtures (those of `engine`'s tables) copied to root/fixtures."""
    chosen = metadata(engine)
    fixtures = root / "fixtures"
    fixtures.mkdir(parents=True, exist_ok=True)
    for table in chosen.tables:
        shutil.copy(FIXTURES / f"{table}.json", fixtures / f"{table}.json")
    snapshots = root / "snapshots"
    snapshots.mkdir(exist_ok=True)
    return Project(name="music_store", metadata=chosen, fixtures=fixtures, snapshots=snapshots)


#: What a database needs before the store's PostgreSQL tables: the extension CITEXT lives in.
POSTGRESQL_SETUP = "CREATE EXTENSION IF NOT EXISTS citext"
