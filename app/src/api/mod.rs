//! Server functions: the HTTP API the pages (and tests, benchmarks, other clients) call.
//! Each has a stable endpoint under `/api/`. Their bodies only adapt: they find the backend in
//! the request context and let its services decide. The bodies compile on the server only;
//! in the browser each function becomes a fetch to its endpoint.

pub mod accounts;
mod error;
pub mod messages;
pub mod rooms;

pub use error::{ApiError, Field, FieldError, Problem};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the home page shows about the server it is talking to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The server's crate version.
    pub version: String,
    /// How long the database took to answer, in milliseconds.
    pub database_ms: u64,
    /// When this instance's database was first initialised, in Unix milliseconds.
    pub instance_created_ms: i64,
}

/// Asks the server to prove it is alive and that its database answers.
#[server(endpoint = "status")]
pub async fn server_status() -> Result<StatusReport, ApiError> {
    crate::backend::Backend::from_context()?.status().await
}
