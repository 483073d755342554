"""The project echelon-seed works on: its schema, migrations, fixtures and golden files.

One frozen `Project` is built at the edge (the CLI, a test, a caller of
`commands`) and passed down; nothing below `commands` imports a schema or
guesses a path. A project is declared in a `pyproject.toml`:

    [tool.echelon-seed]
    name = "shop"                           # golden file names, the writer lock
    metadata = "shop.models:Base.metadata"  # a SQLAlchemy MetaData, module:attribute (or none: see below)
    migrations = "migrations"               # optional: Alembic script directory, alembic.ini, or *.sql files
    fixtures = "seed/fixtures"              # one JSON file per table
    snapshots = "seed/snapshots"            # golden files
    generators = ["shop.seed_generators"]   # optional: modules imported before seeding
    ignore = ["*.updated_at"]               # optional: columns left out of comparison
    schema = "public"                       # optional: the PostgreSQL schema of the tables
    engine = "postgresql"                   # optional: the engine a fresh seed needs (verify, check --schema, tests)
    max_fixture_mb = 64                     # optional: larger fixture files are refused unread
    cache_max_mb = 2048                     # optional: the replay cache's size cap (docs/cache.md)

    [tool.echelon-seed.mask]                # optional: the masking policy of `export --mask`
    "users.email" = "email"                 # (docs/masking.md)

Without `metadata`, the project has no models: its schema is whatever
`migrations` builds (Alembic revisions, or plain `*.sql` files run in name
order), reflected from the database after they ran (`Project.reflect`).

A configuration is found through `--project PATH`, else `ECHELON_SEED_PROJECT`, else the first
`pyproject.toml` holding that section from the working directory up (as
pytest and Alembic find theirs); with none in sight, the built-in Echelon
project. Finding reads TOML only; the user's modules are imported by `load`,
when a command runs, so `--help` stays cheap.

The built-in project is an ordinary project of its own, `projects/echelon/`
in a source checkout (its pyproject.toml, its `echelon_project` package, its
data, migrations and golden files), copied to `echelon_seed/_project/` in an
installed wheel.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .errors import ConfigError
from .tool_tables import DIGESTS_FILE

if TYPE_CHECKING:
    from sqlalchemy import MetaData, Table

__all__ = [
    "ENV",
    "KEYS",
    "MAX_FIXTURE_MB",
    "Config",
    "Project",
    "check_output",
    "command_options",
    "data_dir",
    "display",
    "ignored_files",
    "builtin_config",
    "echelon",
    "find",
    "load",
    "migrations_dir",
    "replaced",
    "resolve",
    "root",
    "snapshots_dir",
]

#: The environment variable naming a project (a directory or its pyproject.toml).
ENV = "ECHELON_SEED_PROJECT"
#: Every key of [tool.echelon-seed], and whether it must be given.
KEYS: Mapping[str, bool] = {
    "name": True,
    "metadata": False,
    "migrations": False,
    "fixtures": True,
    "snapshots": True,
    "generators": False,
    "ignore": False,
    "schema": False,
    "engine": False,
    "mask": False,
    "max_fixture_mb": False,
    "cache_max_mb": False,
}
#: The largest fixture file read, in megabytes, unless the configuration's `max_fixture_mb` says otherwise.
MAX_FIXTURE_MB = 64
#: The replay cache's size cap in megabytes, unless `cache_max_mb` or $ECHELON_SEED_CACHE_MAX_MB says otherwise.
CACHE_MAX_MB = 2048
_SECTION = "echelon-seed"
_PYPROJECT = "pyproject.toml"
_PACKAGE = Path(__file__).resolve().parent


def _in_key_order(metadata: MetaData) -> tuple[Table, ...]:
    """`metadata.sorted_tables` without its warning about a cycle: `cycles` writes those keys after the rows."""
    from sqlalchemy.sql.ddl import sort_tables_and_constraints

    by_key = sorted(metadata.tables.values(), key=lambda t: t.key)  # what sorted_tables starts from
    ordered = sort_tables_and_constraints(by_key)  # type: ignore[no-untyped-call]
    return tuple(table for table, _keys in ordered if table is not None)


@dataclass(frozen=True)
class Project:
    """Everything echelon-seed needs to know about one project, built once and passed down."""

    name: str
    metadata: MetaData
    fixtures: Path
    snapshots: Path
    migrations: Path | None = None
    generators: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    #: Where the configuration came from (None: the built-in project).
    source: Path | None = None
    #: The PostgreSQL schema of the tables: every statement names it (SQLite has none and ignores it).
    schema: str = "public"
    #: The module holding the metadata: its package's code is part of the no-op stamp (see `stamp`).
    metadata_module: str = ""
    #: Files the configuration was read from beside `source` (an alembic.ini naming the migrations).
    config_files: tuple[Path, ...] = ()
    #: The [tool.echelon-seed.mask] table as written (checked by `mask.policy` when an export masks).
    mask: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)
    #: No models: the tables are reflected from the database once `migrations` built it (see `reflected`).
    reflect: bool = False
    #: A fixture file larger than this is refused unread (`max_fixture_mb`): odd inputs stay cheap.
    max_fixture_bytes: int = MAX_FIXTURE_MB << 20
    #: The replay cache's size cap (`cache_max_mb`); least recently used entries go first.
    cache_max_mb: int = CACHE_MAX_MB
    #: `engine = "postgresql"`: the schema is written for PostgreSQL (plain SQL migrations with its own
    #: types, say, which nothing can tell before they run), so a fresh seed needs PostgreSQL.
    needs_postgresql: bool = False

    @property
    def sql_migrations(self) -> bool:
        """Whether `migrations` is a directory of plain `*.sql` files (run in name order) rather than Alembic's."""
        return self.migrations is not None and not (self.migrations / "versions").is_dir()

    @property
    def tables(self) -> tuple[Table, ...]:
        """Every table the project owns, in foreign-key order; nothing else is ever cleared."""
        return _in_key_order(self.metadata)

    @cached_property
    def fingerprint(self) -> str:
        """A digest of the tables, columns, keys and types: whether a database holds this schema."""
        hasher = hashlib.sha256()
        for table in sorted(self.metadata.tables.values(), key=lambda t: t.fullname):
            hasher.update(f"table {table.fullname}\n".encode())
            for column in table.columns:
                hasher.update(f"  {column.name} {_describe_type(column.type)} null={column.nullable}\n".encode())
            hasher.update(f"  pk {[c.name for c in table.primary_key.columns]}\n".encode())
            for fk in sorted(table.foreign_keys, key=lambda k: (k.parent.name, k.target_fullname)):
                hasher.update(f"  fk {fk.parent.name} -> {fk.target_fullname}\n".encode())
        return "sha256:" + hasher.hexdigest()

    @property
    def lock_key(self) -> int:
        """The writer lock's key on PostgreSQL (a signed 32-bit integer drawn from the name)."""
        if self.name == "echelon":
            return 1  # the key every earlier echelon-seed used for the built-in project
        return int.from_bytes(hashlib.blake2b(self.name.encode(), digest_size=4).digest(), "big", signed=True)

    def golden_path(self, scale: int = 1) -> Path:
        """The committed golden file: a full snapshot at scale 1, a digest manifest at larger scales."""
        if scale == 1:
            return self.snapshots / f"{self.name}.snapshot.jsonl"
        return self.snapshots / f"{self.name}.scale-{scale}.manifest.json"


def _describe_type(type_: Any) -> str:
    """A type as the fingerprint sees it: its class and the attributes that change storage."""
    parts = []
    for attr in ("length", "precision", "scale", "timezone", "as_uuid", "native_enum", "enums", "item_type"):
        value = getattr(type_, attr, None)
        if value is not None:
            parts.append(f"{attr}={_describe_type(value) if attr == 'item_type' else repr(value)}")
    return f"{type(type_).__name__}({','.join(parts)})"


# --- the built-in Echelon project -------------------------------------------------------------------


def root() -> Path:
    """The built-in project's directory: `projects/echelon` in a source checkout, `_project` in a wheel."""
    checkout = _PACKAGE.parent / "projects" / "echelon"
    if (checkout / _PYPROJECT).is_file():
        return checkout
    return _PACKAGE / "_project"


def data_dir() -> Path:
    return root() / "data"


def migrations_dir() -> Path:
    return root() / "migrations"


def snapshots_dir() -> Path:
    return root() / "snapshots"


_ECHELON: list[Project] = []


def echelon() -> Project:
    """The built-in Echelon project, what echelon-seed uses when no configuration is in sight.

    Loaded from its own pyproject.toml like any project (`load`): the library
    names no module of it.
    """
    if not _ECHELON:
        _ECHELON.append(load(builtin_config()))
    return _ECHELON[0]


def builtin_config() -> Config:
    """The built-in project's configuration, read without importing anything (as `find` reads any)."""
    return _named(str(root()), "the built-in project")


# --- finding and loading a configuration ------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """A [tool.echelon-seed] section as written, read without importing anything."""

    path: Path
    values: Mapping[str, Any]

    @property
    def name(self) -> str:
        name = self.values.get("name")
        return name if isinstance(name, str) else "?"

    def where(self, key: str | None = None) -> str:
        at = f"{display(self.path)} [tool.{_SECTION}]"
        return f"{at} key {key!r}" if key else at


def _read(path: Path) -> Mapping[str, Any] | None:
    """The section of one pyproject.toml, or None when it has none."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {display(path)}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{display(path)} is not valid TOML: {exc}") from None
    tool = document.get("tool")
    section = tool.get(_SECTION) if isinstance(tool, dict) else None
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{display(path)}: [tool.{_SECTION}] must be a table of keys")
    return section


def _named(text: str, origin: str) -> Config:
    path = Path(text).expanduser()
    if path.is_dir():
        path = path / _PYPROJECT
    if not path.is_file():
        raise ConfigError(f"{origin}: no {_PYPROJECT} at {path}")
    section = _read(path)
    if section is None:
        raise ConfigError(f"{origin}: {display(path)} has no [tool.{_SECTION}] section")
    return Config(path=path.resolve(), values=section)


def find(explicit: str | os.PathLike[str] | None = None, *, cwd: Path | None = None) -> Config | None:
    """The configuration to use: `explicit` (--project), else $ECHELON_SEED_PROJECT, else walking up."""
    if explicit is not None:
        return _named(os.fspath(explicit), "--project")
    if os.environ.get(ENV):
        return _named(os.environ[ENV], ENV)
    here = (cwd or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / _PYPROJECT
        if candidate.is_file() and (section := _read(candidate)) is not None:
            return Config(path=candidate, values=section)
    return None


def _text(config: Config, key: str) -> str:
    value = config.values[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{config.where(key)}: expected a non-empty string, got {value!r}")
    return value


def _strings(config: Config, key: str) -> tuple[str, ...]:
    value = config.values.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{config.where(key)}: expected a list of strings, got {value!r}")
    return tuple(value)


def _path(config: Config, key: str, *, made_when_needed: bool = False) -> Path:
    """A path key, relative to the pyproject; it must exist unless a command makes it when it writes there."""
    path = (config.path.parent / _text(config, key)).resolve()
    if not made_when_needed and not path.exists():
        raise ConfigError(f"{config.where(key)}: {display(path)} does not exist")
    if path.exists() and not path.is_dir() and made_when_needed:
        raise ConfigError(f"{config.where(key)}: {display(path)} is a file; give a directory")
    return path


def _import(config: Config, key: str, module: str) -> Any:
    try:
        return importlib.import_module(module)
    except Exception as exc:  # their module: any error in it is a configuration problem
        first = (str(exc).strip().splitlines() or [""])[0]
        raise ConfigError(f"{config.where(key)}: cannot import {module!r} ({type(exc).__name__}: {first})") from None


def _metadata(config: Config) -> MetaData:
    from sqlalchemy import MetaData

    spec = _text(config, "metadata")
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f'{config.where("metadata")}: expected "module:attribute", got {spec!r}')
    found = _import(config, "metadata", module_name)
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigError(f"{config.where('metadata')}: {spec!r} has no attribute {part!r}") from None
    if not isinstance(found, MetaData):
        what = f"class {found.__name__}" if isinstance(found, type) else f"a value of type {type(found).__name__}"
        raise ConfigError(
            f"{config.where('metadata')}: {spec!r} is {what}, not a SQLAlchemy MetaData "
            '(declarative models: "module:Base.metadata")'
        )
    return found


def _migrations(config: Config) -> Path | None:
    if "migrations" not in config.values:
        return None
    path = _path(config, "migrations")
    if path.is_file():  # an alembic.ini: its script_location, relative to the file
        from alembic.config import Config as AlembicConfig

        location = AlembicConfig(str(path)).get_main_option("script_location")
        if not location:
            raise ConfigError(f"{config.where('migrations')}: {display(path)} sets no script_location")
        path = (path.parent / location.replace("%(here)s", str(path.parent))).resolve()
    if not (path / "versions").is_dir() and not any(path.glob("*.sql")):
        raise ConfigError(
            f"{config.where('migrations')}: {display(path)} is not an Alembic script directory (no versions/) "
            "and holds no *.sql files"
        )
    return path


def load(config: Config | None) -> Project:
    """Build the Project a configuration describes (None: the built-in project), importing its modules."""
    if config is None:
        return echelon()
    unknown = sorted(set(config.values) - set(KEYS))
    if unknown:
        raise ConfigError(f"{config.where(unknown[0])}: unknown key; known: {', '.join(KEYS)}")
    missing = [key for key, required in KEYS.items() if required and key not in config.values]
    if missing:
        raise ConfigError(f"{config.where(missing[0])}: missing (required: name, fixtures, snapshots)")
    if "metadata" not in config.values and "migrations" not in config.values:
        raise ConfigError(
            f"{config.where('metadata')}: missing; give the models' MetaData, or (a project without models) "
            "the migrations that build the schema"
        )
    name = _text(config, "name")
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"{config.where('name')}: {name!r} may hold only letters, digits, '-' and '_'")
    # Their models (and migrations, and generators) import their own packages.
    directory = str(config.path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    reflect = "metadata" not in config.values
    if reflect:
        from sqlalchemy import MetaData

        metadata = MetaData()  # filled from the database after the migrations (see `reflected`)
    else:
        metadata = _metadata(config)
    # Made by the command that first writes there (export, verify --update): git keeps no empty directory.
    fixtures = _path(config, "fixtures", made_when_needed=True)
    snapshots = _path(config, "snapshots", made_when_needed=True)
    migrations = _migrations(config)
    ini = _path(config, "migrations") if migrations is not None else None
    generators = _strings(config, "generators")
    for module in generators:
        _import(config, "generators", module)
    return Project(
        name=name,
        metadata=metadata,
        fixtures=fixtures,
        snapshots=snapshots,
        migrations=migrations,
        generators=generators,
        ignore=_strings(config, "ignore"),
        source=config.path,
        schema=_text(config, "schema") if "schema" in config.values else "public",
        metadata_module="" if reflect else _text(config, "metadata").partition(":")[0],
        config_files=(ini,) if ini is not None and ini.is_file() else (),
        mask=_mask(config),
        reflect=reflect,
        max_fixture_bytes=_megabytes(config, "max_fixture_mb") << 20,
        cache_max_mb=_megabytes(config, "cache_max_mb", CACHE_MAX_MB),
        needs_postgresql=_engine(config) == "postgresql",
    )


def _engine(config: Config) -> str | None:
    value = config.values.get("engine")
    if value is not None and value not in ("sqlite", "postgresql"):
        raise ConfigError(f'{config.where("engine")}: expected "sqlite" or "postgresql", got {value!r}')
    return value


def _megabytes(config: Config, key: str, default: int = MAX_FIXTURE_MB) -> int:
    value = config.values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{config.where(key)}: expected a whole number of megabytes (1 or more), got {value!r}")
    return value


def _mask(config: Config) -> Mapping[str, Any] | None:
    value = config.values.get("mask")
    if value is not None and not isinstance(value, dict):
        raise ConfigError(f"{config.where('mask')}: expected a table of rules ([tool.{_SECTION}.mask]), got {value!r}")
    return value


def resolve(explicit: str | os.PathLike[str] | None = None) -> Project:
    """The project for this run: found (see `find`) and loaded, or the built-in one."""
    return load(find(explicit))


# --- paths ------------------------------------------------------------------------------------------


def display(path: Path) -> str:
    """`path` as a person would type it here: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def command_options(chosen: Project) -> list[str]:
    """`--project PATH` when a command pasted here would not find `chosen` by itself, else nothing.

    Hints are commands to paste; one that found another project (or the
    built-in one) would act on other tables.
    """
    try:
        found = find()
    except ConfigError:
        found = None
    here = found.path if found is not None else None
    if chosen.source == here:
        return []
    if here is None and chosen.source == (root() / _PYPROJECT).resolve():
        return []  # the built-in project: what a command finds when nothing else is in sight
    if chosen.source is None:
        # The built-in project, where a configuration is in sight: it has no path to name.
        return ["--project", str(root())] if (root() / _PYPROJECT).is_file() else []
    return ["--project", display(chosen.source.parent)]


def ignored_files(directory: Path) -> list[str]:
    """The files of a fixture directory that are not fixtures (only *.json is read), to be named once.

    Hidden files (.gitkeep) and subdirectories are nobody's fixtures and are
    not named; an unreadable directory is the reader's to report.
    """
    try:
        with os.scandir(directory) as entries:
            return sorted(
                e.name
                for e in entries
                if not e.name.endswith(".json")
                and not e.name.startswith(".")
                and e.name != DIGESTS_FILE
                and not e.is_dir()
            )
    except OSError:
        return []


def check_output(target: Path, *, directory: bool = False) -> None:
    """Refuse, before any work, an output path that cannot be written: one line naming it and why.

    Every command that writes a file (`snapshot -o`, `export-sql -o`, `verify
    --update`, `--save-actual`, `--junit-xml`) or a directory (`export -o`)
    asks here first, so that a mistyped path is said as such, never as an
    internal error or as the database's fault. The parent directory is
    probed by creating a file in it and removing it: permissions alone do not
    tell (root may write anywhere, yet not into /proc).
    """
    problem = _output_problem(target, directory=directory)
    if problem is not None:
        raise ConfigError(f"cannot write {target}: {problem}")


def _output_problem(target: Path, *, directory: bool) -> str | None:
    import tempfile

    if directory:
        if target.exists() and not target.is_dir():
            return "it exists and is not a directory; give a directory for the fixture files"
    elif target.is_dir():
        return "it is a directory; give a file name"
    elif target.exists():
        if not target.is_file():
            return None if os.access(target, os.W_OK) else "it is not writable"
        if not os.access(target, os.W_OK):
            return "it is not writable"
    parent = target.parent
    if directory:
        # A directory of fixtures is made with its missing parents (`export -o seed/fixtures` in a new
        # project): the nearest one that exists must take it.
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    if not parent.exists():
        return f"the directory {parent} does not exist (create it first)"
    if not parent.is_dir():
        return f"{parent} is not a directory"
    try:
        if directory:
            os.rmdir(tempfile.mkdtemp(prefix=".echelon-seed-probe-", dir=parent))
        else:
            fd, probe = tempfile.mkstemp(prefix=".echelon-seed-probe-", dir=parent)
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        return f"the directory {parent} does not take new files ({exc.strerror or exc})"
    return None


@contextmanager
def replaced(target: Path) -> Iterator[IO[bytes]]:
    """A stream whose bytes replace `target` only once the block succeeds (golden files, snapshots).

    A target that exists and is not a regular file (/dev/null, a FIFO) is
    written in place: renaming over it would replace a device with a file.
    A path that cannot be written is a ConfigError naming it (see `check_output`).
    """
    check_output(target)
    if target.exists() and not target.is_file():
        with _writing(target, target) as out:
            yield out
        return
    staged = target.with_name(target.name + ".tmp")
    try:
        with _writing(staged, target) as out:
            yield out
        try:
            staged.replace(target)
        except OSError as exc:
            raise ConfigError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        staged.unlink(missing_ok=True)


@contextmanager
def _writing(path: Path, target: Path) -> Iterator[IO[bytes]]:
    try:
        out = path.open("wb")
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}") from None
    with out:
        yield out
