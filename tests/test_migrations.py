"""The migrations build exactly `schema.metadata`, from apply and from the `alembic` command.

Alembic's autogenerate comparison (with type comparison on) between a
migrated database and `echelon_project.schema.metadata` must find nothing on
either engine; `alembic upgrade head` run from the repository root with
DATABASE_URL must leave a schema that `echelon-seed apply` seeds without
migrating again; `alembic downgrade base` must remove every table, and on
PostgreSQL the enum types too.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from echelon_project import schema
from sqlalchemy import Column, MetaData, String
from sqlalchemy.engine import Connection

from echelon_seed import commands, engines, migrate, tool_tables
from echelon_seed import project as projects
from tests import dbtools

SCHEMA_TABLES = {t.name for t in schema.metadata.sorted_tables}
#: The tables echelon-seed keeps for itself beside the schema (not the migrations' business).
TOOL_TABLES = tool_tables.TOOL_TABLES
ENUM_TYPES = {
    "user_tier",
    "agent_archetype",
    "flap_type",
    "flap_direction",
    "paradox_status",
    "paradox_severity",
    "position_side",
}


def _differences(connection: Connection, metadata: MetaData) -> list[Any]:
    def ours(name: str | None, type_: str, _parent: Any) -> bool:
        return not (type_ == "table" and name in TOOL_TABLES)

    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": ours})
    return list(compare_metadata(context, metadata))


async def differences(url: str, metadata: MetaData = schema.metadata) -> list[Any]:
    """What autogenerate would change to make the database match `metadata`."""
    database = engines.open_database(url, write=False)
    try:
        async with database.transaction() as conn:
            return await conn.run_sync(_differences, metadata)
    finally:
        await database.dispose()


def metadata_with_an_extra_column() -> MetaData:
    """A copy of the schema whose users table has one more column than the migrations make."""
    copy = MetaData(naming_convention=schema.metadata.naming_convention)
    for table in schema.metadata.sorted_tables:
        table.to_metadata(copy)
    copy.tables["users"].append_column(Column("nickname", String(20), nullable=True))
    return copy


async def test_upgrade_inside_a_transaction_builds_exactly_the_schema(db_url: str) -> None:
    database = engines.open_database(db_url, write=True)
    try:
        async with database.transaction() as conn:
            result = await migrate.upgrade(conn)
            found = await conn.run_sync(_differences, schema.metadata)
    finally:
        await database.dispose()

    assert (result.before, result.after, result.applied) == (None, migrate.head_revision(), 1)
    assert found == []


async def test_schema_after_apply_matches_the_metadata(db_url: str) -> None:
    await commands.apply(db_url)

    assert await dbtools.table_names(db_url) == SCHEMA_TABLES | TOOL_TABLES
    assert await differences(db_url) == []


async def test_comparison_notices_a_column_the_migrations_lack(db_url: str) -> None:
    """The empty comparisons above are not vacuous: a one-column drift is seen."""
    await commands.apply(db_url)

    found = await differences(db_url, metadata_with_an_extra_column())

    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "users", "nickname")]


async def test_alembic_cli_upgrade_head_then_echelon_seed_apply_seeds(db_url: str) -> None:
    upgraded = dbtools.run_cli("upgrade", "head", module="alembic", database_url=db_url)

    assert upgraded.returncode == 0, upgraded.stderr
    assert await dbtools.table_names(db_url) == SCHEMA_TABLES | {migrate.VERSION_TABLE}
    assert await differences(db_url) == []
    assert set((await dbtools.row_counts(db_url)).values()) == {0}
    assert await dbtools.table_rows(db_url, migrate.VERSION_TABLE) == [(migrate.head_revision(),)]

    seeded = dbtools.run_cli("apply", database_url=db_url)

    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.startswith("seeded ")
    assert "(up to date)" in seeded.stdout
    counts = await dbtools.row_counts(db_url)
    assert (counts["users"], counts["agents"], counts["wing_flaps"], counts["echelon_seed_runs"]) == (5, 12, 75, 1)


async def test_alembic_cli_downgrade_base_removes_every_table(db_url: str, engine_name: str) -> None:
    assert dbtools.run_cli("apply", database_url=db_url).returncode == 0
    if engine_name == "postgresql":
        assert await dbtools.enum_types(db_url) == ENUM_TYPES

    downgraded = dbtools.run_cli("downgrade", "base", module="alembic", database_url=db_url)

    assert downgraded.returncode == 0, downgraded.stderr
    # Alembic keeps its own (now empty) version table; every table of the schema is gone.
    assert await dbtools.table_names(db_url) == TOOL_TABLES  # echelon-seed's own record stays
    assert await dbtools.table_rows(db_url, migrate.VERSION_TABLE) == []
    if engine_name == "postgresql":
        assert await dbtools.enum_types(db_url) == set()


async def test_apply_after_downgrade_migrates_and_seeds_again(db_url: str) -> None:
    assert dbtools.run_cli("apply", database_url=db_url).returncode == 0
    assert dbtools.run_cli("downgrade", "base", module="alembic", database_url=db_url).returncode == 0

    result = await commands.apply(db_url)

    assert (result.action, result.migration.applied) == ("seeded", 1)
    assert await differences(db_url) == []


def test_alembic_cli_never_prints_the_password(pg_url: str) -> None:
    password = urlsplit(pg_url).password or ""
    assert password, "the test server's URL has a password"

    runs = [
        dbtools.run_cli(*verb, module="alembic", database_url=pg_url)
        for verb in (("upgrade", "head"), ("downgrade", "base"))
    ]

    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    for done in runs:
        for secret in (password, unquote(password)):
            assert secret not in done.stdout + done.stderr


# --- the schema already at head: a no-op apply needs no Alembic -------------------------------------------

_MODULES_AFTER = """
import importlib, json, sys
from echelon_seed import cli
code = cli.main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'asyncpg', 'pygments'))
try:  # what the highlighter's block leaves behind: nothing, the plugin imports as before
    importlib.import_module('mako.ext.pygmentplugin')
    plugin = 'importable'
except ImportError as exc:
    plugin = str(exc)
print(json.dumps([code, loaded, plugin]), file=sys.__stderr__)
"""


def test_a_no_op_apply_does_not_import_alembic_but_a_real_one_does(db_url: str, engine_name: str) -> None:
    def apply() -> tuple[int, list[str]]:
        done = subprocess.run(
            [sys.executable, "-c", _MODULES_AFTER, "apply", "--database-url", db_url, "-q"],
            cwd=dbtools.ECHELON,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        code, modules, plugin = json.loads(done.stderr.strip().splitlines()[-1])
        plugins.append(plugin)
        return code, modules

    plugins: list[str] = []
    first, again = apply(), apply()

    assert first[0] == 0 and "alembic.runtime.migration" in first[1]  # it migrated: Alembic ran
    # ... without the syntax highlighter Mako would have loaded with it (half of Alembic's import),
    # and without leaving Mako's plugin unimportable for anyone after it.
    assert [m for m in first[1] if m.startswith("pygments")] == []
    if importlib.util.find_spec("pygments") is not None:
        assert plugins == ["importable", "importable"]
    assert again[0] == 0
    # Already seeded: the revision files were read, Alembic never imported (nor, on SQLite, asyncpg).
    assert [m for m in again[1] if m.startswith("alembic")] == []
    if engine_name == "sqlite":
        assert first[1] == sorted(m for m in first[1] if m.startswith("alembic")) and again[1] == []


def _revision(directory: Path, name: str, text: str) -> None:
    (directory / "versions").mkdir(parents=True, exist_ok=True)
    (directory / "versions" / name).write_text(text, encoding="utf-8")


def _alembic_head(directory: Path) -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(directory))
    return ScriptDirectory.from_config(config).get_current_head()


def test_the_stated_head_is_alembics_head_for_plain_revision_files(tmp_path: Path) -> None:
    (tmp_path / "script.py.mako").write_text("", encoding="utf-8")
    _revision(tmp_path, "a.py", 'revision = "aaa"\ndown_revision = None\n')
    _revision(tmp_path, "b.py", 'revision: str = "bbb"\ndown_revision: str | None = "aaa"\n')
    _revision(tmp_path, "c.py", "revision = 'ccc'\ndown_revision = ('bbb',)\nbranch_labels = None\n")
    _revision(tmp_path, "__init__.py", 'revision = "not a revision file"\n')

    assert migrate._stated_head(tmp_path) == _alembic_head(tmp_path) == "ccc"  # noqa: SLF001
    for project in (projects.echelon(), projects.load(projects.find(dbtools.REPO / "examples" / "shop"))):
        assert project.migrations is not None
        assert migrate._stated_head(project.migrations) == migrate.head_revision(project)  # noqa: SLF001


@pytest.mark.parametrize(
    "second",
    [
        'revision = "b" + "b"\ndown_revision = "aaa"\n',  # computed: only importing it tells
        'revision = "bbb"\ndown_revision = "aaa"\ndepends_on = "xyz"\n',  # dependencies: Alembic's rules
        'revision = "bbb"\ndown_revision = None\n',  # two heads
        'revision = "aaa"\ndown_revision = None\n',  # the same revision twice
        'down_revision = "aaa"\n',  # no revision
        'revision = "bbb"\ndown_revision = "zzz"\n',  # a parent no file states
        "revision = 'bbb\n",  # not Python
    ],
    ids=["computed", "depends-on", "two-heads", "duplicate", "no-revision", "unknown-parent", "syntax-error"],
)
def test_whatever_the_stated_head_does_not_understand_is_left_to_alembic(tmp_path: Path, second: str) -> None:
    _revision(tmp_path, "a.py", 'revision = "aaa"\ndown_revision = None\n')
    _revision(tmp_path, "b.py", second)

    assert migrate._stated_head(tmp_path) is None  # noqa: SLF001
