"""The gate sees the whole schema: each drift a migration can make turns it red, with one line naming the fact.

A rental-store database (`rental_store`: an enum, a domain, a trigger,
foreign keys with actions, CHECKs, defaults, a unique constraint), never
seeded by echelon-seed, gets a golden file; then one fact changes, the way a
team's migration changes it (ALTER on PostgreSQL; on SQLite, which cannot
alter a constraint, the table built again with the new definition and the
same rows). `verify` and `diff` must both exit 1 and both name the fact;
physical changes (an index, VACUUM, CLUSTER, a row rewritten to the same
values) must leave both at 0.
"""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from echelon_seed import cli, commands
from tests import dbtools, rental_store


def build(url: str, engine: str, **changes: str) -> None:
    """The rental store in `url`; as it stands (no `changes`), copied from one built once per worker."""
    statements = [*rental_store.ddl(engine, **changes), *rental_store.rows(engine)]
    if changes:
        asyncio.run(dbtools.execute(url, *statements))
        return
    asyncio.run(dbtools.from_template(url, "rental store", lambda template: dbtools.execute(template, *statements)))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def golden_of(capsys: pytest.CaptureFixture[str], url: str, golden: Path, *extra: str) -> None:
    code, _out, err = run(capsys, "verify", "--update", "--database-url", url, "--golden", str(golden), *extra)
    assert code == 0, err


def verdicts(capsys: pytest.CaptureFixture[str], url: str, golden: Path, *extra: str) -> tuple[int, str, int, str]:
    """`verify` and `diff` of the same golden file and database: (code, output) of each."""
    v_code, v_out, v_err = run(capsys, "verify", "--database-url", url, "--golden", str(golden), *extra)
    d_code, d_out, d_err = run(capsys, "diff", str(golden), url, *extra)
    return v_code, v_out + v_err, d_code, d_out + d_err


FK = "foreign key dropped: film(language_id) → language(language_id) (on delete restrict, on update cascade)"

# name: (PostgreSQL statements, SQLite change: fragments to rebuild with, or statements; the line expected)
MUTATIONS: dict[str, tuple[list[str], dict[str, str] | list[str] | None, str]] = {
    "fk-dropped": (["ALTER TABLE film DROP CONSTRAINT film_language_id_fkey"], {"language_fk": ""}, FK),
    "check-dropped": (
        ["ALTER TABLE film DROP CONSTRAINT film_rental_rate_check"],
        {"film_checks": ""},
        "check dropped: film film_rental_rate_check (rental_rate >= 0)",
    ),
    "check-added": (
        ["ALTER TABLE film ADD CONSTRAINT film_title_nonempty CHECK (title <> '')"],
        {
            "film_checks": rental_store.DEFAULTS["film_checks"]
            + ",\n CONSTRAINT film_title_nonempty CHECK (title <> '')"
        },
        "check added: film film_title_nonempty (title <> '')",
    ),
    "domain-check-dropped": (
        ["ALTER DOMAIN year DROP CONSTRAINT year_check"],
        None,
        "domain check dropped: year year_check (value >= 1901 and value <= 2155)",
    ),
    "default-changed": (
        ["ALTER TABLE film ALTER COLUMN rental_rate SET DEFAULT 2.99"],
        {"rate_default": "2.99"},
        "default changed: film.rental_rate 4.99 → 2.99",
    ),
    "default-added": (
        ["ALTER TABLE film ALTER COLUMN description SET DEFAULT 'none'"],
        {"description_default": " DEFAULT 'none'"},
        "default added: film.description 'none'",
    ),
    "trigger-dropped": (
        ["DROP TRIGGER film_fulltext_trigger ON film"],
        ["DROP TRIGGER film_fulltext_trigger"],
        "trigger dropped: film_fulltext_trigger on film",
    ),
    "varchar-longer": (
        ["ALTER TABLE film ALTER COLUMN title TYPE varchar(120)"],
        {"title_type": "varchar(120)"},
        "length changed: film.title 40 → 120",
    ),
    "varchar-to-text": (
        ["ALTER TABLE customer ALTER COLUMN email TYPE text"],
        {"email_type": "text"},
        "length changed: customer.email 50 → unlimited",
    ),
    "numeric-precision": (
        ["ALTER TABLE film ALTER COLUMN rental_rate TYPE numeric(6,2)"],
        {"rate_type": "numeric(6,2)"},
        "precision changed: film.rental_rate numeric(4,2) → numeric(6,2)",
    ),
    "enum-to-text": (
        ["ALTER TABLE film ALTER COLUMN rating TYPE text"],
        {"rating_type": "text", "rating_check": ""},
        "enum labels changed: film.rating [G, PG, PG-13, R, NC-17] → none",
    ),
    "collation-changed": (
        ['ALTER TABLE film ALTER COLUMN title TYPE varchar(40) COLLATE "C"'],
        None,
        "collation changed: film.title default → C",
    ),
    "unique-dropped": (
        ["ALTER TABLE customer DROP CONSTRAINT customer_email_key"],
        {"email_unique": ""},
        "unique dropped: customer(email)",
    ),
}


def mutated(engine: str, url: str, new_database: Callable[[], str], name: str) -> str:
    """The database after the mutation `name`: the same one altered, or a SQLite copy built with the change."""
    on_postgresql, on_sqlite, _ = MUTATIONS[name]
    if engine == "postgresql":
        asyncio.run(dbtools.execute(url, *on_postgresql))
        return url
    if isinstance(on_sqlite, list):
        asyncio.run(dbtools.execute(url, *on_sqlite))
        return url
    assert on_sqlite is not None
    copy = new_database()
    build(copy, engine, **on_sqlite)
    return copy


def _cases() -> list[object]:
    cases: list[object] = []
    for name, (_, on_sqlite, _) in MUTATIONS.items():
        cases.append(pytest.param("postgresql", name, id=f"postgresql-{name}"))
        if on_sqlite is not None:
            cases.append(pytest.param("sqlite", name, id=f"sqlite-{name}"))
    return cases


@pytest.fixture(scope="module")
def goldens() -> dict[str, Path]:
    """Per engine, the golden file of the rental store as built: made by the first drift test of the module."""
    return {}


@pytest.mark.parametrize(("engine", "name"), _cases())
def test_a_schema_drift_fails_verify_and_diff_naming_the_fact(
    engine: str,
    name: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    goldens: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url: str = request.getfixturevalue("pg_url" if engine == "postgresql" else "sqlite_url")
    build(url, engine)
    golden = goldens.get(engine)
    if golden is None:  # the control, once: the store as built is green (every case's copy holds the same rows)
        golden = tmp_path_factory.mktemp("rental") / f"{engine}.jsonl"
        golden_of(capsys, url, golden)
        assert verdicts(capsys, url, golden)[::2] == (0, 0)
        goldens[engine] = golden

    changed = mutated(engine, url, lambda: f"sqlite:///{tmp_path / 'copy.db'}", name)
    v_code, v_out, d_code, d_out = verdicts(capsys, changed, golden)

    expected = MUTATIONS[name][2]
    assert (v_code, d_code) == (1, 1), v_out + d_out
    assert f"  {expected}" in v_out.splitlines(), v_out
    assert f"  {expected}" in d_out.splitlines(), d_out
    # The fact is the whole explanation: no row differs, and nothing else is reported.
    assert "rows:" not in v_out and "schema:" in v_out


@pytest.fixture
def engine_of_db(db_url: str) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgresql"


PHYSICAL = {
    "postgresql": [
        ["CREATE INDEX film_title_idx ON film (title)"],
        ["VACUUM FULL film"],
        ["CLUSTER film USING film_pkey"],
        ["UPDATE film SET title = title", "UPDATE customer SET active = active"],
    ],
    "sqlite": [
        ["CREATE INDEX film_title_idx ON film (title)"],
        ["VACUUM"],
        ["UPDATE film SET title = title", "UPDATE customer SET active = active"],
    ],
}


def _autocommit(url: str, statement: str) -> None:
    """VACUUM (FULL) and CLUSTER cannot run in a transaction block: psql or sqlite3, as an operator would."""
    import sqlite3
    import subprocess

    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            connection.execute(statement)
        finally:
            connection.close()
        return
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", statement], check=True, capture_output=True)


def test_physical_changes_leave_the_gate_green(
    db_url: str, engine_of_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(db_url, engine_of_db)
    golden = tmp_path / "rental.jsonl"
    golden_of(capsys, db_url, golden)
    for statements in PHYSICAL[engine_of_db]:
        for statement in statements:
            if statement.startswith(("VACUUM", "CLUSTER")):
                _autocommit(db_url, statement)
            else:
                asyncio.run(dbtools.execute(db_url, statement))
        v_code, v_out, d_code, d_out = verdicts(capsys, db_url, golden)
        assert (v_code, d_code) == (0, 0), f"{statements}: {v_out}{d_out}"


def test_an_index_counts_only_with_indexes_and_a_view_only_with_views(
    db_url: str, engine_of_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(db_url, engine_of_db)
    golden = tmp_path / "rental.jsonl"
    golden_of(capsys, db_url, golden)
    asyncio.run(
        dbtools.execute(
            db_url,
            "CREATE INDEX film_title_idx ON film (title)",
            "CREATE VIEW film_list AS SELECT film_id, title FROM film",
        )
    )

    assert verdicts(capsys, db_url, golden)[::2] == (0, 0)
    v_code, v_out, d_code, d_out = verdicts(capsys, db_url, golden, "--indexes")
    assert (v_code, d_code) == (1, 1)
    for out in (v_out, d_out):
        assert "  index added: film_title_idx on film(title)" in out.splitlines(), out
        assert "view added" not in out
    v_code, v_out, d_code, d_out = verdicts(capsys, db_url, golden, "--views")
    assert (v_code, d_code) == (1, 1)
    for out in (v_out, d_out):
        assert "  view added: view film_list" in out.splitlines(), out
        assert "index added" not in out


def test_the_report_groups_schema_facts_by_kind_before_rows_in_text_json_and_junit(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(pg_url, "postgresql")
    golden = tmp_path / "rental.jsonl"
    golden_of(capsys, pg_url, golden)
    asyncio.run(
        dbtools.execute(
            pg_url,
            "ALTER TABLE film ALTER COLUMN rental_rate SET DEFAULT 2.99",
            "ALTER TABLE film DROP CONSTRAINT film_language_id_fkey",
            "ALTER TABLE customer DROP CONSTRAINT customer_email_key",
            "UPDATE film SET rental_rate = 1.99 WHERE film_id = 2",
        )
    )
    junit = tmp_path / "report.xml"
    code, out, _ = run(capsys, "verify", "--database-url", pg_url, "--golden", str(golden), "--junit-xml", str(junit))
    lines = out.splitlines()
    assert code == 1
    assert lines[:5] == [
        "schema:",
        f"  {FK}",
        "  unique dropped: customer(email)",
        "  default changed: film.rental_rate 4.99 → 2.99",
        "rows:",
    ], out
    assert '  film[2].rental_rate: golden "4.99", actual "1.99"' in lines, out

    code, out, _ = run(capsys, "diff", str(golden), pg_url, "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["verdict"] == "differs"
    assert [(c["kind"], c["table"]) for c in doc["schema_changes"]] == [
        ("foreign key dropped", "film"),
        ("unique dropped", "customer"),
        ("default changed", "film"),
    ]
    assert doc["schema"][0] == FK

    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    film = cases["film"].find("failure")
    customer = cases["customer"].find("failure")
    assert film is not None and customer is not None and cases["language"].find("failure") is None
    assert film.text is not None and film.text.splitlines()[:2] == [FK, "default changed: film.rental_rate 4.99 → 2.99"]
    assert customer.text == "unique dropped: customer(email)"


def test_ignore_accepts_schema_facts_and_refuses_a_pattern_that_matches_nothing(
    db_url: str, engine_of_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(db_url, engine_of_db)
    golden = tmp_path / "rental.jsonl"
    golden_of(capsys, db_url, golden, "--ignore", "schema:*.default")
    asyncio.run(dbtools.execute(db_url, "ALTER TABLE customer ADD COLUMN note text DEFAULT 'x'"))
    if engine_of_db == "postgresql":
        asyncio.run(dbtools.execute(db_url, "ALTER TABLE film ALTER COLUMN rental_rate SET DEFAULT 2.99"))
    v_code, v_out, d_code, d_out = verdicts(capsys, db_url, golden)
    # The column is new (a difference); its default, and a changed default, are ignored on purpose.
    assert (v_code, d_code) == (1, 1)
    for out in (v_out, d_out):
        assert "customer: column note (text, nullable) only in" in out
        assert "default" not in out

    for pattern, why in (
        ("schema:*.no_such_fact", "--ignore schema:*.no_such_fact matches no schema fact of the database"),
        ("no_such_column", "--ignore no_such_column matches no column of the database"),
        ("language.language_id", "--ignore language.language_id names only key columns (language.language_id)"),
    ):
        for argv in (
            ["verify", "--database-url", db_url, "--golden", str(golden), "--ignore", pattern],
            ["diff", str(golden), db_url, "--ignore", pattern],
        ):
            code, out, err = run(capsys, *argv)
            assert code == 2, out + err
            assert why in err, err


def test_a_golden_file_of_an_older_format_says_how_to_upgrade_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.jsonl"
    current = commands.golden_path(1).read_text(encoding="utf-8")
    old.write_text(current.replace('"format":"echelon-seed-snapshot/3"', '"format":"echelon-seed-snapshot/2"'))

    code, _out, err = run(capsys, "verify", "--golden", str(old))
    assert code == 2
    assert "is of the older format echelon-seed-snapshot/2" in err
    assert err.rstrip().endswith(f"regenerate it with: echelon-seed verify --update --golden {old}"), err
    code, _out, err = run(capsys, "verify", "--update", "--golden", str(old))
    assert code == 0, err
    assert run(capsys, "verify", "--golden", str(old))[0] == 0


async def test_an_exported_then_applied_copy_verifies_green_against_the_original(
    db_url: str, new_database: Callable[[], str], tmp_path: Path
) -> None:
    await commands.apply(db_url)
    golden = tmp_path / "original.jsonl"
    await commands.verify(db_url, golden=golden, update=True)
    exported = tmp_path / "exported"
    await commands.export(db_url, exported)
    copy = new_database()
    await commands.apply(copy, fixtures_dir=exported)

    verified = await commands.verify(copy, golden=golden)
    compared = await commands.diff_sources(str(golden), copy)
    assert verified.matches and compared.matches, verified.report.render() if verified.report else ""
    copy_golden = tmp_path / "copy.jsonl"
    await commands.verify(copy, golden=copy_golden, update=True)
    assert copy_golden.read_bytes().splitlines()[1:] == golden.read_bytes().splitlines()[1:]


def _project(tmp_path: Path) -> Path:
    """A project that is not Echelon and whose database echelon-seed never seeded."""
    tmp_path.mkdir()
    (tmp_path / "rentalmodels.py").write_text("from sqlalchemy import MetaData\n\nmetadata = MetaData()\n")
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.echelon-seed]\nname = "rental"\nmetadata = "rentalmodels:metadata"\nfixtures = "fixtures"\n'
        'snapshots = "snapshots"\n'
    )
    return tmp_path


def test_verify_update_writes_the_default_golden_of_an_unseeded_database_and_diff_agrees(
    db_url: str,
    engine_of_db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setattr(sys, "path", list(sys.path))
    build(db_url, engine_of_db)
    project = _project(tmp_path / "rental")
    code, out, err = run(capsys, "--project", str(project), "verify", "--update", "--database-url", db_url)
    assert code == 0, err
    written = project / "snapshots" / "rental.snapshot.jsonl"
    assert written.is_file(), out
    golden = str(written)
    for argv in (
        ["--project", str(project), "verify", "--database-url", db_url],
        ["--project", str(project), "diff", golden, db_url],
        ["--project", str(project), "diff", db_url, golden],
    ):
        code, out, err = run(capsys, *argv)
        assert code == 0, (argv, out, err)


def test_diff_of_a_file_and_the_database_it_came_from_uses_the_configured_project(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = dbtools.REPO / "examples" / "shop"
    code, _, err = run(capsys, "--project", str(shop), "apply", "--database-url", db_url, "-q")
    assert code == 0, err
    taken = tmp_path / "shop.jsonl"
    code, _, err = run(capsys, "--project", str(shop), "snapshot", "--database-url", db_url, "-o", str(taken))
    assert code == 0, err
    for argv in (["diff", str(taken), db_url], ["diff", db_url, str(taken)], ["diff", db_url, db_url]):
        code, out, err = run(capsys, "--project", str(shop), *argv)
        assert code == 0, (argv, out, err)
    code, out, err = run(capsys, "--project", str(shop), "verify", "--database-url", db_url, "--golden", str(taken))
    assert code == 0, out + err
