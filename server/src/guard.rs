//! Layers every request passes through.

use app::backend::cross_site;
use app::backend::ingress::peer_of;
use app::error::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};

use crate::state::AppState;

/// Refuses state-changing requests that a browser says came from another site (403), and logs
/// why. Safe methods pass: they change nothing, so a forged one gains nothing.
pub async fn cross_site(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let ingress = state.backend.ingress();
    let arrival = ingress.arrival(peer_of(request.extensions()), request.headers());
    if !safe
        && let Err(reason) = cross_site::check(request.headers(), ingress.expected_origin(&arrival))
    {
        tracing::warn!(
            method = ?request.method(),
            path = ?request.uri().path(),
            ?reason,
            "refused a cross-site request"
        );
        return ApiError::CrossSite.into_response();
    }
    next.run(request).await
}

/// Leptos answers every server-function error with 500. This gives each its real status
/// (400 for a broken rule, 401, 429 with `Retry-After`, ...) in one place, from the typed
/// error in the body. Form posts without JavaScript are redirects (302), not errors, and
/// pass untouched.
pub async fn error_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Error bodies are a few hundred bytes of JSON; anything larger is not ours to parse.
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "error body too large").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<ApiError>(&bytes) {
        parts.status = StatusCode::from_u16(error.status()).unwrap_or(parts.status);
        if let ApiError::RateLimited { retry_after_secs }
        | ApiError::Overloaded { retry_after_secs } = error
        {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::post;

    /// The status and `Retry-After` that `error_status` gives a server function failing
    /// with `error` (answered as Leptos does: 500, a `serverfnerror` header, JSON).
    async fn answer_for(error: ApiError) -> (u16, Option<String>) {
        let body = serde_json::to_string(&error).unwrap();
        let failing = move || async move {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [("serverfnerror", "/api/x")],
                body,
            )
        };
        let router = Router::new()
            .route("/api/x", post(failing))
            .layer(axum::middleware::from_fn(error_status));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/api/x"))
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .unwrap();
        server.abort();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap().to_owned());
        (response.status().as_u16(), retry_after)
    }

    #[tokio::test]
    async fn a_full_password_queue_is_answered_503_with_retry_after() {
        let overloaded = ApiError::Overloaded {
            retry_after_secs: 1,
        };
        assert_eq!(answer_for(overloaded).await, (503, Some("1".to_owned())));
    }

    #[tokio::test]
    async fn a_rate_limit_is_answered_429_with_retry_after_and_a_field_error_400_without() {
        let limited = ApiError::RateLimited {
            retry_after_secs: 6,
        };
        assert_eq!(answer_for(limited).await, (429, Some("6".to_owned())));
        let invalid = ApiError::invalid(app::model::Field::Username, app::model::Problem::Taken);
        assert_eq!(answer_for(invalid).await, (400, None));
    }
}
