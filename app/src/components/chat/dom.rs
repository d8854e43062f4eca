//! The few direct DOM calls the chat's reactions and replies need: moving focus (into the
//! "Reactions" dialog, around inside it, back to the button that opened it, to a message a
//! quote points at), scrolling a message into view, and the browser's storage for the
//! recently used emoji.
//!
//! They exist in the browser only; on the server (where no handler or effect that calls
//! them ever runs) each is a no-op, so the components compile unchanged on both sides.

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::{Element, HtmlButtonElement, HtmlDivElement, HtmlElement, KeyboardEvent};

    fn focus(element: &Element) {
        if let Some(element) = element.dyn_ref::<HtmlElement>() {
            // Focus fails only on elements that cannot take it; nothing better to do then.
            let _ = element.focus();
        }
    }

    pub fn focus_first_button(container: Option<HtmlDivElement>) {
        if let Some(Ok(Some(first))) = container.map(|container| container.query_selector("button"))
        {
            focus(&first);
        }
    }

    /// Keeps Tab within `container`: past its last button to its first, and back.
    pub fn keep_tab_inside(event: &KeyboardEvent, container: Option<HtmlDivElement>) {
        let Some(container) = container else {
            return;
        };
        let Ok(buttons) = container.query_selector_all("button") else {
            return;
        };
        let count = buttons.length();
        let (Some(first), Some(last)) = (buttons.item(0), buttons.item(count.saturating_sub(1)))
        else {
            return;
        };
        let active = leptos::prelude::document().active_element();
        let is_active = |node: &leptos::web_sys::Node| {
            active
                .as_ref()
                .is_some_and(|active| AsRef::<leptos::web_sys::Node>::as_ref(active) == node)
        };
        let wrap_to = if event.shift_key() && is_active(&first) {
            last
        } else if !event.shift_key() && is_active(&last) {
            first
        } else {
            return;
        };
        event.prevent_default();
        if let Some(element) = wrap_to.dyn_ref::<Element>() {
            focus(element);
        }
    }

    pub fn focus_button(button: Option<HtmlButtonElement>) {
        if let Some(button) = button {
            let _ = button.focus();
        }
    }

    /// Scrolls the element with this id into view and focuses it; false if there is none.
    pub fn reveal(id: &str) -> bool {
        let Some(element) = leptos::prelude::document().get_element_by_id(id) else {
            return false;
        };
        element.scroll_into_view();
        focus(&element);
        true
    }

    /// Focuses the element with this id, if there is one.
    pub fn focus_id(id: &str) {
        if let Some(element) = leptos::prelude::document().get_element_by_id(id) {
            focus(&element);
        }
    }

    fn storage() -> Option<leptos::web_sys::Storage> {
        leptos::prelude::window().local_storage().ok().flatten()
    }

    pub fn stored(key: &str) -> Option<String> {
        storage()?.get_item(key).ok().flatten()
    }

    pub fn store(key: &str, value: &str) {
        if let Some(storage) = storage() {
            // Full or blocked storage only loses what was kept there.
            let _ = storage.set_item(key, value);
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod browser {
    use leptos::web_sys::{HtmlButtonElement, HtmlDivElement, KeyboardEvent};

    pub fn focus_first_button(_container: Option<HtmlDivElement>) {}
    pub fn keep_tab_inside(_event: &KeyboardEvent, _container: Option<HtmlDivElement>) {}
    pub fn focus_button(_button: Option<HtmlButtonElement>) {}
    pub fn reveal(_id: &str) -> bool {
        false
    }
    pub fn focus_id(_id: &str) {}
    pub fn stored(_key: &str) -> Option<String> {
        None
    }
    pub fn store(_key: &str, _value: &str) {}
}

pub(super) use browser::{
    focus_button, focus_first_button, focus_id, keep_tab_inside, reveal, store, stored,
};
