use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::api::rooms::CreateRoom;
use crate::components::form::{FormError, TextField, action_error};
use crate::components::rooms_state::use_rooms_state;
use crate::model::Field;
use crate::model::UserView;
use crate::pages::require_user::RequireUser;

/// `/rooms/new`: the "New room" flow. Works before the WebAssembly loads.
#[component]
pub fn NewRoomPage() -> impl IntoView {
    view! {
        <Title text="New room" />
        <RequireUser render=|_: UserView| view! { <NewRoomForm /> } />
    }
}

#[component]
fn NewRoomForm() -> impl IntoView {
    let create = ServerAction::<CreateRoom>::new();
    let error = action_error(create.into());
    let rooms = use_rooms_state();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(room)) = create.value().get() {
            rooms.reload();
            navigate(&format!("/rooms/{}", room.id), Default::default());
        }
    });
    view! {
        <section class="panel narrow">
            <h1>"New room"</h1>
            <ActionForm action=create>
                <TextField field=Field::RoomName name="name" autocomplete="off" error />
                <TextField field=Field::Topic name="topic" autocomplete="off" error />
                <div class="checkbox">
                    <input id="field-private" type="checkbox" name="private" />
                    <label for="field-private">"Private"</label>
                    <p class="hint">"Only people you invite can see a private room."</p>
                </div>
                <FormError error />
                <button type="submit">"Create room"</button>
            </ActionForm>
        </section>
    }
}
