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


@pytest.mark.parametrize("text", ["now-", "now-4", "4h", "now-4h2d", "now - 4h", "now-1.1234567s", "yesterday"])
def test_malformed_relative_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="relative time"):
        clock.to_offset(text)


def test_an_anchor_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        clock.parse_anchor("2026-01-15T12:00:00")
    assert clock.parse_anchor("2026-01-15T17:45:00+05:45") == datetime(2026, 1, 15, 12, tzinfo=UTC)
