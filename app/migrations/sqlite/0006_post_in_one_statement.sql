-- A post is one INSERT: it takes the room's next number from `rooms.last_seq`, and this
-- trigger moves the counter and records the change, all inside that one statement (so in
-- one transaction, under SQLite's single write lock). A resend that hits the uniqueness
-- rule on (author, client id) inserts nothing, so the trigger does not run and no number
-- is used up.

CREATE TRIGGER a_post_takes_its_number AFTER INSERT ON messages
BEGIN
    UPDATE rooms SET last_seq = NEW.seq WHERE id = NEW.room_id;
    INSERT INTO room_events (room_id, seq, message_id) VALUES (NEW.room_id, NEW.seq, NEW.id);
END;
