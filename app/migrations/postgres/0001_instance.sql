-- The one row that describes this Sori deployment. Its creation time is when the database was
-- first initialised, which the status page reports. Sign-ups also lock this row, so that
-- "is this the first account?" has one answer however many instances ask at once.
CREATE TABLE instance (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    created_at  BIGINT  NOT NULL  -- Unix milliseconds
);

INSERT INTO instance (id, created_at)
VALUES (1, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
