//! Page-level HTTP status. On the server a page can set the status of the response it is
//! rendered into; in the browser there is no response, so the same call does nothing. This is
//! the one spot where that difference is spelled out, so components stay free of `cfg`.

/// Sets the status of the response being rendered (404 for a missing page, 410 for a used-up
/// invitation, ...). Routes whose status depends on data render with `SsrMode::Async`, so the
/// status is decided before the first byte is sent.
pub fn set_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(code)
    {
        response.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}

/// Marks the response being rendered as "404 Not Found".
pub fn set_not_found() {
    set_status(404);
}
