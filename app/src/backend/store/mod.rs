//! Persistence behind one interface. [`Store`] is what every caller holds (as an
//! `Arc<dyn Store>`); it is the sum of one trait per aggregate, [`AccountStore`] (users and
//! their sessions), [`RoomStore`] (rooms, members, invitations, direct conversations),
//! [`MessageStore`] (messages, their changes, read markers), [`MentionStore`] (who was
//! mentioned where) and [`SearchStore`] (finding messages by their words), so each backend
//! file implements
//! one aggregate and a reader finds a contract next to its siblings. `sqlite` is the embedded
//! default; `postgres`, for a deployment of several instances on one database, sits beside it,
//! chosen by the scheme of `DATABASE_URL` in [`open`], without touching callers; the
//! `conformance` suite (tests only) is the one statement of every contract, run against each
//! backend.
//!
//! The store returns records, never wire frames: turning them into what a browser sees is
//! the services' job.

mod config;
#[cfg(test)]
mod conformance;
mod error;
mod postgres;
mod reactions;
mod records;
mod rows;
mod sqlite;

use std::sync::Arc;

pub use config::{Durability, StoreConfig};
pub use error::{OpenError, StoreError};
pub use postgres::{PgStore, scratch};
pub use records::{
    Change, Instance, InvitationRecord, MemberRecord, NewMessage, NewRoom, NewUser, Posted,
    Reacted, Reaction, RoomEvent, RoomRecord, SessionRecord, TokenHash, UserRecord,
};
pub use sqlite::SqliteStore;

use crate::backend::search::SearchQuery;
use crate::model::{NotificationLevel, RoomId, UserId, Visibility};
use crate::protocol::{ClientId, MessageId, MessageView};

/// The persistence interface. Implementations own their connection pools; every method is
/// one transaction or less, so callers never hold a database lock across their own awaits.
///
/// Besides its own methods, which concern the instance as a whole, it requires the three
/// aggregate traits; a `dyn Store` answers all of their methods, so callers name only
/// `Store`.
/// The most rooms one list holds (the navigation's): however many public rooms others make,
/// a page carries a bounded list, and the viewer's own rooms come first so none is pushed out
/// by strangers' (someone in more rooms than this sees their newest).
pub const ROOMS_LISTED: usize = 500;

#[async_trait::async_trait]
pub trait Store:
    AccountStore + RoomStore + MessageStore + MentionStore + SearchStore + Send + Sync + 'static
{
    /// Answers only if the database does: a cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The instance row, written by the first migration.
    async fn instance(&self) -> Result<Instance, StoreError>;

    /// Waits for in-flight queries, then closes every connection. Called once at shutdown.
    async fn close(&self);

    /// The rate limits this store keeps for every instance on it, if it is shared by
    /// several; a store only one process opens (SQLite) has none, and limits stay in memory.
    fn shared_limits(&self) -> Option<&dyn LimitStore> {
        None
    }
}

/// Rate-limit state in the database, so a limit holds for the deployment as a whole:
/// spreading attempts over N instances must not give N times the allowance.
#[async_trait::async_trait]
pub trait LimitStore: Send + Sync {
    /// Reads the keys' arrival times (`None` for a key never charged), asks `decide`, and
    /// stores what it answers, all in one transaction with the keys locked, so two instances
    /// cannot both spend the last allowance. `decide` answers the new arrival times, or how
    /// many seconds to wait (then nothing is written).
    async fn charge_limits(
        &self,
        keys: &[String],
        decide: &(dyn for<'k> Fn(&'k [Option<i64>]) -> Result<Vec<i64>, u64> + Sync),
    ) -> Result<Result<(), u64>, StoreError>;

    /// Forgets the keys whose arrival time has passed by `now_ms`: they limit nothing.
    async fn forget_limits_before(&self, now_ms: i64) -> Result<u64, StoreError>;
}

/// Accounts and the sessions that sign them in.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync {
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

    /// The session with this token, if it has not expired by `now_ms` (its idle lifetime,
    /// slid forward by use) and began after `started_after_ms` (its absolute lifetime,
    /// which no use extends).
    async fn session(
        &self,
        token: &TokenHash,
        now_ms: i64,
        started_after_ms: i64,
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
}

/// Rooms, who belongs to them, the invitation links to private ones, and the direct
/// conversations between two people.
#[async_trait::async_trait]
pub trait RoomStore: Send + Sync {
    /// Creates a room with its owner as the first member, in one transaction.
    async fn create_room(&self, room: NewRoom<'_>) -> Result<RoomId, StoreError>;

    /// The room, as `viewer` would see it (whether or not they may).
    async fn room(&self, id: RoomId, viewer: UserId) -> Result<Option<RoomRecord>, StoreError>;

    /// Public rooms (not direct conversations) plus every room `viewer` is a member of: the
    /// viewer's own first, then newest first, at most [`ROOMS_LISTED`].
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

    /// Ends a membership, as leaving does. Records nothing: see [`RoomStore::expel_member`].
    async fn remove_member(&self, room: RoomId, user: UserId) -> Result<(), StoreError>;

    /// Removes `user` from `room` as its managers do, and records when, in one transaction:
    /// an invitation made before the latest removal no longer admits them ([`RoomStore::removal`]).
    async fn expel_member(&self, room: RoomId, user: UserId, now_ms: i64)
    -> Result<(), StoreError>;

    /// When `user` was last removed from `room` by its managers, if ever (leaving does not
    /// count; the record goes with the room and the account).
    async fn removal(&self, room: RoomId, user: UserId) -> Result<Option<i64>, StoreError>;

    /// Members in the order they joined.
    async fn members(&self, room: RoomId) -> Result<Vec<MemberRecord>, StoreError>;

    /// Stores an invitation by its token's SHA-256; the token itself is never stored.
    async fn create_invitation(
        &self,
        room: RoomId,
        token: &TokenHash,
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

    /// The invitation whose token hashes to `token`, revoked or expired or not.
    async fn invitation(&self, token: &TokenHash) -> Result<Option<InvitationRecord>, StoreError>;

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

    /// The direct conversation between two users, if it exists; creates nothing.
    async fn find_direct_room(&self, a: UserId, b: UserId) -> Result<Option<RoomId>, StoreError>;

    /// Sets `user`'s notification level in `room`; false when they are not a member.
    async fn set_notification_level(
        &self,
        room: RoomId,
        user: UserId,
        level: NotificationLevel,
    ) -> Result<bool, StoreError>;
}

/// Messages and every change to them, numbered per room without gaps, and how far each
/// member has read.
#[async_trait::async_trait]
pub trait MessageStore: Send + Sync {
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

    /// Adds or takes back one person's reaction on a live message. A change takes the
    /// room's next `seq` like an edit, in one transaction; a reaction that is already so
    /// changes nothing and takes no number, so a retry is harmless.
    async fn react(
        &self,
        id: MessageId,
        reaction: Reaction,
        now_ms: i64,
    ) -> Result<Reacted, StoreError>;
}

/// Who was mentioned where: the rows posts and edits write with their messages (see
/// [`NewMessage::mentioned`]), read per person for the navigation's counts and the
/// `/mentions` page. A mention counts for a member of the room only, of a message by someone
/// else that is not deleted; reading the room (its read marker) clears the count.
#[async_trait::async_trait]
pub trait MentionStore: Send + Sync {
    /// Per room `user` is a member of, the mentions of them after their read marker; rooms
    /// with none are left out.
    async fn mention_counts(&self, user: UserId) -> Result<Vec<(RoomId, u64)>, StoreError>;

    /// The newest `limit` messages that mention `user`, in rooms they are a member of,
    /// newest first.
    async fn mentions_of(&self, user: UserId, limit: u32) -> Result<Vec<MessageView>, StoreError>;
}

/// Finding messages by their words. Every post and edit writes the message's search text
/// (`backend::search::search_text`) with it, in the same transaction, and a delete takes it
/// out, so what a search finds is what is stored, never more.
#[async_trait::async_trait]
pub trait SearchStore: Send + Sync {
    /// The newest `limit` messages with an id below `before` (all when `None`) that match
    /// every term of `query` and its filters, newest first, in rooms `viewer` may read
    /// (public rooms and those they are a member of), deleted ones never. A query without
    /// words finds nothing, whatever its filters.
    async fn search_messages(
        &self,
        viewer: UserId,
        query: &SearchQuery,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<MessageView>, StoreError>;

    /// Indexes up to `batch` of the messages stored before the index existed, oldest
    /// first; answers how many (0 once none is left). Safe beside posts, edits and deletes,
    /// and beside another instance doing the same.
    async fn index_pending(&self, batch: u32) -> Result<u64, StoreError>;
}

/// Opens the store named by the configuration's URL and applies pending migrations:
/// `sqlite://` opens [`SqliteStore`], `postgres://` or `postgresql://` opens [`PgStore`].
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>, OpenError> {
    let url = config.database_url.trim();
    let scheme = url.split_once(':').map(|(scheme, _)| scheme);
    match scheme {
        Some("sqlite") => Ok(Arc::new(SqliteStore::open(config).await?)),
        Some("postgres" | "postgresql") => Ok(Arc::new(PgStore::open(config).await?)),
        Some(_) => Err(OpenError::UnsupportedScheme {
            url: error::without_password(url),
        }),
        None => Err(OpenError::MalformedUrl {
            url: error::without_password(url),
            reason: "it does not start with sqlite:// or postgres://".into(),
        }),
    }
}
