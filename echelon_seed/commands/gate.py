"""`verify`: a database (or a fresh seed) against the committed golden file, and the hints that rewrite it."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from echelon_seed import diff, engines, fixtures, progress
from echelon_seed import project as projects
from echelon_seed import snapshot as snapshots
from echelon_seed.errors import RefusedError, SnapshotError
from echelon_seed.project import Project

from .hints import command_options, pasteable
from .reading import snapshot
from .seeding import apply
from .targets import scratch_database


def golden_path(scale: int = 1, project: Project | None = None) -> Path:
    """The committed golden file: a full snapshot at scale 1, a digest manifest at larger scales."""
    return (project or projects.echelon()).golden_path(scale)


def regenerate_command(
    scale: int = 1,
    *,
    golden: Path | None = None,
    fixtures_dir: Path | None = None,
    database_url: str | None = None,
    ignore: Sequence[str] = (),
    project: Project | None = None,
) -> str:
    """The `verify --update` that rewrites the file just verified: the user's own options, replayed.

    A hint that drops an option does something else when pasted (rewrites
    the default golden file, reads another database), so every option that
    chose the golden file, the fixtures, the scale, the ignored columns or the
    database is repeated; the password of a URL is shown as ***.
    """
    words = ["echelon-seed", "verify", "--update"]
    if project is not None:
        words += projects.command_options(project)
    if database_url is not None:
        words += ["--database-url", pasteable(database_url)]
    if fixtures_dir is not None:
        words += ["--fixtures", str(fixtures_dir)]
    if scale != 1:
        words += ["--scale", str(scale)]
    if golden is not None:
        words += ["--golden", str(golden)]
    for pattern in ignore:
        words += ["--ignore", pattern]
    return shlex.join(words)


@dataclass(frozen=True)
class VerifyResult:
    """The verdict of `verify`: a report to print, or the golden file that was (re)written."""

    golden: Path
    header: snapshots.Header
    database: str
    regenerate: str
    report: diff.Report | None = None
    updated: bool = False
    #: When `regenerate` would be refused (the database was seeded at another scale or from other
    #: fixtures), what to do instead, as a sentence ending in a command.
    advice: str | None = None

    @property
    def matches(self) -> bool:
        return self.report is None or self.report.matches


def verify_target(database_url: str | None, *, fresh: bool = False) -> str | None:
    """The database `verify` reads: --database-url, else $DATABASE_URL when set, else None (a fresh seed)."""
    if database_url is not None:
        return database_url
    if fresh:
        return None
    return os.environ.get("DATABASE_URL") or None


async def verify(
    database_url: str | None = None,
    *,
    golden: Path | None = None,
    fixtures_dir: Path | None = None,
    scale: int = 1,
    update: bool = False,
    limit: int | None = diff.DEFAULT_LIMIT,
    ignore: Sequence[str] | None = None,
    fresh: bool = False,
    save_actual: Path | None = None,
    reporter: progress.Reporter | None = None,
    project: Project | None = None,
    allow_large: bool = False,
    indexes: bool = False,
    views: bool = False,
) -> VerifyResult:
    """Compare a database with the golden file (or rewrite the golden file with `update`).

    The database is `verify_target`'s: the URL given, else $DATABASE_URL, else
    (or with `fresh`) a fresh temporary SQLite database seeded from the
    fixtures, which is what CI checks without a server: the fixtures still
    produce the committed snapshot. A database given by URL is only read.
    Without `ignore`, a golden file made with ignored columns is verified
    with the same ones, and one is made with the project's `ignore` list.
    `indexes` and `views` make those sections part of the verdict.
    """
    project = project or projects.echelon()
    golden_file = golden or golden_path(scale, project)
    manifest = scale != 1
    hint = regenerate_command(
        scale, golden=golden, fixtures_dir=fixtures_dir, database_url=database_url, ignore=ignore or (), project=project
    )
    patterns = list(project.ignore if ignore is None else ignore)
    if not update:
        if not golden_file.is_file():
            raise SnapshotError(f"no golden file at {projects.display(golden_file)}; create it with: {hint}")
        try:
            with golden_file.open("rb") as raw:
                recorded = snapshots.check_consistent(projects.display(golden_file), raw).ignore
        except SnapshotError as exc:
            raise SnapshotError(f"{exc}; regenerate it with: {hint}") from None
        if ignore is None:
            patterns = recorded
    url = verify_target(database_url, fresh=fresh)
    with (
        tempfile.TemporaryDirectory(prefix="echelon-seed-verify-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        seeded_here = url is None
        if url is None:
            url = stack.enter_context(scratch_database(Path(scratch), project, "verify"))
            await apply(
                url, fixtures_dir=fixtures_dir, scale=scale, reporter=reporter, project=project, allow_large=allow_large
            )
            database = f"a fresh database seeded from {projects.display(fixtures_dir or project.fixtures)}"
        else:
            database = engines.redact(url)
        actual = Path(scratch) / "actual.snapshot"
        with actual.open("wb") as out:
            header = await snapshot(url, out, blocks=manifest, ignore=patterns, reporter=reporter, project=project)
        if manifest:
            actual.write_text(header.to_line(blocks=True) + "\n", encoding="utf-8")
        if save_actual is not None:
            with projects.replaced(save_actual) as out, actual.open("rb") as source:
                shutil.copyfileobj(source, out)
        if update:
            if golden is None and not seeded_here:
                _check_default_golden_source(header, fixtures_dir, scale, database, golden_file, project)
            if golden is None:  # the project's own snapshots directory is made when first written
                golden_file.parent.mkdir(parents=True, exist_ok=True)
            with projects.replaced(golden_file) as out, actual.open("rb") as source:
                shutil.copyfileobj(source, out)
            return VerifyResult(golden=golden_file, header=header, database=database, regenerate=hint, updated=True)
        report = diff.compare(
            golden_file,
            actual,
            limit=limit,
            golden_label=projects.display(golden_file),
            actual_label=database,
            indexes=indexes,
            views=views,
        )
    advice = None
    if not report.matches and not seeded_here and golden is None:
        advice = _verify_advice(header, scale, fixtures_dir, database_url, ignore, project)
    return VerifyResult(
        golden=golden_file, header=header, database=database, regenerate=hint, report=report, advice=advice
    )


def _verify_advice(
    header: snapshots.Header,
    scale: int,
    fixtures_dir: Path | None,
    database_url: str | None,
    ignore: Sequence[str] | None,
    project: Project,
) -> str | None:
    """What to run when `verify --update` would refuse this database: every hint must work when pasted.

    A database seeded at another scale is verified at that scale (its
    manifest, or `--update` to make one); one seeded from other fixtures
    cannot rewrite the project's golden file, so it is reseeded first.
    """
    words = ["echelon-seed"]
    options = command_options(database_url=database_url, fixtures_dir=fixtures_dir, project=project)
    if header.scale is not None and header.scale != scale:
        exists = project.golden_path(header.scale).is_file()
        words += ["verify", *([] if exists else ["--update"]), *options, "--scale", str(header.scale)]
        words += [w for pattern in ignore or () for w in ("--ignore", pattern)]
        what = "verify it at that scale" if exists else "make that scale's golden file from it"
        return f"the database was seeded at scale {header.scale}; {what}: {shlex.join(words)}"
    if header.fixtures is None:
        return None
    wanted = _fixture_digest(fixtures_dir or project.fixtures, project)
    if header.fixtures == wanted:
        return None
    words += ["apply", "--force", *options, *(["--scale", str(scale)] if scale != 1 else [])]
    return (
        f"the database was seeded from other fixtures ({header.fixtures[:19]}…; these are {wanted[:19]}…); "
        f"reseed it from these fixtures, then verify again: {shlex.join(words)}"
    )


def _fixture_digest(directory: Path, project: Project) -> str:
    """The digest an apply of these fixtures would record, to compare with a database's seed record.

    Only the digest is wanted: the size limit is apply's business, not this
    comparison's. A project without models knows its tables only from a
    migrated database, so its digest is taken over the files as they are
    (the same digest `load` gives once the tables are known).
    """
    if project.reflect:
        return fixtures.digest(directory, project.generators)
    return fixtures.load(directory, project, allow_large=True).digest


def _check_default_golden_source(
    header: snapshots.Header,
    fixtures_dir: Path | None,
    scale: int,
    database: str,
    golden_file: Path,
    project: Project,
) -> None:
    """The project's golden file describes its fixtures: a database seeded from other fixtures may not rewrite it.

    A database echelon-seed did not seed (no seed record) may: its golden
    file is then the description of that database, which is what a team
    adopting the gate on an existing database wants.
    """
    if header.fixtures is None:
        return
    wanted = _fixture_digest(fixtures_dir or project.fixtures, project)
    if header.fixtures == wanted and header.scale == scale:
        return
    has = f"fixtures {header.fixtures[:19]}…, scale {header.scale}"
    raise RefusedError(
        f"refusing to rewrite {projects.display(golden_file)} from {database}: it was not seeded from these fixtures "
        f"at scale {scale} ({has}; the fixtures are {wanted[:19]}…); to write it anyway, name it: "
        f"--golden {projects.display(golden_file)}"
    )
