"""`apply --scale N` and digest manifests: correct at scale, not fast (timing is the benchmark's job).

Scale 3 keeps this quick while still exercising every code path that larger
scales take: generated tables multiplied, manifests instead of full golden
files, and block digests that locate a difference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands
from echelon_seed import snapshot as snapshots
from tests import dbtools
from tests.dbtools import snapshot_bytes

ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)
GENERATED = ("price_history", "wing_flaps")
KEYS = {"price_history": ("timeline_id", "ts"), "wing_flaps": ("id",)}
SCALE_1 = dbtools.CANONICAL_ROWS
SCALE_3 = {**SCALE_1, "price_history": 120, "wing_flaps": 225}


def lines_by_table(data: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in data.decode("utf-8").splitlines()[1:]:
        out.setdefault(json.loads(line)[0], []).append(line)
    return out


def key_of(table: str, line: str) -> tuple[Any, ...]:
    row = json.loads(line)[1]
    return tuple(row[k] for k in KEYS[table])


# --- seeding at scale -----------------------------------------------------------------------------------


async def test_scale_3_multiplies_only_the_generated_tables(db_url: str) -> None:
    result = await commands.apply(db_url, anchor=ANCHOR, scale=3)

    counts = await dbtools.row_counts(db_url)

    assert counts == {**SCALE_3, "echelon_seed_runs": 1}
    assert result.rows == SCALE_3
    assert result.scale == 3


async def test_scale_3_rows_include_every_scale_1_row_unchanged(db_url: str, new_database: Callable[[], str]) -> None:
    small = new_database()
    await commands.apply(small, anchor=ANCHOR, scale=1)
    await commands.apply(db_url, anchor=ANCHOR, scale=3)
    one = lines_by_table(await snapshot_bytes(small))
    three = lines_by_table(await snapshot_bytes(db_url))

    for table in GENERATED:
        keys = {key_of(table, line) for line in one[table]}
        assert len(keys) == len(one[table])
        assert [line for line in three[table] if key_of(table, line) in keys] == one[table], table
        assert len(three[table]) == 3 * len(one[table])
    for table in set(SCALE_1) - set(GENERATED):
        assert three[table] == one[table], table


async def test_two_scale_3_applies_hold_equal_snapshots(db_url: str, new_database: Callable[[], str]) -> None:
    again = new_database()
    await commands.apply(db_url, anchor=ANCHOR, scale=3)
    await commands.apply(again, anchor=ANCHOR + timedelta(days=1, hours=3), scale=3)

    assert await snapshot_bytes(db_url) == await snapshot_bytes(again)


async def test_sqlite_and_postgresql_scale_3_snapshots_are_byte_identical(sqlite_url: str, pg_url: str) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR, scale=3)
    await commands.apply(pg_url, anchor=ANCHOR - timedelta(hours=7), scale=3)

    on_sqlite = await snapshot_bytes(sqlite_url)

    assert json.loads(on_sqlite.split(b"\n", 1)[0])["scale"] == 3
    assert on_sqlite == await snapshot_bytes(pg_url)


# --- digest manifests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scale-3 manifest written by `verify --scale 3 --update` from a fresh seed (shared: read-only)."""
    path = tmp_path_factory.mktemp("manifest") / "m.json"
    done = dbtools.run_cli("verify", "--scale", "3", "--update", "--golden", str(path))
    assert done.returncode == 0, done.stderr
    return path


def test_update_at_scale_writes_a_header_only_manifest_with_blocks(manifest: Path) -> None:
    text = manifest.read_text(encoding="utf-8")

    assert text.endswith("\n") and text.count("\n") == 1
    header = json.loads(text)
    assert header["format"] == snapshots.FORMAT
    assert header["scale"] == 3
    assert {name: t["rows"] for name, t in header["tables"].items()} == SCALE_3
    for name, table in header["tables"].items():
        blocks = table["blocks"]
        assert blocks, name
        assert sum(rows for _, rows, _ in blocks) == table["rows"], name
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", digest) for _, _, digest in blocks), name
        assert all(len(first) == len(table["key"]) for first, _, _ in blocks), name
    assert header["tables"]["wing_flaps"]["blocks"][0][0] == ["FLAP_00000"]


def test_fresh_seed_verifies_against_the_manifest(manifest: Path) -> None:
    done = dbtools.run_cli("verify", "--scale", "3", "--golden", str(manifest))

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"OK: {sum(SCALE_3.values()):,} rows in 8 tables match ")


async def test_a_changed_row_at_scale_names_the_table_and_its_block(db_url: str, manifest: Path) -> None:
    await commands.apply(db_url, anchor=ANCHOR, scale=3)
    await dbtools.execute(db_url, "UPDATE wing_flaps SET volume_usd = '1.00' WHERE id = 'FLAP_00150'")

    done = dbtools.run_cli("verify", "--scale", "3", "--database-url", db_url, "--golden", str(manifest))

    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    named = [line for line in lines if line.startswith("  wing_flaps: ")]
    assert len(named) == 1, done.stdout
    assert "225 rows (golden 225)" in named[0]
    assert 'first differing block starts at key ["FLAP_00000"]' in named[0]
    assert not any(line.lstrip().startswith(("agents", "price_history", "users", "timelines")) for line in lines)
    assert "echelon-seed verify --update --database-url " in lines[-1]
    assert lines[-1].endswith(f" --scale 3 --golden {manifest}")


async def test_manifest_blocks_locate_the_changed_row(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small blocks, so that a block other than the first is the one that differs.
    monkeypatch.setattr(snapshots, "BLOCK_ROWS", 50)
    golden = tmp_path / "m.json"
    await commands.apply(db_url, anchor=ANCHOR, scale=3)
    await commands.verify(db_url, scale=3, update=True, golden=golden)
    blocks = json.loads(golden.read_text(encoding="utf-8"))["tables"]["wing_flaps"]["blocks"]
    assert [first for first, _, _ in blocks] == [[f"FLAP_{i:05d}"] for i in range(0, 225, 50)]
    await dbtools.execute(db_url, "UPDATE wing_flaps SET volume_usd = '1.00' WHERE id = 'FLAP_00120'")

    result = await commands.verify(db_url, scale=3, golden=golden)

    assert not result.matches
    assert result.report is not None
    assert [str(d) for d in result.report.differences] == [
        'wing_flaps: 225 rows (golden 225), digest differs; first differing block starts at key ["FLAP_00100"]'
    ]


async def test_scale_3_manifest_against_a_scale_1_database_reports_the_scale(db_url: str, manifest: Path) -> None:
    await commands.apply(db_url, anchor=ANCHOR, scale=1)

    done = dbtools.run_cli("verify", "--scale", "3", "--database-url", db_url, "--golden", str(manifest))

    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    notes = [line for line in lines if line.startswith("note: ")]
    assert len(notes) == 1 and "scale 3" in notes[0] and "scale 1" in notes[0], done.stdout
    # The rows are still compared: the generated tables hold fewer rows than the manifest says.
    assert (
        '  wing_flaps: 75 rows (golden 225), digest differs; first differing block starts at key ["FLAP_00000"]'
        in lines
    )


async def test_committed_scale_100_manifest_verifies_a_fresh_seed() -> None:
    golden = commands.golden_path(100)
    assert golden.is_file(), "snapshots/ must hold the scale-100 manifest"
    with golden.open(encoding="utf-8") as stream:
        assert snapshots.read_header(str(golden), stream).scale == 100

    result = await commands.verify(scale=100)

    assert result.matches, result.report.render("") if result.report else ""
    assert result.header.rows["wing_flaps"] == 7_500
    assert result.header.rows["price_history"] == 4_000  # 4 hourly points x 10 timelines x 100
