"""Keys after the data on PostgreSQL, only for tables that this transaction created.

A foreign key checked row by row costs the server an index lookup per row
and key: at scale 10,000 that was three quarters of its CPU. `pg_restore`
loads first and adds its keys afterwards, one anti-join per key. Dropping a
key takes an AccessExclusive lock on both of its tables, which deadlocked
with readers on tables that others can see (see `docs/design.md`); a table
created inside apply's still-open transaction is seen by no other session, so
nobody can hold, wait for or deadlock on its locks, and its owner is us.

A table counts as ours when it did not exist when apply's transaction began
(`existing`, read before the migrations) and its catalogue row was written by
this very transaction (`pg_class.xmin`). Either test alone is not enough: a
migration that alters an old table rewrites its row with our xid too, and a
table another session committed meanwhile is absent from `existing` under
READ COMMITTED. A key is taken off only when both of its tables are ours and
loaded now, every table of their inheritance trees is ours, we may alter
them, and nothing else hangs on the key (no comment, no dependent object):
it is put back with the text `pg_get_constraintdef` gave for it, so the
catalogue (names, definitions, deferrability, actions, NOT VALID) is what a
keys-first load leaves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from echelon_seed.errors import DatabaseError

__all__ = ["Key", "existing", "keys_after_data", "restore", "suspend"]

#: Primary and unique keys, too, are built after the COPY, as pg_restore builds them: one sorted index
#: build instead of a B-tree insertion per row. At scale 10,000 a replayed apply's server CPU fell from
#: 4.2-4.9 s to 3.3-3.8 s (pg_restore's: 4.7 s); a generating apply, whose client is the longer leg, did not
#: move in wall time (docs/performance.md).
PRIMARY_AFTER_DATA = True


@dataclass(frozen=True)
class Key:
    """A constraint taken off for the load: where it lives and its definition as the server wrote it."""

    oid: int
    table: str  # the table as `regclass` prints it in this session (qualified when off the search_path)
    name: str
    definition: str
    kind: str  # pg_constraint.contype: 'f', 'p' or 'u'
    # A foreign key's columns (quoted) and the table and columns it refers to, for naming a row that breaks it.
    columns: tuple[str, ...] = ()
    parent: str = ""
    parent_columns: tuple[str, ...] = ()


async def existing(conn: AsyncConnection) -> frozenset[int]:
    """The tables that exist now: read before the migrations, so that the tables they create can be told apart."""
    query = text("SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p')")
    return frozenset(int(oid) for oid in (await conn.execute(query)).scalars())


# The tables of `loaded` that are ours (see the module's docstring), as oids.
_OURS = """
WITH RECURSIVE
loaded AS (
    SELECT c.oid, c.relowner, c.xmin FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = :schema AND c.relname = ANY(:names) AND c.relkind IN ('r', 'p')
),
tree (root, member) AS (
    SELECT i.inhparent, i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent IN (SELECT oid FROM loaded)
    UNION ALL
    SELECT t.root, i.inhrelid FROM tree t JOIN pg_catalog.pg_inherits i ON i.inhparent = t.member
)
SELECT l.oid FROM loaded l
WHERE l.oid <> ALL(:before)
  AND l.xmin::text::bigint = pg_catalog.txid_current() % 4294967296
  AND pg_catalog.pg_has_role(l.relowner, 'USAGE')
  AND NOT EXISTS (
      SELECT 1 FROM tree t JOIN pg_catalog.pg_class m ON m.oid = t.member
      WHERE t.root = l.oid
        AND (t.member = ANY(:before) OR m.xmin::text::bigint <> pg_catalog.txid_current() % 4294967296)
  )
"""

_CONSTRAINTS = """
SELECT con.oid, con.conrelid::regclass::text AS table_name, con.conname, con.contype::text AS contype, con.conindid,
       pg_catalog.pg_get_constraintdef(con.oid) AS definition, con.confrelid::regclass::text AS parent,
       ARRAY(SELECT quote_ident(a.attname) FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
       ARRAY(SELECT quote_ident(a.attname) FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
           AS parent_columns
FROM pg_catalog.pg_constraint con
WHERE con.conparentid = 0 AND con.conrelid = ANY(:ours)
  AND (con.contype = 'f' AND con.confrelid = ANY(:ours) OR con.contype::text = ANY(:indexed))
  AND NOT EXISTS (
      SELECT 1 FROM pg_catalog.pg_description d
      WHERE d.objoid = con.oid AND d.classoid = 'pg_catalog.pg_constraint'::regclass
  )
  AND NOT EXISTS (
      SELECT 1 FROM pg_catalog.pg_depend d
      WHERE d.refclassid = 'pg_catalog.pg_constraint'::regclass AND d.refobjid = con.oid AND d.deptype = 'n'
  )
ORDER BY con.conrelid, con.conname
"""

# What rests on a key's index: foreign keys (harmless when they come off too, or are the partition
# clones of one that does), partitions' indexes (they go and come with it), anything else (the key
# stays); a clustered, replica-identity or commented index keeps its key as well.
_INDEX_USERS = """
SELECT con.conindid,
       (d.classid = 'pg_catalog.pg_constraint'::regclass AND d.deptype = 'n'
            AND (d.objid = ANY(:foreign) OR coalesce(dep.conparentid = ANY(:foreign), false)))
       OR (d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('P', 'S')) AS harmless
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = con.conindid
LEFT JOIN pg_catalog.pg_constraint dep ON d.classid = 'pg_catalog.pg_constraint'::regclass AND dep.oid = d.objid
WHERE con.oid = ANY(:keys)
UNION ALL
SELECT i.indexrelid, false FROM pg_catalog.pg_index i
WHERE i.indexrelid IN (SELECT conindid FROM pg_catalog.pg_constraint WHERE oid = ANY(:keys))
  AND (i.indisclustered OR i.indisreplident OR EXISTS (
      SELECT 1 FROM pg_catalog.pg_description d WHERE d.objoid = i.indexrelid
        AND d.classoid = 'pg_catalog.pg_class'::regclass))
"""


async def suspend(
    conn: AsyncConnection, schema: str, loaded: Sequence[str], before: frozenset[int], *, primary: bool = False
) -> list[Key]:
    """Drop the keys of `loaded` tables that are safe to drop; return them in the order they go back.

    Foreign keys go back last, after the primary and unique keys they need.
    """
    if not loaded:
        return []
    ours = [
        int(oid)
        for oid in (
            await conn.execute(text(_OURS).bindparams(schema=schema, names=list(loaded), before=sorted(before)))
        ).scalars()
    ]
    if not ours:
        return []
    indexed = ["p", "u"] if primary else []
    rows = (await conn.execute(text(_CONSTRAINTS).bindparams(ours=ours, indexed=indexed))).all()
    keys = {
        int(row.oid): Key(
            int(row.oid),
            row.table_name,
            row.conname,
            row.definition,
            row.contype,
            tuple(row.columns or ()),
            row.parent if row.contype == "f" else "",
            tuple(row.parent_columns or ()),
        )
        for row in rows
    }
    foreign = {oid for oid, key in keys.items() if key.kind == "f"}
    if primary and len(keys) > len(foreign):
        query = text(_INDEX_USERS).bindparams(keys=sorted(set(keys) - foreign), foreign=sorted(foreign))
        index_of = {int(row.conindid): int(row.oid) for row in rows if row.contype != "f"}
        for user in (await conn.execute(query)).all():
            if not user.harmless:
                keys.pop(index_of[int(user.conindid)], None)
    order = sorted(keys.values(), key=lambda k: (k.kind == "f", k.table, k.name))
    for key in reversed(order):
        await conn.exec_driver_sql(f"ALTER TABLE {key.table} DROP CONSTRAINT {_quote(key.name)}")
    return order


async def restore(conn: AsyncConnection, keys: Sequence[Key]) -> None:
    """Add `keys` back as they were; a violated one is an error naming a row that breaks it.

    Each one is added under a savepoint, so that after a refusal the
    transaction can still be asked which rows broke the key before it is
    rolled back as a whole.
    """
    for key in keys:
        statement = f"ALTER TABLE {key.table} ADD CONSTRAINT {_quote(key.name)} {key.definition}"
        try:
            async with conn.begin_nested():
                await conn.exec_driver_sql(statement)
        except DBAPIError as exc:
            raise DatabaseError(await _explain(conn, key, exc)) from None


@asynccontextmanager
async def keys_after_data(
    conn: AsyncConnection, schema: str, loaded: Sequence[str], before: frozenset[int]
) -> AsyncIterator[list[Key]]:
    """Around a bulk load of `loaded`: their safe keys off while the block runs, back on when it ends normally.

    On an error nothing is put back: the caller's transaction is rolled back,
    which restores the keys with everything else.
    """
    keys = await suspend(conn, schema, loaded, before, primary=PRIMARY_AFTER_DATA)
    yield keys
    await restore(conn, keys)


async def _explain(conn: AsyncConnection, key: Key, exc: DBAPIError) -> str:
    """One line for a key the loaded rows break: the table, the first offending row by its key, how many."""
    orig: Any = exc.orig
    server = str(orig).split("\n")[0] if orig is not None else str(exc).split("\n")[0]
    detail = getattr(getattr(orig, "__cause__", None), "detail", None) or getattr(orig, "detail", None)
    if key.kind == "f":
        found = await _orphans(conn, key)
        if found is not None:
            row, values, count = found
            more = f" (+{count - 1} more row{'s' if count > 2 else ''})" if count > 1 else ""
            return (
                f"table {key.table}, row {row}: {values} not found in the referenced table "
                f"(foreign key {key.name}: {key.definition}){more}; nothing was written"
            )
    return f"table {key.table}: {server}{f' ({detail})' if detail else ''}; nothing was written"


# The child's primary key columns, quoted: the name of a row in a message.
_PRIMARY_KEY = """
SELECT quote_ident(a.attname) FROM pg_catalog.pg_index x
CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY k(n, i)
JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n
WHERE x.indrelid = CAST(:child AS regclass) AND x.indisprimary ORDER BY k.i
"""


async def _orphans(conn: AsyncConnection, key: Key) -> tuple[str, str, int] | None:
    """The first row (by primary key) whose reference has no parent, its values, and how many such rows."""
    mine, theirs = list(key.columns), list(key.parent_columns)
    if not mine or len(mine) != len(theirs):
        return None
    named = list((await conn.execute(text(_PRIMARY_KEY).bindparams(child=key.table))).scalars()) or mine
    joined = " AND ".join(f"p.{t} = c.{m}" for m, t in zip(mine, theirs, strict=True))
    present = " AND ".join(f"c.{m} IS NOT NULL" for m in mine)
    shown = ", ".join(f"c.{column}::text" for column in named + mine)
    query = (
        f"SELECT {shown}, count(*) OVER () FROM {key.table} c "
        f"WHERE {present} AND NOT EXISTS (SELECT 1 FROM {key.parent} p WHERE {joined}) "
        f"ORDER BY {', '.join(f'c.{column}' for column in named)} LIMIT 1"
    )
    found = (await conn.exec_driver_sql(query)).first()
    if found is None:
        return None
    values = list(found)
    row = ", ".join(str(v) for v in values[: len(named)])
    refs = ", ".join(f"{column} = {value}" for column, value in zip(mine, values[len(named) : -1], strict=True))
    return row, refs, int(values[-1])


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
