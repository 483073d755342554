-- The first release: authors.
CREATE TABLE author (
    author_id INTEGER PRIMARY KEY,
    name VARCHAR(80) NOT NULL,
    status VARCHAR(10) NOT NULL DEFAULT 'active'
);
