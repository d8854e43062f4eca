//! The conversation of a room: its history and live messages (a polite live region), the
//! posts still in the outbox, and the composer.

use leptos::prelude::*;

use crate::api::messages::message_history;
use crate::components::hydration::use_hydrated;
use crate::model::{RoomId, RoomView};
use crate::protocol::{HistoryPage, MessageView, UnsubscribeReason};
use crate::realtime::{OutboxEntry, OutboxState, use_realtime};

/// `history` is the newest page, rendered on the server; the socket continues from it.
#[component]
pub fn ChatView(room: RoomView, history: HistoryPage) -> impl IntoView {
    let realtime = use_realtime();
    let id = room.id;
    let feed = realtime.feed(id);
    feed.merge(history.messages);
    let has_more = RwSignal::new(history.has_more);

    // Follow the room live (effects run in the browser only). The tab keeps following it
    // after the page changes, so coming back is instant and nothing is missed meanwhile.
    Effect::new(move |_| realtime.follow(id));

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
            feed.merge(page.messages);
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

    view! {
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
                <For
                    each=move || feed.messages.get().into_values()
                    key=|message| (message.id, message.seq)
                    let:message
                >
                    <MessageItem message />
                </For>
                <For
                    each=move || realtime.pending(id)
                    key=|entry| (entry.client_id.clone(), entry.state.clone())
                    let:entry
                >
                    <PendingItem entry />
                </For>
            </ol>
            {move || feed.ended.get().map(|reason| view! {
                <p class="form-error" role="alert">{match reason {
                    UnsubscribeReason::AccessEnded => "You no longer have access to this room.",
                    UnsubscribeReason::RoomDeleted => "This room was deleted.",
                }}</p>
            })}
            {room.is_member.then(|| view! { <Composer room=id /> })}
        </section>
    }
}

#[component]
fn MessageItem(message: MessageView) -> impl IntoView {
    let hydrated = use_hydrated();
    let author = message.author.as_ref().map_or_else(
        || "deleted user".to_owned(),
        |author| author.display_name.clone(),
    );
    let created = message.created_ms;
    view! {
        <li class="message">
            <div class="message-meta">
                <span class="author">{author}</span>
                " "
                <time datetime=created.to_string()>
                    {move || hydrated.get().then(|| crate::realtime::local_time(created))}
                </time>
            </div>
            // Text, never HTML: Leptos escapes it.
            <p class="body">{message.body}</p>
        </li>
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
                on:input=move |event| draft.set(event_target_value(&event))
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
