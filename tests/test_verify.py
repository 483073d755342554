"""`echelon-seed verify` as CI and people run it: exit codes, the diff it prints, what it never touches.

Each run is `python -m echelon_seed verify ...` in a child process (tests/dbtools.py
`run_cli`), so the exit code and the lines are exactly what a terminal or a CI log
shows. Engine-sensitive tests take ``db_url`` and run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from echelon_seed import canonical, commands
from tests import dbtools

ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)
GOLDEN = commands.golden_path(1)
REGENERATE = "echelon-seed verify --update"
# A line of the report that names one row: `  table[key...]...`.
ROW_LINE = re.compile(r"^  [a-z_]+\[")


def verify(*args: str) -> tuple[int, str, str]:
    done = dbtools.run_cli("verify", *args)
    return done.returncode, done.stdout, done.stderr


def golden_row(table: str, **key: str) -> dict[str, object]:
    with GOLDEN.open(encoding="utf-8") as f:
        next(f)
        for line in f:
            name, row = json.loads(line)
            if name == table and all(row[k] == v for k, v in key.items()):
                return dict(row)
    raise AssertionError(f"{table} {key} is not in the golden file")


def golden_copy(tmp_path: Path, **header_changes: object) -> Path:
    """A copy of the committed golden file with fields of its header line replaced."""
    head, body = GOLDEN.read_text(encoding="utf-8").split("\n", 1)
    header = json.loads(head)
    header.update(header_changes)
    copy = tmp_path / "golden.jsonl"
    copy.write_text(canonical.dumps(header) + "\n" + body, encoding="utf-8")
    return copy


def row_lines(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if ROW_LINE.match(line)]


@pytest.fixture
async def seeded(db_url: str) -> str:
    await dbtools.seed(db_url, anchor=ANCHOR)
    return db_url


# --- matching -------------------------------------------------------------------------------------------


def test_apply_then_verify_exits_0_against_the_committed_golden_file(db_url: str) -> None:
    applied = dbtools.run_cli("apply", "--database-url", db_url, "-q")
    assert applied.returncode == 0, applied.stderr

    code, out, err = verify("--database-url", db_url)

    assert code == 0, out + err
    assert out.startswith("OK: 176 rows in 8 tables match ")
    assert GOLDEN.name in out


def test_verify_without_a_url_seeds_a_temporary_sqlite_and_exits_0(tmp_path: Path) -> None:
    done = dbtools.run_cli("verify", cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK: 176 rows in 8 tables match ")
    assert list(tmp_path.iterdir()) == []  # no dev.db, no scratch left behind


# --- differences ----------------------------------------------------------------------------------------


async def test_verify_reports_a_changed_cell_with_golden_and_actual_values(seeded: str) -> None:
    await dbtools.execute(seeded, "UPDATE agents SET win_rate = 0.5 WHERE id = 'AGT_RAVEN'")
    before = golden_row("agents", id="AGT_RAVEN")["win_rate"]
    assert before != 0.5

    code, out, err = verify("--database-url", seeded)

    assert code == 1, err
    assert row_lines(out) == [f'agents["AGT_RAVEN"].win_rate: golden {before!r}, actual 0.5']
    assert "  agents.win_rate: 1 of 12 rows" in out.splitlines()
    assert f"{REGENERATE} --database-url " in out.rstrip("\n").splitlines()[-1]


async def test_verify_reports_a_deleted_row_and_an_extra_row(seeded: str) -> None:
    golden_row("wing_flaps", id="FLAP_00010")
    with pytest.raises(AssertionError):
        golden_row("timeline_links", source_timeline_id="TL_ANTARCTIC_SHELF", target_timeline_id="TL_FED_PIVOT")
    await dbtools.execute(
        seeded,
        "DELETE FROM wing_flaps WHERE id = 'FLAP_00010'",
        "INSERT INTO timeline_links (source_timeline_id, target_timeline_id) VALUES ('TL_ANTARCTIC_SHELF', 'TL_FED_PIVOT')",
    )

    code, out, err = verify("--database-url", seeded)

    assert code == 1, err
    assert sorted(row_lines(out)) == [
        'timeline_links["TL_ANTARCTIC_SHELF","TL_FED_PIVOT"]: only in the database',
        'wing_flaps["FLAP_00010"]: only in the golden file',
    ]
    assert "  timeline_links: 1 row only in the database" in out.splitlines()
    assert "  wing_flaps: 1 row only in the golden file" in out.splitlines()
    last = out.rstrip("\n").splitlines()[-1]
    assert GOLDEN.name in last and REGENERATE in last


async def test_verify_shows_20_differences_and_counts_the_rest_unless_full(seeded: str) -> None:
    await dbtools.execute(seeded, "UPDATE wing_flaps SET volume_usd = '1.00'")

    code, short, _ = verify("--database-url", seeded)
    full_code, full, _ = verify("--database-url", seeded, "--full")

    assert (code, full_code) == (1, 1)
    assert len(row_lines(short)) == 20
    assert "  (+55 more; --full shows them all)" in short.splitlines()
    assert len(row_lines(full)) == 75
    assert all(
        re.fullmatch(r'wing_flaps\["FLAP_\d{5}"\]\.volume_usd: golden "\d+\.\d\d", actual "1\.00"', line)
        for line in row_lines(full)
    )
    assert "more;" not in full
    assert "  wing_flaps.volume_usd: 75 of 75 rows" in full.splitlines()
    assert "  wing_flaps.volume_usd: 75 of 75 rows" in short.splitlines()


# --- regenerating ---------------------------------------------------------------------------------------


def test_update_twice_writes_identical_files_that_then_verify(tmp_path: Path) -> None:
    golden = tmp_path / "g.jsonl"

    first = verify("--update", "--golden", str(golden))
    written = golden.read_bytes()
    second = verify("--update", "--golden", str(golden))

    assert (first[0], second[0]) == (0, 0), first[2] + second[2]
    assert golden.read_bytes() == written
    assert written == GOLDEN.read_bytes()  # an unchanged checkout regenerates the committed file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.jsonl"]
    code, out, err = verify("--golden", str(golden))
    assert code == 0, out + err


# --- provenance -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("schema_revision", "0002", 'schema revision "0002"'),
        ("fixtures", "sha256:" + "0" * 64, 'fixtures "sha256:' + "0" * 64 + '"'),
    ],
    ids=["schema_revision", "fixtures"],
)
def test_golden_file_of_other_provenance_is_a_note_in_one_sentence_never_a_difference(
    tmp_path: Path, field: str, value: str, said: str
) -> None:
    copy = golden_copy(tmp_path, **{field: value})

    code, out, err = verify("--golden", str(copy))

    # The same rows and schema: equal, whatever the seed record or revision says.
    assert code == 0, out + err
    assert out.startswith("OK: ")
    notes = [line for line in err.splitlines() if said in line]
    assert len(notes) == 1 and notes[0].startswith("note: "), err


# --- the golden file is what is verified ------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda body: body.replace('"win_rate":0.68}', '"win_rate":0.99}', 1),
        lambda body: "".join(body.splitlines(keepends=True)[:99]),
    ],
    ids=["edited-row", "truncated-body"],
)
def test_golden_file_whose_body_disagrees_with_its_header_is_not_a_match(
    tmp_path: Path, change: Callable[[str], str]
) -> None:
    head, body = GOLDEN.read_text(encoding="utf-8").split("\n", 1)
    changed = change(body)
    assert changed != body
    golden = tmp_path / "golden.jsonl"
    golden.write_text(head + "\n" + changed, encoding="utf-8")

    code, out, err = verify("--golden", str(golden))

    # The rows a reviewer reads in the golden file are not what the database holds:
    # a difference (1) or an unusable golden file (2), never OK.
    assert code in (1, 2), out + err
    assert not out.startswith("OK")


# --- errors ---------------------------------------------------------------------------------------------


def _one_error_line(code: int, out: str, err: str) -> str:
    assert code == 2, out + err
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("echelon-seed: error: "), err
    assert "internal error" not in err
    return lines[0]


@pytest.mark.parametrize(
    "content",
    [
        GOLDEN.read_text(encoding="utf-8").replace(
            '"format":"echelon-seed-snapshot/3"', '"format":"echelon-seed-snapshot/4"', 1
        ),
        "id,name\n1,AGT_RAVEN\n",
        '["agents",{"id":"AGT_RAVEN"}]\n',
        "",
    ],
    ids=["other-format-version", "csv", "body-line-as-header", "empty"],
)
def test_unreadable_golden_file_is_one_error_line_exit_2(tmp_path: Path, content: str) -> None:
    golden = tmp_path / "golden.jsonl"
    golden.write_text(content, encoding="utf-8")

    line = _one_error_line(*verify("--golden", str(golden)))

    assert str(golden) in line


def test_missing_golden_file_is_one_error_line_exit_2(tmp_path: Path) -> None:
    line = _one_error_line(*verify("--golden", str(tmp_path / "absent.jsonl")))

    assert "absent.jsonl" in line and REGENERATE in line
    assert not (tmp_path / "absent.jsonl").exists()


@pytest.mark.parametrize(
    "url",
    ["::not a url::", "postgresql://user@host:notaport/db", "postgresql://u:S3cret@127.0.0.1:1/x"],
    ids=["unparseable", "bad-port", "unreachable-postgresql"],
)
def test_bad_database_url_is_one_error_line_exit_2(url: str) -> None:
    line = _one_error_line(*verify("--database-url", url))

    assert "S3cret" not in line


def test_unparseable_url_error_shows_the_url_forms_that_work() -> None:
    line = _one_error_line(*verify("--database-url", "::not a url::"))

    # The hint is an example, not a secret: it must read as written.
    assert "sqlite:///path/to/file.db" in line
    assert "postgresql://user:PASSWORD@host:5432/dbname" in line
    assert "***" not in line


def test_missing_sqlite_file_is_one_error_line_exit_2_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"

    line = _one_error_line(*verify("--database-url", f"sqlite:///{missing}"))

    assert str(missing) in line
    assert list(tmp_path.iterdir()) == []


# --- verify only reads ----------------------------------------------------------------------------------


async def test_verify_leaves_the_sqlite_file_untouched(sqlite_url: str, tmp_path: Path) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    await dbtools.execute(sqlite_url, "UPDATE agents SET win_rate = 0.5 WHERE id = 'AGT_RAVEN'")
    before = (path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in tmp_path.iterdir()))

    code, out, err = verify("--database-url", sqlite_url)

    assert code == 1, out + err
    assert (path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in tmp_path.iterdir())) == before


def _tree(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in directory.rglob("*")
        if p.is_file()
    }


async def test_verify_never_touches_the_snapshots_directory(sqlite_url: str) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR)
    snapshots_dir = GOLDEN.parent
    before = _tree(snapshots_dir)

    assert verify("--database-url", sqlite_url)[0] == 0
    assert verify()[0] == 0
    await dbtools.execute(sqlite_url, "UPDATE agents SET win_rate = 0.5 WHERE id = 'AGT_RAVEN'")
    assert verify("--database-url", sqlite_url)[0] == 1

    assert _tree(snapshots_dir) == before
