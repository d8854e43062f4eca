//! The room pages: browse, create, view, members, settings, delete, and invitation links.

mod browse;
mod delete;
mod invite;
mod members;
mod new;
mod notifications;
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

use crate::api::rooms::get_room;
use crate::components::rooms_state::use_rooms_state;
use crate::error::ApiError;
use crate::model::{RoomId, RoomView};

/// How a room page follows changes to the user's rooms.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reload {
    /// Load again whenever rooms change (joining or leaving flips the page's buttons).
    OnRoomsChange,
    /// Load once: the page changes the room itself and keeps its own state (a form).
    Once,
}

/// The room named by the `:id` of the current route.
fn use_room(reload: Reload) -> Resource<Result<RoomView, ApiError>> {
    let params = use_params_map();
    let rooms = use_rooms_state();
    Resource::new(
        move || {
            let id = params
                .read()
                .get("id")
                .and_then(|id| id.parse::<RoomId>().ok());
            let version = match reload {
                Reload::OnRoomsChange => rooms.version(),
                Reload::Once => 0,
            };
            (id, version)
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
