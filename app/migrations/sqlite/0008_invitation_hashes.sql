-- Invitation tokens are stored hashed (SHA-256), as session tokens are: a copy of the
-- database invites nobody. The link is shown to its creator once, when it is made.
--
-- SQLite has no SHA-256 function and a migration is plain SQL, so the links made before
-- this migration cannot be hashed here: they are dropped (every one of them stops working;
-- an owner makes a new link in the room's settings). The PostgreSQL migration of the same
-- number hashes them instead, since PostgreSQL can.
--
-- SQLite cannot drop a UNIQUE column, so the table is rebuilt. Nothing references it.

CREATE TABLE invitations_hashed (
    id          INTEGER PRIMARY KEY,
    -- SHA-256 of the token in the link; the token itself is never stored.
    token_hash  BLOB    NOT NULL UNIQUE,
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

DROP TABLE invitations;
ALTER TABLE invitations_hashed RENAME TO invitations;
CREATE INDEX invitations_by_room ON invitations (room_id);
