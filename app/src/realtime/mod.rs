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
    /// Whether `through` is a real position (from history or a subscription), so that a
    /// resume replays from it. An empty room is known through 0.
    pub known: bool,
    /// Every change up to this number has been applied.
    pub through: u64,
    /// Changes applied beyond a hole, waiting for it to be filled.
    pub ahead: BTreeSet<u64>,
    /// The end of the last range asked for, so one hole is asked for once.
    pub requested_until: u64,
}

impl Progress {
    /// Records change `seq`. Returns whether it was new, and the hole before it, if any
    /// and not yet asked for, as the `(after_seq, until_seq)` range to fetch.
    pub fn apply(&mut self, seq: u64) -> (bool, Option<(u64, u64)>) {
        if seq <= self.through || self.ahead.contains(&seq) {
            return (false, None);
        }
        if seq == self.through + 1 || !self.known {
            self.through = seq;
            self.known = true;
            self.absorb();
            return (true, None);
        }
        self.ahead.insert(seq);
        // The hole ends at the first change waiting beyond it.
        let hole_end = self.ahead.first().copied().unwrap_or(seq);
        (true, self.ask_until(hole_end))
    }

    /// The subscription says the room's newest change is `last_seq`. Returns the range to
    /// fetch if this feed is behind it (a live-only start is simply placed there).
    pub fn subscribed_at(&mut self, last_seq: u64) -> Option<(u64, u64)> {
        if !self.known {
            self.known_through(last_seq);
            return None;
        }
        if last_seq <= self.through {
            return None;
        }
        self.ask_until(last_seq + 1)
    }

    /// The range `(through, until_seq)` to fetch, unless it was already asked for.
    fn ask_until(&mut self, until_seq: u64) -> Option<(u64, u64)> {
        if until_seq <= self.requested_until {
            return None;
        }
        self.requested_until = until_seq;
        Some((self.through, until_seq))
    }

    /// Everything up to `seq` is known (a history page read at that point, or a subscription
    /// that starts there).
    pub fn known_through(&mut self, seq: u64) {
        self.known = true;
        if seq > self.through {
            self.through = seq;
            self.absorb();
        }
    }

    /// Where a subscription resumes: after the last applied change, or (nothing known yet)
    /// from now on without a replay.
    pub fn resume_point(&self) -> Option<u64> {
        self.known.then_some(self.through)
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

    /// Where a subscription resumes (see [`Progress::resume_point`]).
    pub fn resume_point(&self) -> Option<u64> {
        self.progress.with_untracked(Progress::resume_point)
    }

    /// Forgets everything: the gap was too large to replay and no page is showing it.
    fn reset(&self) {
        self.messages.update(|known| known.clear());
        self.notices.update(|notices| notices.clear());
        self.progress.set(Progress::default());
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
    /// The rooms this tab subscribes to, least recently followed first, each `true` if the
    /// user is present in it (its page is open) rather than following it quietly for the
    /// unread count.
    followed: StoredValue<Vec<(RoomId, bool)>>,
    /// Read markers: the newest sent per room, and the rooms with a request in flight.
    // Used by the browser half only.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    read: StoredValue<ReadMarkers>,
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

    /// Starts live delivery for `room` with the user present in it (its page is open):
    /// from after what the feed already holds, or (for a room this tab has nothing of yet)
    /// from now on.
    pub fn follow(&self, room: RoomId) {
        self.subscribe(room, true);
    }

    /// Follows `room` quietly, for its unread count: the user is not shown as present.
    pub fn watch(&self, room: RoomId) {
        let present = self.followed.with_value(|followed| {
            followed
                .iter()
                .any(|(followed, present)| *followed == room && *present)
        });
        if !present {
            self.subscribe(room, false);
        }
    }

    /// The room's page closed: stay subscribed quietly (`keep_watching`, for a member) or
    /// not at all.
    pub fn unfollow(&self, room: RoomId, keep_watching: bool) {
        if keep_watching {
            self.subscribe(room, false);
        } else {
            self.followed
                .update_value(|followed| followed.retain(|(followed, _)| *followed != room));
            self.send_frame(ClientFrame::Unsubscribe { room });
        }
    }

    fn subscribe(&self, room: RoomId, present: bool) {
        let feed = self.feed(room);
        feed.ended.set(None);
        let evicted = self.followed.try_update_value(|followed| {
            followed.retain(|(followed, _)| *followed != room);
            followed.push((room, present));
            // The server closes a socket with too many subscriptions: let the least recently
            // followed quiet rooms go first.
            let mut evicted = Vec::new();
            while followed.len() > MAX_FOLLOWED {
                let Some(index) = followed.iter().position(|(_, present)| !present) else {
                    break;
                };
                evicted.push(followed.remove(index).0);
            }
            evicted
        });
        for gone in evicted.unwrap_or_default() {
            self.send_frame(ClientFrame::Unsubscribe { room: gone });
        }
        self.send_frame(ClientFrame::Subscribe {
            room,
            after_seq: feed.resume_point(),
            quiet: !present,
        });
    }

    /// What to subscribe again after a reconnect: every followed room whose subscription
    /// did not end, from where its feed stands.
    // Used by the socket loop, which exists only in the browser build.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn resubscriptions(&self) -> Vec<ClientFrame> {
        let followed = self.followed.get_value();
        followed
            .into_iter()
            .filter_map(|(room, present)| {
                let feed = self.feeds.with_value(|feeds| feeds.get(&room).copied())?;
                if feed.ended.get_untracked().is_some() {
                    return None;
                }
                Some(ClientFrame::Subscribe {
                    room,
                    after_seq: feed.resume_point(),
                    quiet: !present,
                })
            })
            .collect()
    }

    /// The user has seen `room` up to `seq`: moves the read marker on the server (at most
    /// one request per room in flight; the newest wins).
    pub fn read_up_to(&self, room: RoomId, seq: u64) {
        browser::mark_read(*self, room, seq);
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

    /// Whether `room` is the one on screen.
    fn is_open(&self, room: RoomId) -> bool {
        self.open_room.get_untracked() == Some(room)
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
                let mut hole = None;
                self.feed(room)
                    .progress
                    .update(|progress| hole = progress.subscribed_at(last_seq));
                if let Some((after_seq, until_seq)) = hole {
                    self.send_frame(ClientFrame::Fetch {
                        room,
                        after_seq,
                        until_seq,
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
            ServerFrame::Refetch { room, .. } => {
                let feed = self.feed(room);
                if self.is_open(room) {
                    // The page reloads its newest history and follows on from there.
                    feed.refetch.update(|n| *n += 1);
                } else {
                    // Nobody is looking: start over, live from now.
                    feed.reset();
                    self.watch(room);
                }
            }
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

/// Rooms one tab subscribes to at most; the server allows 100 per socket.
const MAX_FOLLOWED: usize = 90;

/// The read markers this tab has sent, and the requests in flight.
#[derive(Debug, Default)]
pub struct ReadMarkers {
    /// The newest `seq` asked for per room.
    pub wanted: HashMap<RoomId, u64>,
    /// The newest `seq` the server accepted per room.
    pub sent: HashMap<RoomId, u64>,
    pub in_flight: std::collections::HashSet<RoomId>,
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
        followed: StoredValue::new(Vec::new()),
        read: StoredValue::new(ReadMarkers::default()),
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
            known: true,
            through,
            ahead: ahead.iter().copied().collect(),
            requested_until: 0,
        }
    }

    #[test]
    fn changes_in_order_advance_and_repeats_are_not_new() {
        let mut state = progress(0, &[]);
        assert_eq!(state.apply(1), (true, None));
        assert_eq!(state.apply(2), (true, None));
        assert_eq!(state.apply(2), (false, None), "a replayed duplicate");
        assert_eq!(state, progress(2, &[]));
    }

    #[test]
    fn a_jump_asks_for_the_hole_and_filling_it_catches_up() {
        let mut state = progress(3, &[]);
        assert_eq!(state.apply(6), (true, Some((3, 6))));
        assert_eq!(
            state.apply(7),
            (true, None),
            "the same hole is asked for once"
        );
        assert_eq!(state.apply(4), (true, None));
        assert_eq!((state.through, state.ahead.len()), (4, 2));
        assert_eq!(state.apply(5), (true, None));
        assert_eq!(
            (state.through, state.ahead.len()),
            (7, 0),
            "the waiting ones are absorbed"
        );
    }

    #[test]
    fn a_history_page_moves_the_start_forward() {
        let mut state = Progress::default();
        state.known_through(50);
        assert_eq!(state.apply(50), (false, None), "already in the page");
        assert_eq!(state.apply(51), (true, None));
        let mut waiting = progress(2, &[9]);
        waiting.known_through(8);
        assert_eq!((waiting.through, waiting.ahead.len()), (9, 0));
    }

    #[test]
    fn a_subscription_ahead_of_the_feed_asks_for_the_rest_once() {
        let mut state = progress(3, &[]);
        assert_eq!(state.subscribed_at(3), None, "up to date");
        assert_eq!(state.subscribed_at(8), Some((3, 9)));
        assert_eq!(state.subscribed_at(8), None, "already asked");
        let mut live = Progress::default();
        assert_eq!(
            live.subscribed_at(8),
            None,
            "a live-only start is placed there"
        );
        assert_eq!(live.resume_point(), Some(8));
    }

    #[test]
    fn nothing_known_subscribes_live_but_an_empty_room_resumes_from_zero() {
        assert_eq!(Progress::default().resume_point(), None);
        let mut empty = Progress::default();
        empty.known_through(0);
        assert_eq!(
            empty.resume_point(),
            Some(0),
            "a post before the socket is not lost"
        );
        assert_eq!(progress(12, &[]).resume_point(), Some(12));
    }
}
