"""Every error echelon-seed raises on purpose, and what the CLI does with it.

    EchelonSeedError                 exit 2, one line, no traceback
    ├── ConfigError                  a bad URL, option or path
    ├── FixtureError                 bad fixtures (every problem: file, row, column)
    ├── DatabaseError                the server or file could not be used
    │   └── LockTimeout              another writer held the database too long
    ├── RefusedError                 the database holds data that is not ours to replace
    ├── SnapshotError                a snapshot or golden file cannot be read or made
    │   └── OlderFormatError         a golden file of an older format: regenerate it
    └── Interrupted                  SIGINT/SIGTERM: rolled back (exit 128 + signal)

Messages are written for the person at the terminal: what happened, where,
and what to do next. None of them may contain a password; URLs are always
rendered through `engines.redact`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ConfigError",
    "DatabaseError",
    "EchelonSeedError",
    "FixtureError",
    "FixtureProblem",
    "Interrupted",
    "LockTimeout",
    "OlderFormatError",
    "RefusedError",
    "SnapshotError",
]


class EchelonSeedError(Exception):
    """The base of every deliberate failure; `exit_code` is what the CLI returns."""

    exit_code = 2


class ConfigError(EchelonSeedError):
    """An option, URL or path that cannot be used as given."""


class DatabaseError(EchelonSeedError):
    """The database could not be reached or refused the work."""


class LockTimeout(DatabaseError):
    """Another echelon-seed (or another writer) held the database past --lock-timeout."""


class RefusedError(EchelonSeedError):
    """The database holds data that echelon-seed will not replace without being told to."""


class SnapshotError(EchelonSeedError):
    """A snapshot or golden file is missing, unreadable or of another format."""


class OlderFormatError(SnapshotError):
    """A snapshot of a format this version no longer compares; the message says how to regenerate it."""


class Interrupted(EchelonSeedError):
    """A signal stopped the work before it committed; nothing was written."""

    def __init__(self, signum: int) -> None:
        super().__init__("interrupted; rolled back")
        self.exit_code = 128 + signum


@dataclass(frozen=True)
class FixtureProblem:
    """One thing wrong in one fixture file, located as precisely as it can be."""

    file: str
    message: str
    row: int | None = None
    row_id: str | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
            if self.row_id is not None:
                where += f" ({self.row_id})"
        if self.column is not None:
            where += f" column '{self.column}'"
        return f"{where}: {self.message}"


class FixtureError(EchelonSeedError):
    """The fixtures are wrong; raised before anything is written."""

    def __init__(
        self, problems: Sequence[FixtureProblem], check_command: str = "echelon-seed check", *, advice: str = ""
    ) -> None:
        # `check_command` lists them all: it names the same fixture directory (--fixtures) when
        # that was not the project's own, so that the hint checks what apply was given. Where no
        # directory is left to check (an export refused before it was written), `advice` says
        # what to do instead.
        self.problems = tuple(problems)
        self.check_command = check_command
        count = len(self.problems)
        head = str(self.problems[0]) if self.problems else "invalid fixtures"
        others = f"+{count - 1} more problem{'s' if count > 2 else ''}"
        if advice:
            super().__init__(head + (f" ({others})" if count > 1 else "") + f"; {advice}")
            return
        more = f" ({others}; run '{check_command}' to list them)"
        super().__init__(head + (more if count > 1 else ""))
