"""Where the project's own files live: fixtures, migrations, golden snapshots.

In a source checkout (the README's way) they are the top-level `data/`,
`migrations/` and `snapshots/` beside the package; an installed wheel carries
copies under `echelon_seed/_project/`. Nothing else guesses paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["data_dir", "display", "migrations_dir", "replaced", "root", "snapshots_dir"]

_PACKAGE = Path(__file__).resolve().parent


def root() -> Path:
    """The directory holding data/, migrations/ and snapshots/."""
    checkout = _PACKAGE.parent
    if (checkout / "migrations" / "env.py").is_file():
        return checkout
    return _PACKAGE / "_project"


def data_dir() -> Path:
    return root() / "data"


def migrations_dir() -> Path:
    return root() / "migrations"


def snapshots_dir() -> Path:
    return root() / "snapshots"


def display(path: Path) -> str:
    """`path` as a person would type it here: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@contextmanager
def replaced(target: Path) -> Iterator[IO[bytes]]:
    """A stream whose bytes replace `target` only once the block succeeds (golden files, snapshots).

    A target that exists and is not a regular file (/dev/null, a FIFO) is
    written in place: renaming over it would replace a device with a file.
    """
    if target.exists() and not target.is_file():
        with target.open("wb") as out:
            yield out
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".tmp")
    try:
        with staged.open("wb") as out:
            yield out
        staged.replace(target)
    finally:
        staged.unlink(missing_ok=True)
