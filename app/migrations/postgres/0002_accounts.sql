-- Accounts and their sessions.

CREATE TABLE users (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Shown as typed; unique without regard to case (the index below).
    username       TEXT    NOT NULL,
    display_name   TEXT    NOT NULL,
    -- Argon2id in PHC string format.
    password_hash  TEXT    NOT NULL,
    is_admin       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT  NOT NULL  -- Unix milliseconds
);

-- Under the "C" collation lower() folds A-Z only, as SQLite's NOCASE does, whatever the
-- database's locale (a Turkish one would otherwise fold 'I' to a dotless 'ı'). Lookups by
-- username compare the same expression, so they use this index too.
CREATE UNIQUE INDEX users_username_any_case ON users (lower(username COLLATE "C"));

-- Only the SHA-256 of a session token is stored: a copy of the database signs nobody in.
CREATE TABLE sessions (
    token_hash    BYTEA   PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    BIGINT  NOT NULL,
    -- When the expiry was last slid forward; it is written at most once per refresh interval.
    refreshed_at  BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);
