"""The `echelon-seed` command: options in, one call to `commands`, a few lines out, an exit code.

Exit codes: 0 success (verify: the database matches the golden file),
1 verify found differences, 2 any error, 128+N interrupted by signal N.

Output convention, the same for every command: results on stdout; progress
and notes on stderr; an error is one line on stderr ("echelon-seed: error:
..."), never a traceback (ECHELON_SEED_DEBUG=1 shows one, scrubbed of
passwords); --quiet leaves only errors (and verify's differences, which are
its result).

Start-up is part of the interface: this module imports only the standard
library and the package's light modules, so --help, --version and argument
errors answer at once; each command imports what it needs when it runs.
SIGINT/SIGTERM are handled from the first line of `main` (see `cli_signals.Signals`).
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence

from . import cli_cache as _cache
from . import cli_export as _io
from . import cli_gate as _gate
from .cli_options import NOTED as _NOTED
from .cli_options import add_allow_large as _add_allow_large
from .cli_options import anchor as _anchor
from .cli_options import check_sqlite_path as _check_sqlite_path
from .cli_options import directory as _directory
from .cli_options import note_for_stamp as _note_for_stamp
from .cli_options import path as _path
from .cli_options import plural as _plural
from .cli_options import positive as _positive
from .cli_options import project as _project
from .cli_options import seconds as _seconds
from .cli_options import summary as _summary
from .cli_options import target as _target
from .cli_signals import SIGNALS as _SIGNALS
from .cli_signals import STARTUP_INTERRUPTED_LINE as _STARTUP_INTERRUPTED_LINE
from .cli_signals import begin as _begin
from .cli_signals import end_progress as _end_progress
from .cli_signals import reporter as _reporter
from .version import __version__

# typing costs a few milliseconds of every start-up and is needed only by type checkers.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from . import commands

__all__ = ["build_parser", "main"]

# Each command's --help ends with its examples, where its database comes from, and its own exit codes.
_OUTPUT = """\
output:
  results on stdout, progress and notes on stderr, errors as one line on stderr;
  --quiet leaves only errors{and_diffs}. Options may also come before the command."""
_URLS = "Plain sqlite:/// and postgresql:// URLs are accepted; passwords are never printed."
_READ = f"--database-url, else $DATABASE_URL, else sqlite:///./dev.db (only read). {_URLS}"
_WRITE = f"--database-url, else $DATABASE_URL, else sqlite:///./dev.db. {_URLS}"

_FRESH = (
    "--database-url, else $DATABASE_URL when set, else a fresh temporary SQLite database seeded from the "
    f"fixtures (--fresh: always the fresh one). {_URLS}"
)
_GATE_EXITS = (
    "0 the digests are equal; 1 the database differs (rows or schema; how it was seeded is a note); 2 error: unreachable, "
    "empty or unmigrated database, not seeded by echelon-seed, unreadable or inconsistent golden file, "
    "bad option; 130/143 interrupted"
)


def _epilog(examples: Sequence[tuple[str, str]], database: str | None, exits: str, *, and_diffs: bool = False) -> str:
    """The text under a command's options: examples first, as a reader looks for them."""
    import textwrap

    lines = ["examples:"]
    for command_line, meaning in examples:
        lines += [f"  {command_line}", *textwrap.wrap(meaning, 86, initial_indent="      ", subsequent_indent="      ")]
    if database is not None:
        lines += ["database:", *textwrap.wrap(database, 86, initial_indent="  ", subsequent_indent="  ")]
    lines += _OUTPUT.format(and_diffs=" (and the differences)" if and_diffs else "").splitlines()
    lines += ["exit codes:", *textwrap.wrap(exits, 86, initial_indent="  ", subsequent_indent="  ")]
    return "\n".join(lines) + "\n"


# --- secrets in argparse's messages ---------------------------------------------------------------------


def _scrub(text: str) -> str:
    """Hide every URL's password and `password=` value in `text`, by structure alone (`urls.scrub`).

    argparse echoes what it could not use (`--databse-url URL`, a stray URL);
    its message is scrubbed before it is printed. A password is always in a
    userinfo (before an '@') or a `password` pair, so text with neither is
    returned as it is, without importing `urls` (its dataclasses and typing
    cost start-up).
    """
    if "@" not in text and "password" not in text.lower():
        return text  # no userinfo and no password pair, so no secret: the parser's import is not needed
    from . import urls

    return urls.scrub(text)


class _Parser(argparse.ArgumentParser):
    """argparse, with its error line scrubbed of passwords and a description made when first read.

    The top-level description names the project, which means finding and
    reading its configuration: only --help needs that, so --version and
    argument errors do not pay for it.
    """

    describe: Callable[[], str] | None = None

    @property
    def description(self) -> str | None:
        if self.describe is not None:
            self._description: str | None = self.describe()
            self.describe = None
        return self._description

    @description.setter
    def description(self, value: str | None) -> None:
        self._description = value

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {_scrub(message)}\n")


# Options that may be given before the command as well as after it. SUPPRESS as the
# default keeps one given before the command from being overwritten by the command's
# own (absent) default; `_defaults` fills them in afterwards.
_GLOBAL = ("database_url", "fixtures", "quiet", "project")


_DATABASE_HELP = "database to use (default: $DATABASE_URL or sqlite:///./dev.db)"


def _global_options(
    parser: argparse.ArgumentParser, *, database: bool, fixtures: bool, database_help: str = _DATABASE_HELP
) -> None:
    if database:
        parser.add_argument("--database-url", metavar="URL", default=argparse.SUPPRESS, help=database_help)
    if fixtures:
        parser.add_argument(
            "--fixtures",
            metavar="DIR",
            type=_directory,
            default=argparse.SUPPRESS,
            help="fixture directory (default: the project's fixtures)",
        )
    parser.add_argument(
        "--project",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the project: a directory or pyproject.toml with [tool.echelon-seed] (default: $ECHELON_SEED_PROJECT, "
        "else the nearest pyproject.toml with that section from here up, else the built-in Echelon project)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print only errors")


def _configure_apply(parser: argparse.ArgumentParser) -> None:
    _add_allow_large(parser)
    parser.add_argument("--force", action="store_true", help="clear the echelon-seed tables and reseed")
    parser.add_argument(
        "--confirm", metavar="DBNAME", help="with --force on a remote database echelon-seed did not seed: its name"
    )
    parser.add_argument("--anchor", type=_anchor, metavar="ISO-8601", help='the "now" of relative times (default: now)')
    parser.add_argument(
        "--scale", type=_positive, default=1, metavar="N", help="multiply the generated tables (default 1)"
    )
    parser.add_argument(
        "--lock-timeout", type=_seconds, default=30.0, metavar="SECONDS", help="wait this long for another writer (30)"
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="generate every generated table, neither replaying nor keeping rows (see 'echelon-seed cache')",
    )


def _configure_snapshot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="PATH", default="-", help="file to write, or - for stdout (default)")


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schema", action="store_true", help="check that the models and the migrations agree")
    _add_allow_large(parser)
    _io.configure_leaks(parser)


# --- output --------------------------------------------------------------------------------------------


def _print_unchanged(fixture_digest: str, scale: int) -> None:
    print(f"already seeded (fixtures {fixture_digest[:19]}…, scale {scale}), nothing to do")


def _print_apply(result: commands.ApplyResult) -> None:
    if result.action == "unchanged":
        _print_unchanged(result.fixture_digest, result.scale)
        return
    migration = result.migration
    if migration.from_metadata:
        schema = f"created from the metadata ({_plural(migration.applied, 'table')})"
    else:
        applied = f"{_plural(migration.applied, 'migration')} applied" if migration.applied else "up to date"
        schema = f"{migration.after} ({applied})"
    print(f"{result.action} {result.database}")
    print(f"  schema   {schema}")
    from .bookkeeping import anchor_text

    print(f"  fixtures {result.fixture_digest[:19]}… scale {result.scale}, anchor {anchor_text(result.anchor)}")
    if result.cache:
        print(f"  cache    {result.cache}")
    from .layout import name_width

    width = name_width(result.rows)
    for name, count in result.rows.items():
        print(f"  {name:<{width}}{count:>12,}")
    total = sum(result.rows.values())
    rate = f", {total / result.seconds:,.0f} rows/s" if result.seconds > 0 else ""
    print(f"  {'total':<{width}}{total:>12,} {'row' if total == 1 else 'rows'} in {result.seconds:.2f} s{rate}")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)


# --- commands: each imports what it needs when it runs ---------------------------------------------------


async def _apply(args: argparse.Namespace) -> int:
    """Apply; a seed whose stamp still holds is reported without loading SQLAlchemy (see `stamp`)."""
    from .errors import ConfigError

    if args.confirm is not None and not args.force:
        raise ConfigError("--confirm is only used with --force; add --force, or leave --confirm out")
    _check_sqlite_path(_target(args), must_exist=False)
    if not args.force and args.anchor is None:
        from . import stamp

        _note_for_stamp(args)
        hit = await stamp.check(
            _target(args), project=args.project, fixtures=args.fixtures, scale=args.scale, allow_large=args.allow_large
        )
        if hit is not None:
            if not args.quiet:
                _print_unchanged(hit.fixture_digest, hit.scale)
            return 0
    # Python's cycle collector is off while apply runs (as it was again afterwards). Importing
    # SQLAlchemy, Alembic and the models, then building the engine, allocates a few hundred thousand
    # long-lived objects: the collector ran about 200 times over them, 0.07 s of CPU, nearly all of it
    # before the first row reached the database, a tenth of what a replayed apply spends while the
    # server waits. Rows are streamed without reference cycles: peak memory measured the same with it
    # off, warm and cold, on both engines (docs/cache.md); reference counting frees the rest as usual.
    collecting = gc.isenabled()
    gc.disable()
    try:
        from . import commands

        result = await commands.apply(
            args.database_url,
            fixtures_dir=args.fixtures,
            anchor=args.anchor,
            force=args.force,
            confirm=args.confirm,
            scale=args.scale,
            lock_timeout=args.lock_timeout,
            reporter=_reporter(args),
            project=_project(args),
            allow_large=args.allow_large,
            cache=not args.no_cache,
        )
    finally:
        if collecting:
            gc.enable()
    _end_progress()
    if not args.quiet:
        _print_apply(result)
    return 0


async def _check(args: argparse.Namespace) -> int:
    from . import commands
    from .errors import ConfigError

    if args.schema:
        return await _check_schema(args)
    if args.leaks:
        return await _io.check_leaks(args)
    if args.snapshot or args.digests:
        raise ConfigError("--snapshot and --digests are options of check --leaks; add --leaks")
    if args.database_url is not None:
        raise ConfigError("check takes no --database-url")  # only check --schema reads a database
    project = _project(args)
    problems = commands.check(args.fixtures, project=project, allow_large=args.allow_large)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{_plural(len(problems), 'problem')} in the fixtures", file=sys.stderr)
        return 2
    if not args.quiet:
        # Everything is worked out before the first line is printed: a signal while the notes are
        # read then ends the command with nothing said, never with half of its answer and 130.
        decides = "apply judges it on the migrated database" if project.reflect else "PostgreSQL decides at apply"
        gaps = commands.unchecked(project)
        notes = commands.notes(args.fixtures, project=project)
        print("fixtures OK")
        for gap in gaps:
            print(f"not checked here ({decides}): {gap}")
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    return 0


async def _check_schema(args: argparse.Namespace) -> int:
    from . import commands

    chosen = _project(args)
    differences = await commands.check_schema(args.database_url, project=chosen)
    for line in differences:
        print(line, file=sys.stderr)
    if differences:
        print(f"the models and the migrations of project {chosen.name!r} disagree", file=sys.stderr)
        return 2
    if not args.quiet:
        print("schema OK: the models match what the migrations build")
    return 0


async def _snapshot(args: argparse.Namespace) -> int:
    from . import commands, project

    _check_sqlite_path(_target(args), must_exist=True)
    reporter = _reporter(args)
    chosen = _project(args)
    if args.output == "-":
        await commands.snapshot(args.database_url, sys.stdout.buffer, reporter=reporter, project=chosen)
        sys.stdout.flush()
        return 0
    target = _path(args.output)
    project.check_output(target)
    with project.replaced(target) as out:
        header = await commands.snapshot(args.database_url, out, reporter=reporter, project=chosen)
    _end_progress()
    if not args.quiet:
        print(f"wrote {target}: {_summary(header)}")
    return 0


class _Command:
    """One subcommand: its help, its options, and the coroutine that runs it.

    Adding a command is one function that adds its options, one that runs it,
    and one entry in `_COMMANDS`. (A plain class: NamedTuple would import typing at start-up.)
    """

    def __init__(
        self,
        *,
        help: str,  # noqa: A002 - argparse's own word
        description: str,
        configure: Callable[[argparse.ArgumentParser], None],
        run: Callable[[argparse.Namespace], Awaitable[int]],
        database: bool = True,
        fixtures: bool = False,
        epilog: str,
        database_help: str = _DATABASE_HELP,
        rolls_back: Callable[[argparse.Namespace], bool] = lambda _args: True,
    ) -> None:
        self.help, self.description, self.configure, self.run = help, description, configure, run
        self.database, self.fixtures, self.epilog, self.database_help = database, fixtures, epilog, database_help
        #: Whether an interrupted run has a transaction to roll back (check and export-sql have none).
        self.rolls_back = rolls_back


_COMMANDS: dict[str, _Command] = {
    "apply": _Command(
        help="migrate to head, then seed the fixtures in one transaction",
        description="Run the migrations, then write the fixtures with bulk inserts in one transaction. "
        "Applying the same seed again is a no-op; a database holding other data is refused unless --force.",
        configure=_configure_apply,
        run=_apply,
        fixtures=True,
        epilog=_epilog(
            [
                ("echelon-seed apply", "seed ./dev.db (migrations, then the fixtures); again: nothing to do"),
                ("echelon-seed apply --database-url postgresql://app@localhost/app_dev", "seed a PostgreSQL database"),
                ("echelon-seed apply --force --scale 100", "clear the project's tables and reseed 100 times larger"),
            ],
            _WRITE,
            "0 seeded, or already seeded; 2 error (the database is left as it was); 130/143 interrupted (rolled back)",
        ),
    ),
    "cache": _Command(
        help="list the replay cache of generated rows, or clear it",
        description="List the entries of the replay cache (the generated tables of a large seed, kept by "
        "'apply' for the next apply of the same fixtures and scale): key, project, scale, engine, size, last use. "
        "The cache is replay/ under $ECHELON_SEED_CACHE_DIR, else under $XDG_CACHE_HOME/echelon-seed, else under ~/.cache/echelon-seed; "
        "its cap is cache_max_mb in [tool.echelon-seed] or $ECHELON_SEED_CACHE_MAX_MB (2048 MB).",
        configure=_cache.configure,
        run=_cache.run,
        database=False,
        rolls_back=lambda _args: False,
        epilog=_epilog(
            [
                ("echelon-seed cache", "the entries, their size and last use"),
                ("echelon-seed cache --clear", "remove them all (the next large apply generates again)"),
            ],
            None,
            "0 listed or cleared; 2 error; 130/143 interrupted",
        ),
    ),
    "snapshot": _Command(
        help="write the canonical snapshot of a database",
        description="Write the canonical snapshot (header line, then one JSON row per line) of a database, "
        "read in one read-only transaction.",
        configure=_configure_snapshot,
        run=_snapshot,
        epilog=_epilog(
            [
                ("echelon-seed snapshot > dev.jsonl", "the canonical snapshot of ./dev.db on stdout"),
                ("echelon-seed snapshot -o golden.jsonl --database-url $STAGING_URL", "write it to a file"),
            ],
            _READ,
            "0 written; 2 error (unreachable or unmigrated database, unwritable output); 130/143 interrupted",
        ),
    ),
    "verify": _Command(
        help="compare a database with the golden snapshot under snapshots/ (a CI gate)",
        description="Compare the snapshot of a database with the golden file; exit 0 only when their digests "
        "(schema and every row) are equal. The database is --database-url, else $DATABASE_URL when it is set, "
        "else (and always with --fresh) a fresh temporary SQLite database seeded from the fixtures. "
        "A database given by URL is only read. --update rewrites the golden file instead "
        "(the only command that writes it).",
        configure=_gate.configure_verify,
        run=_gate.verify,
        fixtures=True,
        database_help="database to verify (default: $DATABASE_URL, else a fresh seed)",
        epilog=_epilog(
            [
                ("echelon-seed verify", "seed a fresh temporary database and compare it with the golden file"),
                ("echelon-seed verify --database-url $DATABASE_URL --junit-xml report.xml", "the CI gate"),
                ("echelon-seed verify --update", "rewrite the golden file from a fresh seed (review the diff)"),
            ],
            _FRESH,
            _GATE_EXITS,
            and_diffs=True,
        ),
    ),
    "diff": _Command(
        help="compare two snapshots: each a database URL or a snapshot file",
        description="Compare A (the golden side) with B, each a database URL (read-only) or a snapshot file, "
        "with verify's report and exit codes (0 equal digests, 1 differs, 2 error).",
        configure=_gate.configure_diff,
        run=_gate.diff,
        database=False,
        epilog=_epilog(
            [
                ("echelon-seed diff snapshots/echelon.jsonl sqlite:///./dev.db", "a golden file against a database"),
                ("echelon-seed diff $PROD_COPY_URL $STAGING_URL --full", "two databases, every difference"),
            ],
            None,
            _GATE_EXITS,
            and_diffs=True,
        ),
    ),
    "check": _Command(
        help="validate the fixtures against the schema, without a database",
        description="Report every problem in the fixtures (file, row, column); exit 2 when there is any. "
        "--schema instead compares the project's models with what its migrations build (on a scratch "
        "SQLite database, rolled back; or on --database-url).",
        configure=_configure_check,
        run=_check,
        fixtures=True,
        rolls_back=lambda args: bool(args.schema),
        database_help="with --schema: the database to migrate and roll back (default: a scratch SQLite file)",
        epilog=_epilog(
            [
                ("echelon-seed check", "every problem in the fixtures, with file, row and column"),
                ("echelon-seed check --schema", "do the models and the migrations build the same tables?"),
            ],
            None,
            "0 the fixtures (or the schema) are OK; 2 problems found, or an error; 130/143 interrupted",
        ),
    ),
    "export": _Command(
        help="write fixture files from an existing database (all of it, or a subset and what it references)",
        description="Read a database in one read-only transaction and write the project's fixture files, so that "
        "'apply' reproduces its snapshot byte for byte. --root and --tables export a subset closed over the "
        "foreign keys. Written to a temporary directory, checked, then renamed into place.",
        configure=_io.configure_export,
        run=_io.export,
        database_help="database to read (default: $DATABASE_URL or sqlite:///./dev.db)",
        epilog=_epilog(
            [
                ("echelon-seed export --database-url $STAGING_URL", "the whole database to the project's fixtures"),
                ("echelon-seed export --root users:USR_001 -o /tmp/one-user", "one user and all it references"),
            ],
            _READ,
            "0 written; 2 error (nothing is written); 130/143 interrupted (nothing is written)",
        ),
    ),
    "export-sql": _Command(
        help="write a PostgreSQL script that psql loads in one transaction (the seed and its record)",
        description="Write the seed as a psql script: BEGIN, a check of the schema revision (or, with "
        "--with-schema, the migrations' DDL), COPY blocks in foreign-key order, the seed record, COMMIT. "
        "Relative times resolve against one anchor: the moment the script runs, or psql -v anchor=ISO. "
        'Load it with: psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f FILE',
        configure=_io.configure_export_sql,
        run=_io.export_sql,
        database=False,
        fixtures=True,
        rolls_back=lambda _args: False,
        epilog=_epilog(
            [
                ("echelon-seed export-sql -o seed.sql", "the seed as a psql script, for a migrated database"),
                ("echelon-seed export-sql --with-schema -o seed.sql", "the migrations' DDL included"),
            ],
            None,
            "0 written; 2 error (the script is not written); 130/143 interrupted",
        ),
    ),
    "status": _Command(
        help="what a database holds: schema revision, seed record, whether it is current, row counts",
        description="Show the database's schema revision and the project's head, the seed record (fixtures, "
        "scale, anchor, tool version), whether the seed is current for the fixtures on disk, and the rows "
        "per table. Exit 0, or 2 when the database cannot be read.",
        configure=_io.configure_status,
        run=_io.status,
        fixtures=True,
        epilog=_epilog(
            [
                ("echelon-seed status", "what ./dev.db holds, and whether its seed is current"),
                ("echelon-seed status --format json --database-url $DATABASE_URL", "the same, for a script"),
            ],
            _READ,
            "0 shown; 2 when the database cannot be read; 130/143 interrupted",
        ),
    ),
}


def _project_name(argv: Sequence[str] | None) -> str | None:
    """The project's name for --help, read from its configuration alone (no import); 'Echelon' by default."""
    from . import project
    from .errors import EchelonSeedError

    args = list(sys.argv[1:] if argv is None else argv)
    explicit = None
    for i, arg in enumerate(args):
        if arg == "--project" and i + 1 < len(args):
            explicit = args[i + 1]
        elif arg.startswith("--project="):
            explicit = arg.partition("=")[2]
    try:
        config = project.find(explicit)
    except EchelonSeedError:
        return None  # reported as an error when a command runs
    return "Echelon" if config is None or config.name == "echelon" else config.name


def _the_database(name: str | None) -> str:
    return "a database" if name is None else f"the {name} database"


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="echelon-seed",
        epilog=_epilog(
            [
                ("echelon-seed apply", "seed ./dev.db"),
                ("echelon-seed verify", "compare a fresh seed with the golden file (the CI gate)"),
                ("echelon-seed COMMAND --help", "one command's options, examples and exit codes"),
            ],
            _WRITE,
            "0 success, 1 verify or diff found differences, 2 error, 130/143 interrupted",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.describe = lambda: (
        f"Seed {_the_database(_project_name(argv))} deterministically, snapshot it canonically, "
        "verify it against a golden file."
    )
    parser.add_argument("--version", action="version", version=f"echelon-seed {__version__}")
    _global_options(parser, database=True, fixtures=True)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    for name, command in _COMMANDS.items():
        sub = verbs.add_parser(
            name,
            help=command.help,
            description=command.description,
            epilog=command.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _global_options(sub, database=command.database, fixtures=command.fixtures, database_help=command.database_help)
        command.configure(sub)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse `argv`, then fill in the global options and refuse what the command cannot use."""
    args = parser.parse_args(argv)
    command = _COMMANDS[args.verb]
    for name, wanted in (("database_url", command.database), ("fixtures", command.fixtures)):
        if not wanted and hasattr(args, name):
            parser.error(f"{args.verb} takes no --{name.replace('_', '-')}")
    defaults = {"database_url": None, "fixtures": None, "quiet": False, "project": None}
    for name in _GLOBAL:
        if not hasattr(args, name):
            setattr(args, name, defaults[name])
    if args.database_url is not None and not args.database_url.strip():
        parser.error(
            "--database-url is empty; give a URL such as sqlite:///./dev.db, "
            "or leave the option out to use $DATABASE_URL"
        )
    return args


# --- signals ---------------------------------------------------------------------------------------------


# After a signal the rollback takes well under a second, but a driver call running in a
# thread (SQLite's BEGIN IMMEDIATE waiting out its busy timeout, which nothing can
# interrupt) must not keep the process alive. Leaving then is a rollback too: that thread
# holds no lock yet, and an uncommitted transaction dies with its connection.
async def _run(verb: Callable[[], Awaitable[int]]) -> int:
    """Run `verb` under a cancel scope that the signal handler cancels."""
    import anyio

    from .errors import Interrupted

    outcome: list[int] = []
    with anyio.CancelScope() as scope:
        loop_cancel = _threadsafe_cancel(scope)
        _SIGNALS.running(loop_cancel)
        try:
            outcome.append(await verb())
        except Exception:
            if _SIGNALS.caught is not None:  # whatever the cancellation broke on its way out
                raise Interrupted(_SIGNALS.caught) from None
            raise
    if outcome:
        # The verb finished (a commit under way is shielded and completed): its result stands.
        _SIGNALS.finishing()
        return outcome[0]
    raise Interrupted(_SIGNALS.caught or signal.SIGINT)


def _threadsafe_cancel(scope: Any) -> Callable[[], None]:
    """A callable that cancels `scope` from a signal handler, which may run between any two bytecodes."""
    import asyncio

    loop = asyncio.get_running_loop()

    def cancel() -> None:
        loop.call_soon_threadsafe(scope.cancel)

    return cancel


def _one_line(message: str) -> str:
    """The first line of `message`, scrubbed: drivers append DETAIL lines (with row values) to theirs."""
    message = _scrub(message)
    lines = message.strip().splitlines()
    return lines[0] if lines else ""


def _leave(code: int) -> NoReturn:
    """Exit now, without waiting for a driver thread stuck in a call that no longer matters."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """The process's entry point: its signal handlers stay installed until the process exits."""
    _begin()
    _NOTED.clear()
    if threading.current_thread() is threading.main_thread():  # only there can Python take signals
        _SIGNALS.install()
    args = _parse(build_parser(argv), argv)
    if not _COMMANDS[args.verb].rolls_back(args):
        _SIGNALS.line = _STARTUP_INTERRUPTED_LINE
    return _main(args)


def _main(args: argparse.Namespace) -> int:
    """Run the parsed command; its exceptions become one line and an exit code."""
    import anyio

    from .errors import EchelonSeedError, Interrupted

    try:
        try:
            return anyio.run(_run, lambda: _COMMANDS[args.verb].run(args))
        finally:
            _end_progress()
    except Interrupted as exc:
        _SIGNALS.report()
        _leave(exc.exit_code)
    except EchelonSeedError as exc:
        print(f"echelon-seed: error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`snapshot | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        _SIGNALS.report()
        _leave(128 + (_SIGNALS.caught or signal.SIGINT))
    except ValueError as exc:
        print(f"echelon-seed: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: say so in one line, never leak a secret
        if os.environ.get("ECHELON_SEED_DEBUG"):
            import traceback

            print(_scrubbed_traceback(traceback.format_exception(exc)), file=sys.stderr)
        print(
            f"echelon-seed: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
            "(set ECHELON_SEED_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 2


def _scrubbed_traceback(lines: list[str]) -> str:
    """A whole traceback, scrubbed like a one-line error."""
    return _scrub("".join(lines))
