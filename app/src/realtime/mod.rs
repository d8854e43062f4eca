//! The browser's side of real-time chat: one socket per tab ([`Realtime`]), the messages of
//! each room it follows ([`RoomFeed`]), and the outbox of posts not yet acknowledged.
//!
//! The delivery contract, from this side:
//! - every post gets a UUID `client_id` and waits in the outbox (kept in `localStorage`, so
//!   it survives reloads and going offline) until the server acknowledges it; it is resent
//!   with the same id, so a retry never duplicates;
//! - received messages are keyed by the `seq` of their posting (and so de-duplicated); of
//!   two copies of a message the one with the later change wins, so an edit or a delete
//!   replayed out of order never reverts a newer state;
//! - every change (post, edit, delete) has a number; the feed remembers the last number up
//!   to which it has applied everything, resumes from it after a reconnect, and asks for any
//!   range it sees skipped.
//!
//! Presence (who is online, who is typing, "X joined") is ephemeral: it has no number, and
//! a fresh subscription starts from the server's current list.
//!
//! This module holds the state and the decisions, and compiles for both targets; `browser`
//! is the one place that touches the socket, timers and storage (it does nothing on the
//! server, where there is no socket).

mod browser;

pub use browser::local_time;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{RoomId, UserId, UserView};
use crate::protocol::{ClientFrame, MessageView, Person, UnsubscribeReason};

/// At most one typing signal per this many milliseconds leaves the browser.
const TYPING_SIGNAL_EVERY_MS: f64 = 3_000.0;

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

/// A line in the timeline that is not a message: someone joined or left. These come from
/// presence, are not stored, and are shown only to those who saw them happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Shown after the message with this `seq`.
    pub after_seq: u64,
    /// Orders notices after the same message.
    pub order: u32,
    pub kind: NoticeKind,
}

/// Typed, so the words can be translated where they are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    Joined(Person),
    Left(Person),
}

/// How far a feed has applied the room's numbered changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Every change up to this number has been applied.
    pub through: u64,
    /// Changes applied beyond a hole, waiting for it to be filled.
    pub ahead: BTreeSet<u64>,
}

impl Progress {
    /// Records change `seq`. Returns whether it was new, and the hole before it, if any,
    /// as the `(after_seq, until_seq)` range to fetch.
    pub fn apply(&mut self, seq: u64) -> (bool, Option<(u64, u64)>) {
        if seq <= self.through || self.ahead.contains(&seq) {
            return (false, None);
        }
        if seq == self.through + 1 {
            self.through = seq;
            self.absorb();
            return (true, None);
        }
        self.ahead.insert(seq);
        (true, Some((self.through, seq)))
    }

    /// Everything up to `seq` is known (a history page read at that point, or a subscription
    /// that starts there).
    pub fn known_through(&mut self, seq: u64) {
        if seq > self.through {
            self.through = seq;
            self.absorb();
        }
    }

    fn absorb(&mut self) {
        self.ahead = self.ahead.split_off(&(self.through + 1));
        while self.ahead.first() == Some(&(self.through + 1)) {
            self.through += 1;
            self.ahead.pop_first();
        }
    }
}

/// One room as this tab knows it: its messages keyed by the `seq` of their posting, how far
/// its changes are applied, and its live presence.
#[derive(Clone, Copy)]
pub struct RoomFeed {
    pub messages: RwSignal<BTreeMap<u64, MessageView>>,
    pub progress: RwSignal<Progress>,
    /// Bumped when the server says the gap is too large to replay: reload the history.
    pub refetch: RwSignal<u32>,
    /// Set when the subscription ended without the user asking.
    pub ended: RwSignal<Option<UnsubscribeReason>>,
    /// Who is online, by name.
    pub online: RwSignal<Vec<Person>>,
    /// Who is typing (never me).
    pub typing: RwSignal<Vec<Person>>,
    pub notices: RwSignal<Vec<Notice>>,
}

impl RoomFeed {
    fn new() -> Self {
        Self {
            messages: RwSignal::new(BTreeMap::new()),
            progress: RwSignal::new(Progress::default()),
            refetch: RwSignal::new(0),
            ended: RwSignal::new(None),
            online: RwSignal::new(Vec::new()),
            typing: RwSignal::new(Vec::new()),
            notices: RwSignal::new(Vec::new()),
        }
    }

    /// Adds messages (from history, a replay or live), keeping the newest copy of each.
    pub fn merge(&self, messages: impl IntoIterator<Item = MessageView>) {
        self.messages.update(|known| {
            for message in messages {
                let newer = known
                    .get(&message.seq)
                    .is_none_or(|old| message.supersedes(old));
                if newer {
                    known.insert(message.seq, message);
                }
            }
        });
    }

    /// Merges the newest history page, read when the room's changes stood at `last_seq`.
    pub fn merge_latest(&self, messages: Vec<MessageView>, last_seq: u64) {
        self.merge(messages);
        self.progress
            .update(|progress| progress.known_through(last_seq));
    }

    /// The number up to which every change is applied: where a resume starts.
    pub fn contiguous_seq(&self) -> u64 {
        self.progress.with_untracked(|progress| progress.through)
    }

    fn notice(&self, kind: NoticeKind) {
        let after_seq = self
            .messages
            .with_untracked(|known| known.keys().next_back().copied().unwrap_or(0));
        self.notices.update(|notices| {
            let order = notices
                .iter()
                .filter(|notice| notice.after_seq == after_seq)
                .count() as u32;
            notices.push(Notice {
                after_seq,
                order,
                kind,
            });
        });
    }
}

/// The tab's real-time service, provided once by `App`.
#[derive(Clone, Copy)]
pub struct Realtime {
    pub status: RwSignal<ConnectionStatus>,
    pub outbox: RwSignal<Vec<OutboxEntry>>,
    /// Who is signed in: the socket opens only for a user, and the outbox is theirs.
    me: RwSignal<Option<UserView>>,
    /// The room the tab shows now, if any: its new messages are read, not unread.
    open_room: RwSignal<Option<RoomId>>,
    /// Unread messages per room, from the server's count plus what arrived since.
    unread: RwSignal<HashMap<RoomId, u64>>,
    /// When this tab last sent a typing signal, per room (ms since the epoch).
    typing_sent: StoredValue<HashMap<RoomId, f64>>,
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

    /// Starts live delivery for `room`: from after what the feed already holds, or (for a
    /// room this tab has nothing of yet) from now on.
    pub fn follow(&self, room: RoomId) {
        let after_seq = resume_point(self.feed(room).contiguous_seq());
        self.send_frame(ClientFrame::Subscribe { room, after_seq });
    }

    /// Who is signed in here.
    pub fn me(&self) -> Option<UserId> {
        self.me.with(|me| me.as_ref().map(|me| me.id))
    }

    /// Marks `room` as the one on screen: its messages stop counting as unread.
    pub fn open(&self, room: RoomId) {
        self.open_room.set(Some(room));
        self.unread.update(|unread| {
            unread.remove(&room);
        });
    }

    /// `room` left the screen. The next room's page may have opened already (the old page
    /// is cleaned up after the new one starts), so only its own mark is cleared.
    pub fn close(&self, room: RoomId) {
        if self.open_room.get_untracked() == Some(room) {
            self.open_room.set(None);
        }
    }

    /// The unread count of `room` as this tab knows it.
    pub fn unread(&self, room: RoomId) -> u64 {
        self.unread
            .with(|unread| unread.get(&room).copied().unwrap_or(0))
    }

    /// Takes the server's unread counts (when the room list loads).
    pub fn set_unread(&self, counts: impl IntoIterator<Item = (RoomId, u64)>) {
        let open = self.open_room.get_untracked();
        self.unread.set(
            counts
                .into_iter()
                .filter(|(room, count)| *count > 0 && Some(*room) != open)
                .collect(),
        );
    }

    /// The user typed in `room`'s composer: tell the room, at most once every few seconds.
    pub fn typing(&self, room: RoomId) {
        let now = browser::now_ms();
        let due = self.typing_sent.with_value(|sent| {
            sent.get(&room)
                .is_none_or(|last| now - last >= TYPING_SIGNAL_EVERY_MS)
        });
        if due {
            self.typing_sent.update_value(|sent| {
                sent.insert(room, now);
            });
            self.send_frame(ClientFrame::Typing { room });
        }
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
        // The next keystroke after a post is a new bout of typing.
        self.typing_sent.update_value(|sent| {
            sent.remove(&room);
        });
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
            ServerFrame::Message { message } => self.receive(message.seq, message, true),
            ServerFrame::Changed { seq, message } => self.receive(seq, message, false),
            ServerFrame::Subscribed { room, last_seq } => {
                let feed = self.feed(room);
                feed.ended.set(None);
                let have = feed.contiguous_seq();
                if have == 0 {
                    // A live-only subscription: it starts at the room's newest change.
                    feed.progress
                        .update(|progress| progress.known_through(last_seq));
                } else if last_seq > have {
                    self.send_frame(ClientFrame::Fetch {
                        room,
                        after_seq: have,
                        until_seq: last_seq + 1,
                    });
                }
            }
            ServerFrame::Presence { room, online } => {
                let feed = self.feed(room);
                feed.online.set(online);
                // Typing is not part of the snapshot; whoever still types signals again.
                feed.typing.set(Vec::new());
            }
            ServerFrame::Joined { room, person } => {
                let feed = self.feed(room);
                let known = feed
                    .online
                    .with_untracked(|online| online.iter().any(|p| p.id == person.id));
                if !known {
                    feed.online.update(|online| {
                        online.push(person.clone());
                        online.sort_by(|a, b| a.display_name.cmp(&b.display_name));
                    });
                    feed.notice(NoticeKind::Joined(person));
                }
            }
            ServerFrame::Left { room, person } => {
                let feed = self.feed(room);
                feed.online
                    .update(|online| online.retain(|p| p.id != person.id));
                feed.typing
                    .update(|typing| typing.retain(|p| p.id != person.id));
                feed.notice(NoticeKind::Left(person));
            }
            ServerFrame::Typing {
                room,
                person,
                typing,
            } => {
                if Some(person.id) == self.me.with_untracked(|me| me.as_ref().map(|me| me.id)) {
                    return;
                }
                self.feed(room).typing.update(|list| {
                    list.retain(|p| p.id != person.id);
                    if typing {
                        list.push(person);
                    }
                });
            }
            ServerFrame::Refetch { room, .. } => self.feed(room).refetch.update(|n| *n += 1),
            ServerFrame::Unsubscribed { room, reason } => {
                let feed = self.feed(room);
                feed.ended.set(Some(reason));
                feed.online.set(Vec::new());
                feed.typing.set(Vec::new());
            }
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
    /// Change `seq` arrived (live, replayed or fetched): apply it, drop the post's outbox
    /// entry, count it as unread if it is new and not on screen, and ask for any range
    /// skipped before it.
    fn receive(&self, seq: u64, message: MessageView, posted: bool) {
        let room = message.room;
        let Some(feed) = self.feeds.with_value(|feeds| feeds.get(&room).copied()) else {
            return;
        };
        let mut outcome = (false, None);
        feed.progress
            .update(|progress| outcome = progress.apply(seq));
        let (new, hole) = outcome;
        let client_id = message.client_id.as_str().to_owned();
        let author = message.author.as_ref().map(|author| author.id);
        let me = self.me.with_untracked(|me| me.as_ref().map(|me| me.id));
        if posted {
            // Their message arrived: they are no longer typing.
            feed.typing
                .update(|typing| typing.retain(|p| Some(p.id) != author));
        }
        let unread = new
            && posted
            && !message.deleted
            && author != me
            && self.open_room.get_untracked() != Some(room);
        feed.merge([message]);
        self.outbox
            .update(|outbox| outbox.retain(|entry| entry.client_id != client_id));
        if unread {
            self.unread
                .update(|unread| *unread.entry(room).or_default() += 1);
        }
        if let Some((after_seq, until_seq)) = hole {
            self.send_frame(ClientFrame::Fetch {
                room,
                after_seq,
                until_seq,
            });
        }
    }
}

/// Where a subscription resumes: after the last applied change, or (nothing applied yet)
/// from now on without a replay.
pub fn resume_point(through: u64) -> Option<u64> {
    (through > 0).then_some(through)
}

/// Creates the tab's real-time service and opens its socket once the page is interactive
/// and someone is signed in.
pub fn provide_realtime(me: Signal<Option<UserView>>) -> Realtime {
    let realtime = Realtime {
        status: RwSignal::new(ConnectionStatus::Connecting),
        outbox: RwSignal::new(Vec::new()),
        me: RwSignal::new(None),
        open_room: RwSignal::new(None),
        unread: RwSignal::new(HashMap::new()),
        typing_sent: StoredValue::new(HashMap::new()),
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

    fn progress(through: u64, ahead: &[u64]) -> Progress {
        Progress {
            through,
            ahead: ahead.iter().copied().collect(),
        }
    }

    #[test]
    fn changes_in_order_advance_and_repeats_are_not_new() {
        let mut state = Progress::default();
        assert_eq!(state.apply(1), (true, None));
        assert_eq!(state.apply(2), (true, None));
        assert_eq!(state.apply(2), (false, None), "a replayed duplicate");
        assert_eq!(state, progress(2, &[]));
    }

    #[test]
    fn a_jump_asks_for_the_hole_and_filling_it_catches_up() {
        let mut state = progress(3, &[]);
        assert_eq!(state.apply(6), (true, Some((3, 6))));
        assert_eq!(state.apply(7), (true, Some((3, 7))));
        assert_eq!(state.apply(4), (true, None));
        assert_eq!(state, progress(4, &[6, 7]));
        assert_eq!(state.apply(5), (true, None));
        assert_eq!(state, progress(7, &[]), "the waiting ones are absorbed");
    }

    #[test]
    fn a_history_page_moves_the_start_forward() {
        let mut state = progress(0, &[]);
        state.known_through(50);
        assert_eq!(state.apply(50), (false, None), "already in the page");
        assert_eq!(state.apply(51), (true, None));
        let mut waiting = progress(2, &[9]);
        waiting.known_through(8);
        assert_eq!(waiting, progress(9, &[]));
    }

    #[test]
    fn a_tab_with_nothing_subscribes_live_only() {
        assert_eq!(resume_point(0), None);
        assert_eq!(resume_point(12), Some(12));
    }
}
