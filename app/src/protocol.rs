//! The wire protocol of the `/ws` socket: JSON text frames, one closed enum per direction,
//! parsed once at the edge. The browser, the server, the tests and the benchmark all use
//! these types, and every variant has a golden JSON test below, so a change to the wire
//! format is always a visible, deliberate change.
//!
//! Sending is not part of the socket: a message is posted with the `send_message` server
//! function, whose response is the acknowledgement. The socket only delivers: live events,
//! replays after a reconnect (`Subscribe { after_seq }`), and gap fills (`Fetch`).
//!
//! Every change in a room takes the next number of the room's gapless counter, `seq`. A
//! client applies events in `seq` order, remembers the last one per room, and resumes from it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{RichText, RoomId, UserId};

pub mod mention;
pub mod probe;
pub mod reactions;
pub mod replies;
pub mod search;

use reactions::ReactionView;
use replies::ReplyQuote;

pub use mention::MentionView;

/// Sent in [`ServerFrame::Hello`]; a client that does not know it reloads the page.
pub const PROTOCOL_VERSION: u32 = 1;

/// WebSocket close codes Sori uses, each with its meaning for the client.
pub mod close {
    /// The server is restarting: reconnect at once.
    pub const SERVICE_RESTART: u16 = 1012;
    /// A limit was exceeded (too many connections or subscriptions); the reason says which.
    pub const POLICY: u16 = 1008;
    /// A frame was larger than the limit.
    pub const TOO_BIG: u16 = 1009;
    /// The client fell behind the live stream: reconnect and resume from the last `seq`.
    pub const TOO_SLOW: u16 = 4001;
    /// The session ended (signed out, or the account is gone): do not reconnect.
    pub const SESSION_ENDED: u16 = 4003;
    /// The server gave up on a peer that stopped answering its pings.
    pub const GOING_AWAY: u16 = 1001;

    /// Why the server closes a socket: the code and the text of its close frame. The hub's
    /// kicks and the socket's own endings are both one of these, so a close is spelled once.
    ///
    /// The texts are part of the protocol: tests and logs compare them byte for byte, and
    /// the browser decides on the code alone.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Reason {
        pub code: u16,
        pub text: &'static str,
    }

    impl Reason {
        /// The server is shutting down; the client reconnects at once.
        pub const RESTARTING: Self = Self {
            code: SERVICE_RESTART,
            text: "server restarting",
        };
        /// The connection's outbound queue overflowed; the client resumes from its last `seq`.
        pub const TOO_SLOW: Self = Self {
            code: self::TOO_SLOW,
            text: "too slow; resume",
        };
        /// The user's sessions ended; the client must not reconnect.
        pub const SIGNED_OUT: Self = Self {
            code: SESSION_ENDED,
            text: "signed out",
        };
        /// The socket's session expired or was ended elsewhere; the client must not
        /// reconnect (it is signed out).
        pub const SESSION_EXPIRED: Self = Self {
            code: SESSION_ENDED,
            text: "session expired",
        };
        /// Two heartbeat intervals passed without a word from the peer.
        pub const HEARTBEAT_TIMEOUT: Self = Self {
            code: GOING_AWAY,
            text: "heartbeat timeout",
        };
        pub const TOO_MANY_CONNECTIONS: Self = Self {
            code: POLICY,
            text: "too many connections",
        };
        pub const TOO_MANY_SUBSCRIPTIONS: Self = Self {
            code: POLICY,
            text: "too many subscriptions",
        };
        pub const TOO_MANY_MALFORMED_FRAMES: Self = Self {
            code: POLICY,
            text: "too many malformed frames",
        };
        pub const FRAME_TOO_LARGE: Self = Self {
            code: TOO_BIG,
            text: "frame too large",
        };
        /// The socket sent frames faster than its budget (`SORI_FRAMES_PER_SECOND`).
        pub const TOO_MANY_FRAMES: Self = Self {
            code: POLICY,
            text: "too many frames",
        };
    }
}

/// A message's id, unique across rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub i64);

/// The id the browser gives a message before sending it (a UUID). A resend with the same id
/// returns the original message instead of creating a second one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// Accepts the canonical hyphenated UUID form, any version, in either case.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let hyphens = [8, 13, 18, 23];
        let valid = bytes.len() == 36
            && bytes.iter().enumerate().all(|(index, byte)| {
                if hyphens.contains(&index) {
                    *byte == b'-'
                } else {
                    byte.is_ascii_hexdigit()
                }
            });
        valid.then(|| Self(text.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Someone in a room: a message's author (`None` in [`MessageView::author`] once the
/// account is deleted), a name in the "Online" list, someone typing. Display names need not
/// be unique, so the unique `username` comes along for the places that tell people apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Person {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
}

/// A message as every client sees it, in its current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: MessageId,
    pub room: RoomId,
    /// The number its posting took: its place in the room's order.
    pub seq: u64,
    pub client_id: ClientId,
    pub author: Option<Person>,
    /// Empty once deleted: the text is gone from the database too.
    pub body: String,
    pub created_ms: i64,
    /// When it was last edited, if ever.
    pub edited_ms: Option<i64>,
    pub deleted: bool,
    /// The number of its latest change (its `seq` until edited or deleted). Of two copies
    /// of one message, the one with the higher `changed_seq` is the newer.
    pub changed_seq: u64,
    /// Its reactions, one per emoji in the order each emoji was first used (none once
    /// deleted). Adding or removing one is a change: it takes a `seq` like an edit.
    pub reactions: Vec<ReactionView>,
    /// The message this one answers (in the same room), as that message is now. Boxed: most
    /// messages are no replies, and every message view would otherwise carry its room.
    pub reply_to: Option<Box<ReplyQuote>>,
    /// The body's rendered form, made by the server from the Markdown source when it was
    /// posted or edited (`body` stays the source, for editing). Empty once deleted, and in
    /// the sender's own copy until the server's arrives.
    #[serde(default)]
    pub rich: RichText,
    /// Whom the message mentions: members of the room when it was posted or edited, by id,
    /// each once.
    #[serde(default)]
    pub mentions: Vec<UserId>,
    /// The people of `mentions` as they are named now (read with the message, so a mention
    /// shows a renamed person's new name). Someone whose account is gone is missing here.
    #[serde(default)]
    pub mentioned: Vec<Person>,
}

impl MessageView {
    /// Whether `self` is at least as new as `other` (a copy of the same message).
    pub fn supersedes(&self, other: &MessageView) -> bool {
        self.changed_seq >= other.changed_seq
    }
}

/// The acknowledgement of a post: sent only after the message is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub id: MessageId,
    pub seq: u64,
    pub client_id: ClientId,
}

/// A page of a room's history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// Shared, not owned: a page is cloned on its way from the resource to the feed and the
    /// timeline, and a clone of fifty messages' texts and forms was a measurable part of
    /// rendering the room page.
    pub messages: Vec<Arc<MessageView>>,
    /// Whether older messages exist before the first one here.
    pub has_more: bool,
    /// The room's newest `seq` when the page was read: subscribe after it.
    pub last_seq: u64,
}

/// Frames the browser sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Start receiving a room's events. With `after_seq`, first replay everything after it.
    /// A `quiet` subscription follows the room for its unread count only: it does not make
    /// the user present (online) in the room and gets no presence frames. Subscribing again
    /// to the same room changes the mode.
    Subscribe {
        room: RoomId,
        after_seq: Option<u64>,
        #[serde(default)]
        quiet: bool,
    },
    Unsubscribe {
        room: RoomId,
    },
    /// Fill a gap: the events with `after_seq < seq < until_seq`.
    Fetch {
        room: RoomId,
        after_seq: u64,
        until_seq: u64,
    },
    /// The user is typing in `room` (the browser sends at most one every few seconds).
    Typing {
        room: RoomId,
    },
}

/// Frames the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The first frame on every socket.
    Hello {
        protocol: u32,
        user: UserId,
        /// How often the server pings; a client that hears nothing for two of these
        /// reconnects.
        heartbeat_ms: u64,
    },
    /// The subscription is live; `last_seq` is the room's newest change (any replay that
    /// was asked for has already been sent).
    Subscribed { room: RoomId, last_seq: u64 },
    /// A new message, live or replayed (its `seq` is the event's number).
    Message { message: MessageView },
    /// An earlier message was edited or deleted; `seq` is the number this change took, and
    /// `message` the message's state after it.
    Changed { seq: u64, message: MessageView },
    /// Who is online in the room: sent once after `Subscribed`, then kept up to date by
    /// `Joined` and `Left`. Presence is ephemeral: it takes no `seq`.
    Presence { room: RoomId, online: Vec<Person> },
    /// Someone's first socket subscribed to the room.
    Joined { room: RoomId, person: Person },
    /// Someone's last subscription to the room ended (after a grace period, so a reload
    /// does not flap).
    Left { room: RoomId, person: Person },
    /// Someone started (`typing: true`) or stopped typing: they posted, or their signals
    /// stopped and it expired.
    Typing {
        room: RoomId,
        person: Person,
        typing: bool,
    },
    /// The gap since the client's `after_seq` is too large to replay over the socket: load
    /// the latest history through the server function, then subscribe from there.
    Refetch { room: RoomId, last_seq: u64 },
    /// The subscription ended without the client asking.
    Unsubscribed {
        room: RoomId,
        reason: UnsubscribeReason,
    },
    /// A frame from the client was refused; the socket stays open (unless repeated).
    Error { error: ProtocolError },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsubscribeReason {
    /// The user was removed from the room (or lost access to it otherwise).
    AccessEnded,
    /// The user left the room (in this tab or another).
    Left,
    /// The room was deleted.
    RoomDeleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ProtocolError {
    /// Not a frame this protocol knows.
    #[error("malformed frame: {detail}")]
    Malformed { detail: String },
    /// The room does not exist or the user may not read it (indistinguishable on purpose).
    #[error("room {room} not found")]
    NotFound { room: RoomId },
    /// The connection already has the maximum number of subscriptions.
    #[error("at most {limit} subscriptions per connection")]
    TooManySubscriptions { limit: usize },
    /// A `Fetch` for more events than one answer carries.
    #[error("at most {limit} events per fetch")]
    RangeTooLarge { limit: u64 },
    /// The server could not read the room's history just now: for a `Subscribe`, the
    /// subscription did not start (the browser tries again later); for a `Fetch`, the gap
    /// is still open.
    #[error("the server could not load the history of room {room}")]
    Unavailable { room: RoomId },
}

impl ServerFrame {
    /// The room event's number, for frames that carry one.
    pub fn event_seq(&self) -> Option<u64> {
        match self {
            ServerFrame::Message { message } => Some(message.seq),
            ServerFrame::Changed { seq, .. } => Some(*seq),
            _ => None,
        }
    }

    /// The frame as the JSON text sent on the wire.
    pub fn to_json(&self) -> String {
        // Serialising these plain data types cannot fail: no maps with non-string keys, no
        // custom serialisers that return errors.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn client_id() -> ClientId {
        ClientId::parse("0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e70").unwrap()
    }

    fn message() -> MessageView {
        MessageView {
            id: MessageId(42),
            room: RoomId(7),
            seq: 3,
            client_id: client_id(),
            author: Some(Person {
                id: UserId(1),
                username: "minji".into(),
                display_name: "김민지".into(),
            }),
            body: "안녕하세요 <b>hi</b>".into(),
            created_ms: 1_700_000_000_000,
            edited_ms: None,
            deleted: false,
            changed_seq: 3,
            reactions: Vec::new(),
            reply_to: None,
            rich: RichText::plain("안녕하세요 <b>hi</b>"),
            mentions: Vec::new(),
            mentioned: Vec::new(),
        }
    }

    /// Serialises `value`, compares it with the golden JSON, and parses the JSON back.
    fn golden<T>(value: T, expected: Value)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        assert_eq!(serde_json::to_value(&value).unwrap(), expected);
        assert_eq!(serde_json::from_value::<T>(expected).unwrap(), value);
    }

    #[test]
    fn client_subscribe_frames() {
        golden(
            ClientFrame::Subscribe {
                room: RoomId(7),
                after_seq: Some(12),
                quiet: false,
            },
            json!({"type": "subscribe", "room": 7, "after_seq": 12, "quiet": false}),
        );
        golden(
            ClientFrame::Subscribe {
                room: RoomId(7),
                after_seq: None,
                quiet: true,
            },
            json!({"type": "subscribe", "room": 7, "after_seq": null, "quiet": true}),
        );
        // Older clients leave it out: a full subscription.
        let without: ClientFrame =
            serde_json::from_value(json!({"type": "subscribe", "room": 7, "after_seq": 1}))
                .unwrap();
        assert!(matches!(
            without,
            ClientFrame::Subscribe { quiet: false, .. }
        ));
    }

    #[test]
    fn client_unsubscribe_frame() {
        golden(
            ClientFrame::Unsubscribe { room: RoomId(7) },
            json!({"type": "unsubscribe", "room": 7}),
        );
    }

    #[test]
    fn client_fetch_frame() {
        golden(
            ClientFrame::Fetch {
                room: RoomId(7),
                after_seq: 3,
                until_seq: 9,
            },
            json!({"type": "fetch", "room": 7, "after_seq": 3, "until_seq": 9}),
        );
    }

    #[test]
    fn server_hello_frame() {
        golden(
            ServerFrame::Hello {
                protocol: PROTOCOL_VERSION,
                user: UserId(1),
                heartbeat_ms: 20_000,
            },
            json!({"type": "hello", "protocol": 1, "user": 1, "heartbeat_ms": 20000}),
        );
    }

    #[test]
    fn server_subscribed_frame() {
        golden(
            ServerFrame::Subscribed {
                room: RoomId(7),
                last_seq: 3,
            },
            json!({"type": "subscribed", "room": 7, "last_seq": 3}),
        );
    }

    #[test]
    fn server_message_frame() {
        golden(
            ServerFrame::Message { message: message() },
            json!({
                "type": "message",
                "message": {
                    "id": 42,
                    "room": 7,
                    "seq": 3,
                    "client_id": "0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e70",
                    "author": {"id": 1, "username": "minji", "display_name": "김민지"},
                    "body": "안녕하세요 <b>hi</b>",
                    "created_ms": 1_700_000_000_000i64,
                    "edited_ms": null,
                    "deleted": false,
                    "changed_seq": 3,
                    "reactions": [],
                    "reply_to": null,
                    "rich": [["p", ["안녕하세요 <b>hi</b>"]]],
                    "mentions": [],
                    "mentioned": []
                }
            }),
        );
        let deleted_author = MessageView {
            author: None,
            ..message()
        };
        let value = serde_json::to_value(ServerFrame::Message {
            message: deleted_author,
        })
        .unwrap();
        assert_eq!(value["message"]["author"], Value::Null);
    }

    #[test]
    fn server_changed_frames() {
        let edited = MessageView {
            body: "고쳤어요 @minji".into(),
            rich: RichText {
                blocks: vec![crate::model::rich::Block::Paragraph {
                    inlines: vec![
                        crate::model::rich::Inline::Text {
                            text: "고쳤어요 ".into(),
                        },
                        crate::model::rich::Inline::Mention { user: UserId(1) },
                    ],
                }],
            },
            mentions: vec![UserId(1)],
            mentioned: vec![Person {
                id: UserId(1),
                username: "minji".into(),
                display_name: "김민지".into(),
            }],
            edited_ms: Some(1_700_000_060_000),
            changed_seq: 5,
            reactions: vec![ReactionView {
                emoji: "👍".into(),
                count: 1,
                people: vec![Person {
                    id: UserId(2),
                    username: "bo".into(),
                    display_name: "Bo".into(),
                }],
            }],
            reply_to: Some(Box::new(ReplyQuote {
                id: MessageId(41),
                seq: 2,
                author: None,
                excerpt: "원래 메시지".into(),
                deleted: false,
            })),
            ..message()
        };
        golden(
            ServerFrame::Changed {
                seq: 5,
                message: edited,
            },
            json!({
                "type": "changed",
                "seq": 5,
                "message": {
                    "id": 42, "room": 7, "seq": 3,
                    "client_id": "0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e70",
                    "author": {"id": 1, "username": "minji", "display_name": "김민지"},
                    "body": "고쳤어요 @minji",
                    "created_ms": 1_700_000_000_000i64,
                    "edited_ms": 1_700_000_060_000i64,
                    "deleted": false,
                    "changed_seq": 5,
                    "reactions": [{
                        "emoji": "👍",
                        "count": 1,
                        "people": [{"id": 2, "username": "bo", "display_name": "Bo"}]
                    }],
                    "reply_to": {
                        "id": 41, "seq": 2,
                        "author": null,
                        "excerpt": "원래 메시지",
                        "deleted": false
                    },
                    "rich": [["p", ["고쳤어요 ", ["@", 1]]]],
                    "mentions": [1],
                    "mentioned": [{"id": 1, "username": "minji", "display_name": "김민지"}]
                }
            }),
        );
        let deleted = MessageView {
            body: String::new(),
            rich: RichText::default(),
            deleted: true,
            changed_seq: 6,
            ..message()
        };
        let frame = ServerFrame::Changed {
            seq: 6,
            message: deleted,
        };
        assert_eq!(frame.event_seq(), Some(6));
        let value = serde_json::to_value(&frame).unwrap();
        assert_eq!(value["message"]["deleted"], true);
        assert_eq!(value["message"]["body"], "");
        assert_eq!(value["message"]["rich"], json!([]));
    }

    #[test]
    fn server_presence_frames() {
        let minji = Person {
            id: UserId(1),
            username: "minji".into(),
            display_name: "김민지".into(),
        };
        let person = json!({"id": 1, "username": "minji", "display_name": "김민지"});
        golden(
            ServerFrame::Presence {
                room: RoomId(7),
                online: vec![minji.clone()],
            },
            json!({"type": "presence", "room": 7, "online": [person]}),
        );
        golden(
            ServerFrame::Joined {
                room: RoomId(7),
                person: minji.clone(),
            },
            json!({"type": "joined", "room": 7, "person": person}),
        );
        golden(
            ServerFrame::Left {
                room: RoomId(7),
                person: minji.clone(),
            },
            json!({"type": "left", "room": 7, "person": person}),
        );
        golden(
            ServerFrame::Typing {
                room: RoomId(7),
                person: minji,
                typing: true,
            },
            json!({"type": "typing", "room": 7, "person": person, "typing": true}),
        );
    }

    #[test]
    fn client_typing_frame() {
        golden(
            ClientFrame::Typing { room: RoomId(7) },
            json!({"type": "typing", "room": 7}),
        );
    }

    #[test]
    fn server_refetch_frame() {
        golden(
            ServerFrame::Refetch {
                room: RoomId(7),
                last_seq: 900,
            },
            json!({"type": "refetch", "room": 7, "last_seq": 900}),
        );
    }

    #[test]
    fn server_unsubscribed_frames() {
        golden(
            ServerFrame::Unsubscribed {
                room: RoomId(7),
                reason: UnsubscribeReason::AccessEnded,
            },
            json!({"type": "unsubscribed", "room": 7, "reason": "access_ended"}),
        );
        golden(
            ServerFrame::Unsubscribed {
                room: RoomId(7),
                reason: UnsubscribeReason::RoomDeleted,
            },
            json!({"type": "unsubscribed", "room": 7, "reason": "room_deleted"}),
        );
        golden(
            ServerFrame::Unsubscribed {
                room: RoomId(7),
                reason: UnsubscribeReason::Left,
            },
            json!({"type": "unsubscribed", "room": 7, "reason": "left"}),
        );
    }

    #[test]
    fn server_error_frames() {
        let cases = [
            (
                ProtocolError::Malformed {
                    detail: "expected value".into(),
                },
                json!({"code": "malformed", "detail": "expected value"}),
            ),
            (
                ProtocolError::NotFound { room: RoomId(9) },
                json!({"code": "not_found", "room": 9}),
            ),
            (
                ProtocolError::TooManySubscriptions { limit: 50 },
                json!({"code": "too_many_subscriptions", "limit": 50}),
            ),
            (
                ProtocolError::RangeTooLarge { limit: 500 },
                json!({"code": "range_too_large", "limit": 500}),
            ),
            (
                ProtocolError::Unavailable { room: RoomId(7) },
                json!({"code": "unavailable", "room": 7}),
            ),
        ];
        for (error, expected) in cases {
            golden(
                ServerFrame::Error { error },
                json!({"type": "error", "error": expected}),
            );
        }
    }

    #[test]
    fn ack_carries_id_seq_and_client_id() {
        golden(
            Ack {
                id: MessageId(42),
                seq: 3,
                client_id: client_id(),
            },
            json!({"id": 42, "seq": 3, "client_id": "0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e70"}),
        );
    }

    #[test]
    fn unknown_frames_are_refused() {
        let unknown = serde_json::from_str::<ClientFrame>(r#"{"type":"shout","room":1}"#);
        assert!(unknown.is_err());
        let missing = serde_json::from_str::<ClientFrame>(r#"{"type":"subscribe"}"#);
        assert!(missing.is_err());
    }

    #[test]
    fn client_ids_are_canonical_uuids() {
        let upper = ClientId::parse("0B8E6A3E-5F1C-4C35-9A2B-2F4B8C1D9E70").unwrap();
        assert_eq!(upper, client_id(), "case-folded");
        for bad in [
            "",
            "not-a-uuid",
            "0b8e6a3e5f1c4c359a2b2f4b8c1d9e70",
            "0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e7g",
        ] {
            assert!(ClientId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn every_close_reason_keeps_its_code_and_text() {
        use close::Reason;
        let reasons = [
            (Reason::RESTARTING, 1012, "server restarting"),
            (Reason::TOO_SLOW, 4001, "too slow; resume"),
            (Reason::SIGNED_OUT, 4003, "signed out"),
            (Reason::SESSION_EXPIRED, 4003, "session expired"),
            (Reason::HEARTBEAT_TIMEOUT, 1001, "heartbeat timeout"),
            (Reason::TOO_MANY_CONNECTIONS, 1008, "too many connections"),
            (
                Reason::TOO_MANY_SUBSCRIPTIONS,
                1008,
                "too many subscriptions",
            ),
            (
                Reason::TOO_MANY_MALFORMED_FRAMES,
                1008,
                "too many malformed frames",
            ),
            (Reason::FRAME_TOO_LARGE, 1009, "frame too large"),
            (Reason::TOO_MANY_FRAMES, 1008, "too many frames"),
        ];
        for (reason, code, text) in reasons {
            assert_eq!((reason.code, reason.text), (code, text));
        }
    }
}
