//! The one "Connection" status on the page.

use leptos::prelude::*;

use crate::realtime::use_realtime;

#[component]
pub fn ConnectionStatusBadge() -> impl IntoView {
    let realtime = use_realtime();
    let status = move || realtime.status.get();
    view! {
        <p
            class="connection"
            role="status"
            aria-label="Connection"
            data-state=move || format!("{:?}", status()).to_lowercase()
        >
            {move || status().label()}
        </p>
    }
}
