"""One function per verb: the library API that the CLI and tests call.

Each command owns its engine and its transaction; everything below it takes
a connection. `apply` does all of its work (lock, migrations, clearing,
writing, the seed record, the integrity check) in ONE transaction, so a
failure or a kill at any point leaves the database exactly as it was.

A module per verb (`seeding` for apply, `gate` for verify, ...); this face
names them all, so that callers write `commands.apply` whichever module
holds it.
"""

from __future__ import annotations

from echelon_seed.project import Project

from .checking import check, check_schema, notes, unchecked
from .comparing import DiffResult, diff_sources, is_url
from .exporting import ExportResult, LeakResult, check_leaks, export, export_sql
from .gate import VerifyResult, golden_path, regenerate_command, verify, verify_target
from .reading import snapshot, status
from .seeding import PAUSE_ENV, ApplyResult, apply
from .targets import needs_postgresql, resolve_url

__all__ = [
    "PAUSE_ENV",
    "ApplyResult",
    "DiffResult",
    "ExportResult",
    "LeakResult",
    "Project",
    "VerifyResult",
    "apply",
    "check",
    "check_leaks",
    "check_schema",
    "diff_sources",
    "export",
    "export_sql",
    "golden_path",
    "notes",
    "is_url",
    "needs_postgresql",
    "regenerate_command",
    "resolve_url",
    "snapshot",
    "status",
    "unchecked",
    "verify",
    "verify_target",
]
