//! The message box of a room ([`Composer`]): Enter sends, Shift+Enter starts a new line,
//! and typing tells the room (at most every few seconds).
//!
//! Sending only hands the text to the outbox (`Realtime::post`), which delivers it, keeps
//! it across reloads and shows it as pending meanwhile; a blank draft is not sent. A post
//! made while `replying` names a message answers it, and ends the reply.

use leptos::prelude::*;

use super::reply::ReplyTarget;
use crate::model::RoomId;
use crate::realtime::use_realtime;

/// The message box: Enter sends, Shift+Enter starts a new line.
#[component]
pub(super) fn Composer(room: RoomId, replying: RwSignal<Option<ReplyTarget>>) -> impl IntoView {
    let realtime = use_realtime();
    let draft = RwSignal::new(String::new());
    let send = move || {
        let body = draft.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        let reply_to = replying.get_untracked().map(|target| target.id);
        realtime.post(room, body, reply_to);
        replying.set(None);
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
