"""The no-op `apply` through the stamp: fast when nothing changed, and never where the full path would differ.

Each case seeds a SQLite file through the command line, makes one change,
and runs `apply` again. A hit must print what the full path prints; after
any change the full path must decide. The commands run in this process
(`dbtools.run_cli`), which tells the full path by its call of
`commands.apply`; the first test runs them in child processes instead,
because there the claim is the process's own: a hit never loads SQLAlchemy.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands
from tests import dbtools

# Runs the CLI in a fresh interpreter, then says whether the full path (SQLAlchemy) was loaded.
_PROBE = """
import sys
from echelon_seed import cli
code = cli.main(sys.argv[1:])
print(f"probe exit={code} full={'sqlalchemy' in sys.modules}")
"""
EXAMPLE = dbtools.REPO / "examples" / "shop"


class Run:
    def __init__(self, code: int, out: str, err: str, full: bool) -> None:
        self.exit, self.out, self.err, self.full = code, out, err, full


def _url(db: Path | str) -> str:
    return db if isinstance(db, str) else f"sqlite:///{db}"


def apply_in_child(cwd: Path, db: Path | str, *args: str) -> Run:
    """`echelon-seed apply` into `db` in a fresh interpreter; `full` says whether it loaded SQLAlchemy."""
    child_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("ECHELON_SEED_")}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "apply", "--database-url", _url(db), *args],
        cwd=cwd,
        env=child_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    *lines, last = done.stdout.splitlines() or ["probe exit=? full=?"]
    code = int(last.split()[1].removeprefix("exit=")) if last.startswith("probe") else done.returncode
    return Run(code, "\n".join(lines), done.stderr, last.endswith("full=True"))


@pytest.fixture
def apply(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`echelon-seed apply` into `db` (a SQLite file or a URL), run from `cwd`; `full` says if the full path ran.

    The command line's `apply` takes the full path by calling `commands.apply`,
    which is wrapped here to count the calls (and still does all its work).
    """
    calls: list[object] = []
    real = commands.apply

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return await real(*args, **kwargs)

    monkeypatch.setattr(commands, "apply", counted)

    def run(cwd: Path, db: Path | str, *args: str) -> Run:
        before = len(calls)
        done = dbtools.run_cli("apply", "--database-url", _url(db), *args, cwd=cwd)
        return Run(done.returncode, done.stdout.rstrip("\n"), done.stderr, len(calls) > before)

    yield run


def _working_directory(tmp_path: Path) -> tuple[Path, Path, Path]:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(dbtools.ECHELON / "data", fixtures)
    return tmp_path, fixtures, tmp_path / "dev.db"


@pytest.fixture
def seeded(tmp_path: Path, apply: Any) -> tuple[Path, Path, Path]:
    """A working directory without a configuration, a copy of Echelon's fixtures, and a database seeded from them."""
    cwd, fixtures, db = _working_directory(tmp_path)
    first = apply(cwd, db, "--fixtures", str(fixtures))
    assert (first.exit, first.full) == (0, True), first.err
    return cwd, fixtures, db


def test_an_unchanged_seed_is_reported_without_sqlalchemy_exactly_as_the_full_path_says_it(tmp_path: Path) -> None:
    # Every run in a fresh interpreter: the stamp a child wrote vouches for a child's own modules and path.
    cwd, fixtures, db = _working_directory(tmp_path)
    first = apply_in_child(cwd, db, "--fixtures", str(fixtures))
    fast = apply_in_child(cwd, db, "--fixtures", str(fixtures))
    quiet = apply_in_child(cwd, db, "--fixtures", str(fixtures), "-q")
    # The full path's word on the same database: the stamp gone, it must decide (and renews the stamp).
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM echelon_seed_stamp")
    full = apply_in_child(cwd, db, "--fixtures", str(fixtures))
    renewed = apply_in_child(cwd, db, "--fixtures", str(fixtures))

    assert (first.exit, first.full) == (0, True), first.err

    assert (fast.exit, fast.full) == (0, False), fast.err
    assert (quiet.exit, quiet.full, quiet.out, quiet.err) == (0, False, "", "")
    assert (full.exit, full.full) == (0, True), full.err
    assert fast.out == full.out
    assert fast.out.startswith("already seeded (fixtures sha256:")
    assert (renewed.exit, renewed.full) == (0, False)


async def test_postgresql_keeps_and_checks_the_stamp_too(tmp_path: Path, pg_url: str, apply: Any) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(dbtools.ECHELON / "data", fixtures)
    seeded = apply(tmp_path, pg_url, "--fixtures", str(fixtures))
    fast = apply(tmp_path, pg_url, "--fixtures", str(fixtures))
    await dbtools.execute(pg_url, "UPDATE echelon_seed_runs SET scale = 3")
    changed = apply(tmp_path, pg_url, "--fixtures", str(fixtures))
    await dbtools.execute(pg_url, "UPDATE echelon_seed_runs SET scale = 1")
    restored = apply(tmp_path, pg_url, "--fixtures", str(fixtures))
    _edit_fixture(fixtures, tmp_path)
    edited = apply(tmp_path, pg_url, "--fixtures", str(fixtures))

    assert (seeded.exit, seeded.full, fast.exit, fast.full) == (0, True, 0, False), seeded.err + fast.err
    assert fast.out.startswith("already seeded (fixtures sha256:")
    assert (changed.exit, changed.full) == (2, True) and "refusing to seed" in changed.err
    assert (restored.exit, restored.full, restored.out) == (0, False, fast.out)
    assert (edited.exit, edited.full) == (2, True) and "refusing to seed" in edited.err


def _edit_fixture(fixtures: Path, db: Path) -> None:
    users = json.loads((fixtures / "users.json").read_text())
    users["rows"][0]["bio"] = "edited after seeding"
    (fixtures / "users.json").write_text(json.dumps(users))


def _remove_fixture(fixtures: Path, db: Path) -> None:
    (fixtures / "price_history.json").unlink()


def _add_hidden_fixture(fixtures: Path, db: Path) -> None:
    (fixtures / ".users.json").write_text("{}")


def _alter_record(fixtures: Path, db: Path) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE echelon_seed_runs SET fixture_digest = 'sha256:0000'")


def _alter_revision(fixtures: Path, db: Path) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE echelon_seed_alembic_version SET version_num = 'ffff'")


def _drop_table(fixtures: Path, db: Path) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("DROP TABLE timeline_links")


def _stamp_names_a_fifo(fixtures: Path, db: Path) -> None:
    """A stamp whose file list was tampered with must neither hang on a FIFO nor count as a hit."""
    fifo = db.parent / "fifo"
    os.mkfifo(fifo)
    with sqlite3.connect(db) as connection:
        key, inputs = connection.execute("SELECT key, inputs FROM echelon_seed_stamp").fetchone()
        recorded = json.loads(inputs)
        recorded["files"].append(str(fifo))
        connection.execute("UPDATE echelon_seed_stamp SET inputs = ?", (json.dumps(recorded),))


@pytest.mark.parametrize(
    ("change", "exit_code", "says"),
    [
        (_edit_fixture, 2, "refusing to seed"),
        (_remove_fixture, 2, "refusing to seed"),
        (_add_hidden_fixture, 2, "no seeded table is called '.users'"),
        (_alter_record, 2, "refusing to seed"),
        (_alter_revision, 2, "which these migrations do not know"),
        (_drop_table, 2, "after them the database has no table timeline_links"),
        (_stamp_names_a_fifo, 0, "already seeded"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_after_a_change_the_full_path_decides(
    seeded: tuple[Path, Path, Path], change: object, exit_code: int, says: str, apply: Any
) -> None:
    cwd, fixtures, db = seeded
    change(fixtures, db)  # type: ignore[operator]

    again = apply(cwd, db, "--fixtures", str(fixtures))

    assert again.full, "the stamp answered after a change"
    assert again.exit == exit_code, again.err
    assert says in again.out + again.err


@pytest.mark.parametrize(
    "options",
    [["--scale", "2"], ["--force"], ["--anchor", "2026-01-01T00:00:00Z"], ["--allow-large"]],
    ids=["scale", "force", "anchor", "allow-large"],
)
def test_other_options_take_the_full_path(seeded: tuple[Path, Path, Path], options: list[str], apply: Any) -> None:
    cwd, fixtures, db = seeded

    again = apply(cwd, db, "--fixtures", str(fixtures), *options)

    assert again.full


def test_the_same_fixtures_elsewhere_take_the_full_path_then_are_stamped(
    seeded: tuple[Path, Path, Path], apply: Any
) -> None:
    cwd, fixtures, db = seeded
    elsewhere = cwd / "copy"
    shutil.copytree(fixtures, elsewhere)

    first = apply(cwd, db, "--fixtures", str(elsewhere))
    second = apply(cwd, db, "--fixtures", str(elsewhere))

    assert (first.exit, first.full, second.exit, second.full) == (0, True, 0, False)


def test_a_locked_database_is_left_to_the_full_path(seeded: tuple[Path, Path, Path], apply: Any) -> None:
    cwd, fixtures, db = seeded
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        again = apply(cwd, db, "--fixtures", str(fixtures), "--lock-timeout", "0.2")
    finally:
        holder.close()

    assert again.full
    assert again.exit != 0


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A copy of the example project: its models, migrations and fixtures are ours to edit."""
    copy = tmp_path / "shop"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    return copy


@pytest.mark.parametrize(
    ("edit", "exit_code"),
    [
        ("shop/models.py", 0),  # a comment: the same schema, so the full path says unchanged
        ("shop/seed_generators.py", 2),  # its code is part of the seed: another seed, refused without --force
        ("migrations/versions/0001_shop.py", 0),
        ("pyproject.toml", 0),
    ],
)
def test_a_project_whose_code_or_configuration_changed_takes_the_full_path(
    shop: Path, edit: str, exit_code: int, apply: Any
) -> None:
    db = shop / "shop.db"
    seeded = apply(shop, db)
    hit = apply(shop, db)
    with (shop / edit).open("a") as handle:
        handle.write("\n# edited after seeding\n")

    again = apply(shop, db)
    stamped = apply(shop, db)

    assert (seeded.exit, seeded.full, hit.exit, hit.full) == (0, True, 0, False), seeded.err + hit.err
    assert (again.exit, again.full) == (exit_code, True), again.err
    # A refusal leaves no stamp: the next apply takes the full path and is refused again.
    assert (stamped.exit, stamped.full) == ((0, False) if exit_code == 0 else (exit_code, True))


def test_a_full_no_op_leaves_an_unchanged_stamp_alone(seeded: tuple[Path, Path, Path], apply: Any) -> None:
    cwd, fixtures, db = seeded
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE watch (n INTEGER)")
        connection.execute(
            "CREATE TRIGGER written AFTER INSERT ON echelon_seed_stamp BEGIN INSERT INTO watch VALUES (1); END"
        )
    # --anchor takes the full path, which finds the same seed and the same stamp.
    same = apply(cwd, db, "--fixtures", str(fixtures), "--anchor", "2026-01-01T00:00:00Z")
    with sqlite3.connect(db) as connection:
        writes_when_same = connection.execute("SELECT count(*) FROM watch").fetchone()[0]
        connection.execute("UPDATE echelon_seed_stamp SET key = 'sha256:stale'")
    renewed = apply(cwd, db, "--fixtures", str(fixtures), "--anchor", "2026-01-01T00:00:00Z")
    with sqlite3.connect(db) as connection:
        writes_when_stale = connection.execute("SELECT count(*) FROM watch").fetchone()[0]

    assert (same.exit, same.full, renewed.exit, renewed.full) == (0, True, 0, True), same.err + renewed.err
    assert (writes_when_same, writes_when_stale) == (0, 1)


def test_an_upgraded_installed_package_changes_the_digest(tmp_path: Path) -> None:
    """Installed code is covered by its *.dist-info names: pip renames them on an upgrade."""
    import sysconfig

    from echelon_seed import stamp

    run = stamp.Inputs(config="", fixtures=str(dbtools.ECHELON / "data"), scale=1, allow_large=False)
    files, listings = stamp.inputs(run, migrations=None, modules=[])
    site = tmp_path / "site-packages"
    (site / "SQLAlchemy-2.1.9.dist-info").mkdir(parents=True)
    before = stamp.digest(run, files, [*listings, (str(site), ".dist-info")])
    (site / "SQLAlchemy-2.1.9.dist-info").rename(site / "SQLAlchemy-2.1.10.dist-info")
    after = stamp.digest(run, files, [*listings, (str(site), ".dist-info")])

    assert (os.path.realpath(sysconfig.get_paths()["purelib"]), ".dist-info") in listings
    assert before is not None and after is not None and before != after
