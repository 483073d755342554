"""Property: no single edit of a snapshot compares as equal to the original, in either direction.

Edits are made to the parsed committed golden file (a value, a row, a column,
a table, a key, the column order, a header field) and the edited snapshot is
rebuilt CONSISTENTLY (its digests recomputed here, independently of
echelon_seed.snapshot), so that the comparison cannot get away with rejecting
it as a corrupt file: it has to see the difference. Edits to the raw bytes
without recomputing the digests must instead be refused as inconsistent.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from echelon_seed import commands, diff
from echelon_seed.errors import EchelonSeedError, SnapshotError

GOLDEN = commands.golden_path(1)
KINDS = ["int", "text", "float", "bool", "json", "timestamp", "decimal(2)", "date", "bytes"]


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse(text: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    head, *body = text.splitlines()
    header = json.loads(head)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in header["tables"]}
    for line in body:
        table, row = json.loads(line)
        rows[table].append(row)
    return header, rows


def rebuild(header: dict[str, Any], rows: dict[str, list[dict[str, Any]]]) -> str:
    """A snapshot file whose digests are right for its content (the format's rules, written out again)."""
    body: list[str] = []
    for name in sorted(header["tables"]):
        table = header["tables"][name]
        lines = [_dumps([name, row]) + "\n" for row in rows.get(name, [])]  # in the order given
        schema = {"columns": [[c["name"], c["kind"], c["nullable"]] for c in table["columns"]], "key": table["key"]}
        data = (_dumps(schema) + "\n" + "".join(lines)).encode("utf-8")
        table["digest"] = "sha256:" + hashlib.sha256(data).hexdigest()
        table["rows"] = len(lines)
        body += lines
    header["tables"] = dict(sorted(header["tables"].items()))
    digests = {name: t["digest"] for name, t in header["tables"].items()}
    whole = _dumps({"ignore": header["ignore"], "tables": digests}).encode("utf-8")
    header["digest"] = "sha256:" + hashlib.sha256(whole).hexdigest()
    return _dumps(header) + "\n" + "".join(body)


ORIGINAL = GOLDEN.read_text(encoding="utf-8")
HEADER, ROWS = parse(ORIGINAL)
TABLES = sorted(HEADER["tables"])
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)


def _non_key(table: str) -> list[str]:
    key = HEADER["tables"][table]["key"]
    return [c["name"] for c in HEADER["tables"][table]["columns"] if c["name"] not in key]


WITH_VALUES = [t for t in TABLES if _non_key(t)]


def edit(draw: Any) -> tuple[str, dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """One random edit of the parsed golden file; `draw` is hypothesis' data.draw."""
    header, rows = copy.deepcopy(HEADER), copy.deepcopy(ROWS)
    what = draw(
        st.sampled_from(
            [
                "value",
                "drop-row",
                "add-row",
                "drop-column",
                "add-column",
                "retype",
                "nullability",
                "drop-table",
                "add-table",
                "key",
                "order",
                "revision",
                "fixtures",
                "scale",
                "ignore",
            ]
        ),
        label="edit",
    )
    table = draw(st.sampled_from(WITH_VALUES), label="table")
    spec = header["tables"][table]
    if what == "value":
        row = rows[table][draw(st.integers(0, len(rows[table]) - 1), label="row")]
        column = draw(st.sampled_from(_non_key(table)))
        new = draw(JSON_VALUES.filter(lambda v: _dumps(v) != _dumps(row.get(column))))
        row[column] = new
    elif what == "drop-row":
        rows[table].pop(draw(st.integers(0, len(rows[table]) - 1)))
    elif what == "add-row":
        extra = dict(rows[table][draw(st.integers(0, len(rows[table]) - 1), label="row")])
        for k in spec["key"]:
            extra[k] = "ZZ_NEW_" + str(extra[k])
        rows[table].append(extra)
    elif what == "drop-column":
        column = draw(st.sampled_from(_non_key(table)))
        spec["columns"] = [c for c in spec["columns"] if c["name"] != column]
        for row in rows[table]:
            row.pop(column, None)
    elif what == "add-column":
        spec["columns"].append({"kind": draw(st.sampled_from(KINDS)), "name": "zz_added", "nullable": True})
        for row in rows[table]:
            row["zz_added"] = None
    elif what == "retype":
        col = draw(st.sampled_from(spec["columns"]))
        col["kind"] = draw(st.sampled_from([k for k in KINDS if k != col["kind"]]))
    elif what == "nullability":
        col = draw(st.sampled_from(spec["columns"]))
        col["nullable"] = not col["nullable"]
    elif what == "drop-table":
        del header["tables"][table]
        del rows[table]
    elif what == "add-table":
        header["tables"]["zz_table"] = {"columns": [{"kind": "text", "name": "id", "nullable": False}], "key": ["id"]}
        rows["zz_table"] = []
    elif what == "key":
        spec["key"] = [*spec["key"], draw(st.sampled_from(_non_key(table)))]
    elif what == "order":
        i = draw(st.integers(0, len(spec["columns"]) - 2))
        spec["columns"][i], spec["columns"][i + 1] = spec["columns"][i + 1], spec["columns"][i]
    elif what == "revision":
        header["schema_revision"] = draw(st.sampled_from([None, "0002", "abc"]))
    elif what == "fixtures":
        header["fixtures"] = draw(st.sampled_from([None, "sha256:" + "0" * 64]))
    elif what == "scale":
        header["scale"] = draw(st.sampled_from([None, 0, 2, 100]))
    else:
        header["ignore"] = draw(
            st.lists(st.sampled_from(["created_at", "*.updated_at", "agents.*"]), min_size=1, unique=True)
        )
    return what, header, rows


def _never_equal(golden: Path, actual: Path) -> None:
    try:
        report = diff.compare(golden, actual, limit=5)
    except EchelonSeedError:
        return  # exit 2: refused, which is not "equal" either
    assert not report.matches
    assert report.render("x") != f"matches {golden}"
    assert report.provenance or report.schema or report.groups or report.unexplained


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_consistent_single_edit_never_compares_equal(data: st.DataObject) -> None:
    _what, header, rows = edit(data.draw)
    edited = rebuild(header, rows)
    assert rebuild(copy.deepcopy(HEADER), copy.deepcopy(ROWS)) == ORIGINAL  # the rebuild is faithful
    assert edited != ORIGINAL
    with tempfile.TemporaryDirectory() as scratch:
        original, changed = Path(scratch) / "original.jsonl", Path(scratch) / "edited.jsonl"
        original.write_text(ORIGINAL, encoding="utf-8")
        changed.write_text(edited, encoding="utf-8")
        _never_equal(original, changed)
        _never_equal(changed, original)


@settings(max_examples=150, deadline=None, database=None)
@given(st.data())
def test_an_edit_of_the_bytes_that_leaves_the_digests_alone_is_refused(data: st.DataObject) -> None:
    raw = ORIGINAL.encode("utf-8")
    head_end = raw.index(b"\n") + 1
    position = data.draw(st.integers(head_end, len(raw) - 2))
    replacement = data.draw(st.sampled_from([b"0", b"9", b"x", b" ", b""]))
    edited = raw[:position] + replacement + raw[position + 1 :]
    if edited == raw:
        return
    with tempfile.TemporaryDirectory() as scratch:
        golden, actual = Path(scratch) / "golden.jsonl", Path(scratch) / "actual.jsonl"
        golden.write_bytes(edited)
        actual.write_bytes(raw)
        try:
            diff.compare(golden, actual)
        except SnapshotError as exc:
            assert "inconsistent" in str(exc) or "unreadable" in str(exc)
        else:
            raise AssertionError(f"an edited golden body at byte {position} was accepted")
