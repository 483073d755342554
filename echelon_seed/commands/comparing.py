"""`diff`: any two sides, each a database or a snapshot file, compared as `verify` compares."""

from __future__ import annotations

import shlex
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from echelon_seed import diff, engines, progress
from echelon_seed import project as projects
from echelon_seed import snapshot as snapshots
from echelon_seed.errors import OlderFormatError, SnapshotError
from echelon_seed.project import Project

from .reading import snapshot


@dataclass(frozen=True)
class DiffResult:
    """The report of `diff_sources`, with how each side was named."""

    report: diff.Report
    golden: str
    actual: str

    @property
    def matches(self) -> bool:
        return self.report.matches


def is_url(text: str) -> bool:
    """Whether a `diff` argument names a database (a URL) rather than a snapshot file."""
    return "://" in text or text.startswith("sqlite:")


def _file_side(text: str) -> tuple[Path, snapshots.Header, bool]:
    """A snapshot file given to `diff`: checked against its own digests; (path, header, is a manifest)."""
    path = Path(text)
    if not path.is_file():
        raise SnapshotError(f"no snapshot file at {text} (a database needs a URL: sqlite:///path or postgresql://...)")
    try:
        with path.open("rb") as raw:
            header = snapshots.check_consistent(text, raw)
    except OlderFormatError as exc:
        raise OlderFormatError(
            f"{exc}; write it again from the database it was taken from: "
            f"echelon-seed snapshot --database-url URL -o {shlex.quote(text)}"
        ) from None
    with path.open("rb") as raw:
        raw.readline()
        manifest = not raw.readline()
    return path, header, manifest


async def diff_sources(
    a: str,
    b: str,
    *,
    ignore: Sequence[str] | None = None,
    limit: int | None = diff.DEFAULT_LIMIT,
    save_actual: Path | None = None,
    reporter: progress.Reporter | None = None,
    project: Project | None = None,
    indexes: bool = False,
    views: bool = False,
) -> DiffResult:
    """Compare A (taken as the golden side) with B; each a database URL or a snapshot file.

    The comparison is `verify`'s (`diff.compare`, the same report and exit
    codes). A database is snapshotted read-only with the `ignore` patterns,
    else with those recorded in the file on the other side; against a
    manifest it is summarised into a manifest too. A database is read as
    `snapshot` and `verify` read it, with the project's declared types, so
    that a file and the database it was taken from compare equal.
    """
    project = project or projects.echelon()
    files = {text: _file_side(text) for text in (a, b) if not is_url(text)}
    recorded = next((header.ignore for _, header, _ in files.values()), [])
    patterns = list(ignore) if ignore is not None else recorded
    manifest = any(is_manifest for _, _, is_manifest in files.values())
    labels = {text: engines.redact(text) if is_url(text) else text for text in (a, b)}
    with tempfile.TemporaryDirectory(prefix="echelon-seed-diff-") as scratch:
        paths: list[Path] = []
        for index, text in enumerate((a, b)):
            if text in files:
                paths.append(files[text][0])
                continue
            path = Path(scratch) / f"side-{index}.snapshot"
            with path.open("wb") as out:
                header = await snapshot(text, out, blocks=manifest, ignore=patterns, reporter=reporter, project=project)
            if manifest:
                path.write_text(header.to_line(blocks=True) + "\n", encoding="utf-8")
            paths.append(path)
        if save_actual is not None:
            with projects.replaced(save_actual) as out, paths[1].open("rb") as source:
                shutil.copyfileobj(source, out)
        report = diff.compare(
            paths[0],
            paths[1],
            limit=limit,
            golden_label=labels[a],
            actual_label=labels[b],
            golden_side=labels[a],
            actual_side=labels[b],
            indexes=indexes,
            views=views,
        )
    return DiffResult(report=report, golden=labels[a], actual=labels[b])
