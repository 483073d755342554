"""PostgreSQL's binary COPY files: where their timestamps sit, and the file streamed with them shifted.

A binary COPY file is a signature, a flags word and a header extension, then
per row a 16-bit field count and per field a 32-bit length (-1 for NULL)
and that many bytes, and a trailer of -1. A `timestamptz` field is a
big-endian 64-bit count of microseconds since 2000-01-01 UTC, so moving a
row by the anchors' difference is one integer addition at a known offset.
`scan` finds those offsets once, when the entry is written; `shifted` adds
the difference while the file streams to the server, reading a chunk at a
time (memory does not grow with the file). Infinite timestamps stay as
they are.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator, Sequence
from typing import IO

__all__ = ["SIGNATURE", "CopyFormatError", "scan", "shifted"]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_CHUNK = 1 << 20
_OFFSETS_PER_READ = 1 << 16
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_INFINITE = (2**63 - 1, -(2**63))


class CopyFormatError(ValueError):
    """Bytes that are not a binary COPY file of the expected shape."""


def _header_length(data: bytes) -> int:
    if data[: len(SIGNATURE)] != SIGNATURE or len(data) < len(SIGNATURE) + 8:
        raise CopyFormatError("not a binary COPY file")
    (extension,) = _I32.unpack_from(data, len(SIGNATURE) + 4)
    return len(SIGNATURE) + 8 + int(extension)


def scan(source: IO[bytes], moments: Sequence[int], offsets: IO[bytes]) -> int:
    """Write the file offsets of the non-NULL fields at column positions `moments` (as unsigned 64-bit
    native integers) to `offsets`; return the number of rows."""
    wanted = frozenset(moments)
    buffer = source.read(_CHUNK)
    position = _header_length(buffer)
    base = 0  # file offset of buffer[0]
    rows = 0
    found = array("Q")
    unpack16, unpack32 = _I16.unpack_from, _I32.unpack_from
    while True:
        start = position
        try:
            (fields,) = unpack16(buffer, position)
            if fields == -1:
                break
            position += 2
            marks: list[int] = []
            for index in range(fields):
                (length,) = unpack32(buffer, position)
                position += 4
                if length > 0:
                    if index in wanted:
                        marks.append(base + position)
                    position += length
            if position > len(buffer):
                raise struct.error("row runs past the buffer")
        except struct.error:
            more = source.read(max(_CHUNK, position - len(buffer) + _CHUNK))
            if not more:
                raise CopyFormatError("binary COPY file ends inside a row") from None
            buffer = bytes(buffer[start:]) + more
            base += start
            position = 0
            continue
        found.extend(marks)
        rows += 1
        if len(found) >= _OFFSETS_PER_READ:
            found.tofile(offsets)
            del found[:]
    found.tofile(offsets)
    return rows


def shifted(source: IO[bytes], offsets: IO[bytes], delta_us: int) -> Iterator[bytes]:
    """The file's bytes in chunks, each timestamp at `offsets` moved by `delta_us` microseconds."""
    if delta_us == 0:
        while data := source.read(_CHUNK):
            yield data
        return
    pending = array("Q")
    index = 0
    base = 0
    unpack, pack = _I64.unpack_from, _I64.pack_into
    while True:
        chunk = bytearray(source.read(_CHUNK))
        if not chunk:
            return
        end = base + len(chunk)
        while True:
            if index == len(pending):
                pending = array("Q")
                index = 0
                try:
                    pending.fromfile(offsets, _OFFSETS_PER_READ)
                except EOFError:
                    pass  # fewer left: `pending` holds those
                if not pending:
                    break
            offset = pending[index]
            if offset >= end:
                break
            where = offset - base
            if where + 8 > len(chunk):  # the field runs past this chunk: take the rest of it too
                chunk += source.read(where + 8 - len(chunk))
                end = base + len(chunk)
            (value,) = unpack(chunk, where)
            if value not in _INFINITE:
                pack(chunk, where, value + delta_us)
            index += 1
        base = end
        yield bytes(chunk)
