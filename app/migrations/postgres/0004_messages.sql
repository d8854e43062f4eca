-- Messages and the log of every change in a room, numbered by the room's counter
-- (`rooms.last_seq`) without gaps, so "everything after N" is a complete, ordered replay.

CREATE TABLE messages (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id      BIGINT  NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    -- The number the message's creation took.
    seq          BIGINT  NOT NULL,
    -- NULL once the author deleted their account: the message stays, as "deleted user".
    author_id    BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    -- The UUID the browser chose; a resend with the same one returns this row.
    client_id    TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    -- The number of the message's latest change; readers keep the copy with the higher one.
    changed_seq  BIGINT  NOT NULL,
    edited_at    BIGINT,
    -- A deleted message keeps its place (and number); its body is emptied.
    deleted_at   BIGINT,
    CONSTRAINT messages_seq_once UNIQUE (room_id, seq),
    -- The store recognises a resend by this constraint's name.
    CONSTRAINT messages_client_id_once UNIQUE (author_id, client_id)
);

-- Which message each number of a room changed: a post, an edit or a delete.
CREATE TABLE room_events (
    room_id     BIGINT  NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq         BIGINT  NOT NULL,
    message_id  BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (room_id, seq)
);

-- room_events cascades from messages; without an index each deleted message would scan it.
CREATE INDEX room_events_by_message ON room_events (message_id);
