-- The public rooms, in id order: the room list walks it newest first and stops at its
-- limit, without reading the private rooms and direct conversations in between.

CREATE INDEX rooms_public ON rooms (id) WHERE visibility = 'public' AND direct_key IS NULL;
