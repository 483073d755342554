"""Property: exit 0 exactly when schema and rows are equal, whatever the provenance, in either direction.

Edits are made to the parsed committed golden file (a value, a row, a column,
a table, a key, the column order, every schema fact the header holds: a
length, a precision, enum labels, a default, a collation, a domain, a unique
constraint, a foreign key and each of its parts, a CHECK, a trigger; an
index, a view) and the edited snapshot is rebuilt CONSISTENTLY (its digests
recomputed here, independently of echelon_seed.snapshot), so that the
comparison cannot get away with rejecting it as a corrupt file: it has to see
the difference. An index or a view differs only when asked (`--indexes`,
`--views`); a provenance field (schema revision, fixtures, scale) never makes
a difference, only a note. Edits to the raw bytes without recomputing the
digests must instead be refused as inconsistent.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
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
        if name not in header["schema"]["tables"]:
            header["schema"]["tables"][name] = {}
        data = (_dumps(schema) + "\n" + "".join(lines)).encode("utf-8")
        table["digest"] = "sha256:" + hashlib.sha256(data).hexdigest()
        table["rows"] = len(lines)
        body += lines
    header["tables"] = dict(sorted(header["tables"].items()))
    digests = {name: t["digest"] for name, t in header["tables"].items()}
    facts = header["schema"]
    facts["tables"] = {n: t for n, t in sorted(facts["tables"].items()) if t and n in header["tables"]}
    whole = _dumps({"ignore": header["ignore"], "schema": facts, "tables": digests}).encode("utf-8")
    header["digest"] = "sha256:" + hashlib.sha256(whole).hexdigest()
    physical = {k: v for k, v in header["physical"].items() if k != "digest"}
    header["physical"]["digest"] = "sha256:" + hashlib.sha256(_dumps(physical).encode("utf-8")).hexdigest()
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
                *FACT_EDITS,
                *PHYSICAL_EDITS,
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
    elif what in FACT_EDITS or what in PHYSICAL_EDITS:
        edit_fact(draw, what, header, table)
    else:
        header["ignore"] = draw(
            st.lists(st.sampled_from(["created_at", "*.updated_at", "agents.*"]), min_size=1, unique=True)
        )
    return what, header, rows


def _never_equal(golden: Path, actual: Path, *, indexes: bool = False, views: bool = False) -> None:
    try:
        report = diff.compare(golden, actual, limit=5, indexes=indexes, views=views)
    except EchelonSeedError:
        return  # exit 2: refused, which is not "equal" either
    assert not report.matches
    assert report.render("x") != f"matches {golden}"
    assert report.schema or report.groups or report.unexplained


def _equal(golden: Path, actual: Path) -> diff.Report:
    report = diff.compare(golden, actual, limit=5)
    assert report.matches, report.render()
    return report


# Every schema fact of the header, edited one at a time (a column's facts, a table's constraints, a domain).
FACT_EDITS = [
    "fact-length",
    "fact-precision",
    "fact-scale",
    "fact-labels",
    "fact-default",
    "fact-collation",
    "fact-domain-of-column",
    "fact-unique-drop",
    "fact-unique-add",
    "fact-fk-drop",
    "fact-fk-on-delete",
    "fact-fk-on-update",
    "fact-fk-deferrable",
    "fact-fk-target",
    "fact-check-drop",
    "fact-check-add",
    "fact-check-expression",
    "fact-trigger-add",
    "fact-domain-add",
]
PHYSICAL_EDITS = ["index-add", "view-add"]
PROVENANCE_EDITS = {"revision", "fixtures", "scale"}


def _with(facts: dict[str, Any], kind: str) -> list[str]:
    return [t for t, entry in facts.items() if entry.get(kind)]


def edit_fact(draw: Any, what: str, header: dict[str, Any], table: str) -> None:
    """One schema fact changed, added or dropped in the header (`rebuild` recomputes the digests)."""
    facts = header["schema"]["tables"]
    entry = facts.setdefault(table, {})
    columns = [c["name"] for c in header["tables"][table]["columns"]]
    column = draw(st.sampled_from(columns), label="column")
    found = entry.setdefault("columns", {}).setdefault(column, {})
    if what == "fact-length":
        found["length"] = draw(st.sampled_from([None, 1, 40, 120]).filter(lambda n: n != found.get("length")))
        if found["length"] is None:
            del found["length"]
    elif what in ("fact-precision", "fact-scale"):
        key = what.removeprefix("fact-")
        found[key] = draw(st.integers(0, 30).filter(lambda n: n != found.get(key)))
    elif what == "fact-labels":
        labels = found.get("labels")
        found["labels"] = draw(
            st.sampled_from([["a"], ["a", "b"], [*(labels or []), "NEW"], list(reversed(labels or ["x", "y"]))]).filter(
                lambda v: v != labels
            )
        )
    elif what == "fact-default":
        found["default"] = draw(
            st.sampled_from(["0", "'x'", "now()", "true"]).filter(lambda v: v != found.get("default"))
        )
    elif what == "fact-collation":
        found["collation"] = draw(st.sampled_from(["C", "en_US"]))
    elif what == "fact-domain-of-column":
        found["domain"] = "zz_domain"
    elif what == "fact-unique-drop" or what == "fact-fk-drop" or what == "fact-check-drop":
        kind = {"fact-unique-drop": "unique", "fact-fk-drop": "foreign_keys", "fact-check-drop": "checks"}[what]
        target = draw(st.sampled_from(_with(facts, kind)), label="table with one")
        items = facts[target][kind]
        items.pop(draw(st.integers(0, len(items) - 1)))
    elif what == "fact-unique-add":
        entry.setdefault("unique", []).append([column, "zz"])
    elif what in ("fact-fk-on-delete", "fact-fk-on-update", "fact-fk-deferrable", "fact-fk-target"):
        target = draw(st.sampled_from(_with(facts, "foreign_keys")), label="table with one")
        fk = draw(st.sampled_from(facts[target]["foreign_keys"]))
        if what == "fact-fk-target":
            fk["references"] = fk["references"] + "_zz"
        else:
            key = {
                "fact-fk-on-delete": "on_delete",
                "fact-fk-on-update": "on_update",
                "fact-fk-deferrable": "deferrable",
            }[what]
            options = (
                ["no", "initially deferred", "initially immediate"]
                if key == "deferrable"
                else ["no action", "cascade", "restrict", "set null"]
            )
            fk[key] = draw(st.sampled_from([o for o in options if o != fk[key]]))
    elif what == "fact-check-add":
        entry.setdefault("checks", []).append({"name": "zz_check", "expression": f"{column} is not null"})
    elif what == "fact-check-expression":
        target = draw(st.sampled_from(_with(facts, "checks")), label="table with one")
        check = draw(st.sampled_from(facts[target]["checks"]))
        check["expression"] = f"not ({check['expression']})"
    elif what == "fact-trigger-add":
        entry["triggers"] = [
            {"name": "zz_trigger", "timing": "before", "events": ["insert"], "level": "row", "function": "f"}
        ]
    elif what == "fact-domain-add":
        header["schema"]["domains"]["zz_domain"] = {"type": "integer", "not_null": False}
    elif what == "index-add":
        header["physical"]["indexes"][table] = [{"name": "zz_idx", "columns": [column], "unique": False}]
    elif what == "view-add":
        header["physical"]["views"]["zz_view"] = {"kind": "view", "definition": f"SELECT {column} FROM {table}"}
    if not found:
        entry["columns"].pop(column)
    if not entry.get("columns"):
        entry.pop("columns", None)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_consistent_single_edit_never_compares_equal(data: st.DataObject) -> None:
    what, header, rows = edit(data.draw)
    edited = rebuild(header, rows)
    assert rebuild(copy.deepcopy(HEADER), copy.deepcopy(ROWS)) == ORIGINAL  # the rebuild is faithful
    assert edited != ORIGINAL
    with tempfile.TemporaryDirectory() as scratch:
        original, changed = Path(scratch) / "original.jsonl", Path(scratch) / "edited.jsonl"
        original.write_text(ORIGINAL, encoding="utf-8")
        changed.write_text(edited, encoding="utf-8")
        if what in PROVENANCE_EDITS:
            # How the rows got there: equal, and said as a note.
            assert _equal(original, changed).provenance
            assert _equal(changed, original).provenance
        elif what in PHYSICAL_EDITS:
            _equal(original, changed)
            _equal(changed, original)
            flag = {"indexes": what == "index-add", "views": what == "view-add"}
            _never_equal(original, changed, **flag)
            _never_equal(changed, original, **flag)
        else:
            _never_equal(original, changed)
            _never_equal(changed, original)


@pytest.mark.parametrize(
    "domain",
    [
        {"type": "integer", "not_null": False},
        {"type": "integer", "not_null": True, "checks": [{"name": "positive", "expression": "value > 0"}]},
        {"type": "integer", "not_null": False, "checks": [{"name": "positive", "expression": "value >= 0"}]},
        {"type": "bigint", "not_null": False, "checks": [{"name": "positive", "expression": "value > 0"}]},
        {
            "type": "integer",
            "not_null": False,
            "default": "1",
            "checks": [{"name": "positive", "expression": "value > 0"}],
        },
    ],
)
def test_a_domain_differing_by_its_check_type_or_default_never_compares_equal(
    domain: dict[str, Any], tmp_path: Path
) -> None:
    base_header, base_rows = copy.deepcopy(HEADER), copy.deepcopy(ROWS)
    base_header["schema"]["domains"]["year"] = {
        "type": "integer",
        "not_null": False,
        "checks": [{"name": "positive", "expression": "value > 0"}],
    }
    edited_header = copy.deepcopy(base_header)
    edited_header["schema"]["domains"]["year"] = domain
    base, edited = tmp_path / "base.jsonl", tmp_path / "edited.jsonl"
    base.write_text(rebuild(base_header, base_rows), encoding="utf-8")
    edited.write_text(rebuild(edited_header, copy.deepcopy(ROWS)), encoding="utf-8")
    _never_equal(base, edited)
    _never_equal(edited, base)
    assert any(line.startswith(("domain check", "domain changed")) for line in diff.compare(base, edited).schema)


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
