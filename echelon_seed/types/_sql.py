"""A cell's canonical text written by the database: the form each family's SQL takes.

A family that can have the engine print a value exactly as `canonical` would
returns a `CellSql` for that engine: an SQL expression giving the cell's JSON
text (`null` for NULL), or SQL NULL for a value the database cannot write
exactly, which sends its table back to the Python path. `{v}` in the
expression stands for the column. A rule with `finish` has the database
print the value and Python put it in canonical form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring  # json's own string encoder, as the canonical lines use

__all__ = ["CellSql", "json_string", "labels_sql", "server_text_sql"]


@dataclass(frozen=True)
class CellSql:
    """The SQL of one cell's canonical JSON text; see the module docstring."""

    text: str
    #: When set, `text` is the database's text of the value (NULL for NULL), which this turns into
    #: the cell's JSON text in Python: for values whose digits the database has but not their form.
    finish: Callable[[str | None], str] | None = None
    #: With `finish`: the same text from the value as a whole number, for a run of values that all
    #: are one (parsed by `int` in bulk; the others go through `finish`).
    finish_number: Callable[[int], str] | None = None


def json_string(engine: str, value: str) -> str:
    """SQL for the JSON string of the text `value` (escaped as `json.dumps` escapes it), NULL when it is NULL."""
    # Both engines escape exactly the characters Python's encoder does (", \, and the controls
    # below U+0020, those without a short form as \u00XX in lowercase); tested by property.
    if engine == "postgresql":
        return f"to_json({value})::text"
    return f"json_quote({value})"


#: Up to this many labels, a CASE over them beats to_json on PostgreSQL (measured with seven: half
#: the server's CPU for the column); a longer chain of comparisons would not.
LABELS_IN_SQL = 16


def labels_sql(text: str, labels: Sequence[str]) -> str:
    """PostgreSQL SQL for the JSON string of `text` (SQL whose value is text) when it is one of `labels`.

    Each label's JSON is written here once, so that a value needs one comparison
    per label instead of a call of to_json; any other value (a label added to
    the database's type, a string a non-native enum column holds) still goes
    through to_json. `text` is compared as text: a label missing from the
    database's own enum type cannot make the query fail.
    """
    chosen = sorted(set(labels))
    if not chosen or len(chosen) > LABELS_IN_SQL:
        return f"COALESCE({json_string('postgresql', text)}, 'null')"
    whens = " ".join(f"WHEN {_literal(label)} THEN {_literal(encode_basestring(label))}" for label in chosen)
    return f"CASE {text} {whens} ELSE COALESCE({json_string('postgresql', text)}, 'null') END"


def _literal(value: str) -> str:
    """A SQL string literal, with the braces doubled for the `{v}` formatting the cell's SQL goes through."""
    return "'" + value.replace("'", "''").replace("{", "{{").replace("}", "}}") + "'"


def server_text_sql(type_: object, engine: str, anchor: object) -> CellSql | None:
    """The rule of the PostgreSQL types whose canonical form is the server's own text (read as text)."""
    if engine != "postgresql":
        return None
    return CellSql(f"COALESCE({json_string(engine, 'CAST({v} AS text)')}, 'null')")
