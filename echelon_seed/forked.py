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

The snapshot uses the second core the same way (`read_lines`): a child
runs queries on its own connection and writes the lines it encodes into
one temporary file per query, while the parent reads and encodes the rest
of the table; the parent then digests the child's file. The same rules
hold: no signal handling of its own, `os._exit`, gone when the parent
stops (killed and reaped by `LineReader.close`, or on noticing the parent
has changed), and a failure comes back as an error naming the table.
"""

from __future__ import annotations

import asyncio
import marshal
import os
import pickle
import queue
import signal
import struct
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from .errors import EchelonSeedError, SnapshotError

__all__ = ["THRESHOLD", "LineJob", "LineReader", "available", "read_lines", "rows"]

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


# Lines read in a second process (the snapshot on SQLite) ------------------------------------------


@dataclass(frozen=True)
class LineJob:
    """One query whose rows the child turns into lines: `encode` per row, `explain` for a batch it refused."""

    name: str
    sql: str
    encode: Callable[[Sequence[Any]], str]
    explain: Callable[[Sequence[Sequence[Any]], Exception], str]


_DONE = struct.Struct("!IQ")  # job index, length of the error text that follows (0: the job's lines are ready)


class LineReader:
    """A forked child running `LineJob`s in order, each into its own temporary file; `take` waits for one.

    The parent keeps reading its own share meanwhile; the files are read once
    each job is done, so memory stays flat however many rows there are.
    """

    def __init__(self, pid: int, fd: int, jobs: Sequence[LineJob], files: Sequence[IO[bytes]]) -> None:
        self._pid: int | None = pid
        self._fd = fd
        self._jobs = jobs
        self._files = files
        self._ready = 0
        self._reader: asyncio.StreamReader | None = None
        self._transport: asyncio.BaseTransport | None = None

    async def take(self, index: int) -> IO[bytes]:
        """Job `index`'s lines, one per line, once the child has written them all; its error otherwise."""
        job = self._jobs[index]
        reader = await self._stream()
        while self._ready <= index:
            try:
                done, failed = _DONE.unpack(await reader.readexactly(_DONE.size))
                why = (await reader.readexactly(failed)).decode("utf-8", errors="replace") if failed else ""
            except asyncio.IncompleteReadError:
                raise SnapshotError(
                    f"table {job.name}: the process reading part of it ended before it was done (killed?)"
                ) from None
            if failed:
                raise SnapshotError(why)
            self._ready = done + 1
        found = self._files[index]
        found.seek(0)
        return found

    async def _stream(self) -> asyncio.StreamReader:
        if self._reader is None:
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader(limit=2**16)
            self._transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(self._fd, "rb", buffering=0)
            )
            self._reader = reader
        return self._reader

    def close(self) -> None:
        """Stop the child if it still runs, reap it, and drop the files (on every way out)."""
        if self._transport is not None:
            self._transport.close()
        elif self._fd >= 0:
            os.close(self._fd)
        self._fd = -1
        if self._pid is not None:
            if self._ready < len(self._jobs):
                try:
                    os.kill(self._pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.waitpid(self._pid, 0)
            self._pid = None
        for file in self._files:
            file.close()


def read_lines(connect: Callable[[], Any], jobs: Sequence[LineJob]) -> LineReader:
    """Run `jobs` in a forked child on its own connection (`connect()`, a DB-API one).

    The caller must hold the read transaction that makes the child's
    connection see the very state its own sees (on SQLite, a shared lock that
    no writer can commit past) until every job is taken.
    """
    files = [tempfile.TemporaryFile("w+b") for _ in jobs]
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read_end)
        _lines_child(connect, jobs, files, write_end)
    os.close(write_end)
    return LineReader(pid, read_end, jobs, files)


def _lines_child(connect: Callable[[], Any], jobs: Sequence[LineJob], files: Sequence[IO[bytes]], fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    parent = os.getppid()
    code = 0
    index = 0
    try:
        database = connect()
        for index, (job, file) in enumerate(zip(jobs, files, strict=True)):
            encode = job.encode
            for rows in _fetched(database.execute(job.sql)):
                if os.getppid() != parent:
                    os._exit(1)  # the parent is gone: nobody will read these lines
                try:
                    lines = [encode(row) for row in rows]
                except (ValueError, TypeError, OverflowError) as exc:
                    raise _Refused(job.explain(rows, exc)) from None
                lines.append("")
                file.write("\n".join(lines).encode("utf-8"))
            file.flush()
            _send_raw(fd, _DONE.pack(index, 0))
        database.close()
    except BrokenPipeError:
        code = 1
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent, naming the table
        code = 1
        if isinstance(exc, _Refused):
            why = str(exc)
        elif isinstance(exc, EchelonSeedError):
            why = f"table {jobs[index].name}: {exc}"
        else:
            why = f"table {jobs[index].name}: {type(exc).__name__}: {exc}"
        try:
            text = why.encode("utf-8", errors="replace")
            _send_raw(fd, _DONE.pack(index, len(text)) + text)
        except OSError:
            pass
    os._exit(code)


def _fetched(cursor: Any) -> Iterator[Sequence[Sequence[Any]]]:
    """The cursor's rows in batches, the next fetched by a thread while this one is encoded.

    The database steps through rows without the GIL, so fetching overlaps
    with the encoding as it does in the parent (`SQLiteBackend.stream`).
    """
    ready: queue.Queue[Any] = queue.Queue(maxsize=2)

    def fetch() -> None:
        try:
            while rows := cursor.fetchmany(_LINES_BATCH):
                ready.put(rows)
            cursor.close()
            ready.put(None)
        except BaseException as exc:  # noqa: BLE001 - raised again by the reading thread
            ready.put(exc)

    threading.Thread(target=fetch, daemon=True).start()
    while (item := ready.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item


class _Refused(Exception):
    """A value the encoder refused: its message is the one the parent would have raised."""


_LINES_BATCH = 5_000


def _send_raw(fd: int, payload: bytes) -> None:
    data = memoryview(payload)
    while data:
        data = data[os.write(fd, data) :]
