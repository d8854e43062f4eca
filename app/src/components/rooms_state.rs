//! The rooms the signed-in user can see, shared by the navigation and the pages. Actions
//! that change membership or names call [`RoomsState::reload`].

use leptos::prelude::*;

use crate::api::rooms::list_rooms;
use crate::error::ApiError;
use crate::model::RoomView;

#[derive(Clone, Copy)]
pub struct RoomsState {
    pub rooms: Resource<Result<Vec<RoomView>, ApiError>>,
    version: RwSignal<u32>,
}

impl RoomsState {
    pub fn reload(&self) {
        self.version.update(|version| *version += 1);
    }

    /// Changes whenever the rooms are reloaded; resources of one room track it too.
    pub fn version(&self) -> u32 {
        self.version.get()
    }
}

pub fn provide_rooms_state() -> RoomsState {
    let version = RwSignal::new(0);
    let rooms = Resource::new(move || version.get(), |_| list_rooms());
    let state = RoomsState { rooms, version };
    provide_context(state);
    state
}

pub fn use_rooms_state() -> RoomsState {
    // Provided by `App` above every route.
    expect_context::<RoomsState>()
}
