//! Pages that need a signed-in user.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use super::register::urlencode;
use crate::components::session::use_session;
use crate::model::UserView;

/// Renders `render` with the signed-in user, or sends the visitor to
/// `/login?next=<this page>`. Routes using it render with `SsrMode::Async`, so on the server
/// the redirect is a real 302 sent before any HTML.
#[component]
pub fn RequireUser<V, F>(render: F) -> impl IntoView
where
    F: Fn(UserView) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let session = use_session();
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match session.user.await {
                        Ok(Some(user)) => render(user).into_any(),
                        Ok(None) => {
                            let here = location.pathname.get_untracked();
                            let path = format!("/login?next={}", urlencode(&here));
                            view! { <Redirect path /> }.into_any()
                        }
                        Err(error) => view! { <p role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
