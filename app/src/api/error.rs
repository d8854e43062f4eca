//! The one error type every server function returns. It is serialised as JSON so the browser
//! gets a typed value it can match on and show next to the right field, never a database
//! message: internal details are logged on the server and replaced by [`ApiError::Internal`].

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ApiError {
    /// Something failed on the server; the details are in its log.
    #[error("Something went wrong on the server. Please try again.")]
    Internal,
    /// The database or another dependency is not answering right now.
    #[error("The server is temporarily unavailable. Please try again shortly.")]
    Unavailable,
    /// The request never reached the function, or its arguments could not be decoded.
    #[error("The request could not be completed: {0}")]
    Request(String),
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The browser could not reach the server, or the server's answer was unreadable.
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                ApiError::Request("the server could not be reached".into())
            }
            ServerFnErrorErr::Args(reason) | ServerFnErrorErr::MissingArg(reason) => {
                ApiError::Request(reason)
            }
            _ => ApiError::Internal,
        }
    }
}
