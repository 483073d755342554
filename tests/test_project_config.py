"""Finding and loading [tool.echelon-seed]: where it is looked for, and each way it can be wrong.

Every bad configuration is one error naming the file and the key, exit 2.
"""

from __future__ import annotations

import io
import itertools
import sys
from pathlib import Path

import pytest

from echelon_seed import cli, commands, project
from echelon_seed.errors import ConfigError
from tests import dbtools

EXAMPLE = dbtools.REPO / "examples" / "shop"
_modules = itertools.count(1)

MODELS = """
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

metadata = MetaData()
categories = Table(
    "categories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(40), nullable=False),
    Column("parent_id", Integer, ForeignKey("categories.id"), nullable=True),
)
not_metadata = 42
"""


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a project puts its directory on sys.path; each test starts from the suite's."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv(project.ENV, raising=False)


def make_project(tmp_path: Path, section: str | None = None, **keys: str) -> Path:
    """A directory with a models module, a fixture directory and a pyproject.toml holding `section`."""
    module = f"cfgmodels_{next(_modules)}"
    (tmp_path / f"{module}.py").write_text(MODELS)
    (tmp_path / "fixtures").mkdir(exist_ok=True)
    (tmp_path / "fixtures" / "categories.json").write_text(
        '{"rows": [{"id": 1, "name": "Seeds", "parent_id": null}, {"id": 2, "name": "Tomatoes", "parent_id": 1}]}'
    )
    (tmp_path / "snapshots").mkdir(exist_ok=True)
    values = {
        "name": '"cats"',
        "metadata": f'"{module}:metadata"',
        "fixtures": '"fixtures"',
        "snapshots": '"snapshots"',
    }
    values.update({k: v.replace("MODULE", module) for k, v in keys.items()})
    body = "\n".join(f"{k} = {v}" for k, v in values.items() if v != "")
    (tmp_path / "pyproject.toml").write_text(section if section is not None else f"[tool.echelon-seed]\n{body}\n")
    return tmp_path


# --- where the configuration is found --------------------------------------------------------------


def test_configuration_is_found_from_a_subdirectory() -> None:
    found = project.find(cwd=EXAMPLE / "seed" / "fixtures")

    assert found is not None
    assert (found.path, found.name) == (EXAMPLE / "pyproject.toml", "shop")


def test_a_pyproject_without_the_section_is_passed_over(tmp_path: Path) -> None:
    outer = make_project(tmp_path)
    inner = outer / "app"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "app"\n')

    found = project.find(cwd=inner)

    assert found is not None and found.path == outer / "pyproject.toml"


def test_no_configuration_in_sight_means_the_built_in_echelon_project(tmp_path: Path) -> None:
    assert project.find(cwd=tmp_path) is None
    assert project.load(None) is project.echelon()


def test_the_built_in_project_is_declared_by_its_own_configuration() -> None:
    declared = project.resolve(dbtools.ECHELON)

    assert declared.name == "echelon"
    assert declared.fingerprint == project.echelon().fingerprint
    assert declared.golden_path() == project.echelon().golden_path()


def test_the_environment_and_the_option_name_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(project.ENV, str(EXAMPLE))
    from_environment = project.find(cwd=tmp_path)
    from_option = project.find(EXAMPLE / "pyproject.toml", cwd=tmp_path)

    assert from_environment is not None and from_environment.name == "shop"
    assert from_option is not None and from_option.name == "shop"


def test_an_option_naming_no_configuration_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')

    with pytest.raises(ConfigError, match=r"--project: .*pyproject.toml has no \[tool.echelon-seed\] section"):
        project.find(tmp_path)
    with pytest.raises(ConfigError, match="--project: no pyproject.toml at"):
        project.find(tmp_path / "missing")


# --- each bad configuration, one message naming the key ----------------------------------------------


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"metadata": ""}, r"key 'metadata': missing; give the models' MetaData, or .* the migrations"),
        ({"colour": '"blue"'}, r"key 'colour': unknown key; known: name, metadata, migrations"),
        (
            {"metadata": '"no_such_module_here:metadata"'},
            r"key 'metadata': cannot import 'no_such_module_here' \(ModuleNotFoundError",
        ),
        ({"metadata": '"MODULE:nothing"'}, r"key 'metadata': 'cfgmodels_\d+:nothing' has no attribute 'nothing'"),
        (
            {"metadata": '"MODULE:not_metadata"'},
            r"key 'metadata': 'cfgmodels_\d+:not_metadata' is a value of type int, not a SQLAlchemy MetaData",
        ),
        ({"metadata": '"MODULE"'}, r'key \'metadata\': expected "module:attribute"'),
        ({"fixtures": '"pyproject.toml"'}, r"key 'fixtures': .*pyproject.toml is a file; give a directory"),
        ({"migrations": '"fixtures"'}, r"key 'migrations': .*fixtures is not an Alembic script directory"),
        ({"generators": '["no_such_generators"]'}, r"key 'generators': cannot import 'no_such_generators'"),
        ({"ignore": '"*.updated_at"'}, r"key 'ignore': expected a list of strings"),
        ({"name": '"two words"'}, r"key 'name': 'two words' may hold only letters"),
    ],
    ids=[
        "missing",
        "unknown",
        "import",
        "attribute",
        "not-metadata",
        "no-colon",
        "path",
        "migrations",
        "generators",
        "ignore",
        "name",
    ],
)
def test_each_bad_configuration_is_one_error_naming_the_key(tmp_path: Path, keys: dict[str, str], message: str) -> None:
    directory = make_project(tmp_path, **keys)

    with pytest.raises(ConfigError, match=message) as caught:
        project.resolve(directory)
    assert str(caught.value).startswith(f"{directory / 'pyproject.toml'} [tool.echelon-seed] key ")


def test_invalid_toml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    directory = make_project(tmp_path, section="[tool.echelon-seed\nname = 1\n")

    with pytest.raises(ConfigError, match=r"pyproject.toml is not valid TOML"):
        project.find(directory)


def test_the_cli_prints_a_bad_configuration_as_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = make_project(tmp_path, metadata='"MODULE:not_metadata"')

    code = cli.main(["--project", str(directory), "check"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("echelon-seed: error: ") and "key 'metadata'" in err


# --- a project without migrations ----------------------------------------------------------------------


async def test_without_migrations_the_tables_are_created_from_the_metadata(db_url: str, tmp_path: Path) -> None:
    directory = make_project(tmp_path)

    done = dbtools.run_cli("apply", database_url=db_url, cwd=directory)
    again = await commands.apply(db_url, project=project.resolve(directory))

    assert done.returncode == 0, done.stderr
    assert "  schema   created from the metadata (1 table)\n" in done.stdout
    assert "  categories                 2\n" in done.stdout
    assert again.action == "unchanged"
    # No version table: no migrations.
    assert await dbtools.table_names(db_url) == {"categories", "echelon_seed_runs", "echelon_seed_stamp"}


async def test_another_projects_seed_is_not_taken_for_ours(db_url: str, tmp_path: Path) -> None:
    """Identity is the record (project and schema fingerprint), not a revision string."""
    await commands.apply(db_url, project=project.resolve(EXAMPLE))

    header = (await dbtools.snapshot_bytes(db_url)).splitlines()[0]

    # Read as the Echelon project: the tables are reflected and the provenance is not claimed.
    assert b'"fixtures":null' in header and b'"scale":null' in header


async def test_a_foreign_database_at_revision_0001_is_snapshotted_as_it_is(db_url: str) -> None:
    """An `alembic_version` at Echelon's head revision does not make a database Echelon's."""
    await dbtools.execute(
        db_url,
        "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
        "INSERT INTO alembic_version VALUES ('0001')",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, handle VARCHAR(20))",
        "INSERT INTO users VALUES (1, 'rook')",
    )

    lines = (await dbtools.snapshot_bytes(db_url)).decode().splitlines()

    assert '"schema_revision":null' in lines[0]
    assert lines[1:] == ['["alembic_version",{"version_num":"0001"}]', '["users",{"handle":"rook","id":1}]']


ARRAY_MODELS = """
from sqlalchemy import ARRAY, Column, Integer, MetaData, String, Table

metadata = MetaData()
tags = Table(
    "tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("labels", ARRAY(String(20)), nullable=False),
    Column("scores", ARRAY(Integer), nullable=True),
)
"""


async def test_a_postgresql_array_column_is_seeded_and_snapshotted(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL only: SQLite has no arrays."""
    module = f"cfgarrays_{next(_modules)}"
    (tmp_path / f"{module}.py").write_text(ARRAY_MODELS)
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "tags.json").write_text(
        '{"rows": [{"id": 2, "labels": ["b", "a"], "scores": null}, {"id": 1, "labels": [], "scores": [3, -1]}]}'
    )
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.echelon-seed]\nname = "tags"\nmetadata = "{module}:metadata"\nfixtures = "fixtures"\nsnapshots = "snapshots"\n'
    )
    tags = project.resolve(tmp_path)
    (tmp_path / "fixtures" / "bad").mkdir()
    (tmp_path / "fixtures" / "bad" / "tags.json").write_text('{"rows": [{"id": 1, "labels": ["x", 5]}]}')

    await commands.apply(pg_url, project=tags)
    out = io.BytesIO()
    await commands.snapshot(pg_url, out, project=tags)
    lines = out.getvalue().decode().splitlines()
    problems = commands.check(tmp_path / "fixtures" / "bad", project=tags)

    assert lines[1:] == [
        '["tags",{"id":1,"labels":[],"scores":[3,-1]}]',
        '["tags",{"id":2,"labels":["b","a"],"scores":null}]',
    ]
    assert [(p.column, p.message) for p in problems] == [("labels", "array item: expected a string, got 5")]


def test_the_help_names_the_project_without_importing_it(tmp_path: Path) -> None:
    broken = make_project(tmp_path, metadata='"no_such_module_here:metadata"')

    assert "Seed the shop database" in (cli.build_parser(["--project", str(EXAMPLE), "check"]).description or "")
    assert "Seed the cats database" in (cli.build_parser(["--project", str(broken)]).description or "")
    assert "Seed a database" in (cli.build_parser(["--project", str(tmp_path / "missing")]).description or "")


CYCLE_MODELS = """
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

metadata = MetaData()
authors = Table(
    "authors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(40), nullable=False),
    # Not deferrable: the seeder writes it NULL and fills it in once books exist.
    Column("favourite_book_id", Integer, ForeignKey("books.id", name="fk_authors_favourite", use_alter=True)),
)
books = Table(
    "books",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("author_id", Integer, ForeignKey("authors.id", name="fk_books_author"), nullable=False),
)
"""


async def test_a_cycle_without_deferrable_keys_is_seeded_null_then_update(db_url: str, tmp_path: Path) -> None:
    module = f"cfgcycle_{next(_modules)}"
    (tmp_path / f"{module}.py").write_text(CYCLE_MODELS)
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "authors.json").write_text(
        '{"rows": [{"id": 1, "name": "Ann", "favourite_book_id": 11},'
        ' {"id": 2, "name": "Bo", "favourite_book_id": null}]}'
    )
    (tmp_path / "fixtures" / "books.json").write_text(
        '{"rows": [{"id": 10, "author_id": 1}, {"id": 11, "author_id": 2}]}'
    )
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.echelon-seed]\nname = "library"\nmetadata = "{module}:metadata"\n'
        'fixtures = "fixtures"\nsnapshots = "snapshots"\n'
    )
    library = project.resolve(tmp_path)

    result = await commands.apply(db_url, project=library)
    out = io.BytesIO()
    await commands.snapshot(db_url, out, project=library)

    assert result.rows == {"authors": 2, "books": 2}
    assert out.getvalue().decode().splitlines()[1:] == [
        '["authors",{"favourite_book_id":11,"id":1,"name":"Ann"}]',
        '["authors",{"favourite_book_id":null,"id":2,"name":"Bo"}]',
        '["books",{"author_id":1,"id":10}]',
        '["books",{"author_id":2,"id":11}]',
    ]


def test_a_cycle_that_cannot_be_filled_in_later_is_a_clear_error() -> None:
    from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table

    from echelon_seed import cycles

    metadata = MetaData()
    a = Table("a", metadata, Column("id", Integer, primary_key=True), Column("b_id", Integer, ForeignKey("b.id")))
    b = Table("b", metadata, Column("id", Integer, primary_key=True), Column("a_id", Integer, ForeignKey("a.id")))
    a.c.b_id.nullable = False

    with pytest.raises(ConfigError, match=r"a.b_id closes a foreign-key cycle and is NOT NULL"):
        cycles.holdbacks([a, b])
    assert cycles.holdbacks([b, a]).keys() == {"b"}


async def test_the_ignore_key_leaves_columns_out_of_the_golden_file(tmp_path: Path) -> None:
    directory = make_project(tmp_path, ignore='["categories.name"]')
    cats = project.resolve(directory)

    written = await commands.verify(update=True, fresh=True, project=cats)
    checked = await commands.verify(fresh=True, project=cats)

    header, *rows = written.golden.read_text().splitlines()
    assert written.golden == directory / "snapshots" / "cats.snapshot.jsonl"
    assert '"ignore":["categories.name"]' in header
    assert rows == ['["categories",{"id":1,"parent_id":null}]', '["categories",{"id":2,"parent_id":1}]']
    assert checked.matches
