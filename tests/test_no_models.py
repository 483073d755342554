"""A project without models (examples/bookshop): plain `*.sql` migrations, tables reflected after them.

Also the directories a new project does not have yet: the golden file's
directory does not exist until `verify --update` writes it.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from echelon_seed import commands, project
from echelon_seed.errors import ConfigError, DatabaseError
from tests import forkrun

CORPUS = Path(__file__).resolve().parent.parent / "examples" / "bookshop"
ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def bookshop(tmp_path: Path) -> project.Project:
    """A copy of the bookshop project (its seed/snapshots directory does not exist yet)."""
    shutil.copytree(CORPUS, tmp_path / "bookshop")
    return project.resolve(tmp_path / "bookshop")


def test_check_without_a_database_judges_the_layout_and_says_what_it_left(bookshop: project.Project) -> None:
    assert bookshop.reflect and bookshop.sql_migrations
    assert commands.check(project=bookshop) == []
    (gap,) = commands.unchecked(bookshop)
    assert "has no models: its schema is what " in gap and gap.endswith("migrations/ builds)")
    (bookshop.fixtures / "book.json").write_text('{"rows": [{"title": "x", "title": "y"}, 3]}')
    problems = commands.check(project=bookshop)
    assert [(p.row, p.message) for p in problems] == [
        (1, "duplicate key in the row object (each column once)"),
        (2, "a row must be a JSON object"),
    ]


async def test_apply_snapshot_verify_export_without_models(
    db_url: str, new_database: Callable[[], str], bookshop: project.Project, tmp_path: Path
) -> None:
    result = await commands.apply(db_url, project=bookshop, anchor=ANCHOR)
    assert result.migration.after == "002_books" and result.migration.applied == 2
    assert result.rows == {"author": 2, "book": 3}

    out = io.BytesIO()
    await commands.snapshot(db_url, out, project=bookshop)
    rows = [json.loads(line) for line in out.getvalue().splitlines()[1:]]
    assert rows[0] == ["author", {"author_id": 1, "name": "Ursula K. Le Guin", "status": "active"}]
    books = [r[1] for r in rows if r[0] == "book"]
    assert [(b["book_id"], b["in_stock"]) for b in books] == [(1, 3), (2, 0), (3, 1)]

    assert not bookshop.snapshots.exists()
    updated = await commands.verify(db_url, project=bookshop, update=True)
    assert updated.golden.is_file()
    assert (await commands.verify(db_url, project=bookshop)).matches

    exported = await commands.export(db_url, tmp_path / "exported", project=bookshop)
    assert exported.rows == {"author": 2, "book": 3}
    from dataclasses import replace

    copy = new_database()
    await commands.apply(copy, project=replace(bookshop, fixtures=tmp_path / "exported"), anchor=ANCHOR)
    again = io.BytesIO()
    await commands.snapshot(copy, again, project=bookshop)
    assert again.getvalue().split(b"\n", 1)[1] == out.getvalue().split(b"\n", 1)[1]
    status = await commands.status(copy, project=bookshop)
    assert status.revision == "002_books" and status.behind == 0


async def test_a_fixture_for_a_table_the_migrations_do_not_build_is_named_at_apply(
    sqlite_url: str, bookshop: project.Project, tmp_path: Path
) -> None:
    (bookshop.fixtures / "review.json").write_text('{"rows": []}')
    from echelon_seed.errors import FixtureError

    with pytest.raises(FixtureError, match="no seeded table is called 'review'"):
        await commands.apply(sqlite_url, project=bookshop, anchor=ANCHOR)
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()


async def test_a_failing_sql_migration_is_named(sqlite_url: str, bookshop: project.Project) -> None:
    assert bookshop.migrations is not None
    (bookshop.migrations / "003_broken.sql").write_text("ALTER TABLE nowhere ADD COLUMN x INTEGER;\n")
    with pytest.raises(DatabaseError, match=r"migration .*003_broken.sql failed: .*nowhere"):
        await commands.apply(sqlite_url, project=bookshop, anchor=ANCHOR)


def test_a_new_sql_migration_is_not_taken_for_the_seed_already_there(
    bookshop: project.Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from echelon_seed import cli

    url = f"sqlite:///{tmp_path / 'dev.db'}"
    where = ["--project", str(bookshop.source), "--database-url", url]
    assert cli.main(["apply", *where]) == 0
    assert cli.main(["apply", *where]) == 0
    assert "already seeded" in capsys.readouterr().out
    assert bookshop.migrations is not None
    (bookshop.migrations / "003_born.sql").write_text("ALTER TABLE author ADD COLUMN born INTEGER;\n")

    assert cli.main(["apply", "--force", *where]) == 0
    out = capsys.readouterr().out
    assert "reseeded" in out and "003_born (1 migration applied)" in out


def test_verify_of_a_changed_database_reports_it_and_names_the_reseed(
    bookshop: project.Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A red gate on a project without models is a report (exit 1), never an error about unknown tables."""
    import sqlite3

    from echelon_seed import cli

    url = f"sqlite:///{tmp_path / 'dev.db'}"
    where = ["--project", str(bookshop.source), "--database-url", url]
    assert cli.main(["apply", *where]) == 0
    assert cli.main(["verify", "--update", *where]) == 0
    with sqlite3.connect(tmp_path / "dev.db") as conn:
        conn.execute("INSERT INTO author (author_id, name) VALUES (9, 'Octavia E. Butler')")
    capsys.readouterr()

    assert cli.main(["verify", *where]) == 1
    out, err = capsys.readouterr()
    assert "author[9]: only in the database" in out and "no seeded table" not in err

    (bookshop.fixtures / "author.json").write_text('{"rows": [{"author_id": 1, "name": "Ursula K. Le Guin"}]}')
    assert cli.main(["verify", *where]) == 1
    out, err = capsys.readouterr()
    assert "seeded from other fixtures" in out + err and "apply --force" in out + err


PLUGIN_TEST = """
import sqlite3


def test_the_seed_is_in_the_test_database(echelon_db_url):
    url = str(echelon_db_url)
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            names = conn.execute("SELECT name, status FROM author ORDER BY author_id").fetchall()
    else:
        import asyncio, asyncpg
        from echelon_seed import urls

        async def read():
            conn = await asyncpg.connect(**urls.parse(url).connect_kwargs())
            try:
                return [tuple(r) for r in await conn.fetch("SELECT name, status FROM author ORDER BY author_id")]
            finally:
                await conn.close()

        names = asyncio.run(read())
    assert names == [("Ursula K. Le Guin", "active"), ("Italo Calvino", "archived")]
"""


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_pytest_plugin_seeds_a_project_without_models(
    engine: str, bookshop: project.Project, request: pytest.FixtureRequest
) -> None:
    import os

    assert bookshop.source is not None
    directory = bookshop.source.parent
    with bookshop.source.open("a", encoding="utf-8") as config:
        config.write(
            '\n[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
            'addopts = ["-p", "no:cacheprovider", "-p", "no:anyio"]\n'
        )
    (directory / "test_seeded.py").write_text(PLUGIN_TEST, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECHELON_", "PYTEST_"))}
    if engine == "postgresql":
        env["ECHELON_TEST_DATABASE_URL"] = request.getfixturevalue("pg_server").admin_url
    # A child session of its own, forked from the worker's preloaded server (tests/forkrun.py).
    proc = forkrun.run("pytest", "-q", "-p", "no:randomly", cwd=directory, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


ALEMBIC_REVISION = '''
"""Theatres, as the team's Alembic revision has them."""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "theatres",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("screens", sa.Integer(), nullable=False, server_default="1"),
    )
'''


async def test_an_alembic_project_without_models_seeds_from_its_revisions(db_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "cinema"
    (directory / "migrations" / "versions").mkdir(parents=True)
    (directory / "migrations" / "versions" / "0001_theatres.py").write_text(ALEMBIC_REVISION)
    (directory / "seed").mkdir()
    (directory / "seed" / "theatres.json").write_text('{"rows": [{"name": "Rex"}, {"name": "Odeon", "screens": 4}]}')
    (directory / "pyproject.toml").write_text(
        '[tool.echelon-seed]\nname = "cinema"\nmigrations = "migrations"\nfixtures = "seed"\nsnapshots = "goldens"\n'
    )
    chosen = project.resolve(directory)
    assert chosen.reflect and not chosen.sql_migrations

    result = await commands.apply(db_url, project=chosen, anchor=ANCHOR)

    assert result.migration.after == "0001" and result.rows == {"theatres": 2}
    out = io.BytesIO()
    await commands.snapshot(db_url, out, project=chosen)
    rows = [json.loads(line)[1] for line in out.getvalue().splitlines()[1:]]
    assert rows == [{"id": 1, "name": "Rex", "screens": 1}, {"id": 2, "name": "Odeon", "screens": 4}]
    with pytest.raises(ConfigError, match="has no models"):
        await commands.check_schema(project=chosen)
