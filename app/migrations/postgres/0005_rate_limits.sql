-- Rate limits shared by every instance on this database (GCRA: one theoretical arrival time
-- per key, in Unix ms). A key whose arrival has passed limits nothing and may be deleted.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    arrival BIGINT NOT NULL
);
