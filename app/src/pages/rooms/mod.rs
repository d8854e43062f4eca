//! The room pages: browse, create, view, members, settings, delete, and invitation links.

mod browse;
mod delete;
mod invite;
mod members;
mod new;
mod room;
mod settings;

pub use browse::BrowseRoomsPage;
pub use delete::DeleteRoomPage;
pub use invite::InvitePage;
pub use members::RoomMembersPage;
pub use new::NewRoomPage;
pub use room::RoomPage;
pub use settings::RoomSettingsPage;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::ApiError;
use crate::api::rooms::get_room;
use crate::components::rooms_state::use_rooms_state;
use crate::model::{RoomId, RoomView};

/// The room named by the `:id` of the current route, reloaded when rooms change.
fn use_room() -> Resource<Result<RoomView, ApiError>> {
    let params = use_params_map();
    let rooms = use_rooms_state();
    Resource::new(
        move || {
            let id = params
                .read()
                .get("id")
                .and_then(|id| id.parse::<RoomId>().ok());
            (id, rooms.version())
        },
        |(id, _)| async move {
            match id {
                Some(id) => get_room(id).await,
                None => Err(ApiError::NotFound),
            }
        },
    )
}

/// What a room page shows when the room cannot be shown, with the matching status.
#[component]
fn RoomUnavailable(error: ApiError) -> impl IntoView {
    crate::response::set_status(error.status());
    let heading = match error {
        ApiError::NotFound => "Room not found",
        ApiError::Forbidden => "Not allowed",
        _ => "Something went wrong",
    };
    view! {
        <section class="panel">
            <h1>{heading}</h1>
            <p>{error.to_string()}</p>
            <p><a href="/rooms">"Browse rooms"</a></p>
        </section>
    }
}
