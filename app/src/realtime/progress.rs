//! How far one room's feed has applied the room's numbered changes ([`Progress`]): the
//! number up to which everything is applied, the changes seen beyond a hole, and the holes
//! already asked for.
//!
//! A feed consults it for every change it receives and every subscription it starts; it
//! answers what is new and which range to fetch. It never fetches, and it keeps no
//! messages: [`super::RoomFeed`] holds those.

use std::collections::BTreeSet;

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
