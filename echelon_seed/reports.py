"""A comparison's report for machines: a versioned JSON document and JUnit XML.

CI systems read these instead of the text report, so their shapes are a
contract: `JSON_FORMAT` names the JSON shape's version (bump it on any
incompatible change; README documents the fields), and the JUnit file has
one test case per table, plus one for the snapshot as a whole, so that a
difference of no table (a domain, a view, the ignore list) and an
unexplained digest difference fail a case too. Schema differences come
before row differences, grouped by kind, each with the table it is on
(`schema_changes`); a different provenance is a note (`provenance`), never a
failure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from .diff import Difference, Report

__all__ = ["JSON_FORMAT", "to_json", "to_junit"]

JSON_FORMAT = "echelon-seed-report/2"
_KINDS = {"changed": "changed", "missing": "only_in_golden", "extra": "only_in_actual", "table": "table"}


def _side(source: str, report: Report, golden: bool) -> dict[str, Any]:
    header = report.golden_header if golden else report.actual_header
    return {
        "source": source,
        "digest": header.digest,
        "schema_revision": header.schema_revision,
        "fixtures": header.fixtures,
        "scale": header.scale,
        "ignore": header.ignore,
    }


def _difference(d: Difference) -> dict[str, Any]:
    return {
        "table": d.table,
        "key": list(d.key),
        "kind": _KINDS[d.kind],
        "column": d.column,
        "golden": d.golden,
        "actual": d.actual,
        **({"note": d.note} if d.note else {}),
    }


def _tables(report: Report) -> dict[str, dict[str, Any]]:
    golden, actual = report.golden_header.tables, report.actual_header.tables
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(set(golden) | set(actual)):
        g, a = golden.get(name), actual.get(name)
        out[name] = {
            "golden_rows": g.rows if g else None,
            "actual_rows": a.rows if a else None,
            "equal": g is not None and a is not None and g.digest == a.digest,
            "changed_cells": 0,
            "only_in_golden": 0,
            "only_in_actual": 0,
        }
    for group in report.groups:
        counts = out[group.table]
        counts["changed_cells"] += group.changed
        counts["only_in_golden"] += group.missing
        counts["only_in_actual"] += group.extra
    return out


def to_json(report: Report, *, actual_source: str) -> dict[str, Any]:
    """The whole report as one JSON-able document (every difference: build the report without a limit)."""
    return {
        "format": JSON_FORMAT,
        "verdict": "equal" if report.matches else "differs",
        "golden": _side(report.golden, report, golden=True),
        "actual": _side(actual_source, report, golden=False),
        "provenance": list(report.provenance),
        "schema": list(report.schema),
        "schema_changes": [{"kind": c.kind, "table": c.table, "text": str(c)} for c in report.changes],
        "tables": _tables(report),
        "differences": [_difference(d) for group in report.groups for d in group.examples],
        "unexplained": report.unexplained,
    }


def _table_of_line(line: str, tables: set[str]) -> str | None:
    head = line.split(":", 1)[0].split(".", 1)[0]
    return head if head in tables else None


def to_junit(report: Report, *, suite: str = "echelon-seed verify") -> bytes:
    """JUnit XML: a case per table (its schema lines and differences), and one for the snapshot as a whole."""
    tables = set(report.golden_header.tables) | set(report.actual_header.tables)
    failures: dict[str, list[str]] = defaultdict(list)
    for change in report.changes:
        case = change.table if change.table in tables else _table_of_line(str(change), tables)
        failures[case or "(snapshot)"].append(str(change))
    for group in report.groups:
        failures[group.table].append(group.describe(report.actual_side, report.golden_side))
        failures[group.table] += [str(d) for d in group.examples if d.kind != "table"]
    whole: list[str] = []
    if not report.matches and not failures:
        whole.append("the digests differ")
    if whole:
        failures["(snapshot)"] = whole + failures.get("(snapshot)", [])
    cases = ["(snapshot)", *sorted(tables)]
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(sum(1 for c in cases if failures.get(c))),
        errors="0",
    )
    for case in cases:
        element = ET.SubElement(root, "testcase", classname=suite, name=case)
        lines = failures.get(case)
        if lines:
            failure = ET.SubElement(element, "failure", message=f"{case}: {len(lines)} difference line(s)")
            failure.text = "\n".join(lines)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
