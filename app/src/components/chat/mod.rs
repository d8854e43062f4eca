//! The conversation of a room ([`ChatView`]): its history and live messages (a polite live
//! region) with "joined" and "left" notices, the posts still in the outbox, who is typing,
//! the composer, and who is online.
//!
//! This module lays out the page and orders the timeline; the pieces live beside it:
//! `message` (a message, its tools and its edit form, and a pending post), `rich_text` (a
//! message's rendered form as views), `composer` with its `mention_picker`, `presence` (the
//! online list, the typing line and the notices), `reactions` and `reply` (with `dom`, their
//! few direct calls to the page). State and decisions are `crate::realtime`'s: nothing here
//! talks to the socket.

mod composer;
mod dom;
mod mention_picker;
mod message;
mod presence;
mod reactions;
mod reply;
pub mod rich_text;

use std::sync::Arc;

use leptos::prelude::*;

use crate::api::messages::message_history;
use crate::model::RoomView;
use crate::protocol::{HistoryPage, MessageView, UnsubscribeReason};
use crate::realtime::{Notice, use_realtime};
use composer::Composer;
use message::{MessageItem, MessageTools, PendingItem};
use presence::{NoticeItem, OnlineList, TypingIndicator};
use reactions::ReactionTools;
use reply::{ReplyTools, ReplyingTo};

/// `history` is the newest page, rendered on the server, or with `at` the page around the
/// message posted with that `seq` (a search result), which is highlighted and scrolled to;
/// the socket continues from the page's end either way.
#[component]
pub fn ChatView(room: RoomView, history: HistoryPage, at: Option<u64>) -> impl IntoView {
    let realtime = use_realtime();
    let id = room.id;
    let tools = MessageTools::new(room.can_manage);
    let feed = realtime.feed(id);
    if at.is_some() {
        // The page is a window into the history, not its newest end. What this tab held of
        // the room (its newest messages) would sit below the window with a gap between
        // them that nothing shows; so the feed starts over from the window, and the
        // subscription replays everything after it.
        feed.reset();
    }
    feed.merge_latest(history.messages, history.last_seq);
    let has_more = RwSignal::new(history.has_more);
    let reactions = ReactionTools::new(feed, room.is_member);
    let replies = ReplyTools::new(id, feed, has_more);
    if let Some(seq) = at {
        replies.go_to(seq);
    }

    // Follow the room live, present in it (effects run in the browser only). When the page
    // closes, a member keeps following it quietly, for its unread count.
    let is_member = room.is_member;
    // While the room is on screen its messages are read: the marker follows them.
    Effect::new(move |_| {
        realtime.follow(id);
        realtime.open(id);
    });
    Effect::new(move |_| {
        let newest = feed.progress.with(|progress| progress.through);
        if is_member && newest > 0 {
            realtime.read_up_to(id, newest);
        }
    });
    on_cleanup(move || {
        realtime.close(id);
        realtime.unfollow(id, is_member);
    });

    // The gap was too large to replay: load the newest page again and go on from there.
    let reloaded = Resource::new(
        move || feed.refetch.get(),
        move |round| async move {
            if round == 0 {
                return None;
            }
            message_history(id, None).await.ok()
        },
    );
    Effect::new(move |_| {
        if let Some(Some(page)) = reloaded.get() {
            feed.messages.update(|known| known.clear());
            feed.merge_latest(page.messages, page.last_seq);
            has_more.set(page.has_more);
            realtime.follow(id);
        }
    });

    let load_earlier = Action::new(move |before: &u64| message_history(id, Some(*before)));
    Effect::new(move |_| {
        if let Some(Ok(page)) = load_earlier.value().get() {
            has_more.set(page.has_more);
            feed.merge(page.messages);
        }
    });
    let earliest = move || feed.messages.with(|known| known.keys().next().copied());

    // Messages and presence notices, in order.
    let timeline = Memo::new(move |_| {
        let mut entries: Vec<Entry> = feed
            .messages
            .with(|known| known.values().cloned().map(Entry::Message).collect());
        feed.notices.with(|notices| {
            entries.extend(notices.iter().cloned().map(Entry::Notice));
        });
        entries.sort_by_key(Entry::position);
        entries
    });

    view! {
        <div class="chat-layout">
            <section class="chat" aria-label="Conversation">
                {move || {
                    has_more.get().then(|| view! {
                        <button
                            type="button"
                            class="secondary load-earlier"
                            disabled=move || load_earlier.pending().get()
                            on:click=move |_| {
                                if let Some(first) = earliest() {
                                    load_earlier.dispatch(first);
                                }
                            }
                        >
                            "Load earlier"
                        </button>
                    })
                }}
                <ol class="messages" role="log" aria-label="Messages" aria-live="polite">
                    <For each=move || timeline.get() key=Entry::key let:entry>
                        {match entry {
                            Entry::Message(message) => {
                                view! { <MessageItem message tools reactions replies /> }.into_any()
                            }
                            Entry::Notice(notice) => view! { <NoticeItem notice /> }.into_any(),
                        }}
                    </For>
                    <For
                        each=move || realtime.pending(id)
                        key=|entry| (entry.client_id.clone(), entry.state.clone())
                        let:entry
                    >
                        <PendingItem entry />
                    </For>
                </ol>
                <TypingIndicator feed />
                {move || feed.ended.get().map(|reason| view! {
                    <p class="form-error" role="alert">{match reason {
                        UnsubscribeReason::AccessEnded => "You no longer have access to this room.",
                        UnsubscribeReason::Left => "You left this room.",
                        UnsubscribeReason::RoomDeleted => "This room was deleted.",
                    }}</p>
                })}
                {room.is_member.then(|| view! {
                    <ReplyingTo tools=replies />
                    <Composer room=id replying=replies.replying />
                })}
            </section>
            <OnlineList feed />
        </div>
    }
}

/// A line of the timeline.
#[derive(Clone, PartialEq)]
enum Entry {
    /// The feed's own copy, shared.
    Message(Arc<MessageView>),
    Notice(Notice),
}

impl Entry {
    /// Where it goes: a notice after the message it followed.
    fn position(&self) -> (u64, u32) {
        match self {
            Entry::Message(message) => (message.seq, 0),
            Entry::Notice(notice) => (notice.after_seq, notice.order + 1),
        }
    }

    /// Identity for rendering: a changed message renders again, and so does the sender's
    /// own copy once the server's, with its rendered form, replaces it.
    fn key(&self) -> (u64, u32, u64, bool) {
        match self {
            Entry::Message(message) => (
                message.seq,
                0,
                message.changed_seq,
                message.rich.is_empty() && !message.deleted,
            ),
            Entry::Notice(notice) => (notice.after_seq, notice.order + 1, 0, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RoomId, UserId};
    use crate::protocol::{ClientId, MessageId, Person};
    use crate::realtime::NoticeKind;

    fn message(seq: u64, changed_seq: u64) -> Entry {
        Entry::Message(Arc::new(MessageView {
            id: MessageId(seq as i64),
            room: RoomId(1),
            seq,
            client_id: ClientId::parse("0b8e6a3e-5f1c-4c35-9a2b-2f4b8c1d9e70").unwrap(),
            author: None,
            body: String::new(),
            created_ms: 0,
            edited_ms: None,
            deleted: false,
            changed_seq,
            reactions: Vec::new(),
            reply_to: None,
            rich: crate::model::RichText::default(),
            mentions: Vec::new(),
            mentioned: Vec::new(),
        }))
    }

    fn notice(after_seq: u64, order: u32) -> Entry {
        Entry::Notice(Notice {
            after_seq,
            order,
            kind: NoticeKind::Joined(Person {
                id: UserId(1),
                username: "ana".into(),
                display_name: "Ana".into(),
            }),
        })
    }

    #[test]
    fn notices_sit_after_the_message_they_followed_in_the_order_they_happened() {
        let mut timeline = [notice(1, 1), message(2, 2), notice(1, 0), message(1, 1)];
        timeline.sort_by_key(Entry::position);
        let positions: Vec<(u64, u32)> = timeline.iter().map(Entry::position).collect();
        assert_eq!(positions, [(1, 0), (1, 1), (1, 2), (2, 0)]);
        assert!(matches!(timeline[0], Entry::Message(_)));
        assert!(matches!(timeline[3], Entry::Message(_)));
    }

    #[test]
    fn a_changed_message_renders_again_and_a_notice_never_shares_its_key() {
        assert_ne!(message(3, 3).key(), message(3, 5).key());
        assert_eq!(message(3, 5).key(), message(3, 5).key());
        assert_ne!(message(3, 3).key(), notice(3, 0).key());
    }
}
