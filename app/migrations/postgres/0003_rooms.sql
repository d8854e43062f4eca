-- Rooms, their members, and invitation links to private rooms.

CREATE TABLE rooms (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT    NOT NULL,
    topic       TEXT    NOT NULL DEFAULT '',
    visibility  TEXT    NOT NULL CHECK (visibility IN ('public', 'private')),
    -- The owner may delete their account; admins can still manage the room.
    owner_id    BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at  BIGINT  NOT NULL,
    -- For a direct conversation: "smaller_user_id:larger_user_id", so opening it again finds
    -- the same room. NULL for ordinary rooms (NULLs never collide in a UNIQUE column).
    direct_key  TEXT    UNIQUE,
    -- The room's counter: every change in the room (a post, an edit, a delete) takes the next
    -- number in the same transaction as the change, holding this row's lock until it commits.
    -- See app/src/backend/store/postgres/messages.rs for why a row lock and not a sequence.
    last_seq    BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE memberships (
    room_id    BIGINT  NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at  BIGINT  NOT NULL,
    -- How far the member has read: messages after it count as unread.
    read_seq   BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);

CREATE INDEX memberships_by_user ON memberships (user_id, room_id);

-- The token is kept so the owner can copy an active link again. It grants membership of one
-- room until it expires or is revoked.
CREATE TABLE invitations (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token       TEXT    NOT NULL UNIQUE,
    room_id     BIGINT  NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    created_by  BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    revoked_at  BIGINT
);

CREATE INDEX invitations_by_room ON invitations (room_id);
