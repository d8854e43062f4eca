//! The records the store reads and writes: plain data, owned or borrowed, with no behaviour
//! of their own beyond a user's public view. Inputs are the `New*` structs and [`Change`];
//! everything else is what a query returns. They are not wire frames: the services turn
//! them into the protocol's views and frames.

use crate::model::{NotificationLevel, RichText, RoomId, UserId, UserView, Visibility};
use crate::protocol::reactions::Emoji;
use crate::protocol::{ClientId, MessageId, MessageView, Person};

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
    /// The viewer's notification level, if they chose one (members only).
    pub notify: Option<NotificationLevel>,
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
    /// The author's display name and username, for the stored message's view.
    pub author_name: &'a str,
    pub author_username: &'a str,
    pub client_id: &'a ClientId,
    pub body: &'a str,
    /// The body's rendered form, stored beside it.
    pub rich: &'a RichText,
    /// The members it mentions (their mention rows are written with the message).
    pub mentioned: &'a [Person],
    pub now_ms: i64,
    /// The message this one answers; the caller has checked it is in the same room.
    pub reply_to: Option<MessageId>,
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
    /// A new body, with its rendered form and the members it now mentions (the mention rows
    /// are replaced).
    Edit {
        body: &'a str,
        rich: &'a RichText,
        mentioned: &'a [Person],
    },
    /// Empties the body and its form, and drops its mentions: a deleted message's text is
    /// gone from the database.
    Delete,
}

/// One person adding (`on`) or taking back a reaction.
#[derive(Debug, Clone, Copy)]
pub struct Reaction {
    pub user: UserId,
    pub emoji: Emoji,
    pub on: bool,
    /// The most distinct emoji a message may carry: a new emoji beyond it is refused.
    pub emoji_limit: u32,
}

/// What a reaction came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reacted {
    /// It changed the message, taking the room's next number.
    Changed(RoomEvent),
    /// It was already so (a retry, or a second tab): nothing changed, no number was taken.
    Unchanged(MessageView),
    /// The message already carries the most distinct emoji allowed; this would be another.
    TooManyEmoji,
    /// The message does not exist or is deleted.
    Gone,
}

/// The row that describes this instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub created_ms: i64,
    /// Random, written once with the database: what tells two databases apart.
    pub database_id: String,
}
