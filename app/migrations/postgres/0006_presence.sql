-- Who is present in which room through which instance, so every instance can list the
-- people the others have (see app/src/backend/roster.rs). Presence is ephemeral: both tables
-- are UNLOGGED (no write-ahead log; PostgreSQL empties them after a crash), and every
-- instance writes its own rows again when it finds its heartbeat gone.

-- One row per running instance. An instance moves `expires_at` forward every few seconds;
-- one that stops doing so (killed, cut off) is judged gone on the database's clock, so the
-- instances' own clocks never have to agree.
CREATE UNLOGGED TABLE instance_heartbeats (
    instance    TEXT         PRIMARY KEY,
    expires_at  TIMESTAMPTZ  NOT NULL
);

-- No foreign keys to rooms or users: a row outliving its room or account for a moment is
-- harmless (reads join users, and rooms are asked for by id), and an insert racing a
-- deletion must not fail the whole batch it is in.
CREATE UNLOGGED TABLE room_presence (
    room_id   BIGINT  NOT NULL,
    user_id   BIGINT  NOT NULL,
    instance  TEXT    NOT NULL REFERENCES instance_heartbeats (instance) ON DELETE CASCADE,
    PRIMARY KEY (room_id, user_id, instance)
);

CREATE INDEX room_presence_by_instance ON room_presence (instance);
