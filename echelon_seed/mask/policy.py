"""A masking policy: its rules read and checked against the schema before any row is read.

    [tool.echelon-seed.mask]            # or the top level of a file given to --mask
    strict = true                       # every exported column needs a rule
    "users.email" = "email"
    "*.phone" = "phone"
    "users.id" = "permute"

A rule is keyed by `table.column` or a pattern (`*` and `?`); an exact name
wins over patterns, and two patterns giving one column different transforms
are refused. A rule naming no column is refused too: a typo must not leave a
column unmasked. A column of a foreign key takes the rule of the column it
references (composite keys column by column), so masked keys still join;
giving it another rule is refused. Every check here reads the schema only:
a transform that cannot mask its column (the wrong kind, lossy on a unique
column, 'null' on NOT NULL) is refused by name before the export reads a row.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Column, Enum, ForeignKeyConstraint, Integer, SmallInteger, String, Table
from sqlalchemy import UniqueConstraint as _Unique

from echelon_seed import canonical
from echelon_seed.errors import ConfigError

from . import transforms
from .transforms import Target, Transform

if TYPE_CHECKING:
    from echelon_seed.project import Project

__all__ = ["ColumnRule", "Plan", "Policy", "load_file", "plan"]

_OPTIONS = ("strict",)


@dataclass(frozen=True)
class Policy:
    """The rules as written, in order, and where they came from."""

    rules: tuple[tuple[str, str], ...]
    strict: bool
    source: str

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str) -> Policy:
        rules: list[tuple[str, str]] = []
        strict = False
        for name, value in values.items():
            if name == "strict":
                if not isinstance(value, bool):
                    raise ConfigError(f"{source}: 'strict' is true or false, got {value!r}")
                strict = value
            elif name in ("key", "mask_key", "secret"):
                raise ConfigError(
                    f"{source}: {name!r}: the masking key is never read from the policy (it would be committed); "
                    "set $ECHELON_MASK_KEY or $ECHELON_MASK_KEY_FILE"
                )
            elif "." not in name:
                raise ConfigError(
                    f'{source}: {name!r} is neither an option ({", ".join(_OPTIONS)}) nor a quoted "table.column" rule'
                )
            elif not isinstance(value, str) or not value:
                raise ConfigError(f"{source}: rule {name!r} must be a transform's name as a string, got {value!r}")
            else:
                rules.append((name, value))
        return cls(tuple(rules), strict, source)


def load_file(path: Path) -> Policy:
    """A policy file for --mask: TOML whose top level is the policy (as in [tool.echelon-seed.mask])."""
    from echelon_seed.project import display

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--mask {display(path)}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--mask {display(path)}: not valid TOML ({exc})") from None
    return Policy.from_mapping(document, f"--mask {display(path)}")


@dataclass(frozen=True)
class ColumnRule:
    """The transform one column gets, and why (its own rule, a pattern, or the key it references)."""

    target: Target
    transform: Transform
    origin: str
    #: The column whose masking this one shares (a foreign key's referenced column, or itself).
    shared: Target
    #: How the column's values canonicalise: the transforms read that engine-neutral form.
    kind: canonical.Kind

    @property
    def sensitive(self) -> bool:
        """Whether its original values are recorded for the leak check (text and documents, not kept)."""
        return not self.transform.keeps and self.target.kind in ("text", "json", "uuid")

    @property
    def scanned(self) -> bool:
        """Whether the leak check reads it: a permuted column's values are all originals of other rows."""
        return self.transform.family != "permute"


@dataclass(frozen=True)
class Plan:
    """Every column's rule for the tables of an export, checked; bind it to a key to mask rows."""

    policy: Policy
    tables: Mapping[str, tuple[ColumnRule, ...]]

    def masked(self) -> list[ColumnRule]:
        return [rule for rules in self.tables.values() for rule in rules if not rule.transform.keeps]

    def unscanned(self) -> set[tuple[str, str]]:
        return {(r.target.table, r.target.column) for rules in self.tables.values() for r in rules if not r.scanned}


def _target(table: Table, column: Column[Any]) -> Target:
    type_ = column.type
    kind = "enum" if isinstance(type_, Enum) else canonical.kind_of(type_).name
    unique = column.primary_key or any(
        column.name in constraint.columns.keys() for constraint in table.constraints if isinstance(constraint, _Unique)
    )
    unique = unique or bool(column.unique) or any(index.unique and column in index.columns for index in table.indexes)
    if isinstance(type_, SmallInteger):
        int_max = 2**15 - 1
    elif isinstance(type_, BigInteger):
        int_max = 2**63 - 1
    else:
        int_max = 2**31 - 1 if isinstance(type_, Integer) else 2**63 - 1
    length = type_.length if isinstance(type_, String) else None
    return Target(table.name, column.name, kind, length, bool(column.nullable), unique, int_max)


def _references(table: Table) -> dict[str, list[tuple[str, str]]]:
    """Each column of a foreign key: the (table, column) pairs it references."""
    found: dict[str, list[tuple[str, str]]] = {}
    for constraint in table.constraints:
        if isinstance(constraint, ForeignKeyConstraint):
            for element in constraint.elements:
                found.setdefault(element.parent.name, []).append((element.column.table.name, element.column.name))
    return found


def _scope(project: Project, tables: Sequence[str]) -> list[Table]:
    """The tables an export may write: all, or those asked and every table they reach by foreign keys."""
    if not tables:
        return list(project.tables)
    by_name = {t.name: t for t in project.tables}
    wanted, stack = set(tables), list(tables)
    while stack:
        for constraint in by_name[stack.pop()].constraints:
            if isinstance(constraint, ForeignKeyConstraint):
                name = constraint.referred_table.name
                if name in by_name and name not in wanted:
                    wanted.add(name)
                    stack.append(name)
    return [t for t in project.tables if t.name in wanted]


def plan(policy: Policy, project: Project, tables: Sequence[str] = ()) -> Plan:
    """Check `policy` against the project's schema and give every column of the export its rule.

    `tables` limits the export (and strict mode) to those tables and the
    tables they reference; empty means every table. Raises ConfigError with
    every problem found, before any database is opened.
    """
    columns = {(t.name, c.name): (t, c) for t in project.tables for c in t.columns}
    names = [f"{t}.{c}" for t, c in columns]
    problems: list[str] = []
    explicit: dict[str, tuple[str, str]] = {}  # column -> (transform text, rule key)
    by_pattern: dict[str, list[tuple[str, str]]] = {}
    for key, text in policy.rules:
        where = f"{policy.source} rule {key!r}"
        try:
            transforms.parse(text, where)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if any(ch in key for ch in "*?["):
            matched = fnmatch.filter(names, key)
            if not matched:
                problems.append(f"{where}: the pattern matches no column of project {project.name!r}")
            for name in matched:
                by_pattern.setdefault(name, []).append((text, key))
        elif key not in names:
            owner = key.partition(".")[0]
            known = [n.partition(".")[2] for n in names if n.partition(".")[0] == owner]
            hint = f"; columns of {owner}: {', '.join(known)}" if known else f"; no table {owner!r}"
            problems.append(f"{where}: project {project.name!r} has no column {key}{hint}")
        else:
            explicit[key] = (text, key)
    for name, found in by_pattern.items():
        if name in explicit:
            continue
        if len({text for text, _ in found}) > 1:
            said = ", ".join(f"{key!r} = {text!r}" for text, key in found)
            problems.append(f"{policy.source}: column {name} matches rules that disagree ({said}); add an exact rule")
        else:
            explicit[name] = found[0]
    if problems:
        raise ConfigError("; ".join(problems))

    refs = {t.name: _references(t) for t in project.tables}
    resolved: dict[str, tuple[str, str, str]] = {}  # column -> (transform text, origin, source column)

    def resolve(name: str, seen: tuple[str, ...] = ()) -> tuple[str, str, str]:
        if name in resolved:
            return resolved[name]
        table, column = name.split(".", 1)
        referenced = refs[table].get(column, [])
        own = explicit.get(name)
        if referenced and name not in seen:
            inherited = [(f"{t}.{c}", resolve(f"{t}.{c}", (*seen, name))) for t, c in referenced]
            texts = {rule[0] for _, rule in inherited}
            if len(texts) > 1:
                said = ", ".join(f"{other} is {rule[0]!r}" for other, rule in inherited)
                problems.append(f"{name} references columns masked differently ({said}); give them one rule")
            other, (text, _, source) = inherited[0]
            if own is not None and own[0] != text:
                problems.append(
                    f"{policy.source} rule {own[1]!r}: {name} references {other}, masked with {text!r}; a "
                    "referencing column takes its key's rule so joins still match: remove this rule or "
                    f"write {text!r}"
                )
            result = (text, f"references {other}", source)
        elif own is not None:
            result = (own[0], f"rule {own[1]!r}", name)
        else:
            result = ("keep", "no rule", name)
        resolved[name] = result
        return result

    scope = _scope(project, tables)
    missing: list[str] = []
    chosen: dict[str, tuple[ColumnRule, ...]] = {}
    for table in scope:
        rules = []
        for column in table.columns:
            name = f"{table.name}.{column.name}"
            text, origin, source = resolve(name)
            if policy.strict and origin == "no rule" and not column.primary_key:
                missing.append(name)
            source_table, source_column = source.split(".", 1)
            own = _target(table, column)
            shared = _target(*columns[(source_table, source_column)]) if source != name else own
            transform = transforms.parse(text, origin)
            for checked in _unique_targets(own, shared):
                reason = transform.refusal(checked)
                if reason is not None:
                    problems.append(f"{policy.source}: {reason}")
            rules.append(ColumnRule(own, transform, origin, shared, canonical.kind_of(column.type)))
        chosen[table.name] = tuple(rules)
    if missing:
        problems.append(
            f"{policy.source} has strict = true and no rule for {', '.join(missing)}; give each one "
            '("table.column" = "keep" or a transform) so that no column is exported unmasked by accident'
        )
    if problems:
        raise ConfigError("; ".join(_unique(problems)))
    return Plan(policy, chosen)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _unique_targets(*targets: Target) -> list[Target]:
    return list(dict.fromkeys(targets))
