"""The command line of `cache`: the replay cache's entries listed, or cleared; options in, a few lines out.

Like `cli`, it imports only the standard library at start-up; the cache's
modules are imported when the command runs.
"""

from __future__ import annotations

import argparse
import time

from . import cli_options as options

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clear", action="store_true", help="remove every entry (an entry another apply is loading stays)"
    )


def _entries(count: int) -> str:
    return f"{count:,} {'entry' if count == 1 else 'entries'}"


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):,.1f} MB"


async def run(args: argparse.Namespace) -> int:
    from . import replay

    cache = replay.Cache.configured(options.project(args))
    store = cache.store()
    if args.clear:
        entries = store.entries()
        count, size = store.clear()
        if not args.quiet:
            busy = len(entries) - count
            kept = f"; {_entries(busy)} in use, kept" if busy > 0 else ""
            print(f"cleared {_entries(count)} ({_megabytes(size)}) from {cache.directory}{kept}")
        return 0
    if args.quiet:
        return 0
    entries = store.entries()
    total = sum(e.size for e in entries)
    print(f"cache {cache.directory}: {_entries(len(entries))}, {_megabytes(total)} of {cache.max_bytes >> 20:,} MB")
    for entry in entries:
        s = entry.summary
        if "problem" in s:
            print(f"  {entry.key[:12]}  {s['problem']}")
            continue
        used = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(entry.last_used))
        print(
            f"  {entry.key[:12]}  {s.get('project')} scale {s.get('scale')} {s.get('engine')}, "
            f"tables {', '.join(s.get('tables', []))}, anchor {s.get('anchor')}; "
            f"{_megabytes(entry.size)}, last used {used}"
        )
    return 0
