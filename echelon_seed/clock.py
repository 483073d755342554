"""The seeding anchor, and relative times ("now-4h") resolved against it.

Every time in the fixtures is an offset from one anchor moment. `resolve`
turns "now-4h" into a datetime; `describe` turns a datetime back into the
same text, which is how snapshots stay equal whatever day a database was
seeded on. `now()` is the only place in echelon-seed that reads the clock.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta

__all__ = ["describe", "describe_micros", "describe_offset", "now", "parse_anchor", "resolve", "to_offset"]

_UNITS = {"d": 86_400_000_000, "h": 3_600_000_000, "m": 60_000_000}
_RELATIVE = re.compile(r"now(?:(?P<sign>[+-])(?P<body>(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+(?:\.\d{1,6})?s)?))?")
_PART = re.compile(r"(\d+(?:\.\d{1,6})?)([dhms])")


def now() -> datetime:
    """Return the current moment in UTC: the default anchor."""
    return datetime.now(UTC)


def parse_anchor(text: str) -> datetime:
    """Parse an ISO-8601 anchor; a time without a zone is refused, not guessed."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"anchor {text!r} is not an ISO-8601 date-time") from exc
    if value.tzinfo is None:
        raise ValueError(f"anchor {text!r} has no time zone; add 'Z' or an offset such as '+00:00'")
    return value.astimezone(UTC)


def to_offset(text: str) -> timedelta:
    """Return the offset that a relative time such as "now-1h30m" names."""
    match = _RELATIVE.fullmatch(text)
    if match is None or (match["sign"] and not match["body"]):
        raise ValueError(f"{text!r} is not a relative time such as 'now', 'now-4h' or 'now+1d2h30m'")
    micros = 0
    for amount, unit in _PART.findall(match["body"] or ""):
        if unit == "s":
            whole, _, frac = amount.partition(".")
            micros += int(whole) * 1_000_000 + int(frac.ljust(6, "0") or 0)
        else:
            micros += int(amount) * _UNITS[unit]
    return timedelta(microseconds=-micros if match["sign"] == "-" else micros)


def resolve(text: str, anchor: datetime) -> datetime:
    """Return the moment "now-4h" names when now is `anchor`."""
    return anchor + to_offset(text)


def describe(moment: datetime, anchor: datetime) -> str:
    """Return `moment` as text relative to `anchor`; the inverse of `resolve`."""
    return describe_offset(moment - anchor)


_MICROSECOND = timedelta(microseconds=1)


def describe_offset(delta: timedelta) -> str:
    """Return an offset from the anchor as relative text ("now-4h")."""
    return describe_micros(delta // _MICROSECOND)  # whole microseconds, exactly, in one step


# The hours and minutes of an offset are below 24 and 60: their text is looked up, not formatted.
_HOURS = tuple(f"{h}h" if h else "" for h in range(24))
_MINUTES = tuple(f"{m}m" if m else "" for m in range(60))
_SECONDS = tuple(f"{s}s" if s else "" for s in range(60))


def describe_micros(micros: int) -> str:
    """Return an offset from the anchor in whole microseconds as relative text ("now-4h")."""
    # Unrolled: a snapshot calls this for every timestamp it writes.
    if micros < 0:
        whole, frac = divmod(-micros, 1_000_000)
        hours, rest = divmod(whole, 3600)
        head = _head(-hours) if hours else "now-"
    elif micros:
        whole, frac = divmod(micros, 1_000_000)
        hours, rest = divmod(whole, 3600)
        head = _head(hours) if hours else "now+"
    else:
        return "now"
    minutes, seconds = divmod(rest, 60)
    if frac:
        return head + _MINUTES[minutes] + f"{seconds}.{frac:06d}".rstrip("0") + "s"
    return head + _MINUTES[minutes] + _SECONDS[seconds]


@functools.lru_cache(maxsize=1 << 16)
def _head(hours: int) -> str:
    """ "now-3d4h" for -76 hours: a seed's times fall in a few thousand distinct hours, so it is remembered."""
    sign = "now-" if hours < 0 else "now+"
    days, hours = divmod(abs(hours), 24)
    return sign + (f"{days}d" if days else "") + _HOURS[hours]


# The minutes and seconds of a whole second within its hour, looked up with the closing quote.
_WITHIN_HOUR = tuple(_MINUTES[r // 60] + _SECONDS[r % 60] + '"' for r in range(3600))
# '"now-3d4h' per whole hours before (and after) the anchor: a seed's times fall in a few thousand.
_BEFORE: dict[int, str] = {}
_AFTER: dict[int, str] = {}


def quoted_micros(micros: int) -> str:
    """`describe_micros` as a JSON string ('"now-4h"'), in one call: the snapshot's text of a relative time."""
    # Unrolled and looked up: the database gives a big table's offsets and this writes each one.
    if micros < 0:
        whole, frac = divmod(-micros, 1_000_000)
        hours, rest = divmod(whole, 3600)
        head = _BEFORE.get(hours) or _quoted_head(_BEFORE, hours, '"now-')
    elif micros:
        whole, frac = divmod(micros, 1_000_000)
        hours, rest = divmod(whole, 3600)
        head = _AFTER.get(hours) or _quoted_head(_AFTER, hours, '"now+')
    else:
        return '"now"'
    if frac:
        minutes, seconds = divmod(rest, 60)
        return head + _MINUTES[minutes] + f"{seconds}.{frac:06d}".rstrip("0") + 's"'
    return head + _WITHIN_HOUR[rest]


def _quoted_head(known: dict[int, str], hours: int, sign: str) -> str:
    if len(known) >= 1 << 16:  # bounded like `_head`: a foreign database may spread over many more hours
        known.clear()
    days, hours_left = divmod(hours, 24)
    known[hours] = head = sign + (f"{days}d" if days else "") + _HOURS[hours_left]
    return head
