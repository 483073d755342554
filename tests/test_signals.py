"""Signals at any instant: the exit code always tells the truth about the database.

A trial runs `python -m echelon_seed apply --force --anchor <other seed>` on a
database that holds one of two seeds (OLD and NEW) and sends SIGINT or SIGTERM
after a delay spread over the whole run: start-up (imports, parsing), the
transaction, the commit and the exit. Then:

- exit 0        <=> the database holds the new seed, and stdout says "reseeded";
- exit 128 + N  <=> the database holds the old seed, and stderr is one line:
  "echelon-seed: interrupted" (start-up) or "... interrupted; rolled back";
- never a traceback, never death by the signal itself, once echelon-seed's
  code runs: the handler is installed on the first line of
  `echelon_seed.__main__`. Before that (the interpreter starting, `site`,
  runpy, the package's light `__init__`: a few tens of milliseconds)
  Python's defaults apply; a trial that
  lands there must show exactly that (killed by the signal, or Python's own
  "Fatal Python error: init_import_site" exit 1 for a SIGINT inside `site`;
  nothing on stdout; no echelon-seed frame in the traceback) and the old seed;
- SQLite: no journal file is left beside the database (the rollback completed
  before the exit; a hot journal would be rolled back only by the next opener).

Each trial flips the target, so that no reseeding is needed between trials.
Delays are stratified over the run (trial i of n lands in the i-th n-th of it,
at a point derived from a hash of the trial, not from a clock or `random`),
so that even the reduced count reaches start-up, the transaction, the commit
and the exit. They are not readiness waits: where the signal lands is the
thing varied.

Counts: SIGNAL_TRIALS per engine in the suite; the `slow` test runs 100 per
engine (`pytest -m slow tests/test_signals.py`).
"""

from __future__ import annotations

import hashlib
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands
from tests import dbtools
from tests.test_reliability_kill import NEW, OLD, cli_env, sqlite_file

SIGNAL_TRIALS = 6
INTERRUPTED = ("echelon-seed: interrupted", "echelon-seed: interrupted; rolled back")


def _fraction(*parts: object) -> float:
    """A number in [0, 1) derived from `parts`: a reproducible spread without `random`."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _apply(url: str, anchor: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "echelon_seed", "apply", "--database-url", url, "--force", "--anchor", anchor],
        cwd=dbtools.ECHELON,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _iso(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


async def _trials(url: str, engine: str, count: int) -> dict[str, int]:
    """Run `count` signal trials; the tally of where they ended (for the failure message and the report)."""
    await commands.apply(url, anchor=NEW)
    states = {"new": await dbtools.data(url)}
    await commands.apply(url, anchor=OLD, force=True)
    states["old"] = await dbtools.data(url)
    anchors = {"old": OLD, "new": NEW}

    # How long an unsignalled run takes here and now: the delays spread over it, and a bit past its end.
    started = time.monotonic()
    probe = _apply(url, _iso(NEW))
    out, err = probe.communicate(timeout=120)
    assert probe.returncode == 0, err
    span = (time.monotonic() - started) * 1.2
    here = "new"

    tally = {"before echelon-seed ran": 0, "committed": 0, "interrupted at start-up": 0, "rolled back": 0}
    for trial in range(count):
        target = "old" if here == "new" else "new"
        signum = (signal.SIGINT, signal.SIGTERM)[trial % 2]
        delay = span * (trial + _fraction(engine, trial)) / count
        child = _apply(url, _iso(anchors[target]))
        time.sleep(delay)  # where the signal lands, not a wait for readiness
        child.send_signal(signum)
        out, err = child.communicate(timeout=60)
        where = f"trial {trial}: {signum.name} after {delay:.3f} s, exit {child.returncode}; stderr: {err!r}"

        now = await dbtools.data(url)
        if child.returncode in (-signum, 1) and "echelon_seed/__main__" not in err and "cli.py" not in err:
            # The interpreter had not reached echelon_seed.__main__ yet: killed by the signal, or
            # (SIGINT while `site` loads) "Fatal Python error: init_import_site ... KeyboardInterrupt".
            assert out == "" and now == states[here], where
            assert err == "" or err.rstrip().endswith("KeyboardInterrupt"), where
            tally["before echelon-seed ran"] += 1
            continue
        assert "Traceback" not in err, where
        assert child.returncode in (0, 128 + signum), where
        if child.returncode == 0:
            assert now == states[target], where
            assert out.startswith("reseeded "), where
            tally["committed"] += 1
            here = target
        else:
            assert now == states[here], where
            assert out == "", where
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0] in INTERRUPTED, where
            tally["interrupted at start-up" if lines[0] == INTERRUPTED[0] else "rolled back"] += 1
        if engine == "sqlite":
            journal = Path(f"{sqlite_file(url)}-journal")
            assert not journal.exists(), f"{where}; a hot journal was left behind"
    return tally


async def test_a_signal_at_any_instant_leaves_an_exit_code_that_tells_the_truth(db_url: str, engine_name: str) -> None:
    tally = await _trials(db_url, engine_name, SIGNAL_TRIALS)

    assert sum(tally.values()) == SIGNAL_TRIALS


@pytest.mark.slow
async def test_a_hundred_signals_at_any_instant(db_url: str, engine_name: str) -> None:
    tally = await _trials(db_url, engine_name, 100)

    print(f"{engine_name}: {tally}")
    assert sum(tally.values()) == 100


async def test_a_failed_sqlite_write_rolls_back_before_the_exit_and_leaves_no_journal(sqlite_url: str) -> None:
    await commands.apply(sqlite_url, anchor=OLD)
    before = await dbtools.dump(sqlite_url)
    # A real failure in the middle of the bulk write: the database itself refuses one row.
    await dbtools.execute(
        sqlite_url,
        "CREATE TRIGGER refuse_one BEFORE INSERT ON wing_flaps WHEN NEW.id = 'FLAP_00042' "
        "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END",
    )

    done = dbtools.run_cli("apply", "--database-url", sqlite_url, "--force", "--anchor", _iso(NEW))

    assert done.returncode == 2, done.stderr
    assert "refused by a trigger" in done.stderr
    assert not Path(f"{sqlite_file(sqlite_url)}-journal").exists()
    assert await dbtools.dump(sqlite_url) == before


def _file_size_limit(limit: int) -> Callable[[], None]:
    """A full disk for one child: writes past `limit` bytes fail (EFBIG), as on a disk with no space left."""

    def apply_limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer instead of failing its write
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply_limit


# Against a 1 MiB limit: scale 100 fits in SQLite's page cache and fails at the COMMIT; scale 300
# spills the cache and fails in the middle of the bulk write.
@pytest.mark.parametrize("scale", [100, 300], ids=["fails-at-commit", "fails-mid-write"])
async def test_a_full_disk_rolls_back_before_the_exit_and_leaves_no_journal(sqlite_url: str, scale: int) -> None:
    await commands.apply(sqlite_url, anchor=OLD)
    before = await dbtools.dump(sqlite_url)
    database = Path(sqlite_file(sqlite_url))
    assert database.stat().st_size < 2**20

    done = subprocess.run(
        # --quiet: on a busy machine the write lasts long enough for a progress line, which is not the point here
        [
            sys.executable,
            "-m",
            "echelon_seed",
            "apply",
            "--quiet",
            "--database-url",
            sqlite_url,
            "--force",
            "--scale",
            str(scale),
        ],
        cwd=dbtools.ECHELON,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_file_size_limit(2**20),  # noqa: PLW1509 - no threads of ours in the child before exec
        check=False,
    )

    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith(f"echelon-seed: error: {sqlite_url}: "), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert not Path(f"{database}-journal").exists(), "a hot journal was left behind"
    assert await dbtools.dump(sqlite_url) == before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_start_up_signal_inside_a_weakref_callback_still_stops_the_command(signum: int) -> None:
    """Python prints and drops an exception raised in a weakref callback (the import system runs
    them while it loads modules): a handler that raised there let the command run on to exit 0.
    Here the signal is delivered inside such a callback, at start-up; the process must stop."""
    script = f"""
import signal, sys, weakref
from echelon_seed import cli_signals
cli_signals.begin().install()
class Thing: pass
thing = Thing()
ref = weakref.ref(thing, lambda _ref: signal.raise_signal({int(signum)}))
del thing
print("the command went on")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=dbtools.ECHELON, env=cli_env(), capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (128 + signum, "", INTERRUPTED[0] + "\n")
