-- Accounts and their sessions.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    -- Shown as typed; unique without regard to case. Usernames are ASCII, so NOCASE is exact.
    username       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    display_name   TEXT    NOT NULL,
    -- Argon2id in PHC string format.
    password_hash  TEXT    NOT NULL,
    is_admin       INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at     INTEGER NOT NULL  -- Unix milliseconds
);

-- Only the SHA-256 of a session token is stored: a copy of the database signs nobody in.
CREATE TABLE sessions (
    token_hash    BLOB    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    -- When the expiry was last slid forward; it is written at most once per refresh interval.
    refreshed_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_by_user ON sessions (user_id);
