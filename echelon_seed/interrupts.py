"""A stop asked for by a signal, for the long loops that run without the event loop.

The CLI cancels a command through its event loop, but reading and checking
fixture files is plain Python on the loop's own thread: nothing else runs
until it returns, so a cancellation would wait for the whole file. The CLI's
handler therefore also calls `request`, and those loops call `check` between
chunks and rows: a stop lands within milliseconds whatever is being read.
Library callers never request a stop, so for them `check` costs one lookup.
"""

from __future__ import annotations

import threading

__all__ = ["check", "request", "reset"]

_stop = threading.Event()
_signum = [0]


def request(signum: int) -> None:
    """Ask every loop that calls `check` to stop (from a signal handler: no lock, no I/O)."""
    _signum[0] = signum
    _stop.set()


def reset() -> None:
    """Forget an earlier request (a new command in the same process)."""
    _stop.clear()
    _signum[0] = 0


def check() -> None:
    """Raise Interrupted if a stop was requested."""
    if _stop.is_set():
        from .errors import Interrupted

        raise Interrupted(_signum[0])
