//! The hub: fan-out of room events to the sockets subscribed to them. It does no I/O and
//! never blocks, so it is unit-tested without a socket.
//!
//! Each connection has a bounded outbound queue. Publishing encodes a frame once and offers
//! the same bytes to every subscriber's queue without waiting; a subscriber whose queue is
//! full has fallen behind, so it is cut off (close code 4001, "too slow; resume") instead of
//! slowing everyone else or growing memory without bound. It resumes from its last `seq`.
//!
//! The hub also knows who is subscribed where, so it drives presence (who is online, who is
//! typing; see [`super::presence`]) and delivers those ephemeral frames the same way.
//!
//! The state is behind a `std::sync::Mutex`: every operation is a few map updates and
//! `try_send`s with no `.await`, so an async mutex would only add cost.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::presence::{Presence, PresenceEvent, ReadTicket, ReadTrust, ShareQueue};
use super::store::TokenHash;
use crate::model::{RoomId, UserId};
use crate::protocol::close::Reason;
use crate::protocol::{Person, ServerFrame};

mod config;
mod frames;

pub use config::{HubLimits, RealtimeConfig};
pub use frames::{Encoded, Outbound};

/// Identifies one socket for the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

/// The connection's end of the hub: its queue, and the signal that it must close.
pub struct Subscription {
    pub id: ConnectionId,
    pub user: UserId,
    pub outbound: mpsc::Receiver<Outbound>,
    /// Set once, when the hub tells the connection to close and forgets it.
    pub kicked: watch::Receiver<Option<Reason>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectError {
    /// The user already has the maximum number of open sockets.
    TooManyConnections { limit: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeError {
    TooManySubscriptions {
        limit: usize,
    },
    /// The connection was closed or cut off meanwhile.
    Gone,
    /// The connection no longer follows the room: access was revoked meanwhile.
    Revoked,
}

struct Connection {
    person: Person,
    /// The session the socket was opened with (its token's hash): ending that session
    /// closes this socket, and only the sockets of that session.
    session: TokenHash,
    queue: mpsc::Sender<Outbound>,
    kick: watch::Sender<Option<Reason>>,
    /// Subscribed rooms, each `true` if the subscription makes the person present there
    /// (a quiet one only follows the room's events, for its unread count).
    rooms: HashMap<RoomId, bool>,
}

struct State {
    next_id: u64,
    connections: HashMap<ConnectionId, Connection>,
    rooms: HashMap<RoomId, HashSet<ConnectionId>>,
    users: HashMap<UserId, HashSet<ConnectionId>>,
    presence: Presence,
}

/// Presence changes from one read above which the room is sent the whole list instead.
const PRESENCE_BURST: usize = 32;

/// How often expired presence (departures past their grace, stale typing) is announced.
const PRESENCE_TICK: Duration = Duration::from_millis(250);

pub struct Hub {
    limits: HubLimits,
    state: Mutex<State>,
}

impl Hub {
    /// A hub whose presence transitions are offered to `share` when other instances share
    /// the store (see [`super::presence`]).
    pub fn new(limits: HubLimits, share: Option<ShareQueue>) -> Self {
        let presence = Presence::new(limits.presence, share);
        Self {
            limits,
            state: Mutex::new(State {
                next_id: 0,
                connections: HashMap::new(),
                rooms: HashMap::new(),
                users: HashMap::new(),
                presence,
            }),
        }
    }

    /// Starts the task that announces expired presence; it ends with the hub.
    pub fn start_presence_timer(hub: &Arc<Hub>) -> tokio::task::JoinHandle<()> {
        let hub: Weak<Hub> = Arc::downgrade(hub);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(PRESENCE_TICK);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(hub) = hub.upgrade() else { return };
                hub.expire_presence(Instant::now());
            }
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic mid-update elsewhere; every update below leaves the
        // maps consistent at each step, so carrying on is safe.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Registers a new socket of `person`, opened with `session`.
    pub fn connect(
        &self,
        person: Person,
        session: TokenHash,
    ) -> Result<Subscription, ConnectError> {
        let user = person.id;
        let mut state = self.state();
        let open = state.users.get(&user).map_or(0, HashSet::len);
        if open >= self.limits.connections_per_user {
            return Err(ConnectError::TooManyConnections {
                limit: self.limits.connections_per_user,
            });
        }
        state.next_id += 1;
        let id = ConnectionId(state.next_id);
        let (queue, outbound) = mpsc::channel(self.limits.queue_capacity.max(1));
        let (kick, kicked) = watch::channel(None);
        state.connections.insert(
            id,
            Connection {
                person,
                session,
                queue,
                kick,
                rooms: HashMap::new(),
            },
        );
        state.users.entry(user).or_default().insert(id);
        Ok(Subscription {
            id,
            user,
            outbound,
            kicked,
        })
    }

    /// Forgets a socket and all its subscriptions. Safe to call more than once.
    pub fn disconnect(&self, id: ConnectionId) {
        let mut state = self.state();
        remove_connection(&mut state, id);
    }

    /// Starts following `room` on the connection: its events are delivered from now on, but
    /// the person is not present there (a subscription it already has keeps its mode).
    /// Returns whether it is new. Check access *after* this returns: from then on, a
    /// revocation finds this registration, so one that lands between the check and
    /// `set_present` is not missed.
    pub fn follow(&self, id: ConnectionId, room: RoomId) -> Result<bool, SubscribeError> {
        let mut state = self.state();
        let limit = self.limits.subscriptions_per_connection;
        let connection = state.connections.get_mut(&id).ok_or(SubscribeError::Gone)?;
        let new = !connection.rooms.contains_key(&room);
        if new {
            if connection.rooms.len() >= limit {
                return Err(SubscribeError::TooManySubscriptions { limit });
            }
            connection.rooms.insert(room, false);
            state.rooms.entry(room).or_default().insert(id);
        }
        Ok(new)
    }

    /// Makes a followed room's subscription present (the person is online there) or quiet
    /// (it only follows the room's events, for its unread count). Becoming present announces
    /// `Joined` to the others in the room, not to this socket, which gets the whole list
    /// instead. `Revoked` if the connection no longer follows the room: access ended since
    /// [`Hub::follow`], and the socket has been queued the notice saying so.
    pub fn set_present(
        &self,
        id: ConnectionId,
        room: RoomId,
        present: bool,
    ) -> Result<(), SubscribeError> {
        let mut state = self.state();
        let connection = state.connections.get_mut(&id).ok_or(SubscribeError::Gone)?;
        let was = *connection.rooms.get(&room).ok_or(SubscribeError::Revoked)?;
        let person = connection.person.clone();
        let now = Instant::now();
        match (was, present) {
            (false, true) => {
                // Offered while this socket is still quiet there, so only the others get it.
                if let Some(joined) = state.presence.arrive(room, &person, now) {
                    let frame = presence_frame(room, joined);
                    offer(&mut state, room, Delivery::Presence, encode(&frame));
                }
            }
            (true, false) => {
                let _ = state.presence.depart(room, person.id, now, false);
            }
            _ => {}
        }
        if let Some(connection) = state.connections.get_mut(&id) {
            connection.rooms.insert(room, present);
        }
        Ok(())
    }

    pub fn unsubscribe(&self, id: ConnectionId, room: RoomId) {
        let mut state = self.state();
        let ended = state.connections.get_mut(&id).and_then(|connection| {
            let present = connection.rooms.remove(&room)?;
            Some((connection.person.id, present))
        });
        remove_from_room(&mut state, room, id);
        if let Some((user, true)) = ended {
            let _ = state.presence.depart(room, user, Instant::now(), false);
        }
    }

    /// Delivers a room event to every subscriber. Encodes once; never waits.
    pub fn publish(&self, room: RoomId, seq: u64, frame: &ServerFrame) {
        // Encoded before taking the lock: every publish shares it.
        let json = encode(frame);
        let mut state = self.state();
        offer(&mut state, room, Delivery::Event(seq), json);
    }

    /// Whether any socket of this instance follows `room` (the relay tracks only those).
    pub fn is_followed(&self, room: RoomId) -> bool {
        self.state().rooms.contains_key(&room)
    }

    /// Who is online in `room`, for a new subscriber.
    pub fn online(&self, room: RoomId) -> Vec<Person> {
        self.state().presence.online(room)
    }

    /// A typing signal from a socket subscribed to `room`.
    pub fn typing(&self, id: ConnectionId, room: RoomId) {
        let mut state = self.state();
        let Some(person) = state
            .connections
            .get(&id)
            // Only a socket present in the room (not a quiet follower) types in it.
            .filter(|connection| connection.rooms.get(&room) == Some(&true))
            .map(|connection| connection.person.clone())
        else {
            return;
        };
        if let Some(started) = state.presence.typing(room, &person, Instant::now()) {
            let frame = presence_frame(room, started);
            offer(&mut state, room, Delivery::Presence, encode(&frame));
        }
    }

    /// `user` posted in `room`: their typing indicator ends at once.
    pub fn stop_typing(&self, room: RoomId, user: UserId) {
        let mut state = self.state();
        if let Some(stopped) = state.presence.stop_typing(room, user, Instant::now()) {
            let frame = presence_frame(room, stopped);
            offer(&mut state, room, Delivery::Presence, encode(&frame));
        }
    }

    /// A typing signal another instance passed on, shown to the sockets present in `room`.
    pub fn typing_elsewhere(&self, room: RoomId, person: &Person) {
        let mut state = self.state();
        if let Some(started) = state
            .presence
            .typing_elsewhere(room, person, Instant::now())
        {
            let frame = presence_frame(room, started);
            offer(&mut state, room, Delivery::Presence, encode(&frame));
        }
    }

    /// A ticket for a read of who the other instances have where, taken before the read.
    pub fn start_presence_read(&self) -> ReadTicket {
        self.state().presence.start_read()
    }

    /// Installs a read of who the other instances have in each of `rooms` (`people` holds
    /// the rows, by room; a room without any has no one elsewhere) and announces what
    /// changed. See [`Presence::seen_elsewhere`]. A change of many people at once (another
    /// instance's crowd arriving, or leaving with it) is sent as the whole list instead:
    /// one frame rather than a burst that would overflow every subscriber's queue.
    pub fn seen_elsewhere(
        &self,
        ticket: ReadTicket,
        rooms: &[RoomId],
        people: Vec<(RoomId, Person)>,
        trust: ReadTrust,
    ) {
        let mut by_room: HashMap<RoomId, Vec<Person>> =
            rooms.iter().map(|room| (*room, Vec::new())).collect();
        for (room, person) in people {
            by_room.entry(room).or_default().push(person);
        }
        let mut state = self.state();
        for (room, people) in by_room {
            let events = state.presence.seen_elsewhere(room, ticket, people, trust);
            if events.len() > PRESENCE_BURST {
                let online = state.presence.online(room);
                let frame = ServerFrame::Presence { room, online };
                offer(&mut state, room, Delivery::Presence, encode(&frame));
                continue;
            }
            for event in events {
                let frame = presence_frame(room, event);
                offer(&mut state, room, Delivery::Presence, encode(&frame));
            }
        }
    }

    /// A read of `rooms`, started with `ticket`, failed. See [`Presence::read_failed`].
    pub fn presence_read_failed(&self, ticket: ReadTicket, rooms: &[RoomId]) {
        let mut state = self.state();
        for room in rooms {
            state.presence.read_failed(*room, ticket);
        }
    }

    /// Whether who the other instances have in `room` is known here, and kept current.
    pub fn knows_presence_elsewhere(&self, room: RoomId) -> bool {
        self.state().presence.knows_elsewhere(room)
    }

    /// The rooms where someone is present through this instance.
    pub fn rooms_present_here(&self) -> Vec<RoomId> {
        self.state().presence.rooms_here()
    }

    /// Everyone present through this instance, by room.
    pub fn everyone_present_here(&self) -> Vec<(RoomId, UserId)> {
        self.state().presence.everyone_here()
    }

    /// Announces the departures whose grace period is over and the typing that went stale.
    pub fn expire_presence(&self, now: Instant) {
        let mut state = self.state();
        let expired: Vec<(RoomId, PresenceEvent)> = state.presence.expire(now);
        for (room, event) in expired {
            let frame = presence_frame(room, event);
            offer(&mut state, room, Delivery::Presence, encode(&frame));
        }
    }

    /// Ends the subscriptions of `user` to `room` on every socket, telling each why.
    pub fn revoke_room(&self, user: UserId, room: RoomId, frame: &ServerFrame) {
        let json = encode(frame);
        let mut state = self.state();
        for id in connections_of(&state, user) {
            end_subscription(&mut state, id, room, &json);
        }
    }

    /// Ends the subscriptions to `room` of everyone not in `members` (the room was made
    /// private: its readers lose it, its members keep it), telling each socket why.
    pub fn revoke_readers(&self, room: RoomId, members: &HashSet<UserId>, frame: &ServerFrame) {
        let json = encode(frame);
        let mut state = self.state();
        let readers: Vec<ConnectionId> = state
            .rooms
            .get(&room)
            .into_iter()
            .flatten()
            .filter(|id| {
                state
                    .connections
                    .get(id)
                    .is_some_and(|connection| !members.contains(&connection.person.id))
            })
            .copied()
            .collect();
        for id in readers {
            end_subscription(&mut state, id, room, &json);
        }
    }

    /// Ends every subscription to `room` (it was deleted), telling each socket why.
    pub fn close_room(&self, room: RoomId, frame: &ServerFrame) {
        let json = encode(frame);
        let mut state = self.state();
        let ids = state.rooms.remove(&room).unwrap_or_default();
        state.presence.forget_room(room);
        for id in ids {
            if let Some(connection) = state.connections.get_mut(&id) {
                connection.rooms.remove(&room);
                // A full queue means the socket is being cut off as too slow; it will be
                // refused (the room is gone) when it resubscribes.
                let _ = connection.queue.try_send(Outbound::Ended {
                    room,
                    json: json.clone(),
                });
            }
        }
    }

    /// Closes every socket of `user` (signed out everywhere, or the account was deleted).
    pub fn close_user(&self, user: UserId, kick_with: Reason) {
        self.close_sessions(user, kick_with, |_| true);
    }

    /// Closes the sockets of `user` opened with `session` (it was signed out or expired).
    pub fn close_session(&self, user: UserId, session: &TokenHash, kick_with: Reason) {
        self.close_sessions(user, kick_with, |opened| opened == session);
    }

    /// Closes the sockets of `user` opened with any session but `keep` (the password was
    /// changed in `keep`, which ended all the others).
    pub fn close_other_sessions(&self, user: UserId, keep: &TokenHash, kick_with: Reason) {
        self.close_sessions(user, kick_with, |opened| opened != keep);
    }

    fn close_sessions(&self, user: UserId, with: Reason, ended: impl Fn(&TokenHash) -> bool) {
        let mut state = self.state();
        for id in connections_of(&state, user) {
            let closing = state
                .connections
                .get(&id)
                .is_some_and(|connection| ended(&connection.session));
            if closing {
                kick(&mut state, id, with);
            }
        }
    }

    /// How many sockets are open; for tests and metrics.
    pub fn connection_count(&self) -> usize {
        self.state().connections.len()
    }
}

/// The sockets `user` has open, copied out so the caller may change the state while walking
/// them.
fn connections_of(state: &State, user: UserId) -> Vec<ConnectionId> {
    state
        .users
        .get(&user)
        .map(|ids| ids.iter().copied().collect())
        .unwrap_or_default()
}

/// Ends one socket's subscription to `room`, if it has one, queueing `json` (why) for it;
/// the others in the room see the person leave at once.
fn end_subscription(state: &mut State, id: ConnectionId, room: RoomId, json: &Encoded) {
    let Some(connection) = state.connections.get_mut(&id) else {
        return;
    };
    let Some(present) = connection.rooms.remove(&room) else {
        return;
    };
    let user = connection.person.id;
    // If the queue is full the client is cut off anyway and will be refused on
    // resubscribing, so a dropped notice loses nothing.
    let ended = Outbound::Ended {
        room,
        json: json.clone(),
    };
    let _ = connection.queue.try_send(ended);
    remove_from_room(state, room, id);
    // Access is gone: no grace period, the others see them leave now.
    let left = present
        .then(|| state.presence.depart(room, user, Instant::now(), true))
        .flatten();
    if let Some(left) = left {
        let frame = presence_frame(room, left);
        offer(state, room, Delivery::Presence, encode(&frame));
    }
}

/// Tells a connection to close and forgets it, so nothing more is queued for it.
fn kick(state: &mut State, id: ConnectionId, with: Reason) {
    if let Some(connection) = state.connections.get(&id) {
        connection.kick.send_replace(Some(with));
    }
    remove_connection(state, id);
}

/// A frame as the bytes every subscriber's queue shares.
fn encode(frame: &ServerFrame) -> Encoded {
    Encoded::from(frame)
}

/// A presence change as its room's subscribers receive it.
fn presence_frame(room: RoomId, event: PresenceEvent) -> ServerFrame {
    match event {
        PresenceEvent::Joined(person) => ServerFrame::Joined { room, person },
        PresenceEvent::Left(person) => ServerFrame::Left { room, person },
        PresenceEvent::Typing { person, typing } => ServerFrame::Typing {
            room,
            person,
            typing,
        },
    }
}

/// What a frame offered to a room's subscribers is.
#[derive(Clone, Copy)]
enum Delivery {
    /// A numbered room event, for every subscriber.
    Event(u64),
    /// Presence or typing, for the subscribers present in the room only.
    Presence,
}

/// Offers a frame to the subscribers of `room` without waiting; a subscriber whose queue is
/// full has fallen behind and is cut off.
fn offer(state: &mut State, room: RoomId, delivery: Delivery, json: Encoded) {
    let Some(subscribers) = state.rooms.get(&room) else {
        return;
    };
    let mut slow = Vec::new();
    for id in subscribers {
        let Some(connection) = state.connections.get(id) else {
            continue;
        };
        let outbound = match delivery {
            Delivery::Event(seq) => Outbound::Event {
                room,
                seq,
                json: json.clone(),
            },
            Delivery::Presence if connection.rooms.get(&room) == Some(&true) => {
                Outbound::Ephemeral {
                    room,
                    json: json.clone(),
                }
            }
            Delivery::Presence => continue,
        };
        if connection.queue.try_send(outbound).is_err() {
            slow.push(*id);
        }
    }
    for id in slow {
        kick(state, id, Reason::TOO_SLOW);
    }
}

fn remove_connection(state: &mut State, id: ConnectionId) {
    let Some(connection) = state.connections.remove(&id) else {
        return;
    };
    let user = connection.person.id;
    let now = Instant::now();
    for (room, present) in connection.rooms {
        remove_from_room(state, room, id);
        if present {
            let _ = state.presence.depart(room, user, now, false);
        }
    }
    if let Some(ids) = state.users.get_mut(&user) {
        ids.remove(&id);
        if ids.is_empty() {
            state.users.remove(&user);
        }
    }
}

fn remove_from_room(state: &mut State, room: RoomId, id: ConnectionId) {
    if let Some(ids) = state.rooms.get_mut(&room) {
        ids.remove(&id);
        if ids.is_empty() {
            state.rooms.remove(&room);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::presence::PresenceTimings;
    use crate::protocol::{UnsubscribeReason, close};

    const ROOM: RoomId = RoomId(1);

    /// The session of the sockets whose session does not matter to the test.
    const ANY_SESSION: TokenHash = [0; 32];

    const GRACE: Duration = Duration::from_secs(5);

    /// Follows and sets the mode in one step, as a socket does once access is checked.
    fn subscribe(
        hub: &Hub,
        id: ConnectionId,
        room: RoomId,
        quiet: bool,
    ) -> Result<bool, SubscribeError> {
        let new = hub.follow(id, room)?;
        hub.set_present(id, room, !quiet)?;
        Ok(new)
    }

    /// Person 2, present in `ROOM`, to see what the others are told.
    fn watching(hub: &Hub) -> Subscription {
        let watcher = hub.connect(person(2), ANY_SESSION).unwrap();
        subscribe(hub, watcher.id, ROOM, false).unwrap();
        watcher
    }

    fn hub(queue_capacity: usize) -> Hub {
        Hub::new(
            HubLimits {
                queue_capacity,
                connections_per_user: 3,
                subscriptions_per_connection: 2,
                presence: PresenceTimings {
                    leave_grace: GRACE,
                    typing_ttl: Duration::from_secs(5),
                },
            },
            None,
        )
    }

    fn person(id: i64) -> Person {
        Person {
            id: UserId(id),
            username: format!("person{id}"),
            display_name: format!("Person {id}"),
        }
    }

    /// The next queued item that is not presence.
    fn next_not_presence(subscription: &mut Subscription) -> Option<Outbound> {
        loop {
            match subscription.outbound.try_recv().ok()? {
                Outbound::Ephemeral { .. } => continue,
                other => return Some(other),
            }
        }
    }

    /// The ephemeral frames queued for a connection, as JSON values.
    fn ephemeral(subscription: &mut Subscription) -> Vec<serde_json::Value> {
        let mut frames = Vec::new();
        while let Ok(outbound) = subscription.outbound.try_recv() {
            if let Outbound::Ephemeral { json, .. } = outbound {
                frames.push(serde_json::from_slice(json.as_bytes()).unwrap());
            }
        }
        frames
    }

    fn frame(seq: u64) -> ServerFrame {
        ServerFrame::Subscribed {
            room: ROOM,
            last_seq: seq,
        }
    }

    fn received(subscription: &mut Subscription) -> Vec<u64> {
        let mut seqs = Vec::new();
        while let Ok(outbound) = subscription.outbound.try_recv() {
            if let Outbound::Event { seq, .. } = outbound {
                seqs.push(seq);
            }
        }
        seqs
    }

    #[test]
    fn a_published_event_reaches_every_subscriber_of_the_room_only() {
        let hub = hub(8);
        let mut a = hub.connect(person(1), ANY_SESSION).unwrap();
        let mut b = hub.connect(person(2), ANY_SESSION).unwrap();
        let mut other = hub.connect(person(3), ANY_SESSION).unwrap();
        subscribe(&hub, a.id, ROOM, false).unwrap();
        subscribe(&hub, b.id, ROOM, false).unwrap();
        subscribe(&hub, other.id, RoomId(2), false).unwrap();
        hub.publish(ROOM, 1, &frame(1));
        hub.publish(ROOM, 2, &frame(2));
        assert_eq!(received(&mut a), [1, 2]);
        assert_eq!(received(&mut b), [1, 2]);
        assert_eq!(received(&mut other), Vec::<u64>::new());
    }

    #[test]
    fn the_encoded_bytes_are_shared_not_copied_per_subscriber() {
        let hub = hub(8);
        let mut a = hub.connect(person(1), ANY_SESSION).unwrap();
        let mut b = hub.connect(person(2), ANY_SESSION).unwrap();
        subscribe(&hub, a.id, ROOM, false).unwrap();
        subscribe(&hub, b.id, ROOM, false).unwrap();
        hub.publish(ROOM, 1, &frame(1));
        let (Some(Outbound::Event { json: first, .. }), Some(Outbound::Event { json: second, .. })) =
            (next_not_presence(&mut a), next_not_presence(&mut b))
        else {
            panic!("both receive the event");
        };
        // Clones of `Encoded` share one allocation.
        assert_eq!(first.as_bytes().as_ptr(), second.as_bytes().as_ptr());
    }

    #[test]
    fn a_slow_consumer_is_cut_off_with_4001_and_the_others_are_unaffected() {
        let hub = hub(2);
        let slow = hub.connect(person(1), ANY_SESSION).unwrap();
        let mut fast = hub.connect(person(2), ANY_SESSION).unwrap();
        subscribe(&hub, slow.id, ROOM, false).unwrap();
        subscribe(&hub, fast.id, ROOM, false).unwrap();
        for seq in 1..=3 {
            hub.publish(ROOM, seq, &frame(seq));
            // The fast one keeps up; the slow one never reads.
            assert_eq!(received(&mut fast), [seq]);
        }
        let kick = *slow.kicked.borrow();
        assert_eq!(kick.map(|kick| kick.code), Some(close::TOO_SLOW));
        assert_eq!(hub.connection_count(), 1, "the slow one is forgotten");
        hub.publish(ROOM, 4, &frame(4));
        assert_eq!(received(&mut fast), [4]);
    }

    #[test]
    fn connections_per_user_are_capped() {
        let hub = hub(8);
        let _open: Vec<_> = (0..3)
            .map(|_| hub.connect(person(1), ANY_SESSION).unwrap())
            .collect();
        let refused = hub.connect(person(1), ANY_SESSION).err();
        assert_eq!(refused, Some(ConnectError::TooManyConnections { limit: 3 }));
        assert!(
            hub.connect(person(2), ANY_SESSION).is_ok(),
            "other users are not affected"
        );
    }

    #[test]
    fn subscriptions_per_connection_are_capped_and_repeats_are_free() {
        let hub = hub(8);
        let a = hub.connect(person(1), ANY_SESSION).unwrap();
        assert_eq!(subscribe(&hub, a.id, RoomId(1), false), Ok(true));
        assert_eq!(subscribe(&hub, a.id, RoomId(1), false), Ok(false));
        assert_eq!(subscribe(&hub, a.id, RoomId(2), false), Ok(true));
        assert_eq!(
            subscribe(&hub, a.id, RoomId(3), false),
            Err(SubscribeError::TooManySubscriptions { limit: 2 })
        );
    }

    #[test]
    fn unsubscribing_and_disconnecting_stop_delivery() {
        let hub = hub(8);
        let mut a = hub.connect(person(1), ANY_SESSION).unwrap();
        subscribe(&hub, a.id, ROOM, false).unwrap();
        hub.unsubscribe(a.id, ROOM);
        hub.publish(ROOM, 1, &frame(1));
        assert!(received(&mut a).is_empty());
        subscribe(&hub, a.id, ROOM, false).unwrap();
        hub.disconnect(a.id);
        hub.disconnect(a.id);
        assert_eq!(hub.connection_count(), 0);
    }

    #[test]
    fn revoking_a_room_for_a_user_ends_it_on_all_their_sockets_with_a_notice() {
        let hub = hub(8);
        let mut tab1 = hub.connect(person(1), ANY_SESSION).unwrap();
        let mut tab2 = hub.connect(person(1), ANY_SESSION).unwrap();
        let mut other = hub.connect(person(2), ANY_SESSION).unwrap();
        for id in [tab1.id, tab2.id, other.id] {
            subscribe(&hub, id, ROOM, false).unwrap();
        }
        let notice = ServerFrame::Unsubscribed {
            room: ROOM,
            reason: UnsubscribeReason::AccessEnded,
        };
        hub.revoke_room(UserId(1), ROOM, &notice);
        for tab in [&mut tab1, &mut tab2] {
            assert!(matches!(
                next_not_presence(tab),
                Some(Outbound::Ended { room: ROOM, .. })
            ));
        }
        hub.publish(ROOM, 1, &frame(1));
        assert!(received(&mut tab1).is_empty());
        assert!(received(&mut tab2).is_empty());
        assert_eq!(received(&mut other), [1]);
    }

    #[test]
    fn closing_a_user_kicks_every_socket_of_theirs() {
        let hub = hub(8);
        let tab1 = hub.connect(person(1), ANY_SESSION).unwrap();
        let tab2 = hub.connect(person(1), ANY_SESSION).unwrap();
        let other = hub.connect(person(2), ANY_SESSION).unwrap();
        let ended = Reason {
            code: close::SESSION_ENDED,
            text: "signed out",
        };
        hub.close_user(UserId(1), ended);
        assert_eq!(*tab1.kicked.borrow(), Some(ended));
        assert_eq!(*tab2.kicked.borrow(), Some(ended));
        assert_eq!(*other.kicked.borrow(), None);
        assert_eq!(hub.connection_count(), 1);
    }

    #[test]
    fn a_persons_first_subscription_announces_them_once() {
        let hub = hub(8);
        let mut watcher = watching(&hub);
        ephemeral(&mut watcher);
        let tab1 = hub.connect(person(1), ANY_SESSION).unwrap();
        let tab2 = hub.connect(person(1), ANY_SESSION).unwrap();
        subscribe(&hub, tab1.id, ROOM, false).unwrap();
        subscribe(&hub, tab2.id, ROOM, false).unwrap();
        let frames = ephemeral(&mut watcher);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0]["type"], "joined");
        assert_eq!(frames[0]["person"]["display_name"], "Person 1");
        let online: Vec<_> = hub.online(ROOM).into_iter().map(|p| p.id).collect();
        assert_eq!(online, [UserId(1), UserId(2)]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_timer_announces_a_leave_after_the_grace_period_of_the_last_tab() {
        let hub = Arc::new(hub(8));
        let _timer = Hub::start_presence_timer(&hub);
        let mut watcher = hub.connect(person(2), ANY_SESSION).unwrap();
        subscribe(&hub, watcher.id, ROOM, false).unwrap();
        let tab1 = hub.connect(person(1), ANY_SESSION).unwrap();
        let tab2 = hub.connect(person(1), ANY_SESSION).unwrap();
        subscribe(&hub, tab1.id, ROOM, false).unwrap();
        subscribe(&hub, tab2.id, ROOM, false).unwrap();
        ephemeral(&mut watcher);

        hub.disconnect(tab1.id);
        tokio::time::sleep(GRACE * 2).await;
        assert!(ephemeral(&mut watcher).is_empty(), "one tab is still open");

        hub.disconnect(tab2.id);
        tokio::time::sleep(GRACE - Duration::from_secs(1)).await;
        assert!(
            ephemeral(&mut watcher).is_empty(),
            "within the grace period"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        let frames = ephemeral(&mut watcher);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0]["type"], "left");
        assert_eq!(frames[0]["person"]["id"], 1);
    }

    #[tokio::test(start_paused = true)]
    async fn typing_is_announced_to_the_room_and_expires() {
        let hub = Arc::new(hub(8));
        let _timer = Hub::start_presence_timer(&hub);
        let mut watcher = hub.connect(person(2), ANY_SESSION).unwrap();
        let typist = hub.connect(person(1), ANY_SESSION).unwrap();
        subscribe(&hub, watcher.id, ROOM, false).unwrap();
        subscribe(&hub, typist.id, ROOM, false).unwrap();
        ephemeral(&mut watcher);
        hub.typing(typist.id, ROOM);
        hub.typing(typist.id, ROOM);
        let frames = ephemeral(&mut watcher);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(
            (&frames[0]["type"], &frames[0]["typing"]),
            (&"typing".into(), &true.into())
        );
        tokio::time::sleep(Duration::from_secs(6)).await;
        let frames = ephemeral(&mut watcher);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0]["typing"], false);
        // A socket not subscribed to the room cannot signal typing in it.
        hub.typing(typist.id, RoomId(2));
        assert!(ephemeral(&mut watcher).is_empty());
    }

    #[test]
    fn a_quiet_subscription_follows_events_but_is_not_presence() {
        let hub = hub(8);
        let mut watcher = watching(&hub);
        let mut quiet = hub.connect(person(1), ANY_SESSION).unwrap();
        subscribe(&hub, quiet.id, ROOM, true).unwrap();
        assert!(
            ephemeral(&mut watcher).is_empty(),
            "no join for a quiet follower"
        );
        assert_eq!(hub.online(ROOM).len(), 1);
        hub.publish(ROOM, 1, &frame(1));
        assert_eq!(received(&mut quiet), [1], "events still arrive");
        hub.typing(quiet.id, ROOM);
        assert!(
            ephemeral(&mut watcher).is_empty(),
            "a quiet follower does not type"
        );

        // Opening the room makes them present; closing it again starts the grace period.
        assert_eq!(subscribe(&hub, quiet.id, ROOM, false), Ok(false));
        let frames = ephemeral(&mut watcher);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0]["type"], "joined");
        subscribe(&hub, quiet.id, ROOM, true).unwrap();
        hub.expire_presence(Instant::now() + GRACE);
        let frames = ephemeral(&mut watcher);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0]["type"], "left");
    }

    #[test]
    fn losing_access_is_announced_as_leaving_at_once() {
        let hub = hub(8);
        let mut watcher = watching(&hub);
        let removed = hub.connect(person(1), ANY_SESSION).unwrap();
        subscribe(&hub, removed.id, ROOM, false).unwrap();
        ephemeral(&mut watcher);
        let notice = ServerFrame::Unsubscribed {
            room: ROOM,
            reason: UnsubscribeReason::AccessEnded,
        };
        hub.revoke_room(UserId(1), ROOM, &notice);
        let frames = ephemeral(&mut watcher);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(
            frames[0]["type"], "left",
            "without waiting for the grace period"
        );
    }

    #[test]
    fn a_follower_made_present_is_announced_to_the_others_only() {
        let hub = hub(8);
        let mut watcher = watching(&hub);
        let mut arriving = hub.connect(person(1), ANY_SESSION).unwrap();
        assert_eq!(hub.follow(arriving.id, ROOM), Ok(true));
        assert!(
            ephemeral(&mut watcher).is_empty(),
            "following alone announces nothing, before access is checked"
        );
        hub.set_present(arriving.id, ROOM, true).unwrap();
        let frames = ephemeral(&mut watcher);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0]["type"], "joined");
        assert!(
            ephemeral(&mut arriving).is_empty(),
            "the arriving socket gets the whole list instead of its own join"
        );
        assert_eq!(hub.follow(arriving.id, ROOM), Ok(false), "a repeat");
        assert_eq!(hub.online(ROOM).len(), 2, "and it keeps its mode");
    }

    #[test]
    fn a_room_revoked_after_following_cannot_be_made_present() {
        let hub = hub(8);
        let mut watcher = watching(&hub);
        let removed = hub.connect(person(1), ANY_SESSION).unwrap();
        hub.follow(removed.id, ROOM).unwrap();
        // The removal lands between the socket's access check and its presence.
        let notice = ServerFrame::Unsubscribed {
            room: ROOM,
            reason: UnsubscribeReason::AccessEnded,
        };
        hub.revoke_room(UserId(1), ROOM, &notice);
        assert_eq!(
            hub.set_present(removed.id, ROOM, true),
            Err(SubscribeError::Revoked)
        );
        assert!(ephemeral(&mut watcher).is_empty(), "never announced");
        assert!(hub.online(ROOM).iter().all(|person| person.id != UserId(1)));
    }

    #[test]
    fn ending_a_session_closes_its_sockets_and_no_others() {
        let hub = hub(8);
        let (this, other) = ([1u8; 32], [2u8; 32]);
        let signed_out = hub.connect(person(1), this).unwrap();
        let elsewhere = hub.connect(person(1), other).unwrap();
        let someone = hub.connect(person(2), this).unwrap();
        hub.close_session(UserId(1), &this, Reason::SIGNED_OUT);
        assert_eq!(*signed_out.kicked.borrow(), Some(Reason::SIGNED_OUT));
        assert_eq!(*elsewhere.kicked.borrow(), None, "another session stays");
        assert_eq!(*someone.kicked.borrow(), None, "another person stays");
        assert_eq!(hub.connection_count(), 2);
    }

    #[test]
    fn ending_the_other_sessions_keeps_the_current_ones_sockets() {
        let hub = hub(8);
        let (current, stolen) = ([1u8; 32], [2u8; 32]);
        let kept = hub.connect(person(1), current).unwrap();
        let ended = hub.connect(person(1), stolen).unwrap();
        hub.close_other_sessions(UserId(1), &current, Reason::SIGNED_OUT);
        assert_eq!(*kept.kicked.borrow(), None);
        assert_eq!(*ended.kicked.borrow(), Some(Reason::SIGNED_OUT));
    }

    #[test]
    fn a_room_made_private_ends_the_readers_subscriptions_and_keeps_the_members() {
        let hub = hub(8);
        let mut member = watching(&hub);
        let mut reader = hub.connect(person(1), ANY_SESSION).unwrap();
        subscribe(&hub, reader.id, ROOM, false).unwrap();
        ephemeral(&mut member);
        let notice = ServerFrame::Unsubscribed {
            room: ROOM,
            reason: UnsubscribeReason::AccessEnded,
        };
        hub.revoke_readers(ROOM, &HashSet::from([UserId(2)]), &notice);
        assert!(matches!(
            next_not_presence(&mut reader),
            Some(Outbound::Ended { room: ROOM, .. })
        ));
        let frames = ephemeral(&mut member);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0]["type"], "left", "the reader leaves at once");
        hub.publish(ROOM, 1, &notice);
        assert!(
            next_not_presence(&mut member).is_some(),
            "the member still follows"
        );
        assert!(
            next_not_presence(&mut reader).is_none(),
            "the reader no longer does"
        );
    }
}
