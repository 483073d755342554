"""A JSON file read one value at a time, so that memory follows the value, not the file.

`json.loads` needs the whole text: a fixture file of a gigabyte costs its
bytes, their decoded text and the parsed document at once, and holds the GIL
until it is done (no signal is acted on meanwhile). A fixture file is one
object whose single key holds a list of rows, so it is read here token by
token at the top level and row by row below it: a chunk of bytes at a time,
decoded incrementally, each value parsed by the standard decoder
(`raw_decode`) once its text is complete. Memory is one chunk plus the value
being parsed; between chunks `interrupts.check` runs.

Errors read like `json`'s own ("Expecting ',' delimiter"), located by line
and column in the whole file.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import IO, Any

from . import interrupts

__all__ = ["CHUNK", "JSONError", "NotText", "Reader", "TooLarge"]

#: Bytes read at a time.
CHUNK = 1 << 20
_SPACE = re.compile(r"[ \t\n\r]*")
# How close to the end of the text an error may be an artefact of the text being cut there.
_TAIL = 16


class JSONError(ValueError):
    """Not JSON, or not UTF-8: `message` as `json` words it, at `line` and `column` (1-based)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} at line {line} column {column}")
        self.message, self.line, self.column = message, line, column


class NotText(ValueError):
    """Bytes that are not UTF-8; the message says what and at which byte of the file."""


class TooLarge(ValueError):
    """A single value longer than the reader's `limit` (characters), or a file longer than its `size_limit`."""


class Reader:
    """The text of a binary stream, decoded as UTF-8 and consumed value by value.

    `seen` receives every byte read, in order (a digest of the file); the
    stream is read to its end only when the caller reads to `end()`.
    """

    def __init__(
        self,
        stream: IO[bytes],
        decoder: json.JSONDecoder,
        *,
        limit: int,
        size_limit: int,
        seen: Any = None,
    ) -> None:
        self._stream, self._decoder, self._limit, self._size_limit = stream, decoder, limit, size_limit
        self._seen = seen
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._at = 0
        self._eof = False
        self._bytes = 0
        # Where _text[0] is in the file.
        self._line = 1
        self._column = 1

    @property
    def bytes_read(self) -> int:
        return self._bytes

    # --- reading -----------------------------------------------------------------------------------

    def _more(self) -> bool:
        """Append the next chunk's text (dropping what was consumed); False at the end of the stream."""
        if self._eof:
            return False
        interrupts.check()
        data = self._stream.read(CHUNK)
        self._forget()
        # The decoder keeps an unfinished character's bytes; its error positions count from them.
        base = self._bytes - len(self._utf8.getstate()[0])
        try:
            if not data:
                self._eof = True
                self._text += self._utf8.decode(b"", final=True)
                return False
            if self._seen is not None:
                self._seen(data)
            self._bytes += len(data)
            if self._bytes > self._size_limit:
                raise TooLarge(f"more than {self._size_limit:,} bytes")
            self._text += self._utf8.decode(data)
        except UnicodeDecodeError as exc:
            raise NotText(f"{exc.reason} at byte {base + exc.start}") from None
        return True

    def _forget(self) -> None:
        """Drop the consumed text, keeping track of where the rest sits in the file."""
        consumed, at = self._text, self._at
        if not at:
            return
        newlines = consumed.count("\n", 0, at)
        if newlines:
            self._line += newlines
            self._column = at - consumed.rfind("\n", 0, at)
        else:
            self._column += at
        self._text, self._at = consumed[at:], 0

    def _where(self, position: int) -> tuple[int, int]:
        text = self._text
        newlines = text.count("\n", 0, position)
        if newlines:
            return self._line + newlines, position - text.rfind("\n", 0, position)
        return self._line, self._column + position

    def error(self, message: str, position: int | None = None) -> JSONError:
        """A JSONError at `position` in the current text (default: the next unread character)."""
        return JSONError(message, *self._where(self._at if position is None else position))

    # --- tokens --------------------------------------------------------------------------------------

    def peek(self) -> str | None:
        """The next character that is not whitespace, left unread; None at the end of the file."""
        while True:
            text = self._text
            at = self._at = _SPACE.match(text, self._at).end()  # type: ignore[union-attr]
            if at < len(text):
                return text[at]
            if not self._more():
                return None

    def take(self, char: str, expecting: str) -> None:
        """Consume `char` (after whitespace), or raise `json`'s message `expecting`."""
        if self.peek() != char:
            raise self.error(expecting)
        self._at += 1

    def value(self) -> Any:
        """The next JSON value, parsed by the decoder once its text is complete."""
        if self.peek() is None:
            raise self.error("Expecting value")
        while True:
            start = self._at
            text = self._text
            try:
                found, end = self._decoder.raw_decode(text, start)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(text) - _TAIL or exc.msg.startswith("Unterminated string")
                if cut and not self._eof:
                    self._grow(start)
                    continue
                raise self.error(exc.msg, exc.pos) from None
            if end == len(text) and not self._eof:  # a number at the very end may go on in the next chunk
                self._grow(start)
                continue
            self._at = end
            return found

    def _grow(self, start: int) -> None:
        """Read more for the value starting at `start`, which must stay within the limit."""
        if len(self._text) - start > self._limit:
            raise TooLarge(f"a single value of more than {self._limit:,} characters")
        self._at = start
        self._more()

    def end(self) -> None:
        """Read to the end of the file: only whitespace may follow the document."""
        if self.peek() is not None:
            raise self.error("Extra data")
