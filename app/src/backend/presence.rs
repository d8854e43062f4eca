//! Who is online in each room, and who is typing: ephemeral state (it takes no `seq` and is
//! not stored with the messages), kept per room and per person, so several tabs count as one.
//!
//! A person is online in a room while at least one of their sockets is subscribed to it, on
//! this instance or on another one of the deployment. "Joined" fires when they become online
//! (their first subscription anywhere); "left" fires when they stop being online, and for
//! this instance's sockets only after a grace period, so that a reload or a brief network
//! drop (even one that lands the reload on another instance) does not flap. Typing expires
//! after a few seconds without a signal, or when the person posts.
//!
//! [`Presence`] is a state machine the hub drives under its lock. It does no I/O and reads no
//! clock: the caller passes `now`, so it is tested with explicit times, and no call can block
//! the hub. Each room holds two kinds of input:
//!
//! - this instance's own subscriptions (`here`), which it counts and times itself;
//! - who the other instances have in the room (`elsewhere`), as last read from the
//!   database by the roster ([`super::roster`]), which installs each read with
//!   [`Presence::seen_elsewhere`]. The other instances' grace periods already ran on their
//!   side, so a person missing from a read has left them.
//!
//! Online is the union of the two, and events are announced on changes of the union only.
//! With other instances, the machine also offers its own transitions (someone is now here,
//! or no longer is; someone typed) to a [`ShareQueue`], without waiting: the roster writes
//! them to the database and notifies the others once the hub has released its lock.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::model::{RoomId, UserId};
use crate::protocol::Person;

/// A change others in the room should see; the hub turns it into a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceEvent {
    Joined(Person),
    Left(Person),
    Typing { person: Person, typing: bool },
}

/// What this instance tells the other instances about its own people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shared {
    /// `user` is now present in `room` through this instance's sockets (`here`), or no
    /// longer is (their grace period here is over, or their access ended).
    Here {
        room: RoomId,
        user: UserId,
        here: bool,
    },
    /// `person` typed in `room`: every signal is passed on, so the others' copies expire on
    /// the same schedule as this one.
    Typing { room: RoomId, person: Person },
}

/// Where [`Presence`] offers what it shares, without waiting. A full queue drops the offer
/// and remembers it, and the roster then writes this instance's whole presence again.
#[derive(Clone)]
pub struct ShareQueue {
    queue: mpsc::Sender<Shared>,
    overflowed: Arc<AtomicBool>,
}

impl ShareQueue {
    /// A queue of `capacity` offers, and its receiving end.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Shared>) {
        let (queue, receiver) = mpsc::channel(capacity.max(1));
        let overflowed = Arc::new(AtomicBool::new(false));
        (Self { queue, overflowed }, receiver)
    }

    fn offer(&self, shared: Shared) {
        if self.queue.try_send(shared).is_err() {
            self.overflowed.store(true, Ordering::Relaxed);
        }
    }

    /// Whether an offer was dropped since the last call (which clears it).
    pub fn take_overflowed(&self) -> bool {
        self.overflowed.swap(false, Ordering::Relaxed)
    }
}

/// Presence timings; part of the realtime configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceTimings {
    /// How long after someone's last subscription ends before they are announced as left.
    pub leave_grace: Duration,
    /// How long a typing signal lasts.
    pub typing_ttl: Duration,
}

/// How long after a post this instance ignores the author's typing passed on from
/// elsewhere: a signal sent before the post can arrive after it (typing and hints travel
/// separately), and would otherwise show "is typing" for a whole TTL under the message.
pub const TYPING_AFTER_POST: Duration = Duration::from_secs(1);

/// Orders the roster's reads of the database: a read started earlier must not replace what
/// a later one installed (two reads of one room can finish in either order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReadTicket(u64);

/// How a read of the other instances' people is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadTrust {
    /// The read is the truth: whoever it leaves out has left.
    Whole,
    /// The database may have lost rows that their instances have not written again yet (it
    /// was restarted, or this instance could not reach it): the read adds people but takes
    /// no one away.
    AddOnly,
}

struct Present {
    person: Person,
    /// This person's subscriptions to the room, over all their sockets on this instance.
    subscriptions: usize,
    /// Set while they have none: when they will be announced as left.
    leaving_at: Option<Instant>,
}

/// Someone typing in a room.
struct Typist {
    person: Person,
    /// When the signal lapses.
    until: Instant,
    /// When this instance last passed their signal on (`None` for a signal from elsewhere):
    /// at most one in every half TTL is, so a client that floods signals costs the others
    /// no more than one that types.
    shared_at: Option<Instant>,
}

/// Who the other instances have in a room, and which read said so.
struct Elsewhere {
    people: HashMap<UserId, Person>,
    read: ReadTicket,
}

#[derive(Default)]
struct RoomPresence {
    here: HashMap<UserId, Present>,
    /// `None` until the roster's first read of the room (and always on a single instance).
    elsewhere: Option<Elsewhere>,
    typing: HashMap<UserId, Typist>,
    /// Who posted lately, and until when their typing from elsewhere is ignored.
    posted: HashMap<UserId, Instant>,
}

impl RoomPresence {
    fn is_elsewhere(&self, user: UserId) -> bool {
        self.elsewhere
            .as_ref()
            .is_some_and(|elsewhere| elsewhere.people.contains_key(&user))
    }

    fn typing_ended(&mut self, user: UserId) -> Option<PresenceEvent> {
        let typist = self.typing.remove(&user)?;
        Some(PresenceEvent::Typing {
            person: typist.person,
            typing: false,
        })
    }
}

/// Who is present and typing in each room. A room is kept while this instance has someone
/// there (or someone typing), and forgotten, with what it knew of the other instances,
/// when it has no one: with no one here to tell, there is nothing to keep current.
pub struct Presence {
    timings: PresenceTimings,
    rooms: HashMap<RoomId, RoomPresence>,
    /// Where this instance's transitions go when other instances share the store.
    share: Option<ShareQueue>,
    next_read: u64,
}

impl Presence {
    pub fn new(timings: PresenceTimings, share: Option<ShareQueue>) -> Self {
        Self {
            timings,
            rooms: HashMap::new(),
            share,
            next_read: 0,
        }
    }

    fn share(&self, shared: Shared) {
        if let Some(queue) = &self.share {
            queue.offer(shared);
        }
    }

    /// One more subscription of `person` to `room`; `Joined` if they were online nowhere.
    pub fn arrive(
        &mut self,
        room: RoomId,
        person: &Person,
        _now: Instant,
    ) -> Option<PresenceEvent> {
        let presence = self.rooms.entry(room).or_default();
        if let Some(present) = presence.here.get_mut(&person.id) {
            // Back within the grace period (a reload): they never left.
            present.subscriptions += 1;
            present.leaving_at = None;
            return None;
        }
        let elsewhere = presence.is_elsewhere(person.id);
        presence.here.insert(
            person.id,
            Present {
                person: person.clone(),
                subscriptions: 1,
                leaving_at: None,
            },
        );
        self.share(Shared::Here {
            room,
            user: person.id,
            here: true,
        });
        (!elsewhere).then(|| PresenceEvent::Joined(person.clone()))
    }

    /// One subscription of `user` to `room` ended; their last one starts the grace period,
    /// or (`immediately`, when access was taken away) makes them leave at once: then the
    /// `Left` is returned, unless another instance still has them (it will be told of the
    /// same revocation, and the roster's next read says when they are gone there).
    pub fn depart(
        &mut self,
        room: RoomId,
        user: UserId,
        now: Instant,
        immediately: bool,
    ) -> Option<PresenceEvent> {
        let presence = self.rooms.get_mut(&room)?;
        let present = presence.here.get_mut(&user)?;
        present.subscriptions = present.subscriptions.saturating_sub(1);
        if present.subscriptions > 0 {
            return None;
        }
        if !immediately {
            present.leaving_at = Some(now + self.timings.leave_grace);
            return None;
        }
        let gone = presence.here.remove(&user)?;
        let elsewhere = presence.is_elsewhere(user);
        if !elsewhere {
            presence.typing.remove(&user);
        }
        self.share(Shared::Here {
            room,
            user,
            here: false,
        });
        (!elsewhere).then_some(PresenceEvent::Left(gone.person))
    }

    /// A typing signal from this instance; `Typing { typing: true }` if they were not typing
    /// already. It is passed on to the other instances at most once in every half TTL.
    pub fn typing(&mut self, room: RoomId, person: &Person, now: Instant) -> Option<PresenceEvent> {
        let last = self
            .rooms
            .get(&room)
            .and_then(|presence| presence.typing.get(&person.id))
            .and_then(|typist| typist.shared_at);
        let every = self.timings.typing_ttl / 2;
        let due = last.is_none_or(|at| now.saturating_duration_since(at) >= every);
        if due {
            self.share(Shared::Typing {
                room,
                person: person.clone(),
            });
        }
        self.note_typing(room, person, now, if due { Some(now) } else { last })
    }

    /// A typing signal another instance passed on. It is shown only in a room this instance
    /// has someone in (with no one here, there is no one to show it to), and not just after
    /// the same person's post (see [`TYPING_AFTER_POST`]).
    pub fn typing_elsewhere(
        &mut self,
        room: RoomId,
        person: &Person,
        now: Instant,
    ) -> Option<PresenceEvent> {
        let presence = self.rooms.get(&room)?;
        let just_posted = presence
            .posted
            .get(&person.id)
            .is_some_and(|until| *until > now);
        if presence.here.is_empty() || just_posted {
            return None;
        }
        let shared_at = presence
            .typing
            .get(&person.id)
            .and_then(|typist| typist.shared_at);
        self.note_typing(room, person, now, shared_at)
    }

    fn note_typing(
        &mut self,
        room: RoomId,
        person: &Person,
        now: Instant,
        shared_at: Option<Instant>,
    ) -> Option<PresenceEvent> {
        let typing = &mut self.rooms.entry(room).or_default().typing;
        let typist = Typist {
            person: person.clone(),
            until: now + self.timings.typing_ttl,
            shared_at,
        };
        let started = typing.insert(person.id, typist).is_none();
        started.then(|| PresenceEvent::Typing {
            person: person.clone(),
            typing: true,
        })
    }

    /// They posted: typing ends at once. Every instance that delivers the post calls this,
    /// so it is not shared.
    pub fn stop_typing(
        &mut self,
        room: RoomId,
        user: UserId,
        now: Instant,
    ) -> Option<PresenceEvent> {
        let sharing = self.share.is_some();
        let presence = self.rooms.get_mut(&room)?;
        if sharing {
            presence.posted.insert(user, now + TYPING_AFTER_POST);
        }
        presence.typing_ended(user)
    }

    /// A ticket for a read of the database the roster is about to start.
    pub fn start_read(&mut self) -> ReadTicket {
        self.next_read += 1;
        ReadTicket(self.next_read)
    }

    /// Whether a read of `room` is installed: it is then kept current by notifications and
    /// heartbeats, and a new subscriber need not read it again.
    pub fn knows_elsewhere(&self, room: RoomId) -> bool {
        self.rooms
            .get(&room)
            .is_some_and(|presence| presence.elsewhere.is_some())
    }

    /// Installs a read, started with `ticket`, of who the other instances have in `room`,
    /// and returns what changed for the people here to see. A read older than the one
    /// installed is ignored, as is a room with no one here. The first read of a room is
    /// installed silently: whoever is here was sent the list after it (see the socket's
    /// subscribe), so there is no change for them to see.
    pub fn seen_elsewhere(
        &mut self,
        room: RoomId,
        ticket: ReadTicket,
        people: Vec<Person>,
        trust: ReadTrust,
    ) -> Vec<PresenceEvent> {
        let Some(presence) = self.rooms.get_mut(&room) else {
            return Vec::new();
        };
        let mut people: HashMap<UserId, Person> = people
            .into_iter()
            .map(|person| (person.id, person))
            .collect();
        let before = match presence.elsewhere.take() {
            Some(before) if before.read > ticket => {
                presence.elsewhere = Some(before);
                return Vec::new();
            }
            Some(before) => Some(before.people),
            None => None,
        };
        let mut events = Vec::new();
        if let Some(before) = before {
            for (user, person) in &people {
                if !before.contains_key(user) && !presence.here.contains_key(user) {
                    events.push(PresenceEvent::Joined(person.clone()));
                }
            }
            for (user, person) in before {
                if people.contains_key(&user) {
                    continue;
                }
                if trust == ReadTrust::AddOnly {
                    people.insert(user, person);
                    continue;
                }
                if presence.here.contains_key(&user) {
                    continue;
                }
                events.extend(presence.typing_ended(user));
                events.push(PresenceEvent::Left(person));
            }
        }
        presence.elsewhere = Some(Elsewhere {
            people,
            read: ticket,
        });
        events
    }

    /// A read started with `ticket` failed. A room never read before is marked read with
    /// no one elsewhere, so that the next read that succeeds announces whoever it finds:
    /// the people here were sent a list without them.
    pub fn read_failed(&mut self, room: RoomId, ticket: ReadTicket) {
        if let Some(presence) = self.rooms.get_mut(&room)
            && presence.elsewhere.is_none()
        {
            presence.elsewhere = Some(Elsewhere {
                people: HashMap::new(),
                read: ticket,
            });
        }
    }

    /// Ends what has expired by `now`: departures past their grace period, stale typing.
    pub fn expire(&mut self, now: Instant) -> Vec<(RoomId, PresenceEvent)> {
        let mut events = Vec::new();
        let mut shared = Vec::new();
        for (room, presence) in &mut self.rooms {
            presence.typing.retain(|_, typist| {
                let live = typist.until > now;
                if !live {
                    events.push((
                        *room,
                        PresenceEvent::Typing {
                            person: typist.person.clone(),
                            typing: false,
                        },
                    ));
                }
                live
            });
            presence.posted.retain(|_, until| *until > now);
            let gone: Vec<UserId> = presence
                .here
                .iter()
                .filter(|(_, present)| present.leaving_at.is_some_and(|at| at <= now))
                .map(|(user, _)| *user)
                .collect();
            for user in gone {
                let Some(present) = presence.here.remove(&user) else {
                    continue;
                };
                shared.push(Shared::Here {
                    room: *room,
                    user,
                    here: false,
                });
                if presence.is_elsewhere(user) {
                    // Still online through another instance: nothing changes for anyone.
                    continue;
                }
                if let Some(ended) = presence.typing_ended(user) {
                    events.push((*room, ended));
                }
                events.push((*room, PresenceEvent::Left(present.person)));
            }
        }
        self.rooms
            .retain(|_, presence| !presence.here.is_empty() || !presence.typing.is_empty());
        for shared in shared {
            self.share(shared);
        }
        events
    }

    /// Who is online in `room` now, on any instance (including those within their grace
    /// period here), by name.
    pub fn online(&self, room: RoomId) -> Vec<Person> {
        let Some(presence) = self.rooms.get(&room) else {
            return Vec::new();
        };
        let mut online: Vec<Person> = presence
            .here
            .values()
            .map(|present| present.person.clone())
            .collect();
        if let Some(elsewhere) = &presence.elsewhere {
            online.extend(
                elsewhere
                    .people
                    .values()
                    .filter(|person| !presence.here.contains_key(&person.id))
                    .cloned(),
            );
        }
        online.sort_by(|a, b| a.display_name.cmp(&b.display_name).then(a.id.cmp(&b.id)));
        online
    }

    /// The rooms this instance has someone present in: the ones the roster keeps current.
    pub fn rooms_here(&self) -> Vec<RoomId> {
        self.rooms
            .iter()
            .filter(|(_, presence)| !presence.here.is_empty())
            .map(|(room, _)| *room)
            .collect()
    }

    /// Everyone present through this instance, room by room: what the roster writes when it
    /// writes this instance's presence whole (at start, and after an offer was lost).
    pub fn everyone_here(&self) -> Vec<(RoomId, UserId)> {
        self.rooms
            .iter()
            .flat_map(|(room, presence)| presence.here.keys().map(|user| (*room, *user)))
            .collect()
    }

    /// The room is gone: forget it without announcing anything (the others are told by the
    /// revocation). Its people are no longer here, which the other instances are told too,
    /// so no row of this instance outlives the room.
    pub fn forget_room(&mut self, room: RoomId) {
        let Some(presence) = self.rooms.remove(&room) else {
            return;
        };
        for user in presence.here.into_keys() {
            self.share(Shared::Here {
                room,
                user,
                here: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: RoomId = RoomId(1);
    const GRACE: Duration = Duration::from_secs(5);
    const TYPING: Duration = Duration::from_secs(5);

    const TIMINGS: PresenceTimings = PresenceTimings {
        leave_grace: GRACE,
        typing_ttl: TYPING,
    };

    fn presence() -> Presence {
        Presence::new(TIMINGS, None)
    }

    /// One instance among several: what it shares lands in the returned queue.
    fn sharing() -> (Presence, ShareQueue, mpsc::Receiver<Shared>) {
        let (queue, shared) = ShareQueue::new(16);
        (Presence::new(TIMINGS, Some(queue.clone())), queue, shared)
    }

    fn drain(shared: &mut mpsc::Receiver<Shared>) -> Vec<Shared> {
        std::iter::from_fn(|| shared.try_recv().ok()).collect()
    }

    fn here(user: i64, here: bool) -> Shared {
        Shared::Here {
            room: ROOM,
            user: UserId(user),
            here,
        }
    }

    /// Installs a read of the other instances saying `people` are in `ROOM`.
    fn seen(presence: &mut Presence, people: &[&Person]) -> Vec<PresenceEvent> {
        let ticket = presence.start_read();
        let people = people.iter().map(|person| (*person).clone()).collect();
        presence.seen_elsewhere(ROOM, ticket, people, ReadTrust::Whole)
    }

    fn person(id: i64, name: &str) -> Person {
        Person {
            id: UserId(id),
            username: name.to_lowercase(),
            display_name: name.into(),
        }
    }

    fn names(presence: &Presence) -> Vec<String> {
        presence
            .online(ROOM)
            .into_iter()
            .map(|person| person.display_name)
            .collect()
    }

    #[test]
    fn several_tabs_count_as_one_person_and_join_once() {
        let mut presence = presence();
        let now = Instant::now();
        let minji = person(1, "Minji");
        assert_eq!(
            presence.arrive(ROOM, &minji, now),
            Some(PresenceEvent::Joined(minji.clone()))
        );
        assert_eq!(presence.arrive(ROOM, &minji, now), None, "a second tab");
        assert_eq!(names(&presence), ["Minji"]);
        presence.arrive(ROOM, &person(2, "Jisoo"), now);
        assert_eq!(names(&presence), ["Jisoo", "Minji"]);
    }

    #[test]
    fn closing_one_of_two_tabs_is_not_leaving() {
        let mut presence = presence();
        let now = Instant::now();
        let minji = person(1, "Minji");
        presence.arrive(ROOM, &minji, now);
        presence.arrive(ROOM, &minji, now);
        presence.depart(ROOM, minji.id, now, false);
        assert!(presence.expire(now + GRACE * 10).is_empty());
        assert_eq!(names(&presence), ["Minji"]);
    }

    #[test]
    fn the_last_tab_leaves_after_the_grace_period() {
        let mut presence = presence();
        let start = Instant::now();
        let minji = person(1, "Minji");
        presence.arrive(ROOM, &minji, start);
        presence.arrive(ROOM, &minji, start);
        presence.depart(ROOM, minji.id, start, false);
        presence.depart(ROOM, minji.id, start, false);
        assert!(
            presence
                .expire(start + GRACE - Duration::from_millis(1))
                .is_empty()
        );
        assert_eq!(
            names(&presence),
            ["Minji"],
            "still listed during the grace period"
        );
        assert_eq!(
            presence.expire(start + GRACE),
            [(ROOM, PresenceEvent::Left(minji))]
        );
        assert!(names(&presence).is_empty());
    }

    #[test]
    fn coming_back_within_the_grace_period_does_not_flap() {
        let mut presence = presence();
        let start = Instant::now();
        let minji = person(1, "Minji");
        presence.arrive(ROOM, &minji, start);
        presence.depart(ROOM, minji.id, start, false);
        // A reload: the new socket subscribes a moment later.
        let back = start + Duration::from_secs(1);
        assert_eq!(presence.arrive(ROOM, &minji, back), None, "no second join");
        assert!(presence.expire(start + GRACE * 2).is_empty(), "no leave");
        assert_eq!(names(&presence), ["Minji"]);
    }

    #[test]
    fn typing_starts_once_and_expires_without_signals() {
        let mut presence = presence();
        let start = Instant::now();
        let jisoo = person(2, "Jisoo");
        let started = PresenceEvent::Typing {
            person: jisoo.clone(),
            typing: true,
        };
        let stopped = PresenceEvent::Typing {
            person: jisoo.clone(),
            typing: false,
        };
        assert_eq!(presence.typing(ROOM, &jisoo, start), Some(started.clone()));
        let later = start + Duration::from_secs(3);
        assert_eq!(presence.typing(ROOM, &jisoo, later), None, "still typing");
        assert!(
            presence.expire(start + TYPING).is_empty(),
            "the signal was renewed"
        );
        assert_eq!(presence.expire(later + TYPING), [(ROOM, stopped.clone())]);
        // Posting ends it at once.
        presence.typing(ROOM, &jisoo, later);
        assert_eq!(presence.stop_typing(ROOM, jisoo.id, later), Some(stopped));
        assert_eq!(presence.stop_typing(ROOM, jisoo.id, later), None);
    }

    #[test]
    fn losing_access_leaves_at_once() {
        let mut presence = presence();
        let now = Instant::now();
        let minji = person(1, "Minji");
        presence.arrive(ROOM, &minji, now);
        assert_eq!(
            presence.depart(ROOM, minji.id, now, true),
            Some(PresenceEvent::Left(minji))
        );
        assert!(names(&presence).is_empty());
        assert!(presence.expire(now + GRACE).is_empty(), "and only once");
    }

    #[test]
    fn a_deleted_room_is_forgotten_silently() {
        let mut presence = presence();
        let now = Instant::now();
        presence.arrive(ROOM, &person(1, "Minji"), now);
        presence.forget_room(ROOM);
        assert!(names(&presence).is_empty());
        assert!(presence.expire(now + GRACE).is_empty());
    }

    /// Events in a stable order: a read's changes come out in no particular order.
    fn sorted(mut events: Vec<PresenceEvent>) -> Vec<PresenceEvent> {
        events.sort_by_key(|event| format!("{event:?}"));
        events
    }

    #[test]
    fn the_list_is_everyone_here_and_everyone_elsewhere_once() {
        let mut presence = presence();
        let now = Instant::now();
        let (minji, jisoo, hana) = (person(1, "Minji"), person(2, "Jisoo"), person(3, "Hana"));
        presence.arrive(ROOM, &minji, now);
        assert!(
            seen(&mut presence, &[&jisoo, &minji]).is_empty(),
            "the first read is installed silently"
        );
        assert_eq!(names(&presence), ["Jisoo", "Minji"]);
        assert_eq!(
            seen(&mut presence, &[&jisoo, &minji, &hana]),
            [PresenceEvent::Joined(hana.clone())]
        );
        assert_eq!(names(&presence), ["Hana", "Jisoo", "Minji"]);
        assert_eq!(
            sorted(seen(&mut presence, &[&minji])),
            sorted(vec![PresenceEvent::Left(hana), PresenceEvent::Left(jisoo)]),
            "Minji is still here, so only the others leave"
        );
        assert_eq!(names(&presence), ["Minji"]);
    }

    #[test]
    fn someone_online_elsewhere_does_not_join_again_here_nor_leave_when_only_here_ends() {
        let mut presence = presence();
        let start = Instant::now();
        let (minji, jisoo) = (person(1, "Minji"), person(2, "Jisoo"));
        presence.arrive(ROOM, &minji, start);
        seen(&mut presence, &[&jisoo]);
        assert_eq!(presence.arrive(ROOM, &jisoo, start), None, "a tab here too");
        presence.depart(ROOM, jisoo.id, start, false);
        assert!(
            presence.expire(start + GRACE).is_empty(),
            "their tab elsewhere keeps them online"
        );
        assert_eq!(names(&presence), ["Jisoo", "Minji"]);
        assert_eq!(
            seen(&mut presence, &[]),
            [PresenceEvent::Left(jisoo)],
            "gone from the other instance too: now they leave"
        );
    }

    #[test]
    fn someone_who_moves_here_within_the_grace_period_elsewhere_never_leaves() {
        let mut presence = presence();
        let start = Instant::now();
        let (minji, jisoo) = (person(1, "Minji"), person(2, "Jisoo"));
        presence.arrive(ROOM, &minji, start);
        seen(&mut presence, &[&jisoo]);
        // Their reload lands here while the other instance still lists them.
        assert_eq!(presence.arrive(ROOM, &jisoo, start), None);
        assert!(seen(&mut presence, &[]).is_empty(), "here now, so no leave");
        assert_eq!(names(&presence), ["Jisoo", "Minji"]);
    }

    #[test]
    fn a_read_older_than_the_one_installed_is_ignored() {
        let mut presence = presence();
        let now = Instant::now();
        let (minji, jisoo) = (person(1, "Minji"), person(2, "Jisoo"));
        presence.arrive(ROOM, &minji, now);
        let older = presence.start_read();
        let newer = presence.start_read();
        presence.seen_elsewhere(ROOM, newer, vec![jisoo.clone()], ReadTrust::Whole);
        assert!(
            presence
                .seen_elsewhere(ROOM, older, Vec::new(), ReadTrust::Whole)
                .is_empty()
        );
        assert_eq!(names(&presence), ["Jisoo", "Minji"]);
    }

    #[test]
    fn a_read_of_a_room_with_no_one_here_is_not_kept() {
        let mut presence = presence();
        let jisoo = person(2, "Jisoo");
        assert!(seen(&mut presence, &[&jisoo]).is_empty());
        assert!(names(&presence).is_empty());
        assert!(presence.rooms_here().is_empty());
    }

    #[test]
    fn leaving_elsewhere_while_typing_ends_the_typing_too() {
        let mut presence = presence();
        let now = Instant::now();
        let (minji, jisoo) = (person(1, "Minji"), person(2, "Jisoo"));
        presence.arrive(ROOM, &minji, now);
        seen(&mut presence, &[&jisoo]);
        assert_eq!(
            presence.typing_elsewhere(ROOM, &jisoo, now),
            Some(PresenceEvent::Typing {
                person: jisoo.clone(),
                typing: true
            })
        );
        assert_eq!(
            seen(&mut presence, &[]),
            [
                PresenceEvent::Typing {
                    person: jisoo.clone(),
                    typing: false
                },
                PresenceEvent::Left(jisoo)
            ]
        );
    }

    #[test]
    fn typing_elsewhere_shows_only_where_someone_here_can_see_it() {
        let mut presence = presence();
        let now = Instant::now();
        let jisoo = person(2, "Jisoo");
        assert_eq!(presence.typing_elsewhere(ROOM, &jisoo, now), None);
        assert!(presence.expire(now + TYPING).is_empty(), "nothing was kept");
    }

    #[test]
    fn arrivals_departures_and_typing_here_are_shared_and_nothing_from_elsewhere_is() {
        let (mut presence, _queue, mut shared) = sharing();
        let start = Instant::now();
        let (minji, jisoo) = (person(1, "Minji"), person(2, "Jisoo"));
        presence.arrive(ROOM, &minji, start);
        presence.arrive(ROOM, &minji, start);
        assert_eq!(drain(&mut shared), [here(1, true)], "once per person");
        let typed = Shared::Typing {
            room: ROOM,
            person: minji.clone(),
        };
        for _ in 0..50 {
            presence.typing(ROOM, &minji, start);
        }
        assert_eq!(
            drain(&mut shared),
            std::slice::from_ref(&typed),
            "a flood is passed on once"
        );
        presence.typing(ROOM, &minji, start + TYPING / 2);
        assert_eq!(
            drain(&mut shared),
            [typed],
            "and again each half TTL, so the others' copies stay alive as long"
        );
        seen(&mut presence, &[&jisoo]);
        presence.typing_elsewhere(ROOM, &jisoo, start);
        presence.stop_typing(ROOM, minji.id, start);
        assert!(
            drain(&mut shared).is_empty(),
            "nothing learnt elsewhere goes back"
        );
        presence.depart(ROOM, minji.id, start, false);
        presence.depart(ROOM, minji.id, start, false);
        assert!(
            drain(&mut shared).is_empty(),
            "still here during the grace period"
        );
        presence.expire(start + GRACE);
        assert_eq!(drain(&mut shared), [here(1, false)]);
    }

    #[test]
    fn losing_access_and_a_deleted_room_are_shared_as_no_longer_here() {
        let (mut presence, _queue, mut shared) = sharing();
        let now = Instant::now();
        presence.arrive(ROOM, &person(1, "Minji"), now);
        presence.depart(ROOM, UserId(1), now, true);
        presence.arrive(ROOM, &person(2, "Jisoo"), now);
        presence.forget_room(ROOM);
        assert_eq!(
            drain(&mut shared),
            [here(1, true), here(1, false), here(2, true), here(2, false)]
        );
    }

    #[test]
    fn a_full_queue_is_remembered_so_the_whole_presence_is_written_again() {
        let (queue, _shared) = ShareQueue::new(1);
        let mut presence = Presence::new(TIMINGS, Some(queue.clone()));
        let now = Instant::now();
        presence.arrive(ROOM, &person(1, "Minji"), now);
        assert!(!queue.take_overflowed());
        presence.arrive(ROOM, &person(2, "Jisoo"), now);
        assert!(queue.take_overflowed());
        assert!(!queue.take_overflowed(), "reported once");
        let mut everyone = presence.everyone_here();
        everyone.sort();
        assert_eq!(everyone, [(ROOM, UserId(1)), (ROOM, UserId(2))]);
    }

    #[test]
    fn a_read_that_may_miss_rows_adds_people_but_takes_no_one_away() {
        let mut presence = presence();
        let now = Instant::now();
        let (minji, jisoo, hana) = (person(1, "Minji"), person(2, "Jisoo"), person(3, "Hana"));
        presence.arrive(ROOM, &minji, now);
        seen(&mut presence, &[&jisoo]);
        // PostgreSQL restarted and lost the rows; Jisoo's instance has not written hers yet.
        let ticket = presence.start_read();
        let events = presence.seen_elsewhere(ROOM, ticket, vec![hana.clone()], ReadTrust::AddOnly);
        assert_eq!(events, [PresenceEvent::Joined(hana.clone())]);
        assert_eq!(names(&presence), ["Hana", "Jisoo", "Minji"]);
        // Once the rows are back, a whole read is the truth again.
        assert_eq!(seen(&mut presence, &[&hana]), [PresenceEvent::Left(jisoo)]);
    }

    #[test]
    fn after_a_failed_first_read_the_next_one_announces_whoever_it_finds() {
        let mut presence = presence();
        let now = Instant::now();
        let (minji, jisoo) = (person(1, "Minji"), person(2, "Jisoo"));
        presence.arrive(ROOM, &minji, now);
        let ticket = presence.start_read();
        presence.read_failed(ROOM, ticket);
        assert!(presence.knows_elsewhere(ROOM));
        assert_eq!(
            seen(&mut presence, &[&jisoo]),
            [PresenceEvent::Joined(jisoo)],
            "Minji was sent a list without her"
        );
    }

    #[test]
    fn typing_passed_on_just_after_the_same_persons_post_is_not_shown() {
        let (mut presence, _queue, _shared) = sharing();
        let now = Instant::now();
        let (minji, jisoo) = (person(1, "Minji"), person(2, "Jisoo"));
        presence.arrive(ROOM, &minji, now);
        seen(&mut presence, &[&jisoo]);
        presence.stop_typing(ROOM, jisoo.id, now);
        assert_eq!(
            presence.typing_elsewhere(ROOM, &jisoo, now + TYPING_AFTER_POST / 2),
            None,
            "a signal sent before the post, arriving after it"
        );
        assert!(
            presence
                .typing_elsewhere(ROOM, &jisoo, now + TYPING_AFTER_POST)
                .is_some(),
            "typing again afterwards shows"
        );
    }
}
