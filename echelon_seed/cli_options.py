"""Option values and targets that every command's costume shares (`cli` and `cli_export`).

Standard library only at import: the parsers run at start-up, before any
command decides what to load.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

# typing is for type checkers only; see the same guard in `cli`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

__all__ = [
    "NOTED",
    "add_allow_large",
    "anchor",
    "check_outputs",
    "check_sqlite_path",
    "directory",
    "note_builtin",
    "note_for_stamp",
    "note_ignored",
    "path",
    "plural",
    "positive",
    "project",
    "seconds",
    "summary",
    "target",
]


# --- options -------------------------------------------------------------------------------------------


def anchor(text: str) -> Any:
    from . import clock

    try:
        return clock.parse_anchor(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def path(text: str) -> Path:
    from pathlib import Path

    return Path(text)


def directory(text: str) -> Path:
    """A --fixtures path: a file there is the likely mistake, said at once."""
    path_ = path(text)
    if path_.exists() and not path_.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a directory; give the directory that holds the table files")
    return path_


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


# --- the likely mistakes, said before any driver is loaded -------------------------------------------------

_SQLITE_PATH = re.compile(r"^sqlite(?:\+\w+)?:///(?P<path>[^?#]+)")


def check_sqlite_path(raw: str, *, must_exist: bool) -> None:
    """Name the classic mistake: `sqlite:///tmp/x.db` is tmp/x.db here, not /tmp/x.db.

    Without this the driver says only "unable to open database file", or the
    read commands that there is no database, with nothing about why.
    """
    from pathlib import Path

    from .errors import ConfigError

    match = _SQLITE_PATH.match(raw)
    if match is None or match["path"] == ":memory:":
        return
    path = Path(match["path"])
    relative = not path.is_absolute()
    hint = (
        f"; {raw} is relative to the current directory; for an absolute path write sqlite:////{match['path']}"
        if relative
        else ""
    )
    if not path.parent.is_dir():
        raise ConfigError(
            f"cannot open {raw}: the directory {path.parent} does not exist{hint or ' (create it first)'}"
        )
    if must_exist and relative and not path.exists() and Path("/", path).is_file():
        raise ConfigError(f"no SQLite database at {path}{hint}")


def target(args: argparse.Namespace) -> str:
    """The URL the command will use, picked as `commands.resolve_url` does (its default is
    engines.DEFAULT_URL, written out here because importing engines brings SQLAlchemy)."""
    return args.database_url or os.environ.get("DATABASE_URL") or "sqlite:///./dev.db"


def project(args: argparse.Namespace) -> Any:
    """The Project of this run (--project, $ECHELON_SEED_PROJECT, the nearest configuration, or Echelon)."""
    from . import project as projects

    config = projects.find(args.project)
    if config is None:
        note_builtin(args)
    chosen = projects.load(config)
    if args.verb in _READ_FIXTURES:
        note_ignored(args, args.fixtures or chosen.fixtures)
    return chosen


# --- no silent choices: each said once per run, on stderr (--quiet leaves them out) --------------------

# The commands that read the fixture directory.
_READ_FIXTURES = ("apply", "check", "verify", "status", "export-sql")
NOTED: set[str] = set()


def note_builtin(args: argparse.Namespace) -> None:
    """Say that no project is in sight: run in the wrong directory, apply would seed Echelon's tables."""
    if "builtin" in NOTED or args.quiet:
        return
    NOTED.add("builtin")
    print(
        "echelon-seed: no [tool.echelon-seed] project here or above: using the built-in Echelon project "
        "(name yours with --project PATH or ECHELON_SEED_PROJECT)",
        file=sys.stderr,
    )


def note_ignored(args: argparse.Namespace, directory: Path) -> None:
    """Name the files of the fixture directory that are not read: a users.yaml is not a fixture."""
    from . import project as projects

    if "ignored" in NOTED or args.quiet:
        return
    names = projects.ignored_files(directory)
    if names:
        NOTED.add("ignored")
        print(f"echelon-seed: ignored: {', '.join(names)} (only *.json fixtures are read)", file=sys.stderr)


def note_for_stamp(args: argparse.Namespace) -> None:
    """The notes of `project`, for apply's fast path, which reads the configuration only."""
    from pathlib import Path

    from . import project as projects

    config = projects.find(args.project)
    if config is None:
        note_builtin(args)
        note_ignored(args, args.fixtures or projects.data_dir())
    elif args.fixtures is not None:
        note_ignored(args, args.fixtures)
    elif isinstance(config.values.get("fixtures"), str):
        note_ignored(args, config.path.parent / Path(config.values["fixtures"]))


def check_outputs(args: argparse.Namespace, *more: Path | None) -> None:
    """The files verify and diff will write, refused before any work when they cannot be."""
    from . import project as projects

    for path_ in (args.junit_xml, args.save_actual, *more):
        if path_ is not None:
            projects.check_output(path_)


def add_allow_large(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-large",
        action="store_true",
        help="accept a generator that yields more than 1,000,000 rows at scale 1",
    )


def summary(header: Any, *, verb: str = "") -> str:
    """ "176 rows in 8 tables[ <verb>] (sha256:bfa520ff8a93…)": what a snapshot holds, in one phrase."""
    rows = sum(header.rows.values())
    return (
        f"{plural(rows, 'row')} in {plural(len(header.tables), 'table')}{' ' + verb if verb else ''} "
        f"({header.digest[:19]}…)"
    )
