-- Reactions and replies (#16).
--
-- A reaction is one person's emoji on one message, at most once per (message, person,
-- emoji); the emoji come from a closed set the server checks, so no free text is stored
-- here. Adding or removing one takes the room's next number like an edit (the message's
-- `changed_seq` moves and a `room_events` row records it), so reactions replay on resume.
-- A deleted message loses its reactions with its text.
--
-- A reply records the message it answers by id (the same room only: the server checks).
-- The quote is read with the reply, so it shows the original as it is now ("message
-- deleted" once it is); the original only ever disappears with its room, which takes the
-- reply too, so the reference never dangles.

CREATE TABLE reactions (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  BIGINT  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,  -- Unix milliseconds
    CONSTRAINT reactions_once UNIQUE (message_id, user_id, emoji)
);

-- Deleting an account removes its reactions; without an index each would scan the table.
CREATE INDEX reactions_by_user ON reactions (user_id);

CREATE FUNCTION a_deleted_message_loses_its_reactions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reactions WHERE message_id = NEW.id;
    RETURN NEW;
END;
$$;

CREATE TRIGGER a_deleted_message_loses_its_reactions
AFTER UPDATE OF deleted_at ON messages
FOR EACH ROW WHEN (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL)
EXECUTE FUNCTION a_deleted_message_loses_its_reactions();

ALTER TABLE messages ADD COLUMN reply_to_id BIGINT REFERENCES messages (id) ON DELETE SET NULL;
