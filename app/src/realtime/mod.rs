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
//! The state and the decisions compile for both targets and are tested natively, one
//! responsibility per module: [`feed`] (a room's messages and presence), [`progress`] (which
//! numbered changes are applied), [`outbox`] (the posts waiting, and what each attempt to
//! send one came to), [`read_markers`], [`following`] (the rooms subscribed to), [`status`]
//! and [`reconnect`] (the socket's state and its backoff), [`notify`] (which messages raise
//! a browser notification); `inbound` applies the server's
//! frames to them. `browser` is the one place that touches the socket, timers, storage and
//! server functions, and does nothing on the server, where there is no socket: it asks the
//! modules above what to do, and does it.

mod browser;
pub mod feed;
pub mod following;
mod inbound;
pub mod notify;
pub mod outbox;
pub mod progress;
pub mod read_markers;
pub mod reconnect;
pub mod status;

pub use browser::{ask_notification_permission, local_time, notification_permission, tab_hidden};
pub use feed::{Notice, NoticeKind, RoomFeed};
pub use outbox::{OutboxEntry, OutboxState};
pub use progress::Progress;
pub use read_markers::ReadMarkers;
pub use status::ConnectionStatus;

use std::collections::HashMap;

use leptos::prelude::*;

use crate::model::{RoomId, UserId, UserView};
use crate::protocol::{ClientFrame, ClientId, MessageId, Person};
use following::Following;
use outbox::{AfterSend, Outbox};

/// At most one typing signal per this many milliseconds leaves the browser.
const TYPING_SIGNAL_EVERY_MS: f64 = 3_000.0;

/// The tab's real-time service, provided once by `App`.
#[derive(Clone, Copy)]
pub struct Realtime {
    pub status: RwSignal<ConnectionStatus>,
    /// The posts not yet acknowledged; `browser` keeps a copy in storage.
    outbox: RwSignal<Outbox>,
    /// Who is signed in: the socket opens only for a user, and the outbox is theirs.
    me: RwSignal<Option<UserView>>,
    /// The room the tab shows now, if any: its new messages are read, not unread.
    open_room: RwSignal<Option<RoomId>>,
    /// Unread messages per room, from the server's count plus what arrived since.
    unread: RwSignal<HashMap<RoomId, u64>>,
    /// Of those, the ones that mention me, counted the same way.
    mentions: RwSignal<HashMap<RoomId, u64>>,
    /// When this tab last sent a typing signal, per room (ms since the epoch).
    typing_sent: StoredValue<HashMap<RoomId, f64>>,
    followed: StoredValue<Following>,
    /// Read markers: the newest sent per room, and the rooms with a request in flight.
    // Used by the browser half only.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    read: StoredValue<ReadMarkers>,
    feeds: StoredValue<HashMap<RoomId, RoomFeed>>,
    /// The rooms of the navigation, for the notifications their messages raise.
    known_rooms: StoredValue<HashMap<RoomId, notify::KnownRoom>>,
    /// Rooms whose subscription the server could not start (its store failed), with the
    /// backoff of the next attempt and whether one is waiting; a room leaves once subscribed,
    /// and all of them when the socket opens again (which subscribes everything).
    unavailable: StoredValue<HashMap<RoomId, inbound::Retry>>,
    link: StoredValue<browser::Link>,
    /// The owner feeds are created under: the tab's, not the page's that first asked, so a
    /// feed outlives the page (and is there to resume from when the room is opened again).
    owner: StoredValue<Owner>,
}

impl Realtime {
    /// The service before anyone signs in: nothing followed, no socket.
    fn new() -> Self {
        Self {
            status: RwSignal::new(ConnectionStatus::Connecting),
            outbox: RwSignal::new(Outbox::default()),
            me: RwSignal::new(None),
            open_room: RwSignal::new(None),
            unread: RwSignal::new(HashMap::new()),
            mentions: RwSignal::new(HashMap::new()),
            typing_sent: StoredValue::new(HashMap::new()),
            followed: StoredValue::new(Following::default()),
            read: StoredValue::new(ReadMarkers::default()),
            feeds: StoredValue::new(HashMap::new()),
            known_rooms: StoredValue::new(HashMap::new()),
            unavailable: StoredValue::new(HashMap::new()),
            link: StoredValue::new(browser::Link::default()),
            owner: StoredValue::new(Owner::current().unwrap_or_default()),
        }
    }

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
        let present = self
            .followed
            .with_value(|followed| followed.is_present(room));
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
            self.followed.update_value(|followed| followed.forget(room));
            self.send_frame(ClientFrame::Unsubscribe { room });
        }
    }

    fn subscribe(&self, room: RoomId, present: bool) {
        let feed = self.feed(room);
        feed.ended.set(None);
        let evicted = self
            .followed
            .try_update_value(|followed| followed.follow(room, present));
        for gone in evicted.unwrap_or_default() {
            self.send_frame(ClientFrame::Unsubscribe { room: gone });
        }
        feed.live.set_value(false);
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
        let followed: Vec<RoomId> = self
            .followed
            .with_value(|followed| followed.rooms().map(|(room, _)| room).collect());
        followed
            .into_iter()
            .filter_map(|room| self.resubscription(room))
            .collect()
    }

    /// The frame that subscribes `room` again from where its feed stands, if the room is
    /// still followed and its subscription did not end.
    fn resubscription(&self, room: RoomId) -> Option<ClientFrame> {
        let present = self
            .followed
            .with_value(|followed| followed.rooms().find(|(r, _)| *r == room))?
            .1;
        let feed = self.feeds.with_value(|feeds| feeds.get(&room).copied())?;
        if feed.ended.get_untracked().is_some() {
            return None;
        }
        // Until `Subscribed`, what arrives is the replay.
        feed.live.set_value(false);
        Some(ClientFrame::Subscribe {
            room,
            after_seq: feed.resume_point(),
            quiet: !present,
        })
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
        self.mentions.update(|mentions| {
            mentions.remove(&room);
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

    /// Every unread message of the rooms this tab knows, but those of rooms set to
    /// "Nothing" (the page title shows it).
    pub fn total_unread(&self) -> u64 {
        self.unread.with(|unread| {
            self.known_rooms.with_value(|known| {
                unread
                    .iter()
                    .filter(|(room, _)| {
                        known.get(room).is_none_or(|room| {
                            room.notify != crate::model::NotificationLevel::Nothing
                        })
                    })
                    .map(|(_, count)| count)
                    .sum()
            })
        })
    }

    /// The tab came back from the background: the open room's messages are seen.
    // Used by the browser half only.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub(super) fn seen_open_room(&self) {
        if let Some(room) = self.open_room.get_untracked() {
            self.open(room);
        }
    }

    /// Takes the rooms of the navigation (when the room list loads): what notifications
    /// need to know of them.
    pub fn know_rooms(&self, rooms: impl IntoIterator<Item = (RoomId, notify::KnownRoom)>) {
        self.known_rooms.set_value(rooms.into_iter().collect());
    }

    /// The member chose another notification level for `room`.
    pub fn set_notification_level(&self, room: RoomId, level: crate::model::NotificationLevel) {
        self.known_rooms.update_value(|rooms| {
            if let Some(known) = rooms.get_mut(&room) {
                known.notify = level;
            }
        });
    }

    /// The mentions of me in `room` since I last had it open, as this tab knows them.
    pub fn mentions(&self, room: RoomId) -> u64 {
        self.mentions
            .with(|mentions| mentions.get(&room).copied().unwrap_or(0))
    }

    /// Takes the server's mention counts (when the room list loads).
    pub fn set_mentions(&self, counts: impl IntoIterator<Item = (RoomId, u64)>) {
        let open = self.open_room.get_untracked();
        self.mentions.set(
            counts
                .into_iter()
                .filter(|(room, count)| *count > 0 && Some(*room) != open)
                .collect(),
        );
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

    /// Puts a new post (a reply when `reply_to` is given) in the outbox and starts sending it.
    pub fn post(&self, room: RoomId, body: String, reply_to: Option<MessageId>) {
        let client_id = browser::new_client_id();
        // The next keystroke after a post is a new bout of typing.
        self.typing_sent.update_value(|sent| {
            sent.remove(&room);
        });
        self.outbox
            .update(|outbox| outbox.push(client_id, room, body, reply_to));
        self.flush();
    }

    /// Queues a failed post again.
    pub fn retry(&self, client_id: &ClientId) {
        self.outbox.update(|outbox| outbox.retry(client_id));
        self.flush();
    }

    /// The posts of `room` still waiting, oldest first.
    pub fn pending(&self, room: RoomId) -> Vec<OutboxEntry> {
        self.outbox.with(|outbox| outbox.pending(room))
    }

    /// The user signs out in this tab: the socket closes, and the outbox and every room's
    /// state held for them, in memory and in the browser's storage, are dropped.
    pub fn forget_user(&self) {
        if let Some(user) = self.me() {
            browser::forget(*self, user);
        }
        self.outbox.set(Outbox::default());
        self.feeds.update_value(HashMap::clear);
        self.unread.set(HashMap::new());
        self.mentions.set(HashMap::new());
        self.followed.set_value(Following::default());
        self.read.set_value(ReadMarkers::default());
    }

    /// Sends what the outbox holds, one post at a time in order.
    pub fn flush(&self) {
        browser::flush(*self);
    }

    /// One attempt to send `entry` came to `after`: a delivered post shows at its place at
    /// once (the broadcast replaces it by `seq`) and leaves the outbox; any other stays.
    // Used by the outbox's sending, which exists only in the browser build.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn settle(&self, entry: &OutboxEntry, after: &AfterSend) {
        if let AfterSend::Delivered(ack) = after {
            let author = self.me.get_untracked().map(|me| Person {
                id: me.id,
                username: me.username,
                display_name: me.display_name,
            });
            let now_ms = browser::now_ms() as i64;
            self.feed(entry.room)
                .show_sent(outbox::sent_message(entry, ack, author, now_ms));
        }
        self.outbox
            .update(|outbox| outbox.settle(&entry.client_id, after));
    }
}

/// Creates the tab's real-time service and opens its socket once the page is interactive
/// and someone is signed in.
pub fn provide_realtime(me: Signal<Option<UserView>>) -> Realtime {
    let realtime = Realtime::new();
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

/// The owner a test's signals live under. The server build's signals are sandboxed per
/// request (Leptos's `sandboxed-arenas`), so a signal created with no owner set panics.
/// Keep it alive for the whole test: dropping it disposes the signals.
#[cfg(test)]
fn test_owner() -> Owner {
    let owner = Owner::new();
    owner.set();
    owner
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use crate::protocol::{Ack, MessageId};
    use std::collections::BTreeMap;

    const ROOM: RoomId = RoomId(1);

    fn signed_in() -> (Owner, Realtime) {
        let owner = test_owner();
        let realtime = Realtime::new();
        realtime.me.set(Some(UserView {
            id: UserId(5),
            username: "minji".into(),
            display_name: "Minji".into(),
            is_admin: false,
        }));
        (owner, realtime)
    }

    fn posted(realtime: &Realtime, body: &str) -> OutboxEntry {
        realtime.post(ROOM, body.into(), None);
        realtime
            .pending(ROOM)
            .pop()
            .expect("the post waits in the outbox")
    }

    #[test]
    fn a_post_waits_in_its_rooms_outbox_until_delivered() {
        let (_owner, realtime) = signed_in();
        let entry = posted(&realtime, "hi");
        assert_eq!(entry.state, OutboxState::Queued);
        assert!(realtime.pending(RoomId(2)).is_empty());
    }

    #[test]
    fn signing_out_drops_the_outbox_the_feeds_and_the_unread_counts() {
        let (_owner, realtime) = signed_in();
        let delivered = posted(&realtime, "seen");
        let ack = Ack {
            id: MessageId(70),
            seq: 4,
            client_id: delivered.client_id.clone(),
        };
        realtime.settle(&delivered, &AfterSend::Delivered(ack));
        posted(&realtime, "not sent yet");
        realtime.follow(ROOM);
        realtime.set_unread([(RoomId(2), 3)]);
        assert!(
            !realtime
                .feed(ROOM)
                .messages
                .with_untracked(BTreeMap::is_empty)
        );

        realtime.forget_user();
        assert!(realtime.pending(ROOM).is_empty());
        assert_eq!(realtime.unread(RoomId(2)), 0);
        assert!(realtime.resubscriptions().is_empty());
        assert!(
            realtime
                .feed(ROOM)
                .messages
                .with_untracked(BTreeMap::is_empty)
        );
    }

    #[test]
    fn a_delivered_post_leaves_the_outbox_and_shows_as_mine_at_its_place() {
        let (_owner, realtime) = signed_in();
        let entry = posted(&realtime, "hi");
        let ack = Ack {
            id: MessageId(70),
            seq: 4,
            client_id: entry.client_id.clone(),
        };
        realtime.settle(&entry, &AfterSend::Delivered(ack));
        assert!(realtime.pending(ROOM).is_empty());
        let shown = realtime
            .feed(ROOM)
            .messages
            .with_untracked(|known| known.get(&4).cloned())
            .expect("shown at its seq");
        assert_eq!((shown.id, shown.body.as_str()), (MessageId(70), "hi"));
        assert_eq!(
            shown
                .author
                .as_ref()
                .map(|author| author.display_name.as_str()),
            Some("Minji")
        );
    }

    #[test]
    fn a_refused_post_stays_failed_with_its_reason_and_shows_nothing() {
        let (_owner, realtime) = signed_in();
        let entry = posted(&realtime, "hi");
        realtime.settle(&entry, &AfterSend::decide(Err(ApiError::NotMember)));
        let failed = realtime.pending(ROOM);
        assert_eq!(
            failed[0].state,
            OutboxState::Failed(ApiError::NotMember.to_string())
        );
        assert!(
            realtime
                .feed(ROOM)
                .messages
                .with_untracked(|known| known.is_empty())
        );
        realtime.retry(&entry.client_id);
        assert_eq!(realtime.pending(ROOM)[0].state, OutboxState::Queued);
    }

    #[test]
    fn quiet_rooms_past_the_limit_are_let_go_but_the_open_one_stays() {
        let (_owner, realtime) = signed_in();
        realtime.follow(ROOM);
        for n in 0..following::MAX_FOLLOWED as i64 {
            realtime.watch(RoomId(100 + n));
        }
        let rooms: Vec<RoomId> = realtime
            .resubscriptions()
            .into_iter()
            .map(|frame| match frame {
                ClientFrame::Subscribe { room, .. } => room,
                other => panic!("only subscriptions, got {other:?}"),
            })
            .collect();
        assert_eq!(rooms.len(), following::MAX_FOLLOWED);
        assert_eq!(rooms[0], ROOM);
        assert!(!rooms.contains(&RoomId(100)), "the oldest quiet room went");
    }

    #[test]
    fn a_room_whose_subscription_ended_is_not_subscribed_again() {
        let (_owner, realtime) = signed_in();
        realtime.follow(ROOM);
        realtime.follow(RoomId(2));
        realtime
            .feed(RoomId(2))
            .ended
            .set(Some(crate::protocol::UnsubscribeReason::Left));
        assert_eq!(
            realtime.resubscriptions(),
            [ClientFrame::Subscribe {
                room: ROOM,
                after_seq: None,
                quiet: false
            }]
        );
    }
}
