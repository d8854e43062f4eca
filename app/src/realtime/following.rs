//! The rooms this tab subscribes to ([`Following`]), least recently followed first, each
//! either with the user present in it (its page is open) or followed quietly for its unread
//! count. The server closes a socket with too many subscriptions, so past
//! [`MAX_FOLLOWED`] the least recently followed quiet rooms are let go.
//!
//! [`super::Realtime`] sends the subscribe and unsubscribe frames these answers call for;
//! after a reconnect it subscribes every room listed here again.

use crate::model::RoomId;

/// Rooms one tab subscribes to at most; the server allows 100 per socket.
pub const MAX_FOLLOWED: usize = 90;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Following {
    /// Least recently followed first; `true` where the user is present.
    rooms: Vec<(RoomId, bool)>,
}

impl Following {
    /// Whether the user is present in `room` (not merely following it quietly).
    pub fn is_present(&self, room: RoomId) -> bool {
        self.rooms
            .iter()
            .any(|(followed, present)| *followed == room && *present)
    }

    /// Follows `room`, present or quietly, as the most recent. Returns the quiet rooms let
    /// go to stay within [`MAX_FOLLOWED`]; a room the user is present in is never let go.
    pub fn follow(&mut self, room: RoomId, present: bool) -> Vec<RoomId> {
        self.rooms.retain(|(followed, _)| *followed != room);
        self.rooms.push((room, present));
        let mut evicted = Vec::new();
        while self.rooms.len() > MAX_FOLLOWED {
            let Some(index) = self.rooms.iter().position(|(_, present)| !present) else {
                break;
            };
            evicted.push(self.rooms.remove(index).0);
        }
        evicted
    }

    pub fn forget(&mut self, room: RoomId) {
        self.rooms.retain(|(followed, _)| *followed != room);
    }

    /// Every followed room with whether the user is present, least recent first.
    pub fn rooms(&self) -> impl Iterator<Item = (RoomId, bool)> + '_ {
        self.rooms.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quietly_following(count: usize) -> Following {
        let mut following = Following::default();
        for n in 0..count {
            assert_eq!(following.follow(RoomId(n as i64), false), []);
        }
        following
    }

    #[test]
    fn following_again_moves_the_room_last_and_changes_its_mode() {
        let mut following = quietly_following(3);
        following.follow(RoomId(0), true);
        assert!(following.is_present(RoomId(0)));
        assert!(!following.is_present(RoomId(1)));
        let order: Vec<(RoomId, bool)> = following.rooms().collect();
        assert_eq!(
            order,
            [(RoomId(1), false), (RoomId(2), false), (RoomId(0), true)]
        );
    }

    #[test]
    fn past_the_limit_the_least_recently_followed_quiet_room_goes() {
        let mut following = quietly_following(MAX_FOLLOWED);
        following.follow(RoomId(0), true);
        assert_eq!(following.follow(RoomId(1000), false), [RoomId(1)]);
        assert_eq!(following.rooms().count(), MAX_FOLLOWED);
        assert!(following.is_present(RoomId(0)), "present rooms stay");
    }

    #[test]
    fn rooms_the_user_is_present_in_are_never_let_go() {
        let mut following = Following::default();
        for n in 0..=MAX_FOLLOWED {
            assert_eq!(following.follow(RoomId(n as i64), true), []);
        }
        assert_eq!(following.rooms().count(), MAX_FOLLOWED + 1);
    }

    #[test]
    fn a_forgotten_room_is_not_followed_in_any_mode() {
        let mut following = quietly_following(2);
        following.follow(RoomId(0), true);
        following.forget(RoomId(0));
        assert!(!following.is_present(RoomId(0)));
        assert_eq!(following.rooms().collect::<Vec<_>>(), [(RoomId(1), false)]);
    }
}
