use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::server_status;
use crate::model::StatusReport;

/// The landing page: what Sori is, and a live check of the server behind it.
#[component]
pub fn HomePage() -> impl IntoView {
    let check = Action::new(|_: &()| server_status());
    let pending = check.pending();

    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Sori"</h1>
            <p class="tagline">"Real-time rooms for your team, class or community."</p>
        </section>
        <section class="panel" aria-labelledby="server-check-heading">
            <h2 id="server-check-heading">"Server"</h2>
            <button type="button" on:click=move |_| { check.dispatch(()); } disabled=pending>
                "Check server"
            </button>
            <p role="status" aria-label="Server check">
                {move || match check.value().get() {
                    None if pending.get() => "Checking…".to_owned(),
                    None => String::new(),
                    Some(Ok(status)) => describe(&status),
                    Some(Err(error)) => error.to_string(),
                }}
            </p>
        </section>
    }
}

fn describe(status: &StatusReport) -> String {
    format!(
        "Sori {} is up; its database answered in {} ms.",
        status.version, status.database_ms
    )
}
