"""The release of echelon-seed: in the seed record, the stamp's digest and `--version`.

A module of its own so that the modules recording it import nothing else of
the package (the package's face, `__init__`, loads the verbs on demand).
"""

__version__ = "0.1.0"
