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
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

from . import __version__, clock, commands, engines, progress
from .errors import EchelonSeedError, Interrupted

__all__ = ["build_parser", "main"]

_EPILOG = """\
database:
  --database-url, else $DATABASE_URL, else sqlite:///./dev.db. Plain sqlite:/// and
  postgresql:// URLs are accepted; passwords are never printed.
exit codes:
  0 success, 1 verify found differences, 2 error, 130/143 interrupted (rolled back)
"""


def _add_database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", metavar="URL", help="database to use (default: $DATABASE_URL or sqlite:///./dev.db)")


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
    apply.add_argument("--scale", type=_positive, default=1, metavar="N", help="multiply the generated tables (default 1)")
    apply.add_argument(
        "--lock-timeout", type=_seconds, default=30.0, metavar="SECONDS", help="wait this long for another writer (30)"
    )
    apply.add_argument("-q", "--quiet", action="store_true", help="no progress or row counts, only errors")

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
    applied = f"{migration.applied} migration{'s' if migration.applied != 1 else ''} applied" if migration.applied else "up to date"
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


_VERBS: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {"apply": _apply, "check": _check}


async def _run(verb: Callable[[], Awaitable[int]]) -> int:
    """Run `verb`, turning SIGINT/SIGTERM into a cancellation that rolls the transaction back."""
    caught: list[int] = []
    outcome: list[int] = []
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for signum in signals:
                    caught.append(signum)
                    group.cancel_scope.cancel()
                    return

        async def work() -> None:
            outcome.append(await verb())
            group.cancel_scope.cancel()

        group.start_soon(watch)
        group.start_soon(work)
    if caught:
        raise Interrupted(caught[0])
    return outcome[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return anyio.run(_run, lambda: _VERBS[args.verb](args))
    except EchelonSeedError as exc:
        print(f"echelon-seed: {'' if isinstance(exc, Interrupted) else 'error: '}{engines.scrub(str(exc))}",
              file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("echelon-seed: interrupted; rolled back", file=sys.stderr)
        return 130
    except ValueError as exc:
        print(f"echelon-seed: error: {engines.scrub(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: say so in one line, never leak a secret
        if os.environ.get("ECHELON_SEED_DEBUG"):
            print(engines.scrub("".join(traceback.format_exception(exc))), file=sys.stderr)
        print(
            f"echelon-seed: internal error: {type(exc).__name__}: {engines.scrub(str(exc))} "
            "(set ECHELON_SEED_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 2
