//! The rules of one socket's subscriptions, without the socket: which rooms it follows, how
//! far it has sent each one, and so which frame from the hub it writes and which it drops.
//!
//! The connection loop asks this module and does the I/O. Subscribing registers with the
//! hub before reading the store, so a live event committed in between reaches the socket
//! twice: once in the replay, once from the hub. Each room keeps the highest `seq` sent (its
//! high-water mark), and a live event at or below it is the second copy, dropped here. That
//! is how the client gets every event once, in `seq` order, without a lock between the hub
//! and the store.
//!
//! It holds no socket, awaits nothing and checks no access: the connection checks
//! visibility and tells it the outcome (`member`); what it decides is tested below.

use std::collections::HashMap;

use app::backend::hub::{Encoded, Outbound};
use app::backend::messages::Replay;
use app::backend::store::RoomEvent;
use app::model::RoomId;

/// The rooms one socket is subscribed to.
#[derive(Debug, Default)]
pub struct Subscriptions {
    rooms: HashMap<RoomId, Room>,
}

/// One subscribed room.
#[derive(Debug)]
struct Room {
    /// The highest `seq` of the room the client has, or counts as having: sent by a replay,
    /// a fetch or live, or skipped on purpose (a live-only subscription, a refetch).
    sent: u64,
    /// Whether the user was a member when subscribing (a reader of a public room is not).
    member: bool,
}

impl Room {
    /// Raises the high-water mark to `seq`; false if the client already has it. The only
    /// place the mark moves once a subscription has started.
    fn advance(&mut self, seq: u64) -> bool {
        let newer = seq > self.sent;
        if newer {
            self.sent = seq;
        }
        newer
    }
}

impl Subscriptions {
    pub fn contains(&self, room: RoomId) -> bool {
        self.rooms.contains_key(&room)
    }

    /// Whether the user may signal typing in `room`: readers of a public room who have not
    /// joined it cannot post, so they do not type in it either.
    pub fn may_type(&self, room: RoomId) -> bool {
        self.rooms.get(&room).is_some_and(|room| room.member)
    }

    /// Starts following `room` (again) once its replay is read, replacing what was known of
    /// it. The socket then sends the replay's events (or a refetch), then `Subscribed` with
    /// the `seq` returned here: everything up to it counts as sent from now on.
    ///
    /// A live-only subscription (no `after_seq`) and a gap too far to replay count the
    /// room's newest `seq` as sent; a client resuming beyond it keeps its own number.
    pub fn start(
        &mut self,
        room: RoomId,
        member: bool,
        after_seq: Option<u64>,
        replay: &Replay,
    ) -> u64 {
        let sent = match replay {
            Replay::TooFar { last_seq } => *last_seq,
            Replay::Events { events, last_seq } => {
                let replayed = events
                    .iter()
                    .filter(|event| event.message.room == room)
                    .map(|event| event.seq)
                    .max()
                    .unwrap_or(0);
                after_seq.unwrap_or(*last_seq).max(replayed).max(*last_seq)
            }
        };
        self.rooms.insert(room, Room { sent, member });
        sent
    }

    /// Stops following `room` (unsubscribed, refused, or the store failed).
    pub fn end(&mut self, room: RoomId) {
        self.rooms.remove(&room);
    }

    /// Counts the events of a fetch as sent, so their live copies still queued are dropped.
    pub fn fetched(&mut self, events: &[RoomEvent]) {
        for event in events {
            if let Some(room) = self.rooms.get_mut(&event.message.room) {
                room.advance(event.seq);
            }
        }
    }

    /// Decides whether a frame from the hub is written: its bytes if so.
    ///
    /// A room event is written once and in order: only if its room is subscribed and its
    /// `seq` is above the mark. The end of a subscription is always written (it may end one
    /// this socket was still starting) and forgets the room. Presence is written only while
    /// the room is subscribed: the hub may have queued it just before an unsubscribe.
    pub fn admit(&mut self, outbound: Outbound) -> Option<Encoded> {
        match outbound {
            Outbound::Event { room, seq, json } => {
                self.rooms.get_mut(&room)?.advance(seq).then_some(json)
            }
            Outbound::Ended { room, json } => {
                self.rooms.remove(&room);
                Some(json)
            }
            Outbound::Ephemeral { room, json } => self.contains(room).then_some(json),
        }
    }
}

#[cfg(test)]
mod tests {
    use app::model::UserId;
    use app::protocol::UnsubscribeReason;
    use app::protocol::{ClientId, MessageId, MessageView, Person, ServerFrame};

    use super::*;

    const ROOM: RoomId = RoomId(1);
    const OTHER: RoomId = RoomId(2);

    fn event(room: RoomId, seq: u64) -> RoomEvent {
        RoomEvent {
            seq,
            message: MessageView {
                id: MessageId(seq as i64),
                room,
                seq,
                client_id: ClientId::parse("0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e70").unwrap(),
                author: Some(Person {
                    id: UserId(1),
                    username: "minji".into(),
                    display_name: "minji".into(),
                }),
                body: format!("message {seq}"),
                created_ms: 0,
                edited_ms: None,
                deleted: false,
                changed_seq: seq,
                reactions: Vec::new(),
                reply_to: None,
                rich: app::model::RichText::plain(&format!("message {seq}")),
                mentions: Vec::new(),
                mentioned: Vec::new(),
            },
        }
    }

    fn replay(seqs: std::ops::RangeInclusive<u64>, last_seq: u64) -> Replay {
        Replay::Events {
            events: seqs.map(|seq| event(ROOM, seq)).collect(),
            last_seq,
        }
    }

    /// A replay with no events: live-only, or nothing new since `after_seq`.
    fn nothing(last_seq: u64) -> Replay {
        Replay::Events {
            events: Vec::new(),
            last_seq,
        }
    }

    fn live(room: RoomId, seq: u64) -> Outbound {
        Outbound::Event {
            room,
            seq,
            json: Encoded::from(&ServerFrame::from(event(room, seq))),
        }
    }

    fn presence(room: RoomId) -> Outbound {
        Outbound::Ephemeral {
            room,
            json: Encoded::from(&ServerFrame::Presence {
                room,
                online: Vec::new(),
            }),
        }
    }

    fn ended(room: RoomId) -> Outbound {
        Outbound::Ended {
            room,
            json: Encoded::from(&ServerFrame::Unsubscribed {
                room,
                reason: UnsubscribeReason::AccessEnded,
            }),
        }
    }

    /// The live events of `seqs` that `subscriptions` writes, by `seq`.
    fn admitted(subscriptions: &mut Subscriptions, room: RoomId, seqs: &[u64]) -> Vec<u64> {
        seqs.iter()
            .copied()
            .filter(|seq| subscriptions.admit(live(room, *seq)).is_some())
            .collect()
    }

    #[test]
    fn live_copies_of_replayed_events_are_dropped_and_later_ones_written_in_order() {
        let mut subscriptions = Subscriptions::default();
        // Events 4 and 5 were committed between the hub registration and the replay read.
        let confirmed = subscriptions.start(ROOM, true, Some(2), &replay(3..=5, 5));
        assert_eq!(confirmed, 5);
        assert_eq!(admitted(&mut subscriptions, ROOM, &[4, 5, 6, 7]), [6, 7]);
    }

    #[test]
    fn a_live_event_that_arrives_twice_is_written_once() {
        let mut subscriptions = Subscriptions::default();
        subscriptions.start(ROOM, true, None, &nothing(3));
        assert_eq!(admitted(&mut subscriptions, ROOM, &[4, 4, 5]), [4, 5]);
    }

    #[test]
    fn a_live_only_subscription_counts_everything_up_to_now_as_sent() {
        let mut subscriptions = Subscriptions::default();
        let confirmed = subscriptions.start(ROOM, true, None, &nothing(9));
        assert_eq!(confirmed, 9);
        assert_eq!(admitted(&mut subscriptions, ROOM, &[9, 10]), [10]);
    }

    #[test]
    fn a_gap_too_far_to_replay_counts_the_newest_seq_as_sent() {
        let mut subscriptions = Subscriptions::default();
        let too_far = Replay::TooFar { last_seq: 900 };
        assert_eq!(subscriptions.start(ROOM, true, Some(3), &too_far), 900);
        assert_eq!(admitted(&mut subscriptions, ROOM, &[4, 900, 901]), [901]);
    }

    #[test]
    fn a_client_resuming_beyond_the_newest_seq_keeps_its_own_number() {
        let mut subscriptions = Subscriptions::default();
        assert_eq!(subscriptions.start(ROOM, true, Some(12), &nothing(8)), 12);
        assert_eq!(admitted(&mut subscriptions, ROOM, &[9, 12, 13]), [13]);
    }

    #[test]
    fn subscribing_again_replaces_the_mark_and_the_membership() {
        let mut subscriptions = Subscriptions::default();
        subscriptions.start(ROOM, true, None, &nothing(20));
        subscriptions.start(ROOM, false, Some(3), &replay(4..=8, 8));
        assert!(!subscriptions.may_type(ROOM));
        assert_eq!(admitted(&mut subscriptions, ROOM, &[8, 9]), [9]);
    }

    #[test]
    fn events_of_a_room_not_subscribed_are_dropped() {
        let mut subscriptions = Subscriptions::default();
        subscriptions.start(ROOM, true, None, &nothing(0));
        assert_eq!(
            admitted(&mut subscriptions, OTHER, &[1, 2]),
            Vec::<u64>::new()
        );
        assert_eq!(admitted(&mut subscriptions, ROOM, &[1]), [1]);
    }

    #[test]
    fn fetched_events_raise_the_mark_so_their_live_copies_are_dropped() {
        let mut subscriptions = Subscriptions::default();
        subscriptions.start(ROOM, true, Some(0), &replay(1..=2, 2));
        subscriptions.fetched(&[event(ROOM, 3), event(ROOM, 4), event(OTHER, 9)]);
        assert_eq!(admitted(&mut subscriptions, ROOM, &[3, 4, 5]), [5]);
        assert!(!subscriptions.contains(OTHER), "a fetch subscribes nothing");
    }

    #[test]
    fn the_end_of_a_subscription_is_written_and_forgets_the_room() {
        let mut subscriptions = Subscriptions::default();
        subscriptions.start(ROOM, true, None, &nothing(0));
        assert!(subscriptions.admit(ended(ROOM)).is_some());
        assert!(!subscriptions.contains(ROOM));
        assert!(!subscriptions.may_type(ROOM));
        assert_eq!(admitted(&mut subscriptions, ROOM, &[1]), Vec::<u64>::new());
        assert!(
            subscriptions.admit(ended(OTHER)).is_some(),
            "an end is written even for a room this socket does not follow"
        );
    }

    #[test]
    fn presence_is_written_only_while_the_room_is_subscribed() {
        let mut subscriptions = Subscriptions::default();
        assert!(subscriptions.admit(presence(ROOM)).is_none());
        subscriptions.start(ROOM, true, None, &nothing(0));
        assert!(subscriptions.admit(presence(ROOM)).is_some());
        subscriptions.end(ROOM);
        assert!(subscriptions.admit(presence(ROOM)).is_none());
    }

    #[test]
    fn only_members_at_subscribe_time_may_type() {
        let mut subscriptions = Subscriptions::default();
        subscriptions.start(ROOM, true, None, &nothing(0));
        subscriptions.start(OTHER, false, None, &nothing(0));
        assert!(subscriptions.may_type(ROOM));
        assert!(!subscriptions.may_type(OTHER), "a reader of a public room");
        assert!(!subscriptions.may_type(RoomId(3)), "not subscribed");
    }

    #[test]
    fn an_admitted_frame_is_the_hubs_bytes_not_a_copy() {
        let mut subscriptions = Subscriptions::default();
        subscriptions.start(ROOM, true, None, &nothing(0));
        let outbound = live(ROOM, 1);
        let Outbound::Event { json: queued, .. } = &outbound else {
            unreachable!("built as an event");
        };
        let pointer = queued.as_bytes().as_ptr();
        let written = subscriptions.admit(outbound).expect("admitted");
        assert_eq!(written.as_bytes().as_ptr(), pointer);
    }
}
