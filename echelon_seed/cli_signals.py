"""Signals and progress for the run of one command: the three phases of SIGINT/SIGTERM.

Shared by every command's costume (`cli`, `cli_export`): `SIGNALS` is the
process's one handler, reset by `cli.main` at each start; the reporters it can
stop are kept here so that any command can end their drawing before it prints.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

# typing is for type checkers only; see the same guard in `cli`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from types import FrameType
    from typing import Any

__all__ = ["INTERRUPTED_LINE", "SIGNALS", "STARTUP_INTERRUPTED_LINE", "Signals", "begin", "end_progress", "reporter"]

_INTERRUPT_GRACE_S = 3.0
INTERRUPTED_LINE = "echelon-seed: interrupted; rolled back"
STARTUP_INTERRUPTED_LINE = "echelon-seed: interrupted"


class Signals:
    """SIGINT/SIGTERM from the first line of `main` to the exit, in three phases.

    starting  (parsing, imports): leave at once, one line, 128+N. Straight from the
              handler, never by raising: a handler that runs inside a weakref
              callback or a finaliser (the import system has both) would see its
              exception printed and dropped, and the command would go on to run.
    running   (the command): cancel it, so its transaction rolls back; a bulk
              write that the event loop cannot cancel is stopped through its
              progress reporter; a grace timer bounds the wait.
    finishing (the command has returned; it committed, if it writes): finish
              as committed whatever arrives, so the exit code tells the truth.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to "starting", nothing caught: each run of `cli.main` in a process begins here."""
        self.phase = "starting"
        self.caught: int | None = None
        self._cancel: Callable[[], None] | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._reported = False
        self._timer: threading.Timer | None = None
        #: What an interrupted command says: one with nothing to roll back (check) does not claim it did.
        self.line = INTERRUPTED_LINE
        from . import interrupts

        interrupts.reset()

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.phase == "finishing":
            return
        if self.phase == "starting":
            # os.write, not print: the handler may have interrupted a write to stderr itself.
            self.caught = signum
            self._reported = True
            os.write(2, f"{STARTUP_INTERRUPTED_LINE}\n".encode())
            os._exit(128 + signum)
        if self.caught is not None:
            return
        self.caught = signum
        self._stop.set()
        from . import interrupts

        interrupts.request(signum)  # the loops that keep the event loop busy (reading fixtures) stop too
        # A driver thread whose caller was cancelled may still finish its call after the event
        # loop closed and complain about that: noise on the way out, not an error to show.
        threading.excepthook = _silent
        self._timer = threading.Timer(_INTERRUPT_GRACE_S, self._leave, args=(signum,))
        self._timer.daemon = True
        self._timer.start()
        if self._cancel is not None:
            self._cancel()

    def running(self, cancel: Callable[[], None]) -> None:
        self._cancel = cancel
        self.phase = "running"

    def finishing(self) -> None:
        self.phase = "finishing"
        if self._timer is not None:
            self._timer.cancel()

    def report(self) -> None:
        """Print the interrupted line once, whichever of main() and the grace timer gets there first."""
        with self._lock:
            if not self._reported:
                self._reported = True
                print(self.line, file=sys.stderr, flush=True)

    def _leave(self, signum: int) -> None:
        end_progress()
        self.report()
        os._exit(128 + signum)

    def stoppable(self, reporter: Any) -> Any:
        from . import progress
        from .errors import Interrupted

        return progress.Stoppable(reporter, self._stop, lambda: Interrupted(self.caught or signal.SIGINT))


SIGNALS = Signals()


def _silent(_args: Any) -> None:
    pass


REPORTERS: list[Any] = []


def reporter(args: argparse.Namespace) -> Any:
    from . import progress

    made = SIGNALS.stoppable(progress.choose(quiet=args.quiet))
    REPORTERS.append(made)
    return made


def end_progress() -> None:
    """End any progress drawing on its own line, before a result or an error is printed."""
    for made in REPORTERS:
        made.close()


def begin() -> Signals:
    """A fresh start for one run of the command line in this process: phase "starting", no reporters."""
    REPORTERS.clear()
    SIGNALS.reset()
    return SIGNALS
