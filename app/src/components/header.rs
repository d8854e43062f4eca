//! The site header: the product name and who is signed in.

use leptos::prelude::*;

use super::connection_status::ConnectionStatusBadge;
use super::session::{load_page, use_session};
use crate::api::accounts::SignOut;
use crate::realtime::use_realtime;

#[component]
pub fn SiteHeader() -> impl IntoView {
    let session = use_session();
    let sign_out = ServerAction::<SignOut>::new();
    let realtime = use_realtime();
    Effect::new(move |_| {
        if let Some(Ok(next)) = sign_out.value().get() {
            // Nothing of theirs stays in this browser for the next person.
            realtime.forget_user();
            load_page(&next);
        }
    });

    view! {
        <header class="site-header">
            <a class="brand" href="/">"Sori"</a>
            <nav class="account" aria-label="Account">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match session.user.await {
                            Ok(Some(user)) => view! {
                                <ConnectionStatusBadge />
                                <span class="signed-in-as">
                                    "Signed in as " <strong>{user.display_name}</strong>
                                </span>
                                <a href="/search">"Search"</a>
                                <a href="/settings">"Settings"</a>
                                <ActionForm action=sign_out>
                                    <button type="submit" class="secondary">"Sign out"</button>
                                </ActionForm>
                            }
                            .into_any(),
                            _ => view! {
                                <a href="/login">"Sign in"</a>
                                <a href="/register">"Create account"</a>
                            }
                            .into_any(),
                        }
                    })}
                </Transition>
            </nav>
        </header>
    }
}
