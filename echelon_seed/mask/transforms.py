"""The masking transforms: a rule's text to a function of one value, keyed and deterministic.

Every output is drawn from a keyed BLAKE2b digest of the original value and
of the transform's name, never of the table or the column: the same input
gives the same output in every table, every run and on both engines, which is
what keeps a masked key joinable. `permute` is a keyed bijection (a Feistel
network with cycle walking, the format-preserving construction of NIST SP
800-38G) on integers of the same number of digits and on text of the same
shape (each ASCII digit, lower- and upper-case letter stays in its class, every
other character stays where it is), so keys stay unique and in range.

Whether a transform is one-to-one is known from its name alone, so a lossy
rule on a unique column is refused before any row is read. On a unique text
column, `hash` and the text fakes have a unique form instead: a tag of ten
base-32 characters (50 bits) of the keyed digest is appended (in an email,
before the '@'), so two originals share an output only if they share the tag.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from hashlib import blake2b
from typing import Any
from uuid import UUID

from echelon_seed import generators
from echelon_seed.errors import ConfigError

from . import words
from .key import MaskKey

__all__ = ["BUILT_IN", "Target", "Transform", "parse"]

#: Values of a transform's inputs and outputs: what the database read gives (and a fixture takes).
Value = Any
Bound = Callable[[Value], Value]

_TAG_LENGTH = 10
#: Transforms whose output on a unique column carries its own tag: an email's local part, a hash itself.
_OWN_UNIQUE_FORM = ("email", "hash")
#: The shortest column an email fits: a few letters, '@' and the longest of the domains.
_EMAIL_SHORTEST = 20
_ROUNDS = 8
_TEXT = frozenset({"text"})
_TIMES = frozenset({"timestamp", "naive_timestamp", "date"})


@dataclass(frozen=True)
class Target:
    """What a transform needs to know of the column it masks, all from the schema."""

    table: str
    column: str
    kind: str
    length: int | None = None
    nullable: bool = True
    unique: bool = False
    #: The largest value an integer column holds.
    int_max: int = 2**31 - 1

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"


class _Hasher:
    """Keyed BLAKE2b with the key set up once; copies are cheap."""

    __slots__ = ("_base",)

    def __init__(self, key: bytes) -> None:
        self._base = blake2b(key=key, digest_size=32)

    def digest(self, data: bytes) -> bytes:
        h = self._base.copy()
        h.update(data)
        return h.digest()

    def copy(self) -> Any:
        return self._base.copy()

    def stream(self, data: bytes, size: int) -> bytes:
        """`size` bytes drawn from `data` (several digests when more than one is needed)."""
        out = b""
        block = 0
        while len(out) < size:
            out += self.digest(block.to_bytes(2, "big") + data)
            block += 1
        return out[:size]


def encode(value: Value) -> bytes:
    """A stable, typed encoding of one value: the input of every keyed digest."""
    if isinstance(value, str):
        return b"s" + value.encode("utf-8")
    if isinstance(value, bool):
        return b"?" + (b"1" if value else b"0")
    if isinstance(value, int):
        return b"i" + str(value).encode()
    if isinstance(value, UUID):
        return b"s" + str(value).encode()
    if isinstance(value, datetime):
        moment = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
        return b"t" + moment.isoformat(timespec="microseconds").encode()
    if isinstance(value, date):
        return b"d" + value.isoformat().encode()
    if isinstance(value, timedelta):
        return b"o" + str(value // timedelta(microseconds=1)).encode()
    if isinstance(value, Decimal):
        return b"n" + format(value.normalize(), "f").encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return b"b" + bytes(value)
    return b"j" + json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _tag(digest: bytes) -> str:
    return base64.b32encode(digest[-8:]).decode("ascii").lower()[:_TAG_LENGTH]


def _pick(digest: bytes, at: int, options: tuple[str, ...]) -> str:
    return options[int.from_bytes(digest[at : at + 4], "big") % len(options)]


# --- the Feistel permutation ----------------------------------------------------------------------------


class _Feistel:
    """A keyed bijection on range(size): an unbalanced Feistel network on the bits of size, walked into range.

    The halves are floor(b/2) and ceil(b/2) bits and swap widths every round
    (as in FF1), so 2**b < 2 * size: fewer than two walks on average.
    """

    __slots__ = ("_base", "high", "low", "size", "width")

    def __init__(self, hasher: _Hasher, size: int, tweak: bytes) -> None:
        bits = max(2, (size - 1).bit_length())
        self.low = bits // 2  # the width of B at the start (and the end)
        self.high = bits - self.low  # the width of A
        self.size = size
        self.width = (self.high + 7) // 8
        # The tweak and the size are absorbed once: each round then hashes only its own few bytes.
        self._base = hasher.copy()
        self._base.update(tweak + b"\x00" + size.to_bytes((size.bit_length() + 7) // 8 or 1, "big") + b"\x00")

    def _round(self, number: int, value: int) -> int:
        h = self._base.copy()
        h.update(bytes((number,)) + value.to_bytes(self.width, "big"))
        out = h.digest()
        block = 1
        while len(out) < self.width:  # halves wider than a digest (text of more than ~80 letters)
            more = self._base.copy()
            more.update(bytes((number, block)) + value.to_bytes(self.width, "big"))
            out += more.digest()
            block += 1
        return int.from_bytes(out[: self.width], "big")

    def __call__(self, x: int) -> int:
        if self.size <= 1:
            return x
        high, low, step = self.high, self.low, self._round
        while True:  # cycle walking
            a, b = x >> low, x & ((1 << low) - 1)
            width_a, width_b = high, low
            for number in range(_ROUNDS):
                c = a ^ (step(number, b) & ((1 << width_a) - 1))
                a, b = b, c
                width_a, width_b = width_b, width_a
            x = (a << low) | b
            if x < self.size:
                return x


@lru_cache(maxsize=256)
def _feistel(hasher: _Hasher, size: int, tweak: bytes) -> _Feistel:
    return _Feistel(hasher, size, tweak)


def _permute_int(hasher: _Hasher, int_max: int) -> Bound:
    @lru_cache(maxsize=1 << 16)
    def permute(value: int) -> int:
        magnitude = abs(value)
        if magnitude == 0:
            return value
        digits = len(str(magnitude))
        low = 10 ** (digits - 1)
        high = min(10**digits, int_max + 1)  # a key stays within its column's type
        if magnitude >= high:
            raise ValueError(f"{value} is outside the column's range")
        result: int = low + _feistel(hasher, high - low, b"int")(magnitude - low)
        return -result if value < 0 else result

    def run(value: Value) -> Value:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"permute takes an integer here, got {type(value).__name__}")
        return permute(value)

    return run


_CLASSES = (("0", 10), ("a", 26), ("A", 26))


def _class_of(char: str) -> tuple[str, int] | None:
    for first, size in _CLASSES:
        if first <= char <= chr(ord(first) + size - 1):
            return first, size
    return None


def _permute_text(hasher: _Hasher) -> Bound:
    @lru_cache(maxsize=1 << 16)
    def permute(value: str) -> str:
        classes = [_class_of(c) for c in value]
        shape = "".join(c if k is None else k[0] for c, k in zip(value, classes, strict=True))
        number, size = 0, 1
        for char, found in zip(value, classes, strict=True):
            if found is not None:
                number = number * found[1] + (ord(char) - ord(found[0]))
                size *= found[1]
        number = _feistel(hasher, size, b"text" + shape.encode("utf-8"))(number)
        out = []
        for char, found in reversed(list(zip(value, classes, strict=True))):
            if found is None:
                out.append(char)
            else:
                number, digit = divmod(number, found[1])
                out.append(chr(ord(found[0]) + digit))
        return "".join(reversed(out))

    def run(value: Value) -> Value:
        if not isinstance(value, str):
            raise ValueError(f"permute takes text here, got {type(value).__name__}")
        return permute(value)

    return run


# --- the transforms ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transform:
    """One rule's transform: its name, what it accepts, whether it is one-to-one, how it is bound.

    `kinds` are the column kinds it takes (None: any). `unique_form` says that a
    lossy text transform appends a tag on a unique column instead of being
    refused there.
    """

    text: str
    family: str
    kinds: frozenset[str] | None
    one_to_one: bool
    unique_form: bool
    make: Callable[[Transform, Target, _Hasher], Bound]
    argument: str = ""

    @property
    def keeps(self) -> bool:
        return self.family == "keep"

    def refusal(self, target: Target) -> str | None:
        """Why this transform cannot mask `target`, decided from the schema alone; None when it can."""
        if self.kinds is not None and target.kind not in self.kinds:
            takes = ", ".join(sorted(self.kinds))
            return f"{self.text!r} masks {takes} columns; {target.name} is a {target.kind} column"
        if (
            self.family == "email"
            and target.length is not None
            and target.length < _EMAIL_SHORTEST + (_TAG_LENGTH + 1 if target.unique else 0)
        ):
            return f"{target.name} holds {target.length} characters, too few for an email address ('hash' fits)"
        if self.family == "null" and not target.nullable:
            return f"{target.name} is NOT NULL, so 'null' cannot mask it; use 'const:...' or a fake"
        if target.unique and not self.one_to_one:
            if self.unique_form and target.kind == "text":
                shortest = _TAG_LENGTH + 2
                if target.length is not None and target.length < shortest:
                    return (
                        f"{target.name} is unique, so {self.text!r} appends a {_TAG_LENGTH}-character tag; "
                        f"its length {target.length} leaves no room (needs {shortest}); use 'permute'"
                    )
                return None
            if self.family == "null":
                return None  # NULLs never collide in a unique constraint
            return (
                f"{target.name} is unique (or part of a key) and {self.text!r} is not one-to-one: two rows could "
                "get the same value; use 'permute' (a keyed bijection), 'hash' or a text fake, or 'keep'"
            )
        if self.family == "const":
            try:
                _constant(self.argument, target)
            except ValueError as exc:
                return f"{self.text!r} does not fit {target.name}: {exc}"
        return None

    def bind(self, target: Target, key: MaskKey) -> Bound:
        """The function that masks `target`'s values with `key` (None stays None)."""
        hasher = _Hasher(key.derive(f"transform:{self.family}:{self.argument}"))
        inner = self.make(self, target, hasher)
        unique_tag = target.unique and not self.one_to_one and self.unique_form and target.kind == "text"
        length = target.length if target.kind == "text" else None
        tag_hasher = _Hasher(key.derive(f"tag:{self.family}:{self.argument}"))

        def masked(value: Value) -> Value:
            if value is None:
                return None
            out = inner(value)
            if unique_tag and self.family not in _OWN_UNIQUE_FORM:
                tag = _tag(tag_hasher.digest(encode(value)))
                room = (length or 10**9) - _TAG_LENGTH - 1
                return f"{out[:room]}-{tag}"
            if length is not None and isinstance(out, str) and len(out) > length:
                return out[:length]
            return out

        return masked


def _constant(text: str, target: Target) -> Value:
    kind = target.kind
    if kind in ("text", "enum"):  # an enum's CHECK judges the value when the staged files are checked
        if target.length is not None and len(text) > target.length:
            raise ValueError(f"{len(text)} characters, the column holds {target.length}")
        return text
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "decimal":
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a decimal number") from None
    if kind == "bool":
        if text not in ("true", "false"):
            raise ValueError("a boolean constant is true or false")
        return text == "true"
    if kind == "json":
        return json.loads(text)
    raise ValueError(f"a constant for a {kind} column is not supported; use 'null' or a fake")


def _keep(_t: Transform, _c: Target, _h: _Hasher) -> Bound:
    return lambda value: value


def _null(_t: Transform, _c: Target, _h: _Hasher) -> Bound:
    return lambda value: None


def _const(transform: Transform, target: Target, _h: _Hasher) -> Bound:
    constant = _constant(transform.argument, target)
    return lambda value: constant


def _hash(_t: Transform, target: Target, hasher: _Hasher) -> Bound:
    return lambda value: base64.b32encode(hasher.digest(encode(value))[:20]).decode("ascii").lower()


def _permute_uuid(hasher: _Hasher) -> Bound:
    feistel = _Feistel(hasher, 1 << 128, b"uuid")

    def run(value: Value) -> Value:
        masked = UUID(int=feistel(UUID(str(value)).int))
        return masked if isinstance(value, UUID) else str(masked)

    return run


def _permute(_t: Transform, target: Target, hasher: _Hasher) -> Bound:
    if target.kind == "int":
        return _permute_int(hasher, target.int_max)
    return _permute_uuid(hasher) if target.kind == "uuid" else _permute_text(hasher)


def _fake(build: Callable[[bytes], str]) -> Callable[[Transform, Target, _Hasher], Bound]:
    def make(_t: Transform, _c: Target, hasher: _Hasher) -> Bound:
        return lambda value: build(hasher.digest(encode(value)))

    return make


def _name(d: bytes) -> str:
    return f"{_pick(d, 0, words.FIRST)} {_pick(d, 4, words.LAST)}"


def _email_make(_t: Transform, target: Target, hasher: _Hasher) -> Bound:
    unique = target.unique
    tag_hasher = hasher

    def email(value: Value) -> str:
        d = hasher.digest(encode(value))
        first, last = _pick(d, 0, words.FIRST).lower(), _pick(d, 4, words.LAST).lower()
        domain = _pick(d, 8, words.DOMAINS)
        if unique:
            local = f"{first}.{last}.{_tag(tag_hasher.digest(b'tag' + encode(value)))}"
        else:
            local = f"{first}.{last}{int.from_bytes(d[12:14], 'big') % 100:02d}"
        if target.length is not None and len(local) + 1 + len(domain) > target.length:
            keep = target.length - 1 - len(domain)
            local = (local[-keep:] if unique else local[:keep]).strip(".")  # the tag is the part that must stay
        return f"{local}@{domain}"

    return email


def _phone(d: bytes) -> str:
    area = 200 + int.from_bytes(d[0:2], "big") % 800
    return f"+1 ({area}) 555-01{int.from_bytes(d[2:4], 'big') % 100:02d}"  # 555-0100..0199: never assigned


def _address(d: bytes) -> str:
    number = 1 + int.from_bytes(d[0:2], "big") % 499
    return f"{number} {_pick(d, 2, words.STREETS)} {_pick(d, 6, words.STREET_KINDS)}"


def _company(d: bytes) -> str:
    return f"{_pick(d, 0, words.COMPANY_HEADS)} {_pick(d, 4, words.COMPANY_TAILS)}"


def _text_make(transform: Transform, target: Target, hasher: _Hasher) -> Bound:
    size = int(transform.argument)

    def text(value: Value) -> str:
        stream = hasher.stream(encode(value), 2 * (size // 3 + 2))
        parts: list[str] = []
        length = 0
        for at in range(0, len(stream) - 1, 2):
            word = words.LOREM[int.from_bytes(stream[at : at + 2], "big") % len(words.LOREM)]
            if length + len(word) + (1 if parts else 0) > size:
                break  # whole words only, up to the length asked for
            parts.append(word)
            length += len(word) + (1 if len(parts) > 1 else 0)
        sentence = " ".join(parts) or words.LOREM[stream[0] % len(words.LOREM)][:size]
        return sentence[:1].upper() + sentence[1:]

    return text


def _date_make(transform: Transform, target: Target, hasher: _Hasher) -> Bound:
    days = int(transform.argument)

    def shift(value: Value) -> Value:
        d = hasher.digest(encode(value))
        # Never 0: a shifted value equal to its original would be no mask at all.
        step = 1 + int.from_bytes(d[:4], "big") % days
        delta = timedelta(days=step if d[4] & 1 else -step)
        if isinstance(value, str):  # a time or date read as its text (SQLite's storage, a reflected column)
            value = (
                date.fromisoformat(value)
                if target.kind == "date"
                else datetime.fromisoformat(value.replace("Z", "+00:00"))
            )
        if isinstance(value, datetime | date | timedelta):
            return value + delta
        raise ValueError(f"date shifts a time or a date, got {type(value).__name__}")

    return shift


def _project(transform: Transform, target: Target, hasher: _Hasher) -> Bound:
    entry = generators.lookup_mask(transform.family)
    assert entry is not None
    function = entry.function

    def run(value: Value) -> Value:
        seed = hasher.digest(encode(value)).hex()
        return function(value, generators.Draw(seed, transform.family, 0))

    return run


_FAMILIES: dict[str, tuple[frozenset[str] | None, bool, bool, Callable[[Transform, Target, _Hasher], Bound]]] = {
    # name: (kinds, one-to-one, unique form on text, maker)
    "keep": (None, True, False, _keep),
    "null": (None, False, False, _null),
    "const": (None, False, False, _const),
    "hash": (_TEXT, False, True, _hash),
    "permute": (frozenset({"int", "text", "uuid"}), True, False, _permute),
    "email": (_TEXT, False, True, _email_make),
    "name": (_TEXT, False, True, _fake(_name)),
    "first_name": (_TEXT, False, True, _fake(lambda d: _pick(d, 0, words.FIRST))),
    "last_name": (_TEXT, False, True, _fake(lambda d: _pick(d, 4, words.LAST))),
    "phone": (_TEXT, False, False, _fake(_phone)),
    "address": (_TEXT, False, True, _fake(_address)),
    "city": (_TEXT, False, False, _fake(lambda d: _pick(d, 0, words.CITIES))),
    "company": (_TEXT, False, True, _fake(_company)),
    "text": (_TEXT, False, True, _text_make),
    "date": (_TIMES, False, False, _date_make),
}

#: The built-in transforms' names, as a policy writes them.
BUILT_IN = ("keep", "null", "const:<value>", "hash", "permute", "email", "name", "first_name", "last_name", "phone",
            "address", "city", "company", "text:<length>", "date:±<days>")  # fmt: skip


def parse(text: str, where: str) -> Transform:
    """A rule's text (`email`, `const:redacted`, `text:40`, `date:±30`, a registered name) as a Transform."""
    family, colon, argument = text.partition(":")
    if family in ("text", "date"):
        raw = argument.lstrip("±+") if family == "date" else argument
        if not colon or not raw.isdigit() or int(raw) < 1:
            example = "text:40" if family == "text" else "date:±30"
            raise ConfigError(
                f"{where}: {text!r} needs a whole number of {'characters' if family == 'text' else 'days'} (e.g. {example!r})"
            )
        argument = raw
    elif family == "const":
        if not colon:
            raise ConfigError(f"{where}: 'const' needs its value after a colon (e.g. 'const:redacted')")
    elif colon and family in _FAMILIES:
        raise ConfigError(f"{where}: {family!r} takes no argument (got {text!r})")
    if family in _FAMILIES:
        kinds, one_to_one, unique_form, make = _FAMILIES[family]
        return Transform(text, family, kinds, one_to_one, unique_form, make, argument)
    entry = generators.lookup_mask(text)
    if entry is None:
        known = ", ".join(BUILT_IN)
        extra = generators.registered_masks()
        more = f"; registered by the project: {', '.join(extra)}" if extra else ""
        raise ConfigError(f"{where}: unknown transform {text!r}; built in: {known}{more}")
    return Transform(text, text, frozenset(entry.kinds), entry.one_to_one, entry.unique_form, _project)
