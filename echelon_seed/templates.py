"""Seeded template databases keyed by content, and cheap private copies of them for tests.

Seeding costs a migration run and a bulk write; copying a seeded database
costs a file copy. So a template is seeded once (by `apply`, which the caller
hands the stores as their `Seeder`) and
cloned for every test: on PostgreSQL `CREATE DATABASE <test> TEMPLATE <tpl>`
on the server the caller names (`pg_templates`), on SQLite a copy of the
template file (`sqlite_templates`). This module holds what both share: the
key, the seed and the values handed to tests.

A template's name carries its key, a digest of everything its rows depend
on (the migrations, the fixture files, the generator modules and version,
the schema, the scale, the anchor and echelon-seed's version), so a change
to any of them selects another template and an unchanged project finds the
one it built before. Several processes (pytest-xdist workers) agree on who
builds it: an advisory lock on the PostgreSQL server, a file lock beside the
SQLite templates. A template is built under a staging name and renamed once
complete, so a name that exists is a finished template.

Nothing here touches a database it did not create: every name starts with
`echelon_tpl_` or `echelon_test_` (PostgreSQL; `tpl-`/`test-` files on
SQLite), a PostgreSQL template carries a comment saying echelon-seed made it,
and a name that exists without that comment is refused, not reused or dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from . import urls
from .bookkeeping import SeedRecord
from .project import Project
from .version import __version__

__all__ = [
    "TEMPLATE_PREFIX",
    "TEST_PREFIX",
    "Clone",
    "DatabaseURL",
    "Seed",
    "Template",
    "Templates",
    "key",
    "record_from",
    "record_json",
    "Seeder",
]

TEMPLATE_PREFIX = "echelon_tpl_"
TEST_PREFIX = "echelon_test_"


class DatabaseURL(str):
    """A database URL that shows itself with its password hidden (`repr`, so pytest's reports).

    `str(url)` is the full URL, for the driver; `repr(url)` and `url.display`
    are what people see, even when a failing assertion or `--showlocals`
    prints the value.
    """

    __slots__ = ()

    @property
    def display(self) -> str:
        return urls.scrub(str(self))

    def __repr__(self) -> str:
        return repr(self.display)


@dataclass(frozen=True)
class Seed:
    """What a template holds: the project's fixtures (or others for the same schema) at a scale and anchor."""

    anchor: datetime
    scale: int = 1
    fixtures: Path | None = None


@dataclass(frozen=True)
class Template:
    """A seeded database that tests are cloned from; not for connecting to (PostgreSQL refuses)."""

    key: str
    name: str
    url: DatabaseURL
    record: SeedRecord
    #: Whether this call built it (False: an earlier session or another worker had).
    built: bool = False
    #: How long this call took, waiting for another builder included.
    seconds: float = 0.0


@dataclass(frozen=True)
class Clone:
    """One test's private database, copied from a template."""

    name: str
    url: DatabaseURL
    template: Template = field(repr=False)


#: How a store fills a new template database: `apply` of the seed into the empty database at the URL,
#: returning its record. Given by the caller (the plugin) so that the stores never import the verbs.
Seeder = Callable[[str, Project, Seed], Awaitable[SeedRecord]]


class Templates(Protocol):
    """Where templates and their clones live: a PostgreSQL server or a directory of SQLite files."""

    @property
    def display(self) -> str: ...

    async def ensure(self, project: Project, seed: Seed) -> Template: ...

    async def clone(self, template: Template) -> Clone: ...

    async def drop(self, clone: Clone) -> None: ...

    async def clean(self, project: str, keep: Collection[str]) -> list[str]: ...

    async def close(self) -> None: ...


# --- the key ----------------------------------------------------------------------------------------


def _files(directory: Path) -> Iterator[tuple[str, Path]]:
    """Every file under `directory` but compiled Python, by relative path, in a fixed order."""
    found = [
        p
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    ]
    for path in sorted(found, key=lambda p: p.relative_to(directory).as_posix()):
        yield path.relative_to(directory).as_posix(), path


def key(project: Project, seed: Seed) -> str:
    """The template key: a SHA-256 over everything the seeded rows depend on (hex)."""
    from . import generate

    hasher = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        hasher.update(label.encode("utf-8", "surrogateescape") + b"\x00" + len(data).to_bytes(8, "big") + data)

    add("tool", __version__.encode())
    add("generators-version", generate.GENERATOR_VERSION.encode())
    add("project", project.name.encode())
    add("schema", project.fingerprint.encode())
    add("scale", str(seed.scale).encode())
    add("anchor", seed.anchor.isoformat().encode())
    if project.migrations is not None:
        for name, path in _files(project.migrations):
            add(f"migrations/{name}", path.read_bytes())
    for name, path in _files(seed.fixtures or project.fixtures):
        add(f"fixtures/{name}", path.read_bytes())
    for module, source in generate.code(project.generators):
        add(f"generator {module}", source)
    return hasher.hexdigest()


def record_json(record: SeedRecord) -> dict[str, Any]:
    return {
        "anchor": record.anchor.isoformat(),
        "fixture_digest": record.fixture_digest,
        "scale": record.scale,
        "tool_version": record.tool_version,
        "schema_revision": record.schema_revision,
        "schema_fingerprint": record.schema_fingerprint,
        "project": record.project,
    }


def record_from(data: dict[str, Any]) -> SeedRecord:
    return SeedRecord(**{**data, "anchor": datetime.fromisoformat(data["anchor"])})
