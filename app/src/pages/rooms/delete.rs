use leptos::prelude::*;
use leptos_meta::Title;

use super::{Reload, RoomUnavailable, use_room};
use crate::api::rooms::DeleteRoom;
use crate::components::form::{FormError, action_error};
use crate::components::session::load_page;
use crate::error::ApiError;
use crate::model::{RoomView, UserView};
use crate::pages::require_user::RequireUser;

/// `/rooms/{id}/delete`: the confirmation step of deleting a room.
#[component]
pub fn DeleteRoomPage() -> impl IntoView {
    view! {
        <RequireUser render=|_: UserView| {
            let room = use_room(Reload::Once);
            view! {
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match room.await {
                            Ok(room) if room.can_manage => view! { <ConfirmDelete room /> }.into_any(),
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
fn ConfirmDelete(room: RoomView) -> impl IntoView {
    let delete = ServerAction::<DeleteRoom>::new();
    let error = action_error(delete.into());
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(()))) {
            // A full load: the room is gone from every list on the page.
            load_page("/rooms");
        }
    });
    view! {
        <Title text=format!("Delete {}", room.name) />
        <section class="panel narrow danger-zone">
            <h1>"Delete " {room.name.clone()} "?"</h1>
            <p>"The room and all of its messages will be gone for everyone. This cannot be undone."</p>
            <ActionForm action=delete>
                <input type="hidden" name="id" value=room.id.to_string() />
                <FormError error />
                <button type="submit" class="danger">"Delete this room"</button>
                " "
                <a href=format!("/rooms/{}/settings", room.id)>"Keep the room"</a>
            </ActionForm>
        </section>
    }
}
