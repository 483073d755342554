"""A small rental-store schema, as a team that never used echelon-seed would have written it.

Its shape is the one the gate must see whole: an enum (a native type on
PostgreSQL, a `IN (...)` CHECK on SQLite), a domain with a CHECK
(PostgreSQL), a trigger, foreign keys with ON DELETE / ON UPDATE actions and
a deferrable one, table CHECKs, defaults, a unique constraint, varchar
lengths and a numeric precision. `ddl(engine, **changes)` writes it; a
change replaces one fragment, so a SQLite table can be "altered" the way
SQLite itself does it: built again with the new definition and the same rows.
"""

from __future__ import annotations

RATINGS = ("G", "PG", "PG-13", "R", "NC-17")

_POSTGRESQL = """
CREATE TYPE mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');
CREATE DOMAIN year AS integer CONSTRAINT year_check CHECK (VALUE >= 1901 AND VALUE <= 2155);
CREATE TABLE language (
    language_id integer PRIMARY KEY,
    name varchar(20) NOT NULL
);
CREATE TABLE film (
    film_id integer PRIMARY KEY,
    title {title_type} NOT NULL,
    description text{description_default},
    release_year year,
    language_id integer NOT NULL{language_fk},
    rental_rate {rate_type} NOT NULL DEFAULT {rate_default},
    rating mpaa_rating DEFAULT 'G'{film_checks}
);
CREATE TABLE customer (
    customer_id integer PRIMARY KEY,
    email {email_type} NOT NULL{email_unique},
    active boolean NOT NULL DEFAULT true
);
CREATE TABLE rental (
    rental_id integer PRIMARY KEY,
    film_id integer NOT NULL CONSTRAINT rental_film_id_fkey REFERENCES film (film_id) ON DELETE CASCADE,
    customer_id integer NOT NULL CONSTRAINT rental_customer_id_fkey REFERENCES customer (customer_id)
        DEFERRABLE INITIALLY DEFERRED,
    rented_at timestamp NOT NULL,
    returned_at timestamp,
    CONSTRAINT rental_return_after CHECK (returned_at IS NULL OR returned_at >= rented_at)
);
CREATE FUNCTION film_fulltext() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.description := coalesce(NEW.description, NEW.title);
    RETURN NEW;
END $$;
CREATE TRIGGER film_fulltext_trigger BEFORE INSERT OR UPDATE ON film
    FOR EACH ROW EXECUTE FUNCTION film_fulltext();
"""

_SQLITE = """
CREATE TABLE language (
    language_id integer PRIMARY KEY,
    name varchar(20) NOT NULL
);
CREATE TABLE film (
    film_id integer PRIMARY KEY,
    title {title_type} NOT NULL,
    description text{description_default},
    release_year integer CONSTRAINT film_year_check CHECK (release_year >= 1901 AND release_year <= 2155),
    language_id integer NOT NULL{language_fk},
    rental_rate {rate_type} NOT NULL DEFAULT {rate_default},
    rating {rating_type} DEFAULT 'G'{rating_check}{film_checks}
);
CREATE TABLE customer (
    customer_id integer PRIMARY KEY,
    email {email_type} NOT NULL{email_unique},
    active boolean NOT NULL DEFAULT 1
);
CREATE TABLE rental (
    rental_id integer PRIMARY KEY,
    film_id integer NOT NULL CONSTRAINT rental_film_id_fkey REFERENCES film (film_id) ON DELETE CASCADE,
    customer_id integer NOT NULL CONSTRAINT rental_customer_id_fkey REFERENCES customer (customer_id)
        DEFERRABLE INITIALLY DEFERRED,
    rented_at timestamp NOT NULL,
    returned_at timestamp,
    CONSTRAINT rental_return_after CHECK (returned_at IS NULL OR returned_at >= rented_at)
);
CREATE TRIGGER film_fulltext_trigger AFTER INSERT ON film
    FOR EACH ROW WHEN NEW.description IS NULL
    BEGIN UPDATE film SET description = NEW.title WHERE film_id = NEW.film_id; END;
"""

DEFAULTS = {
    "title_type": "varchar(40)",
    "description_default": "",
    "language_fk": (
        " CONSTRAINT film_language_id_fkey REFERENCES language (language_id) ON UPDATE CASCADE ON DELETE RESTRICT"
    ),
    "rate_type": "numeric(4,2)",
    "rate_default": "4.99",
    "film_checks": ",\n    CONSTRAINT film_rental_rate_check CHECK (rental_rate >= 0)",
    "email_type": "varchar(50)",
    "email_unique": " CONSTRAINT customer_email_key UNIQUE",
    # SQLite's enum: a varchar as long as the longest label, and a CHECK (PostgreSQL has mpaa_rating).
    "rating_type": "varchar(5)",
    "rating_check": " CONSTRAINT film_rating_check CHECK (rating IN ('G', 'PG', 'PG-13', 'R', 'NC-17'))",
}

ROWS = """
INSERT INTO language VALUES (1, 'English'), (2, 'Italian');
INSERT INTO film (film_id, title, description, release_year, language_id, rental_rate, rating) VALUES
    (1, 'Academy Dinosaur', 'A epic drama', 2006, 1, 0.99, 'PG'),
    (2, 'Ace Goldfinger', NULL, 2006, 2, 4.99, 'G'),
    (3, 'Adaptation Holes', 'A astounding reflection', 2006, 1, 2.99, 'NC-17');
INSERT INTO customer VALUES (1, 'mary.smith@example.org', true), (2, 'linda.williams@example.org', false);
INSERT INTO rental VALUES
    (1, 1, 1, '2005-05-24 22:53:30', '2005-05-26 22:04:30'),
    (2, 3, 2, '2005-05-24 22:54:33', NULL);
"""


def ddl(engine: str, **changes: str) -> list[str]:
    """The schema's statements on `engine`, with `changes` replacing the named fragments of DEFAULTS."""
    unknown = set(changes) - set(DEFAULTS)
    if unknown:
        raise KeyError(f"no fragment {sorted(unknown)}")
    template = _POSTGRESQL if engine == "postgresql" else _SQLITE
    script = template.format(**{**DEFAULTS, **changes})
    if engine == "postgresql":
        # One statement per entry; the function body holds semicolons, so it is split by hand.
        head, function = script.split("CREATE FUNCTION", 1)
        body, trigger = function.split("END $$;", 1)
        return [*_split(head), "CREATE FUNCTION" + body + "END $$", *_split(trigger)]
    head, trigger = script.split("CREATE TRIGGER", 1)
    return [*_split(head), "CREATE TRIGGER " + trigger.strip().rstrip(";")]


def rows(engine: str) -> list[str]:
    script = ROWS if engine == "postgresql" else ROWS.replace("true)", "1)").replace("false)", "0)")
    return _split(script)


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
