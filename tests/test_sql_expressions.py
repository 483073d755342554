"""One spelling for a CHECK or DEFAULT, whether PostgreSQL printed it back or SQLite kept the DDL's text."""

from __future__ import annotations

import pytest

from echelon_seed.schema_facts import default_of
from echelon_seed.sql_expressions import normalise

# (what PostgreSQL prints back, what SQLite keeps as written): both must normalise to the third.
SAME = [
    (
        "((sanity >= 0) AND (sanity <= max_sanity))",
        "sanity >= 0 AND sanity <= max_sanity",
        "sanity >= 0 and sanity <= max_sanity",
    ),
    (
        "((source_timeline_id)::text <> (target_timeline_id)::text)",
        "source_timeline_id != target_timeline_id",
        "source_timeline_id <> target_timeline_id",
    ),
    (
        "((rating)::text = ANY ((ARRAY['G'::character varying, 'PG-13'::character varying])::text[]))",
        "rating IN ('G','PG-13')",
        "rating in ('G', 'PG-13')",
    ),
    ("(rental_rate >= (0)::numeric)", "rental_rate >= 0", "rental_rate >= 0"),
    ("((x >= 1) AND (x <= 9))", "x BETWEEN 1 AND 9", "x >= 1 and x <= 9"),
    (
        "((returned_at IS NULL) OR (returned_at >= rented_at))",
        "returned_at IS NULL OR returned_at >= rented_at",
        "returned_at is null or returned_at >= rented_at",
    ),
    ("((title)::text ~~ 'A%'::text)", "title LIKE 'A%'", "title like 'A%'"),
    ("(NOT (flag IS TRUE))", "NOT flag IS TRUE", "not flag is true"),
    ("(char_length((name)::text) > 0)", "char_length(name) > 0", "char_length(name) > 0"),
    ("'-1'::integer", "-1", "-1"),
    ("'x'::character varying", "'x'", "'x'"),
    ("(VALUE ~ '^[0-9]{5}$'::text)", "value ~ '^[0-9]{5}$'", "value ~ '^[0-9]{5}$'"),
]


@pytest.mark.parametrize(("postgresql", "sqlite", "canonical"), SAME)
def test_both_engines_spellings_normalise_alike(postgresql: str, sqlite: str, canonical: str) -> None:
    assert normalise(postgresql) == canonical
    assert normalise(sqlite) == canonical


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("(a + b) * c", "a + b * c"),
        ("a - (b - c)", "a - b - c"),
        ("NOT (a AND b)", "NOT a AND b"),
        ("(a OR b) AND c", "a OR b AND c"),
        ("x >= 0", "x > 0"),
        ("name = 'A'", "name = 'a'"),
        ("x IN (1, 2)", "x NOT IN (1, 2)"),
    ],
)
def test_expressions_that_mean_different_things_stay_different(one: str, other: str) -> None:
    assert normalise(one) != normalise(other)


def test_an_expression_outside_the_grammar_keeps_its_text_with_blanks_collapsed() -> None:
    assert normalise("CASE WHEN a   THEN 1\n ELSE 2 END") == "CASE WHEN a THEN 1 ELSE 2 END"


@pytest.mark.parametrize(
    ("expression", "kind", "canonical"),
    [
        ("'4.99'::numeric", "decimal(2)", "4.99"),
        ("4.99", "decimal(2)", "4.99"),
        ("1", "bool", "true"),
        ("true", "bool", "true"),
        ("0", "bool", "false"),
        ("nextval('film_film_id_seq'::regclass)", "int", None),
        ("CURRENT_TIMESTAMP", "timestamp", "current_timestamp"),
        (None, "text", None),
    ],
)
def test_defaults_are_canonical_by_column_kind(expression: str | None, kind: str, canonical: str | None) -> None:
    assert default_of(expression, kind) == canonical
