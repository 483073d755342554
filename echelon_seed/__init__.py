"""echelon-seed: same fixtures, same database, provably."""

__version__ = "0.1.0"
