//! Who is signed in, as the UI knows it. One resource for the whole app, loaded with the page
//! on the server and refetched when the user changes something about themselves.

use leptos::prelude::*;

use crate::api::accounts::current_user;
use crate::error::ApiError;
use crate::model::UserView;

#[derive(Clone, Copy)]
pub struct Session {
    pub user: Resource<Result<Option<UserView>, ApiError>>,
    version: RwSignal<u32>,
}

impl Session {
    /// Loads the signed-in user again (after a profile change).
    pub fn reload(&self) {
        self.version.update(|version| *version += 1);
    }
}

/// Creates the session resource and puts it in context; call once, inside the router.
pub fn provide_session() -> Session {
    let version = RwSignal::new(0);
    let user = Resource::new(move || version.get(), |_| current_user());
    let session = Session { user, version };
    provide_context(session);
    session
}

pub fn use_session() -> Session {
    // `App` provides it above every route; a missing one is a programming error that the
    // first render would show at once.
    expect_context::<Session>()
}

/// Goes to `path` with a full page load, so every part of the page is rendered afresh for the
/// new session (used after signing in or out).
pub fn load_page(path: &str) {
    if let Err(error) = window().location().set_href(path) {
        leptos::logging::error!("navigation to {path} failed: {error:?}");
    }
}
