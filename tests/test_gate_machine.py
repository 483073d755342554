"""Reports for CI machines (--format json, --junit-xml) and `echelon-seed diff A B`, run as a CI job runs them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from echelon_seed import commands, reports
from tests import dbtools

ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)
GOLDEN = commands.golden_path(1)
TABLES = sorted(dbtools.CANONICAL_ROWS)


@pytest.fixture
async def drifted(db_url: str) -> str:
    """A seeded database with one changed cell, one deleted row and one added column."""
    await dbtools.seed(db_url, anchor=ANCHOR)
    await dbtools.execute(
        db_url,
        "UPDATE agents SET motto = 'null' WHERE id = 'AGT_RAVEN'",
        "DELETE FROM wing_flaps WHERE id = 'FLAP_00010'",
        "ALTER TABLE users ADD COLUMN nickname text",
    )
    return db_url


def golden_value(table: str, key: str, column: str) -> object:
    with GOLDEN.open(encoding="utf-8") as f:
        next(f)
        for line in f:
            name, row = json.loads(line)
            if name == table and row["id"] == key:
                return row[column]
    raise AssertionError((table, key))


async def test_json_report_field_by_field(drifted: str) -> None:
    done = dbtools.run_cli("verify", "--database-url", drifted, "--format", "json")

    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["format"] == reports.JSON_FORMAT == "echelon-seed-report/2"
    assert doc["verdict"] == "differs"
    golden_header = json.loads(GOLDEN.read_text(encoding="utf-8").split("\n", 1)[0])
    assert doc["golden"]["digest"] == golden_header["digest"]
    assert doc["golden"]["source"].endswith("snapshots/echelon.snapshot.jsonl")
    actual_header = json.loads((await dbtools.snapshot_bytes(drifted)).split(b"\n", 1)[0])
    assert doc["actual"]["digest"] == actual_header["digest"] != doc["golden"]["digest"]
    assert doc["actual"]["fixtures"] == golden_header["fixtures"]
    assert "S3cr3t" not in done.stdout
    assert doc["provenance"] == []
    assert doc["schema"] == ["users: column nickname (text, nullable) only in the database"]
    assert set(doc["tables"]) == set(TABLES)
    assert doc["tables"]["wing_flaps"] == {
        "golden_rows": 75,
        "actual_rows": 74,
        "equal": False,
        "changed_cells": 0,
        "only_in_golden": 1,
        "only_in_actual": 0,
    }
    assert doc["tables"]["agents"]["changed_cells"] == 1
    assert doc["tables"]["users"]["equal"] is False
    assert doc["tables"]["paradoxes"]["equal"] is True
    changed, missing = sorted(doc["differences"], key=lambda d: d["table"])
    assert changed == {
        "table": "agents",
        "key": ["AGT_RAVEN"],
        "kind": "changed",
        "column": "motto",
        "golden": golden_value("agents", "AGT_RAVEN", "motto"),
        "actual": "null",
    }
    assert (missing["table"], missing["key"], missing["kind"], missing["column"]) == (
        "wing_flaps",
        ["FLAP_00010"],
        "only_in_golden",
        None,
    )
    assert missing["golden"]["id"] == "FLAP_00010" and missing["actual"] is None
    assert doc["unexplained"] is False


async def test_json_lists_every_difference_and_an_equal_verdict(db_url: str) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    equal = json.loads(dbtools.run_cli("verify", "--database-url", db_url, "--format", "json").stdout)
    await dbtools.execute(db_url, "UPDATE wing_flaps SET volume_usd = '1.00'")
    differs = dbtools.run_cli("verify", "--database-url", db_url, "--format", "json")

    assert equal["verdict"] == "equal" and equal["differences"] == [] and equal["schema"] == []
    assert equal["golden"]["digest"] == equal["actual"]["digest"]
    assert differs.returncode == 1
    assert len(json.loads(differs.stdout)["differences"]) == 75  # all, not 20 examples


async def test_junit_xml_has_a_case_per_table_and_failing_cases_list_their_differences(
    drifted: str, tmp_path: Path
) -> None:
    xml_path = tmp_path / "verify.xml"

    done = dbtools.run_cli("verify", "--database-url", drifted, "--junit-xml", str(xml_path))

    assert done.returncode == 1
    suite = ET.parse(xml_path).getroot()
    assert suite.tag == "testsuite"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert sorted(cases) == sorted(["(snapshot)", *TABLES])
    assert suite.get("tests") == str(len(TABLES) + 1)
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failed == {"agents", "users", "wing_flaps"}
    assert suite.get("failures") == "3"
    wing = cases["wing_flaps"].find("failure")
    assert wing is not None and wing.text is not None
    assert 'wing_flaps["FLAP_00010"]: only in the golden file' in wing.text.splitlines()
    users = cases["users"].find("failure")
    assert users is not None and users.text == "users: column nickname (text, nullable) only in the database"


async def test_junit_xml_of_a_match_has_no_failures(db_url: str, tmp_path: Path) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    xml_path = tmp_path / "verify.xml"

    done = dbtools.run_cli("verify", "--database-url", db_url, "--junit-xml", str(xml_path))

    assert done.returncode == 0, done.stdout + done.stderr
    suite = ET.parse(xml_path).getroot()
    assert suite.get("failures") == "0" and not list(suite.iter("failure"))


# --- echelon-seed diff A B ------------------------------------------------------------------------------


async def test_diff_of_a_file_and_a_database_is_verify_s_report(drifted: str) -> None:
    done = dbtools.run_cli("diff", str(GOLDEN), drifted)
    verified = dbtools.run_cli("verify", "--database-url", drifted)

    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["schema:", f"  users: column nickname (text, nullable) only in {_redacted(drifted)}"]
    assert '  agents["AGT_RAVEN"].motto: golden ' in "\n".join(lines)
    # The same differences as verify finds, named by their sources.
    assert len([line for line in lines if line.startswith("  ")]) == len(
        [line for line in verified.stdout.splitlines() if line.startswith("  ")]
    )


def _redacted(url: str) -> str:
    from echelon_seed import engines

    return engines.redact(url)


async def test_diff_of_two_databases(db_url: str, new_database: Callable[[], str]) -> None:
    other = new_database()
    await dbtools.seed(db_url, anchor=ANCHOR)
    await commands.apply(other, anchor=datetime(2026, 3, 1, tzinfo=UTC))

    same = dbtools.run_cli("diff", db_url, other)
    await dbtools.execute(other, "DROP TABLE timeline_links")
    differs = dbtools.run_cli("diff", db_url, other, "--format", "json")

    assert same.returncode == 0, same.stdout + same.stderr
    assert same.stdout.startswith("OK: 176 rows in 8 tables match ")
    assert differs.returncode == 1, differs.stderr
    doc = json.loads(differs.stdout)
    assert doc["schema"] == [f"timeline_links: table only in {_redacted(db_url)} (19 rows)"]


def test_diff_of_two_files_and_the_errors(tmp_path: Path) -> None:
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(GOLDEN.read_bytes())
    broken = tmp_path / "broken.jsonl"
    broken.write_text(GOLDEN.read_text(encoding="utf-8").replace('"win_rate":0.68}', '"win_rate":0.99}', 1))

    equal = dbtools.run_cli("diff", str(GOLDEN), str(copy))
    missing = dbtools.run_cli("diff", str(GOLDEN), str(tmp_path / "absent.jsonl"))
    inconsistent = dbtools.run_cli("diff", str(broken), str(GOLDEN))

    assert equal.returncode == 0, equal.stdout + equal.stderr
    assert (missing.returncode, inconsistent.returncode) == (2, 2)
    assert "no snapshot file at" in missing.stderr
    assert "is inconsistent" in inconsistent.stderr


async def test_diff_saves_the_actual_snapshot(db_url: str, tmp_path: Path) -> None:
    await dbtools.seed(db_url, anchor=ANCHOR)
    saved = tmp_path / "b.jsonl"

    done = dbtools.run_cli("diff", str(GOLDEN), db_url, "--save-actual", str(saved))

    assert done.returncode == 0, done.stdout + done.stderr
    assert saved.read_bytes() == GOLDEN.read_bytes()
