//! One room as this tab knows it ([`RoomFeed`]): its messages keyed by the `seq` of their
//! posting, how far its changes are applied, and its live presence, as signals the chat
//! view renders; plus the "joined" and "left" lines ([`Notice`]) shown between messages.
//!
//! [`super::Realtime`] creates one feed per room and feeds it what the socket and the
//! server functions bring; pages read it and merge the history pages they load. A feed
//! sends nothing: the ranges to fetch are [`Progress`]'s answers, which `Realtime` sends.

use std::collections::BTreeMap;
use std::sync::Arc;

use leptos::prelude::*;

use super::Progress;
use crate::protocol::{MessageView, Person, UnsubscribeReason};

/// A line in the timeline that is not a message: someone joined or left. These come from
/// presence, are not stored, and are shown only to those who saw them happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Shown after the message with this `seq`.
    pub after_seq: u64,
    /// Orders notices after the same message.
    pub order: u32,
    pub kind: NoticeKind,
}

/// Typed, so the words can be translated where they are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    Joined(Person),
    Left(Person),
}

/// One room as this tab knows it: its messages keyed by the `seq` of their posting, how far
/// its changes are applied, and its live presence.
#[derive(Clone, Copy)]
pub struct RoomFeed {
    /// Shared copies: the timeline and each rendered message hold the same one.
    pub messages: RwSignal<BTreeMap<u64, Arc<MessageView>>>,
    pub progress: RwSignal<Progress>,
    /// Bumped when the server says the gap is too large to replay: reload the history.
    pub refetch: RwSignal<u32>,
    /// Set when the subscription ended without the user asking.
    pub ended: RwSignal<Option<UnsubscribeReason>>,
    /// Who is online, by name.
    pub online: RwSignal<Vec<Person>>,
    /// Who is typing (never me).
    pub typing: RwSignal<Vec<Person>>,
    pub notices: RwSignal<Vec<Notice>>,
    /// Whether the subscription is live: false from asking to subscribe until `Subscribed`,
    /// while what arrives is the replay of what the tab missed (no news, so no notification).
    pub live: StoredValue<bool>,
}

impl RoomFeed {
    pub(super) fn new() -> Self {
        Self {
            messages: RwSignal::new(BTreeMap::new()),
            progress: RwSignal::new(Progress::default()),
            refetch: RwSignal::new(0),
            ended: RwSignal::new(None),
            online: RwSignal::new(Vec::new()),
            typing: RwSignal::new(Vec::new()),
            notices: RwSignal::new(Vec::new()),
            live: StoredValue::new(false),
        }
    }

    /// Adds messages (from history, a replay or live), keeping the newest copy of each.
    pub fn merge<M: Into<Arc<MessageView>>>(&self, messages: impl IntoIterator<Item = M>) {
        self.messages.update(|known| {
            for message in messages {
                let message = message.into();
                let newer = known
                    .get(&message.seq)
                    .is_none_or(|old| message.supersedes(old));
                if newer {
                    known.insert(message.seq, message);
                }
            }
        });
    }

    /// Shows the sender's own copy of a post the server just acknowledged, at its place.
    /// The broadcast often arrives first; the server's copy then stays, because it is the
    /// real one (its time is the server's) and the two carry the same `changed_seq`.
    pub(super) fn show_sent(&self, message: MessageView) {
        let arrived = self
            .messages
            .with_untracked(|known| known.contains_key(&message.seq));
        if !arrived {
            self.messages.update(|known| {
                known.insert(message.seq, Arc::new(message));
            });
        }
    }

    /// Merges the newest history page, read when the room's changes stood at `last_seq`.
    pub fn merge_latest(&self, messages: Vec<Arc<MessageView>>, last_seq: u64) {
        self.merge(messages);
        self.progress
            .update(|progress| progress.known_through(last_seq));
    }

    /// Where a subscription resumes (see [`Progress::resume_point`]).
    pub fn resume_point(&self) -> Option<u64> {
        self.progress.with_untracked(Progress::resume_point)
    }

    /// Forgets everything: the gap was too large to replay and no page is showing it, or a
    /// page shows a window of older history from which the room is to be followed again.
    pub fn reset(&self) {
        self.messages.update(|known| known.clear());
        self.notices.update(|notices| notices.clear());
        self.progress.set(Progress::default());
    }

    /// Adds a presence line after the newest message the feed holds.
    pub(super) fn notice(&self, kind: NoticeKind) {
        let after_seq = self
            .messages
            .with_untracked(|known| known.keys().next_back().copied().unwrap_or(0));
        self.notices.update(|notices| {
            let order = notices
                .iter()
                .filter(|notice| notice.after_seq == after_seq)
                .count() as u32;
            notices.push(Notice {
                after_seq,
                order,
                kind,
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RoomId, UserId};
    use crate::protocol::{ClientId, MessageId};

    fn message(seq: u64, changed_seq: u64, body: &str) -> MessageView {
        MessageView {
            id: MessageId(seq as i64),
            room: RoomId(1),
            seq,
            client_id: ClientId::parse("0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e70").unwrap(),
            author: Some(person(1, "Minji")),
            body: body.to_owned(),
            created_ms: 1_700_000_000_000,
            edited_ms: None,
            deleted: false,
            changed_seq,
            reactions: Vec::new(),
            reply_to: None,
            rich: crate::model::RichText::plain(body),
            mentions: Vec::new(),
            mentioned: Vec::new(),
        }
    }

    fn person(id: i64, name: &str) -> Person {
        Person {
            id: UserId(id),
            username: name.to_lowercase(),
            display_name: name.to_owned(),
        }
    }

    fn body_at(feed: &RoomFeed, seq: u64) -> Option<String> {
        feed.messages
            .with_untracked(|known| known.get(&seq).map(|message| message.body.clone()))
    }

    #[test]
    fn an_edit_replayed_before_the_original_is_not_reverted() {
        let _owner = crate::realtime::test_owner();
        let feed = RoomFeed::new();
        feed.merge([message(3, 5, "edited")]);
        feed.merge([message(3, 3, "original")]);
        assert_eq!(body_at(&feed, 3).as_deref(), Some("edited"));
        feed.merge([message(3, 6, "edited again")]);
        assert_eq!(body_at(&feed, 3).as_deref(), Some("edited again"));
    }

    #[test]
    fn the_senders_copy_shows_until_the_servers_arrives_and_never_replaces_it() {
        let _owner = crate::realtime::test_owner();
        let feed = RoomFeed::new();
        feed.show_sent(message(4, 4, "mine"));
        assert_eq!(body_at(&feed, 4).as_deref(), Some("mine"));
        feed.merge([message(4, 4, "server's")]);
        assert_eq!(body_at(&feed, 4).as_deref(), Some("server's"));

        let late = RoomFeed::new();
        late.merge([message(4, 4, "server's")]);
        late.show_sent(message(4, 4, "mine"));
        assert_eq!(body_at(&late, 4).as_deref(), Some("server's"));
    }

    #[test]
    fn notices_follow_the_newest_message_in_the_order_they_happened() {
        let _owner = crate::realtime::test_owner();
        let feed = RoomFeed::new();
        feed.notice(NoticeKind::Joined(person(2, "Ana")));
        feed.merge([message(7, 7, "hi")]);
        feed.notice(NoticeKind::Joined(person(3, "Bo")));
        feed.notice(NoticeKind::Left(person(2, "Ana")));
        let placed: Vec<(u64, u32)> = feed.notices.with_untracked(|notices| {
            notices
                .iter()
                .map(|notice| (notice.after_seq, notice.order))
                .collect()
        });
        assert_eq!(placed, [(0, 0), (7, 0), (7, 1)]);
    }

    #[test]
    fn a_reset_forgets_messages_notices_and_progress() {
        let _owner = crate::realtime::test_owner();
        let feed = RoomFeed::new();
        feed.merge_latest(vec![message(1, 1, "hi").into()], 1);
        feed.notice(NoticeKind::Left(person(2, "Ana")));
        assert_eq!(feed.resume_point(), Some(1));
        feed.reset();
        assert_eq!(body_at(&feed, 1), None);
        assert!(feed.notices.with_untracked(Vec::is_empty));
        assert_eq!(feed.resume_point(), None, "it starts live again");
    }
}
