-- Markdown and mentions (#16).
--
-- `rich` is a message's rendered form (the JSON of `model::rich::RichText`), made once when it
-- is posted or edited, so reading history never parses. '' reads as the body's plain form:
-- messages from before this migration, and deleted ones (whose body is '' too).
ALTER TABLE messages ADD COLUMN rich TEXT NOT NULL DEFAULT '';

-- Whom each message mentions: members of its room when it was posted or last edited. A
-- member's mention count in a room is the rows of messages by others after their read
-- marker; a deleted message's rows go with its text.
CREATE TABLE message_mentions (
    message_id  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, user_id)
);

-- The counts of the navigation and the /mentions page start from the person.
CREATE INDEX message_mentions_by_user ON message_mentions (user_id, room_id);
