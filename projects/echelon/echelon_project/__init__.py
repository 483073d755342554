"""Echelon's schema and generators: the project echelon-seed is built beside and uses when nothing else is configured.

An ordinary project, configured in `../pyproject.toml` like any team's: the
library never imports it; `echelon_seed.project.echelon()` loads it by its
configuration, exactly as it loads a project found through `--project`.
"""
