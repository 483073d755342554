"""The PostgreSQL driver is an extra: a SQLite-only install has no asyncpg.

Every place that needs asyncpg asks here, so a missing driver is one line
naming the extra to install, never an ImportError from deep inside SQLAlchemy.
Standard library only: the stamp's raw reader uses it without SQLAlchemy.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MISSING_ASYNCPG", "asyncpg"]

MISSING_ASYNCPG = "PostgreSQL needs the asyncpg driver, which is not installed: pip install 'echelon-seed[postgresql]'"


def asyncpg() -> Any:
    """The asyncpg module, or a ConfigError (exit 2) that says which extra brings it."""
    try:
        import asyncpg as driver
    except ImportError:
        from .errors import ConfigError

        raise ConfigError(MISSING_ASYNCPG) from None
    return driver
