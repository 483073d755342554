"""The no-op `apply` without SQLAlchemy: a stamp of every input, kept in the seeded database.

An `apply` that finds its exact seed already in place does nothing, but to
know that it must build the project (import the schema, so SQLAlchemy),
validate the fixtures and read the seed record: about half a second, most of
it imports, on every run of a dev loop. The stamp makes that answer cheap
without making it weaker: each full `apply` leaves, in `echelon_seed_stamp`,
a digest over everything that decided its outcome (the tool, the Python that
ran it and where it looks for modules, the configuration, the fixture files,
the revision files and every module of the tool and the project that was
loaded) with the list of those files, and the seed record it vouches for.

The next `apply` (CLI, without --force or --anchor) re-reads those files,
recomputes the digest with stdlib modules only and, when it matches and the
database still holds that record at that revision with every table, says
"already seeded" at once. Anything else (another engine, a missing stamp, a
changed or unreadable file, a locked database, any error) is a miss, and the
full path decides, exactly as before, and renews the stamp. A miss costs
only the time of this check; a hit is never given where the full path would
have done anything but report "unchanged".

Both engines keep it: on SQLite it is read with `sqlite3`, on PostgreSQL with
a bare asyncpg connection, in one read transaction either way.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import project as projects

# Loaded with the stamp, not on the fast path only: the full path digests every loaded module of
# the tool, so both paths must load the same ones.
from .engines import stamp_readers
from .version import __version__

__all__ = ["FORMAT", "Hit", "Inputs", "check", "digest", "inputs", "record_identity"]

#: Bumped whenever what the digest covers changes: an old stamp then simply misses.
FORMAT = 1
_PACKAGE = Path(__file__).resolve().parent
#: The longest the fast path waits for a PostgreSQL server before leaving it to the full path.
_CONNECT_TIMEOUT_S = 2.0
#: Larger files are not hashed on the fast path; the full path decides.
_MAX_FILE = 64 * 1024 * 1024
# The record's columns that make a seed the same seed, in the order of seeder.SeedRecord.identity().
_IDENTITY = ("project", "schema_fingerprint", "fixture_digest", "scale", "schema_revision")


@dataclass(frozen=True)
class Inputs:
    """What the digest covers besides file contents: the run's own choices and where its code comes from."""

    config: str  # the resolved pyproject.toml, or "" for the built-in project
    fixtures: str  # the resolved fixture directory
    scale: int
    allow_large: bool

    def lines(self, project_dir: str) -> list[str]:
        search = [p for p in sys.path if p != project_dir]  # load() adds the project's directory itself
        return [
            f"format {FORMAT}",
            f"tool {__version__} {_PACKAGE}",
            f"python {sys.version} {sys.executable}",
            f"path {json.dumps(search)}",
            f"config {self.config}",
            f"fixtures {self.fixtures}",
            f"scale {self.scale} allow_large {self.allow_large}",
        ]


@dataclass(frozen=True)
class Hit:
    """The seed a stamp vouched for: what `apply` reports as already there."""

    fixture_digest: str
    scale: int


def digest(run: Inputs, files: Sequence[str], listings: Sequence[tuple[str, str]]) -> str | None:
    """The stamp's digest, or None when a file or directory cannot be read as it was.

    `listings` are (directory, suffix) pairs: the names ending in `suffix`
    are covered, so a fixture or revision file added or removed is a change.
    """
    hasher = hashlib.sha256()
    for line in run.lines(str(Path(run.config).parent) if run.config else ""):
        hasher.update(line.encode("utf-8", "surrogateescape") + b"\n")
    try:
        for directory, suffix in sorted(listings):
            names = sorted(n for n in os.listdir(directory) if n.endswith(suffix))
            hasher.update(f"dir {directory} {json.dumps(names)}\n".encode("utf-8", "surrogateescape"))
        for path in sorted(files):
            hasher.update(f"file {path}\n".encode("utf-8", "surrogateescape"))
            hasher.update(_contents(path))
    except OSError:
        return None
    return "sha256:" + hasher.hexdigest()


def _contents(path: str) -> bytes:
    """A regular file's bytes; anything else (gone, a FIFO, a device, huge) is an OSError: a miss."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_FILE:
        raise OSError(f"{path} is not a regular file of at most {_MAX_FILE} bytes")
    with open(path, "rb") as handle:
        return handle.read()


def inputs(
    run: Inputs, *, migrations: Path | None, modules: Iterable[str], extra_files: Iterable[Path] = ()
) -> tuple[list[str], list[tuple[str, str]]]:
    """The files and listings a full `apply` depended on, as the stamp records them.

    Installed packages count by their *.dist-info names (name and version),
    not their files: what pip changes, at the price of a directory listing.

    `modules` are the top-level package names that are the project's own (its
    metadata and generator modules'); with echelon-seed's, every loaded module
    of theirs counts, and so does every loaded module from outside the
    standard library and the installed packages (the project's own helpers).
    """
    files: set[str] = {str(p) for p in extra_files}
    listings: list[tuple[str, str]] = [(run.fixtures, ".json")]
    if run.config:
        files.add(run.config)
    files.update(os.path.join(run.fixtures, n) for n in os.listdir(run.fixtures) if n.endswith(".json"))
    if migrations is not None:
        versions = migrations / "versions"
        if versions.is_dir():
            listings.append((str(versions), ".py"))
            files.update(str(p) for p in versions.glob("*.py"))
        else:  # plain *.sql migrations, run in name order
            listings.append((str(migrations), ".sql"))
            files.update(str(p) for p in migrations.glob("*.sql"))
    files.update(_module_files({"echelon_seed", *modules}))
    # An installed distribution upgraded or removed (SQLAlchemy, a driver, a library the models use)
    # renames or drops its *.dist-info directory: a change, though none of its files are hashed.
    listings.extend((directory, ".dist-info") for directory in _installed() if os.path.isdir(directory))
    return sorted(files), sorted(set(listings))


def _installed() -> set[str]:
    """The directories installed packages live in, resolved."""
    return {os.path.realpath(p) for key in ("purelib", "platlib") if (p := sysconfig.get_paths().get(key))}


def _module_files(owned: set[str]) -> set[str]:
    paths = sysconfig.get_paths()
    roots = {p for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := paths.get(key))}
    # As written and resolved: most modules are found by the plain prefix, without a realpath each.
    installed = tuple(root + os.sep for root in roots | {os.path.realpath(r) for r in roots})
    found: set[str] = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        if name.partition(".")[0] not in owned and path.startswith(installed):
            continue
        real = os.path.realpath(path)
        if (name.partition(".")[0] in owned or not real.startswith(installed)) and os.path.isfile(real):
            found.add(real)
    return found


def record_identity(identity: Sequence[Any]) -> str:
    """The seed record's identity (`SeedRecord.identity()`) as the stamp stores it: a changed record is a miss."""
    return json.dumps(list(identity))


# --- the fast path --------------------------------------------------------------------------------------

# What the reads below give back: the stamp's key and inputs, the seed record, the version rows, the table names.
_Stored = tuple[str, dict[str, Any], dict[str, Any], list[str], set[str]]


async def check(url: str, *, project: str | None, fixtures: Path | None, scale: int, allow_large: bool) -> Hit | None:
    """The seed already in the database at `url`, if its stamp still holds; None sends `apply` the full way.

    Any error is a miss: the full path meets the same problem and reports it properly.
    """
    try:
        return await _check(url, project=project, fixtures=fixtures, scale=scale, allow_large=allow_large)
    except Exception:
        return None


async def _check(url: str, *, project: str | None, fixtures: Path | None, scale: int, allow_large: bool) -> Hit | None:
    from . import urls

    target = urls.parse(url)
    if target.engine == "sqlite" and (target.path in ("", ":memory:") or not os.path.isfile(target.path)):
        return None
    config = projects.find(project) or projects.builtin_config()
    run = Inputs(
        config=str(config.path),
        fixtures=str(_fixtures(config, fixtures)),
        scale=scale,
        allow_large=allow_large,
    )
    if target.engine == "sqlite":
        raw = stamp_readers.read_sqlite(target.path, _IDENTITY)
    else:
        schema = config.values.get("schema", "public")
        raw = await stamp_readers.read_postgresql(target, str(schema), _IDENTITY, connect_timeout=_CONNECT_TIMEOUT_S)
    stored = None if raw is None else _stored(*raw)
    if stored is None:
        return None
    key, recorded, record, versions, tables = stored
    if json.loads(recorded["identity"]) != [record[k] for k in _IDENTITY] or record["scale"] != scale:
        return None
    if record["schema_revision"] != "metadata" and versions != [record["schema_revision"]]:
        return None
    if not set(recorded["tables"]) <= tables:
        return None
    if digest(run, recorded["files"], [tuple(pair) for pair in recorded["listings"]]) != key:
        return None
    return Hit(fixture_digest=record["fixture_digest"], scale=record["scale"])


def _fixtures(config: projects.Config, explicit: Path | None) -> Path:
    """The fixture directory the full path would use, resolved the same way (see project.load)."""
    if explicit is not None:
        return explicit.resolve()
    value = config.values["fixtures"]
    if not isinstance(value, str):
        raise ValueError("fixtures is not a string")
    return (config.path.parent / value).resolve()


def _stored(stamps: list[Any], runs: list[Any], versions: list[str], tables: set[str]) -> _Stored | None:
    if len(stamps) != 1 or len(runs) != 1:
        return None
    key, recorded = stamps[0]
    return key, json.loads(recorded), dict(zip(_IDENTITY, tuple(runs[0]), strict=True)), versions, tables
