"""The `echelon-seed` command: options in, one call to `commands`, a few lines out, an exit code.

Exit codes: 0 success (verify: the database matches the golden file),
1 verify found differences, 2 any error, 128+N interrupted by signal N.
Errors are one line on stderr, never a traceback (ECHELON_SEED_DEBUG=1 shows
one, scrubbed of passwords).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

from . import __version__, clock, commands, diff, engines, progress, project
from . import snapshot as snapshots
from .errors import EchelonSeedError, Interrupted

__all__ = ["build_parser", "main"]

_EPILOG = """\
database:
  --database-url, else $DATABASE_URL, else sqlite:///./dev.db. Plain sqlite:/// and
  postgresql:// URLs are accepted; passwords are never printed.
exit codes:
  0 success, 1 verify found differences, 2 error, 130/143 interrupted (rolled back)
"""


_VERIFY_EPILOG = """\
database:
  --database-url, else $DATABASE_URL when set, else a fresh temporary SQLite database
  seeded from the fixtures (--fresh: always the fresh one). Passwords are never printed.
exit codes:
  0 the digests are equal; 1 the database differs (content, schema or provenance);
  2 error: unreachable, empty or unmigrated database, not seeded by echelon-seed,
  unreadable or inconsistent golden file, bad option; 130/143 interrupted
"""


def _add_database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", metavar="URL", help="database to use (default: $DATABASE_URL or sqlite:///./dev.db)"
    )


def _add_fixtures(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fixtures", metavar="DIR", type=Path, help="fixture directory (default: the project's data/)")


def _anchor(text: str) -> Any:
    try:
        return clock.parse_anchor(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="echelon-seed",
        description="Seed the Echelon database deterministically, snapshot it canonically, verify it against a golden file.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"echelon-seed {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    apply = verbs.add_parser(
        "apply",
        help="migrate to head, then seed the fixtures in one transaction",
        description="Run the migrations, then write the fixtures with bulk inserts in one transaction. "
        "Applying the same seed again is a no-op; a database holding other data is refused unless --force.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_database(apply)
    _add_fixtures(apply)
    apply.add_argument("--force", action="store_true", help="clear the echelon-seed tables and reseed")
    apply.add_argument(
        "--confirm", metavar="DBNAME", help="with --force on a remote database echelon-seed did not seed: its name"
    )
    apply.add_argument("--anchor", type=_anchor, metavar="ISO-8601", help='the "now" of relative times (default: now)')
    apply.add_argument(
        "--scale", type=_positive, default=1, metavar="N", help="multiply the generated tables (default 1)"
    )
    apply.add_argument(
        "--lock-timeout", type=_seconds, default=30.0, metavar="SECONDS", help="wait this long for another writer (30)"
    )
    apply.add_argument("-q", "--quiet", action="store_true", help="no progress or row counts, only errors")

    snap = verbs.add_parser(
        "snapshot",
        help="write the canonical snapshot of a database",
        description="Write the canonical snapshot (header line, then one JSON row per line) of a database, "
        "read in one read-only transaction.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_database(snap)
    snap.add_argument("-o", "--output", metavar="PATH", default="-", help="file to write, or - for stdout (default)")
    snap.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    verify = verbs.add_parser(
        "verify",
        help="compare a database with the golden snapshot under snapshots/ (a CI gate)",
        description="Compare the snapshot of a database with the golden file; exit 0 only when their digests "
        "(schema and every row) are equal. The database is --database-url, else $DATABASE_URL when it is set, "
        "else (and always with --fresh) a fresh temporary SQLite database seeded from the fixtures. "
        "A database given by URL is only read. --update rewrites the golden file instead "
        "(the only command that writes it).",
        epilog=_VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument(
        "--database-url", metavar="URL", help="database to verify (default: $DATABASE_URL, else a fresh seed)"
    )
    _add_fixtures(verify)
    verify.add_argument(
        "--fresh", action="store_true", help="verify a fresh temporary seed even when $DATABASE_URL is set"
    )
    verify.add_argument(
        "--scale",
        type=_positive,
        default=1,
        metavar="N",
        help="verify the seed at this scale against its digest manifest (default 1)",
    )
    verify.add_argument("--golden", type=Path, metavar="PATH", help="golden file (default: snapshots/ for the scale)")
    verify.add_argument(
        "--ignore",
        action="append",
        metavar="PATTERN",
        help="leave matching columns out: created_at, *.updated_at, agents.* (repeatable; recorded in the "
        "golden file, whose list is used when none is given)",
    )
    verify.add_argument("--update", action="store_true", help="regenerate the golden file from this database or seed")
    verify.add_argument(
        "--full", action="store_true", help=f"print every difference, not {diff.DEFAULT_LIMIT} examples"
    )
    verify.add_argument("--save-actual", type=Path, metavar="PATH", help="also write the actual snapshot here")
    verify.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    check = verbs.add_parser(
        "check",
        help="validate the fixtures against the schema, without a database",
        description="Report every problem in the fixtures (file, row, column); exit 2 when there is any.",
    )
    _add_fixtures(check)
    return parser


def _print_apply(result: commands.ApplyResult) -> None:
    if result.action == "unchanged":
        print(f"already seeded (fixtures {result.fixture_digest[:19]}…, scale {result.scale}), nothing to do")
        return
    migration = result.migration
    applied = (
        f"{migration.applied} migration{'s' if migration.applied != 1 else ''} applied"
        if migration.applied
        else "up to date"
    )
    print(f"{result.action} {result.database}")
    print(f"  schema   {migration.after} ({applied})")
    print(f"  fixtures {result.fixture_digest[:19]}… scale {result.scale}, anchor {result.anchor.isoformat()}")
    for name, count in result.rows.items():
        print(f"  {name:<16}{count:>12,}")
    total = sum(result.rows.values())
    rate = f", {total / result.seconds:,.0f} rows/s" if result.seconds > 0 else ""
    print(f"  {'total':<16}{total:>12,} rows in {result.seconds:.2f} s{rate}")


async def _apply(args: argparse.Namespace) -> int:
    result = await commands.apply(
        args.database_url,
        fixtures_dir=args.fixtures,
        anchor=args.anchor,
        force=args.force,
        confirm=args.confirm,
        scale=args.scale,
        lock_timeout=args.lock_timeout,
        reporter=progress.choose(quiet=args.quiet),
    )
    if not args.quiet:
        _print_apply(result)
    return 0


async def _check(args: argparse.Namespace) -> int:
    problems = commands.check(args.fixtures)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the fixtures", file=sys.stderr)
        return 2
    print("fixtures OK")
    return 0


def _summary(header: snapshots.Header, *, verb: str = "") -> str:
    """ "176 rows in 8 tables[ <verb>] (sha256:bfa520ff8a93…)": what a snapshot holds, in one phrase."""
    rows = sum(header.rows.values())
    return f"{rows:,} rows in {len(header.tables)} tables{' ' + verb if verb else ''} ({header.digest[:19]}…)"


async def _snapshot(args: argparse.Namespace) -> int:
    reporter = progress.choose(quiet=args.quiet)
    if args.output == "-":
        await commands.snapshot(args.database_url, sys.stdout.buffer, reporter=reporter)
        sys.stdout.flush()
        return 0
    target = Path(args.output)
    with project.replaced(target) as out:
        header = await commands.snapshot(args.database_url, out, reporter=reporter)
    print(f"wrote {target}: {_summary(header)}", file=sys.stderr)
    return 0


async def _verify(args: argparse.Namespace) -> int:
    result = await commands.verify(
        args.database_url,
        golden=args.golden,
        fixtures_dir=args.fixtures,
        scale=args.scale,
        update=args.update,
        limit=None if args.full else diff.DEFAULT_LIMIT,
        ignore=args.ignore,
        fresh=args.fresh,
        save_actual=args.save_actual,
        reporter=progress.choose(quiet=args.quiet),
    )
    if result.updated:
        print(f"wrote {project.display(result.golden)}: {_summary(result.header)}")
        return 0
    assert result.report is not None
    if result.matches:
        print(f"OK: {_summary(result.header, verb='match ' + project.display(result.golden))}")
        return 0
    print(result.report.render(result.regenerate))
    return 1


_VERBS: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {
    "apply": _apply,
    "check": _check,
    "snapshot": _snapshot,
    "verify": _verify,
}


# After a signal the rollback takes well under a second, but a driver call running in a
# thread (aiosqlite finishing a long executemany, or its close after a cancellation, which
# can wait forever) must not keep the process alive. Leaving is a rollback too: the engine
# discards an uncommitted transaction when its connection goes away.
_INTERRUPT_GRACE_S = 3.0
_INTERRUPTED_LINE = "echelon-seed: interrupted; rolled back"
_report_lock = threading.Lock()
_reported = threading.Event()


def _report_interrupt() -> None:
    """Print the interrupted line once, whichever of main() and the grace timer gets there first."""
    with _report_lock:
        if not _reported.is_set():
            print(_INTERRUPTED_LINE, file=sys.stderr, flush=True)
            _reported.set()


def _exit_after_grace(signum: int) -> threading.Timer:
    """Make sure that a signal ends the process, even if cleanup hangs inside a driver."""

    def leave() -> None:
        _report_interrupt()
        os._exit(128 + signum)

    timer = threading.Timer(_INTERRUPT_GRACE_S, leave)
    timer.daemon = True
    timer.start()
    return timer


async def _run(verb: Callable[[], Awaitable[int]]) -> int:
    """Run `verb`, turning SIGINT/SIGTERM into a cancellation that rolls the transaction back."""
    caught: list[int] = []
    outcome: list[int] = []
    failures: list[Exception] = []
    timers: list[threading.Timer] = []
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for signum in signals:
                    caught.append(signum)
                    timers.append(_exit_after_grace(signum))
                    group.cancel_scope.cancel()
                    return

        async def work() -> None:
            # Kept out of the task group's ExceptionGroup, so errors reach main() as themselves.
            try:
                outcome.append(await verb())
            except Exception as exc:
                failures.append(exc)
            finally:
                group.cancel_scope.cancel()

        group.start_soon(watch)
        group.start_soon(work)
    if outcome:
        # The verb finished (a commit under way is shielded and completed): its result stands.
        for timer in timers:
            timer.cancel()
        return outcome[0]
    if caught:
        raise Interrupted(caught[0])
    raise failures[0]


def _one_line(message: str) -> str:
    """The first line of `message`, scrubbed: drivers append DETAIL lines (with row values) to theirs."""
    lines = engines.scrub(message).strip().splitlines()
    return lines[0] if lines else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return anyio.run(_run, lambda: _VERBS[args.verb](args))
    except Interrupted as exc:
        _report_interrupt()
        return exc.exit_code
    except EchelonSeedError as exc:
        print(f"echelon-seed: error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`snapshot | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        _report_interrupt()
        return 130
    except ValueError as exc:
        print(f"echelon-seed: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: say so in one line, never leak a secret
        if os.environ.get("ECHELON_SEED_DEBUG"):
            print(engines.scrub("".join(traceback.format_exception(exc))), file=sys.stderr)
        print(
            f"echelon-seed: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
            "(set ECHELON_SEED_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 2
