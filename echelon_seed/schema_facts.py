"""The schema a team cares about, read from a database, in one canonical form for every engine.

A golden file holds more than columns and keys: a migration that drops a
foreign key, a CHECK, a default or a trigger changed what the application can
rely on, and the gate must say so. This module reads those facts (through
SQLAlchemy's inspector, and PostgreSQL's catalogs for triggers and domains),
writes them as plain JSON in one spelling whichever engine printed them, and
says what differs between two such sets, one line per fact.

Per table (only what is there is written, so an empty fact costs nothing):

    columns       per column: length (text, bytes), precision and scale
                  (decimal), default (a normalised expression), collation
                  (when not the database's), labels (an enum's, or a
                  `col IN (...)` CHECK's), domain (PostgreSQL)
    unique        each unique constraint's columns
    foreign_keys  columns, the table and columns referenced, on delete, on
                  update, deferrable
    checks        name and normalised expression (`sql_expressions`)
    triggers      name, timing, events, and the function (PostgreSQL) or
                  the body (SQLite)

and, for the database: `domains` (PostgreSQL: base type, not null, default,
checks). These are the logical facts: in the snapshot's digest, so any
difference fails the gate. Indexes and views are physical or derived
choices: written to the golden file, compared only when asked
(`--indexes`, `--views`).

When the snapshot reads a column with the project's declared type (the
engine stores exactly what the declaration creates), the type facts are the
declaration's: SQLite has no native enum, and keeps money as text, so the
labels and the precision it cannot store come from the model, which is what
makes the Echelon and shop golden files byte-identical on both engines. A
column the engine stores differently (a migration widened it) gives the
engine's own facts, and so a difference.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Enum, Numeric, String, inspect, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from .sql_expressions import normalise, unquote_number

__all__ = [
    "PATTERN_PREFIX",
    "Change",
    "Facts",
    "compare",
    "fact_names",
    "filter_facts",
    "read",
]

#: An `--ignore` pattern with this prefix names schema facts, not columns.
PATTERN_PREFIX = "schema:"

_TYPE_FACTS = ("length", "precision", "scale", "labels", "collation")
_LENGTH_KINDS = frozenset({"text", "bytes"})


@dataclass(frozen=True)
class Facts:
    """The facts of one database: logical ones (in the digest) and physical ones (compared on request)."""

    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    indexes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)

    def logical(self) -> dict[str, Any]:
        return {"domains": self.domains, "tables": {n: t for n, t in sorted(self.tables.items()) if t}}

    def physical(self) -> dict[str, Any]:
        return {"indexes": {n: i for n, i in sorted(self.indexes.items()) if i}, "views": self.views}

    @classmethod
    def from_json(cls, logical: Mapping[str, Any], physical: Mapping[str, Any]) -> Facts:
        return cls(
            tables=dict(logical.get("tables", {})),
            domains=dict(logical.get("domains", {})),
            indexes=dict(physical.get("indexes", {})),
            views=dict(physical.get("views", {})),
        )


# --- reading -----------------------------------------------------------------------------------


def _unwrap(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    return type_


def _type_facts(type_: TypeEngine[Any]) -> dict[str, Any]:
    """Length, precision, scale, labels and collation of a type (declared or reflected), whatever its kind."""
    t = _unwrap(type_)
    out: dict[str, Any] = {}
    if isinstance(t, Enum) and t.enums:
        out["labels"] = list(t.enums)
    elif isinstance(t, String) and t.length is not None:
        out["length"] = t.length
    if isinstance(t, Numeric) and not isinstance(t, Enum) and t.precision is not None:
        out["precision"] = t.precision
        if t.scale is not None:
            out["scale"] = t.scale
    collation = getattr(t, "collation", None)
    if collation:
        out["collation"] = str(collation)
    return out


def _storage_facts(declared: TypeEngine[Any], dialect: Dialect) -> dict[str, Any]:
    """The facts of what the engine stores for a declared type: what reflection would give back."""
    type_ = declared
    while isinstance(type_, TypeDecorator):
        loaded = type_.load_dialect_impl(dialect)
        if loaded is type_:
            type_ = type_.impl_instance
            continue
        type_ = loaded
    if isinstance(type_, Enum) and not (type_.native_enum and dialect.supports_native_enum):
        return {"length": type_.length} if type_.length else {}
    return _type_facts(type_)


def _column_facts(
    reflected: TypeEngine[Any], declared: TypeEngine[Any] | None, kind: str, dialect: Dialect
) -> dict[str, Any]:
    found = _type_facts(reflected)
    if declared is not None and _storage_facts(declared, dialect) == found:
        found = {**_type_facts(declared), **{k: v for k, v in found.items() if k == "collation"}}
    name = kind.split("(")[0]
    if name not in _LENGTH_KINDS:
        found.pop("length", None)
    if name != "decimal":
        found.pop("precision", None)
        found.pop("scale", None)
    return found


def default_of(expression: str | None, kind: str) -> str | None:
    """A column default in canonical form; None for none, and for a sequence's (a key generator, not a value)."""
    if expression is None:
        return None
    value = normalise(expression)
    if value.startswith("nextval("):
        return None
    name = kind.split("(")[0]
    if name in ("int", "float", "decimal"):
        return unquote_number(value) or value
    if name == "bool":
        return (
            {"1": "true", "'1'": "true", "'t'": "true", "'true'": "true", "0": "false", "'0'": "false"}.get(
                value, value
            )
            .replace("'f'", "false")
            .replace("'false'", "false")
        )
    return value


def _action(value: Any) -> str:
    return str(value).lower() if value else "no action"


def _deferrable(options: Mapping[str, Any]) -> str:
    if not options.get("deferrable"):
        return "no"
    return f"initially {str(options.get('initially') or 'immediate').lower()}"


def _sorted_json(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda d: repr(sorted(d.items())))


_SQLITE_TRIGGER = re.compile(
    r"CREATE\s+(?:TEMP\w*\s+)?TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+(BEFORE|AFTER|INSTEAD\s+OF)?\s*"
    r"(INSERT|DELETE|UPDATE(?:\s+OF\s+[^O]+?)?)\s+ON\s+\S+\s+(?:FOR\s+EACH\s+ROW\s+)?(?:WHEN\s+.*?\s+)?BEGIN\s+(.*)END\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def _triggers_sqlite(sync: Connection, table: str) -> list[dict[str, Any]]:
    rows = sync.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t ORDER BY name"),
        {"t": table},
    ).all()
    out = []
    for name, sql in rows:
        match = _SQLITE_TRIGGER.match(" ".join(str(sql).split()))
        timing, event, body = (match.group(1), match.group(2), match.group(3)) if match else ("", "", str(sql))
        out.append(
            {
                "name": name,
                "timing": " ".join((timing or "before").lower().split()),
                "events": [" ".join(event.lower().split())] if event else [],
                "body": " ".join(body.split()),
            }
        )
    return out


def _table_sql_sqlite(sync: Connection, table: str) -> str:
    found = sync.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    ).scalar_one_or_none()
    return str(found or "")


def _definitions(create_table: str) -> list[str]:
    """The column and constraint definitions of a CREATE TABLE, split at its top-level commas."""
    start = create_table.find("(")
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in create_table[start + 1 :]:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`[":
            quote = "]" if char == "[" else char
        elif char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return parts


_FK_COLUMNS = re.compile(r"FOREIGN\s+KEY\s*\(([^)]*)\)", re.IGNORECASE)
_DEFERRABLE = re.compile(r"(NOT\s+)?DEFERRABLE(?:\s+INITIALLY\s+(DEFERRED|IMMEDIATE))?", re.IGNORECASE)


def _names(text_: str) -> list[str]:
    return [n.strip().strip('"`[]') for n in text_.split(",")]


def _foreign_keys_sqlite(sync: Connection, table: str) -> list[dict[str, Any]]:
    """PRAGMA foreign_key_list for columns, target and actions; the DDL for DEFERRABLE, which the pragma omits."""
    rows = sync.exec_driver_sql(f"PRAGMA foreign_key_list({_quote(table)})").all()
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(int(row[0]), []).append(row)
    deferrable: dict[tuple[str, ...], str] = {}
    for definition in _definitions(_table_sql_sqlite(sync, table)):
        if not re.search(r"\bREFERENCES\b", definition, re.IGNORECASE):
            continue
        table_level = _FK_COLUMNS.search(definition)
        columns = _names(table_level.group(1)) if table_level else [_names(definition.split()[0])[0]]
        found = _DEFERRABLE.search(definition)
        if found and not found.group(1):
            deferrable[tuple(columns)] = f"initially {(found.group(2) or 'immediate').lower()}"
    out = []
    for _, parts in sorted(grouped.items()):
        parts.sort(key=lambda r: int(r[1]))
        columns = [str(r[3]) for r in parts]
        out.append(
            {
                "columns": columns,
                "references": str(parts[0][2]),
                "to": [str(r[4]) for r in parts],
                "on_delete": _action(parts[0][6] if parts[0][6] != "NO ACTION" else None),
                "on_update": _action(parts[0][5] if parts[0][5] != "NO ACTION" else None),
                "deferrable": deferrable.get(tuple(columns), "no"),
            }
        )
    return out


def _unique_sqlite(sync: Connection, table: str) -> list[list[str]]:
    """Unique constraints: the indexes SQLite made for a UNIQUE clause (origin 'u'), column or table level."""
    out = []
    for row in sync.exec_driver_sql(f"PRAGMA index_list({_quote(table)})").all():
        if row[3] != "u":
            continue
        info = sync.exec_driver_sql(f"PRAGMA index_info({_quote(str(row[1]))})").all()
        out.append([str(r[2]) for r in sorted(info, key=lambda r: int(r[0]))])
    return sorted(out)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _triggers_postgresql(sync: Connection, schema: str | None, table: str) -> list[dict[str, Any]]:
    rows = sync.execute(
        text(
            "SELECT t.tgname, t.tgtype, p.proname FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE NOT t.tgisinternal AND c.relname = :t AND n.nspname = coalesce(:s, current_schema()) "
            "ORDER BY t.tgname"
        ),
        {"t": table, "s": schema},
    ).all()
    out = []
    for name, bits, function in rows:
        # pg_trigger.tgtype: 1 row, 2 before, 64 instead of; 4 insert, 8 delete, 16 update, 32 truncate.
        timing = "instead of" if bits & 64 else "before" if bits & 2 else "after"
        events = [e for bit, e in ((4, "insert"), (16, "update"), (8, "delete"), (32, "truncate")) if bits & bit]
        level = "row" if bits & 1 else "statement"
        out.append({"name": name, "timing": timing, "events": events, "level": level, "function": function})
    return out


def _domains_postgresql(
    sync: Connection, schema: str | None
) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], str]]:
    inspector: Any = inspect(sync)
    domains: dict[str, dict[str, Any]] = {}
    for d in inspector.get_domains(schema=schema or "public"):
        entry: dict[str, Any] = {"type": str(d["type"]).lower(), "not_null": not d["nullable"]}
        if d.get("default") is not None:
            entry["default"] = normalise(str(d["default"]))
        checks = [{"name": c["name"], "expression": normalise(c["check"])} for c in d.get("constraints", [])]
        if checks:
            entry["checks"] = _sorted_json(checks)
        if d.get("collation"):
            entry["collation"] = d["collation"]
        domains[d["name"]] = entry
    used = sync.execute(
        text(
            "SELECT table_name, column_name, domain_name FROM information_schema.columns "
            "WHERE domain_name IS NOT NULL AND table_schema = coalesce(:s, current_schema())"
        ),
        {"s": schema},
    ).all()
    return domains, {(str(t), str(c)): str(d) for t, c, d in used}


def read(
    sync: Connection,
    schema: str | None,
    columns: Mapping[str, Sequence[tuple[str, str]]],
    declared: Mapping[tuple[str, str], TypeEngine[Any]],
) -> Facts:
    """The facts of the tables in `columns` (table -> recorded (column, kind) pairs, in order).

    `declared` names the columns read with the project's declared type; their
    type facts come from the declaration where the engine stores exactly it.
    """
    inspector: Any = inspect(sync)
    dialect = sync.dialect
    postgres = dialect.name == "postgresql"
    domains, domain_of = _domains_postgresql(sync, schema) if postgres else ({}, {})
    facts = Facts(domains=dict(sorted(domains.items())))
    for table, recorded in sorted(columns.items()):
        reflected = {c["name"]: c for c in inspector.get_columns(table, schema=schema)}
        column_facts: dict[str, dict[str, Any]] = {}
        for name, kind in recorded:
            col = reflected.get(name)
            if col is None:
                continue
            found = _column_facts(col["type"], declared.get((table, name)), kind, dialect)
            if col.get("identity") is None:
                default = default_of(None if col.get("default") is None else str(col["default"]), kind)
                if default is not None:
                    found["default"] = default
            if (table, name) in domain_of:
                found["domain"] = domain_of[(table, name)]
            if found:
                column_facts[name] = dict(sorted(found.items()))
        entry: dict[str, Any] = {}
        checks = []
        for c in inspector.get_check_constraints(table, schema=schema):
            expression = normalise(str(c["sqltext"]))
            if _absorb_label_check(expression, column_facts, dict(recorded)):
                continue  # an enum's constraint on an engine without enums: the labels say it
            checks.append({"name": c.get("name"), "expression": expression})
        if postgres:
            fks = [
                {
                    "columns": list(fk["constrained_columns"]),
                    "references": fk["referred_table"],
                    "to": list(fk["referred_columns"]),
                    "on_delete": _action(fk.get("options", {}).get("ondelete")),
                    "on_update": _action(fk.get("options", {}).get("onupdate")),
                    "deferrable": _deferrable(fk.get("options", {})),
                }
                for fk in inspector.get_foreign_keys(table, schema=schema)
            ]
            unique = sorted(list(u["column_names"]) for u in inspector.get_unique_constraints(table, schema=schema))
        else:
            fks, unique = _foreign_keys_sqlite(sync, table), _unique_sqlite(sync, table)
        triggers = _triggers_postgresql(sync, schema, table) if postgres else _triggers_sqlite(sync, table)
        for key, value in (
            ("checks", _sorted_json(checks)),
            ("columns", column_facts),
            ("foreign_keys", _sorted_json(fks)),
            ("triggers", triggers),
            ("unique", unique),
        ):
            if value:
                entry[key] = value
        facts.tables[table] = entry
        indexes = []
        for ix in inspector.get_indexes(table, schema=schema):
            if ix.get("duplicates_constraint"):
                continue
            index: dict[str, Any] = {
                "name": ix["name"],
                "columns": [c if c is not None else normalise(str(e)) for c, e in _index_terms(ix)],
                "unique": bool(ix.get("unique")),
            }
            where = (ix.get("dialect_options") or {}).get(f"{dialect.name}_where")
            if where is not None:
                index["where"] = normalise(str(where))
            indexes.append(index)
        if indexes:
            facts.indexes[table] = sorted(indexes, key=lambda i: str(i["name"]))
    views = {name: "view" for name in inspector.get_view_names(schema=schema)}
    if postgres:
        views.update({name: "materialized view" for name in inspector.get_materialized_view_names(schema=schema)})
    for name, what in sorted(views.items()):
        definition = inspector.get_view_definition(name, schema=schema) or ""
        facts.views[name] = {"kind": what, "definition": " ".join(str(definition).split()).rstrip(";")}
    return facts


def _index_terms(ix: Mapping[str, Any]) -> list[tuple[str | None, Any]]:
    names = list(ix.get("column_names") or [])
    expressions = list(ix.get("expressions") or names)
    return [(n, e) for n, e in zip(names + [None] * (len(expressions) - len(names)), expressions, strict=True)]


def _absorb_label_check(expression: str, columns: dict[str, dict[str, Any]], kinds: Mapping[str, str]) -> bool:
    """Whether a CHECK is `col IN ('a', 'b')` on a text column: then it is the column's enum labels.

    That is how an enum is stored where there is none (SQLite; SQLAlchemy's
    non-native Enum): a varchar as long as the longest label and this CHECK.
    Read as labels, it compares equal to a native enum of the same labels.
    """
    match = re.fullmatch(r"([a-z_][a-z0-9_$]*) in \(('(?:[^']|'')*'(?:, '(?:[^']|'')*')*)\)", expression)
    if match is None or kinds.get(match.group(1), "").split("(")[0] != "text":
        return False
    labels = [label.replace("''", "'") for label in re.findall(r"'((?:[^']|'')*)'", match.group(2))]
    found = columns.setdefault(match.group(1), {})
    if found.get("labels") not in (None, labels):
        return False
    found["labels"] = labels
    if found.get("length") == max(len(label) for label in labels):
        del found["length"]
    columns[match.group(1)] = dict(sorted(found.items()))
    return True


# --- ignoring ------------------------------------------------------------------------------------


def fact_names(facts: Facts) -> list[str]:
    """Every fact's name, as `--ignore schema:PATTERN` matches it."""
    return [name for name, _ in _named(facts)]


def _named(facts: Facts) -> list[tuple[str, tuple[str, ...]]]:
    out: list[tuple[str, tuple[str, ...]]] = []
    for table, entry in facts.tables.items():
        for column, found in entry.get("columns", {}).items():
            out += [(f"{table}.{column}.{fact}", ("columns", table, column, fact)) for fact in found]
        for check in entry.get("checks", []):
            out.append((f"{table}.check.{check['name'] or check['expression']}", ("checks", table, repr(check))))
        for fk in entry.get("foreign_keys", []):
            out.append((f"{table}.foreign_key.{','.join(fk['columns'])}", ("foreign_keys", table, repr(fk))))
        for cols in entry.get("unique", []):
            out.append((f"{table}.unique.{','.join(cols)}", ("unique", table, repr(cols))))
        for trigger in entry.get("triggers", []):
            out.append((f"{table}.trigger.{trigger['name']}", ("triggers", table, repr(trigger))))
    out += [(f"domain.{name}", ("domain", name)) for name in facts.domains]
    return out


def filter_facts(facts: Facts, patterns: Sequence[str]) -> tuple[Facts, set[str]]:
    """The facts without those `schema:` patterns name, and the patterns that named at least one."""
    wanted = [p[len(PATTERN_PREFIX) :] for p in patterns if p.startswith(PATTERN_PREFIX)]
    if not wanted:
        return facts, set()
    matched: set[str] = set()
    dropped: set[tuple[str, ...]] = set()
    for name, where in _named(facts):
        for pattern in wanted:
            if fnmatch.fnmatchcase(name, pattern):
                matched.add(PATTERN_PREFIX + pattern)
                dropped.add(where)
    tables: dict[str, dict[str, Any]] = {}
    for table, entry in facts.tables.items():
        kept: dict[str, Any] = {}
        columns = {
            column: {f: v for f, v in found.items() if ("columns", table, column, f) not in dropped}
            for column, found in entry.get("columns", {}).items()
        }
        if any(columns.values()):
            kept["columns"] = {c: f for c, f in columns.items() if f}
        for key in ("checks", "foreign_keys", "unique", "triggers"):
            items = [i for i in entry.get(key, []) if (key, table, repr(i)) not in dropped]
            if items:
                kept[key] = items
        tables[table] = dict(sorted(kept.items()))
    domains = {n: d for n, d in facts.domains.items() if ("domain", n) not in dropped}
    return Facts(tables=tables, domains=domains, indexes=facts.indexes, views=facts.views), matched


# --- comparing -----------------------------------------------------------------------------------

#: The order a report lists schema changes in, one group per kind.
KIND_ORDER = (
    "foreign key dropped",
    "foreign key added",
    "foreign key changed",
    "unique dropped",
    "unique added",
    "check dropped",
    "check added",
    "check changed",
    "default dropped",
    "default added",
    "default changed",
    "length changed",
    "precision changed",
    "enum labels changed",
    "collation changed",
    "domain changed",
    "domain dropped",
    "domain added",
    "domain check dropped",
    "domain check added",
    "domain check changed",
    "trigger dropped",
    "trigger added",
    "trigger changed",
    "index dropped",
    "index added",
    "index changed",
    "view dropped",
    "view added",
    "view changed",
)


@dataclass(frozen=True)
class Change:
    """One schema fact that differs: its kind ("default changed"), the table it is on, and what."""

    kind: str
    table: str | None
    subject: str
    #: The subject is a whole line already (the column and table lines of format 2's report).
    plain: bool = False

    def __str__(self) -> str:
        return self.subject if self.plain else f"{self.kind}: {self.subject}"


def _fk_text(table: str, fk: Mapping[str, Any]) -> str:
    out = f"{table}({', '.join(fk['columns'])}) → {fk['references']}({', '.join(fk['to'])})"
    extras = [f"on {w} {fk[f'on_{w}']}" for w in ("delete", "update") if fk[f"on_{w}"] != "no action"]
    if fk["deferrable"] != "no":
        extras.append(f"deferrable {fk['deferrable']}")
    return out + (f" ({', '.join(extras)})" if extras else "")


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _type_text(facts: Mapping[str, Any]) -> str:
    if "precision" not in facts:
        return "unconstrained"
    scale = facts.get("scale")
    return f"numeric({facts['precision']}{'' if scale is None else f',{scale}'})"


def _pairs(golden: list[Any], actual: list[Any], key: Any) -> tuple[list[Any], list[Any], list[tuple[Any, Any]]]:
    g = {repr(key(i)): i for i in golden}
    a = {repr(key(i)): i for i in actual}
    dropped = [g[k] for k in g if k not in a]
    added = [a[k] for k in a if k not in g]
    changed = [(g[k], a[k]) for k in g if k in a and g[k] != a[k]]
    return dropped, added, changed


def _compare_table(table: str, g: Mapping[str, Any], a: Mapping[str, Any], shared: set[str]) -> list[Change]:
    out: list[Change] = []
    dropped, added, changed = _pairs(g.get("foreign_keys", []), a.get("foreign_keys", []), lambda f: f["columns"])
    out += [Change("foreign key dropped", table, _fk_text(table, f)) for f in dropped]
    out += [Change("foreign key added", table, _fk_text(table, f)) for f in added]
    out += [Change("foreign key changed", table, f"{_fk_text(table, x)} → {_fk_text(table, y)}") for x, y in changed]
    dropped, added, _ = _pairs(g.get("unique", []), a.get("unique", []), lambda u: u)
    out += [Change("unique dropped", table, f"{table}({', '.join(u)})") for u in dropped]
    out += [Change("unique added", table, f"{table}({', '.join(u)})") for u in added]
    dropped, added, changed = _pairs(g.get("checks", []), a.get("checks", []), lambda c: c["name"] or c["expression"])
    out += [
        Change("check dropped", table, f"{table} {c['name'] or ''} ({c['expression']})".replace("  ", " "))
        for c in dropped
    ]
    out += [
        Change("check added", table, f"{table} {c['name'] or ''} ({c['expression']})".replace("  ", " ")) for c in added
    ]
    out += [
        Change("check changed", table, f"{table} {x['name']}: ({x['expression']}) → ({y['expression']})")
        for x, y in changed
    ]
    g_cols, a_cols = g.get("columns", {}), a.get("columns", {})
    for column in sorted(shared):
        x, y = g_cols.get(column, {}), a_cols.get(column, {})
        where = f"{table}.{column}"
        if x.get("default") != y.get("default"):
            if y.get("default") is None:
                out.append(Change("default dropped", table, f"{where} {x['default']}"))
            elif x.get("default") is None:
                out.append(Change("default added", table, f"{where} {y['default']}"))
            else:
                out.append(Change("default changed", table, f"{where} {x['default']} → {y['default']}"))
        if x.get("length") != y.get("length"):
            out.append(
                Change(
                    "length changed",
                    table,
                    f"{where} {_shown(x.get('length') or 'unlimited')} → {_shown(y.get('length') or 'unlimited')}",
                )
            )
        if (x.get("precision"), x.get("scale")) != (y.get("precision"), y.get("scale")):
            out.append(Change("precision changed", table, f"{where} {_type_text(x)} → {_type_text(y)}"))
        if x.get("labels") != y.get("labels"):
            out.append(
                Change("enum labels changed", table, f"{where} {_shown(x.get('labels'))} → {_shown(y.get('labels'))}")
            )
        if x.get("collation") != y.get("collation"):
            out.append(
                Change(
                    "collation changed",
                    table,
                    f"{where} {x.get('collation') or 'default'} → {y.get('collation') or 'default'}",
                )
            )
        if x.get("domain") != y.get("domain"):
            out.append(
                Change("domain changed", table, f"{where} {_shown(x.get('domain'))} → {_shown(y.get('domain'))}")
            )
    dropped, added, changed = _pairs(g.get("triggers", []), a.get("triggers", []), lambda t: t["name"])
    out += [Change("trigger dropped", table, f"{t['name']} on {table}") for t in dropped]
    out += [Change("trigger added", table, f"{t['name']} on {table}") for t in added]
    out += [
        Change("trigger changed", table, f"{x['name']} on {table}: {_trigger_text(x)} → {_trigger_text(y)}")
        for x, y in changed
    ]
    return out


def _trigger_text(t: Mapping[str, Any]) -> str:
    what = t.get("function") or t.get("body") or ""
    return f"{t['timing']} {' or '.join(t['events'])} {what}".strip()


def _compare_domains(g: Mapping[str, Any], a: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    for name in sorted(set(g) | set(a)):
        x, y = g.get(name), a.get(name)
        if x is None or y is None:
            out.append(Change("domain added" if x is None else "domain dropped", None, name))
            continue
        dropped, added, changed = _pairs(x.get("checks", []), y.get("checks", []), lambda c: c["name"])
        out += [Change("domain check dropped", None, f"{name} {c['name']} ({c['expression']})") for c in dropped]
        out += [Change("domain check added", None, f"{name} {c['name']} ({c['expression']})") for c in added]
        out += [
            Change("domain check changed", None, f"{name} {p['name']}: ({p['expression']}) → ({q['expression']})")
            for p, q in changed
        ]
        rest_x = {k: v for k, v in x.items() if k != "checks"}
        rest_y = {k: v for k, v in y.items() if k != "checks"}
        for fact in sorted(set(rest_x) | set(rest_y)):
            if rest_x.get(fact) != rest_y.get(fact):
                out.append(
                    Change(
                        "domain changed", None, f"{name} {fact} {_shown(rest_x.get(fact))} → {_shown(rest_y.get(fact))}"
                    )
                )
    return out


def _compare_indexes(g: Mapping[str, Any], a: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    for table in sorted(set(g) | set(a)):
        dropped, added, changed = _pairs(g.get(table, []), a.get(table, []), lambda i: i["name"])

        def said(i: Mapping[str, Any], table: str = table) -> str:
            unique = "unique " if i["unique"] else ""
            where = f" where {i['where']}" if i.get("where") else ""
            return f"{unique}{i['name']} on {table}({', '.join(i['columns'])}){where}"

        out += [Change("index dropped", table, said(i)) for i in dropped]
        out += [Change("index added", table, said(i)) for i in added]
        out += [Change("index changed", table, f"{said(x)} → {said(y)}") for x, y in changed]
    return out


def _compare_views(g: Mapping[str, Any], a: Mapping[str, Any]) -> list[Change]:
    out: list[Change] = []
    for name in sorted(set(g) | set(a)):
        x, y = g.get(name), a.get(name)
        if x is None or y is None:
            only = y if x is None else x
            assert only is not None
            out.append(Change("view added" if x is None else "view dropped", None, f"{only['kind']} {name}"))
        elif x != y:
            out.append(Change("view changed", None, f"{y['kind']} {name}: {x['definition']} → {y['definition']}"))
    return out


def compare(
    golden: Facts,
    actual: Facts,
    shared_columns: Mapping[str, set[str]],
    *,
    indexes: bool = False,
    views: bool = False,
) -> list[Change]:
    """The facts that differ, grouped by kind (`KIND_ORDER`), tables by name within a kind.

    `shared_columns` names, per table on both sides, the columns both have:
    a column only on one side is the column report's business, not a fact's.
    """
    changes: list[Change] = []
    for table in sorted(set(golden.tables) & set(actual.tables) & set(shared_columns)):
        changes += _compare_table(table, golden.tables[table], actual.tables[table], shared_columns[table])
    changes += _compare_domains(golden.domains, actual.domains)
    changes += compare_physical(golden, actual, indexes=indexes, views=views)
    return _in_order(changes)


def compare_physical(golden: Facts, actual: Facts, *, indexes: bool, views: bool) -> list[Change]:
    """Indexes (of tables on both sides) and views that differ, when asked for."""
    changes: list[Change] = []
    if indexes:
        shared = set(golden.tables) & set(actual.tables)
        changes += _compare_indexes(
            {t: i for t, i in golden.indexes.items() if t in shared},
            {t: i for t, i in actual.indexes.items() if t in shared},
        )
    if views:
        changes += _compare_views(golden.views, actual.views)
    return _in_order(changes)


def _in_order(changes: list[Change]) -> list[Change]:
    order = {kind: i for i, kind in enumerate(KIND_ORDER)}
    return sorted(changes, key=lambda c: (order[c.kind], c.table or "", c.subject))
