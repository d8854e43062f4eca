//! The router's shared state: cheap clonable handles, passed to handlers with `State`.

use app::backend::Backend;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub backend: Backend,
}

// leptos_axum's handlers find their options in the router state through this.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
