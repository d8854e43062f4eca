-- Edits, deletes and read markers.
--
-- Every change in a room takes the next number of `rooms.last_seq`: a post, an edit, a
-- delete. `room_events` records which message each number changed, so "everything after N"
-- replays every change, gapless, with the message's current state.

CREATE TABLE room_events (
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    message_id  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;

INSERT INTO room_events (room_id, seq, message_id) SELECT room_id, seq, id FROM messages;

-- The number of a message's latest change; readers keep the copy with the higher one.
ALTER TABLE messages ADD COLUMN changed_seq INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET changed_seq = seq;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
-- A deleted message keeps its place (and number); its body is emptied.
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;

-- How far each member has read: messages after it count as unread. Existing members start
-- with everything read, not with the whole history unread.
ALTER TABLE memberships ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;
UPDATE memberships SET read_seq = (SELECT last_seq FROM rooms WHERE rooms.id = memberships.room_id);
