//! The one "Connection" status on the page.

use leptos::prelude::*;

use crate::realtime::{ConnectionStatus, use_realtime};

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
        // The server ended the session (signed out everywhere, or the account deleted): say
        // so, instead of a socket that silently stops.
        {move || (status() == ConnectionStatus::SignedOut).then(|| view! {
            <p class="session-ended" role="alert">
                "Your session ended, so live updates stopped. "
                <a href="/login">"Sign in again"</a>
            </p>
        })}
    }
}
