"""The width of the name column in the row-count tables that `apply`, `export` and `status` print."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["name_width"]

#: The narrowest name column: what every table used before names grew longer than it.
_MINIMUM = 16


def name_width(names: Iterable[str]) -> int:
    """Wide enough for the longest name and two spaces, so that counts stay in one column."""
    return max([_MINIMUM, *(len(name) + 2 for name in names)])
