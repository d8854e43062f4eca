//! Revocations: access that ends while sockets hold it, ended on every instance at once.
//!
//! The services call [`Revocations::revoke`] right after the change that ends the access
//! has committed (never inside its transaction): the rooms service when someone leaves, is
//! removed, a room is deleted or made private; the accounts service on sign-out (one
//! session, or everywhere), a password change (every other session) and account deletion.
//! It ends the affected subscriptions and sockets on this instance's hub at once, and,
//! when other instances share the store, offers the [`Revocation`] to the bus
//! ([`super::bus`]), which notifies them without waiting for the hints' batch window. Each
//! of them applies it to its own hub with [`Revocations::received`], through the same
//! [`Revocation::apply`], so a socket sees the same frame or close code wherever it is.
//! A single instance on SQLite has no bus: `revoke` acts on the local hub only, as before.
//!
//! A room made private is the one revocation that needs the database: who loses it are the
//! readers who are not members, and only the store knows the members. Each instance reads
//! them itself, after the change has committed (the notification arrives after it), so a
//! reader who subscribed meanwhile was either refused by its own access check or is found
//! by the read.
//!
//! It decides nothing about access (the services and the store do) and keeps no log. What
//! bounds a revocation whose notification is lost (the queue to the bus full, every send
//! attempt failing, or another instance's listener down at that moment) is only the
//! affected socket's own end there: a live subscription is not re-checked, but the socket
//! closes on a reload, a network change, a heartbeat timeout or a restart, and every new
//! subscribe, fetch, post and request re-checks access and the session against the
//! database, and every socket re-checks its session at each heartbeat (see the `/ws`
//! connection), so a lost sign-out closes the socket within one heartbeat interval.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::hub::Hub;
use super::store::{Store, TokenHash};
use crate::model::{RoomId, UserId};
use crate::protocol::close::Reason;
use crate::protocol::{ServerFrame, UnsubscribeReason};

/// Access that has ended, as it travels between instances. The `scope` tag names the
/// variant on the wire, inside the bus's own envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Revocation {
    /// `user` may no longer read `room` (they left, or were removed): their subscriptions
    /// to it end with `reason`, and the others see them leave.
    RoomAccess {
        user: UserId,
        room: RoomId,
        reason: UnsubscribeReason,
    },
    /// `room` was deleted: every subscription to it ends.
    Room { room: RoomId },
    /// `room` was made private: the subscriptions of everyone who is not a member end with
    /// `access_ended` (the members are read from the store where it is applied).
    Readers { room: RoomId },
    /// `user`'s sessions ended (signed out everywhere, or the account was deleted): every
    /// socket of theirs closes.
    Sessions { user: UserId, close: SessionsEnded },
    /// One session of `user` ended (signed out there): the sockets opened with it close.
    /// The token's hash travels, never the token; the database the bus runs on stores the
    /// same hash, so the notification tells its readers nothing they could not read.
    Session {
        user: UserId,
        #[serde(with = "token_hash_text")]
        session: TokenHash,
    },
    /// Every session of `user` but `keep` ended (the password was changed in `keep`): the
    /// sockets opened with any other session close.
    OtherSessions {
        user: UserId,
        #[serde(with = "token_hash_text")]
        keep: TokenHash,
    },
}

/// Why a user's sockets close, by name: a protocol [`Reason`] is a code and a `'static`
/// text, so the wire names one and each name maps to exactly one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionsEnded {
    /// Close code 4003: the client must not reconnect.
    SignedOut,
}

impl SessionsEnded {
    pub fn reason(self) -> Reason {
        match self {
            Self::SignedOut => Reason::SIGNED_OUT,
        }
    }
}

impl Revocation {
    /// Ends what the revocation names on `hub`: the frames and close codes are the same
    /// whether the change was made on this instance or another. `members` is the room's
    /// members for [`Revocation::Readers`] (ignored otherwise; `None` if they could not be
    /// read, which ends every subscription to the room: see [`Revocations`]).
    pub fn apply(self, hub: &Hub, members: Option<&HashSet<UserId>>) {
        match self {
            Self::RoomAccess { user, room, reason } => {
                hub.revoke_room(user, room, &ServerFrame::Unsubscribed { room, reason });
            }
            Self::Room { room } => {
                let notice = ServerFrame::Unsubscribed {
                    room,
                    reason: UnsubscribeReason::RoomDeleted,
                };
                hub.close_room(room, &notice);
            }
            Self::Readers { room } => {
                let notice = ServerFrame::Unsubscribed {
                    room,
                    reason: UnsubscribeReason::AccessEnded,
                };
                let nobody = HashSet::new();
                hub.revoke_readers(room, members.unwrap_or(&nobody), &notice);
            }
            Self::Sessions { user, close } => hub.close_user(user, close.reason()),
            Self::Session { user, session } => {
                hub.close_session(user, &session, Reason::SIGNED_OUT);
            }
            Self::OtherSessions { user, keep } => {
                hub.close_other_sessions(user, &keep, Reason::SIGNED_OUT);
            }
        }
    }
}

/// Revocations waiting for the bus; beyond this, new ones reach only this instance (see the
/// module's note on what bounds a lost one).
pub const REVOCATION_QUEUE: usize = 1024;

/// How often the members of a room made private are read before giving up, and the pause
/// after each failed read. Given up, every subscription to the room ends (members too):
/// failing closed costs members a resubscription, failing open would keep readers reading.
const MEMBER_READS: u32 = 3;
const MEMBER_READ_RETRY: Duration = Duration::from_millis(200);

/// This instance's hub, and the way to the other instances when there are any.
pub struct Revocations {
    hub: Arc<Hub>,
    /// Where the members of a room made private are read.
    store: Arc<dyn Store>,
    /// Where revocations are offered to the bus; `None` when no other instance shares the
    /// store.
    others: Option<mpsc::Sender<Revocation>>,
}

impl Revocations {
    pub fn new(
        hub: Arc<Hub>,
        store: Arc<dyn Store>,
        others: Option<mpsc::Sender<Revocation>>,
    ) -> Self {
        Self { hub, store, others }
    }

    /// Ends the access here at once and offers the revocation to the other instances.
    /// Call it after the change has committed: an instance told earlier could let a socket
    /// that re-checks access in between see it still granted.
    pub async fn revoke(&self, revocation: Revocation) {
        self.apply(revocation).await;
        let Some(others) = &self.others else {
            return;
        };
        // Never awaited: a service must not wait on the bus. A full queue means the bus
        // has been failing for a while; see the module's note on what bounds this.
        if let Err(error) = others.try_send(revocation) {
            tracing::warn!(%error, ?revocation, "revocation: not offered to the other instances");
        }
    }

    /// Another instance's revocation: applied here only (it is not passed on again).
    /// Called by the bus's listener, which must not wait on the store: a room made private
    /// is applied on a task of its own.
    pub fn received(self: &Arc<Self>, revocation: Revocation) {
        if let Revocation::Readers { .. } = revocation {
            let revocations = self.clone();
            tokio::spawn(async move { revocations.apply(revocation).await });
        } else {
            revocation.apply(&self.hub, None);
        }
    }

    async fn apply(&self, revocation: Revocation) {
        let Revocation::Readers { room } = revocation else {
            return revocation.apply(&self.hub, None);
        };
        let mut attempt = 1;
        let members: Option<HashSet<UserId>> = loop {
            let error = match self.store.members(room).await {
                Ok(members) => break Some(members.into_iter().map(|member| member.id).collect()),
                Err(error) => error,
            };
            if attempt == MEMBER_READS {
                tracing::warn!(%error, %room, "revocation: no members read; all subscriptions end");
                break None;
            }
            tracing::debug!(%error, %room, attempt, "revocation: cannot read the members yet");
            tokio::time::sleep(MEMBER_READ_RETRY * attempt).await;
            attempt += 1;
        };
        revocation.apply(&self.hub, members.as_ref());
    }
}

/// A token hash on the wire as 43 characters of unpadded base64url, not 32 numbers: the
/// bus's payloads stay small.
mod token_hash_text {
    use base64ct::{Base64UrlUnpadded, Encoding};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::backend::store::TokenHash;

    pub fn serialize<S: Serializer>(hash: &TokenHash, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&Base64UrlUnpadded::encode_string(hash))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TokenHash, D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut hash = TokenHash::default();
        let decoded = Base64UrlUnpadded::decode(&text, &mut hash).map_err(D::Error::custom)?;
        if decoded.len() != hash.len() {
            return Err(D::Error::custom("a token hash is 32 bytes"));
        }
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::hub::{HubLimits, Outbound, RealtimeConfig, Subscription};
    use crate::backend::store::{NewRoom, NewUser, SqliteStore, StoreConfig};
    use crate::model::Visibility;
    use crate::protocol::{Person, close};

    const ROOM: RoomId = RoomId(7);

    fn hub() -> Arc<Hub> {
        Arc::new(Hub::new(HubLimits::from(&RealtimeConfig::default()), None))
    }

    /// An empty store in `dir`.
    async fn store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
        let config = StoreConfig::sqlite_file(&dir.path().join("sori.db"));
        Arc::new(SqliteStore::open(&config).await.expect("the store opens"))
    }

    /// A socket of `user`, opened with the session `[session; 32]`.
    fn socket(hub: &Hub, user: i64, session: u8) -> Subscription {
        let person = Person {
            id: UserId(user),
            username: format!("user{user}"),
            display_name: format!("user {user}"),
        };
        hub.connect(person, [session; 32]).expect("under the limit")
    }

    /// A socket of `user` following `room`.
    fn follower_of(hub: &Hub, user: i64, room: RoomId) -> Subscription {
        let subscription = socket(hub, user, 0);
        hub.follow(subscription.id, room).expect("a free slot");
        subscription
    }

    fn follower(hub: &Hub, user: i64) -> Subscription {
        follower_of(hub, user, ROOM)
    }

    fn ended_notice(subscription: &mut Subscription) -> serde_json::Value {
        match subscription.outbound.try_recv() {
            Ok(Outbound::Ended { json, .. }) => {
                serde_json::from_slice(json.as_bytes()).expect("a frame")
            }
            other => panic!("expected the subscription's end, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_revocation_ends_the_access_here_and_is_offered_to_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let hub = hub();
        let (others, mut offered) = mpsc::channel(4);
        let revocations = Revocations::new(hub.clone(), store(&dir).await, Some(others));
        let mut removed = follower(&hub, 1);
        let revocation = Revocation::RoomAccess {
            user: UserId(1),
            room: ROOM,
            reason: UnsubscribeReason::AccessEnded,
        };
        revocations.revoke(revocation).await;
        assert_eq!(
            ended_notice(&mut removed),
            serde_json::json!({"type": "unsubscribed", "room": 7, "reason": "access_ended"})
        );
        assert_eq!(offered.try_recv().ok(), Some(revocation));
    }

    #[tokio::test]
    async fn a_received_revocation_is_applied_here_and_not_passed_on() {
        let dir = tempfile::tempdir().unwrap();
        let hub = hub();
        let (others, mut offered) = mpsc::channel(4);
        let revocations = Arc::new(Revocations::new(
            hub.clone(),
            store(&dir).await,
            Some(others),
        ));
        let mut member = follower(&hub, 2);
        revocations.received(Revocation::Room { room: ROOM });
        assert_eq!(ended_notice(&mut member)["reason"], "room_deleted");
        assert!(offered.try_recv().is_err(), "nothing goes back on the bus");
    }

    #[tokio::test]
    async fn ended_sessions_close_every_socket_of_the_user_with_4003_only() {
        let dir = tempfile::tempdir().unwrap();
        let hub = hub();
        let revocations = Revocations::new(hub.clone(), store(&dir).await, None);
        let (gone, other) = (follower(&hub, 1), follower(&hub, 2));
        revocations
            .revoke(Revocation::Sessions {
                user: UserId(1),
                close: SessionsEnded::SignedOut,
            })
            .await;
        let kicked = *gone.kicked.borrow();
        assert_eq!(kicked.map(|reason| reason.code), Some(close::SESSION_ENDED));
        assert_eq!(*other.kicked.borrow(), None);
    }

    #[tokio::test]
    async fn one_ended_session_closes_its_sockets_and_the_other_sessions_stay() {
        let dir = tempfile::tempdir().unwrap();
        let hub = hub();
        let revocations = Revocations::new(hub.clone(), store(&dir).await, None);
        let (signed_out, elsewhere, third) =
            (socket(&hub, 1, 1), socket(&hub, 1, 2), socket(&hub, 1, 3));
        revocations
            .revoke(Revocation::Session {
                user: UserId(1),
                session: [1; 32],
            })
            .await;
        assert_eq!(*signed_out.kicked.borrow(), Some(Reason::SIGNED_OUT));
        assert_eq!(*elsewhere.kicked.borrow(), None);
        revocations
            .revoke(Revocation::OtherSessions {
                user: UserId(1),
                keep: [2; 32],
            })
            .await;
        assert_eq!(*elsewhere.kicked.borrow(), None, "the session kept");
        assert_eq!(*third.kicked.borrow(), Some(Reason::SIGNED_OUT));
    }

    #[tokio::test]
    async fn a_room_made_private_ends_the_subscriptions_of_those_who_are_not_members() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let mut people = Vec::new();
        for name in ["owner", "reader"] {
            let user = NewUser {
                username: name,
                display_name: name,
                password_hash: "$argon2id$fake",
                now_ms: 1,
            };
            people.push(store.create_user(user).await.unwrap().id);
        }
        let room = NewRoom {
            name: "r",
            topic: "",
            visibility: Visibility::Public,
            owner: people[0],
            now_ms: 1,
        };
        let room = store.create_room(room).await.unwrap();
        let hub = hub();
        let revocations = Arc::new(Revocations::new(hub.clone(), store, None));
        let mut owner = follower_of(&hub, people[0].0, room);
        let mut reader = follower_of(&hub, people[1].0, room);
        // As another instance's notice arrives: applied on a task of its own.
        revocations.received(Revocation::Readers { room });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let notice = loop {
            if let Ok(outbound) = reader.outbound.try_recv() {
                break outbound;
            }
            assert!(tokio::time::Instant::now() < deadline, "never ended");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        assert!(matches!(notice, Outbound::Ended { room: ended, .. } if ended == room));
        assert!(
            owner.outbound.try_recv().is_err(),
            "a member keeps following"
        );
        assert!(hub.is_followed(room));
    }

    #[test]
    fn a_session_revocation_carries_the_hash_as_text_and_reads_back() {
        let revocation = Revocation::Session {
            user: UserId(3),
            session: [0xfe; 32],
        };
        let json = serde_json::to_value(revocation).unwrap();
        assert_eq!(json["scope"], "session");
        assert_eq!(json["session"].as_str().map(str::len), Some(43));
        assert_eq!(
            serde_json::from_value::<Revocation>(json).unwrap(),
            revocation
        );
        let short = serde_json::json!({"scope": "session", "user": 3, "session": "AAAA"});
        assert!(serde_json::from_value::<Revocation>(short).is_err());
    }
}
