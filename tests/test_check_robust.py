"""`check` never crashes or hangs: whatever sits in the fixture directory is one located problem.

Overflowing numbers, times beyond the calendar, JSON nested past the
parser's stack, symbolic link loops, directories, FIFOs, sockets and devices
named like a fixture, a --fixtures path that is not a directory, and a
generator asking for 10**12 rows: each is reported (exit 2, no traceback)
rather than raised, blocked on or written until the disk is full. The FIFO
and other blocking cases run the CLI in a subprocess with a timeout, so a
regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from echelon_seed import commands, fixtures, project
from echelon_seed.errors import ConfigError, FixtureError
from tests import dbtools

NOWHERE = "postgresql://user@127.0.0.1:1/nowhere"  # apply must refuse before trying it
ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    directory = tmp_path / "fixtures"
    shutil.copytree(project.data_dir(), directory)
    return directory


def replace_file(name: str, make: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(directory: Path) -> None:
        (directory / name).unlink()
        make(directory / name)

    return edit


def raw_value(table: str, column: str, raw: str) -> Callable[[Path], None]:
    def edit(directory: Path) -> None:
        path = directory / f"{table}.json"
        rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
        rows[0][column] = "@RAW@"
        path.write_text(json.dumps({"rows": rows}).replace('"@RAW@"', raw), encoding="utf-8")

    return edit


def deep_file(path: Path) -> None:
    path.write_text('{"rows": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")


def unix_socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays


def huge_generator(path: Path) -> None:
    spec = {"generate": {"generator": "wing_flaps", "seed": "s", "count": 10**12}}
    path.write_text(json.dumps(spec), encoding="utf-8")


# (name, edit, file named, words the message must hold)
HOSTILE: list[tuple[str, Callable[[Path], None], str, str]] = [
    ("double-10^400", raw_value("timelines", "stability", "1" + "0" * 400), "timelines.json", "out of range"),
    ("integer-5000-digits", raw_value("agents", "level", "9" * 5000), "agents.json", "5000-digit"),
    ("time-beyond-timedelta", raw_value("agents", "created_at", '"now+99999999999999999999h"'), "agents.json", "days"),
    ("json-500-deep", raw_value("agents", "genome", "[" * 500 + "]" * 500), "agents.json", "100 levels"),
    ("file-nested-100000-deep", replace_file("users.json", deep_file), "users.json", "nested too deeply"),
    ("symlink-loop", replace_file("users.json", lambda p: p.symlink_to(p.name)), "users.json", "symbolic link loop"),
    ("dangling-symlink", replace_file("users.json", lambda p: p.symlink_to("gone.json")), "users.json", "not exist"),
    ("directory", replace_file("users.json", lambda p: p.mkdir()), "users.json", "a directory"),
    ("fifo", replace_file("users.json", os.mkfifo), "users.json", "a FIFO"),
    ("socket", replace_file("users.json", unix_socket), "users.json", "a socket"),
    ("device", replace_file("users.json", lambda p: p.symlink_to("/dev/zero")), "users.json", "character device"),
    ("generator-10^12-rows", replace_file("wing_flaps.json", huge_generator), "wing_flaps.json", "--allow-large"),
]
IDS = [case[0] for case in HOSTILE]


@pytest.fixture(params=HOSTILE, ids=IDS)
def hostile(request: pytest.FixtureRequest, data: Path) -> Iterator[tuple[Path, str, str]]:
    _name, edit, file, words = request.param
    edit(data)
    yield data, file, words


def test_cli_check_reports_it_in_one_line_and_exits_2(hostile: tuple[Path, str, str]) -> None:
    directory, file, words = hostile

    done = dbtools.run_cli("check", "--fixtures", str(directory), timeout=60)

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == "1 problem in the fixtures", done.stderr
    assert file in lines[0] and words in lines[0], lines[0]


async def test_apply_refuses_it_before_connecting(hostile: tuple[Path, str, str]) -> None:
    directory, file, words = hostile
    if (directory / "users.json").is_fifo():
        # In a subprocess with a timeout: a regression would block in open(), which nothing in-process can cancel.
        done = dbtools.run_cli("apply", "--fixtures", str(directory), database_url=NOWHERE, timeout=60)
        assert done.returncode == 2 and file in done.stderr and words in done.stderr, done.stderr
        return

    with pytest.raises(FixtureError) as error:
        await commands.apply(NOWHERE, fixtures_dir=directory, anchor=ANCHOR)

    assert file in str(error.value) and words in str(error.value)


def test_allow_large_accepts_a_large_generator_without_drawing_every_row(data: Path) -> None:
    huge_generator(data / "wing_flaps.json")

    assert commands.check(data, allow_large=True) == []
    done = dbtools.run_cli("check", "--allow-large", "--fixtures", str(data), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "fixtures OK"


def test_the_size_limit_is_just_above_a_million_rows(data: Path) -> None:
    spec = {"generate": {"generator": "wing_flaps", "seed": "s", "count": fixtures.LARGE_ROWS}}
    (data / "wing_flaps.json").write_text(json.dumps(spec), encoding="utf-8")
    assert commands.check(data) == []

    spec["generate"]["count"] = fixtures.LARGE_ROWS + 1
    (data / "wing_flaps.json").write_text(json.dumps(spec), encoding="utf-8")
    assert ["--allow-large" in p.message for p in commands.check(data)] == [True]


def test_price_history_counts_its_rows_per_timeline(data: Path) -> None:
    """count x timelines is what it writes: 10 timelines x 100,001 points is over the limit."""
    spec = {"generate": {"generator": "price_history", "seed": "s", "count": 100_001}}
    (data / "price_history.json").write_text(json.dumps(spec), encoding="utf-8")

    problems = commands.check(data)

    assert [(Path(p.file).name, "1,000,010 rows" in p.message) for p in problems] == [("price_history.json", True)]


@pytest.mark.parametrize(
    ("target", "words"),
    [("/etc/passwd", "not a directory"), ("missing", "does not exist"), ("fifo", "not a directory")],
)
def test_cli_fixtures_option_that_is_not_a_directory_says_so(tmp_path: Path, target: str, words: str) -> None:
    path = target if target.startswith("/") else str(tmp_path / target)
    if target == "fifo":
        os.mkfifo(path)

    done = dbtools.run_cli("check", "--fixtures", path, timeout=60)

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert path in last and words in last, done.stderr


@pytest.mark.parametrize(
    ("target", "words"), [("/etc/passwd", "is a file, not a directory"), ("fifo", "a FIFO, not a directory")]
)
def test_the_library_says_what_a_fixtures_path_that_is_not_a_directory_is(
    tmp_path: Path, target: str, words: str
) -> None:
    path = Path(target) if target.startswith("/") else tmp_path / target
    if target == "fifo":
        os.mkfifo(path)

    with pytest.raises(ConfigError, match=words):
        commands.check(path)


def test_fixtures_directory_that_is_a_symlink_loop_is_a_config_error(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop.name)

    with pytest.raises(ConfigError, match="symbolic link loop"):
        commands.check(loop)


async def test_an_anchor_that_puts_a_fixture_time_before_the_year_1_is_refused_by_file_row_column(data: Path) -> None:
    with pytest.raises(FixtureError) as error:
        await commands.apply(NOWHERE, fixtures_dir=data, anchor=datetime(1, 1, 2, tzinfo=UTC))

    problem = error.value.problems[0]
    assert Path(problem.file).name == "agents.json" and problem.row == 1 and problem.column == "created_at"
    assert "outside the years 1..9999" in problem.message


async def test_a_scale_that_puts_generated_times_before_the_year_1_is_refused(data: Path) -> None:
    with pytest.raises(FixtureError) as error:
        await commands.apply(NOWHERE, fixtures_dir=data, anchor=ANCHOR, scale=100_000_000)

    assert [Path(p.file).name for p in error.value.problems] == ["price_history.json", "wing_flaps.json"]
    assert "before the year 1" in str(error.value)


def test_a_symlink_to_a_regular_fixture_file_is_read(data: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "users-elsewhere.json"
    (data / "users.json").rename(elsewhere)
    (data / "users.json").symlink_to(elsewhere)

    assert commands.check(data) == []
    assert fixtures.load(data).digest == fixtures.load(project.data_dir()).digest
