"""Smaller findings of real projects: models ahead of their migrations, directories a new project lacks,
long table names, and what counts as a deterministic default."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Sequence, String, Table, func, text

from echelon_seed import cli, commands, defaults, project
from echelon_seed.errors import DatabaseError
from echelon_seed.project import Project

MODELS = textwrap.dedent(
    """
    from sqlalchemy import Column, Integer, MetaData, String, Table

    metadata = MetaData()
    theatres = Table("theatres", metadata, Column("id", Integer, primary_key=True), Column("name", String(40)))
    theatre_certificates = Table(
        "theatre_certificates", metadata, Column("id", Integer, primary_key=True), Column("kind", String(10))
    )
    """
)

REVISION = textwrap.dedent(
    '''
    """Only the theatres: the certificates' migration was never written."""
    import sqlalchemy as sa
    from alembic import op

    revision = "0001"
    down_revision = None
    branch_labels = None
    depends_on = None


    def upgrade() -> None:
        op.create_table("theatres", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("name", sa.String(40)))
    '''
)


def lagging_project(tmp_path: Path, name: str) -> Path:
    directory = tmp_path / name
    (directory / "migrations" / "versions").mkdir(parents=True)
    (directory / "migrations" / "versions" / "0001_theatres.py").write_text(REVISION)
    (directory / f"{name}_models.py").write_text(MODELS)
    (directory / "seed").mkdir()
    (directory / "seed" / "theatre_certificates.json").write_text('{"rows": [{"id": 1, "kind": "U"}]}')
    (directory / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [tool.echelon-seed]
            name = "{name}"
            metadata = "{name}_models:metadata"
            migrations = "migrations"
            fixtures = "seed"
            snapshots = "goldens"
            """
        )
    )
    return directory


async def test_migrations_that_lag_the_models_are_named_with_the_command_that_lists_them(
    db_url: str, tmp_path: Path
) -> None:
    chosen = project.resolve(lagging_project(tmp_path, f"cinema{uuid.uuid5(uuid.NAMESPACE_URL, db_url).hex[:6]}"))
    with pytest.raises(DatabaseError) as caught:
        await commands.apply(db_url, project=chosen)
    message = str(caught.value)
    assert "migrations of project" in message and "lag its models" in message
    assert "table theatre_certificates" in message and "'echelon-seed check --schema'" in message
    assert "does not exist" not in message


def test_a_new_project_without_its_directories_checks_applies_and_writes_its_golden_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "fresh"
    directory.mkdir()
    (directory / "fresh_models.py").write_text(MODELS)
    (directory / "pyproject.toml").write_text(
        '[tool.echelon-seed]\nname = "fresh"\nmetadata = "fresh_models:metadata"\n'
        'fixtures = "seed/fixtures"\nsnapshots = "seed/snapshots"\n'
    )
    monkeypatch.chdir(directory)
    url = f"sqlite:///{directory / 'dev.db'}"

    assert cli.main(["check"]) == 2
    assert "fixture directory seed/fixtures does not exist: 'echelon-seed export' writes it" in capsys.readouterr().err

    source = tmp_path / "source.db"
    import sqlite3

    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE theatres (id INTEGER PRIMARY KEY, name VARCHAR(40))")
        conn.execute("CREATE TABLE theatre_certificates (id INTEGER PRIMARY KEY, kind VARCHAR(10))")
        conn.execute("INSERT INTO theatres VALUES (1, 'Rex')")
    assert cli.main(["export", "--database-url", f"sqlite:///{source}", "-o", "seed/fixtures"]) == 0
    assert cli.main(["check"]) == 0
    assert cli.main(["verify"]) == 2
    assert "no golden file at seed/snapshots/fresh.snapshot.jsonl; create it with: echelon-seed verify --update" in (
        capsys.readouterr().err
    )
    assert cli.main(["verify", "--update"]) == 0
    assert (directory / "seed" / "snapshots" / "fresh.snapshot.jsonl").is_file()
    assert cli.main(["apply", "--database-url", url]) == 0


def test_count_tables_stay_aligned_past_long_table_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    metadata = MetaData()
    names = ["a", "customer_loyalty_programme_enrolments_history"]
    for name in names:
        Table(name, metadata, Column("id", Integer, primary_key=True))
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    for name in names:
        (fixtures / f"{name}.json").write_text(json.dumps({"rows": [{"id": n} for n in range(1, 1001)]}))
    (tmp_path / "models_long.py").write_text("")
    chosen = Project(name="long", metadata=metadata, fixtures=fixtures, snapshots=tmp_path / "s")
    import anyio

    from echelon_seed import cli as cli_module

    result = anyio.run(lambda: commands.apply(f"sqlite:///{tmp_path / 'x.db'}", project=chosen))
    cli_module._print_apply(result)
    lines = [
        line for line in capsys.readouterr().out.splitlines() if line.strip().startswith(("a ", "customer", "total"))
    ]
    ends = {line.index("1,000") + len("1,000") if "1,000" in line else line.index("2,000") + 5 for line in lines}
    assert len(lines) == 3 and len(ends) == 1


def new_token() -> str:
    """A callable default, as an application's `default=uuid.uuid4` is: a new value on every call."""
    return "token"


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (Column("status", String(10), server_default="active"), defaults.Fixed("active")),
        (Column("points", Integer, server_default=text("0")), defaults.Fixed(0)),
        (Column("points", Integer, server_default=text("(0)::integer")), defaults.Fixed(0)),
        (Column("status", String(10), server_default=text("'it''s'::character varying")), defaults.Fixed("it's")),
        (Column("points", Integer, default=7), defaults.Fixed(7)),
        (Column("made", String(40), server_default=func.now()), defaults.Unstable("server default now()")),
        (
            Column("token", String(40), server_default=text("gen_random_uuid()")),
            defaults.Unstable("server default gen_random_uuid()"),
        ),
        (Column("token", String(40), default=new_token), defaults.Unstable("Python default new_token()")),
        (Column("note", String(40)), None),
    ],
)
def test_which_defaults_a_fixture_may_rely_on(column: Column[object], expected: object) -> None:
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), column)
    assert defaults.of(table, column) == expected


def test_a_sequence_shared_by_two_tables_is_not_a_default_a_fixture_may_rely_on() -> None:
    metadata = MetaData()
    shared = Sequence("ticket_numbers", metadata=metadata)
    Table("a", metadata, Column("id", Integer, shared, primary_key=True))
    b = Table("b", metadata, Column("id", Integer, shared, primary_key=True))
    assert defaults.of(b, b.c.id) == defaults.Unstable("sequence ticket_numbers, shared with a.id")
    alone = Table("c", metadata, Column("id", Integer, primary_key=True))
    assert defaults.of(alone, alone.c.id) == defaults.Numbered()


async def test_a_self_reference_with_children_before_parents_seeds_on_both_engines(db_url: str, tmp_path: Path) -> None:
    from sqlalchemy import ForeignKey

    metadata = MetaData()
    Table(
        "employees",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("name", String(40), nullable=False),
        Column("manager_id", Integer, ForeignKey("employees.id")),
    )
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    rows = [
        {"id": 3, "name": "Intern", "manager_id": 2},
        {"id": 2, "name": "Lead", "manager_id": 1},
        {"id": 1, "name": "Founder", "manager_id": None},
    ]
    (fixtures / "employees.json").write_text(json.dumps({"rows": rows}))
    chosen = Project(name="org", metadata=metadata, fixtures=fixtures, snapshots=tmp_path / "s")
    assert commands.check(project=chosen) == []

    result = await commands.apply(db_url, project=chosen)

    assert result.rows == {"employees": 3}
