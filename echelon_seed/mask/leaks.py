"""The leak check: keyed digests of the original sensitive values, and a scan of the output for them.

While a masked export runs, every original value of a masked text, UUID or
JSON column (the strings inside a document) is normalised and recorded as a
keyed BLAKE2b digest, never as the value: the digest file beside the
fixtures (`echelon-mask.digests`) tells nothing without the key. The scan
then reads every string of the output, in every column and inside JSON
documents, and reports each cell where an original appears.

"Appears" is decided on words, not on exact cells: text is case-folded and
cut into runs of letters and digits, and a value is found when its words
appear in a row anywhere in a string ("Mail deep@echelon.io today" holds
"deep@echelon.io"; so does "POS_USR_003" hold "USR_003"). Values of more than
eight words are found only as a whole string. Values shorter than four
characters are not recorded (they would match ordinary words everywhere),
nor are numbers and times (masked and kept columns share their ranges). A
permuted column is recorded but not scanned: a bijection of a key range onto
itself makes every output some other row's original.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import Any

from echelon_seed.errors import ConfigError, EchelonSeedError
from echelon_seed.tool_tables import DIGESTS_FILE

from .key import MaskKey

__all__ = [
    "DIGESTS_FILE",
    "Detector",
    "Leak",
    "LeakError",
    "Recorder",
    "grouped",
    "scan_directory",
    "scan_rows",
    "scan_snapshot",
]

_FORMAT = "echelon-seed mask digests 1"
_MIN_LENGTH = 4
_MAX_WORDS = 8
_WORD = re.compile(r"[^\W_]+")
_KEY_CHECK = b"echelon-seed: the key this file was written with"
_ANCHOR = "\x00first word\x00"
#: JSON escapes that stand for a separator between two words (\n, \t, \u0001, ...); \" and \\ do not hide one.
_JOINING = re.compile(r"\\[bfnrtu]")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


@dataclass(frozen=True)
class Leak:
    """One cell of the output that holds an original sensitive value (the value itself is never shown)."""

    where: str
    row: int
    column: str
    path: str
    origin: str

    def __str__(self) -> str:
        inside = f" at {self.path}" if self.path else ""
        return f"{self.where} row {self.row} column {self.column!r}{inside}: holds an original value of {self.origin}"


def grouped(leaks: Iterable[Leak]) -> list[str]:
    """One line per cause: the cells of one column holding originals of one masked column, together."""
    causes: dict[tuple[str, str, str], list[Leak]] = {}
    for leak in leaks:
        causes.setdefault((leak.where, leak.column, leak.origin), []).append(leak)
    lines = []
    for (where, column, origin), found in causes.items():
        if len(found) == 1:
            lines.append(str(found[0]))
            continue
        rows = ", ".join(str(leak.row) for leak in found[:3])
        more = f" and {len(found) - 3:,} more" if len(found) > 3 else ""
        lines.append(f"{where} rows {rows}{more} column {column!r}: hold original values of {origin}")
    return lines


class LeakError(EchelonSeedError):
    """A masked output still holds original values; nothing was published."""

    def __init__(self, leaks: list[Leak], hint: str) -> None:
        self.leaks = leaks
        self.lines = grouped(leaks)
        more = f" (+{len(self.lines) - 1} more)" if len(self.lines) > 1 else ""
        super().__init__(f"leak check: {self.lines[0]}{more}; {hint}")


class _Digester:
    __slots__ = ("_base",)

    def __init__(self, key: MaskKey) -> None:
        self._base = blake2b(key=key.derive("leak digests"), digest_size=16)

    def __call__(self, text: str) -> bytes:
        h = self._base.copy()
        h.update(text.encode("utf-8"))
        return h.digest()


class Recorder:
    """The digests of original sensitive values, gathered during an export."""

    def __init__(self, key: MaskKey) -> None:
        self._digest = _Digester(key)
        self._key = key
        self.found: dict[bytes, str] = {}
        #: Digests of each recorded value's first word: the scan looks for whole values only where one starts.
        self.anchors: set[bytes] = set()
        self.widths: set[int] = set()
        self.long = False
        self._seen: set[str] = set()

    def add(self, value: Any, origin: str) -> None:
        """Record an original value (a string, or the strings inside a document)."""
        for text in _strings(value):
            if text in self._seen:
                continue
            self._seen.add(text)
            words = _words(text)
            normal = " ".join(words)
            if len(normal) < _MIN_LENGTH:
                continue
            digest = self._digest(normal)
            if digest not in self.found or origin < self.found[digest]:
                self.found[digest] = origin
            self.anchors.add(self._digest(_ANCHOR + words[0]))
            if len(words) <= _MAX_WORDS:
                self.widths.add(len(words))
            else:
                self.long = True

    def __len__(self) -> int:
        return len(self.found)

    def write(self, path: Path, unscanned: set[tuple[str, str]]) -> None:
        """The digest file: a header, then one sorted line per digest (the same bytes for the same data)."""
        widths = " ".join(str(w) for w in sorted(self.widths))
        lines = [
            _FORMAT,
            f"key-check {self._digest(_KEY_CHECK.decode()).hex()}",
            f"widths {widths}",
            f"long {'yes' if self.long else 'no'}",
            "unscanned " + " ".join(sorted(f"{t}.{c}" for t, c in unscanned)),
        ]
        lines += sorted(f"anchor {digest.hex()}" for digest in self.anchors)
        lines += sorted(f"{digest.hex()} {origin}" for digest, origin in self.found.items())
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")

    def detector(self, unscanned: set[tuple[str, str]]) -> Detector:
        return Detector(
            self._key, dict(self.found), tuple(sorted(self.widths)), self.long, unscanned, set(self.anchors)
        )


class Detector:
    """Finds recorded originals in strings; remembers what it has already judged."""

    def __init__(
        self,
        key: MaskKey,
        found: Mapping[bytes, str],
        widths: tuple[int, ...],
        long: bool,
        unscanned: set[tuple[str, str]] | None = None,
        anchors: set[bytes] | None = None,
    ) -> None:
        self._digest = _Digester(key)
        self.anchors = anchors or set()
        self._anchor: dict[str, bool] = {}
        self.found = found
        self.widths = widths
        self.long = long
        #: Columns (table, column) the scan leaves out: permuted keys and the columns referencing them.
        self.unscanned = unscanned or set()
        self._judged: dict[str, str | None] = {}

    @classmethod
    def read(cls, path: Path, key: MaskKey) -> Detector:
        from echelon_seed.project import display

        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(
                f"no digest file at {display(path)} ({exc.strerror}); it is written by 'export --mask'"
            ) from None
        if len(lines) < 5 or lines[0] != _FORMAT:
            raise ConfigError(f"{display(path)} is not an echelon-seed digest file (first line {lines[:1]})")
        detector = cls(key, {}, (), False)
        if lines[1] != f"key-check {detector._digest(_KEY_CHECK.decode()).hex()}":
            raise ConfigError(
                f"{display(path)} was written with another masking key: the check needs the key the export used"
            )
        widths = tuple(int(w) for w in lines[2].removeprefix("widths").split())
        found, anchors = {}, set()
        for line in lines[5:]:
            digest, _, origin = line.partition(" ")
            if digest == "anchor":
                anchors.add(bytes.fromhex(origin))
            else:
                found[bytes.fromhex(digest)] = origin
        unscanned = {tuple(n.split(".", 1)) for n in lines[4].removeprefix("unscanned").split()}
        return cls(key, found, widths, lines[3] == "long yes", unscanned, anchors)  # type: ignore[arg-type]

    def _starts(self, word: str) -> bool:
        """Whether a recorded value begins with `word` (remembered: words repeat)."""
        starts = self._anchor.get(word)
        if starts is None:
            starts = self._digest(_ANCHOR + word) in self.anchors
            if len(self._anchor) < 1 << 20:
                self._anchor[word] = starts
        return starts

    def might_hold(self, text: str) -> bool:
        """False when no recorded value can appear in `text` (none of its words begins one)."""
        return any(self._starts(word) for word in _WORD.findall(text.casefold()))

    def origin(self, text: str) -> str | None:
        """The column whose original value `text` holds, or None."""
        known = self._judged.get(text, False)
        if known is not False:
            return known  # type: ignore[return-value]
        result = None
        words = _words(text)
        if self.long and len(words) > _MAX_WORDS:
            result = self.found.get(self._digest(" ".join(words)))
        for start, word in enumerate(words):
            if result is not None:
                break
            if not self._starts(word):
                continue
            for width in self.widths:
                if start + width > len(words):
                    break
                result = self.found.get(self._digest(" ".join(words[start : start + width])))
                if result is not None:
                    break
        if len(self._judged) < 1 << 20:
            self._judged[text] = result
        return result


def _strings(value: Any) -> Iterator[str]:
    """The strings an original holds: itself, or a document's string values (its keys are structure)."""
    for _, text in _located(value, "", keys=False):
        yield text


def _located(value: Any, path: str, *, keys: bool = True) -> Iterator[tuple[str, str]]:
    """Every string in a value with its JSON path (object keys are strings too, when `keys`)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            inner = f"{path}.{key}" if path else f"$.{key}"
            if keys:
                yield inner, str(key)
            yield from _located(value[key], inner, keys=keys)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _located(item, f"{path or '$'}[{i}]", keys=keys)


def scan_rows(
    detector: Detector,
    where: str,
    rows: Iterable[Mapping[str, Any]],
    skip: set[str] | frozenset[str] = frozenset(),
) -> list[Leak]:
    """The leaks in rows (one mapping of column to value each), numbered from 1."""
    leaks = []
    for number, row in enumerate(rows, start=1):
        for column, value in row.items():
            if column in skip or value is None:
                continue
            for path, text in _located(value, ""):
                origin = detector.origin(text)
                if origin is not None:
                    leaks.append(Leak(where, number, column, path, origin))
                    break
    return leaks


def scan_directory(detector: Detector, directory: Path) -> list[Leak]:
    """The leaks in every fixture file of `directory` (listed rows; a generate block holds no data)."""
    leaks = []
    for path in sorted(directory.glob("*.json")):
        table = path.stem
        columns = {column for t, column in detector.unscanned if t == table}
        try:
            text = path.read_text(encoding="utf-8")
            found = _scan_lines(detector, path.name, text, columns)
            if found is None:
                document = json.loads(text)
                rows = document.get("rows", []) if isinstance(document, dict) else []
                found = scan_rows(detector, path.name, (r for r in rows if isinstance(r, dict)), columns)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path.name}: cannot be read for the leak check ({exc})") from None
        leaks += found
    return leaks


def _scan_lines(detector: Detector, where: str, text: str, skip: set[str]) -> list[Leak] | None:
    """The leaks of a file in export's layout (one row per line), reading only the lines that may hold one.

    A line none of whose words begins a recorded value cannot hold one, so it
    is not even parsed; a line with an escape that stands for a separator
    (\\n, \\u0001) is parsed, since in the JSON text it joins two words. None when the file is laid out otherwise.
    """
    lines = text.split("\n")
    if len(lines) < 4 or lines[0] != '{"rows": [' or lines[-2:] != ["]}", ""]:
        return None
    leaks = []
    for number, line in enumerate(lines[1:-2], start=1):
        if not _JOINING.search(line) and not detector.might_hold(line):
            continue
        row = json.loads(line.removesuffix(","))
        for leak in scan_rows(detector, where, [row] if isinstance(row, dict) else [], skip):
            leaks.append(Leak(leak.where, number, leak.column, leak.path, leak.origin))
    return leaks


def scan_snapshot(detector: Detector, path: Path) -> list[Leak]:
    """The leaks in a snapshot file (a header line, then one `[table, row]` per line); rows are line numbers."""
    from echelon_seed.project import display

    leaks = []
    shown = display(path)
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if number == 1:
                continue
            try:
                table, row = json.loads(line)
            except ValueError:
                raise ConfigError(f"{shown} line {number} is not a snapshot row") from None
            columns = {column for t, column in detector.unscanned if t == table}
            for found in scan_rows(detector, f"{shown} ({table})", [row], columns):
                leaks.append(Leak(found.where, number, found.column, found.path, found.origin))
    return leaks
