-- The one row that describes this Sori instance. Its creation time is when the database was
-- first initialised, which the status page reports.
CREATE TABLE instance (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    created_at  INTEGER NOT NULL  -- Unix milliseconds
);

INSERT INTO instance (id, created_at)
VALUES (1, CAST(unixepoch('subsec') * 1000 AS INTEGER));
