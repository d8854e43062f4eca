use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

use crate::api::rooms::accept_invitation;
use crate::model::UserView;
use crate::pages::require_user::RequireUser;

/// `/invite/{token}`: signs the visitor in first if needed (through `RequireUser`), makes them
/// a member, and takes them to the room. A used-up link explains itself, with status 410.
#[component]
pub fn InvitePage() -> impl IntoView {
    view! {
        <Title text="Invitation" />
        <RequireUser render=|_: UserView| {
            let params = use_params_map();
            let accepted = Resource::new(
                move || params.read().get("token").unwrap_or_default(),
                accept_invitation,
            );
            view! {
                <Suspense fallback=|| view! { <p>"Joining…"</p> }>
                    {move || Suspend::new(async move {
                        match accepted.await {
                            Ok(room) => view! { <Redirect path=format!("/rooms/{room}") /> }.into_any(),
                            Err(error) => {
                                crate::response::set_status(error.status());
                                view! {
                                    <section class="panel narrow">
                                        <h1>"Invitation not valid"</h1>
                                        <p>{error.to_string()}</p>
                                        <p><a href="/rooms">"Browse rooms"</a></p>
                                    </section>
                                }
                                .into_any()
                            }
                        }
                    })}
                </Suspense>
            }
        } />
    }
}
