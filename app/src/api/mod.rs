//! Server functions: the HTTP API the pages (and tests, benchmarks, other clients) call.
//! Each has a stable endpoint under `/api/`. Their bodies only adapt: they find the backend in
//! the request context and let its services decide. The bodies compile on the server only;
//! in the browser each function becomes a fetch to its endpoint.

pub mod accounts;
pub mod mentions;
pub mod messages;
pub mod rooms;

use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::StatusReport;

/// Asks the server to prove it is alive and that its database answers.
#[server(endpoint = "status")]
pub async fn server_status() -> Result<StatusReport, ApiError> {
    crate::backend::Backend::from_context()?.status().await
}
