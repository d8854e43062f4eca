-- Rooms, their members, and invitation links to private rooms.

CREATE TABLE rooms (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    topic       TEXT    NOT NULL DEFAULT '',
    visibility  TEXT    NOT NULL CHECK (visibility IN ('public', 'private')),
    -- The owner may delete their account; admins can still manage the room.
    owner_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    -- For a direct conversation: "smaller_user_id:larger_user_id", so opening it again finds
    -- the same room. NULL for ordinary rooms (NULLs never collide in a UNIQUE column).
    direct_key  TEXT    UNIQUE
);

CREATE TABLE memberships (
    room_id    INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at  INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;

CREATE INDEX memberships_by_user ON memberships (user_id, room_id);

-- The token is kept so the owner can copy an active link again. It grants membership of one
-- room until it expires or is revoked.
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    token       TEXT    NOT NULL UNIQUE,
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE INDEX invitations_by_room ON invitations (room_id);
