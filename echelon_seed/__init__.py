"""echelon-seed: same fixtures, same database, provably.

The library API is what the CLI calls, one function per verb in
`echelon_seed.commands` (`apply`, `snapshot`, `verify` async; `check`), and
the error tree rooted at `EchelonSeedError` (see `echelon_seed.errors`):

    from echelon_seed import commands
    result = await commands.apply("sqlite:///./dev.db")
"""

__version__ = "0.1.0"

# The verbs stay in `commands`: exporting `snapshot` here would hide the `snapshot` module.
from . import commands  # noqa: E402
from .commands import ApplyResult, VerifyResult  # noqa: E402
from .errors import (  # noqa: E402
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
