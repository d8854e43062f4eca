//! The relay: how committed room events reach this instance's hub when other instances
//! write to the same database.
//!
//! For every room with local subscribers it keeps a delivered high-water mark: every event
//! up to the mark has been published to the hub, in `seq` order, and none after it.
//! [`Relay::hinted`] is told "room R has changed up to seq S" (by a hint from another
//! instance, or by the periodic catch-up); if S is past the mark it reads the events after
//! the mark from the store and publishes them, then moves the mark. A change this instance
//! commits itself goes through [`Relay::committed`], which publishes the event in hand
//! without a read when it is the next one (the fast path), and queues a hint for the others.
//! Either way every event reaches the hub once and in order, whoever wrote it.
//!
//! Ordering: each tracked room has its own async mutex around its mark, held across the
//! store read and the publish. Callers for one room queue on it (tokio's mutex is fair) and
//! each re-checks the mark under it, so a late or repeated caller finds nothing left to do;
//! callers for different rooms never wait for each other. (One task owning all marks would
//! serialise every room's reads behind one another; a mutex per room keeps them parallel
//! and needs no channel.) The hub is only ever called with the mark's lock held, never the
//! other way round, so there is no lock cycle.
//!
//! Tracking starts with [`Relay::track`], which a subscribing socket calls after its hub
//! registration and before its replay read: the mark is read from the database in between,
//! so every event after the mark is published to the hub where the socket's queue receives
//! it, and every event up to the mark is in the replay (the socket drops the second copies,
//! never sees a gap). Rooms whose last local subscriber has left are forgotten by
//! [`Relay::forget_unfollowed`], which the catch-up calls on each round.
//!
//! It does no I/O of its own beyond the [`Store`], and it does not know how hints travel:
//! [`super::bus`] carries them between instances over PostgreSQL. A single instance on
//! SQLite has no relay at all; its messages service publishes straight to the hub.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::hub::Hub;
use super::store::{RoomEvent, Store, StoreError};
use crate::model::RoomId;
use crate::protocol::ServerFrame;

/// "Room `room` has changed up to `seq`": all another instance needs to know to read the
/// events itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    pub room: RoomId,
    pub seq: u64,
}

/// Events read from the store per round trip while catching a room up.
const READ_BATCH: u32 = 500;

/// The delivered high-water mark of one tracked room; `None` until a subscriber's
/// [`Relay::track`] has read it from the database (nothing is delivered before that, and
/// nothing needs to be: every subscriber's replay reads after its own `track`).
type Mark = Arc<Tracked>;

/// A tracked room: its mark, and the hints waiting for a worker.
#[derive(Default)]
struct Tracked {
    delivered: tokio::sync::Mutex<Option<u64>>,
    /// The highest `seq` a hint or a catch-up has asked for.
    wanted: AtomicU64,
    /// A worker is on its way to deliver `wanted`: further hints only raise it.
    scheduled: AtomicBool,
}

pub struct Relay {
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    /// Where this instance's own commits are announced; `None` when nothing listens.
    hints: Option<mpsc::Sender<Hint>>,
    rooms: Mutex<HashMap<RoomId, Mark>>,
}

impl Relay {
    /// A relay publishing into `hub`. Each change this instance commits is offered to
    /// `hints` without waiting; a full queue drops the hint, which the others' catch-up
    /// covers.
    pub fn new(store: Arc<dyn Store>, hub: Arc<Hub>, hints: Option<mpsc::Sender<Hint>>) -> Self {
        Self {
            store,
            hub,
            hints,
            rooms: Mutex::new(HashMap::new()),
        }
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomId, Mark>> {
        // A poisoned lock means a panic elsewhere mid-update; every update is a single map
        // operation, so the map is consistent and carrying on is safe.
        self.rooms
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Starts tracking `room` (or keeps tracking it) for a socket that has just registered
    /// with the hub, and returns once the room's mark is known. Call it before the socket's
    /// replay read.
    pub async fn track(&self, room: RoomId) -> Result<(), StoreError> {
        let mark = self.rooms().entry(room).or_default().clone();
        let mut delivered = mark.delivered.lock().await;
        if delivered.is_none() {
            *delivered = Some(self.store.last_seq(room).await?);
        }
        Ok(())
    }

    /// The rooms tracked now, for the catch-up to ask the database about.
    pub fn tracked(&self) -> Vec<RoomId> {
        self.rooms().keys().copied().collect()
    }

    /// Stops tracking the rooms that no local socket follows any more. The hub is asked
    /// under the relay's map lock, and a socket registers with the hub before it calls
    /// [`Relay::track`], so a room is never dropped under a subscriber that is arriving.
    pub fn forget_unfollowed(&self) {
        let mut rooms = self.rooms();
        rooms.retain(|room, _| self.hub.is_followed(*room));
    }

    /// Publishes `room`'s events after the mark up to at least `seq`, if `seq` is past it,
    /// and returns when done: the synchronous form of [`Relay::hinted`] that tests drive.
    /// (The running server only uses `hinted`, whose worker does the same under the mark.)
    #[cfg(test)]
    pub async fn deliver_up_to(&self, room: RoomId, seq: u64) {
        let Some(mark) = self.mark(room) else {
            return;
        };
        let mut delivered = mark.delivered.lock().await;
        self.deliver_past(room, &mut delivered, seq).await;
    }

    /// With the mark held: reads and publishes what is after it, if `seq` is past it (a
    /// store failure is logged and leaves the mark, for the next hint or catch-up to retry).
    async fn deliver_past(&self, room: RoomId, delivered: &mut Option<u64>, seq: u64) {
        if delivered.is_some_and(|mark| seq > mark) {
            self.read_and_publish(room, delivered).await;
        }
    }

    /// Another instance's hint, or a catch-up, says `room` has changed up to `seq`: it is
    /// delivered in the background, by at most one waiting worker per room however many
    /// hints arrive (a busy room's hints would otherwise each hold a task queued on its
    /// mark, without bound, while the store is slow).
    pub fn hinted(self: &Arc<Self>, room: RoomId, seq: u64) {
        let Some(tracked) = self.mark(room) else {
            return;
        };
        tracked.wanted.fetch_max(seq, Ordering::SeqCst);
        if tracked.scheduled.swap(true, Ordering::SeqCst) {
            return;
        }
        let relay = self.clone();
        tokio::spawn(async move {
            let mut delivered = tracked.delivered.lock().await;
            // From here a new hint schedules a new worker; this one delivers everything up
            // to now (it reads to the end, past `wanted`).
            tracked.scheduled.store(false, Ordering::SeqCst);
            let wanted = tracked.wanted.load(Ordering::SeqCst);
            relay.deliver_past(room, &mut delivered, wanted).await;
        });
    }

    /// A change this instance has committed: it is published here (without a read when it
    /// is the next event of a tracked room) and announced to the other instances.
    pub async fn committed(&self, event: RoomEvent) {
        let (room, seq) = (event.message.room, event.seq);
        if let Some(hints) = &self.hints {
            // Best effort by design: a dropped hint only delays the others until catch-up.
            let _ = hints.try_send(Hint { room, seq });
        }
        let Some(mark) = self.mark(room) else {
            return;
        };
        let mut delivered = mark.delivered.lock().await;
        match *delivered {
            Some(mark) if seq == mark + 1 => {
                self.hub.publish(room, seq, &ServerFrame::from(event));
                *delivered = Some(seq);
            }
            Some(mark) if seq > mark => self.read_and_publish(room, &mut delivered).await,
            // Already delivered (a hint or a read got there first), or not yet tracked.
            _ => {}
        }
    }

    fn mark(&self, room: RoomId) -> Option<Mark> {
        self.rooms().get(&room).cloned()
    }

    /// Reads every event after `*delivered` and publishes them in order, moving the mark
    /// after each, so a failure halfway keeps what was delivered.
    async fn read_and_publish(&self, room: RoomId, delivered: &mut Option<u64>) {
        let Some(mut after) = *delivered else {
            return;
        };
        loop {
            let events = match self.store.events_after(room, after, None, READ_BATCH).await {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(%error, %room, after, "relay: cannot read the room's events");
                    return;
                }
            };
            let full = events.len() >= READ_BATCH as usize;
            for event in events {
                after = event.seq;
                // A new post (not an edit or a deletion, which take a later `seq`) ends its
                // author's typing, on every instance that delivers it.
                let author = (event.seq == event.message.seq)
                    .then(|| event.message.author.as_ref().map(|author| author.id))
                    .flatten();
                self.hub.publish(room, event.seq, &ServerFrame::from(event));
                if let Some(author) = author {
                    self.hub.stop_typing(room, author);
                }
                *delivered = Some(after);
            }
            if !full {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::backend::hub::{HubLimits, Outbound, Subscription};
    use crate::backend::presence::PresenceTimings;
    use crate::backend::store::{NewMessage, NewRoom, NewUser, SqliteStore, StoreConfig};
    use crate::model::{UserId, Visibility};
    use crate::protocol::{ClientId, Person};

    /// A relay on a SQLite store of its own with one room, and a socket following the room.
    struct Fixture {
        relay: Arc<Relay>,
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        room: RoomId,
        author: UserId,
        posted: u32,
        _dir: tempfile::TempDir,
    }

    impl Fixture {
        async fn new() -> Self {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let config = StoreConfig::sqlite_file(&dir.path().join("sori.db"));
            let store: Arc<dyn Store> =
                Arc::new(SqliteStore::open(&config).await.expect("the store opens"));
            let author = store
                .create_user(NewUser {
                    username: "author",
                    display_name: "Author",
                    password_hash: "$argon2id$fake",
                    now_ms: 1,
                })
                .await
                .expect("the user is created")
                .id;
            let room = store
                .create_room(NewRoom {
                    name: "r",
                    topic: "",
                    visibility: Visibility::Public,
                    owner: author,
                    now_ms: 1,
                })
                .await
                .expect("the room is created");
            let hub = Arc::new(Hub::new(
                HubLimits {
                    queue_capacity: 64,
                    connections_per_user: 8,
                    subscriptions_per_connection: 8,
                    presence: PresenceTimings {
                        leave_grace: Duration::from_secs(5),
                        typing_ttl: Duration::from_secs(5),
                    },
                },
                None,
            ));
            let relay = Arc::new(Relay::new(store.clone(), hub.clone(), None));
            Self {
                relay,
                store,
                hub,
                room,
                author,
                posted: 0,
                _dir: dir,
            }
        }

        /// A socket registered with the hub for the room, as a subscriber is before `track`.
        fn follower(&self) -> Subscription {
            let socket = self
                .hub
                .connect(
                    Person {
                        id: UserId(99),
                        username: "watcher".into(),
                        display_name: "Watcher".into(),
                    },
                    [0; 32],
                )
                .expect("under the connection limit");
            self.hub
                .follow(socket.id, self.room)
                .expect("under the subscription limit");
            socket
        }

        /// Commits a post, as another instance would: straight to the store, no relay.
        async fn commit_elsewhere(&mut self) -> RoomEvent {
            self.posted += 1;
            let client_id =
                ClientId::parse(&format!("00000000-0000-4000-8000-{:012x}", self.posted))
                    .expect("a UUID");
            let posted = self
                .store
                .insert_message(NewMessage {
                    room: self.room,
                    author: self.author,
                    author_name: "Author",
                    author_username: "author",
                    client_id: &client_id,
                    body: "hello",
                    rich: &crate::model::RichText::plain("hello"),
                    mentioned: &[],
                    now_ms: 2,
                    reply_to: None,
                })
                .await
                .expect("the post is stored");
            RoomEvent {
                seq: posted.message.seq,
                message: posted.message,
            }
        }
    }

    fn received(socket: &mut Subscription) -> Vec<u64> {
        let mut seqs = Vec::new();
        while let Ok(outbound) = socket.outbound.try_recv() {
            if let Outbound::Event { seq, .. } = outbound {
                seqs.push(seq);
            }
        }
        seqs
    }

    #[tokio::test]
    async fn a_hint_past_the_mark_delivers_every_event_after_it_once_and_in_order() {
        let mut fixture = Fixture::new().await;
        fixture.commit_elsewhere().await;
        let mut socket = fixture.follower();
        fixture.relay.track(fixture.room).await.unwrap();
        for _ in 0..3 {
            fixture.commit_elsewhere().await;
        }
        fixture.relay.deliver_up_to(fixture.room, 4).await;
        assert_eq!(received(&mut socket), [2, 3, 4], "seq 1 predates the mark");
        fixture.relay.deliver_up_to(fixture.room, 4).await;
        fixture.relay.deliver_up_to(fixture.room, 2).await;
        assert!(received(&mut socket).is_empty(), "nothing twice");
    }

    #[tokio::test]
    async fn the_next_event_in_hand_is_published_without_a_read_and_a_later_one_fills_the_gap() {
        let mut fixture = Fixture::new().await;
        let mut socket = fixture.follower();
        fixture.relay.track(fixture.room).await.unwrap();
        let first = fixture.commit_elsewhere().await;
        fixture.relay.committed(first).await;
        assert_eq!(received(&mut socket), [1]);
        // Seq 2 commits on another instance, its hint still on the way; seq 3 is ours.
        fixture.commit_elsewhere().await;
        let third = fixture.commit_elsewhere().await;
        fixture.relay.committed(third.clone()).await;
        assert_eq!(
            received(&mut socket),
            [2, 3],
            "read from the store, in order"
        );
        fixture.relay.committed(third).await;
        fixture.relay.deliver_up_to(fixture.room, 3).await;
        assert!(
            received(&mut socket).is_empty(),
            "the late copies are dropped"
        );
    }

    #[tokio::test]
    async fn concurrent_callers_for_one_room_deliver_each_event_once_in_order() {
        let mut fixture = Fixture::new().await;
        let mut socket = fixture.follower();
        fixture.relay.track(fixture.room).await.unwrap();
        let mut events = Vec::new();
        for _ in 0..20 {
            events.push(fixture.commit_elsewhere().await);
        }
        // Every event offered by its own task, and hints for each, in no particular order.
        let mut tasks = Vec::new();
        for event in events.into_iter().rev() {
            let relay = fixture.relay.clone();
            let (room, seq) = (fixture.room, event.seq);
            tasks.push(tokio::spawn(async move {
                relay.committed(event).await;
                relay.deliver_up_to(room, seq).await;
            }));
        }
        for task in tasks {
            task.await.expect("the task does not panic");
        }
        assert_eq!(received(&mut socket), (1..=20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn an_untracked_room_is_not_read_or_published() {
        let mut fixture = Fixture::new().await;
        let mut socket = fixture.follower();
        let event = fixture.commit_elsewhere().await;
        fixture.relay.committed(event).await;
        fixture.relay.deliver_up_to(fixture.room, 1).await;
        assert!(received(&mut socket).is_empty(), "no track, no delivery");
        assert!(fixture.relay.tracked().is_empty());
    }

    #[tokio::test]
    async fn the_mark_is_read_when_tracking_starts_so_the_replay_and_the_relay_meet() {
        let mut fixture = Fixture::new().await;
        fixture.commit_elsewhere().await;
        let mut socket = fixture.follower();
        fixture.relay.track(fixture.room).await.unwrap();
        // Committed after the mark was read and before the subscriber's replay read: the
        // replay has it and so does the relay (the socket drops the second copy).
        fixture.commit_elsewhere().await;
        let replayed = fixture.store.last_seq(fixture.room).await.unwrap();
        assert_eq!(replayed, 2);
        fixture.relay.deliver_up_to(fixture.room, 2).await;
        assert_eq!(received(&mut socket), [2]);
    }

    #[tokio::test]
    async fn a_room_is_forgotten_once_its_last_follower_leaves_and_tracked_afresh_after() {
        let mut fixture = Fixture::new().await;
        let socket = fixture.follower();
        fixture.relay.track(fixture.room).await.unwrap();
        fixture.relay.forget_unfollowed();
        assert_eq!(fixture.relay.tracked(), [fixture.room], "still followed");
        fixture.hub.disconnect(socket.id);
        fixture.relay.forget_unfollowed();
        assert!(fixture.relay.tracked().is_empty());

        fixture.commit_elsewhere().await;
        let mut again = fixture.follower();
        fixture.relay.track(fixture.room).await.unwrap();
        fixture.commit_elsewhere().await;
        fixture.relay.deliver_up_to(fixture.room, 2).await;
        assert_eq!(
            received(&mut again),
            [2],
            "the new mark starts at the database's"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_hints_delivers_each_event_once_in_order_with_one_worker_waiting() {
        let mut fixture = Fixture::new().await;
        let mut socket = fixture.follower();
        fixture.relay.track(fixture.room).await.unwrap();
        for _ in 0..5 {
            fixture.commit_elsewhere().await;
        }
        // Hold the mark, as a slow read would, while a hundred hints arrive.
        let tracked = fixture.relay.mark(fixture.room).expect("tracked");
        let held = tracked.delivered.lock().await;
        for seq in 1..=100 {
            fixture.relay.hinted(fixture.room, seq % 5 + 1);
        }
        assert!(tracked.scheduled.load(Ordering::SeqCst), "one worker waits");
        assert_eq!(tracked.wanted.load(Ordering::SeqCst), 5);
        drop(held);
        let mut seqs = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while seqs.len() < 5 && tokio::time::Instant::now() < deadline {
            seqs.extend(received(&mut socket));
            tokio::task::yield_now().await;
        }
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        fixture.relay.deliver_up_to(fixture.room, 5).await;
        assert!(received(&mut socket).is_empty(), "nothing twice");
    }
}
