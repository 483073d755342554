"""The command line of the gate, `verify` and `diff`: options in, one call, the report out as asked.

Kept apart from `cli` so that each verb's costume is one screen; like `cli`
it imports only the standard library at start-up, and each command imports
what it needs when it runs. Both commands share one report: text, JSON on
stdout, a JUnit file, and exit 0 (equal) or 1 (different).
"""

from __future__ import annotations

import argparse
import sys

from . import cli_options as options
from .cli_signals import end_progress, reporter

# typing is for type checkers only; see the same guard in `cli`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import diff as diffs

__all__ = ["DIFF_LIMIT", "configure_diff", "configure_verify", "diff", "verify"]

# diff.DEFAULT_LIMIT, written out: importing diff at parse time would bring SQLAlchemy (a test keeps them equal).
DIFF_LIMIT = 20


def configure_verify(parser: argparse.ArgumentParser) -> None:
    options.add_allow_large(parser)
    parser.add_argument(
        "--scale",
        type=options.positive,
        default=1,
        metavar="N",
        help="verify the seed at this scale against its digest manifest (default 1)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="verify a fresh temporary seed even when $DATABASE_URL is set"
    )
    parser.add_argument(
        "--golden", type=options.path, metavar="PATH", help="golden file (default: snapshots/ for the scale)"
    )
    parser.add_argument(
        "--ignore",
        action="append",
        metavar="PATTERN",
        help="leave matching columns out: created_at, *.updated_at, agents.*; or schema facts: "
        "'schema:*.default', 'schema:film.check.*' (repeatable; recorded in the golden file, whose list is used "
        "when none is given; a pattern that matches nothing is an error)",
    )
    parser.add_argument("--update", action="store_true", help="regenerate the golden file from this database or seed")
    parser.add_argument("--full", action="store_true", help=f"print every difference, not {DIFF_LIMIT} examples")
    _report_options(parser)


def _report_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by verify and diff: what the verdict covers, where and how the report goes."""
    parser.add_argument(
        "--indexes", action="store_true", help="indexes are part of the verdict too (a physical choice: off by default)"
    )
    parser.add_argument("--views", action="store_true", help="views and materialized views are part of the verdict too")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="report as text (default) or JSON on stdout"
    )
    parser.add_argument(
        "--junit-xml", type=options.path, metavar="PATH", help="also write a JUnit XML report (a case per table)"
    )
    parser.add_argument("--save-actual", type=options.path, metavar="PATH", help="also write the actual snapshot here")


def configure_diff(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A", help="database URL or snapshot file (the golden side)")
    parser.add_argument("b", metavar="B", help="database URL or snapshot file")
    parser.add_argument(
        "--ignore",
        action="append",
        metavar="PATTERN",
        help="leave matching columns (or 'schema:' facts) out of a database's snapshot (default: the file "
        "side's recorded list)",
    )
    parser.add_argument("--full", action="store_true", help=f"print every difference, not {DIFF_LIMIT} examples")
    _report_options(parser)


async def verify(args: argparse.Namespace) -> int:
    from . import commands, project
    from . import diff as diffs

    if args.database_url is not None:
        options.check_sqlite_path(args.database_url, must_exist=True)
    options.check_outputs(args, args.golden if args.update else None)
    result = await commands.verify(
        args.database_url,
        golden=args.golden,
        fixtures_dir=args.fixtures,
        scale=args.scale,
        update=args.update,
        limit=None if args.full or args.format == "json" else diffs.DEFAULT_LIMIT,
        ignore=args.ignore,
        fresh=args.fresh,
        save_actual=args.save_actual,
        reporter=reporter(args),
        project=options.project(args),
        allow_large=args.allow_large,
        indexes=args.indexes,
        views=args.views,
    )
    end_progress()
    if result.updated:
        if not args.quiet:
            print(f"wrote {project.display(result.golden)}: {options.summary(result.header)}")
        return 0
    assert result.report is not None
    ok = f"OK: {options.summary(result.header, verb='match ' + project.display(result.golden))}"
    return _report(
        args, result.report, actual=result.database, ok=ok, regenerate=result.regenerate, advice=result.advice
    )


def _report(
    args: argparse.Namespace,
    report: diffs.Report,
    *,
    actual: str,
    ok: str,
    regenerate: str | None,
    advice: str | None = None,
) -> int:
    """Print the report as asked (text or JSON), write the JUnit file if asked; 0 when equal, else 1."""
    import json

    from . import project, reports

    if args.junit_xml is not None:
        with project.replaced(args.junit_xml) as out:
            out.write(reports.to_junit(report))
    if args.format == "json":
        print(json.dumps(reports.to_json(report, actual_source=actual), ensure_ascii=False, indent=2))
    elif not report.matches:
        print(report.render(regenerate, advice=advice))
    elif not args.quiet:
        print(ok)
        # How the rows got there is worth knowing, never a reason to fail.
        for note in report.provenance:
            print(f"note: {note}", file=sys.stderr)
    return 0 if report.matches else 1


async def diff(args: argparse.Namespace) -> int:
    from . import commands
    from . import diff as diffs
    from .errors import ConfigError

    for name, source in (("A", args.a), ("B", args.b)):
        if not source.strip():
            raise ConfigError(f"{name} is empty; give a database URL or a snapshot file")
        options.check_sqlite_path(source, must_exist=True)
    options.check_outputs(args)

    result = await commands.diff_sources(
        args.a,
        args.b,
        ignore=args.ignore,
        limit=None if args.full or args.format == "json" else diffs.DEFAULT_LIMIT,
        save_actual=args.save_actual,
        reporter=reporter(args),
        project=options.project(args),
        indexes=args.indexes,
        views=args.views,
    )
    end_progress()
    ok = f"OK: {options.summary(result.report.actual_header, verb='match ' + result.golden)}"
    return _report(args, result.report, actual=result.actual, ok=ok, regenerate=None)
