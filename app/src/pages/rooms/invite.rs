use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::rooms::{AcceptInvitation, get_invitation};
use crate::components::form::{FormError, action_error};
use crate::components::rooms_state::use_rooms_state;
use crate::model::{InvitationPreview, UserView};
use crate::pages::require_user::RequireUser;

/// `/invite/{token}`: signs the visitor in first if needed (through `RequireUser`), then asks
/// "Join room X?". Visiting the link changes nothing: only the "Join" button, a POST, makes
/// the visitor a member (and takes them to the room), so a link opened by a crafted page or
/// a link preview cannot make anyone join a room. A used-up link explains itself, with
/// status 410. Works before the WebAssembly loads.
#[component]
pub fn InvitePage() -> impl IntoView {
    view! {
        <Title text="Invitation" />
        <RequireUser render=|_: UserView| {
            let params = use_params_map();
            let token = move || params.read().get("token").unwrap_or_default();
            let preview = Resource::new(token, get_invitation);
            view! {
                <Suspense fallback=|| view! { <p>"Loading the invitation…"</p> }>
                    {move || Suspend::new(async move {
                        match preview.await {
                            Ok(invitation) => view! { <JoinForm invitation token=token() /> }.into_any(),
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

/// The question and its one button.
#[component]
fn JoinForm(invitation: InvitationPreview, token: String) -> impl IntoView {
    let accept = ServerAction::<AcceptInvitation>::new();
    let error = action_error(accept.into());
    let rooms = use_rooms_state();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(room)) = accept.value().get() {
            rooms.reload();
            navigate(&format!("/rooms/{room}"), Default::default());
        }
    });
    let InvitationPreview {
        room,
        name,
        already_member,
    } = invitation;
    view! {
        <section class="panel narrow">
            <h1>{format!("Join room {name}?")}</h1>
            {if already_member {
                view! {
                    <p>
                        "You are a member already. "
                        <a href=format!("/rooms/{room}")>"Open the room"</a>
                    </p>
                }
                    .into_any()
            } else {
                view! { <p>"You were invited to this private room."</p> }.into_any()
            }}
            <ActionForm action=accept>
                <input type="hidden" name="token" value=token />
                <FormError error />
                <button type="submit">"Join"</button>
            </ActionForm>
        </section>
    }
}
