//! Replies in the conversation: which message the composer is answering ([`ReplyTools`],
//! shared by the messages' "Reply" buttons and the composer's "Replying to X" line with
//! its "Cancel reply" button), and the quote a reply shows of its original ([`QuoteButton`]),
//! which takes you to the original when activated.
//!
//! The quote follows the original while it is loaded here: an edit or a delete seen live
//! shows in it at once.
//!
//! Going to the original scrolls to it, focuses it and highlights it; when it is older than
//! anything loaded, earlier history pages are loaded (the "Load earlier" pages, oldest
//! first) until it is there or the room has no more.

use leptos::prelude::*;

use super::dom;
use crate::api::messages::message_history;
use crate::model::RoomId;
use crate::protocol::MessageId;
use crate::protocol::replies::{ReplyQuote, excerpt};
use crate::realtime::RoomFeed;

/// At most this many earlier pages are loaded to reach an original: a quote of a message
/// thousands of pages back stops there rather than loading the room's whole history.
const PAGES_TO_REACH: u32 = 40;

/// The element id of the message posted with `seq`: what a quote scrolls to.
pub(super) fn message_anchor(seq: u64) -> String {
    format!("message-{seq}")
}

/// The message the composer is answering, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReplyTarget {
    pub id: MessageId,
    /// Who wrote it, as the composer names them.
    pub author: String,
}

/// What a conversation shares for replies.
#[derive(Clone, Copy)]
pub(super) struct ReplyTools {
    pub replying: RwSignal<Option<ReplyTarget>>,
    /// The message just jumped to, highlighted until the next jump.
    pub highlighted: RwSignal<Option<u64>>,
    room: RoomId,
    feed: RoomFeed,
    has_more: RwSignal<bool>,
}

impl ReplyTools {
    pub(super) fn new(room: RoomId, feed: RoomFeed, has_more: RwSignal<bool>) -> Self {
        Self {
            replying: RwSignal::new(None),
            highlighted: RwSignal::new(None),
            room,
            feed,
            has_more,
        }
    }

    /// The "Reply" button of message `id` by `author`: the composer answers it and takes
    /// focus.
    pub(super) fn reply_to(&self, id: MessageId, author: String) {
        self.replying.set(Some(ReplyTarget { id, author }));
        dom::focus_id("composer");
    }

    /// Highlights the message posted with `seq` and, in the browser, scrolls to it and
    /// focuses it once it is rendered: a room opened at a search result.
    pub(super) fn go_to(&self, seq: u64) {
        self.highlighted.set(Some(seq));
        Effect::new(move |_| reveal_soon(seq, FRAMES_TO_RENDER));
    }

    /// Goes to the message posted with `seq`, loading earlier pages first if needed.
    fn jump(&self, seq: u64) {
        let tools = *self;
        leptos::task::spawn_local(async move {
            let mut pages = 0;
            while !tools.is_loaded(seq) && tools.has_more.get_untracked() && pages < PAGES_TO_REACH
            {
                let Some(earliest) = tools
                    .feed
                    .messages
                    .with_untracked(|known| known.keys().next().copied())
                else {
                    break;
                };
                let Ok(page) = message_history(tools.room, Some(earliest)).await else {
                    break;
                };
                tools.has_more.set(page.has_more);
                tools.feed.merge(page.messages);
                pages += 1;
            }
            tools.highlighted.set(Some(seq));
            reveal_soon(seq, FRAMES_TO_RENDER);
        });
    }

    fn is_loaded(&self, seq: u64) -> bool {
        self.feed
            .messages
            .with_untracked(|known| known.contains_key(&seq))
    }
}

/// How many animation frames a jump waits for the timeline to render what it merged.
const FRAMES_TO_RENDER: u32 = 10;

/// Scrolls to and focuses the message posted with `seq` once it is rendered, trying again
/// on each of the next `frames` animation frames (the timeline renders what was merged on
/// one of them).
fn reveal_soon(seq: u64, frames: u32) {
    request_animation_frame(move || {
        if !dom::reveal(&message_anchor(seq)) && frames > 0 {
            reveal_soon(seq, frames - 1);
        }
    });
}

/// The quote a reply shows of its original: a button that goes to it.
#[component]
pub(super) fn QuoteButton(quote: ReplyQuote, tools: ReplyTools) -> impl IntoView {
    let author = quote.author.as_ref().map_or_else(
        || "deleted user".to_owned(),
        |author| author.display_name.clone(),
    );
    let (seq, original) = (quote.seq, quote.id);
    // The original as this tab knows it now, if loaded: an edit or a delete seen live shows
    // in the quote at once (the reply itself did not change, so no new copy of it comes).
    let now = move || {
        tools.feed.messages.with(|known| {
            known
                .get(&seq)
                .filter(|message| message.id == original)
                .map(|message| (message.deleted, excerpt(&message.body)))
        })
    };
    let text = move || {
        let (deleted, text) = now().unwrap_or_else(|| (quote.deleted, quote.excerpt.clone()));
        if deleted {
            view! { <span class="quote-text deleted">"message deleted"</span> }.into_any()
        } else {
            view! { <span class="quote-text">{text}</span> }.into_any()
        }
    };
    view! {
        <button
            type="button"
            class="reply-quote"
            title="Go to the original message"
            on:click=move |_| tools.jump(seq)
        >
            <span class="visually-hidden">"In reply to "</span>
            <span class="quote-author">{author}</span>
            ": "
            {text}
        </button>
    }
}

/// The composer's "Replying to X" line, while it is answering a message.
#[component]
pub(super) fn ReplyingTo(tools: ReplyTools) -> impl IntoView {
    move || {
        tools.replying.get().map(|target| {
            view! {
                <p class="replying-to">
                    <span>"Replying to " {target.author}</span>
                    " "
                    <button
                        type="button"
                        class="link"
                        on:click=move |_| {
                            tools.replying.set(None);
                            dom::focus_id("composer");
                        }
                    >
                        "Cancel reply"
                    </button>
                </p>
            }
        })
    }
}
