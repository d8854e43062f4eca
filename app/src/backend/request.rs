//! The HTTP request a server function or page is serving, as seen from inside Leptos.
//! leptos_axum puts the request's parts and a handle on the response into the reactive
//! context; this wraps both so services get plain values (headers, client address) and
//! server functions can set cookies and redirect.

use http::request::Parts;
use http::{HeaderMap, HeaderValue, header};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use super::ingress::{Arrival, Ingress, peer_of};
use crate::error::ApiError;

pub struct RequestContext {
    parts: Parts,
    response: Option<ResponseOptions>,
}

impl RequestContext {
    /// The request being served. Every server function and page render has one.
    pub fn current() -> Result<Self, ApiError> {
        let parts = use_context::<Parts>().ok_or_else(|| {
            tracing::error!("no request parts in the Leptos context");
            ApiError::Internal
        })?;
        Ok(Self {
            parts,
            response: use_context::<ResponseOptions>(),
        })
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// How the request reached Sori: the client's address and whether it is https, resolved
    /// through trusted proxies.
    pub fn arrival(&self, ingress: &Ingress) -> Arrival {
        ingress.arrival(peer_of(&self.parts.extensions), &self.parts.headers)
    }

    /// Adds a `Set-Cookie` header to the response.
    pub fn set_cookie(&self, cookie: &str) {
        let Some(response) = &self.response else {
            tracing::warn!("no response to set a cookie on");
            return;
        };
        match HeaderValue::from_str(cookie) {
            Ok(value) => response.append_header(header::SET_COOKIE, value),
            Err(error) => tracing::error!(?error, "a cookie header was not valid"),
        }
    }

    /// After a plain HTML form post (no JavaScript yet), answers with a 302 to `path`.
    /// Requests from the hydrated app are left alone: the page decides where to go, with the
    /// path the server function returns.
    pub fn redirect_form_post(&self, path: &str) {
        let from_form = self
            .parts
            .headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        if from_form {
            leptos_axum::redirect(path);
        }
    }
}
