//! Page-level HTTP status. On the server a page can set the status of the response it is
//! rendered into; in the browser there is no response, so the same call does nothing. This is
//! the one spot where that difference is spelled out, so components stay free of `cfg`.

/// Marks the response being rendered as "404 Not Found".
pub fn set_not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
}
