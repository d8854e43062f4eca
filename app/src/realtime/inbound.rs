//! Applying the server's frames to the tab's state: each message or change to its room's
//! feed (and out of the outbox, once the post it carries is in), presence to the online and
//! typing lists, and the endings of subscriptions to the feeds that show them.
//!
//! The socket loop in `browser` hands every frame but the hello here; nothing here reads
//! the socket. The ranges [`super::Progress`] finds skipped are asked for at once.

use leptos::prelude::*;

use std::collections::HashMap;

use super::notify::Notification;
use super::reconnect::{Disconnect, Reconnect};
use super::{NoticeKind, Realtime, RoomFeed, browser, notify};
use crate::model::RoomId;
use crate::protocol::{ClientFrame, MessageView, ProtocolError, ServerFrame, UnsubscribeReason};

/// A room to subscribe again: the backoff of its failures in a row, and whether a retry is
/// waiting for its time.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Retry {
    backoff: Reconnect,
    waiting: bool,
}

impl Realtime {
    // Used by the socket loop, which exists only in the browser build.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    /// Applies a frame from the server (other than the hello, which the socket loop handles).
    pub(super) fn handle(&self, frame: ServerFrame) {
        match frame {
            ServerFrame::Message { message } => self.receive(message.seq, message, true),
            ServerFrame::Changed { seq, message } => self.receive(seq, message, false),
            ServerFrame::Subscribed { room, last_seq } => {
                self.unavailable.update_value(|rooms| {
                    rooms.remove(&room);
                });
                // The replay asked for is over: what comes now is news.
                self.feed(room).live.set_value(true);
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
            ServerFrame::Error {
                error: ProtocolError::Unavailable { room },
            } => self.retry_later(room),
            ServerFrame::Hello { .. } | ServerFrame::Error { .. } => {}
        }
    }

    /// The server could not read `room` just now (a subscription that did not start, or a
    /// fetch that did not fill its gap): subscribe again after a backoff that grows with
    /// each failure in a row, from where the feed stands, which replays any gap too. One
    /// retry waits at a time per room, and none survives the socket opening again.
    fn retry_later(&self, room: RoomId) {
        let mut scheduled = None;
        self.unavailable.update_value(|rooms| {
            let retry = rooms.entry(room).or_default();
            if !retry.waiting {
                retry.backoff.after(Disconnect::Dropped {
                    was_connected: false,
                });
                retry.waiting = true;
                scheduled = Some(retry.backoff);
            }
        });
        let Some(backoff) = scheduled else {
            return;
        };
        let realtime = *self;
        browser::after_backoff(backoff, move || {
            let still_due = realtime.unavailable.try_update_value(|rooms| {
                rooms
                    .get_mut(&room)
                    .is_some_and(|retry| std::mem::replace(&mut retry.waiting, false))
            });
            if still_due == Some(true)
                && let Some(frame) = realtime.resubscription(room)
            {
                realtime.send_frame(frame);
            }
        });
    }

    // Used by the socket loop, which exists only in the browser build.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    /// The socket opened again and subscribes every room: no retry is due any more.
    pub(super) fn forget_retries(&self) {
        self.unavailable.update_value(HashMap::clear);
    }

    /// The notification a new post raises, if any: only one heard live (not a replay of
    /// what the tab missed), by the room's level.
    fn notification_of(&self, feed: RoomFeed, message: &MessageView) -> Option<Notification> {
        let me = self.me.with_untracked(|me| me.as_ref().map(|me| me.id))?;
        if !feed.live.get_value() {
            return None;
        }
        let mentions_me = message.mentions.contains(&me);
        self.known_rooms.with_value(|rooms| {
            notify::notification_for(rooms.get(&message.room), message, me, mentions_me)
        })
    }

    /// Change `seq` arrived (live, replayed or fetched): apply it, drop the post's outbox
    /// entry, count it as unread (and as a mention when it names me) if it is new and not
    /// on screen, and ask for any range
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
        let client_id = message.client_id.clone();
        let author = message.author.as_ref().map(|author| author.id);
        let me = self.me.with_untracked(|me| me.as_ref().map(|me| me.id));
        if posted {
            // Their message arrived: they are no longer typing.
            feed.typing
                .update(|typing| typing.retain(|p| Some(p.id) != author));
        }
        if new
            && posted
            && let Some(notification) = self.notification_of(feed, &message)
        {
            browser::raise(notification);
        }
        // A room on screen in a tab in the background is not being read.
        let unread = new
            && posted
            && !message.deleted
            && author != me
            && (self.open_room.get_untracked() != Some(room) || browser::tab_hidden());
        let mentions_me = unread && me.is_some_and(|me| message.mentions.contains(&me));
        feed.merge([message]);
        self.outbox.update(|outbox| outbox.remove(&client_id));
        if unread {
            self.unread
                .update(|unread| *unread.entry(room).or_default() += 1);
        }
        if mentions_me {
            self.mentions
                .update(|mentions| *mentions.entry(room).or_default() += 1);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{UserId, UserView};
    use crate::protocol::{ClientId, MessageId, Person};

    const ROOM: RoomId = RoomId(1);

    fn person(id: i64) -> Person {
        Person {
            id: UserId(id),
            username: format!("person{id}"),
            display_name: format!("person {id}"),
        }
    }

    fn signed_in_as(id: i64) -> (Owner, Realtime) {
        let owner = crate::realtime::test_owner();
        let realtime = Realtime::new();
        realtime.me.set(Some(UserView {
            id: UserId(id),
            username: format!("user{id}"),
            display_name: format!("person {id}"),
            is_admin: false,
        }));
        (owner, realtime)
    }

    fn posted(seq: u64, author: i64, client_id: &ClientId) -> ServerFrame {
        ServerFrame::Message {
            message: MessageView {
                id: MessageId(seq as i64),
                room: ROOM,
                seq,
                client_id: client_id.clone(),
                author: Some(person(author)),
                body: format!("message {seq}"),
                created_ms: 0,
                edited_ms: None,
                deleted: false,
                changed_seq: seq,
                reactions: Vec::new(),
                reply_to: None,
                rich: crate::model::RichText::default(),
                mentions: Vec::new(),
                mentioned: Vec::new(),
            },
        }
    }

    fn client_id(n: u8) -> ClientId {
        ClientId::parse(&format!("00000000-0000-4000-8000-0000000000{n:02x}")).unwrap()
    }

    #[test]
    fn the_broadcast_of_my_post_takes_it_out_of_the_outbox_and_is_not_unread() {
        let (_owner, realtime) = signed_in_as(1);
        realtime.feed(ROOM);
        realtime
            .outbox
            .update(|outbox| outbox.push(client_id(1), ROOM, "message 1".into(), None));
        realtime.handle(posted(1, 1, &client_id(1)));
        assert!(realtime.pending(ROOM).is_empty());
        assert_eq!(realtime.unread(ROOM), 0);
        assert!(
            realtime
                .feed(ROOM)
                .messages
                .with_untracked(|known| known.contains_key(&1))
        );
    }

    #[test]
    fn a_new_message_from_someone_else_counts_once_unless_its_room_is_on_screen() {
        let (_owner, realtime) = signed_in_as(1);
        realtime.feed(ROOM);
        realtime.handle(posted(1, 2, &client_id(1)));
        realtime.handle(posted(1, 2, &client_id(1)));
        assert_eq!(realtime.unread(ROOM), 1, "a replayed copy is not new");
        realtime.open(ROOM);
        assert_eq!(realtime.unread(ROOM), 0);
        realtime.handle(posted(2, 2, &client_id(2)));
        assert_eq!(realtime.unread(ROOM), 0);
    }

    #[test]
    fn a_new_message_that_mentions_me_counts_as_a_mention_too_until_the_room_opens() {
        let (_owner, realtime) = signed_in_as(1);
        realtime.feed(ROOM);
        let mentioning = |seq: u64, mentions: Vec<UserId>| {
            let ServerFrame::Message { mut message } = posted(seq, 2, &client_id(seq as u8)) else {
                unreachable!("posted makes a Message frame")
            };
            message.mentions = mentions;
            ServerFrame::Message { message }
        };
        realtime.handle(mentioning(1, vec![UserId(1)]));
        realtime.handle(mentioning(1, vec![UserId(1)]));
        realtime.handle(mentioning(2, vec![UserId(3)]));
        assert_eq!((realtime.unread(ROOM), realtime.mentions(ROOM)), (2, 1));
        realtime.open(ROOM);
        assert_eq!(realtime.mentions(ROOM), 0);
        realtime.handle(mentioning(3, vec![UserId(1)]));
        assert_eq!(realtime.mentions(ROOM), 0, "read as it arrives");
    }

    #[test]
    fn a_message_for_a_room_without_a_feed_is_ignored() {
        let (_owner, realtime) = signed_in_as(1);
        realtime.handle(posted(1, 2, &client_id(1)));
        assert_eq!(realtime.unread(ROOM), 0);
    }

    #[test]
    fn their_message_ends_their_typing_and_my_own_typing_is_never_shown() {
        let (_owner, realtime) = signed_in_as(1);
        let feed = realtime.feed(ROOM);
        for id in [1, 2, 3] {
            realtime.handle(ServerFrame::Typing {
                room: ROOM,
                person: person(id),
                typing: true,
            });
        }
        assert_eq!(feed.typing.get_untracked(), [person(2), person(3)]);
        realtime.handle(posted(1, 2, &client_id(1)));
        assert_eq!(feed.typing.get_untracked(), [person(3)]);
    }

    #[test]
    fn joining_adds_a_name_once_in_order_and_leaving_removes_it_with_a_notice_each() {
        let (_owner, realtime) = signed_in_as(1);
        let feed = realtime.feed(ROOM);
        let zed = Person {
            id: UserId(9),
            username: "zed".into(),
            display_name: "Zed".into(),
        };
        let ana = Person {
            id: UserId(8),
            username: "ana".into(),
            display_name: "Ana".into(),
        };
        for person in [zed.clone(), ana.clone(), ana.clone()] {
            realtime.handle(ServerFrame::Joined { room: ROOM, person });
        }
        assert_eq!(feed.online.get_untracked(), [ana.clone(), zed.clone()]);
        realtime.handle(ServerFrame::Left {
            room: ROOM,
            person: zed.clone(),
        });
        assert_eq!(feed.online.get_untracked(), std::slice::from_ref(&ana));
        let kinds: Vec<NoticeKind> = feed
            .notices
            .with_untracked(|notices| notices.iter().map(|n| n.kind.clone()).collect());
        assert_eq!(
            kinds,
            [
                NoticeKind::Joined(zed.clone()),
                NoticeKind::Joined(ana),
                NoticeKind::Left(zed)
            ]
        );
    }

    #[test]
    fn a_refetch_reloads_the_open_room_but_starts_a_hidden_one_over() {
        let (_owner, realtime) = signed_in_as(1);
        let feed = realtime.feed(ROOM);
        feed.merge_latest(Vec::new(), 5);
        realtime.open(ROOM);
        realtime.handle(ServerFrame::Refetch {
            room: ROOM,
            last_seq: 900,
        });
        assert_eq!(
            feed.refetch.get_untracked(),
            1,
            "the page reloads its history"
        );
        assert_eq!(feed.resume_point(), Some(5));

        realtime.close(ROOM);
        realtime.handle(ServerFrame::Refetch {
            room: ROOM,
            last_seq: 900,
        });
        assert_eq!(feed.refetch.get_untracked(), 1);
        assert_eq!(feed.resume_point(), None, "live from now");
    }

    #[test]
    fn an_ended_subscription_clears_presence_and_says_why() {
        let (_owner, realtime) = signed_in_as(1);
        let feed = realtime.feed(ROOM);
        realtime.handle(ServerFrame::Presence {
            room: ROOM,
            online: vec![person(2)],
        });
        realtime.handle(ServerFrame::Unsubscribed {
            room: ROOM,
            reason: UnsubscribeReason::RoomDeleted,
        });
        assert_eq!(
            feed.ended.get_untracked(),
            Some(UnsubscribeReason::RoomDeleted)
        );
        assert!(feed.online.get_untracked().is_empty());
        realtime.handle(ServerFrame::Error {
            error: ProtocolError::NotFound { room: RoomId(2) },
        });
        assert_eq!(
            realtime.feed(RoomId(2)).ended.get_untracked(),
            Some(UnsubscribeReason::AccessEnded)
        );
    }

    #[test]
    fn a_room_the_server_could_not_read_is_subscribed_again_with_a_growing_backoff() {
        let (_owner, realtime) = signed_in_as(5);
        realtime.follow(RoomId(2));
        let unavailable = ServerFrame::Error {
            error: ProtocolError::Unavailable { room: RoomId(2) },
        };
        realtime.handle(unavailable.clone());
        realtime.handle(unavailable);
        let attempt = |realtime: &Realtime| {
            realtime
                .unavailable
                .with_value(|rooms| rooms.get(&RoomId(2)).map(|retry| retry.backoff.attempt()))
        };
        assert_eq!(attempt(&realtime), Some(1), "one retry waits at a time");
        // Its time came (the browser's timer); the next failure backs off further.
        realtime
            .unavailable
            .update_value(|rooms| rooms.get_mut(&RoomId(2)).unwrap().waiting = false);
        realtime.handle(ServerFrame::Error {
            error: ProtocolError::Unavailable { room: RoomId(2) },
        });
        assert_eq!(attempt(&realtime), Some(2), "two failures in a row");
        assert_eq!(
            realtime.resubscription(RoomId(2)),
            Some(ClientFrame::Subscribe {
                room: RoomId(2),
                after_seq: None,
                quiet: false
            }),
            "what the retry sends"
        );
        realtime.handle(ServerFrame::Subscribed {
            room: RoomId(2),
            last_seq: 0,
        });
        assert_eq!(
            attempt(&realtime),
            None,
            "subscribed: the backoff starts over"
        );
        // A room no longer followed, or whose subscription ended, is not retried.
        assert_eq!(realtime.resubscription(RoomId(3)), None);
        realtime
            .feed(RoomId(2))
            .ended
            .set(Some(UnsubscribeReason::Left));
        assert_eq!(realtime.resubscription(RoomId(2)), None);
    }

    #[test]
    fn only_a_message_heard_live_raises_a_notification_not_a_replay() {
        use crate::model::NotificationLevel;
        use crate::realtime::notify::KnownRoom;
        let (_owner, realtime) = signed_in_as(5);
        let room = RoomId(1);
        realtime.follow(room);
        realtime.know_rooms([(
            room,
            KnownRoom {
                name: "General".into(),
                is_direct: false,
                notify: NotificationLevel::All,
            },
        )]);
        let ServerFrame::Message { message } = posted(1, 9, &client_id(1)) else {
            unreachable!("posted makes a message frame")
        };
        let feed = realtime.feed(room);
        assert_eq!(
            realtime.notification_of(feed, &message),
            None,
            "subscribing: this is the replay"
        );
        realtime.handle(ServerFrame::Subscribed { room, last_seq: 1 });
        let raised = realtime.notification_of(feed, &message);
        assert_eq!(raised.map(|n| n.tag), Some("sori-room-1".into()));
    }
}
