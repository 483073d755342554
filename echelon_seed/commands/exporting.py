"""`export`, `export-sql` and `check --leaks`: fixtures and scripts out of a database or a seed, masked or not."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from echelon_seed import engines, fixtures, progress, seeder
from echelon_seed import mask as masking
from echelon_seed import project as projects
from echelon_seed.errors import ConfigError
from echelon_seed.project import Project
from echelon_seed.version import __version__

from .targets import reflected_project, resolve_url


@dataclass(frozen=True)
class ExportResult:
    """What `export` wrote: rows per table, the tables added for foreign keys, the tables left out."""

    database: str
    directory: Path
    anchor: datetime | None
    rows: dict[str, int]
    added: dict[str, int]
    left_out: list[str]
    seconds: float
    #: With a masking policy: the masked columns (table.column), and how many original values were recorded.
    masked: tuple[str, ...] = ()
    recorded: int = 0


async def export(
    database_url: str | None = None,
    output: Path | None = None,
    *,
    tables: Sequence[str] = (),
    roots: Sequence[str] = (),
    anchor: datetime | None = None,
    absolute: bool = False,
    force: bool = False,
    reporter: progress.Reporter | None = None,
    project: Project | None = None,
    mask: masking.Policy | None = None,
    mask_key: masking.MaskKey | None = None,
) -> ExportResult:
    """Write the project's fixture files from a database (all of it, or the closure of `tables` and `roots`).

    Times are relative to `anchor`, else to the seed record's anchor when the
    database is a seed of this project, else absolute (always with `absolute`).
    With `mask`, values are masked by the policy with `mask_key` (else the key
    from the environment), the leak digests are written beside the files, and
    the files are published only when the leak check finds no original value.
    """
    from echelon_seed import export as exporting

    project = project or projects.echelon()
    if project.reflect:
        return await _export_reflected(
            database_url,
            output,
            tables=tables,
            roots=roots,
            anchor=anchor,
            absolute=absolute,
            force=force,
            reporter=reporter,
            project=project,
            mask=mask,
            mask_key=mask_key,
        )
    if anchor is not None and absolute:
        raise ConfigError("--anchor and --absolute exclude each other: times are relative to one anchor, or absolute")
    known = [t.name for t in project.tables]
    for name in tables:
        if name not in known:
            raise ConfigError(f"--tables: project {project.name!r} has no table {name!r}; known: {', '.join(known)}")
    parsed = [exporting.parse_root(text, project) for text in roots]
    target = output or project.fixtures
    exporting.check_destination(target, force=force)
    masker = _masker(mask, mask_key, project, [*tables, *(r.table for r in parsed)])
    started = time.perf_counter()
    database = engines.open_database(resolve_url(database_url), write=False)
    if reporter is not None:
        reporter.phase("exporting", None)
    try:
        async with database.transaction() as conn:
            left_out = await exporting.check_target(conn, project)
            if anchor is None and not absolute:
                record = await seeder.read_record(conn)
                relative = record is not None and record.same_schema(project) and record.anchored
                anchor = record.anchor if record is not None and relative else None
            selection = (
                await exporting.read_selection(conn, project, tables=tables, roots=parsed, backend=database.backend)
                if tables or parsed
                else None
            )
            with exporting.staged_directory(target, project) as staged:
                rows = await exporting.write_tables(
                    conn,
                    database.backend,
                    project,
                    staged,
                    anchor=anchor,
                    selection=selection,
                    reporter=reporter,
                    mask=masker,
                )
                if masker is not None:
                    _check_leaks(masker, staged)
    finally:
        await database.dispose()
    added = {name: n for name, n in rows.items() if selection is not None and name not in selection.asked}
    return ExportResult(
        database=database.display,
        directory=target,
        anchor=anchor,
        rows=rows,
        added=added,
        left_out=left_out,
        seconds=time.perf_counter() - started,
        masked=tuple(f"{r.target.name}" for r in masker.plan.masked()) if masker is not None else (),
        recorded=len(masker.recorder) if masker is not None else 0,
    )


def _masker(
    policy: masking.Policy | None, key: masking.MaskKey | None, project: Project, tables: Sequence[str]
) -> masking.Masker | None:
    """The policy checked against the schema and bound to the key, before any database is opened."""
    if policy is None:
        return None
    checked = masking.plan(policy, project, tables)
    return masking.Masker(checked, key or masking.read_key())


def _check_leaks(masker: masking.Masker, staged: Path) -> None:
    """Write the digest file beside the staged fixtures and refuse to publish them if an original shows."""
    masker.recorder.write(staged / masking.DIGESTS_FILE, masker.plan.unscanned())
    leaks = masking.scan_directory(masker.detector(), staged)
    if leaks:
        raise masking.LeakError(
            leaks, "nothing was written: mask that column too (or the column its value came from) and export again"
        )


@dataclass(frozen=True)
class LeakResult:
    """What `check_leaks` read and found: the source, the leaks (none when clean), the digests it had."""

    source: str
    leaks: list[masking.Leak]
    recorded: int


async def check_leaks(
    *,
    fixtures_dir: Path | None = None,
    database_url: str | None = None,
    snapshot: Path | None = None,
    digests: Path | None = None,
    project: Project | None = None,
    mask_key: masking.MaskKey | None = None,
) -> LeakResult:
    """Look for the original values a masked export recorded, in fixtures, a database or a snapshot file.

    The digests are those of `digests`, else the digest file in the fixture
    directory; the key is `mask_key`, else the one in the environment.
    """
    project = project or projects.echelon()
    if database_url is not None and snapshot is not None:
        raise ConfigError("check --leaks reads one source: a database (--database-url) or a snapshot (--snapshot)")
    directory = fixtures_dir or project.fixtures
    detector = masking.Detector.read(digests or directory / masking.DIGESTS_FILE, mask_key or masking.read_key())
    if snapshot is not None:
        return LeakResult(projects.display(snapshot), masking.scan_snapshot(detector, snapshot), len(detector.found))
    if database_url is None:
        return LeakResult(projects.display(directory), masking.scan_directory(detector, directory), len(detector.found))
    database = engines.open_database(resolve_url(database_url), write=False)
    leaks: list[masking.Leak] = []
    try:
        async with database.transaction() as conn:
            project = await reflected_project(conn, project)  # without models, the tables are the database's
            for table in project.tables:
                keys = [database.backend.sort_key(c) for c in table.primary_key.columns]
                names = table.columns.keys()
                result = await conn.execute(select(*table.columns).order_by(*keys))
                skip = {c for t, c in detector.unscanned if t == table.name}
                rows = (dict(zip(names, row, strict=True)) for row in result)
                leaks += masking.scan_rows(detector, f"table {table.name}", rows, skip)
    finally:
        await database.dispose()
    return LeakResult(database.display, leaks, len(detector.found))


async def _export_reflected(database_url: str | None, output: Path | None, **options: Any) -> ExportResult:
    """`export` for a project without models: its tables are the database's, read first."""
    project: Project = options.pop("project")
    database = engines.open_database(resolve_url(database_url), write=False, schema=project.schema)
    try:
        async with database.transaction() as conn:
            project = await reflected_project(conn, project)
    finally:
        await database.dispose()
    from dataclasses import replace

    return await export(database_url, output, project=replace(project, reflect=False), **options)


def export_sql(
    out: IO[bytes],
    *,
    fixtures_dir: Path | None = None,
    scale: int = 1,
    with_schema: bool = False,
    project: Project | None = None,
    mask: masking.Policy | None = None,
    mask_key: masking.MaskKey | None = None,
) -> int:
    """Write the seed as a psql script (see `export_sql`) to `out`; return its row count. No database is read.

    With `mask`, the rows are masked by the policy (as `export` does) and checked for leaks.
    """
    import io

    from echelon_seed import export_sql as scripts

    if scale < 1:
        raise ValueError("scale must be at least 1")
    project = project or projects.echelon()
    if project.reflect:
        raise ConfigError(
            f"project {project.name!r} has no models, so export-sql cannot know its tables without a database: "
            "seed one with 'echelon-seed apply' and give the script's reader that, or add models"
        )
    masker = _masker(mask, mask_key, project, ())
    fixture_set = fixtures.load(fixtures_dir or project.fixtures, project)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=False)
    try:
        return scripts.write_script(
            text, project, fixture_set, scale=scale, with_schema=with_schema, tool_version=__version__, mask=masker
        )
    finally:
        text.flush()
        text.detach()
