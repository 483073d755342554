"""echelon-seed: same fixtures, same database, provably.

The library API is what the CLI calls, one function per verb in
`echelon_seed.commands` (`apply`, `snapshot`, `verify` async; `check`), and
the error tree rooted at `EchelonSeedError` (see `echelon_seed.errors`):

    from echelon_seed import commands
    result = await commands.apply("sqlite:///./dev.db")

`commands` and its result types are imported on first use (module
`__getattr__`), so that `import echelon_seed` (and `echelon-seed --version`)
does not pay for SQLAlchemy and the drivers.
"""

from __future__ import annotations

from .version import __version__

# Not `from typing import TYPE_CHECKING`: typing alone costs a noticeable part of `--version`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    # The verbs stay in `commands`: exporting `snapshot` here would hide the `snapshot` module.
    from . import commands
    from .commands import ApplyResult, VerifyResult
    from .errors import (
        ConfigError,
        DatabaseError,
        EchelonSeedError,
        FixtureError,
        FixtureProblem,
        Interrupted,
        LockTimeout,
        RefusedError,
        SnapshotError,
    )

__all__ = [
    "ApplyResult",
    "ConfigError",
    "DatabaseError",
    "EchelonSeedError",
    "FixtureError",
    "FixtureProblem",
    "Interrupted",
    "LockTimeout",
    "RefusedError",
    "SnapshotError",
    "VerifyResult",
    "__version__",
    "commands",
]

# Where each lazily imported public name lives.
_LAZY = {"commands": "commands", "ApplyResult": "commands", "VerifyResult": "commands"} | {
    name: "errors" for name in __all__ if name.endswith(("Error", "Problem", "Timeout")) or name == "Interrupted"
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use: `commands` brings SQLAlchemy and the drivers."""
    if name not in _LAZY:
        raise AttributeError(f"module 'echelon_seed' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{_LAZY[name]}", __name__)
    value = module if name == _LAZY[name] else getattr(module, name)
    globals()[name] = value
    return value
