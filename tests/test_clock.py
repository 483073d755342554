"""Relative times: "now-4h" resolves against the anchor, and describe() gives the text back."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from echelon_seed import clock

ANCHOR = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("now", timedelta(0)),
        ("now-4h", timedelta(hours=-4)),
        ("now+8h", timedelta(hours=8)),
        ("now-90d", timedelta(days=-90)),
        ("now-1d2h30m", -timedelta(days=1, hours=2, minutes=30)),
        ("now-1.5s", timedelta(seconds=-1.5)),
        ("now+0.000001s", timedelta(microseconds=1)),
    ],
)
def test_relative_text_resolves_and_describes_back(text: str, offset: timedelta) -> None:
    assert clock.resolve(text, ANCHOR) == ANCHOR + offset
    assert clock.describe(ANCHOR + offset, ANCHOR) == text


def test_describe_is_the_inverse_of_resolve_over_many_offsets() -> None:
    for i in range(20_000):
        word = int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=8).digest(), "big")
        micros = word % 10**14 - 5 * 10**13
        if i % 3 == 0:
            micros -= micros % 1_000_000  # whole seconds too
        text = clock.describe_offset(timedelta(microseconds=micros))
        assert clock.to_offset(text) == timedelta(microseconds=micros), text


def test_quoted_micros_is_the_described_text_in_quotes() -> None:
    """The snapshot's one-call form agrees with `describe_micros` on both sides of the anchor, at every unit's edge."""
    edges = [0, 1, -1, 999_999, 1_000_000, -1_000_000, 59_999_999, 60_000_000, 3_599_999_999, 3_600_000_000]
    edges += [86_399_999_999, 86_400_000_000, -86_400_000_001, 10**15, -(10**15) - 1]
    words = [int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=8).digest(), "big") for i in range(20_000)]
    offsets = edges + [-e for e in edges] + [w % 10**14 - 5 * 10**13 for w in words]
    offsets += [(w % 10**8 - 5 * 10**7) * 1_000_000 for w in words]  # whole seconds, as seeds have them
    for micros in offsets:
        assert clock.quoted_micros(micros) == '"' + clock.describe_micros(micros) + '"', micros


@pytest.mark.parametrize("text", ["now-", "now-4", "4h", "now-4h2d", "now - 4h", "now-1.1234567s", "yesterday"])
def test_malformed_relative_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="relative time"):
        clock.to_offset(text)


def test_an_anchor_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        clock.parse_anchor("2026-01-15T12:00:00")
    assert clock.parse_anchor("2026-01-15T17:45:00+05:45") == datetime(2026, 1, 15, 12, tzinfo=UTC)
