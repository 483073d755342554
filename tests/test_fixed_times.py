"""Absolute times among relative ones: the seed is valid, and `check` and `apply` say what it does to the gate.

A snapshot of a seed placed on an anchor shows every moment relative to that
anchor ("now-3d"), which is what keeps a golden file true from one day to the
next. A fixture that writes one moment as a date ("2020-05-01T09:00:00Z")
beside relative ones is stored as written, so its relative text grows with
each reseed's anchor: the gate would turn red with the clock. The rows are
valid, so nothing is refused; both commands name the column, its first row
and how many, once per column.
"""

from __future__ import annotations

import io
import json
import shutil
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from echelon_seed import commands
from tests import dbtools
from tests.corpus import rental_store

ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
FIXED = ("2020-05-01T09:00:00Z", "2021-02-03T04:05:06Z")
NOTE = (
    "note: fixtures/rental.json row 2 column 'rented_at': 2 absolute time(s) in a seed whose other times are "
    "relative: a snapshot shows them relative to each seed's anchor, so the golden file would change with the "
    'clock; write them relative ("now-3d") or every time absolute'
)


def _mixed(tmp_path: Path) -> Path:
    """The rental store's fixtures with two rentals' `rented_at` written as dates (rows 2 and 3 of the file)."""
    fixtures = tmp_path / "fixtures"
    shutil.copytree(rental_store.FIXTURES, fixtures)
    path = fixtures / "rental.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    for row, fixed in zip(document["rows"][1:], FIXED, strict=True):
        row["rented_at"] = fixed
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return fixtures


async def _rental_lines(url: str, tmp_path: Path, fixtures: Path) -> list[str]:
    out = io.BytesIO()
    await commands.snapshot(url, out, project=rental_store.project(tmp_path, fixtures=fixtures))
    return [line for line in out.getvalue().decode().splitlines() if line.startswith('["rental"')]


async def test_the_note_is_true_the_fixed_times_move_with_the_anchor_and_only_they(
    db_url: str, new_database: Callable[[], str], tmp_path: Path
) -> None:
    fixtures = _mixed(tmp_path)
    mixed = rental_store.project(tmp_path, fixtures=fixtures)

    assert commands.check(project=mixed) == []
    notes = [str(note) for note in commands.notes(project=mixed)]
    assert len(notes) == 1, notes
    assert (
        "rental.json row 2 column 'rented_at': 2 absolute time(s) in a seed whose other times are relative"
        in (notes[0])
    )

    first = await commands.apply(db_url, project=mixed, anchor=ANCHOR)
    assert first.notes == tuple(notes)
    later = new_database()
    await commands.apply(later, project=mixed, anchor=ANCHOR + timedelta(days=1))
    today, tomorrow = await _rental_lines(db_url, tmp_path, fixtures), await _rental_lines(later, tmp_path, fixtures)

    changed = [(a, b) for a, b in zip(today, tomorrow, strict=True) if a != b]
    assert [json.loads(a)[1]["rental_id"] for a, _ in changed] == [2, 7]  # the two dates, nothing else
    assert all('"rented_at":"now-' in a and '"rented_at":"now-' in b for a, b in changed)


async def test_one_way_of_writing_times_gets_no_note(db_url: str, tmp_path: Path) -> None:
    relative = rental_store.project(tmp_path)
    assert commands.notes(project=relative) == []
    assert (await commands.apply(db_url, project=relative, anchor=ANCHOR)).notes == ()

    absolute = tmp_path / "absolute"
    await commands.export(db_url, absolute, project=relative, absolute=True)
    assert commands.notes(project=rental_store.project(tmp_path, fixtures=absolute)) == []


def test_check_and_apply_print_the_note_on_stderr_once_and_quiet_apply_does_not(tmp_path: Path) -> None:
    fixtures = _mixed(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [tool.echelon-seed]
            name = "rental"
            metadata = "tests.corpus.rental_store:metadata"
            fixtures = "{fixtures}"
            snapshots = "snapshots"
            """
        ),
        encoding="utf-8",
    )
    project = ["--project", str(tmp_path)]

    checked = dbtools.run_cli("check", *project, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines()[0] == "fixtures OK"
    notes = [line for line in checked.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [NOTE], checked.stderr
    assert NOTE in (dbtools.REPO / "docs" / "real-schemas.md").read_text(encoding="utf-8")  # the page shows it

    url = f"sqlite:///{tmp_path / 'dev.db'}"
    applied = dbtools.run_cli("apply", *project, "--anchor", "2026-11-24T12:00:00Z", database_url=url, cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert [line for line in applied.stderr.splitlines() if line.startswith("note: ")] == notes
    quiet = dbtools.run_cli("apply", *project, "--force", "-q", database_url=url, cwd=tmp_path)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
