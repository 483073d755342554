"""`python -m echelon_seed` and the `echelon-seed` command: the process's entry point.

Signals are handled before anything else of this module is imported: a
SIGINT or SIGTERM during the imports prints one line and exits 128+N,
instead of a traceback (SIGINT) or a silent death (SIGTERM). `cli.main`
takes over from there. The installed command (`bin/echelon-seed`) installs
the same handler on its own first lines, before even the package is
imported; `python -m echelon_seed` imports the package's light `__init__`
first.

Once the command has finished and its output is flushed, the process leaves
at once (`os._exit`): the interpreter's own shutdown, with SQLAlchemy and the
drivers loaded, takes a few hundred milliseconds during which it restores the
default signal handlers, so a signal would kill a process whose seed was
committed and whose output was printed (exit 130/143 for a success).
"""

from __future__ import annotations

# The first statement: a SIGINT before the handlers are in place raises KeyboardInterrupt in
# whatever this module is running; it is caught here rather than printed as a traceback. The
# handlers come from `_signal`, built into the interpreter: `signal` builds its enums in Python,
# tens of milliseconds during which Python's own SIGINT handler is still the one in place.
try:
    import _signal  # type: ignore[import-not-found]  # no stub: the C module behind `signal`
    import os

    def _interrupted_while_starting(signum: int, _frame: object) -> None:
        # Nothing has been touched yet; os.write and os._exit, because an import is half done.
        os.write(2, b"echelon-seed: interrupted\n")
        os._exit(128 + signum)

    # At import, before anything else: this module is imported only to start the command.
    _signal.signal(_signal.SIGINT, _interrupted_while_starting)
    _signal.signal(_signal.SIGTERM, _interrupted_while_starting)
except KeyboardInterrupt:
    import os

    os.write(2, b"echelon-seed: interrupted\n")
    os._exit(130)

import sys  # noqa: E402

TYPE_CHECKING = False  # typing is for the type checker only: it would slow every start-up
if TYPE_CHECKING:
    from typing import NoReturn


def main() -> NoReturn:
    """Run the command line, with signals handled from the first instant to the last."""
    _signal.signal(_signal.SIGINT, _interrupted_while_starting)
    _signal.signal(_signal.SIGTERM, _interrupted_while_starting)
    from .cli import main as cli_main

    try:
        code = cli_main()
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a closed pipe: nothing more can be said on it
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
