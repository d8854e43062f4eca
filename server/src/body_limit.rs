//! The cap on request bodies: every request's body is read here, up to the limit of its
//! endpoint, before anything else sees it, and a larger one is answered 413 with the typed
//! [`ApiError::TooLarge`] (`{"error":"too_large","limit_bytes":65536}`).
//!
//! Leptos's server functions read their whole body without a limit of their own (axum's
//! `DefaultBodyLimit` only binds axum's extractors), so the cap must sit in front of them.
//! A declared `Content-Length` above the limit is refused before a byte of the body is read;
//! a body without one (chunked), or one still arriving, is counted as it comes and refused at
//! the first byte past the limit. What passes is handed on in memory: at 64 KiB per request
//! that costs less than the copies the server functions make anyway.
//!
//! Every endpoint gets `SORI_MAX_BODY_BYTES` (64 KiB) unless [`LARGER_BODIES`] names it.
//! This module does not time the body's arrival: a body sent too slowly is the request
//! timeout's business (`SORI_REQUEST_TIMEOUT_MS`, see `crate::request_timeout`).

use app::error::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header;
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// Endpoints that need more than the default, with their limit in bytes. None does yet:
/// an issue that needs a larger body (an avatar upload, say) adds its path here.
const LARGER_BODIES: &[(&str, usize)] = &[];

/// The body limits of every endpoint.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    default_bytes: usize,
}

impl BodyLimits {
    pub fn new(default_bytes: usize) -> Self {
        Self { default_bytes }
    }

    /// The largest body the endpoint at `path` accepts.
    pub fn for_path(&self, path: &str) -> usize {
        LARGER_BODIES
            .iter()
            .find(|(endpoint, _)| *endpoint == path)
            .map_or(self.default_bytes, |(_, bytes)| *bytes)
    }
}

/// Reads the body up to its endpoint's limit, or answers 413.
pub async fn limit_body(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let limit = limits.for_path(request.uri().path());
    let too_large = || {
        ApiError::TooLarge {
            limit_bytes: u64::try_from(limit).unwrap_or(u64::MAX),
        }
        .into_response()
    };
    if declared_length(&request).is_some_and(|length| length > limit as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match Limited::new(body, limit).collect().await {
        Ok(collected) => {
            let request = Request::from_parts(parts, Body::from(collected.to_bytes()));
            next.run(request).await
        }
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => too_large(),
        Err(error) => {
            // The client went away or broke the framing mid-body; nobody may be listening.
            tracing::debug!(%error, path = ?parts.uri.path(), "a request body could not be read");
            ApiError::Request("the request body could not be read".into()).into_response()
        }
    }
}

/// The `Content-Length` the client declared, if it declared a readable one (hyper has
/// already refused malformed or conflicting ones).
fn declared_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_gets_the_default_unless_it_is_listed() {
        let limits = BodyLimits::new(65_536);
        assert_eq!(limits.for_path("/api/messages/send"), 65_536);
        assert_eq!(limits.for_path("/api/login"), 65_536);
        for (path, bytes) in LARGER_BODIES {
            assert_eq!(limits.for_path(path), *bytes);
        }
    }
}
