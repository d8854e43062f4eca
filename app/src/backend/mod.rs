//! The server-side services that server functions and the server crate share: the store today,
//! and (as later issues land) authentication, the hub and rate limits.
//!
//! This whole tree is compiled only with the `ssr` feature; `lib.rs` gates it once, so nothing
//! inside needs its own `cfg`. It knows nothing about HTTP routing or sockets: the `server`
//! crate owns the process, the listener and the WebSocket, and hands a [`Backend`] to every
//! request through Leptos context.

pub mod store;

use std::sync::Arc;
use std::time::Instant;

use crate::api::{ApiError, StatusReport};
use store::Store;

/// Cheap, clonable handles to every service. One is built at boot and cloned into each
/// request's context; cloning copies a few `Arc`s.
#[derive(Clone)]
pub struct Backend {
    store: Arc<dyn Store>,
}

impl Backend {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The backend of the request being served. The server provides it to every server
    /// function and every rendered page; its absence is a wiring bug, reported as internal.
    pub fn from_context() -> Result<Self, ApiError> {
        leptos::prelude::use_context::<Backend>().ok_or_else(|| {
            tracing::error!("no Backend in the Leptos context: the server did not provide it");
            ApiError::Internal
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The status the home page shows: version, database latency and instance age.
    pub async fn status(&self) -> Result<StatusReport, ApiError> {
        let started = Instant::now();
        let instance = self.store.instance().await.map_err(|error| {
            tracing::warn!(%error, "status: the database did not answer");
            ApiError::Unavailable
        })?;
        Ok(StatusReport {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            database_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            instance_created_ms: instance.created_ms,
        })
    }
}
