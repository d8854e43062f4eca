//! The request timeout (`SORI_REQUEST_TIMEOUT_MS`): a request whose answer is not ready
//! within it, counted from when its headers were read, gets 408 with the typed
//! [`ApiError::TimedOut`], and whatever was working on it is dropped (a transaction in
//! flight rolls back).
//!
//! It covers the body's arrival too (the body is read inside, by `crate::body_limit`), so a
//! client sending its body a byte a minute is cut off like one trickling its headers
//! (those are `crate::serve`'s header-read timeout). It ends when the response's head is
//! ready: a WebSocket's 101 is sent at once and the socket it becomes is not timed here.

use std::time::Duration;

use app::error::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Answers 408 when the rest of the stack has not answered within `timeout`.
pub async fn limit_duration(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::debug!(?path, ?timeout, "a request took too long and was abandoned");
            ApiError::TimedOut.into_response()
        }
    }
}
