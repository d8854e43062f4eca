-- Messages, numbered per room by a gapless counter.
--
-- Every change in a room takes the next number of `rooms.last_seq` in the same transaction as
-- the change, so "everything after N" is a complete, ordered replay. A message row records
-- the number its creation took.

ALTER TABLE rooms ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    -- NULL once the author deleted their account: the message stays, as "deleted user".
    author_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    -- The UUID the browser chose; a resend with the same one returns this row.
    client_id   TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (room_id, seq),
    UNIQUE (author_id, client_id)
);
