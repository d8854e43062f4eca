//! Revocations: access that ends while sockets hold it, ended on every instance at once.
//!
//! The services call [`Revocations::revoke`] right after the change that ends the access
//! has committed (never inside its transaction): the rooms service when someone leaves, is
//! removed, or a room is deleted; the accounts service on sign-out everywhere and account
//! deletion. It ends the affected subscriptions and sockets on this instance's hub at once,
//! and, when other instances share the store, offers the [`Revocation`] to the bus
//! ([`super::bus`]), which notifies them without waiting for the hints' batch window. Each
//! of them applies it to its own hub with [`Revocations::received`], through the same
//! [`Revocation::apply`], so a socket sees the same frame or close code wherever it is.
//! A single instance on SQLite has no bus: `revoke` acts on the local hub only, as before.
//!
//! It decides nothing about access (the services and the store do) and keeps no log. What
//! bounds a revocation whose notification is lost (the queue to the bus full, every send
//! attempt failing, or another instance's listener down at that moment) is only the
//! affected socket's own end there: a live subscription is not re-checked, but the socket
//! closes on a reload, a network change, a heartbeat timeout or a restart, and every new
//! subscribe, post and request re-checks access and the session against the database. A
//! time bound (a catch-up of revocations, or re-checking live subscriptions) is the
//! security issue's.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::hub::Hub;
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
    /// `user`'s sessions ended (signed out everywhere, or the account was deleted): every
    /// socket of theirs closes.
    Sessions { user: UserId, close: SessionsEnded },
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
    /// whether the change was made on this instance or another.
    pub fn apply(self, hub: &Hub) {
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
            Self::Sessions { user, close } => hub.close_user(user, close.reason()),
        }
    }
}

/// Revocations waiting for the bus; beyond this, new ones reach only this instance (see the
/// module's note on what bounds a lost one).
pub const REVOCATION_QUEUE: usize = 1024;

/// This instance's hub, and the way to the other instances when there are any.
pub struct Revocations {
    hub: Arc<Hub>,
    /// Where revocations are offered to the bus; `None` when no other instance shares the
    /// store.
    others: Option<mpsc::Sender<Revocation>>,
}

impl Revocations {
    pub fn new(hub: Arc<Hub>, others: Option<mpsc::Sender<Revocation>>) -> Self {
        Self { hub, others }
    }

    /// Ends the access here at once and offers the revocation to the other instances.
    /// Call it after the change has committed: an instance told earlier could let a socket
    /// that re-checks access in between see it still granted.
    pub fn revoke(&self, revocation: Revocation) {
        revocation.apply(&self.hub);
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
    pub fn received(&self, revocation: Revocation) {
        revocation.apply(&self.hub);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::hub::{HubLimits, Outbound, RealtimeConfig, Subscription};
    use crate::protocol::{Person, close};

    const ROOM: RoomId = RoomId(7);

    fn hub() -> Arc<Hub> {
        Arc::new(Hub::new(HubLimits::from(&RealtimeConfig::default()), None))
    }

    /// A socket of `user` following `ROOM`.
    fn follower(hub: &Hub, user: i64) -> Subscription {
        let person = Person {
            id: UserId(user),
            username: format!("user{user}"),
            display_name: format!("user {user}"),
        };
        let subscription = hub.connect(person).expect("under the limit");
        hub.follow(subscription.id, ROOM).expect("a free slot");
        subscription
    }

    fn ended_notice(subscription: &mut Subscription) -> serde_json::Value {
        match subscription.outbound.try_recv() {
            Ok(Outbound::Ended { json, .. }) => {
                serde_json::from_slice(json.as_bytes()).expect("a frame")
            }
            other => panic!("expected the subscription's end, got {other:?}"),
        }
    }

    #[test]
    fn a_revocation_ends_the_access_here_and_is_offered_to_the_others() {
        let hub = hub();
        let (others, mut offered) = mpsc::channel(4);
        let revocations = Revocations::new(hub.clone(), Some(others));
        let mut removed = follower(&hub, 1);
        let revocation = Revocation::RoomAccess {
            user: UserId(1),
            room: ROOM,
            reason: UnsubscribeReason::AccessEnded,
        };
        revocations.revoke(revocation);
        assert_eq!(
            ended_notice(&mut removed),
            serde_json::json!({"type": "unsubscribed", "room": 7, "reason": "access_ended"})
        );
        assert_eq!(offered.try_recv().ok(), Some(revocation));
    }

    #[test]
    fn a_received_revocation_is_applied_here_and_not_passed_on() {
        let hub = hub();
        let (others, mut offered) = mpsc::channel(4);
        let revocations = Revocations::new(hub.clone(), Some(others));
        let mut member = follower(&hub, 2);
        revocations.received(Revocation::Room { room: ROOM });
        assert_eq!(ended_notice(&mut member)["reason"], "room_deleted");
        assert!(offered.try_recv().is_err(), "nothing goes back on the bus");
    }

    #[test]
    fn ended_sessions_close_every_socket_of_the_user_with_4003_only() {
        let hub = hub();
        let revocations = Revocations::new(hub.clone(), None);
        let (gone, other) = (follower(&hub, 1), follower(&hub, 2));
        revocations.revoke(Revocation::Sessions {
            user: UserId(1),
            close: SessionsEnded::SignedOut,
        });
        let kicked = *gone.kicked.borrow();
        assert_eq!(kicked.map(|reason| reason.code), Some(close::SESSION_ENDED));
        assert_eq!(*other.kicked.borrow(), None);
    }
}
