-- Books, each by one author; a stock count that starts at zero.
CREATE TABLE book (
    book_id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES author (author_id),
    title VARCHAR(200) NOT NULL,
    in_stock INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX book_author ON book (author_id);
