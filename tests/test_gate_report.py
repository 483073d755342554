"""The verify report a reviewer reads: unambiguous values, the summary first, volatile columns left out.

Every value is a JSON literal on one line, so two different values never
print alike; the summary groups by table and column, and the examples are
spread so that every differing column shows at least one. Both engines.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from echelon_seed import commands, diff
from tests import dbtools

ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)


def verify(*args: str) -> tuple[int, list[str]]:
    done = dbtools.run_cli("verify", *args)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout.splitlines()


@pytest.fixture
async def seeded(db_url: str) -> str:
    await dbtools.seed(db_url, anchor=ANCHOR)
    return db_url


@pytest.fixture(scope="module")
def edinburgh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per engine, the golden file of the seed with USR_001's bio 'Edinburgh': made by the first test that needs it."""
    return {"directory": tmp_path_factory.mktemp("edinburgh")}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("null", '"null"'),
        (None, "null"),
        ("", '""'),
        ("Edinburgh ", '"Edinburgh "'),
        ("line1\nline2", '"line1\\nline2"'),
        ("tab\there", '"tab\\there"'),
        ("zero\u200bwidth", '"zero\\u200bwidth"'),
        ("no\u00a0break", '"no\\u00a0break"'),
        (unicodedata.normalize("NFD", "Café"), '"Cafe\\u0301"'),
        (", actual 5", '", actual 5"'),
    ],
    ids=["text-null", "sql-null", "empty", "trailing-space", "newline", "tab", "zero-width", "nbsp", "nfd", "fake"],
)
async def test_every_value_prints_as_a_json_literal_on_one_line(
    seeded: str, engine_name: str, edinburgh: dict[str, Path], value: str | None, shown: str
) -> None:
    await dbtools.execute(seeded, "UPDATE users SET bio = 'Edinburgh' WHERE id = 'USR_001'")
    golden = edinburgh.get(engine_name)
    if golden is None:
        golden = edinburgh[engine_name] = edinburgh["directory"] / f"{engine_name}.jsonl"
        await commands.verify(seeded, golden=golden, update=True)
    await dbtools.execute(seeded, "UPDATE users SET bio = :v WHERE id = 'USR_001'", params={"v": value})

    code, lines = verify("--database-url", seeded, "--golden", str(golden))

    assert code == 1
    assert '  users["USR_001"].bio: golden "Edinburgh", actual ' + shown in lines
    assert sum(1 for line in lines if line.startswith('  users["USR_001"]')) == 1


def test_nfc_and_nfd_never_print_alike() -> None:
    nfc, nfd = unicodedata.normalize("NFC", "Café"), unicodedata.normalize("NFD", "Café")
    assert nfc != nfd
    assert diff.literal(nfc) == '"Café"'
    assert diff.literal(nfd) == '"Cafe\\u0301"'
    assert json.loads(diff.literal(nfd)) == nfd  # still a JSON literal of the same text


async def test_the_summary_comes_first_and_every_differing_column_shows_an_example(seeded: str) -> None:
    await dbtools.execute(
        seeded,
        "UPDATE agents SET level = level + 1",
        "UPDATE agents SET sanity = 1",
        "UPDATE wing_flaps SET volume_usd = '1.00' WHERE id = 'FLAP_00070'",
        "DELETE FROM positions WHERE user_id = 'USR_002'",
    )

    code, lines = verify("--database-url", seeded)

    assert code == 1
    rows_at = lines.index("rows:")
    examples_at = lines.index("examples:")
    assert lines[rows_at + 1 : examples_at] == [
        "  agents.level: 12 of 12 rows",
        "  agents.sanity: 12 of 12 rows",
        "  positions: 2 rows only in the golden file",
        "  wing_flaps.volume_usd: 1 of 75 rows",
    ]
    examples = [line for line in lines[examples_at + 1 :] if line.startswith("  ") and "[" in line]
    assert len(examples) == 20
    for needle in (".level:", ".sanity:", "positions[", "wing_flaps["):
        assert any(needle in line for line in examples), needle
    assert "  (+7 more; --full shows them all)" in lines


# --- volatile columns -----------------------------------------------------------------------------------


async def test_ignored_columns_are_recorded_and_used_by_default(seeded: str, tmp_path: Path) -> None:
    golden = tmp_path / "golden.jsonl"
    done = dbtools.run_cli(
        "verify",
        "--update",
        "--database-url",
        seeded,
        "--golden",
        str(golden),
        "--ignore",
        "level",
        "--ignore",
        "*.sanity",
    )
    assert done.returncode == 0, done.stderr
    header = json.loads(golden.read_text(encoding="utf-8").split("\n", 1)[0])
    assert header["ignore"] == ["*.sanity", "level"]
    assert "level" not in [c["name"] for c in header["tables"]["agents"]["columns"]]
    await dbtools.execute(seeded, "UPDATE agents SET level = level + 1, sanity = 1")

    assert verify("--database-url", seeded, "--golden", str(golden))[0] == 0
    code, lines = verify("--database-url", seeded, "--golden", str(golden), "--ignore", "level")

    assert code == 1
    assert lines[:2] == [
        "schema:",
        "  the golden file was made ignoring --ignore *.sanity --ignore level; the database was read ignoring "
        "--ignore level (give the same --ignore options, or regenerate the golden file)",
    ]


async def test_a_table_pattern_keeps_the_key(seeded: str, tmp_path: Path) -> None:
    golden = tmp_path / "golden.jsonl"
    await commands.verify(seeded, golden=golden, update=True, ignore=["agents.*"])
    header = json.loads(golden.read_text(encoding="utf-8").split("\n", 1)[0])
    assert [c["name"] for c in header["tables"]["agents"]["columns"]] == ["id"]
    await dbtools.execute(seeded, "UPDATE agents SET level = 7", "DELETE FROM positions WHERE user_id = 'USR_002'")

    result = await commands.verify(seeded, golden=golden)

    assert result.report is not None
    assert [g.table for g in result.report.groups] == ["positions"]


# --- artifacts ------------------------------------------------------------------------------------------


async def test_save_actual_writes_the_snapshot_that_was_compared(seeded: str, tmp_path: Path) -> None:
    await dbtools.execute(seeded, "UPDATE agents SET level = 3 WHERE id = 'AGT_RAVEN'")
    saved = tmp_path / "actual.jsonl"

    code, _ = verify("--database-url", seeded, "--save-actual", str(saved))

    assert code == 1
    assert saved.read_bytes() == await dbtools.snapshot_bytes(seeded)
    # ... and it can be diffed later, as a golden file of its own.
    assert verify("--database-url", seeded, "--golden", str(saved))[0] == 0
