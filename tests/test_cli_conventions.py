"""One convention for every command: what goes where, what --quiet leaves, what start-up costs.

- Results on stdout, progress and notes on stderr, errors as one line on
  stderr; --quiet leaves only errors, on every command.
- Global options (--database-url, --fixtures, --quiet) work before the command too.
- argparse's own errors never echo a password.
- --help, --version and argument errors import nothing heavy (checked in a
  fresh interpreter, through sys.modules).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from echelon_seed import cli, cli_gate
from tests import dbtools

ANCHOR = "2026-01-15T12:00:00Z"
HEAVY = ("sqlalchemy", "alembic", "asyncpg", "aiosqlite", "anyio")
PASSWORD = "S3cr3t-p@ss/wo%rd"


# --- start-up ------------------------------------------------------------------------------------------

_IMPORTED_BY = """
import json, sys
from echelon_seed import cli
try:
    cli.main(json.loads(sys.argv[1]))
except SystemExit:
    pass
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.__stderr__)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["--help"],
        ["apply", "--help"],
        ["verify", "--help"],
        ["apply", "--scale", "0"],
        ["no-such-command"],
        [],
        ["--database-url", "", "apply"],
    ],
    ids=lambda argv: " ".join(argv) or "no-arguments",
)
def test_help_version_and_argument_errors_import_nothing_heavy(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED_BY, json.dumps(argv)],
        cwd=dbtools.ECHELON,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    imported = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "echelon_seed" in imported
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))


# What `--version` and argument errors must not pay for either: typing (a few milliseconds by
# itself), and finding and reading the project's configuration (only --help's description names it).
NOT_AT_START = ("typing", "tomllib", "dataclasses", "hashlib", "echelon_seed.project")


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["apply", "--scale", "0"], ["no-such-command"], ["--database-url", "", "apply"]],
    ids=lambda argv: " ".join(argv),
)
def test_version_and_argument_errors_import_no_typing_and_read_no_project(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED_BY.replace("m.split('.')[0] for m", "m for m"), json.dumps(argv)],
        cwd=dbtools.ECHELON,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    imported = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "echelon_seed.cli" in imported
    assert imported.isdisjoint(NOT_AT_START), sorted(imported & set(NOT_AT_START))


def test_the_help_still_names_the_project_it_would_seed() -> None:
    done = dbtools.run_cli("--help", cwd=dbtools.REPO / "examples" / "shop")

    assert done.returncode == 0, done.stderr
    assert "Seed the shop database deterministically" in " ".join(done.stdout.split())


def test_the_library_api_is_still_there_when_first_used() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, echelon_seed; assert 'sqlalchemy' not in sys.modules; "
            "print(echelon_seed.commands.apply.__name__, echelon_seed.ApplyResult.__name__, "
            "echelon_seed.LockTimeout.__mro__[1].__name__)",
        ],
        cwd=dbtools.ECHELON,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["apply", "ApplyResult", "DatabaseError"]


# --- streams and --quiet --------------------------------------------------------------------------------


def test_quiet_apply_prints_nothing(db_url: str) -> None:
    done = dbtools.run_cli("apply", "--database-url", db_url, "--anchor", ANCHOR, "-q")

    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")


def test_snapshot_to_a_file_says_what_it_wrote_on_stdout_and_nothing_when_quiet(db_url: str, tmp_path: Path) -> None:
    assert dbtools.run_cli("apply", "--database-url", db_url, "--anchor", ANCHOR, "-q").returncode == 0

    loud = dbtools.run_cli("snapshot", "--database-url", db_url, "-o", str(tmp_path / "a.jsonl"))
    quiet = dbtools.run_cli("snapshot", "--database-url", db_url, "-o", str(tmp_path / "b.jsonl"), "-q")

    assert loud.returncode == 0 and quiet.returncode == 0, loud.stderr + quiet.stderr
    assert loud.stdout.startswith(f"wrote {tmp_path / 'a.jsonl'}: 176 rows in 8 tables (sha256:"), loud.stdout
    # Progress of a slow table (a busy machine) is the only thing stderr may hold.
    assert [line for line in loud.stderr.splitlines() if not line.startswith("reading ")] == [], loud.stderr
    assert (quiet.stdout, quiet.stderr) == ("", "")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_verify_quiet_prints_no_ok_line_but_still_shows_differences(db_url: str) -> None:
    assert dbtools.run_cli("apply", "--database-url", db_url, "--anchor", ANCHOR, "-q").returncode == 0

    loud = dbtools.run_cli("verify", "--database-url", db_url)
    quiet = dbtools.run_cli("verify", "--database-url", db_url, "-q")

    assert loud.returncode == 0 and loud.stdout.startswith("OK: 176 rows in 8 tables match "), loud.stdout
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


def test_diff_and_check_schema_print_nothing_when_quiet_and_their_result_otherwise(db_url: str, tmp_path: Path) -> None:
    assert dbtools.run_cli("apply", "--database-url", db_url, "--anchor", ANCHOR, "-q").returncode == 0
    golden = str(dbtools.ECHELON / "snapshots" / "echelon.snapshot.jsonl")

    loud = dbtools.run_cli("diff", golden, db_url)
    quiet = dbtools.run_cli("diff", golden, db_url, "-q")
    before = dbtools.run_cli("-q", "diff", golden, db_url)
    schema = dbtools.run_cli("check", "--schema", cwd=tmp_path)
    schema_quiet = dbtools.run_cli("check", "--schema", "-q", cwd=tmp_path)

    # Without -q a table that takes long to read reports its progress on stderr (a busy machine): nothing else.
    assert loud.returncode == 0, loud.stderr
    assert [line for line in loud.stderr.splitlines() if not line.startswith("reading ")] == [], loud.stderr
    assert loud.stdout.startswith("OK: 176 rows in 8 tables match "), loud.stdout
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert (before.returncode, before.stdout, before.stderr) == (0, "", "")
    assert (schema.returncode, schema.stdout) == (0, "schema OK: the models match what the migrations build\n")
    assert (schema_quiet.returncode, schema_quiet.stdout, schema_quiet.stderr) == (0, "", "")


def test_check_accepts_quiet_and_then_prints_nothing() -> None:
    loud = dbtools.run_cli("check")
    quiet = dbtools.run_cli("check", "-q")
    before = dbtools.run_cli("-q", "check")

    assert (loud.returncode, loud.stdout) == (0, "fixtures OK\n")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert (before.returncode, before.stdout, before.stderr) == (0, "", "")


def test_summaries_use_the_singular_for_one() -> None:
    header: Any = SimpleNamespace(rows={"users": 1}, tables=["users"], digest="sha256:" + "0" * 64)
    many: Any = SimpleNamespace(rows={"users": 2, "agents": 1}, tables=["users", "agents"], digest="sha256:" + "1" * 64)

    assert cli._summary(header).startswith("1 row in 1 table (sha256:")  # noqa: SLF001
    assert cli._summary(many).startswith("3 rows in 2 tables (sha256:")  # noqa: SLF001


# --- options before the command -------------------------------------------------------------------------


async def test_global_options_are_accepted_before_the_command(db_url: str, tmp_path: Path) -> None:
    done = dbtools.run_cli("--database-url", db_url, "apply", "--anchor", ANCHOR, cwd=tmp_path)
    quiet = dbtools.run_cli("--database-url", db_url, "-q", "verify")

    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "dev.db").exists()
    assert (await dbtools.row_counts(db_url))["users"] == 5
    assert (quiet.returncode, quiet.stdout) == (0, ""), quiet.stderr


def test_an_option_after_the_command_wins_over_the_same_one_before(db_url: str, tmp_path: Path) -> None:
    decoy = f"sqlite:///{tmp_path / 'decoy.db'}"

    done = dbtools.run_cli("--database-url", decoy, "apply", "--database-url", db_url, "--anchor", ANCHOR, "-q")

    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "decoy.db").exists()


def test_check_refuses_a_database_url_before_the_command() -> None:
    done = dbtools.run_cli("--database-url", "sqlite:///./x.db", "check")

    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "echelon-seed: error: check takes no --database-url"


# --- argparse never echoes a password --------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["apply", "--databse-url", f"postgresql://u:{PASSWORD}@db.example.com/app"],
        ["apply", f"postgresql://u:{PASSWORD}@db.example.com/app"],
        [f"postgresql://u:{PASSWORD}@db.example.com/app", "apply"],
        ["--database-url", f"postgresql://u:{PASSWORD}@db.example.com/app", "aply"],
        ["--databse-url=postgresql://u:p%40ss@db.example.com/app?password=" + PASSWORD, "apply"],
        ["apply", "--scale", "x", f"postgresql://user:{PASSWORD}@h/db"],
    ],
    ids=["misspelt-option", "stray-positional", "positional-before-command", "bad-command", "query-password", "mixed"],
)
def test_argument_errors_never_echo_a_password(argv: list[str]) -> None:
    done = dbtools.run_cli(*argv)

    assert done.returncode == 2
    said = done.stdout + done.stderr
    for form in (PASSWORD, "p@ss/wo%rd", "p%40ss", "wo%rd"):
        assert form not in said, said
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("echelon-seed") and ": error: " in last, done.stderr


def test_the_scrubbed_argument_error_still_names_the_url_and_the_problem() -> None:
    done = dbtools.run_cli("apply", "--databse-url", f"postgresql://u:{PASSWORD}@db.example.com/app")

    last = done.stderr.strip().splitlines()[-1]
    assert last == "echelon-seed: error: unrecognized arguments: --databse-url postgresql://u:***@db.example.com/app"


# --- messages that say what to do -----------------------------------------------------------------------


def test_an_empty_database_url_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    done = dbtools.run_cli("apply", "--database-url", "", cwd=tmp_path, database_url=f"sqlite:///{tmp_path / 'e.db'}")

    assert done.returncode == 2
    assert "--database-url is empty" in done.stderr.strip().splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


def test_confirm_without_force_is_an_error(sqlite_url: str) -> None:
    done = dbtools.run_cli("apply", "--database-url", sqlite_url, "--confirm", "prod")

    assert done.returncode == 2
    assert (
        done.stderr == "echelon-seed: error: --confirm is only used with --force; add --force, or leave --confirm out\n"
    )
    assert not dbtools.database_exists(sqlite_url)


def test_snapshot_into_a_missing_directory_is_an_error_and_creates_nothing(db_url: str, tmp_path: Path) -> None:
    assert dbtools.run_cli("apply", "--database-url", db_url, "--anchor", ANCHOR, "-q").returncode == 0
    target = tmp_path / "no" / "such" / "dir" / "x.jsonl"

    done = dbtools.run_cli("snapshot", "--database-url", db_url, "-o", str(target))

    assert done.returncode == 2
    assert done.stderr == (
        f"echelon-seed: error: cannot write {target}: the directory {target.parent} does not exist (create it first)\n"
    )
    assert not (tmp_path / "no").exists()


def test_a_relative_sqlite_path_in_a_missing_directory_says_how_to_write_an_absolute_one(tmp_path: Path) -> None:
    for verb in (["apply"], ["snapshot"]):
        done = dbtools.run_cli(*verb, "--database-url", "sqlite:///tmp/x.db", cwd=tmp_path)

        assert done.returncode == 2, done.stderr
        assert done.stderr == (
            "echelon-seed: error: cannot open sqlite:///tmp/x.db: the directory tmp does not exist; "
            "sqlite:///tmp/x.db is relative to the current directory; for an absolute path write sqlite:////tmp/x.db\n"
        )
    assert list(tmp_path.iterdir()) == []


def test_diff_says_the_same_about_a_relative_sqlite_path_and_an_empty_side(tmp_path: Path) -> None:
    golden = str(dbtools.ECHELON / "snapshots" / "echelon.snapshot.jsonl")

    relative = dbtools.run_cli("diff", "sqlite:///tmp/x.db", golden, cwd=tmp_path)
    empty = dbtools.run_cli("diff", golden, "", cwd=tmp_path)

    assert relative.returncode == 2 and relative.stderr.endswith(
        "sqlite:///tmp/x.db is relative to the current directory; for an absolute path write sqlite:////tmp/x.db\n"
    ), relative.stderr
    assert (empty.returncode, empty.stderr) == (
        2,
        "echelon-seed: error: B is empty; give a database URL or a snapshot file\n",
    )
    assert list(tmp_path.iterdir()) == []


def test_an_absolute_sqlite_path_in_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "x.db"

    done = dbtools.run_cli("apply", "--database-url", f"sqlite:///{target}")

    assert done.returncode == 2
    assert done.stderr == (
        f"echelon-seed: error: cannot open sqlite:///{target}: the directory {target.parent} does not exist "
        "(create it first)\n"
    )
    assert not target.parent.exists()


def test_a_relative_path_to_a_database_that_exists_at_the_absolute_path_says_so(tmp_path: Path) -> None:
    absolute = tmp_path / "seeded.db"
    assert dbtools.run_cli("apply", "--database-url", f"sqlite:///{absolute}", "-q").returncode == 0
    relative = str(absolute).lstrip("/")

    done = dbtools.run_cli("verify", "--database-url", f"sqlite:///{relative}", cwd=Path("/"))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / Path(relative).parent).mkdir(parents=True)
    missing = dbtools.run_cli("verify", "--database-url", f"sqlite:///{relative}", cwd=elsewhere)

    assert done.returncode == 0, done.stderr  # from / the relative path is the absolute one
    assert missing.returncode == 2
    assert missing.stderr.endswith(
        f"sqlite:///{relative} is relative to the current directory; for an absolute path write sqlite:////{relative}\n"
    ), missing.stderr


def test_fixtures_that_is_a_file_is_said_to_be_no_directory() -> None:
    done = dbtools.run_cli("check", "--fixtures", "/etc/passwd")

    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "echelon-seed check: error: argument --fixtures: /etc/passwd is not a directory; "
        "give the directory that holds the table files"
    )


async def test_another_applications_alembic_version_is_named_as_a_possibility(db_url: str) -> None:
    # echelon-seed's own version table at a revision its migrations do not know (a user's plain
    # alembic_version is an ordinary table of theirs, see test_example_project).
    await dbtools.execute(
        db_url,
        "CREATE TABLE echelon_seed_alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        "INSERT INTO echelon_seed_alembic_version VALUES ('9f1c2e7a0b3d')",
    )

    done = dbtools.run_cli("apply", "--database-url", db_url)

    assert done.returncode == 2
    assert "or is this another application's database?" in done.stderr
    assert done.stderr.count("\n") == 1


def test_alembic_upgrade_head_logs_each_migration_it_runs(db_url: str) -> None:
    first = dbtools.run_cli("upgrade", "head", module="alembic", database_url=db_url)
    again = dbtools.run_cli("upgrade", "head", module="alembic", database_url=db_url)

    assert first.returncode == 0, first.stderr
    assert "Running upgrade  -> 0001, " in first.stderr, first.stderr
    assert again.returncode == 0 and "Running upgrade" not in again.stderr, again.stderr


def test_apply_does_not_print_alembics_log_lines(sqlite_url: str) -> None:
    done = dbtools.run_cli("apply", "--database-url", sqlite_url)

    assert done.returncode == 0, done.stderr
    assert "Running upgrade" not in done.stderr + done.stdout


def test_the_help_names_the_real_number_of_examples_verify_prints() -> None:
    from echelon_seed import diff

    assert cli_gate.DIFF_LIMIT == diff.DEFAULT_LIMIT


# --- --help: each command's own examples and exit codes ----------------------------------------------------


def _help_sections(verb: str) -> dict[str, list[str]]:
    done = dbtools.run_cli(verb, "--help")
    assert done.returncode == 0, done.stderr
    sections: dict[str, list[str]] = {}
    current = None
    for line in done.stdout.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            current = line[:-1]
            sections[current] = []
        elif current is not None and line.strip():
            sections[current].append(line)
    return sections


@pytest.mark.parametrize("verb", list(cli._COMMANDS))  # noqa: SLF001
def test_each_help_has_examples_that_parse_and_its_own_exit_codes(verb: str) -> None:
    import shlex

    sections = _help_sections(verb)
    examples = [line.strip() for line in sections["examples"] if line.startswith("  echelon-seed ")]

    assert len(examples) >= 2, sections["examples"]
    for example in examples:
        argv = [word if not word.startswith("$") else "sqlite:///./x.db" for word in shlex.split(example)]
        assert argv[:2] == ["echelon-seed", verb], example
        if "|" in argv or ">" in argv:
            argv = argv[: min(argv.index(s) for s in ("|", ">") if s in argv)]
        cli.build_parser(argv[1:]).parse_args(argv[1:])  # an example with a wrong option raises SystemExit
    exits = " ".join(line.strip() for line in sections["exit codes"])
    assert exits.startswith("0 "), exits
    # Only the gate commands can exit 1; the others must not say they might.
    assert ("1 the database differs" in exits) == (verb in ("verify", "diff")), exits
