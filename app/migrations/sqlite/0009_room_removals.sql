-- Who was removed from which room by its managers, and when (the latest removal). An
-- invitation made before someone's removal no longer admits them: a link they kept (or
-- that is still shared among the members) must not bring back the person just removed.
-- One made after it does, since a manager who invites after removing chose to.
--
-- A person who left of their own accord is not recorded: their old link may bring them
-- back. The record goes with the room or the account.

CREATE TABLE room_removals (
    room_id     INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    removed_at  INTEGER NOT NULL,  -- Unix milliseconds
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
