//! Who is online in each room, and who is typing: ephemeral state (it takes no `seq` and is
//! not stored), kept per room and per person, so several tabs count as one.
//!
//! A person is online in a room while at least one of their sockets is subscribed to it.
//! "Joined" fires when their first subscription starts; "left" fires when their last one
//! ends, but only after a grace period, so that a reload or a brief network drop does not
//! flap. Typing expires after a few seconds without a signal, or when the person posts.
//!
//! [`Presence`] is a state machine the hub drives under its lock. It does no I/O and reads no
//! clock: the caller passes `now`, so it is tested with explicit times, and no call can block
//! the hub.
//!
//! It is a concrete type, not a trait, because it has one implementation. Presence across
//! several instances will not be a second implementation behind this lock: the database and
//! its notifications are I/O, and I/O under the hub's `std::sync::Mutex` would stall every
//! delivery. Instead, the same machine will take other instances' arrivals and departures as
//! inputs (fed by the task that listens for hints, outside any lock), and this instance's own
//! transitions, which every method already returns as a [`PresenceEvent`], will be handed to
//! that task to publish once the hub has released its lock.

use std::collections::HashMap;
use std::time::Duration;

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

/// Presence timings; part of the realtime configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceTimings {
    /// How long after someone's last subscription ends before they are announced as left.
    pub leave_grace: Duration,
    /// How long a typing signal lasts.
    pub typing_ttl: Duration,
}

struct Present {
    person: Person,
    /// This person's subscriptions to the room, over all their sockets.
    subscriptions: usize,
    /// Set while they have none: when they will be announced as left.
    leaving_at: Option<Instant>,
}

#[derive(Default)]
struct RoomPresence {
    people: HashMap<UserId, Present>,
    /// Who is typing, until when.
    typing: HashMap<UserId, (Person, Instant)>,
}

/// Who is present and typing in each room, from the sockets of this server.
pub struct Presence {
    timings: PresenceTimings,
    rooms: HashMap<RoomId, RoomPresence>,
}

impl Presence {
    pub fn new(timings: PresenceTimings) -> Self {
        Self {
            timings,
            rooms: HashMap::new(),
        }
    }

    /// One more subscription of `person` to `room`; `Joined` if it is their first.
    pub fn arrive(
        &mut self,
        room: RoomId,
        person: &Person,
        _now: Instant,
    ) -> Option<PresenceEvent> {
        let people = &mut self.rooms.entry(room).or_default().people;
        match people.get_mut(&person.id) {
            Some(present) => {
                // Back within the grace period (a reload): they never left.
                present.subscriptions += 1;
                present.leaving_at = None;
                None
            }
            None => {
                people.insert(
                    person.id,
                    Present {
                        person: person.clone(),
                        subscriptions: 1,
                        leaving_at: None,
                    },
                );
                Some(PresenceEvent::Joined(person.clone()))
            }
        }
    }

    /// One subscription of `user` to `room` ended; their last one starts the grace period,
    /// or (`immediately`, when access was taken away) makes them leave at once: then the
    /// `Left` is returned.
    pub fn depart(
        &mut self,
        room: RoomId,
        user: UserId,
        now: Instant,
        immediately: bool,
    ) -> Option<PresenceEvent> {
        let presence = self.rooms.get_mut(&room)?;
        let present = presence.people.get_mut(&user)?;
        present.subscriptions = present.subscriptions.saturating_sub(1);
        if present.subscriptions > 0 {
            return None;
        }
        if !immediately {
            present.leaving_at = Some(now + self.timings.leave_grace);
            return None;
        }
        let gone = presence.people.remove(&user)?;
        presence.typing.remove(&user);
        Some(PresenceEvent::Left(gone.person))
    }

    /// A typing signal; `Typing { typing: true }` if they were not typing already.
    pub fn typing(&mut self, room: RoomId, person: &Person, now: Instant) -> Option<PresenceEvent> {
        let typing = &mut self.rooms.entry(room).or_default().typing;
        let until = now + self.timings.typing_ttl;
        let started = typing.insert(person.id, (person.clone(), until)).is_none();
        started.then(|| PresenceEvent::Typing {
            person: person.clone(),
            typing: true,
        })
    }

    /// They posted: typing ends at once.
    pub fn stop_typing(&mut self, room: RoomId, user: UserId) -> Option<PresenceEvent> {
        let (person, _) = self.rooms.get_mut(&room)?.typing.remove(&user)?;
        Some(PresenceEvent::Typing {
            person,
            typing: false,
        })
    }

    /// Ends what has expired by `now`: departures past their grace period, stale typing.
    pub fn expire(&mut self, now: Instant) -> Vec<(RoomId, PresenceEvent)> {
        let mut events = Vec::new();
        for (room, presence) in &mut self.rooms {
            presence.typing.retain(|_, (person, until)| {
                let live = *until > now;
                if !live {
                    events.push((
                        *room,
                        PresenceEvent::Typing {
                            person: person.clone(),
                            typing: false,
                        },
                    ));
                }
                live
            });
            let typing = &mut presence.typing;
            presence.people.retain(|user, present| {
                let gone = present.leaving_at.is_some_and(|at| at <= now);
                if gone {
                    if let Some((person, _)) = typing.remove(user) {
                        events.push((
                            *room,
                            PresenceEvent::Typing {
                                person,
                                typing: false,
                            },
                        ));
                    }
                    events.push((*room, PresenceEvent::Left(present.person.clone())));
                }
                !gone
            });
        }
        self.rooms
            .retain(|_, presence| !presence.people.is_empty() || !presence.typing.is_empty());
        events
    }

    /// Who is online in `room` now (including those within their grace period), by name.
    pub fn online(&self, room: RoomId) -> Vec<Person> {
        let mut online: Vec<Person> = self
            .rooms
            .get(&room)
            .map(|presence| {
                presence
                    .people
                    .values()
                    .map(|present| present.person.clone())
                    .collect()
            })
            .unwrap_or_default();
        online.sort_by(|a, b| a.display_name.cmp(&b.display_name).then(a.id.cmp(&b.id)));
        online
    }

    /// The room is gone: forget it without announcing anything.
    pub fn forget_room(&mut self, room: RoomId) {
        self.rooms.remove(&room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: RoomId = RoomId(1);
    const GRACE: Duration = Duration::from_secs(5);
    const TYPING: Duration = Duration::from_secs(5);

    fn presence() -> Presence {
        Presence::new(PresenceTimings {
            leave_grace: GRACE,
            typing_ttl: TYPING,
        })
    }

    fn person(id: i64, name: &str) -> Person {
        Person {
            id: UserId(id),
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
        assert_eq!(presence.stop_typing(ROOM, jisoo.id), Some(stopped));
        assert_eq!(presence.stop_typing(ROOM, jisoo.id), None);
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
}
