//! The message box of a room ([`Composer`]): Enter sends, Shift+Enter starts a new line,
//! typing tells the room (at most every few seconds), and `@` opens the "Mention
//! suggestions" (`mention_picker`), which take Enter, Tab, the arrows and Escape while open.
//!
//! Sending only hands the text to the outbox (`Realtime::post`), which delivers it, keeps
//! it across reloads and shows it as pending meanwhile; a blank draft is not sent. A post
//! made while `replying` names a message answers it, and ends the reply.

use leptos::html::Textarea;
use leptos::prelude::*;

use super::mention_picker::{
    LIST_ID, MentionPicker, SuggestionList, byte_index, option_id, utf16_index,
};
use super::reply::ReplyTarget;
use crate::model::RoomId;
use crate::realtime::use_realtime;

/// The message box: Enter sends, Shift+Enter starts a new line.
#[component]
pub(super) fn Composer(room: RoomId, replying: RwSignal<Option<ReplyTarget>>) -> impl IntoView {
    let realtime = use_realtime();
    let draft = RwSignal::new(String::new());
    let textarea = NodeRef::<Textarea>::new();
    let picker = MentionPicker::new(room, Signal::derive(move || realtime.me()));
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
    // Where the caret is, as a byte index into the draft (the browser counts UTF-16 units).
    let caret = move || {
        let text = draft.get_untracked();
        let at = textarea
            .get_untracked()
            .and_then(|element| element.selection_start().ok().flatten())
            .map_or(text.len(), |units| byte_index(&text, units));
        (text, at)
    };
    let follow_caret = move || {
        let (text, at) = caret();
        picker.follow(&text, at);
    };
    let pick = move |index: Option<usize>| {
        let Some((text, at)) = picker.pick(&draft.get_untracked(), index) else {
            return;
        };
        draft.set(text.clone());
        if let Some(element) = textarea.get_untracked() {
            // Set here rather than left to the binding, so the caret can follow at once.
            element.set_value(&text);
            let units = utf16_index(&text, at);
            // A caret that cannot be placed stays where the browser put it (at the end).
            let _ = element.set_selection_range(units, units);
        }
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
            <div class="composer-box">
                <textarea
                    id="composer"
                    name="body"
                    rows="2"
                    placeholder="Write a message"
                    node_ref=textarea
                    aria-autocomplete="list"
                    aria-controls=LIST_ID
                    aria-expanded=move || if picker.is_open() { "true" } else { "false" }
                    aria-activedescendant=move || picker.is_open().then(|| option_id(picker.active()))
                    prop:value=move || draft.get()
                    on:input=move |event| {
                        draft.set(event_target_value(&event));
                        follow_caret();
                        realtime.typing(room);
                    }
                    on:click=move |_| follow_caret()
                    on:keyup=move |event| {
                        if matches!(event.key().as_str(), "ArrowLeft" | "ArrowRight" | "Home" | "End") {
                            follow_caret();
                        }
                    }
                    on:blur=move |_| picker.dismiss()
                    on:keydown=move |event| {
                        if event.is_composing() {
                            return;
                        }
                        if picker.is_open() {
                            match event.key().as_str() {
                                "ArrowDown" => picker.step(1),
                                "ArrowUp" => picker.step(-1),
                                "Enter" | "Tab" => pick(None),
                                "Escape" => picker.dismiss(),
                                _ => return,
                            }
                            // The list took the key: no new line, no send, no focus move.
                            event.prevent_default();
                            return;
                        }
                        if event.key() == "Enter" && !event.shift_key() {
                            event.prevent_default();
                            send();
                        }
                    }
                ></textarea>
                <SuggestionList picker on_pick=move |index| pick(Some(index)) />
            </div>
            <button type="submit">"Send"</button>
        </form>
    }
}
