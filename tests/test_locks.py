"""Writers and readers never deadlock, and seeding needs no table ownership (PostgreSQL).

`apply` takes only the locks that plain DML takes (RowExclusive through
DELETE and COPY, row locks for foreign-key checks) plus its advisory writer
lock; it changes no table's definition once the schema is at head. Readers
take AccessShare, which RowExclusive never conflicts with, so a reader can
neither wait on a writer nor make one wait, and there is no cycle to detect.

- A role granted only SELECT, INSERT, UPDATE and DELETE (it owns nothing)
  reseeds at scale 1,000 with `--force`.
- The trial: three `apply --force` subprocesses at a scale whose big tables
  used to get their foreign keys dropped and re-added (ALTER TABLE, an
  AccessExclusive lock taken in an order readers could not predict), while
  `verify` and `snapshot` run in loops beside them. No command may fail, and
  every reader must see the whole seed. ECHELON_SEED_LOCK_ROUNDS rounds at
  scale 100 in the suite (1 by default); the `slow` test runs 20 rounds at
  scale 200.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import anyio
import asyncpg
import pytest

from echelon_seed import commands
from tests import dbtools, forkrun, pgserver
from tests.test_reliability_kill import OLD, cli_env

ROUNDS = int(os.environ.get("ECHELON_SEED_LOCK_ROUNDS", "1"))
ANCHORS = ("2026-03-01T08:30:00Z", "2026-04-02T09:00:00Z", "2026-05-03T10:15:00Z")


def _cli(*args: str) -> forkrun.Forked | subprocess.Popen[str]:
    """A command in a process of its own (a fork of the worker's preloaded server: tests/forkrun.py)."""
    return forkrun.popen("echelon_seed", *args, cwd=dbtools.ECHELON, env=cli_env())


@dataclass
class _Readers:
    """`verify` and `snapshot` run back to back, each in its own thread, until told to stop."""

    url: str
    scale: int
    golden: Path
    digest: str
    stop: threading.Event = field(default_factory=threading.Event)
    failures: list[str] = field(default_factory=list)
    runs: dict[str, int] = field(default_factory=lambda: {"verify": 0, "snapshot": 0})

    def _loop(self, verb: str) -> None:
        while not self.stop.is_set():
            if verb == "verify":
                args = ["verify", "--database-url", self.url, "--scale", str(self.scale), "--golden", str(self.golden)]
            else:
                args = ["snapshot", "--database-url", self.url]
            out, err = (proc := _cli(*args, "--quiet")).communicate(timeout=300)
            self.runs[verb] += 1
            if proc.returncode != 0:
                self.failures.append(f"{verb} exit {proc.returncode}: {err.strip()[-500:]} {out[-500:]}")
            elif verb == "snapshot" and json.loads(out.partition("\n")[0])["digest"] != self.digest:
                self.failures.append(f"snapshot saw another state: {out.partition(chr(10))[0][:300]}")

    def __enter__(self) -> _Readers:
        self._threads = [threading.Thread(target=self._loop, args=(verb,), daemon=True) for verb in self.runs]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=300)


async def _trial(url: str, scale: int, golden: Path, rounds: int) -> None:
    digest = json.loads(golden.read_text(encoding="utf-8").partition("\n")[0])["digest"]
    await commands.apply(url, anchor=OLD, scale=scale)
    for round_ in range(rounds):
        with _Readers(url, scale, golden, digest) as readers:
            # Readers first: the applies then meet readers already inside their transactions.
            writers = [
                _cli("apply", "--database-url", url, "--force", "--scale", str(scale), "--anchor", a, "-q")
                for a in ANCHORS
            ]
            outcomes = [(w.wait(timeout=600), w.communicate()[1]) for w in writers]
        for code, err in outcomes:
            assert code == 0, f"round {round_}: apply exit {code}: {err}"
            assert "deadlock" not in err
        assert not readers.failures, f"round {round_}: " + "\n".join(readers.failures)
        assert readers.runs["verify"] and readers.runs["snapshot"], readers.runs


@pytest.fixture(scope="module")
def golden_200(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scale-200 manifest, made from the fixtures (none is committed at that scale)."""
    path = tmp_path_factory.mktemp("golden") / "scale-200.manifest.json"
    anyio.run(lambda: commands.verify(golden=path, scale=200, update=True))
    return path


async def test_concurrent_force_applies_and_readers_never_deadlock(pg_url: str) -> None:
    await _trial(pg_url, 100, commands.golden_path(100), ROUNDS)


@pytest.mark.slow
async def test_concurrent_force_applies_and_readers_never_deadlock_20_rounds(pg_url: str, golden_200: Path) -> None:
    await _trial(pg_url, 200, golden_200, 20)


async def test_a_role_that_owns_no_table_reseeds_at_scale_1000(pg_url: str, pg_server: pgserver.PgServer) -> None:
    await commands.apply(pg_url, anchor=OLD)
    database = urlsplit(pg_url).path.lstrip("/")
    role = f"writer_{database}"[:63]
    admin = await asyncpg.connect(**pgserver.connect_kwargs(pg_url))
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'wr1te-0nly'")
        await admin.execute(f"GRANT CONNECT ON DATABASE {database} TO {role}")
        await admin.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        await admin.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        owners = {r[0] for r in await admin.fetch("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
    finally:
        await admin.close()
    assert role not in owners
    parts = urlsplit(pg_url)
    writer = urlunsplit(
        (parts.scheme, f"{role}:wr1te-0nly@{parts.netloc.rpartition('@')[2]}", parts.path, parts.query, "")
    )
    try:
        done = dbtools.run_cli("apply", "--force", "--scale", "1000", "-q", "--database-url", writer, timeout=600)

        assert done.returncode == 0, done.stderr
        counts = await dbtools.row_counts(pg_url)
        assert counts["wing_flaps"] == 75 * 1000
        assert (await dbtools.table_rows(pg_url, "echelon_seed_runs"))[0][3] == 1000
    finally:
        pg_server.drop_database(database)
        admin = await asyncpg.connect(**pgserver.connect_kwargs(pg_server.admin_url))
        try:
            await admin.execute(f"DROP ROLE IF EXISTS {role}")
        finally:
            await admin.close()
