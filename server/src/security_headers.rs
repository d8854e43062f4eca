//! The security headers on every response Sori's router sends: pages, server functions,
//! static files, probes and errors alike.
//!
//! The Content-Security-Policy allows scripts from Sori's own origin and, inline, only those
//! carrying this response's nonce: a fresh random one per request, put in the request's
//! extensions here and handed to Leptos by [`provide_request_nonce`], so the hydration
//! scripts and the streamed resource scripts carry the very nonce the header names. There is
//! no `'unsafe-inline'` for scripts; `'wasm-unsafe-eval'` lets the page compile its
//! WebAssembly. `connect-src` names the socket's `ws:`/`wss:` origin besides `'self'`:
//! CSP Level 3 lets `'self'` match it, and Chromium does (the end-to-end spec
//! `security.spec.ts` chats under this policy), but engines from before that rule (Chrome
//! before 71, Safari before 16) do not, and `/ws` is the page's lifeline.
//!
//! `Strict-Transport-Security` is sent only on https requests (the public origin is https,
//! or a trusted proxy said so, see `app::backend::ingress`): over plain http a browser
//! ignores it, and a development server on `http://127.0.0.1` must not pin itself.
//!
//! This layer adds headers and changes nothing else; responses hyper writes itself before
//! the router runs (a malformed request's 400) carry none, and contain no page.

use app::backend::ingress::peer_of;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue, header};
use leptos::config::Env;
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context};

use crate::state::AppState;

/// A year; browsers remember the https-only rule this long after each response. Subdomains
/// are left alone: they may be other people's services.
const HSTS: &str = "max-age=31536000";

/// Powerful features no page of Sori uses, switched off for it and anything it embeds.
/// Only names Chromium recognises: an unknown one is reported as an error on every page.
const PERMISSIONS: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
                           magnetometer=(), microphone=(), payment=(), usb=()";

/// Adds the security headers to the response of every request.
pub async fn security_headers(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let ingress = state.backend.ingress();
    let arrival = ingress.arrival(peer_of(request.extensions()), request.headers());
    let socket_origin = socket_origin(ingress.expected_origin(&arrival));
    let reload_port = (state.leptos.env == Env::DEV).then_some(state.leptos.reload_port);
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());

    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = content_security_policy(&nonce, &socket_origin, reload_port);
    insert(headers, header::CONTENT_SECURITY_POLICY, &policy);
    insert(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    insert(headers, header::REFERRER_POLICY, "same-origin");
    insert(
        headers,
        HeaderName::from_static("permissions-policy"),
        PERMISSIONS,
    );
    if arrival.https {
        insert(headers, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}

/// Gives the page being rendered the nonce its response's header names. Called in the
/// Leptos context of every page and server function (`site::routes`), after leptos_axum has
/// provided a nonce of its own that no header would name.
pub fn provide_request_nonce() {
    let nonce = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

/// The policy for one response. `reload_port` is `cargo leptos watch`'s live-reload socket,
/// allowed only in development.
fn content_security_policy(nonce: &Nonce, socket_origin: &str, reload_port: Option<u32>) -> String {
    let mut connect = format!("'self' {socket_origin}");
    if let Some(port) = reload_port {
        connect.push_str(&format!(" ws://*:{port} wss://*:{port}"));
    }
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src {connect}; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The WebSocket origin of a page origin: `https://host` → `wss://host`.
fn socket_origin(page_origin: &str) -> String {
    match page_origin.strip_prefix("https://") {
        Some(host) => format!("wss://{host}"),
        None => format!(
            "ws://{}",
            page_origin.strip_prefix("http://").unwrap_or(page_origin)
        ),
    }
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            headers.insert(name, value);
        }
        // Every value is ours: constants, a base64url nonce and a normalised origin.
        Err(_) => tracing::error!(%name, value, "a security header is not a valid value"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_origin_follows_the_page_scheme() {
        assert_eq!(
            socket_origin("https://chat.example.org"),
            "wss://chat.example.org"
        );
        assert_eq!(
            socket_origin("http://127.0.0.1:3000"),
            "ws://127.0.0.1:3000"
        );
    }

    #[test]
    fn the_policy_names_the_nonce_and_allows_no_inline_script_without_it() {
        let nonce = Nonce::from_value("abc123");
        let policy = content_security_policy(&nonce, "wss://chat.example.org", None);
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(policy.contains("connect-src 'self' wss://chat.example.org;"));
        for directive in [
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(policy.contains(directive), "{policy}");
        }
    }

    #[test]
    fn live_reload_is_allowed_only_when_asked_for() {
        let nonce = Nonce::from_value("n");
        let dev = content_security_policy(&nonce, "ws://127.0.0.1:3000", Some(3001));
        assert!(dev.contains("ws://*:3001"));
        let prod = content_security_policy(&nonce, "ws://127.0.0.1:3000", None);
        assert!(!prod.contains("3001"));
    }
}
