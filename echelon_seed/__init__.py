"""echelon-seed: same fixtures, same database, provably.

The library API is what the CLI calls: `apply`, `snapshot`, `verify` and
`check` (async except `check`), their results, and the error tree rooted at
`EchelonSeedError` (see `echelon_seed.errors`).
"""

__version__ = "0.1.0"

from .commands import ApplyResult, VerifyResult, apply, check, snapshot, verify  # noqa: E402
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
    "apply",
    "check",
    "snapshot",
    "verify",
]
