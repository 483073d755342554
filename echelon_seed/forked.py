"""Rows made in a second process: generation and adaptation on the other core while this one writes.

A large generated table costs Python twice per row: making it (the
hash-derived generators) and turning it into driver values, then writing it
(sqlite3's `executemany`, asyncpg's COPY encoding). One interpreter does those
one after the other; a thread does not help (the GIL). `rows` forks a child
that runs the iterator and sends its rows back in batches over a pipe, so
that the two halves overlap on a 2-core machine. A batch travels as
`marshal` data when its values are plain (str, int, float, bool, None,
bytes: what SQLite's driver values are), which costs the child, the longer
leg, a third of what `pickle` costs; any other batch is pickled.

The child only computes: it touches no connection, ignores SIGINT and
SIGTERM (the parent decides what they mean, and a Ctrl-C reaches the whole
process group), leaves with `os._exit` (no atexit, no finalizers) and stops
at the first write its parent no longer reads, so it cannot outlive a parent
that was killed. The parent kills and reaps it whenever it stops reading
early. An exception in the child is raised again in the parent, as it was
raised. Rows, their order and so every digest are the same as without it.

Only where the engine runs in this process (SQLite): a PostgreSQL server
already uses the second core, and a child only competes with it.
"""

from __future__ import annotations

import marshal
import os
import pickle
import signal
import struct
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import EchelonSeedError

__all__ = ["THRESHOLD", "available", "rows"]

#: Tables with fewer rows are made in-process: forking costs a few milliseconds.
THRESHOLD = 20_000
_BATCH = 2_000
_HEADER = struct.Struct("!Q")  # payload length; the top bit marks a pickled exception, the next a pickled batch
_FAILED = 1 << 63
_PICKLED = 1 << 62


def available() -> bool:
    """Whether this platform forks (POSIX); elsewhere rows are made in-process."""
    return hasattr(os, "fork")


def rows(source: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The rows of `source`, computed in a forked child, in the same order."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork in a threaded process; the child runs only our pure-Python rows.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read_end)
        _child(source, write_end)
    os.close(write_end)
    return _parent(pid, read_end)


def _child(source: Iterable[tuple[Any, ...]], fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        signal.set_wakeup_fd(-1)  # the parent's event loop must not hear about our signals
    except ValueError:
        pass
    code = 0
    batch: list[tuple[Any, ...]] = []
    try:
        for row in source:
            batch.append(row)
            if len(batch) == _BATCH:
                _send_batch(fd, batch)
                batch = []
        if batch:
            _send_batch(fd, batch)
        _send(fd, b"")
    except BrokenPipeError:
        pass  # the parent stopped reading: nothing to say
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        code = 1
        try:
            payload = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.loads(payload)
        except Exception:
            payload = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
        try:
            if batch:  # the rows made before the error, as the parent would have had them in-process
                _send_batch(fd, batch)
            _send(fd, payload, failed=True)
        except OSError:
            pass
    os._exit(code)


def _send_batch(fd: int, batch: list[tuple[Any, ...]]) -> None:
    try:
        _send(fd, marshal.dumps(batch, 4))
    except ValueError:  # a value marshal does not know (a Decimal, a datetime...)
        _send(fd, pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL), flags=_PICKLED)


def _send(fd: int, payload: bytes, *, failed: bool = False, flags: int = 0) -> None:
    data = memoryview(_HEADER.pack(len(payload) | (_FAILED if failed else 0) | flags) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _read(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    while size:
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            raise EchelonSeedError(
                "the process making the generated rows ended before they were all made (killed?); nothing was written"
            )
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _parent(pid: int, fd: int) -> Iterator[tuple[Any, ...]]:
    finished = False
    try:
        while True:
            (header,) = _HEADER.unpack(_read(fd, _HEADER.size))
            payload = _read(fd, header & ~(_FAILED | _PICKLED))
            if header & _FAILED:
                finished = True
                raise pickle.loads(payload)
            if not payload:
                finished = True
                return
            yield from pickle.loads(payload) if header & _PICKLED else marshal.loads(payload)
    finally:
        os.close(fd)
        if not finished:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)
