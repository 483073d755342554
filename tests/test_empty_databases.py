"""One rule for empty databases: `verify` and every form of `diff` refuse an empty side (exit 2).

An empty database (no tables, no schema revision), or a snapshot file taken
of one, is never compared, on either side and whatever the other side is:
two empty databases "matching" would be a gate that checked nothing.
"""

from __future__ import annotations

from pathlib import Path

from tests import dbtools

EMPTY = "is empty (no tables): there is nothing to compare with"


async def test_every_form_of_diff_and_verify_refuses_an_empty_side(db_url: str, tmp_path: Path) -> None:
    empty = db_url  # created by the fixture, never seeded
    if empty.startswith("sqlite"):
        Path(empty.removeprefix("sqlite:///")).write_bytes(b"")
    seeded = f"sqlite:///{tmp_path / 'seeded.db'}"
    assert dbtools.run_cli("apply", "-q", "--database-url", seeded).returncode == 0
    empty_file, seeded_file = tmp_path / "empty.snapshot", tmp_path / "seeded.snapshot"
    assert dbtools.run_cli("snapshot", "--database-url", empty, "-o", str(empty_file)).returncode == 0
    assert dbtools.run_cli("snapshot", "--database-url", seeded, "-o", str(seeded_file)).returncode == 0
    other_empty = f"sqlite:///{tmp_path / 'other-empty.db'}"
    (tmp_path / "other-empty.db").write_bytes(b"")

    runs = {
        "diff URL URL (both empty)": (["diff", empty, other_empty], empty),
        "diff URL URL": (["diff", seeded, empty], empty),
        "diff URL URL (golden side empty)": (["diff", empty, seeded], empty),
        "diff FILE URL": (["diff", str(seeded_file), empty], empty),
        "diff URL FILE": (["diff", seeded, str(empty_file)], str(empty_file)),
        "diff FILE FILE": (["diff", str(empty_file), str(seeded_file)], str(empty_file)),
        "diff FILE FILE (both empty)": (["diff", str(empty_file), str(empty_file)], str(empty_file)),
        "verify": (["verify", "--database-url", empty], empty),
    }
    for name, (args, side) in runs.items():
        done = dbtools.run_cli("-q", *args)  # quiet: a slow machine's progress lines are not the error line
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        assert len(lines) == 1 and EMPTY in lines[0], (name, done.stderr)
        shown = side if "://" not in side or "@" not in side else side.split("@", 1)[1]
        assert shown in lines[0], (name, lines[0])
        assert "OK" not in done.stdout
