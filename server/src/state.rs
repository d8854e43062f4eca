//! The router's shared state: cheap clonable handles, passed to handlers with `State`.

use app::backend::Backend;
use app::backend::bus::Bus;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub backend: Backend,
    /// The bus between instances, when the store is shared (`/readyz` checks its listener).
    pub bus: Option<Arc<Bus>>,
    /// Turns true when shutdown starts; open sockets close with 1012 and clients reconnect.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// What the diagnostic probe sockets share (`/ws/probe`).
    pub probes: crate::ws::probe::Probes,
    /// What each user's chat sockets may still send, shared by their sockets.
    pub frame_budgets: crate::ws::frame_budget::FrameBudgets,
}

// leptos_axum's handlers find their options in the router state through this.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

// `CurrentUser` finds the backend in the router state through this.
impl FromRef<AppState> for Backend {
    fn from_ref(state: &AppState) -> Self {
        state.backend.clone()
    }
}
