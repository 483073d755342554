"""Keys after the data: only on tables apply's own transaction created, put back exactly as they were.

The DDL that apply runs is observed by an event trigger the test installs
(every DDL command's statement text, logged in a schema of its own), and the
claim about tables that already existed is also shown the way it matters: a
reader holding its locks on every table does not stop the reseed.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from echelon_seed import commands, project
from echelon_seed.engines import pg_keys
from echelon_seed.errors import DatabaseError, FixtureError
from tests import pgserver, workshop

ANCHOR = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_databases = itertools.count(1)

AUDIT = """
CREATE SCHEMA audit;
CREATE TABLE audit.ddl (n serial PRIMARY KEY, tag text NOT NULL, object text, statement text NOT NULL);
CREATE FUNCTION audit.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        INSERT INTO audit.ddl (tag, object, statement) VALUES (r.command_tag, r.object_identity, current_query());
    END LOOP;
END $$;
CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION audit.log_ddl();
"""

CONSTRAINTS = """
SELECT con.conrelid::regclass::text, con.conname, con.contype::text, pg_catalog.pg_get_constraintdef(con.oid),
       con.convalidated, con.condeferrable, con.condeferred, obj_description(con.oid, 'pg_constraint'),
       (SELECT count(*) FROM pg_catalog.pg_constraint clone WHERE clone.conparentid = con.oid)
FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace
WHERE n.nspname = 'public' AND con.conrelid::regclass::text NOT LIKE 'echelon\\_seed\\_%'
ORDER BY 1, 2
"""


async def _connect(url: str) -> Any:
    return await asyncpg.connect(**pgserver.connect_kwargs(url))


async def _run(url: str, sql: str) -> None:
    conn = await _connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = await _connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _key_ddl(url: str) -> list[str]:
    """The constraint drops and adds apply ran, as `ALTER TABLE t DROP|ADD name`, in order."""
    found = []
    for (statement,) in await _rows(url, "SELECT statement FROM audit.ddl WHERE tag = 'ALTER TABLE' ORDER BY n"):
        words = statement.split()
        if words[:2] == ["ALTER", "TABLE"]:  # the migrations' own ALTER TABLE are logged with their whole script
            found.append(" ".join(words[:6]).replace('"', ""))
    return found


async def _snapshot(url: str, chosen: project.Project) -> bytes:
    out = io.BytesIO()
    await commands.snapshot(url, out, project=chosen)
    return out.getvalue()


@pytest.fixture
def pg_database(pg_server: pgserver.PgServer) -> Iterator[Callable[[], str]]:
    """A factory of further empty PostgreSQL databases, dropped afterwards."""
    made: list[str] = []

    def make() -> str:
        made.append(f"keys_{next(_databases)}_{os.getpid()}")
        return pg_server.create_database(made[-1])

    yield make
    for name in made:
        pg_server.drop_database(name)


@pytest.fixture
def shop(tmp_path: Path) -> project.Project:
    return project.resolve(workshop.write(tmp_path / "shop", "shop"))


@pytest.mark.parametrize("primary", [False, True], ids=["foreign-keys", "primary-and-unique-too"])
async def test_a_new_database_gets_its_keys_after_the_data_and_the_same_catalogue_and_snapshot(
    pg_url: str, pg_database: Callable[[], str], shop: project.Project, primary: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Primary and unique keys after the data is on (a replayed load's server CPU fell by a fifth); both paths stay proven.
    monkeypatch.setattr(pg_keys, "PRIMARY_AFTER_DATA", primary)
    await _run(pg_url, AUDIT)
    await commands.apply(pg_url, project=shop, anchor=ANCHOR, scale=3)

    # Keys-first for comparison: a database whose tables existed before this apply (reseeded with --force).
    other = pg_database()
    await _run(other, AUDIT)
    await commands.apply(other, project=shop, anchor=ANCHOR)
    await _run(other, "TRUNCATE audit.ddl")
    await commands.apply(other, project=shop, anchor=ANCHOR, scale=3, force=True)

    # The migrations' own DDL, run by the server with nothing of echelon-seed around it.
    plain = pg_database()
    await _run(plain, "".join(workshop.MIGRATIONS.values()))

    assert await _key_ddl(other) == []
    dropped = [line for line in await _key_ddl(pg_url) if " DROP " in line]
    added = [line for line in await _key_ddl(pg_url) if " ADD " in line]
    assert sorted(d.replace(" DROP ", " ") for d in dropped) == sorted(a.replace(" ADD ", " ") for a in added)
    indexed = {
        "employee_pkey",
        "employee_site_email_key",
        "order_line_pkey",
        "reading_pkey",  # partitioned: its partitions' indexes go and come with it
        "site_name_key",  # a foreign key rests on it, and went first
        "site_pkey",  # so do the partition clones of reading's key
        "site_badge_pkey",
    }  # work_order_pkey stays: order_line's commented key rests on it
    assert {d.split()[-1] for d in dropped} == (indexed if primary else set()) | {
        "employee_manager_id_fkey",  # a self-reference
        "employee_site_code_fkey",
        "reading_site_code_fkey",  # from a partitioned table: its partitions' clones go and come with it
        "site_badge_site_name_fkey",  # MATCH FULL, NOT VALID, to a unique column that is not the key
        "work_order_opened_by_fkey",  # deferrable
        "work_order_site_fkey",
    }  # order_line_order_fkey carries a comment: it stays where it is

    catalogue = await _rows(pg_url, CONSTRAINTS)
    assert catalogue == await _rows(other, CONSTRAINTS) == await _rows(plain, CONSTRAINTS)
    by_name = {(row[0], row[1]): row for row in catalogue}
    assert by_name["site_badge", "site_badge_site_name_fkey"][4] is False  # still NOT VALID
    assert by_name["work_order", "work_order_opened_by_fkey"][5:7] == (True, True)
    assert by_name["reading", "reading_site_code_fkey"][8] == 2  # one clone on each partition
    assert by_name["order_line", "order_line_order_fkey"][7] == "lines go with their order"
    assert await _snapshot(pg_url, shop) == await _snapshot(other, shop)

    # The application's own statements after the seed: an INSERT without a key, a join, a cascade.
    await _run(pg_url, "INSERT INTO employee (site_code, email) VALUES ('S', 'dee@example.org')")
    assert await _rows(pg_url, "SELECT max(employee_id) FROM employee") == [(4,)]
    joined = (
        "SELECT count(*) FROM order_line l JOIN work_order o USING (site_code, order_no) "
        "JOIN employee e ON e.employee_id = o.opened_by"
    )
    assert await _rows(pg_url, joined) == [(240,)]
    await _run(pg_url, "DELETE FROM work_order WHERE site_code = 'S'; DELETE FROM reading WHERE site_code = 'S'")
    assert await _rows(pg_url, "SELECT count(*) FROM order_line WHERE site_code = 'S'") == [(0,)]
    await _run(pg_url, "UPDATE site SET site_code = 'Z' WHERE site_code = 'S'")  # ON UPDATE CASCADE, re-added
    assert await _rows(pg_url, "SELECT count(*) FROM employee WHERE site_code = 'Z'") == [(2,)]
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await _run(pg_url, "INSERT INTO reading VALUES ('X', 1, 1)")


async def test_keys_of_tables_that_existed_stay_while_a_reader_holds_them(pg_url: str, shop: project.Project) -> None:
    await commands.apply(pg_url, project=shop, anchor=ANCHOR)
    await _run(pg_url, AUDIT)
    # Would an ALTER TABLE wait for the reader, the server says so in 5 s instead of the test hanging.
    await _run(pg_url, f"ALTER DATABASE {pg_url.rsplit('/', 1)[1]} SET lock_timeout = '5s'")
    workshop.add_later_revision(Path(str(shop.source)).parent)
    later = project.resolve(Path(str(shop.source)).parent)

    reader = await _connect(pg_url)
    try:
        await reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        for table in ("site", "employee", "work_order", "order_line", "site_badge", "reading"):
            await reader.fetch(f"SELECT * FROM {table}")  # AccessShare on each, held to the end
        with anyio.fail_after(60):
            result = await commands.apply(pg_url, project=later, anchor=ANCHOR, scale=2, force=True)
        assert result.action == "reseeded" and result.migration.applied == 1
        # The reader still sees the old state, and its locks were never waited on.
        assert await reader.fetch("SELECT count(*) FROM work_order") == [(40,)]
        waited = await reader.fetch("SELECT count(*) FROM pg_locks WHERE NOT granted")
        assert waited == [(0,)]
    finally:
        await reader.close()

    # Only the keys of the two tables revision 003 created came off (the key between them, and their primary
    # keys, put back before it); those of old tables, and the keys to them, stayed.
    assert await _key_ddl(pg_url) == [
        "ALTER TABLE tool_loan DROP CONSTRAINT tool_loan_tool_id_fkey",
        "ALTER TABLE tool_loan DROP CONSTRAINT tool_loan_pkey",
        "ALTER TABLE tool DROP CONSTRAINT tool_pkey",
        "ALTER TABLE tool ADD CONSTRAINT tool_pkey",
        "ALTER TABLE tool_loan ADD CONSTRAINT tool_loan_pkey",
        "ALTER TABLE tool_loan ADD CONSTRAINT tool_loan_tool_id_fkey",
    ]
    assert await _rows(pg_url, "SELECT count(*) FROM work_order") == [(80,)]
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await _run(pg_url, "INSERT INTO tool_loan VALUES (1, 99)")


async def test_a_generated_row_breaking_a_key_added_after_the_data_is_named_and_nothing_is_kept(
    pg_url: str, tmp_path: Path
) -> None:
    # Row 1,500 of 1,600 names employee 999: past the rows `check` tries, so PostgreSQL finds it.
    bad = project.resolve(workshop.write(tmp_path / "bad", "shop", orders=1600, bad_order=1499))
    assert commands.check(project=bad) == []
    with pytest.raises(DatabaseError) as refused:
        await commands.apply(pg_url, project=bad, anchor=ANCHOR)

    message = str(refused.value)
    assert message.startswith("table work_order, row S, 1500: opened_by = 999 not found in the referenced table")
    assert "work_order_opened_by_fkey" in message and "nothing was written" in message
    assert "Traceback" not in message and pgserver.PASSWORD not in message
    assert await _rows(pg_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]


async def test_a_generated_row_breaking_a_key_kept_in_place_leaves_the_old_seed(
    pg_url: str, tmp_path: Path, shop: project.Project
) -> None:
    await commands.apply(pg_url, project=shop, anchor=ANCHOR)
    before = await _snapshot(pg_url, shop)
    directory = Path(str(shop.source)).parent
    spec = json.loads((directory / "seed" / "work_order.json").read_text())
    spec["generate"].update(count=1600, params={"bad": 1499})
    (directory / "seed" / "work_order.json").write_text(json.dumps(spec))

    with pytest.raises(DatabaseError, match="work_order_opened_by_fkey"):
        await commands.apply(pg_url, project=project.resolve(directory), anchor=ANCHOR, force=True)
    assert await _snapshot(pg_url, shop) == before


async def test_a_fixture_row_with_a_missing_parent_is_named_before_the_database_is_touched(
    db_url: str, tmp_path: Path
) -> None:
    fixtures = tmp_path / "data"
    shutil.copytree(project.echelon().fixtures, fixtures)
    agents = json.loads((fixtures / "agents.json").read_text())
    agents["rows"][2]["owner_id"] = "USR_NOBODY"
    (fixtures / "agents.json").write_text(json.dumps(agents))

    with pytest.raises(FixtureError) as refused:
        await commands.apply(db_url, fixtures_dir=fixtures, anchor=ANCHOR)
    (problem,) = refused.value.problems
    assert (Path(problem.file).name, problem.row, problem.column) == ("agents.json", 3, "owner_id")
    assert "'USR_NOBODY' does not exist in users.id" in problem.message
    if db_url.startswith("sqlite"):
        assert not Path(db_url.removeprefix("sqlite:///")).exists()
    else:
        assert await _rows(db_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]


async def test_seeding_an_empty_database_and_reseeding_existing_tables_give_the_same_bytes(
    db_url: str, new_database: Callable[[], str]
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, scale=2)
    existing = new_database()
    await commands.apply(existing, anchor=ANCHOR)
    await commands.apply(existing, anchor=ANCHOR, scale=2, force=True)

    first, second = await _snapshot(db_url, project.echelon()), await _snapshot(existing, project.echelon())
    assert first == second
    assert b'"wing_flaps"' in first
