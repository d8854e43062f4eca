//! The conversation of a room: its history and live messages (a polite live region) with
//! "joined" and "left" notices, the posts still in the outbox, who is typing, the composer,
//! and who is online.

use leptos::prelude::*;

use crate::api::messages::{delete_message, edit_message, message_history};
use crate::components::form::action_error;
use crate::components::hydration::{Hydrated, use_hydrated};
use crate::error::ApiError;
use crate::model::Field;
use crate::model::{RoomId, RoomView};
use crate::protocol::{HistoryPage, MessageId, MessageView, UnsubscribeReason};
use crate::realtime::{
    Notice, NoticeKind, OutboxEntry, OutboxState, Realtime, RoomFeed, use_realtime,
};

/// `history` is the newest page, rendered on the server; the socket continues from it.
#[component]
pub fn ChatView(room: RoomView, history: HistoryPage) -> impl IntoView {
    let realtime = use_realtime();
    let id = room.id;
    let tools = MessageTools::new(room.can_manage);
    let feed = realtime.feed(id);
    feed.merge_latest(history.messages, history.last_seq);
    let has_more = RwSignal::new(history.has_more);

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
                            Entry::Message(message) => view! { <MessageItem message tools /> }.into_any(),
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
                {room.is_member.then(|| view! { <Composer room=id /> })}
            </section>
            <OnlineList feed />
        </div>
    }
}

/// A line of the timeline.
#[derive(Clone, PartialEq)]
enum Entry {
    Message(MessageView),
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

    /// Identity for rendering: a changed message renders again.
    fn key(&self) -> (u64, u32, u64) {
        match self {
            Entry::Message(message) => (message.seq, 0, message.changed_seq),
            Entry::Notice(notice) => (notice.after_seq, notice.order + 1, 0),
        }
    }
}

#[component]
fn NoticeItem(notice: Notice) -> impl IntoView {
    let text = match notice.kind {
        NoticeKind::Joined(person) => format!("{} joined", person.display_name),
        NoticeKind::Left(person) => format!("{} left", person.display_name),
    };
    view! { <li class="notice">{text}</li> }
}

/// "Online": who has the room open (several tabs count once).
#[component]
fn OnlineList(feed: RoomFeed) -> impl IntoView {
    view! {
        <aside class="online" aria-labelledby="online-heading">
            <h2 id="online-heading">"Online"</h2>
            <ul aria-labelledby="online-heading">
                <For
                    each=move || feed.online.get()
                    key=|person| person.id
                    let:person
                >
                    <li>{person.display_name}</li>
                </For>
            </ul>
        </aside>
    }
}

/// "Minji is typing…", announced politely.
#[component]
fn TypingIndicator(feed: RoomFeed) -> impl IntoView {
    let text = move || {
        feed.typing.with(|typing| match typing.as_slice() {
            [] => String::new(),
            [one] => format!("{} is typing…", one.display_name),
            [one, two] => format!("{} and {} are typing…", one.display_name, two.display_name),
            _ => "Several people are typing…".to_owned(),
        })
    };
    view! { <p class="typing" aria-live="polite">{text}</p> }
}

/// What the messages of one conversation share: one delete action, which message is being
/// edited, and who is looking. One set per conversation rather than per message: a page of
/// fifty messages used to create fifty actions and their signals, on the server too.
#[derive(Clone, Copy)]
struct MessageTools {
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
    fn new(can_manage: bool) -> Self {
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
fn MessageItem(message: MessageView, tools: MessageTools) -> impl IntoView {
    let author = message.author.as_ref().map_or_else(
        || "deleted user".to_owned(),
        |author| author.display_name.clone(),
    );
    let created = message.created_ms;
    let id = message.id;
    let author_id = message.author.as_ref().map(|author| author.id);
    let own = move || author_id.is_some() && author_id == tools.realtime.me();
    let version = (id, message.changed_seq);
    let editing = move || tools.editing.get() == Some(version);
    let deleted = message.deleted;
    let edited = message.edited_ms.is_some();
    let body = message.body;
    view! {
        <li class="message" class:deleted=deleted>
            <div class="message-meta">
                <span class="author">{author}</span>
                " "
                <time datetime=created.to_string()>
                    {move || tools.hydrated.get().then(|| crate::realtime::local_time(created))}
                </time>
                {(!deleted).then(|| view! {
                    <span class="message-actions">
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
            {if deleted {
                view! { <p class="body deleted">"message deleted"</p> }.into_any()
            } else {
                (move || if editing() {
                    view! { <EditForm id body=body.clone() editing=tools.editing /> }.into_any()
                } else {
                    // Text, never HTML: Leptos escapes it.
                    view! {
                        <p class="body">
                            {body.clone()}
                            {edited.then(|| view! { " " <span class="edited">"(edited)"</span> })}
                        </p>
                    }.into_any()
                }).into_any()
            }}
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
fn PendingItem(entry: OutboxEntry) -> impl IntoView {
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

/// The message box: Enter sends, Shift+Enter starts a new line.
#[component]
fn Composer(room: RoomId) -> impl IntoView {
    let realtime = use_realtime();
    let draft = RwSignal::new(String::new());
    let send = move || {
        let body = draft.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        realtime.post(room, body);
        draft.set(String::new());
    };
    view! {
        <form
            class="composer"
            on:submit=move |event| {
                event.prevent_default();
                send();
            }
        >
            <label for="composer" class="visually-hidden">"Message"</label>
            <textarea
                id="composer"
                name="body"
                rows="2"
                placeholder="Write a message"
                prop:value=move || draft.get()
                on:input=move |event| {
                    draft.set(event_target_value(&event));
                    realtime.typing(room);
                }
                on:keydown=move |event| {
                    if event.key() == "Enter" && !event.shift_key() && !event.is_composing() {
                        event.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <button type="submit">"Send"</button>
        </form>
    }
}
