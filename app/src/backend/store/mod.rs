//! Persistence behind one interface. [`Store`] is what every caller sees; `sqlite` is the
//! embedded default. A PostgreSQL implementation for multi-instance deployments slots in
//! beside it, chosen by the scheme of `DATABASE_URL` in [`open`], without touching callers.

mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use sqlite::SqliteStore;

use crate::model::{RoomId, UserId, UserView, Visibility};
use crate::protocol::{ClientId, MessageId, MessageView};

/// How hard a commit tries to reach the disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// A committed write survives the process being killed (WAL with `synchronous=NORMAL`).
    Process,
    /// A committed write also survives power loss (`synchronous=FULL`), at some cost per commit.
    PowerLoss,
}

/// Everything needed to open the store. It is part of the server's one configuration struct.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct StoreConfig {
    /// Where the data lives. `sqlite://PATH` (relative paths are from the working directory).
    #[arg(long, env = "DATABASE_URL", default_value_t = Self::default().database_url)]
    pub database_url: String,

    /// What a committed write must survive: `process` (a kill) or `power-loss`.
    #[arg(long, env = "SORI_DURABILITY", value_enum, default_value_t = Self::default().durability)]
    pub durability: Durability,

    /// How long a write waits for a lock held by another connection, in milliseconds.
    #[arg(long, env = "SORI_DB_BUSY_TIMEOUT_MS", default_value_t = Self::default().db_busy_timeout_ms)]
    pub db_busy_timeout_ms: u64,

    /// Connections in the database pool.
    #[arg(long, env = "SORI_DB_MAX_CONNECTIONS", default_value_t = Self::default().db_max_connections)]
    pub db_max_connections: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/sori.db".into(),
            durability: Durability::Process,
            db_busy_timeout_ms: 5_000,
            db_max_connections: 8,
        }
    }
}

impl StoreConfig {
    /// A configuration for a database file at `path`, with every other setting at its default.
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        Self {
            database_url: format!("sqlite://{}", path.display()),
            ..Self::default()
        }
    }

    pub fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.db_busy_timeout_ms)
    }
}

/// Why the store could not be opened. Each message says what is wrong and how to fix it,
/// because it is the one line an operator sees before the process exits.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "DATABASE_URL {url:?} is not a valid database URL ({reason}); \
         use sqlite://PATH, for example sqlite://data/sori.db"
    )]
    MalformedUrl { url: String, reason: String },
    #[error(
        "DATABASE_URL {url:?} uses a database this build of Sori does not support; \
         use sqlite://PATH, for example sqlite://data/sori.db"
    )]
    UnsupportedScheme { url: String },
    #[error(
        "cannot create the data directory {}: {source}; \
         fix its permissions or point DATABASE_URL at a writable place",
        path.display()
    )]
    DataDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot open the database {}: {source}; check that the file and its directory \
         are writable by this user",
        path.display()
    )]
    Connect {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot apply the database migrations: {0}; the database may belong to a newer Sori")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A failure of a store operation. Callers map it to a user-facing error; its text goes to
/// the log only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (for example, a username already taken).
    #[error("a record with the same unique key already exists")]
    Conflict,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A user as stored, including the password hash (which never leaves the backend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub created_ms: i64,
}

impl UserRecord {
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            is_admin: self.is_admin,
        }
    }
}

/// A new account. The first one ever created becomes the server admin.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub now_ms: i64,
}

/// A live session: whose it is and when its expiry was last slid forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub refreshed_ms: i64,
    pub expires_ms: i64,
}

/// The SHA-256 of a session token: the only form in which tokens are stored.
pub type TokenHash = [u8; 32];

/// A room as stored, plus what the asking user needs to see it: whether they are a member,
/// and (for a direct conversation) the other person's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    pub id: RoomId,
    pub name: String,
    pub topic: String,
    pub visibility: Visibility,
    pub owner: Option<UserId>,
    pub created_ms: i64,
    pub is_direct: bool,
    pub viewer_is_member: bool,
    /// For a direct conversation: the other member's display name (None once they deleted
    /// their account).
    pub direct_peer: Option<String>,
    /// Messages from others, not deleted, after the viewer's read marker (0 for
    /// non-members). Counted in room lists only; 0 from `Store::room`.
    pub unread: u64,
}

#[derive(Debug, Clone)]
pub struct NewRoom<'a> {
    pub name: &'a str,
    pub topic: &'a str,
    pub visibility: Visibility,
    pub owner: UserId,
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    pub id: i64,
    pub token: String,
    pub room: RoomId,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub revoked: bool,
}

/// A message to store; it takes the room's next `seq` in the same transaction.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub room: RoomId,
    pub author: UserId,
    /// The author's display name, for the stored message's view.
    pub author_name: &'a str,
    pub client_id: &'a ClientId,
    pub body: &'a str,
    pub now_ms: i64,
}

/// The outcome of storing a message: the stored row, and whether this call created it (false
/// when the same author had already sent the same `client_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub message: MessageView,
    pub created: bool,
}

/// One change in a room: the number it took, and the changed message as it is now. A
/// replay sends every change after the client's number, so edits and deletes resume too.
/// The change is a post when `seq` is the message's own number, a later edit or delete
/// otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEvent {
    pub seq: u64,
    pub message: MessageView,
}

/// An edit or a delete of a stored message.
#[derive(Debug, Clone)]
pub enum Change<'a> {
    Edit {
        body: &'a str,
    },
    /// Empties the body: a deleted message's text is gone from the database.
    Delete,
}

/// The row that describes this instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub created_ms: i64,
}

/// The persistence interface. Implementations own their connection pools; every method is
/// one transaction or less, so callers never hold a database lock across their own awaits.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers only if the database does: a cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The instance row, written by the first migration.
    async fn instance(&self) -> Result<Instance, StoreError>;

    /// Creates an account. A username taken in any letter case is [`StoreError::Conflict`].
    /// The first account in the database is made admin, atomically with its creation.
    async fn create_user(&self, user: NewUser<'_>) -> Result<UserRecord, StoreError>;

    /// The user with this username, compared without regard to case.
    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;

    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;

    async fn set_display_name(&self, id: UserId, display_name: &str) -> Result<(), StoreError>;

    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> Result<(), StoreError>;

    /// Deletes the account and, with it, every session.
    async fn delete_user(&self, id: UserId) -> Result<(), StoreError>;

    async fn create_session(
        &self,
        token: &TokenHash,
        user: UserId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError>;

    /// The session with this token, if it has not expired by `now_ms`.
    async fn session(
        &self,
        token: &TokenHash,
        now_ms: i64,
    ) -> Result<Option<SessionRecord>, StoreError>;

    /// Slides a session's expiry forward.
    async fn refresh_session(
        &self,
        token: &TokenHash,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError>;

    async fn delete_session(&self, token: &TokenHash) -> Result<(), StoreError>;

    /// Ends every session of a user except `keep` (if given); returns how many ended.
    async fn delete_sessions_of(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<u64, StoreError>;

    /// Creates a room with its owner as the first member, in one transaction.
    async fn create_room(&self, room: NewRoom<'_>) -> Result<RoomId, StoreError>;

    /// The room, as `viewer` would see it (whether or not they may).
    async fn room(&self, id: RoomId, viewer: UserId) -> Result<Option<RoomRecord>, StoreError>;

    /// Public rooms (not direct conversations) plus every room `viewer` is a member of,
    /// newest first.
    async fn rooms_visible_to(&self, viewer: UserId) -> Result<Vec<RoomRecord>, StoreError>;

    async fn update_room(
        &self,
        id: RoomId,
        name: &str,
        topic: &str,
        visibility: Visibility,
    ) -> Result<(), StoreError>;

    /// Deletes the room with its memberships and invitations.
    async fn delete_room(&self, id: RoomId) -> Result<(), StoreError>;

    /// Makes `user` a member; already being one is fine.
    async fn add_member(&self, room: RoomId, user: UserId, now_ms: i64) -> Result<(), StoreError>;

    async fn remove_member(&self, room: RoomId, user: UserId) -> Result<(), StoreError>;

    /// Members in the order they joined.
    async fn members(&self, room: RoomId) -> Result<Vec<MemberRecord>, StoreError>;

    async fn create_invitation(
        &self,
        room: RoomId,
        token: &str,
        by: UserId,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<InvitationRecord, StoreError>;

    /// Invitations of a room that are neither revoked nor expired at `now_ms`.
    async fn active_invitations(
        &self,
        room: RoomId,
        now_ms: i64,
    ) -> Result<Vec<InvitationRecord>, StoreError>;

    async fn invitation(&self, token: &str) -> Result<Option<InvitationRecord>, StoreError>;

    /// Revokes an invitation of `room`; returns whether one was revoked.
    async fn revoke_invitation(
        &self,
        room: RoomId,
        id: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// The direct conversation between two users, created (private, both members) if it does
    /// not exist yet. Opening it again, from either side, returns the same room.
    async fn direct_room(&self, a: UserId, b: UserId, now_ms: i64) -> Result<RoomId, StoreError>;

    /// Stores a message with the room's next `seq`, both in one transaction. A repeat of
    /// (author, client id) returns the original and consumes no number.
    async fn insert_message(&self, message: NewMessage<'_>) -> Result<Posted, StoreError>;

    async fn message_by_client_id(
        &self,
        author: UserId,
        client_id: &ClientId,
    ) -> Result<Option<MessageView>, StoreError>;

    /// The room's changes with `after_seq < seq < until_seq` (no upper bound when `None`),
    /// oldest first, at most `limit`.
    async fn events_after(
        &self,
        room: RoomId,
        after_seq: u64,
        until_seq: Option<u64>,
        limit: u32,
    ) -> Result<Vec<RoomEvent>, StoreError>;

    async fn message(&self, id: MessageId) -> Result<Option<MessageView>, StoreError>;

    /// Edits or deletes a message, taking its room's next `seq` in the same transaction.
    /// `None` when the message does not exist or is already deleted.
    async fn change_message(
        &self,
        id: MessageId,
        change: Change<'_>,
        now_ms: i64,
    ) -> Result<Option<RoomEvent>, StoreError>;

    /// Moves a member's read marker forward to `seq` (never back, never past the room's
    /// newest change). Does nothing for non-members.
    async fn mark_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<(), StoreError>;

    /// The newest `limit` messages with `seq < before_seq` (all when `None`), oldest first.
    async fn messages_before(
        &self,
        room: RoomId,
        before_seq: Option<u64>,
        limit: u32,
    ) -> Result<Vec<MessageView>, StoreError>;

    /// The room's newest `seq` (0 before its first change).
    async fn last_seq(&self, room: RoomId) -> Result<u64, StoreError>;

    /// Waits for in-flight queries, then closes every connection. Called once at shutdown.
    async fn close(&self);
}

/// Opens the store named by the configuration's URL and applies pending migrations.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>, OpenError> {
    let url = config.database_url.trim();
    let scheme = url.split_once(':').map(|(scheme, _)| scheme);
    match scheme {
        Some("sqlite") => Ok(Arc::new(SqliteStore::open(config).await?)),
        Some("postgres" | "postgresql") => Err(OpenError::UnsupportedScheme { url: url.into() }),
        _ => Err(OpenError::MalformedUrl {
            url: url.into(),
            reason: "it does not start with sqlite://".into(),
        }),
    }
}
