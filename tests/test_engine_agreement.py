"""`check` is the truth for both engines: every hostile fixture is refused by all three or stored alike by both.

Each case edits one value (or one file) of a copy of data/ and goes through
`check`, then through `apply --force` onto a database already holding the
canonical seed, on SQLite and on PostgreSQL. Either all three refuse it the
same way (check's problems are exactly apply's, with file, row and column,
and both databases are unchanged), or check accepts it and both engines'
snapshots are byte-identical. Each case also says which of the two it must
be, so that a rule cannot quietly change from "refused" to "accepted".

The rules under test (README, "What check refuses"): a JSON column takes the
document itself (a JSON string there is refused); numbers inside JSON
documents must be finite doubles within ±(2**53 - 1), not underflowing to 0;
no NUL and no lone surrogate in any text, JSON key or JSON string; relative
times within 365,000 days; CHECK constraints hold; a generator's input tables
are present; JSON nests at most 100 levels.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from echelon_seed import commands, project
from echelon_seed.errors import FixtureError
from tests import dbtools

ANCHOR = datetime(2026, 1, 15, 12, tzinfo=UTC)
_RAW = "\x01RAW\x01"


def set_raw(table: str, index: int, column: str, raw: str) -> Callable[[Path], None]:
    """Put the raw JSON text `raw` (which json.dumps could not write) as row `index`'s `column`."""

    def edit(directory: Path) -> None:
        path = directory / f"{table}.json"
        rows: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["rows"]
        rows[index][column] = _RAW
        text = json.dumps({"rows": rows}, indent=1)  # ASCII: lone surrogates stay \\u escapes
        path.write_text(text.replace(json.dumps(_RAW), raw), encoding="utf-8")

    return edit


def set_value(table: str, index: int, column: str, value: Any) -> Callable[[Path], None]:
    return set_raw(table, index, column, json.dumps(value))


def genome(raw: str) -> Callable[[Path], None]:
    """agents row 3's genome (a JSONB column on PostgreSQL, JSON text on SQLite) as raw JSON text."""
    return set_raw("agents", 2, "genome", raw)


def remove(name: str) -> Callable[[Path], None]:
    return lambda directory: (directory / name).unlink()


def write_spec(table: str, spec_text: str) -> Callable[[Path], None]:
    return lambda directory: (directory / f"{table}.json").write_text(spec_text, encoding="utf-8")


@dataclass(frozen=True)
class Case:
    """One hostile fixture: how to make it, and the location check must name (None: accepted)."""

    name: str
    make: Callable[[Path], None]
    refused_at: tuple[str, int | None, str | None] | None = None  # (file, row, column)
    message: str = ""


AGENT3 = ("agents.json", 3, "genome")
REFUSED = [
    Case("json-number-1e20", genome('{"x": 1e20}'), AGENT3, "beyond"),
    Case("json-number-1e16", genome('{"x": 1e16}'), AGENT3, "beyond"),
    Case("json-integer-2**53", genome('{"x": 9007199254740992}'), AGENT3, "beyond"),
    Case("json-number-1e400", genome('{"x": 1e400}'), AGENT3, "range of a double"),
    Case("json-number-1e-400", genome('{"x": [1e-400]}'), AGENT3, "too small"),
    Case("json-string-123", genome('"123"'), AGENT3, "not a string"),
    Case("json-string-list-text", genome('"[1, 2]"'), AGENT3, "not a string"),
    Case("json-string-abc", genome('"abc"'), AGENT3, "not a string"),
    Case("json-nul-in-key", genome('{"a\\u0000b": 1}'), AGENT3, "NUL"),
    Case("json-nul-in-value", genome('{"a": "x\\u0000"}'), AGENT3, "NUL"),
    Case("json-lone-surrogate-in-value", genome('{"a": "\\ud800"}'), AGENT3, "lone surrogate"),
    Case("json-lone-surrogate-in-key", genome('{"\\udfff": 1}'), AGENT3, "lone surrogate"),
    Case("json-nested-500-deep", genome("[" * 500 + "]" * 500), AGENT3, "100 levels"),
    Case(
        "check-sanity-above-max",
        set_value("agents", 0, "sanity", 101),
        ("agents.json", 1, "sanity, max_sanity"),
        "ck_agents_sanity_range",
    ),
    Case(
        "check-timeline-self-link",
        set_value("timeline_links", 0, "target_timeline_id", "TL_ANTARCTIC_SHELF"),
        ("timeline_links.json", 1, "source_timeline_id, target_timeline_id"),
        "ck_timeline_links_not_self",
    ),
    Case(
        "text-lone-surrogate",
        set_raw("agents", 1, "motto", '"ok \\ud83d"'),
        ("agents.json", 2, "motto"),
        "lone surrogate",
    ),
    Case("text-nul", set_raw("users", 1, "bio", '"a\\u0000b"'), ("users.json", 2, "bio"), "NUL"),
    Case(
        "time-99999999-days-ago",
        set_value("agents", 0, "created_at", "now-99999999d"),
        ("agents.json", 1, "created_at"),
        "365,000 days",
    ),
    Case(
        "time-beyond-timedelta",
        set_value("agents", 0, "created_at", "now+99999999999999999999h"),
        ("agents.json", 1, "created_at"),
        "365,000 days",
    ),
    Case(
        "double-10^400",
        set_raw("timelines", 0, "stability", "1" + "0" * 400),
        ("timelines.json", 1, "stability"),
        "out of range",
    ),
    Case(
        "double-10^309",
        set_raw("timelines", 0, "stability", "1" + "0" * 309),
        ("timelines.json", 1, "stability"),
        "not a finite number",
    ),
    Case("generator-input-missing", remove("agents.json"), ("wing_flaps.json", None, None), "no agents.json"),
    Case(
        "generator-seed-lone-surrogate",
        write_spec("price_history", '{"generate": {"generator": "price_history", "seed": "\\ud800", "count": 4}}'),
        ("price_history.json", None, None),
        "lone surrogate",
    ),
]

ACCEPTED = [
    Case("json-small-float", genome('{"x": 1e-05, "y": 0.00012}')),
    Case("json-smallest-double", genome('{"x": 5e-324}')),
    Case("json-negative-zero", genome('{"x": -0.0, "y": -0}')),
    Case("json-integral-floats", genome('{"a": 1.0, "b": 1e2, "c": 1e15, "d": -2.5e3}')),
    Case("json-largest-safe-integer", genome('{"x": 9007199254740991, "y": -9007199254740991}')),
    Case("json-digits-beyond-a-double", genome('{"x": 0.1000000000000000055511151231257827}')),
    Case("json-unicode", genome('{"\\u00e9t\\u00e9": "\\ud83d\\ude00 \\u2028", "": []}')),
    Case("json-document-is-a-number", genome("42")),
    Case("json-document-is-a-list", genome('[1, "two", null, true, {"b": 2, "a": 1}]')),
    Case("json-nested-100-deep", genome("[" * 100 + "]" * 100)),
    Case("text-astral-characters", set_raw("agents", 1, "motto", '"\\ud83d\\ude00 caf\\u00e9"')),
]

CASES = REFUSED + ACCEPTED


def _copy(tmp_path: Path, case: Case) -> Path:
    directory = tmp_path / case.name
    shutil.copytree(project.data_dir(), directory)
    case.make(directory)
    return directory


_SEEDED: dict[str, dict[str, Any]] = {}


async def _apply_over_canonical(url: str, directory: Path) -> tuple[FixtureError | None, bool, bytes]:
    """(the FixtureError apply raised or None, whether the database kept its rows, the snapshot after).

    A refused apply is judged by the database's rows (the snapshot is left empty), an accepted one
    by its snapshot; the canonical seed's rows, the same in every case, are read once per engine.
    """
    engine = url.partition(":")[0]
    await dbtools.seed(url, anchor=ANCHOR)
    if engine not in _SEEDED:
        _SEEDED[engine] = await dbtools.dump(url)
    try:
        await commands.apply(url, fixtures_dir=directory, anchor=ANCHOR, force=True)
    except FixtureError as error:
        return error, await dbtools.dump(url) == _SEEDED[engine], b""
    out = io.BytesIO()
    await commands.snapshot(url, out)
    return None, False, out.getvalue()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_check_and_both_engines_agree(case: Case, tmp_path: Path, sqlite_url: str, pg_url: str) -> None:
    directory = _copy(tmp_path, case)

    problems = commands.check(directory)
    on_sqlite = await _apply_over_canonical(sqlite_url, directory)
    on_postgresql = await _apply_over_canonical(pg_url, directory)

    if case.refused_at is None:
        assert problems == [], [str(p) for p in problems]
        for error, _unchanged, _snapshot in (on_sqlite, on_postgresql):
            assert error is None
        assert on_sqlite[2] == on_postgresql[2], "the engines stored the same fixtures differently"
        return
    assert problems, "check accepted a fixture that is meant to be refused"
    located = [(Path(p.file).name, p.row, p.column) for p in problems]
    assert located == [case.refused_at], [str(p) for p in problems]
    assert case.message in problems[0].message, problems[0].message
    for error, unchanged, _snapshot in (on_sqlite, on_postgresql):
        assert error is not None, "apply accepted what check refused"
        assert list(error.problems) == problems
        assert unchanged


async def test_every_refused_case_is_refused_before_connecting(tmp_path: Path) -> None:
    """apply refuses before connecting: a server that cannot be reached is never tried."""
    nowhere = "postgresql://user@127.0.0.1:1/nowhere"
    for case in REFUSED:
        directory = _copy(tmp_path, case)
        with pytest.raises(FixtureError) as error:
            await commands.apply(nowhere, fixtures_dir=directory, anchor=ANCHOR)
        assert list(error.value.problems) == commands.check(directory), case.name
