//! The read markers this tab moves on the server ([`ReadMarkers`]): per room, the newest
//! `seq` the user has seen, the newest the server accepted, and whether a request is in
//! flight. At most one request per room is in flight; a marker wanted meanwhile goes next,
//! and only the newest of several, since a later marker covers the earlier ones.
//!
//! `browser` sends the requests and reports how each ended; this module only says what to
//! send and when. A failed request is not retried on its own: the next marker the page
//! asks for (the next message read) sends again.

use std::collections::{HashMap, HashSet};

use crate::model::RoomId;

#[derive(Debug, Default)]
pub struct ReadMarkers {
    /// The newest `seq` asked for per room.
    wanted: HashMap<RoomId, u64>,
    /// The newest `seq` the server accepted per room.
    sent: HashMap<RoomId, u64>,
    in_flight: HashSet<RoomId>,
}

impl ReadMarkers {
    /// The user has seen `room` up to `seq`. Returns the marker to send now, if one is due:
    /// it is ahead of what the server accepted and no request for the room is in flight
    /// (that one's end sends it instead).
    pub fn want(&mut self, room: RoomId, seq: u64) -> Option<u64> {
        let sent = self.accepted(room);
        let wanted = self.wanted.entry(room).or_default();
        *wanted = (*wanted).max(seq);
        let wanted = *wanted;
        (wanted > sent && self.in_flight.insert(room)).then_some(wanted)
    }

    /// The request moving `room`'s marker to `seq` ended, `accepted` or not. Returns the
    /// next marker to send if a newer one was wanted meanwhile (and this one got through);
    /// otherwise the room has no request in flight any more.
    pub fn finished(&mut self, room: RoomId, seq: u64, accepted: bool) -> Option<u64> {
        if accepted {
            let sent = self.sent.entry(room).or_default();
            *sent = (*sent).max(seq);
        }
        let sent = self.accepted(room);
        let next = self
            .wanted
            .get(&room)
            .copied()
            .filter(|wanted| accepted && *wanted > sent);
        if next.is_none() {
            self.in_flight.remove(&room);
        }
        next
    }

    fn accepted(&self, room: RoomId) -> u64 {
        self.sent.get(&room).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: RoomId = RoomId(1);

    #[test]
    fn the_first_marker_of_a_room_is_sent_at_once() {
        let mut markers = ReadMarkers::default();
        assert_eq!(markers.want(ROOM, 5), Some(5));
    }

    #[test]
    fn markers_wanted_during_a_request_wait_and_only_the_newest_goes_next() {
        let mut markers = ReadMarkers::default();
        assert_eq!(markers.want(ROOM, 5), Some(5));
        assert_eq!(
            markers.want(ROOM, 6),
            None,
            "one request in flight per room"
        );
        assert_eq!(markers.want(ROOM, 8), None);
        assert_eq!(markers.finished(ROOM, 5, true), Some(8));
        assert_eq!(markers.finished(ROOM, 8, true), None);
        assert_eq!(markers.want(ROOM, 9), Some(9), "nothing in flight any more");
    }

    #[test]
    fn a_marker_not_ahead_of_the_accepted_one_is_not_sent() {
        let mut markers = ReadMarkers::default();
        assert_eq!(markers.want(ROOM, 5), Some(5));
        assert_eq!(markers.finished(ROOM, 5, true), None);
        assert_eq!(markers.want(ROOM, 5), None);
        assert_eq!(markers.want(ROOM, 3), None, "a marker never moves back");
        assert_eq!(markers.want(ROOM, 6), Some(6));
    }

    #[test]
    fn a_failed_request_stops_and_the_next_marker_sends_the_newest_again() {
        let mut markers = ReadMarkers::default();
        assert_eq!(markers.want(ROOM, 5), Some(5));
        assert_eq!(markers.want(ROOM, 7), None);
        assert_eq!(markers.finished(ROOM, 5, false), None, "no retry loop");
        assert_eq!(markers.want(ROOM, 6), Some(7));
    }

    #[test]
    fn rooms_have_requests_in_flight_independently() {
        let mut markers = ReadMarkers::default();
        assert_eq!(markers.want(ROOM, 5), Some(5));
        assert_eq!(markers.want(RoomId(2), 3), Some(3));
    }
}
