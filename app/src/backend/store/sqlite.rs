//! The embedded SQLite store, Sori's default.
//!
//! The pool runs in WAL mode, so readers never block the writer, with foreign keys enforced
//! and a busy timeout so that concurrent writers wait instead of failing. Migrations are
//! embedded in the binary and applied when the store opens.

use std::str::FromStr;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{
    Change, Durability, Instance, InvitationRecord, MemberRecord, NewMessage, NewRoom, NewUser,
    OpenError, Posted, RoomEvent, RoomRecord, SessionRecord, Store, StoreConfig, StoreError,
    TokenHash, UserRecord,
};
use crate::model::{RoomId, UserId, Visibility};
use crate::protocol::{ClientId, MessageId, MessageView, Person};

/// What `message_from_row` reads, from `messages m` joined with its author `u`.
macro_rules! message_columns {
    () => {
        "m.id, m.room_id, m.seq, m.client_id, m.author_id, u.display_name AS author_name, \
         m.body, m.created_at, m.edited_at, m.deleted_at, m.changed_seq"
    };
}

const MESSAGE_SELECT: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages m LEFT JOIN users u ON u.id = m.author_id"
);

/// A room's changes, each with its message's current state.
const EVENT_SELECT: &str = concat!(
    "SELECT e.seq AS event_seq, ",
    message_columns!(),
    " FROM room_events e JOIN messages m ON m.id = e.message_id \
      LEFT JOIN users u ON u.id = m.author_id"
);

fn event_from_row(row: &SqliteRow) -> Result<RoomEvent, sqlx::Error> {
    Ok(RoomEvent {
        seq: u64::try_from(row.try_get::<i64, _>("event_seq")?).unwrap_or(0),
        message: message_from_row(row)?,
    })
}

fn message_from_row(row: &SqliteRow) -> Result<MessageView, sqlx::Error> {
    let author_id: Option<i64> = row.try_get("author_id")?;
    let author_name: Option<String> = row.try_get("author_name")?;
    let client_id: String = row.try_get("client_id")?;
    Ok(MessageView {
        id: MessageId(row.try_get("id")?),
        room: RoomId(row.try_get("room_id")?),
        seq: u64::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
        // Stored only after `ClientId::parse` accepted it.
        client_id: ClientId::parse(&client_id).ok_or_else(|| {
            sqlx::Error::Decode(format!("stored client id {client_id:?} is not a UUID").into())
        })?,
        author: author_id.zip(author_name).map(|(id, display_name)| Person {
            id: UserId(id),
            display_name,
        }),
        body: row.try_get("body")?,
        created_ms: row.try_get("created_at")?,
        edited_ms: row.try_get("edited_at")?,
        deleted: row.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
        changed_seq: u64::try_from(row.try_get::<i64, _>("changed_seq")?).unwrap_or(0),
    })
}

/// `seq` values are stored as SQLite integers (i64); they never approach 2^63.
fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

const USER_COLUMNS: &str = "id, username, display_name, password_hash, is_admin, created_at";

fn user_from_row(row: &SqliteRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: UserId(row.try_get("id")?),
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        is_admin: row.try_get("is_admin")?,
        created_ms: row.try_get("created_at")?,
    })
}

/// A room with the viewer-specific columns; `?1` is the viewer.
/// What `room_from_row` reads about room `r` for viewer `?1`, but the unread count.
macro_rules! room_columns {
    () => {
        "SELECT r.id, r.name, r.topic, r.visibility, r.owner_id, r.created_at, \
            r.direct_key IS NOT NULL AS is_direct, \
            EXISTS (SELECT 1 FROM memberships m WHERE m.room_id = r.id AND m.user_id = ?1) \
                AS viewer_is_member, \
            (SELECT u.display_name FROM memberships m JOIN users u ON u.id = m.user_id \
                WHERE m.room_id = r.id AND m.user_id != ?1 LIMIT 1) AS direct_peer, "
    };
}

/// One room, for the authorization check every action makes: no unread count, which costs
/// a scan of the messages after the viewer's marker.
const ROOM_SELECT: &str = concat!(room_columns!(), "0 AS unread FROM rooms r");

/// Rooms for the navigation, with the viewer's unread count.
const ROOM_LIST_SELECT: &str = concat!(
    room_columns!(),
    "COALESCE((SELECT COUNT(*) FROM memberships me JOIN messages msg \
        ON msg.room_id = me.room_id AND msg.seq > me.read_seq \
        WHERE me.room_id = r.id AND me.user_id = ?1 AND msg.deleted_at IS NULL \
        AND (msg.author_id IS NULL OR msg.author_id != ?1)), 0) AS unread \
    FROM rooms r"
);

fn room_from_row(row: &SqliteRow) -> Result<RoomRecord, sqlx::Error> {
    let visibility: String = row.try_get("visibility")?;
    Ok(RoomRecord {
        id: RoomId(row.try_get("id")?),
        name: row.try_get("name")?,
        topic: row.try_get("topic")?,
        visibility: if visibility == "private" {
            Visibility::Private
        } else {
            Visibility::Public
        },
        owner: row.try_get::<Option<i64>, _>("owner_id")?.map(UserId),
        created_ms: row.try_get("created_at")?,
        is_direct: row.try_get("is_direct")?,
        viewer_is_member: row.try_get("viewer_is_member")?,
        direct_peer: row.try_get("direct_peer")?,
        unread: u64::try_from(row.try_get::<i64, _>("unread")?).unwrap_or(0),
    })
}

fn invitation_from_row(row: &SqliteRow) -> Result<InvitationRecord, sqlx::Error> {
    Ok(InvitationRecord {
        id: row.try_get("id")?,
        token: row.try_get("token")?,
        room: RoomId(row.try_get("room_id")?),
        created_ms: row.try_get("created_at")?,
        expires_ms: row.try_get("expires_at")?,
        revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
    })
}

const INVITATION_COLUMNS: &str = "id, token, room_id, created_at, expires_at, revoked_at";

/// Turns a violated uniqueness rule into [`StoreError::Conflict`], so callers can tell the
/// user rather than report an internal error.
fn conflict_or(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(error),
    }
}

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(config: &StoreConfig) -> Result<Self, OpenError> {
        let url = config.database_url.trim();
        let options =
            SqliteConnectOptions::from_str(url).map_err(|error| OpenError::MalformedUrl {
                url: url.into(),
                reason: error.to_string(),
            })?;
        let synchronous = match config.durability {
            Durability::Process => SqliteSynchronous::Normal,
            Durability::PowerLoss => SqliteSynchronous::Full,
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            .busy_timeout(config.busy_timeout())
            // Each pooled connection has its own page cache, which every commit by another
            // one invalidates; reading the file through a shared mapping instead of read()
            // calls made that re-reading cheap (profiled in bench/RESULTS.md: posts).
            .pragma("mmap_size", "268435456");

        let path = options.get_filename().to_path_buf();
        let in_memory = path.as_os_str().is_empty() || path.as_os_str() == ":memory:";
        let directory = path
            .parent()
            .filter(|p| !in_memory && !p.as_os_str().is_empty());
        if let Some(directory) = directory {
            std::fs::create_dir_all(directory).map_err(|source| OpenError::DataDirectory {
                path: directory.to_path_buf(),
                source,
            })?;
        }

        let pool = SqlitePoolOptions::new()
            .max_connections(config.db_max_connections.max(1))
            // A connection to a local file does not go stale; the default ping before every
            // acquire was an extra round trip to the connection's thread per query (6 % of
            // rendering the home page).
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|source| OpenError::Connect { path, source })?;
        MIGRATIONS.run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn instance(&self) -> Result<Instance, StoreError> {
        let created_ms: i64 = sqlx::query_scalar("SELECT created_at FROM instance WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(Instance { created_ms })
    }

    async fn create_user(&self, user: NewUser<'_>) -> Result<UserRecord, StoreError> {
        // One statement, so "is this the first user?" and the insert cannot interleave with
        // another sign-up: SQLite runs each write statement alone.
        let sql = format!(
            "INSERT INTO users (username, display_name, password_hash, is_admin, created_at) \
             VALUES (?1, ?2, ?3, NOT EXISTS (SELECT 1 FROM users), ?4) \
             RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(user.username)
            .bind(user.display_name)
            .bind(user.password_hash)
            .bind(user.now_ms)
            .fetch_one(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(user_from_row(&row)?)
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    async fn set_display_name(&self, id: UserId, display_name: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET display_name = ?2 WHERE id = ?1")
            .bind(id.0)
            .bind(display_name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = ?2 WHERE id = ?1")
            .bind(id.0)
            .bind(password_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM users WHERE id = ?1")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_session(
        &self,
        token: &TokenHash,
        user: UserId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, refreshed_at, expires_at) \
             VALUES (?1, ?2, ?3, ?3, ?4)",
        )
        .bind(&token[..])
        .bind(user.0)
        .bind(now_ms)
        .bind(expires_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(
        &self,
        token: &TokenHash,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.password_hash, u.is_admin, u.created_at, \
                    s.refreshed_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        )
        .bind(&token[..])
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            user: user_from_row(&row)?,
            refreshed_ms: row.try_get("refreshed_at")?,
            expires_ms: row.try_get("expires_at")?,
        }))
    }

    async fn refresh_session(
        &self,
        token: &TokenHash,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET refreshed_at = ?2, expires_at = ?3 WHERE token_hash = ?1")
            .bind(&token[..])
            .bind(now_ms)
            .bind(expires_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token: &TokenHash) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?1")
            .bind(&token[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_sessions_of(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError> {
        let keep: &[u8] = keep.map_or(&[], |token| &token[..]);
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = ?1 AND token_hash != ?2")
            .bind(user.0)
            .bind(keep)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn create_room(&self, room: NewRoom<'_>) -> Result<RoomId, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rooms (name, topic, visibility, owner_id, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        )
        .bind(room.name)
        .bind(room.topic)
        .bind(room.visibility.as_str())
        .bind(room.owner.0)
        .bind(room.now_ms)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO memberships (room_id, user_id, joined_at) VALUES (?1, ?2, ?3)")
            .bind(id)
            .bind(room.owner.0)
            .bind(room.now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RoomId(id))
    }

    async fn room(&self, id: RoomId, viewer: UserId) -> Result<Option<RoomRecord>, StoreError> {
        let sql = format!("{ROOM_SELECT} WHERE r.id = ?2");
        let row = sqlx::query(&sql)
            .bind(viewer.0)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(room_from_row).transpose()?)
    }

    async fn rooms_visible_to(&self, viewer: UserId) -> Result<Vec<RoomRecord>, StoreError> {
        let sql = format!(
            "{ROOM_LIST_SELECT} WHERE (r.visibility = 'public' AND r.direct_key IS NULL) \
             OR EXISTS (SELECT 1 FROM memberships m WHERE m.room_id = r.id AND m.user_id = ?1) \
             ORDER BY r.id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(viewer.0)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(room_from_row).collect::<Result<_, _>>()?)
    }

    async fn update_room(
        &self,
        id: RoomId,
        name: &str,
        topic: &str,
        visibility: Visibility,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE rooms SET name = ?2, topic = ?3, visibility = ?4 WHERE id = ?1")
            .bind(id.0)
            .bind(name)
            .bind(topic)
            .bind(visibility.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_room(&self, id: RoomId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rooms WHERE id = ?1")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn add_member(&self, room: RoomId, user: UserId, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            // A new member starts with the history read: unread counts what came after.
            "INSERT INTO memberships (room_id, user_id, joined_at, read_seq) \
             VALUES (?1, ?2, ?3, (SELECT last_seq FROM rooms WHERE id = ?1)) \
             ON CONFLICT DO NOTHING",
        )
        .bind(room.0)
        .bind(user.0)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn remove_member(&self, room: RoomId, user: UserId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM memberships WHERE room_id = ?1 AND user_id = ?2")
            .bind(room.0)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn members(&self, room: RoomId) -> Result<Vec<MemberRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.username, u.display_name FROM memberships m \
             JOIN users u ON u.id = m.user_id WHERE m.room_id = ?1 \
             ORDER BY m.joined_at, u.id",
        )
        .bind(room.0)
        .fetch_all(&self.pool)
        .await?;
        let member = |row: &SqliteRow| -> Result<MemberRecord, sqlx::Error> {
            Ok(MemberRecord {
                id: UserId(row.try_get("id")?),
                username: row.try_get("username")?,
                display_name: row.try_get("display_name")?,
            })
        };
        Ok(rows.iter().map(member).collect::<Result<_, _>>()?)
    }

    async fn create_invitation(
        &self,
        room: RoomId,
        token: &str,
        by: UserId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<InvitationRecord, StoreError> {
        let sql = format!(
            "INSERT INTO invitations (token, room_id, created_by, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING {INVITATION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(token)
            .bind(room.0)
            .bind(by.0)
            .bind(now_ms)
            .bind(expires_ms)
            .fetch_one(&self.pool)
            .await?;
        Ok(invitation_from_row(&row)?)
    }

    async fn active_invitations(
        &self,
        room: RoomId,
        now_ms: i64,
    ) -> Result<Vec<InvitationRecord>, StoreError> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations \
             WHERE room_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 ORDER BY id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(room.0)
            .bind(now_ms)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(invitation_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn invitation(&self, token: &str) -> Result<Option<InvitationRecord>, StoreError> {
        let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE token = ?1");
        let row = sqlx::query(&sql)
            .bind(token)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(invitation_from_row).transpose()?)
    }

    async fn revoke_invitation(
        &self,
        room: RoomId,
        id: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE invitations SET revoked_at = ?3 \
             WHERE id = ?2 AND room_id = ?1 AND revoked_at IS NULL",
        )
        .bind(room.0)
        .bind(id)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn direct_room(&self, a: UserId, b: UserId, now_ms: i64) -> Result<RoomId, StoreError> {
        let key = format!("{}:{}", a.0.min(b.0), a.0.max(b.0));
        // Starts with a write, so the transaction takes the write lock at once instead of
        // upgrading from a read lock (which SQLite may refuse without waiting).
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO rooms (name, topic, visibility, owner_id, created_at, direct_key) \
             VALUES ('', '', 'private', NULL, ?1, ?2) ON CONFLICT (direct_key) DO NOTHING",
        )
        .bind(now_ms)
        .bind(&key)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM rooms WHERE direct_key = ?1")
            .bind(&key)
            .fetch_one(&mut *tx)
            .await?;
        for user in [a, b] {
            sqlx::query(
                "INSERT INTO memberships (room_id, user_id, joined_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(user.0)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(RoomId(id))
    }

    async fn insert_message(&self, message: NewMessage<'_>) -> Result<Posted, StoreError> {
        // One statement, one round trip to the connection's thread: the number comes from
        // the counter, and the trigger of migration 0006 moves the counter and records the
        // event in the same statement. (Several statements in a transaction cost a thread
        // handoff each; that was most of a post's CPU.)
        let inserted = sqlx::query_as::<_, (i64, i64)>(
            "INSERT INTO messages \
                 (room_id, seq, changed_seq, author_id, client_id, body, created_at) \
             SELECT id, last_seq + 1, last_seq + 1, ?2, ?3, ?4, ?5 FROM rooms WHERE id = ?1 \
             ON CONFLICT (author_id, client_id) DO NOTHING RETURNING id, seq",
        )
        .bind(message.room.0)
        .bind(message.author.0)
        .bind(message.client_id.as_str())
        .bind(message.body)
        .bind(message.now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, seq)) = inserted else {
            // A resend (or a room deleted meanwhile): return the original.
            let original = self
                .message_by_client_id(message.author, message.client_id)
                .await?
                .ok_or(StoreError::Conflict)?;
            return Ok(Posted {
                message: original,
                created: false,
            });
        };
        let seq = u64::try_from(seq).unwrap_or(0);
        Ok(Posted {
            message: MessageView {
                id: MessageId(id),
                room: message.room,
                seq,
                client_id: message.client_id.clone(),
                author: Some(Person {
                    id: message.author,
                    display_name: message.author_name.to_owned(),
                }),
                body: message.body.to_owned(),
                created_ms: message.now_ms,
                edited_ms: None,
                deleted: false,
                changed_seq: seq,
            },
            created: true,
        })
    }

    async fn message_by_client_id(
        &self,
        author: UserId,
        client_id: &ClientId,
    ) -> Result<Option<MessageView>, StoreError> {
        let sql = format!("{MESSAGE_SELECT} WHERE m.author_id = ?1 AND m.client_id = ?2");
        let row = sqlx::query(&sql)
            .bind(author.0)
            .bind(client_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(message_from_row).transpose()?)
    }

    async fn events_after(
        &self,
        room: RoomId,
        after_seq: u64,
        until_seq: Option<u64>,
        limit: u32,
    ) -> Result<Vec<RoomEvent>, StoreError> {
        let sql = format!(
            "{EVENT_SELECT} WHERE e.room_id = ?1 AND e.seq > ?2 AND e.seq < ?3 \
             ORDER BY e.seq LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(room.0)
            .bind(seq_param(after_seq))
            .bind(until_seq.map_or(i64::MAX, seq_param))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
    }

    async fn message(&self, id: MessageId) -> Result<Option<MessageView>, StoreError> {
        let sql = format!("{MESSAGE_SELECT} WHERE m.id = ?1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(message_from_row).transpose()?)
    }

    async fn change_message(
        &self,
        id: MessageId,
        change: Change<'_>,
        now_ms: i64,
    ) -> Result<Option<RoomEvent>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The counter first, as for a post: it takes the write lock for the transaction.
        let seq: Option<i64> = sqlx::query_scalar(
            "UPDATE rooms SET last_seq = last_seq + 1 \
             WHERE id = (SELECT room_id FROM messages WHERE id = ?1 AND deleted_at IS NULL) \
             RETURNING last_seq",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(seq) = seq else {
            return Ok(None);
        };
        match change {
            Change::Edit { body } => {
                sqlx::query(
                    "UPDATE messages SET body = ?2, edited_at = ?3, changed_seq = ?4 WHERE id = ?1",
                )
                .bind(id.0)
                .bind(body)
                .bind(now_ms)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            }
            Change::Delete => {
                sqlx::query(
                    "UPDATE messages SET body = '', deleted_at = ?2, changed_seq = ?3 WHERE id = ?1",
                )
                .bind(id.0)
                .bind(now_ms)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query(
            "INSERT INTO room_events (room_id, seq, message_id) \
             SELECT room_id, ?2, id FROM messages WHERE id = ?1",
        )
        .bind(id.0)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        let sql = format!("{MESSAGE_SELECT} WHERE m.id = ?1");
        let row = sqlx::query(&sql).bind(id.0).fetch_one(&mut *tx).await?;
        let message = message_from_row(&row)?;
        tx.commit().await?;
        Ok(Some(RoomEvent {
            seq: u64::try_from(seq).unwrap_or(0),
            message,
        }))
    }

    async fn mark_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE memberships SET read_seq = \
                 MAX(read_seq, MIN(?3, (SELECT last_seq FROM rooms WHERE id = ?1))) \
             WHERE room_id = ?1 AND user_id = ?2",
        )
        .bind(room.0)
        .bind(user.0)
        .bind(seq_param(seq))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn messages_before(
        &self,
        room: RoomId,
        before_seq: Option<u64>,
        limit: u32,
    ) -> Result<Vec<MessageView>, StoreError> {
        let sql = format!(
            "SELECT * FROM ({MESSAGE_SELECT} WHERE m.room_id = ?1 AND m.seq < ?2 \
             ORDER BY m.seq DESC LIMIT ?3) ORDER BY seq"
        );
        let rows = sqlx::query(&sql)
            .bind(room.0)
            .bind(before_seq.map_or(i64::MAX, seq_param))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn last_seq(&self, room: RoomId) -> Result<u64, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM rooms WHERE id = ?1")
            .bind(room.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(seq.and_then(|seq| u64::try_from(seq).ok()).unwrap_or(0))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerFrame;

    async fn open_in(dir: &tempfile::TempDir) -> SqliteStore {
        let config = StoreConfig::sqlite_file(&dir.path().join("nested/data/sori.db"));
        SqliteStore::open(&config).await.expect("the store opens")
    }

    #[tokio::test]
    async fn opening_creates_the_data_directory_and_applies_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        assert!(dir.path().join("nested/data/sori.db").exists());
        assert!(store.instance().await.unwrap().created_ms > 1_600_000_000_000);
    }

    #[tokio::test]
    async fn the_pool_uses_wal_foreign_keys_and_a_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        let busy_timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(foreign_keys, 1);
        assert_eq!(busy_timeout, 5_000);
        assert_eq!(synchronous, 1, "NORMAL is 1");
    }

    #[tokio::test]
    async fn power_loss_durability_sets_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = StoreConfig::sqlite_file(&dir.path().join("sori.db"));
        config.durability = Durability::PowerLoss;
        let store = SqliteStore::open(&config).await.unwrap();
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(synchronous, 2, "FULL is 2");
    }

    #[tokio::test]
    async fn reopening_keeps_the_data_and_skips_applied_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let first = open_in(&dir).await.instance().await.unwrap();
        let again = open_in(&dir).await.instance().await.unwrap();
        assert_eq!(first, again);
    }

    fn new_user<'a>(username: &'a str) -> NewUser<'a> {
        NewUser {
            username,
            display_name: "Someone",
            password_hash: "$argon2id$fake",
            now_ms: 1_000,
        }
    }

    #[tokio::test]
    async fn the_first_user_is_admin_and_later_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let first = store.create_user(new_user("first")).await.unwrap();
        let second = store.create_user(new_user("second")).await.unwrap();
        assert!(first.is_admin);
        assert!(!second.is_admin);
    }

    #[tokio::test]
    async fn usernames_are_unique_without_regard_to_case() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        store.create_user(new_user("minji")).await.unwrap();
        let again = store.create_user(new_user("Minji")).await.unwrap_err();
        assert!(matches!(again, StoreError::Conflict), "{again}");
        let found = store.user_by_username("MINJI").await.unwrap().unwrap();
        assert_eq!(found.username, "minji", "shown as first typed");
    }

    #[tokio::test]
    async fn sessions_expire_and_go_with_their_user() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let user = store.create_user(new_user("minji")).await.unwrap();
        let token = [7u8; 32];
        store
            .create_session(&token, user.id, 1_000, 5_000)
            .await
            .unwrap();
        assert!(store.session(&token, 4_999).await.unwrap().is_some());
        assert!(
            store.session(&token, 5_000).await.unwrap().is_none(),
            "expired"
        );
        store.refresh_session(&token, 4_000, 9_000).await.unwrap();
        assert_eq!(
            store
                .session(&token, 5_000)
                .await
                .unwrap()
                .unwrap()
                .expires_ms,
            9_000
        );
        store.delete_user(user.id).await.unwrap();
        assert!(
            store.session(&token, 5_000).await.unwrap().is_none(),
            "deleted with the user"
        );
    }

    #[tokio::test]
    async fn ending_all_sessions_can_keep_the_current_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let user = store.create_user(new_user("minji")).await.unwrap();
        for token in [[1u8; 32], [2u8; 32], [3u8; 32]] {
            store
                .create_session(&token, user.id, 0, 10_000)
                .await
                .unwrap();
        }
        assert_eq!(
            store
                .delete_sessions_of(user.id, Some(&[1u8; 32]))
                .await
                .unwrap(),
            2
        );
        assert!(store.session(&[1u8; 32], 1).await.unwrap().is_some());
        assert_eq!(store.delete_sessions_of(user.id, None).await.unwrap(), 1);
        assert!(store.session(&[1u8; 32], 1).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_room_starts_with_its_owner_and_private_rooms_are_listed_only_for_members() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let owner = store.create_user(new_user("owner")).await.unwrap().id;
        let other = store.create_user(new_user("other")).await.unwrap().id;
        let room = |name, visibility| NewRoom {
            name,
            topic: "",
            visibility,
            owner,
            now_ms: 1,
        };
        let public = store
            .create_room(room("public", Visibility::Public))
            .await
            .unwrap();
        let private = store
            .create_room(room("private", Visibility::Private))
            .await
            .unwrap();

        let seen_by_owner = store.room(private, owner).await.unwrap().unwrap();
        assert!(seen_by_owner.viewer_is_member);
        let listed: Vec<_> = store
            .rooms_visible_to(other)
            .await
            .unwrap()
            .into_iter()
            .map(|room| room.id)
            .collect();
        assert_eq!(listed, vec![public]);
        assert_eq!(store.rooms_visible_to(owner).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_direct_room_is_found_again_from_either_side() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let a = store.create_user(new_user("alpha")).await.unwrap().id;
        let b = store.create_user(new_user("bravo")).await.unwrap().id;
        let first = store.direct_room(a, b, 1).await.unwrap();
        assert_eq!(store.direct_room(b, a, 2).await.unwrap(), first);
        assert_eq!(store.members(first).await.unwrap().len(), 2);
        let seen = store.room(first, a).await.unwrap().unwrap();
        assert!(seen.is_direct);
        assert_eq!(seen.direct_peer.as_deref(), Some("Someone"));
        assert_eq!(seen.visibility, Visibility::Private);
    }

    #[tokio::test]
    async fn deleting_a_room_takes_its_members_and_invitations() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let owner = store.create_user(new_user("owner")).await.unwrap().id;
        let room = NewRoom {
            name: "r",
            topic: "",
            visibility: Visibility::Private,
            owner,
            now_ms: 1,
        };
        let id = store.create_room(room).await.unwrap();
        store
            .create_invitation(id, "tok", owner, 1, 100)
            .await
            .unwrap();
        store.delete_room(id).await.unwrap();
        assert!(store.room(id, owner).await.unwrap().is_none());
        assert!(store.invitation("tok").await.unwrap().is_none());
        assert!(store.members(id).await.unwrap().is_empty());
    }

    async fn room_with_author(store: &SqliteStore) -> (RoomId, UserId) {
        let author = store.create_user(new_user("author")).await.unwrap().id;
        let room = NewRoom {
            name: "r",
            topic: "",
            visibility: Visibility::Public,
            owner: author,
            now_ms: 1,
        };
        (store.create_room(room).await.unwrap(), author)
    }

    fn hello(room: RoomId, author: UserId, client_id: &ClientId) -> NewMessage<'_> {
        NewMessage {
            room,
            author,
            client_id,
            author_name: "Someone",
            body: "hello",
            now_ms: 5,
        }
    }

    fn client_id(n: u8) -> ClientId {
        ClientId::parse(&format!("00000000-0000-4000-8000-0000000000{n:02x}")).unwrap()
    }

    #[tokio::test]
    async fn messages_take_gapless_numbers_and_a_resend_returns_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let (room, author) = room_with_author(&store).await;
        let (one, two) = (client_id(1), client_id(2));
        let first = store
            .insert_message(hello(room, author, &one))
            .await
            .unwrap();
        let resend = store
            .insert_message(hello(room, author, &one))
            .await
            .unwrap();
        let second = store
            .insert_message(hello(room, author, &two))
            .await
            .unwrap();
        assert!(first.created && !resend.created && second.created);
        assert_eq!(resend.message, first.message);
        assert_eq!(
            (first.message.seq, second.message.seq),
            (1, 2),
            "the resend took no number"
        );
        assert_eq!(store.last_seq(room).await.unwrap(), 2);
        assert_eq!(first.message.author.unwrap().display_name, "Someone");
    }

    #[tokio::test]
    async fn history_pages_by_seq_in_both_directions() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let (room, author) = room_with_author(&store).await;
        for n in 1..=10u8 {
            let id = client_id(n);
            let message = NewMessage {
                room,
                author,
                client_id: &id,
                author_name: "Someone",
                body: "x",
                now_ms: 5,
            };
            store.insert_message(message).await.unwrap();
        }
        let seqs =
            |messages: Vec<MessageView>| -> Vec<u64> { messages.iter().map(|m| m.seq).collect() };
        assert_eq!(
            seqs(store.messages_before(room, None, 3).await.unwrap()),
            [8, 9, 10]
        );
        assert_eq!(
            seqs(store.messages_before(room, Some(8), 3).await.unwrap()),
            [5, 6, 7]
        );
        let events =
            |events: Vec<RoomEvent>| -> Vec<u64> { events.iter().map(|e| e.seq).collect() };
        assert_eq!(
            events(store.events_after(room, 7, None, 100).await.unwrap()),
            [8, 9, 10]
        );
        assert_eq!(
            events(store.events_after(room, 2, Some(5), 100).await.unwrap()),
            [3, 4]
        );
        assert_eq!(
            events(store.events_after(room, 0, None, 2).await.unwrap()),
            [1, 2]
        );
    }

    #[tokio::test]
    async fn edits_and_deletes_take_the_next_number_and_replay_with_the_current_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let (room, author) = room_with_author(&store).await;
        let (one, two) = (client_id(1), client_id(2));
        let first = store
            .insert_message(hello(room, author, &one))
            .await
            .unwrap();
        store
            .insert_message(hello(room, author, &two))
            .await
            .unwrap();
        let id = first.message.id;

        let edit = store
            .change_message(
                id,
                Change::Edit {
                    body: "hello, edited",
                },
                7,
            )
            .await
            .unwrap()
            .expect("the message exists");
        assert_eq!((edit.seq, edit.message.seq), (3, 1));
        assert_eq!(edit.message.edited_ms, Some(7));
        assert_eq!(edit.message.changed_seq, 3);

        let delete = store
            .change_message(id, Change::Delete, 8)
            .await
            .unwrap()
            .expect("the message exists");
        assert_eq!(delete.seq, 4);
        assert!(delete.message.deleted);
        assert_eq!(delete.message.body, "", "the text is gone");
        assert_eq!(
            store.change_message(id, Change::Delete, 9).await.unwrap(),
            None,
            "a deleted message cannot change again"
        );
        assert_eq!(
            store.last_seq(room).await.unwrap(),
            4,
            "no number was used up"
        );

        // Every number replays, each with the message as it is now.
        let replay = store.events_after(room, 0, None, 100).await.unwrap();
        let seqs: Vec<u64> = replay.iter().map(|event| event.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
        // The post's own number replays the message as it is now (deleted); the edit's
        // number, 4, replays it as a change of the message numbered 1.
        assert_eq!(replay[0].message.seq, 1);
        assert!(replay[0].message.deleted);
        assert_eq!((replay[3].seq, replay[3].message.seq), (4, 1));
        let raw: String = sqlx::query_scalar("SELECT body FROM messages WHERE id = ?1")
            .bind(id.0)
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(raw, "");
    }

    async fn unread_of(store: &SqliteStore, room: RoomId, user: UserId) -> u64 {
        let rooms = store.rooms_visible_to(user).await.unwrap();
        rooms
            .into_iter()
            .find(|listed| listed.id == room)
            .unwrap()
            .unread
    }

    #[tokio::test]
    async fn unread_counts_others_messages_after_the_read_marker() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let (room, author) = room_with_author(&store).await;
        store
            .insert_message(hello(room, author, &client_id(1)))
            .await
            .unwrap();
        let reader = store
            .create_user(NewUser {
                username: "reader",
                display_name: "Reader",
                password_hash: "x",
                now_ms: 1,
            })
            .await
            .unwrap()
            .id;
        store.add_member(room, reader, 2).await.unwrap();
        assert_eq!(
            unread_of(&store, room, reader).await,
            0,
            "history before joining is read"
        );
        for n in 2..=4 {
            store
                .insert_message(hello(room, author, &client_id(n)))
                .await
                .unwrap();
        }
        assert_eq!(unread_of(&store, room, reader).await, 3);
        store.mark_read(room, reader, 2).await.unwrap();
        assert_eq!(unread_of(&store, room, reader).await, 2);
        store.mark_read(room, reader, 1).await.unwrap();
        assert_eq!(
            unread_of(&store, room, reader).await,
            2,
            "the marker never moves back"
        );
        store.mark_read(room, reader, 99).await.unwrap();
        assert_eq!(unread_of(&store, room, reader).await, 0);
        assert_eq!(
            unread_of(&store, room, author).await,
            0,
            "one's own messages are never unread"
        );
    }

    #[tokio::test]
    async fn a_deleted_author_leaves_their_messages_without_an_author() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let (room, author) = room_with_author(&store).await;
        let id = client_id(1);
        let message = NewMessage {
            room,
            author,
            client_id: &id,
            author_name: "Someone",
            body: "still here",
            now_ms: 5,
        };
        store.insert_message(message).await.unwrap();
        // The room goes with its owner only if deleted; the owner column is set to NULL.
        store.delete_user(author).await.unwrap();
        let kept = store.messages_before(room, None, 10).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].body, "still here");
        assert_eq!(kept[0].author, None);
    }

    #[tokio::test]
    async fn a_malformed_url_is_reported_as_such() {
        let config = StoreConfig {
            database_url: "sqlite://data/sori.db?mode=sideways".into(),
            ..StoreConfig::sqlite_file(std::path::Path::new("unused"))
        };
        let error = SqliteStore::open(&config).await.err().expect("it fails");
        assert!(matches!(error, OpenError::MalformedUrl { .. }), "{error}");
    }
}
