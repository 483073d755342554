"""A project's tables as the database holds them, for projects whose schema comes from migrations alone.

Reflection is read on the connection `apply` (or a reader) already holds,
after the migrations ran, and is made schema-less like models' metadata: the
connection's schema translation puts the tables back where they are. What
echelon-seed keeps for itself and the partitions of a partitioned table (its
parent holds their rows) are left out.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.schema import BLANK_SCHEMA

from .engines import schema_of, table_names
from .tool_tables import TOOL_TABLES

__all__ = ["metadata"]


def metadata(connection: Connection) -> MetaData:
    """The tables of the connection's schema (but echelon-seed's and partitions), as a MetaData without a schema."""
    names = [name for name in table_names(connection) if name not in TOOL_TABLES]
    found = MetaData()
    found.reflect(connection, schema=schema_of(connection), only=names)
    plain = MetaData()
    for table in found.tables.values():
        table.to_metadata(plain, schema=None, referred_schema_fn=lambda *_: BLANK_SCHEMA)  # type: ignore[arg-type]
    return plain
