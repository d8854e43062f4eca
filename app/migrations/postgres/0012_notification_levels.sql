-- Each member's notification level for the room: 'all', 'mentions' or 'nothing'. NULL until
-- they choose, which means the default of the room's kind (everything in a direct
-- conversation, mentions in a room), so the default can change without rewriting rows.

ALTER TABLE memberships ADD COLUMN notify TEXT
    CHECK (notify IS NULL OR notify IN ('all', 'mentions', 'nothing'));
