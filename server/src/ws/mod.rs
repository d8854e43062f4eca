//! The `/ws` endpoint: one socket per browser tab, multiplexing subscriptions to rooms.
//!
//! The upgrade needs a session (401 without one) and a browser `Origin` equal to the public
//! origin (403 otherwise, with the reason logged): a page on another site must not be able to
//! read a user's rooms through their cookie. After the upgrade, `connection` runs the socket
//! (its I/O) and `subscriptions` decides what it writes (per-room bookkeeping, admission and
//! order of live events), a pure module tested without a socket. Beside it, `probe` serves
//! `/ws/probe`, the anonymous diagnostic socket of `sori doctor`.

mod connection;
pub mod frame_budget;
pub mod probe;
mod subscriptions;

use app::backend::auth::CurrentUser;
use app::backend::cross_site;
use app::error::ApiError;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode};
use std::net::SocketAddr;

use crate::state::AppState;

/// tungstenite reads into a 128 KiB buffer per socket by default; chat frames are small, and
/// ten thousand idle sockets would hold over a gigabyte.
const READ_BUFFER_BYTES: usize = 4 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ws", get(upgrade))
        .route("/ws/probe", get(probe::upgrade))
}

async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: Result<CurrentUser, ApiError>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let user = match user {
        Ok(user) => user,
        Err(error) => return error.into_response(),
    };
    let ingress = state.backend.ingress();
    let expected = ingress.expected_origin(&ingress.arrival(peer.ip(), &headers));
    let origin_ok = headers.get(http::header::ORIGIN).is_some()
        && cross_site::check(&headers, expected).is_ok();
    if !origin_ok {
        let found = headers
            .get(http::header::ORIGIN)
            .and_then(|origin| origin.to_str().ok())
            .unwrap_or("(none)");
        tracing::warn!(
            origin = ?found,
            expected = ?expected,
            user = %user.user.id,
            "refused a WebSocket upgrade from a foreign origin"
        );
        return (
            StatusCode::FORBIDDEN,
            "the Origin of this socket is not allowed",
        )
            .into_response();
    }
    let limit = state.backend.realtime().max_frame_bytes;
    let backend = state.backend.clone();
    let shutdown = state.shutdown.clone();
    let budget = state
        .frame_budgets
        .of(user.user.id, tokio::time::Instant::now());
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| connection::run(socket, backend, user, budget, shutdown))
}
