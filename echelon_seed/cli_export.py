"""The command line of `export`, `export-sql` and `status`: options in, one call, a few lines out.

Kept apart from `cli` so that each verb's costume is one screen; like `cli`
it imports only the standard library at start-up, and each command imports
what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys

from . import cli_options as options
from .cli_signals import end_progress, reporter

# typing is for type checkers only; see the same guard in `cli`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "check_leaks",
    "configure_export",
    "configure_export_sql",
    "configure_leaks",
    "configure_status",
    "export",
    "export_sql",
    "status",
]


def configure_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", type=options.path, metavar="DIR", help="directory to write (default: the project's fixtures)"
    )
    parser.add_argument(
        "--tables",
        metavar="T,...",
        type=lambda text: [t.strip() for t in text.split(",") if t.strip()],
        default=[],
        help="only these tables, plus the rows they reference (said on the last line)",
    )
    parser.add_argument(
        "--root",
        action="append",
        default=[],
        metavar="TABLE:KEY",
        help="only this row and every row it references, transitively (repeatable; composite keys: TABLE:k1,k2)",
    )
    times = parser.add_mutually_exclusive_group()
    times.add_argument(
        "--anchor",
        type=options.anchor,
        metavar="ISO-8601",
        help="write times as offsets from this moment (now-4h); default: the seed record's anchor, else absolute",
    )
    times.add_argument("--absolute", action="store_true", help="write times as absolute ISO-8601 values")
    parser.add_argument("--force", action="store_true", help="replace the contents of a non-empty directory")
    _mask_option(parser)


def _mask_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mask",
        nargs="?",
        const="",
        metavar="FILE",
        help="mask values by the project's [tool.echelon-seed.mask] policy, or by the policy in FILE; the key "
        "comes from $ECHELON_MASK_KEY (or the file named by $ECHELON_MASK_KEY_FILE)",
    )


def _policy(args: argparse.Namespace, chosen: Any) -> Any:
    """The masking policy asked for by --mask, or None."""
    if args.mask is None:
        return None
    from . import mask

    if args.mask:
        return mask.load_file(options.path(args.mask))
    if chosen.mask is None:
        from .errors import ConfigError

        raise ConfigError(
            f"--mask: project {chosen.name!r} has no [tool.echelon-seed.mask] policy; add one to its "
            "pyproject.toml or give a policy file (--mask FILE)"
        )
    return mask.Policy.from_mapping(chosen.mask, "[tool.echelon-seed.mask]")


def _print_leaks(exc: Any) -> None:
    for line in exc.lines:
        print(line, file=sys.stderr)


async def export(args: argparse.Namespace) -> int:
    from . import commands, project

    options.check_sqlite_path(options.target(args), must_exist=True)
    if args.output is not None:
        project.check_output(args.output, directory=True)
    chosen = options.project(args)
    from .mask import DIGESTS_FILE, LeakError

    try:
        result = await commands.export(
            args.database_url,
            args.output,
            tables=args.tables,
            roots=args.root,
            anchor=args.anchor,
            absolute=args.absolute,
            force=args.force,
            reporter=reporter(args),
            project=chosen,
            mask=_policy(args, chosen),
        )
    except LeakError as exc:
        end_progress()
        _print_leaks(exc)
        raise
    end_progress()
    from . import export as exporting

    if result.left_out:
        print(f"not exported (not tables of the project): {', '.join(result.left_out)}", file=sys.stderr)
    if args.quiet:
        return 0
    print(
        f"exported {options.plural(len(result.rows), 'table')} from {result.database} to "
        f"{project.display(result.directory)} ({exporting.describe_anchor(result.anchor)})"
    )
    from .layout import name_width

    width = name_width(result.rows)
    for name, count in result.rows.items():
        print(f"  {name:<{width}}{count:>12,}")
    total = sum(result.rows.values())
    print(f"  {'total':<{width}}{total:>12,} {'row' if total == 1 else 'rows'} in {result.seconds:.2f} s")
    if result.added:
        added = ", ".join(f"{name} ({options.plural(n, 'row')})" for name, n in sorted(result.added.items()))
        print(f"added for foreign keys: {added}")
    if result.masked:
        print(f"masked {options.plural(len(result.masked), 'column')}: {', '.join(result.masked)}")
        print(
            f"leak check: none of {options.plural(result.recorded, 'original value')} appears in the files "
            f"(digests in {project.display(result.directory / DIGESTS_FILE)})"
        )
    return 0


def configure_export_sql(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="FILE", default="-", help="file to write, or - for stdout (default)")
    parser.add_argument(
        "--scale", type=options.positive, default=1, metavar="N", help="multiply the generated tables (default 1)"
    )
    parser.add_argument(
        "--with-schema", action="store_true", help="put the migrations' DDL first, for an empty database"
    )
    _mask_option(parser)


async def export_sql(args: argparse.Namespace) -> int:
    from . import commands, project

    chosen = options.project(args)
    if args.output == "-":
        commands.export_sql(
            sys.stdout.buffer,
            fixtures_dir=args.fixtures,
            scale=args.scale,
            with_schema=args.with_schema,
            project=chosen,
            mask=_policy(args, chosen),
        )
        sys.stdout.flush()
        return 0
    target = options.path(args.output)
    project.check_output(target)
    with project.replaced(target) as out:
        rows = commands.export_sql(
            out,
            fixtures_dir=args.fixtures,
            scale=args.scale,
            with_schema=args.with_schema,
            project=chosen,
            mask=_policy(args, chosen),
        )
    if not args.quiet:
        schema = "with the schema" if args.with_schema else "for a migrated database"
        print(
            f'wrote {target}: {options.plural(rows, "row")} {schema}; load it with: psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f {target}'
        )
    return 0


def configure_status(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or JSON on stdout")


async def status(args: argparse.Namespace) -> int:
    import json

    from . import commands

    options.check_sqlite_path(options.target(args), must_exist=True)
    result = await commands.status(args.database_url, fixtures_dir=args.fixtures, project=options.project(args))
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    elif not args.quiet:
        for line in result.lines():
            print(line)
    return 0


def configure_leaks(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--leaks",
        action="store_true",
        help="look for original values of masked columns in the fixtures written by 'export --mask' (or in "
        "--database-url, or --snapshot FILE); exit 1 when one appears",
    )
    parser.add_argument("--snapshot", metavar="FILE", help="with --leaks: read this snapshot file instead")
    parser.add_argument(
        "--digests", metavar="FILE", help="with --leaks: the digest file (default: echelon-mask.digests in --fixtures)"
    )


async def check_leaks(args: argparse.Namespace) -> int:
    from . import commands

    if args.database_url is not None:
        options.check_sqlite_path(args.database_url, must_exist=True)
    result = await commands.check_leaks(
        fixtures_dir=args.fixtures,
        database_url=args.database_url,
        snapshot=options.path(args.snapshot) if args.snapshot else None,
        digests=options.path(args.digests) if args.digests else None,
        project=options.project(args),
    )
    if result.leaks:
        from .mask import grouped

        for line in grouped(result.leaks):
            print(line, file=sys.stderr)
        print(f"leak check: original values of masked columns appear in {result.source}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"leak check OK: none of {options.plural(result.recorded, 'original value')} appears in {result.source}")
    return 0
