use leptos::prelude::*;
use leptos_meta::Title;

use super::{Reload, RoomUnavailable, use_room};
use crate::api::rooms::{CreateInvitation, RevokeInvitation, UpdateRoom, list_invitations};
use crate::components::form::{FormError, TextField, action_error};
use crate::components::rooms_state::use_rooms_state;
use crate::error::ApiError;
use crate::model::Field;
use crate::model::{RoomView, UserView, Visibility};
use crate::pages::require_user::RequireUser;

/// `/rooms/{id}/settings`: rename, topic, visibility, invitations, delete. Owner or admin;
/// it works without JavaScript.
#[component]
pub fn RoomSettingsPage() -> impl IntoView {
    view! {
        <RequireUser render=|_: UserView| {
            let room = use_room(Reload::Once);
            view! {
                <Suspense fallback=|| view! { <p>"Loading settings…"</p> }>
                    {move || Suspend::new(async move {
                        match room.await {
                            Ok(room) if room.can_manage => view! { <RoomSettings room /> }.into_any(),
                            Ok(_) => view! { <RoomUnavailable error=ApiError::Forbidden /> }.into_any(),
                            Err(error) => view! { <RoomUnavailable error /> }.into_any(),
                        }
                    })}
                </Suspense>
            }
        } />
    }
}

#[component]
fn RoomSettings(room: RoomView) -> impl IntoView {
    let rooms = use_rooms_state();
    let update = ServerAction::<UpdateRoom>::new();
    let update_error = action_error(update.into());
    let saved = move || matches!(update.value().get(), Some(Ok(_)));
    // The form keeps showing what was saved (the page is not reloaded under it).
    let name = RwSignal::new(room.name.clone());
    let topic = RwSignal::new(room.topic.clone());
    Effect::new(move |_| {
        if let Some(Ok(saved)) = update.value().get() {
            name.set(saved.name);
            topic.set(saved.topic);
            rooms.reload();
        }
    });
    let id = room.id.to_string();

    view! {
        <Title text=move || format!("Settings of {}", name.get()) />
        <h1>"Room settings"</h1>
        <p><a href=format!("/rooms/{}", room.id)>"Back to " {move || name.get()}</a></p>
        <section class="panel" aria-labelledby="details-heading">
            <h2 id="details-heading">"Details"</h2>
            <ActionForm action=update>
                <input type="hidden" name="id" value=id.clone() />
                <TextField field=Field::RoomName name="name" autocomplete="off" error=update_error value=name />
                <TextField field=Field::Topic name="topic" autocomplete="off" error=update_error value=topic />
                <div class="checkbox">
                    <input
                        id="field-private"
                        type="checkbox"
                        name="private"
                        checked=room.visibility == Visibility::Private
                    />
                    <label for="field-private">"Private"</label>
                </div>
                <FormError error=update_error />
                <button type="submit">"Save"</button>
                <p role="status">{move || saved().then_some("Saved.")}</p>
            </ActionForm>
        </section>
        <Invitations room=room.clone() />
        <section class="panel danger-zone" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete room"</h2>
            <p>"Deleting a room removes it and all of its messages for everyone."</p>
            <form method="get" action=format!("/rooms/{}/delete", room.id)>
                <button type="submit" class="danger">"Delete room"</button>
            </form>
        </section>
    }
}

#[component]
fn Invitations(room: RoomView) -> impl IntoView {
    let create = ServerAction::<CreateInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let create_error = action_error(create.into());
    let revoke_error = action_error(revoke.into());
    let id = room.id;
    let invitations = Resource::new(
        move || (id, create.version().get(), revoke.version().get()),
        |(id, _, _)| list_invitations(id),
    );
    let room_id = room.id;
    // Only the answer that made a link holds it: the server keeps the token's hash alone.
    let new_link = move || {
        create
            .value()
            .get()
            .and_then(Result::ok)
            .and_then(|invitation| invitation.path)
    };

    view! {
        <section class="panel" aria-labelledby="invitations-heading">
            <h2 id="invitations-heading">"Invitations"</h2>
            <p>
                "Anyone with an invitation link can join this room until the link expires (after 7 days) or you revoke it."
            </p>
            <ActionForm action=create>
                <input type="hidden" name="id" value=room_id.to_string() />
                <button type="submit">"Create invite link"</button>
            </ActionForm>
            {move || new_link().map(|path| view! {
                <p class="new-invitation" role="status">
                    "New invitation link (copy it now: it is shown only once): "
                    <a class="invite-link" href=path.clone()>{path.clone()}</a>
                </p>
            })}
            <FormError error=create_error />
            <FormError error=revoke_error />
            <Suspense fallback=|| ()>
                {move || {
                    Suspend::new(async move {
                        let invitations = invitations.await.unwrap_or_default();
                        if invitations.is_empty() {
                            return view! { <p>"No active invitation links."</p> }.into_any();
                        }
                        view! {
                            <ul class="invitations" aria-label="Active invitation links">
                                {invitations
                                    .into_iter()
                                    .map(|invitation| {
                                        view! {
                                            <li>
                                                {format!("Link #{}", invitation.id)}
                                                " "
                                                <ActionForm action=revoke>
                                                    <input type="hidden" name="id" value=room_id.to_string() />
                                                    <input type="hidden" name="invitation" value=invitation.id.to_string() />
                                                    <button type="submit" class="secondary">"Revoke"</button>
                                                </ActionForm>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any()
                    })
                }}
            </Suspense>
        </section>
    }
}
