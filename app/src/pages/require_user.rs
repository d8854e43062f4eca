//! Pages that need a signed-in user.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use super::register::urlencode;
use crate::api::accounts::current_user;
use crate::model::UserView;

/// Renders `render` with the signed-in user, or sends the visitor to
/// `/login?next=<this page>`. Routes using it render with `SsrMode::Async`, so on the server
/// the redirect is a real 302 sent before any HTML.
///
/// It asks once, when the page opens, rather than following the header's session: a profile
/// change reloads the header, and must not re-create the page under it (which would drop the
/// page's own state, such as a "Saved." confirmation).
#[component]
pub fn RequireUser<V, F>(render: F) -> impl IntoView
where
    F: Fn(UserView) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let user = Resource::new(|| (), |_| current_user());
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match user.await {
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
