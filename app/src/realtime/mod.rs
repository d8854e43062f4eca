//! The browser's side of real-time chat: one socket per tab ([`Realtime`]), the messages of
//! each room it follows ([`RoomFeed`]), and the outbox of posts not yet acknowledged.
//!
//! The delivery contract, from this side:
//! - every post gets a UUID `client_id` and waits in the outbox (kept in `localStorage`, so
//!   it survives reloads and going offline) until the server acknowledges it; it is resent
//!   with the same id, so a retry never duplicates;
//! - received messages are keyed by `seq` (and so de-duplicated); the feed remembers the
//!   last contiguous `seq`, resumes from it after a reconnect, and asks for any range it sees
//!   skipped.
//!
//! This module holds the state and the decisions, and compiles for both targets; `browser`
//! is the one place that touches the socket, timers and storage (it does nothing on the
//! server, where there is no socket).

mod browser;

pub use browser::local_time;

use std::collections::{BTreeMap, HashMap};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{RoomId, UserView};
use crate::protocol::{ClientFrame, MessageView, UnsubscribeReason};

/// What the "Connection" status shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    Connecting,
    Connected,
    Reconnecting,
    /// The browser reports no network.
    Offline,
    /// The session ended (signed out elsewhere): nothing to reconnect to.
    SignedOut,
}

impl ConnectionStatus {
    pub fn label(self) -> &'static str {
        match self {
            ConnectionStatus::Connecting => "Connecting…",
            ConnectionStatus::Connected => "Connected",
            ConnectionStatus::Reconnecting => "Reconnecting…",
            ConnectionStatus::Offline => "Offline",
            ConnectionStatus::SignedOut => "Signed out",
        }
    }
}

/// A post waiting for its acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub client_id: String,
    pub room: RoomId,
    pub body: String,
    pub state: OutboxState,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OutboxState {
    /// Waiting to be sent (or resent: offline, rate-limited, server unreachable).
    Queued,
    /// On its way to the server.
    Sending,
    /// The server refused it for good; the reason is shown with a "Retry" button.
    Failed(String),
}

/// One room's messages as this tab knows them, keyed by `seq`.
#[derive(Clone, Copy)]
pub struct RoomFeed {
    pub messages: RwSignal<BTreeMap<u64, MessageView>>,
    /// Bumped when the server says the gap is too large to replay: reload the history.
    pub refetch: RwSignal<u32>,
    /// Set when the subscription ended without the user asking.
    pub ended: RwSignal<Option<UnsubscribeReason>>,
}

impl RoomFeed {
    fn new() -> Self {
        Self {
            messages: RwSignal::new(BTreeMap::new()),
            refetch: RwSignal::new(0),
            ended: RwSignal::new(None),
        }
    }

    /// Adds messages (from history, a replay or live), keeping one per `seq`.
    pub fn merge(&self, messages: impl IntoIterator<Item = MessageView>) {
        self.messages.update(|known| {
            for message in messages {
                known.insert(message.seq, message);
            }
        });
    }

    /// The highest `seq` up to which nothing is missing, counting from the oldest known.
    pub fn contiguous_seq(&self) -> u64 {
        self.messages.with_untracked(contiguous_seq)
    }
}

/// The last `seq` of the run of consecutive numbers that starts at the first key.
pub fn contiguous_seq(messages: &BTreeMap<u64, MessageView>) -> u64 {
    let mut keys = messages.keys();
    let Some(mut last) = keys.next().copied() else {
        return 0;
    };
    for seq in keys {
        if *seq != last + 1 {
            break;
        }
        last = *seq;
    }
    last
}

/// The tab's real-time service, provided once by `App`.
#[derive(Clone, Copy)]
pub struct Realtime {
    pub status: RwSignal<ConnectionStatus>,
    pub outbox: RwSignal<Vec<OutboxEntry>>,
    /// Who is signed in: the socket opens only for a user, and the outbox is theirs.
    me: RwSignal<Option<UserView>>,
    feeds: StoredValue<HashMap<RoomId, RoomFeed>>,
    link: StoredValue<browser::Link>,
    /// The owner feeds are created under: the tab's, not the page's that first asked, so a
    /// feed outlives the page (and is there to resume from when the room is opened again).
    owner: StoredValue<Owner>,
}

impl Realtime {
    /// The feed of `room`, created empty if this tab has not seen the room yet.
    pub fn feed(&self, room: RoomId) -> RoomFeed {
        if let Some(feed) = self.feeds.with_value(|feeds| feeds.get(&room).copied()) {
            return feed;
        }
        let feed = self.owner.with_value(|owner| owner.with(RoomFeed::new));
        self.feeds.update_value(|feeds| {
            feeds.insert(room, feed);
        });
        feed
    }

    // Used by the socket loop, which exists only in the browser build.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn feeds(&self) -> Vec<(RoomId, RoomFeed)> {
        self.feeds
            .with_value(|feeds| feeds.iter().map(|(room, feed)| (*room, *feed)).collect())
    }

    /// Starts live delivery for `room` (from after what the feed already holds).
    pub fn follow(&self, room: RoomId) {
        let after_seq = Some(self.feed(room).contiguous_seq());
        self.send_frame(ClientFrame::Subscribe { room, after_seq });
    }

    fn send_frame(&self, frame: ClientFrame) {
        self.link.with_value(|link| link.send(frame));
    }

    /// Puts a new post in the outbox and starts sending it.
    pub fn post(&self, room: RoomId, body: String) {
        let entry = OutboxEntry {
            client_id: browser::new_client_id(),
            room,
            body,
            state: OutboxState::Queued,
        };
        self.outbox.update(|outbox| outbox.push(entry));
        self.flush();
    }

    /// Queues a failed post again.
    pub fn retry(&self, client_id: &str) {
        self.outbox.update(|outbox| {
            for entry in outbox
                .iter_mut()
                .filter(|entry| entry.client_id == client_id)
            {
                entry.state = OutboxState::Queued;
            }
        });
        self.flush();
    }

    /// The posts of `room` still waiting, oldest first.
    pub fn pending(&self, room: RoomId) -> Vec<OutboxEntry> {
        self.outbox.with(|outbox| {
            outbox
                .iter()
                .filter(|entry| entry.room == room)
                .cloned()
                .collect()
        })
    }

    /// Sends what the outbox holds, one post at a time in order.
    pub fn flush(&self) {
        browser::flush(*self);
    }

    // Used by the socket loop, which exists only in the browser build.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    /// Applies a frame from the server (other than the hello, which the socket loop handles).
    fn handle(&self, frame: crate::protocol::ServerFrame) {
        use crate::protocol::{ProtocolError, ServerFrame};
        match frame {
            ServerFrame::Message { message } => self.receive(message),
            ServerFrame::Subscribed { room, last_seq } => {
                let feed = self.feed(room);
                let have = feed.contiguous_seq();
                if have > 0 && last_seq > have {
                    self.send_frame(ClientFrame::Fetch {
                        room,
                        after_seq: have,
                        until_seq: last_seq + 1,
                    });
                }
            }
            ServerFrame::Refetch { room, .. } => self.feed(room).refetch.update(|n| *n += 1),
            ServerFrame::Unsubscribed { room, reason } => self.feed(room).ended.set(Some(reason)),
            ServerFrame::Error {
                error: ProtocolError::NotFound { room },
            } => self
                .feed(room)
                .ended
                .set(Some(UnsubscribeReason::AccessEnded)),
            ServerFrame::Hello { .. } | ServerFrame::Error { .. } => {}
        }
    }

    // Used by the socket loop, which exists only in the browser build.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    /// A message arrived (live, replayed or fetched): record it, drop its outbox entry, and
    /// ask for any range skipped before it.
    fn receive(&self, message: MessageView) {
        let room = message.room;
        let Some(feed) = self.feeds.with_value(|feeds| feeds.get(&room).copied()) else {
            return;
        };
        let before = feed.contiguous_seq();
        let seq = message.seq;
        let client_id = message.client_id.as_str().to_owned();
        feed.merge([message]);
        self.outbox
            .update(|outbox| outbox.retain(|entry| entry.client_id != client_id));
        if before > 0 && seq > before + 1 && feed.contiguous_seq() < seq {
            self.send_frame(ClientFrame::Fetch {
                room,
                after_seq: before,
                until_seq: seq,
            });
        }
    }
}

/// Creates the tab's real-time service and opens its socket once the page is interactive
/// and someone is signed in.
pub fn provide_realtime(me: Signal<Option<UserView>>) -> Realtime {
    let realtime = Realtime {
        status: RwSignal::new(ConnectionStatus::Connecting),
        outbox: RwSignal::new(Vec::new()),
        me: RwSignal::new(None),
        feeds: StoredValue::new(HashMap::new()),
        link: StoredValue::new(browser::Link::default()),
        owner: StoredValue::new(Owner::current().unwrap_or_default()),
    };
    provide_context(realtime);
    // Effects run only in the browser, after hydration.
    Effect::new(move |started: Option<bool>| {
        let user = me.get();
        let started = started.unwrap_or(false);
        realtime.me.set(user.clone());
        match user {
            Some(user) if !started => {
                browser::start(realtime, user.id);
                true
            }
            _ => started,
        }
    });
    realtime
}

pub fn use_realtime() -> Realtime {
    // `App` provides it above every route.
    expect_context::<Realtime>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientId, MessageId};

    fn message(seq: u64) -> MessageView {
        MessageView {
            id: MessageId(seq as i64),
            room: RoomId(1),
            seq,
            client_id: ClientId::parse(&format!("00000000-0000-4000-8000-{seq:012x}")).unwrap(),
            author: None,
            body: String::new(),
            created_ms: 0,
        }
    }

    fn known(seqs: &[u64]) -> BTreeMap<u64, MessageView> {
        seqs.iter().map(|seq| (*seq, message(*seq))).collect()
    }

    #[test]
    fn the_contiguous_seq_stops_at_the_first_hole() {
        assert_eq!(contiguous_seq(&known(&[])), 0);
        assert_eq!(contiguous_seq(&known(&[1, 2, 3])), 3);
        assert_eq!(
            contiguous_seq(&known(&[51, 52, 53, 55])),
            53,
            "history need not start at 1"
        );
        assert_eq!(contiguous_seq(&known(&[4, 6])), 4);
    }
}
