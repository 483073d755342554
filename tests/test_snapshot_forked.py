"""The SQLite snapshot read by two processes: the same bytes, errors that name the table, no child left behind.

A big table's rows above a middle key are encoded by a forked child on its
own connection while this process reads the rest (`forked.read_lines`). The
bytes must be those of one process reading everything, whatever the tables
look like; the child must never outlive the command, and its failure must be
an error, never a hang or missing rows.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands, forked, snapshot_sql
from echelon_seed.errors import SnapshotError
from tests import dbtools
from tests.test_forked import _children
from tests.test_reliability_kill import NEW, cli_env

pytestmark = pytest.mark.skipif(not forked.available(), reason="needs os.fork")

#: Rows of the biggest table of the hand-made database: above the default threshold, so that
#: a snapshot in a fresh interpreter splits it too.
EVENTS = 120_000


def _shop(path: Path) -> None:
    """A database of shapes teams have, made by hand (no seed record: every table is read as stored).

    An integer key, a text key in code-point order that differs from any
    case-folding one, a composite key whose first column is one value for
    most rows (the cut lands inside it), a table whose text key may be NULL
    (SQLite allows it; it is never cut), and one without a key.
    """
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload BLOB, amount REAL, at TEXT);
        CREATE TABLE labels (code TEXT NOT NULL PRIMARY KEY, name TEXT);
        CREATE TABLE readings (sensor TEXT NOT NULL, at INTEGER NOT NULL, value REAL, PRIMARY KEY (sensor, at));
        CREATE TABLE legacy (code TEXT PRIMARY KEY, note TEXT);
        CREATE TABLE log (line TEXT);
        """
    )
    db.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
        (
            (
                i * 3 - 40_000,
                ("open", "close", 'é"\\\n')[i % 3],
                bytes([i % 256]) * (i % 5) if i % 7 else None,
                None if i % 11 == 0 else i / 7,
                f"2026-01-{1 + i % 28:02d} 10:00:{i % 60:02d}",
            )
            for i in range(EVENTS)
        ),
    )
    words = ["Zebra", "apple", "Äpfel", "zebra", "ápple", "😀", "B", "b", "a\u0301"]
    db.executemany(
        "INSERT INTO labels VALUES (?, ?)", ((f"{words[i % len(words)]}{i}", f"label {i}") for i in range(20_000))
    )
    db.executemany(
        "INSERT INTO readings VALUES (?, ?, ?)",
        ((("main" if i % 10 < 7 else f"s{i % 13}"), i, i * 0.25) for i in range(20_000)),
    )
    db.executemany("INSERT INTO legacy VALUES (?, ?)", [(None, "no code")] + [(f"c{i}", None) for i in range(15_000)])
    db.executemany("INSERT INTO log VALUES (?)", ((f"line {i % 5_000}",) for i in range(12_000)))
    db.commit()
    db.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("forked-snapshot") / "shop.db"
    _shop(path)
    return path


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Echelon seed at scale 100 (7,500 wing flaps, 4,000 price points): declared types, relative times."""
    path = tmp_path_factory.mktemp("forked-seed") / "seed.db"
    with ThreadPoolExecutor(1) as thread:  # its own event loop: the test asking for it may run in one
        thread.submit(asyncio.run, commands.apply(f"sqlite:///{path}", anchor=NEW, scale=100)).result()
    return path


class _Spy:
    """Records the tables whose upper part a child read; optionally changes each job before it runs."""

    def __init__(self, change: Callable[[forked.LineJob], forked.LineJob] | None = None) -> None:
        self.tables: list[str] = []
        self.pids: list[int] = []
        self._change = change
        self._real = forked.read_lines

    def __call__(self, connect: Callable[[], Any], jobs: Sequence[forked.LineJob]) -> forked.LineReader:
        self.tables += [job.name for job in jobs]
        if self._change is not None:
            jobs = [self._change(job) for job in jobs]
        reader = self._real(connect, jobs)
        self.pids.append(reader._pid or 0)
        return reader


async def _snapshot(path: Path, monkeypatch: pytest.MonkeyPatch, split_rows: int, *, blocks: bool) -> bytes:
    monkeypatch.setattr(snapshot_sql, "SPLIT_ROWS", split_rows)
    out = io.BytesIO()
    await commands.snapshot(f"sqlite:///{path}", out, blocks=blocks)  # with blocks: the header a manifest is
    return out.getvalue()


@pytest.mark.parametrize("blocks", [False, True], ids=["snapshot", "with-blocks"])
@pytest.mark.parametrize("database", ["shop", "seeded"])
async def test_a_split_snapshot_is_the_one_process_snapshot_byte_for_byte(
    database: str, blocks: bool, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    path: Path = request.getfixturevalue(database)
    before = _children()
    spy = _Spy()
    monkeypatch.setattr(forked, "read_lines", spy)

    split = await _snapshot(path, monkeypatch, 1_000, blocks=blocks)
    whole = await _snapshot(path, monkeypatch, 10**12, blocks=blocks)

    expected = {"shop": ["events", "labels", "readings"], "seeded": ["price_history", "wing_flaps"]}[database]
    assert spy.tables == expected  # `legacy` (a key that may be NULL) and `log` (no key) are never cut
    assert split == whole
    assert _children() == before


async def test_a_value_the_child_refuses_is_the_error_one_process_gives(
    seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.db"
    with sqlite3.connect(seeded) as source, sqlite3.connect(broken) as target:
        source.backup(target)
        last = target.execute("SELECT max(id) FROM wing_flaps").fetchone()[0]  # in the child's part
        target.execute("UPDATE wing_flaps SET volume_usd = 'twelve' WHERE id = ?", (last,))
    spy = _Spy()
    monkeypatch.setattr(forked, "read_lines", spy)
    errors = []
    for split_rows in (1_000, 10**12):
        monkeypatch.setattr(snapshot_sql, "SPLIT_ROWS", split_rows)
        with pytest.raises(SnapshotError) as caught:
            await commands.snapshot(f"sqlite:///{broken}", io.BytesIO())
        errors.append(str(caught.value))

    assert "wing_flaps" in spy.tables
    assert errors[0] == errors[1]
    assert f"table wing_flaps, row (\"{last}\"), column 'volume_usd'" in errors[0]


async def test_a_child_that_dies_is_an_error_naming_the_table(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def dying(job: forked.LineJob) -> forked.LineJob:
        def encode(row: Sequence[Any]) -> str:
            os.kill(os.getpid(), signal.SIGKILL)  # runs in the child only: as if the OOM killer took it
            raise AssertionError("unreachable")

        return forked.LineJob(job.name, job.sql, encode, job.explain)

    before = _children()
    monkeypatch.setattr(forked, "read_lines", _Spy(dying))
    monkeypatch.setattr(snapshot_sql, "SPLIT_ROWS", 1_000)

    with pytest.raises(SnapshotError, match=r"table price_history: the process reading part of it ended"):
        await commands.snapshot(f"sqlite:///{seeded}", io.BytesIO())
    assert _children() == before


async def test_a_wal_database_is_read_by_one_process_with_the_same_bytes(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In WAL mode a second connection could see a later commit: no child, and nothing else changes."""
    wal = tmp_path / "wal.db"
    with sqlite3.connect(shop) as source, sqlite3.connect(wal) as target:
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
    spy = _Spy()
    monkeypatch.setattr(forked, "read_lines", spy)

    in_wal = await _snapshot(wal, monkeypatch, 1_000, blocks=False)
    rolled_back = await _snapshot(shop, monkeypatch, 10**12, blocks=False)

    assert spy.tables == []
    assert in_wal == rolled_back


async def test_no_writer_commits_while_the_child_reads(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent's shared lock is what makes two connections one state: a writer must wait it out."""
    copy = tmp_path / "busy.db"
    with sqlite3.connect(shop) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    refused: list[str] = []

    class Writer(_Spy):
        def __call__(self, connect: Callable[[], Any], jobs: Sequence[forked.LineJob]) -> forked.LineReader:
            reader = super().__call__(connect, jobs)
            writer = sqlite3.connect(copy, timeout=0.2, isolation_level=None)
            try:
                writer.execute("BEGIN IMMEDIATE")
                writer.execute("DELETE FROM events")
                writer.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                refused.append(str(exc))
                writer.execute("ROLLBACK")
            finally:
                writer.close()
            return reader

    monkeypatch.setattr(forked, "read_lines", Writer())
    during = await _snapshot(copy, monkeypatch, 1_000, blocks=False)
    before = await _snapshot(shop, monkeypatch, 10**12, blocks=False)

    assert refused and "locked" in refused[0]
    assert during == before


def test_ctrl_c_while_the_child_reads_gives_one_line_and_leaves_no_child(shop: Path, tmp_path: Path) -> None:
    """As on a terminal: SIGINT reaches the command and its child alike."""
    out = tmp_path / "out.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "echelon_seed", "snapshot", "--database-url", f"sqlite:///{shop}", "-o", str(out)],
        cwd=dbtools.ECHELON,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        children = _wait_for_children(process.pid, time.monotonic() + 120)
        assert children, "the snapshot never forked its reader"
        os.killpg(process.pid, signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    assert process.returncode == 130, err
    assert err.strip().splitlines() == ["echelon-seed: interrupted; rolled back"], err
    assert "Traceback" not in err
    for pid in children:
        assert not _alive(pid), f"the reader {pid} outlived the command"


def _wait_for_children(pid: int, deadline: float) -> list[int]:
    while time.monotonic() < deadline:
        found = [int(e) for e in os.listdir("/proc") if e.isdigit() and _parent_of(int(e)) == pid]
        if found:
            return found
        time.sleep(0.002)
    return []


def _parent_of(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]) if fields[0] != "Z" else None


def _alive(pid: int) -> bool:
    return _parent_of(pid) is not None


async def test_a_file_replaced_under_the_snapshot_is_an_error_not_a_mix_of_two_files(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child opens the file by its path: renamed over meanwhile, the path names another file."""
    path = tmp_path / "replaced.db"
    with sqlite3.connect(shop) as source, sqlite3.connect(path) as target:
        source.backup(target)
    newer = tmp_path / "newer.db"
    with sqlite3.connect(shop) as source, sqlite3.connect(newer) as target:
        source.backup(target)
        target.execute("DELETE FROM events WHERE id > 0")

    class Replacing(_Spy):
        def __call__(self, connect: Callable[[], Any], jobs: Sequence[forked.LineJob]) -> forked.LineReader:
            newer.rename(path)  # as a tool that writes a new file and renames it into place
            return super().__call__(connect, jobs)

    monkeypatch.setattr(forked, "read_lines", Replacing())
    monkeypatch.setattr(snapshot_sql, "SPLIT_ROWS", 1_000)
    with pytest.raises(SnapshotError, match=r"^table events: .*replaced\.db was replaced by another file"):
        await commands.snapshot(f"sqlite:///{path}", io.BytesIO())
