"""The rental store (tests/corpus) seeded, read and exported as a team's own schema, then used by the application.

Every claim ends the way the application lives: its own INSERT without a key
(through SQLAlchemy, so Python defaults apply as in the application) after
`apply`, `apply --force`, an `export-sql` load with the real psql and a clone
of the pytest plugin, on each engine where the shape exists.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from echelon_seed import commands, engines
from echelon_seed.errors import DatabaseError
from echelon_seed.project import Project
from echelon_seed.reflected import metadata as reflected_metadata
from tests import forkrun, pgserver
from tests.corpus import rental_store
from tests.test_export_sql import psql

ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent

# The application's rows, without their keys; the key each must get is the seed's largest plus one.
NEW_ROWS: dict[str, tuple[dict[str, Any], int]] = {
    "language": ({"name": "French"}, 4),
    "category": ({"name": "Horror", "parent_id": 1}, 5),
    "store": ({"name": "Burnaby"}, 3),
    "staff": ({"first_name": "Ann", "store_id": 1}, 3),
    "customer": ({"store_id": 1, "first_name": "Barbara"}, 6),
    "film": ({"title": "Zorro Ark", "language_id": 1}, 4),
    "inventory": ({"film_id": 1, "store_id": 2}, 4),
    "rental": ({"rented_at": ANCHOR, "inventory_id": 1, "customer_id": 1}, 8),
    "payment": ({"customer_id": 1, "amount": Decimal("1.99")}, 1501),
}


def project(tmp_path: Path, fixtures: Path = rental_store.FIXTURES) -> Project:
    return rental_store.project(tmp_path, fixtures=fixtures)


async def app_inserts(url: str, expected: dict[str, tuple[dict[str, Any], int]] = NEW_ROWS) -> dict[str, int]:
    """The application's INSERT without a key into every table; the keys it got."""
    database = engines.open_database(url, write=True)
    got: dict[str, int] = {}
    try:
        async with database.transaction() as conn:
            for name, (values, _) in expected.items():
                table = rental_store.metadata.tables[name]
                key = table.primary_key.columns.values()[0]
                got[name] = (await conn.execute(table.insert().values(**values).returning(key))).scalar_one()
    finally:
        await database.dispose()
    return got


async def snapshot_bytes(url: str, chosen: Project, ignore: tuple[str, ...] = ()) -> bytes:
    out = io.BytesIO()
    await commands.snapshot(url, out, project=chosen, ignore=ignore)
    return out.getvalue()


def body(snapshot: bytes) -> bytes:
    """The rows of a snapshot, without its header (which names the fixture files' digest)."""
    return snapshot.split(b"\n", 1)[1]


async def test_rental_store_round_trip_then_the_application_inserts(
    db_url: str, new_database: Callable[[], str], tmp_path: Path
) -> None:
    chosen = project(tmp_path)
    assert commands.check(project=chosen) == []
    await commands.apply(db_url, project=chosen, anchor=ANCHOR)
    first = await snapshot_bytes(db_url, chosen)

    exported = tmp_path / "exported"
    result = await commands.export(db_url, exported, project=chosen)
    assert sorted(p.name for p in exported.iterdir()) == sorted(f"{t.name}.json" for t in chosen.tables)
    assert result.rows["payment"] == 3 and result.left_out == []
    copy = new_database()
    await commands.apply(copy, project=project(tmp_path, exported), anchor=ANCHOR)
    second = await snapshot_bytes(copy, chosen)

    assert body(second) == body(first)
    assert await app_inserts(copy) == {name: key for name, (_, key) in NEW_ROWS.items()}


async def test_defaults_fill_left_out_columns_alike_on_both_engines(
    sqlite_url: str, pg_url: str, tmp_path: Path
) -> None:
    chosen = project(tmp_path)
    snapshots = []
    for url in (sqlite_url, pg_url):
        await commands.apply(url, project=chosen, anchor=ANCHOR)
        snapshots.append(await snapshot_bytes(url, chosen))
    assert body(snapshots[0]) == body(snapshots[1])  # the header names each engine's schema facts
    rows = [json.loads(line) for line in body(snapshots[0]).splitlines()]
    languages = [r[1] for r in rows if r[0] == "language"]
    assert [(r["language_id"], r["name"]) for r in languages] == [(1, "English"), (2, "Italian"), (3, "Japanese")]
    film = next(r[1] for r in rows if r[0] == "film" and r[1]["film_id"] == 1)
    assert (film["rental_duration"], film["rental_rate"], film["rating"], film["in_print"]) == (3, "4.99", "G", True)
    mary = next(r[1] for r in rows if r[0] == "customer" and r[1]["customer_id"] == 1)
    assert (mary["status"], mary["loyalty_points"]) == ("active", 0)
    staff = next(r[1] for r in rows if r[0] == "staff" and r[1]["staff_id"] == 1)
    assert staff["active"] is True


def write_fixtures(directory: Path, files: dict[str, dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, document in files.items():
        (directory / f"{name}.json").write_text(json.dumps(document), encoding="utf-8")
    return directory


def test_check_names_a_left_out_column_whose_default_is_not_deterministic_once(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(rental_store.FIXTURES, fixtures)
    rows = json.loads((fixtures / "customer.json").read_text())["rows"]
    for row in rows:
        del row["created_at"]
    write_fixtures(fixtures, {"customer": {"rows": rows}})

    problems = commands.check(project=project(tmp_path, fixtures))

    assert [(p.file.rsplit("/", 1)[-1], p.row, p.column) for p in problems] == [("customer.json", 1, "created_at")]
    assert (
        "left out of 3 row(s); its default (server default now()) is not the same on every run" in problems[0].message
    )


async def test_sequences_follow_a_force_reseed_with_fewer_rows(db_url: str, tmp_path: Path) -> None:
    chosen = project(tmp_path)
    await commands.apply(db_url, project=chosen, anchor=ANCHOR)
    await app_inserts(db_url)  # the application moved every sequence on
    fewer = tmp_path / "fewer"
    shutil.copytree(rental_store.FIXTURES, fewer)
    for name in ("payment", "rental"):
        (fewer / f"{name}.json").unlink()
    write_fixtures(fewer, {"store": {"rows": [{"store_id": 1, "name": "Lethbridge", "manager_staff_id": 1}]}})
    write_fixtures(fewer, {"staff": {"rows": [{"staff_id": 1, "first_name": "Mike", "store_id": 1}]}})
    for name in ("customer", "inventory"):
        rows = json.loads((fewer / f"{name}.json").read_text())["rows"]
        write_fixtures(fewer, {name: {"rows": [r for r in rows if r["store_id"] == 1]}})

    await commands.apply(db_url, project=project(tmp_path, fewer), anchor=ANCHOR, force=True)

    expected = {
        "store": ({"name": "Burnaby"}, 2),
        "staff": ({"first_name": "Ann", "store_id": 1}, 2),
        "customer": ({"store_id": 1, "first_name": "Barbara"}, 3),
        "inventory": ({"film_id": 1, "store_id": 1}, 3),
        "rental": ({"rented_at": ANCHOR, "inventory_id": 1, "customer_id": 1}, 1),  # empty: from the start
        "payment": ({"customer_id": 1, "amount": Decimal("1.99")}, 1),
    }
    assert await app_inserts(db_url, expected) == {name: key for name, (_, key) in expected.items()}


async def test_sqlite_autoincrement_counter_follows_the_seed(sqlite_url: str, tmp_path: Path) -> None:
    await commands.apply(sqlite_url, project=project(tmp_path), anchor=ANCHOR)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        counters = dict(conn.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name").fetchall())
    assert counters == {"customer": 5, "store": 2}


async def test_export_sql_loaded_by_psql_lets_the_application_insert(
    pg_server: pgserver.PgServer, pg_url: str, tmp_path: Path
) -> None:
    chosen = project(tmp_path)
    script = tmp_path / "seed.sql"
    with script.open("wb") as out:
        commands.export_sql(out, project=chosen, with_schema=True)
    loaded = psql(pg_url, script, "-v", "anchor=2026-11-24T12:00:00Z")
    assert loaded.returncode == 0, loaded.stderr
    assert await app_inserts(pg_url) == {name: key for name, (_, key) in NEW_ROWS.items()}


async def test_a_partitioned_table_is_read_exported_and_counted_once_through_its_parent(
    pg_url: str, tmp_path: Path
) -> None:
    chosen = project(tmp_path)
    await commands.apply(pg_url, project=chosen, anchor=ANCHOR)
    snapshot = await snapshot_bytes(pg_url, chosen)
    tables = {json.loads(line)[0] for line in body(snapshot).splitlines()}
    assert "payment" in tables and not tables & {"payment_p1", "payment_p2"}
    status = await commands.status(pg_url, project=chosen)
    assert status.rows["payment"] == 3
    result = await commands.export(pg_url, tmp_path / "out", project=chosen)
    assert result.left_out == [] and not (tmp_path / "out" / "payment_p1.json").exists()
    # diff reads the parent once too.
    compared = await commands.diff_sources(pg_url, pg_url)
    assert compared.matches and "payment_p1" not in compared.report.actual_header.tables
    assert compared.report.actual_header.tables["payment"].rows == 3
    # Reseeding is not refused for "tables that are not the project's" holding rows: the partitions.
    again = await commands.apply(pg_url, project=chosen, anchor=ANCHOR, force=True)
    assert again.rows["payment"] == 3


async def test_reflected_domains_and_enums_are_created_with_the_tables(
    pg_server: pgserver.PgServer, pg_url: str, tmp_path: Path
) -> None:
    await commands.apply(pg_url, project=project(tmp_path), anchor=ANCHOR)
    database = engines.open_database(pg_url, write=False)
    try:
        async with database.transaction() as conn:
            reflected = await conn.run_sync(reflected_metadata)
    finally:
        await database.dispose()
    only_languages = write_fixtures(tmp_path / "languages", {"language": {"rows": [{"name": "English"}]}})
    from_database = Project(name="mirror", metadata=reflected, fixtures=only_languages, snapshots=tmp_path / "s")
    name = f"mirror_{__import__('os').getpid()}"
    target = pg_server.create_database(name)
    try:
        await commands.apply(target, project=from_database, anchor=ANCHOR)
        kinds = await _types(target)
    finally:
        pg_server.drop_database(name)
    assert kinds == [("mpaa_rating", "e"), ("year", "d")]


async def _types(url: str) -> list[tuple[str, str]]:
    database = engines.open_database(url, write=False)
    try:
        async with database.transaction() as conn:
            query = (
                "SELECT typname, typtype::text FROM pg_type WHERE typname IN ('year', 'mpaa_rating') ORDER BY typname"
            )
            return [(str(a), str(b)) for a, b in (await conn.exec_driver_sql(query)).all()]
    finally:
        await database.dispose()


async def test_a_domain_that_exists_already_is_used_as_it_is(pg_url: str, tmp_path: Path) -> None:
    database = engines.open_database(pg_url, write=True)
    try:
        async with database.transaction() as conn:
            await conn.exec_driver_sql("CREATE DOMAIN year AS integer CHECK (VALUE >= 1800)")
    finally:
        await database.dispose()
    await commands.apply(pg_url, project=project(tmp_path), anchor=ANCHOR)
    database = engines.open_database(pg_url, write=False)
    try:
        async with database.transaction() as conn:
            check = (
                await conn.exec_driver_sql(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = 'year'::regtype"
                )
            ).scalar_one()
    finally:
        await database.dispose()
    assert "1800" in check


async def test_a_failed_first_sqlite_apply_leaves_no_file(tmp_path: Path) -> None:
    metadata = MetaData()
    broken = Table("broken", metadata, Column("language_id", Integer, primary_key=True), Column("name", String(20)))
    from sqlalchemy import DDL, event

    event.listen(broken, "after_create", DDL("CREATE TRIGGER oops AFTER INSERT ON nowhere BEGIN SELECT 1; END"))
    fixtures = write_fixtures(tmp_path / "fixtures", {"broken": {"rows": [{"name": "x"}]}})
    chosen = Project(name="broken", metadata=metadata, fixtures=fixtures, snapshots=tmp_path / "s")
    path = tmp_path / "first.db"

    with pytest.raises(DatabaseError, match="nowhere"):
        await commands.apply(f"sqlite:///{path}", project=chosen)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixtures"]


def test_self_reference_children_before_parents_seeds_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    import anyio

    # category.json lists Anime (parent 2) and Animation (parent 1) before All films (1).
    rows = json.loads((rental_store.FIXTURES / "category.json").read_text())["rows"]
    assert [r["category_id"] for r in rows][:3] == [3, 2, 1]
    anyio.run(lambda: commands.apply(sqlite_url, project=project(tmp_path), anchor=ANCHOR))
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        joined = conn.execute(
            "SELECT c.name, p.name FROM category c JOIN category p ON p.category_id = c.parent_id ORDER BY c.name"
        ).fetchall()
    assert joined == [("Animation", "All films"), ("Anime", "Animation"), ("Drama", "All films")]


PLUGIN_TEST = """
from datetime import UTC, datetime
from echelon_seed import engines
from tests.corpus import rental_store


async def test_the_application_inserts_in_a_clone(echelon_db_url):
    database = engines.open_database(str(echelon_db_url), write=True)
    try:
        async with database.transaction() as conn:
            table = rental_store.metadata.tables["customer"]
            key = await conn.execute(table.insert().values(store_id=1, first_name="Zed").returning(table.c.customer_id))
            assert key.scalar_one() == 6
            rental = rental_store.metadata.tables["rental"]
            got = await conn.execute(
                rental.insert().values(rented_at=datetime(2026, 1, 1, tzinfo=UTC), inventory_id=1, customer_id=1)
                .returning(rental.c.rental_id)
            )
            assert got.scalar_one() == 8
    finally:
        await database.dispose()
"""


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_plugin_clone_lets_the_application_insert(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [tool.echelon-seed]
            name = "rental"
            metadata = "tests.corpus.rental_store:metadata"
            fixtures = "{rental_store.FIXTURES}"
            snapshots = "snapshots"

            [tool.pytest.ini_options]
            pythonpath = ["{ROOT}"]
            asyncio_mode = "auto"
            asyncio_default_fixture_loop_scope = "function"
            addopts = ["-p", "no:cacheprovider", "-p", "no:anyio"]
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "test_app.py").write_text(PLUGIN_TEST, encoding="utf-8")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("ECHELON_", "PYTEST_"))}
    if engine == "postgresql":
        env["ECHELON_TEST_DATABASE_URL"] = request.getfixturevalue("pg_server").admin_url
    # A child session of its own, forked from the worker's preloaded server (tests/forkrun.py).
    proc = forkrun.run(
        "pytest",
        "-q",
        "-p",
        "no:randomly",
        "--echelon-anchor",
        "2026-11-24T12:00:00Z",
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


async def test_app_count_query_after_seed_sees_partitioned_rows(pg_url: str, tmp_path: Path) -> None:
    await commands.apply(pg_url, project=project(tmp_path), anchor=ANCHOR)
    database = engines.open_database(pg_url, write=False)
    try:
        async with database.transaction() as conn:
            counts = (
                await conn.exec_driver_sql(
                    "SELECT tableoid::regclass::text, count(*) FROM payment GROUP BY 1 ORDER BY 1"
                )
            ).all()
            total = (await conn.execute(select(func.sum(rental_store.payment.c.amount)))).scalar_one()
    finally:
        await database.dispose()
    assert [tuple(c) for c in counts] == [("payment_p1", 2), ("payment_p2", 1)]
    assert total == Decimal("8.97")
