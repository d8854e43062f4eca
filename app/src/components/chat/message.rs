//! One line of the conversation that is a message: [`MessageItem`] (author, time, its text
//! rendered by `rich_text` and highlighted when it mentions the viewer, the "Reply", "Edit
//! message" and "Delete message" buttons, the quote of the message it answers and its
//! reactions, from `reply` and `reactions`), its in-place [`EditForm`], and
//! [`PendingItem`] for a post still in the outbox ("sending…", or "failed" with "Retry").
//!
//! What the messages of one conversation share is one [`MessageTools`], made by the chat
//! view. Who may edit or delete is decided again by the server; the buttons only follow it.

use std::sync::Arc;

use leptos::prelude::*;

use super::reactions::{AddReaction, ReactionTools, Reactions};
use super::reply::{QuoteButton, ReplyTools, message_anchor};
use super::rich_text::RichBody;
use crate::api::messages::{delete_message, edit_message};
use crate::components::form::action_error;
use crate::components::hydration::{Hydrated, use_hydrated};
use crate::error::ApiError;
use crate::model::{Field, RichText};
use crate::protocol::replies::ReplyQuote;
use crate::protocol::{MessageId, MessageView, Person};
use crate::realtime::{OutboxEntry, OutboxState, Realtime, use_realtime};

/// What the messages of one conversation share: one delete action, which message is being
/// edited, and who is looking. One set per conversation rather than per message: a page of
/// fifty messages used to create fifty actions and their signals, on the server too.
#[derive(Clone, Copy)]
pub(super) struct MessageTools {
    delete: Action<MessageId, Result<MessageView, ApiError>>,
    /// The message the last delete was for: its error shows there.
    deleting: RwSignal<Option<MessageId>>,
    /// The message being edited (one at a time), with its `changed_seq`: once the message
    /// changes (this edit saved, or someone deleted it), that version is no longer edited.
    editing: RwSignal<Option<(MessageId, u64)>>,
    realtime: Realtime,
    hydrated: Hydrated,
    can_manage: bool,
}

impl MessageTools {
    pub(super) fn new(can_manage: bool) -> Self {
        Self {
            delete: Action::new(move |id: &MessageId| delete_message(*id)),
            deleting: RwSignal::new(None),
            editing: RwSignal::new(None),
            realtime: use_realtime(),
            hydrated: use_hydrated(),
            can_manage,
        }
    }

    fn delete(&self, id: MessageId) {
        self.deleting.set(Some(id));
        self.delete.dispatch(id);
    }

    /// Why deleting `id` failed, if the last delete was for it and failed.
    fn delete_error(&self, id: MessageId) -> Option<ApiError> {
        if self.deleting.get() != Some(id) {
            return None;
        }
        self.delete.value().get().and_then(Result::err)
    }
}

#[component]
pub(super) fn MessageItem(
    message: Arc<MessageView>,
    tools: MessageTools,
    reactions: ReactionTools,
    replies: ReplyTools,
) -> impl IntoView {
    let author = message.author.as_ref().map_or_else(
        || "deleted user".to_owned(),
        |author| author.display_name.clone(),
    );
    // The line keeps the display name alone; who exactly wrote it is on hover.
    let author_username = message
        .author
        .as_ref()
        .map(|author| format!("@{}", author.username));
    let created = message.created_ms;
    let id = message.id;
    let author_id = message.author.as_ref().map(|author| author.id);
    let own = move || author_id.is_some() && author_id == tools.realtime.me();
    let version = (id, message.changed_seq);
    let editing = move || tools.editing.get() == Some(version);
    let deleted = message.deleted;
    let edited = message.edited_ms.is_some();
    // The sender's own copy has no form until the server's arrives: it shows as typed.
    let rich = Arc::new(if message.rich.is_empty() {
        RichText::plain(&message.body)
    } else {
        message.rich.clone()
    });
    let mentioned: Arc<[Person]> = message.mentioned.as_slice().into();
    // A closure, not a memo: it is read twice, and a memo per message was a reactive node
    // per message on the server too. It reads the shared message, which both readers hold.
    let mentions_me = {
        let message = Arc::clone(&message);
        move || {
            tools
                .realtime
                .me()
                .is_some_and(|me| message.mentions.contains(&me))
        }
    };
    let marked_for_me = mentions_me.clone();
    let seq = message.seq;
    let quote = message
        .reply_to
        .as_ref()
        .map(|quote| view! { <QuoteButton quote=ReplyQuote::clone(quote) tools=replies /> });
    let reaction_row = (!deleted).then(|| {
        view! { <Reactions message=Arc::clone(&message) tools=reactions /> }
    });
    // Only the edit form needs the source text, and only when it opens.
    let source = Arc::clone(&message);
    let reply_author = author.clone();
    view! {
        <li
            class="message"
            class:deleted=deleted
            class:highlighted=move || replies.highlighted.get() == Some(seq)
            class:mentions-me=marked_for_me
            id=message_anchor(seq)
            tabindex="-1"
        >
            <div class="message-meta">
                <span class="author" title=author_username>{author}</span>
                " "
                <time datetime=created.to_string()>
                    {move || tools.hydrated.get().then(|| crate::realtime::local_time(created))}
                </time>
                {move || mentions_me().then(|| view! { <span class="visually-hidden">" mentions you"</span> })}
                {(!deleted).then(|| view! {
                    <span class="message-actions">
                        {reactions.can_react.then(|| view! {
                            <button
                                type="button"
                                class="link"
                                on:click=move |_| replies.reply_to(id, reply_author.clone())
                            >
                                "Reply"
                            </button>
                            <AddReaction id tools=reactions />
                        })}
                        {move || (own() && !editing()).then(|| view! {
                            <button type="button" class="link" on:click=move |_| tools.editing.set(Some(version))>
                                "Edit message"
                            </button>
                        })}
                        {move || (own() || tools.can_manage).then(|| view! {
                            <button
                                type="button"
                                class="link"
                                disabled=move || tools.delete.pending().get() && tools.deleting.get() == Some(id)
                                on:click=move |_| tools.delete(id)
                            >
                                "Delete message"
                            </button>
                        })}
                    </span>
                })}
            </div>
            {quote}
            {if deleted {
                view! { <p class="body deleted">"message deleted"</p> }.into_any()
            } else {
                (move || if editing() {
                    view! { <EditForm id body=source.body.clone() editing=tools.editing /> }.into_any()
                } else {
                    // The closed form, its text escaped (never HTML from the message).
                    RichBody {
                        rich: rich.clone(),
                        mentioned: mentioned.clone(),
                        me: tools.realtime.me(),
                        edited,
                    }
                    .into_any()
                }).into_any()
            }}
            {reaction_row}
            {move || tools.delete_error(id).map(|error| view! {
                <p class="form-error" role="alert">{error.to_string()}</p>
            })}
        </li>
    }
}

/// Editing a message in place: "Save" replaces its text, "Cancel" (or Escape) leaves it.
#[component]
fn EditForm(
    id: MessageId,
    body: String,
    editing: RwSignal<Option<(MessageId, u64)>>,
) -> impl IntoView {
    let draft = RwSignal::new(body);
    let save = Action::new(move |body: &String| edit_message(id, body.clone()));
    let error = action_error(save);
    let stop = move || editing.set(None);
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(_))) {
            stop();
        }
    });
    let field_id = format!("edit-{}", id.0);
    let error_id = format!("{field_id}-error");
    let message = move || {
        error.get().map(|error| {
            error
                .for_field(Field::Message)
                .map_or_else(|| error.to_string(), ToString::to_string)
        })
    };
    view! {
        <form
            class="edit-message"
            on:submit=move |event| {
                event.prevent_default();
                save.dispatch(draft.get_untracked());
            }
        >
            <label for=field_id.clone() class="visually-hidden">"Edit message text"</label>
            <textarea
                id=field_id
                rows="2"
                prop:value=move || draft.get()
                on:input=move |event| draft.set(event_target_value(&event))
                on:keydown=move |event| {
                    if event.key() == "Escape" {
                        stop();
                    }
                }
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=error_id.clone()
            ></textarea>
            <p id=error_id class="field-error">{message}</p>
            <div class="edit-actions">
                <button type="submit" disabled=move || save.pending().get()>"Save"</button>
                <button type="button" class="secondary" on:click=move |_| stop()>"Cancel"</button>
            </div>
        </form>
    }
}

#[component]
pub(super) fn PendingItem(entry: OutboxEntry) -> impl IntoView {
    let realtime = use_realtime();
    let client_id = entry.client_id.clone();
    let status = match &entry.state {
        OutboxState::Queued | OutboxState::Sending => {
            view! { <span class="pending">"sending…"</span> }.into_any()
        }
        OutboxState::Failed(reason) => view! {
            <span class="failed">"failed"</span>
            " "
            <span class="reason">{reason.clone()}</span>
            " "
            <button type="button" class="secondary" on:click=move |_| realtime.retry(&client_id)>
                "Retry"
            </button>
        }
        .into_any(),
    };
    view! {
        <li class="message outgoing">
            <div class="message-meta">{status}</div>
            <p class="body">{entry.body}</p>
        </li>
    }
}
