"""Where the project's own files live: fixtures, migrations, golden snapshots.

In a source checkout (the README's way) they are the top-level `data/`,
`migrations/` and `snapshots/` beside the package; an installed wheel carries
copies under `echelon_seed/_project/`. Nothing else guesses paths.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_dir", "display", "migrations_dir", "root", "snapshots_dir"]

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
