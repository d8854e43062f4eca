//! Reactions of a message: the row under it of toggle buttons named by emoji and count
//! ("👍 2", pressed when mine is among them, the tooltip naming who reacted), and the "Add
//! reaction" button of its toolbar with its dialog named "Reactions" (my recently used
//! emoji first, then the rest of the server's closed set; focus stays inside while it is
//! open, Escape closes it, and focus goes back to the button that opened it).
//!
//! Pressing a reaction asks the server for the opposite of what the button shows; the answer
//! (the message's new state) is merged at once, and the broadcast that follows carries the
//! same state. "Recently used" lives in this browser's storage only, filtered through the
//! closed set, so nothing outside it is ever offered.

use std::sync::Arc;

use leptos::html;
use leptos::prelude::*;

use super::dom;
use crate::api::messages::react_to_message;
use crate::error::ApiError;
use crate::protocol::reactions::{Emoji, REACTION_EMOJI};
use crate::protocol::{MessageId, MessageView};
use crate::realtime::{Realtime, RoomFeed, use_realtime};

/// At most this many recently used emoji are offered first.
const RECENT_SHOWN: usize = 6;

/// What the messages of one conversation share for reactions: one action, which message's
/// dialog is open, and whether the viewer may react (members only, as for posting).
#[derive(Clone, Copy)]
pub(super) struct ReactionTools {
    react: Action<(MessageId, String, bool), Result<MessageView, ApiError>>,
    /// The message the last reaction was for: its error shows there.
    reacting: RwSignal<Option<MessageId>>,
    /// The message whose "Reactions" dialog is open (one at a time).
    picking: RwSignal<Option<MessageId>>,
    realtime: Realtime,
    pub(super) can_react: bool,
}

impl ReactionTools {
    pub(super) fn new(feed: RoomFeed, can_react: bool) -> Self {
        let react = Action::new(move |(id, emoji, on): &(MessageId, String, bool)| {
            react_to_message(*id, emoji.clone(), *on)
        });
        // The answer is the message as it is now: shown without waiting for the broadcast.
        Effect::new(move |_| {
            if let Some(Ok(message)) = react.value().get() {
                feed.merge([message]);
            }
        });
        Self {
            react,
            reacting: RwSignal::new(None),
            picking: RwSignal::new(None),
            realtime: use_realtime(),
            can_react,
        }
    }

    /// Adds `emoji` to message `id` if it is not mine yet, takes it back if it is.
    fn toggle(&self, id: MessageId, emoji: &str, mine: bool) {
        if !mine {
            remember(emoji);
        }
        self.reacting.set(Some(id));
        self.react.dispatch((id, emoji.to_owned(), !mine));
    }

    fn error(&self, id: MessageId) -> Option<ApiError> {
        if self.reacting.get() != Some(id) {
            return None;
        }
        self.react.value().get().and_then(Result::err)
    }
}

/// The reactions of one message: a toggle button per emoji, and the last reaction's error.
/// The buttons read the message's own (shared) reactions rather than copies of them.
#[component]
pub(super) fn Reactions(message: Arc<MessageView>, tools: ReactionTools) -> impl IntoView {
    let id = message.id;
    let buttons = message
        .reactions
        .iter()
        .enumerate()
        .map(|(index, view)| {
            let who = view.who();
            let label = format!("{} {}", view.emoji, view.count);
            // Mine if I am among the people named (what one frame for everyone allows). A
            // plain closure, no memo: it is read once per render and once per click, and a
            // page of fifty messages would otherwise make a hundred memos on the server.
            let mine = {
                let message = Arc::clone(&message);
                move || {
                    tools
                        .realtime
                        .me()
                        .is_some_and(|me| message.reactions[index].includes(me))
                }
            };
            let pressed = {
                let mine = mine.clone();
                move || mine().to_string()
            };
            let message = Arc::clone(&message);
            view! {
                <button
                    type="button"
                    class="reaction"
                    title=who
                    aria-pressed=pressed
                    disabled=!tools.can_react
                    on:click=move |_| {
                        tools.toggle(id, &message.reactions[index].emoji, untrack(&mine))
                    }
                >
                    {label}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="reactions">
            {buttons}
            {move || tools.error(id).map(|error| view! {
                <p class="form-error" role="alert">{error.to_string()}</p>
            })}
        </div>
    }
}

/// The "Add reaction" button of one message (members only) and the dialog it opens.
/// Choosing an emoji adds it: one already mine stays (the server is told "on" again,
/// which changes nothing).
#[component]
pub(super) fn AddReaction(id: MessageId, tools: ReactionTools) -> impl IntoView {
    let opener = NodeRef::<html::Button>::new();
    let close = move || {
        tools.picking.set(None);
        dom::focus_button(opener.get_untracked());
    };
    view! {
        <button
            type="button"
            class="link add-reaction"
            node_ref=opener
            aria-haspopup="dialog"
            aria-expanded=move || (tools.picking.get() == Some(id)).to_string()
            on:click=move |_| tools.picking.set(Some(id))
        >
            "Add reaction"
        </button>
        {move || (tools.picking.get() == Some(id)).then(|| view! {
            <Picker
                choose=move |emoji: &'static str| {
                    close();
                    tools.toggle(id, emoji, false);
                }
                close
            />
        })}
    }
}

/// The "Reactions" dialog: my recently used emoji, then the rest of the set.
#[component]
fn Picker(
    choose: impl Fn(&'static str) + Copy + Send + Sync + 'static,
    close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let recent = recently_used();
    let rest: Vec<&'static str> = REACTION_EMOJI
        .into_iter()
        .filter(|emoji| !recent.contains(emoji))
        .collect();
    let dialog = NodeRef::<html::Div>::new();
    // Focus moves into the dialog when it opens: its first emoji.
    Effect::new(move |_| dom::focus_first_button(dialog.get()));
    let emoji_button = move |emoji: &'static str| {
        view! {
            <button type="button" class="emoji" on:click=move |_| choose(emoji)>{emoji}</button>
        }
    };
    view! {
        <div
            class="reaction-picker"
            role="dialog"
            aria-modal="true"
            aria-label="Reactions"
            node_ref=dialog
            on:keydown=move |event| {
                if event.key() == "Escape" {
                    event.prevent_default();
                    close();
                } else if event.key() == "Tab" {
                    dom::keep_tab_inside(&event, dialog.get_untracked());
                }
            }
        >
            {(!recent.is_empty()).then(|| view! {
                <div role="group" aria-label="Recently used" class="emoji-group">
                    {recent.clone().into_iter().map(emoji_button).collect_view()}
                </div>
            })}
            <div role="group" aria-label="All reactions" class="emoji-group">
                {rest.into_iter().map(emoji_button).collect_view()}
            </div>
            <button type="button" class="secondary" on:click=move |_| close()>"Close"</button>
        </div>
    }
}

/// Where this browser keeps the emoji it reacted with, newest first.
const RECENT_KEY: &str = "sori.recent-reactions";

/// My recently used emoji, newest first, only ones of the set.
fn recently_used() -> Vec<&'static str> {
    let stored = dom::stored(RECENT_KEY);
    let listed: Vec<String> = stored
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default();
    listed
        .iter()
        .filter_map(|emoji| Emoji::parse(emoji))
        .map(Emoji::as_str)
        .take(RECENT_SHOWN)
        .collect()
}

/// Puts `emoji` first among the recently used.
fn remember(emoji: &str) {
    let Some(emoji) = Emoji::parse(emoji) else {
        return;
    };
    let mut recent = recently_used();
    recent.retain(|known| *known != emoji.as_str());
    recent.insert(0, emoji.as_str());
    recent.truncate(RECENT_SHOWN);
    if let Ok(json) = serde_json::to_string(&recent) {
        dom::store(RECENT_KEY, &json);
    }
}
