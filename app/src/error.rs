//! The one error type every server function returns. It is serialised as JSON so the browser
//! gets a typed value it can match on and show next to the right field, never a database
//! message: internal details are logged on the server and replaced by [`ApiError::Internal`].
//!
//! The server maps each variant to its HTTP status ([`ApiError::status`]) in one place, a
//! response layer in the `server` crate, so no server function sets statuses by hand.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::model::{Field, FieldError, Problem};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ApiError {
    /// One field broke one rule; the UI shows it next to that field.
    #[error("{0}")]
    Invalid(FieldError),
    /// A sign-in failed. It never says whether the username or the password was wrong.
    #[error("Wrong username or password.")]
    WrongCredentials,
    /// The request needs a signed-in user and has none (or the session expired).
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// Too many attempts; the client may retry after this many seconds.
    #[error("Too many attempts, try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The thing does not exist, or the user may not know it exists (a private room they are
    /// not in): the two are deliberately indistinguishable.
    #[error("Not found. It may have been deleted, or you may not have access.")]
    NotFound,
    /// The user can see the thing but may not do this to it.
    #[error("You are not allowed to do that.")]
    Forbidden,
    /// An invitation link that has expired, was revoked, or never existed.
    #[error("This invitation link has expired or was revoked. Ask for a new one.")]
    InvitationInvalid,
    /// The operation does not apply to a direct conversation (renaming it, inviting to it).
    #[error("Direct conversations cannot be changed that way.")]
    DirectConversation,
    /// Posting in a room takes joining it first.
    #[error("Join the room to post in it.")]
    NotMember,
    /// A room's owner tried to leave it.
    #[error("You own this room, so you cannot leave it. You can delete it instead.")]
    OwnerCannotLeave,
    /// A state-changing request came from another site.
    #[error("This request came from another site and was refused.")]
    CrossSite,
    /// Something failed on the server; the details are in its log.
    #[error("Something went wrong on the server. Please try again.")]
    Internal,
    /// Too many requests are waiting for the same scarce work (password hashing); the client
    /// may retry after this many seconds.
    #[error("The server is busy. Please try again in {retry_after_secs} s.")]
    Overloaded { retry_after_secs: u64 },
    /// The database or another dependency is not answering right now.
    #[error("The server is temporarily unavailable. Please try again shortly.")]
    Unavailable,
    /// The request never reached the function, or its arguments could not be decoded.
    #[error("The request could not be completed: {0}")]
    Request(String),
    /// The request's body was larger than the endpoint accepts (the server's
    /// `SORI_MAX_BODY_BYTES`, or the endpoint's own limit).
    #[error("The request is too large: at most {limit_bytes} bytes are accepted.")]
    TooLarge { limit_bytes: u64 },
    /// A reply must answer a message of the same room (a message elsewhere, or one that
    /// does not exist, is refused alike: another room's ids say nothing).
    #[error("You can only reply to a message in the same room.")]
    ReplyOutsideRoom,
    /// The message already carries the most distinct emoji allowed.
    #[error("This message already has {limit} different reactions.")]
    TooManyReactions { limit: u32 },
    /// The request took longer than the server waits (`SORI_REQUEST_TIMEOUT_MS`), counted
    /// from its first byte until the answer was ready: a body sent too slowly, say.
    #[error("The request took too long and was abandoned. Please try again.")]
    TimedOut,
}

impl ApiError {
    pub fn invalid(field: Field, problem: Problem) -> Self {
        ApiError::Invalid(FieldError { field, problem })
    }

    /// The error for `field`, if this is one; forms use it to place messages.
    pub fn for_field(&self, field: Field) -> Option<&FieldError> {
        match self {
            ApiError::Invalid(error) if error.field == field => Some(error),
            _ => None,
        }
    }

    /// Whether this error belongs next to a particular field rather than above the form.
    pub fn is_field_error(&self) -> bool {
        matches!(self, ApiError::Invalid(_))
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Invalid(_) | ApiError::Request(_) => 400,
            ApiError::WrongCredentials | ApiError::Unauthenticated => 401,
            ApiError::CrossSite | ApiError::Forbidden | ApiError::NotMember => 403,
            ApiError::NotFound => 404,
            ApiError::InvitationInvalid => 410,
            ApiError::DirectConversation
            | ApiError::OwnerCannotLeave
            | ApiError::ReplyOutsideRoom
            | ApiError::TooManyReactions { .. } => 409,
            ApiError::RateLimited { .. } => 429,
            ApiError::Internal => 500,
            ApiError::Unavailable | ApiError::Overloaded { .. } => 503,
            ApiError::TimedOut => 408,
            ApiError::TooLarge { .. } => 413,
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError::Invalid(error)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_field_error_serialises_flat_with_its_rule() {
        let error = ApiError::invalid(Field::Username, Problem::TooShort { min: 3 });
        let value = serde_json::to_value(&error).unwrap();
        assert_eq!(
            value,
            json!({"error": "invalid", "field": "username", "problem": "too_short", "min": 3})
        );
        assert_eq!(serde_json::from_value::<ApiError>(value).unwrap(), error);
    }

    #[test]
    fn rate_limited_carries_its_retry_delay() {
        let error = ApiError::RateLimited {
            retry_after_secs: 42,
        };
        let value = serde_json::to_value(&error).unwrap();
        assert_eq!(
            value,
            json!({"error": "rate_limited", "retry_after_secs": 42})
        );
        assert_eq!(error.to_string(), "Too many attempts, try again in 42 s");
        assert_eq!(error.status(), 429);
    }

    #[test]
    fn too_large_names_its_limit_and_is_413() {
        let error = ApiError::TooLarge { limit_bytes: 65536 };
        let value = serde_json::to_value(&error).unwrap();
        assert_eq!(value, json!({"error": "too_large", "limit_bytes": 65536}));
        assert_eq!(error.status(), 413);
        assert_eq!(ApiError::TimedOut.status(), 408);
        assert_eq!(
            serde_json::to_value(ApiError::TimedOut).unwrap(),
            json!({"error": "timed_out"})
        );
    }

    #[test]
    fn wrong_credentials_do_not_say_which_part_was_wrong() {
        let message = ApiError::WrongCredentials.to_string();
        assert_eq!(message, "Wrong username or password.");
        assert_eq!(ApiError::WrongCredentials.status(), 401);
    }

    #[test]
    fn overloaded_is_a_503_carrying_its_retry_delay() {
        let error = ApiError::Overloaded {
            retry_after_secs: 1,
        };
        let value = serde_json::to_value(&error).unwrap();
        assert_eq!(value, json!({"error": "overloaded", "retry_after_secs": 1}));
        assert_eq!(error.status(), 503);
    }
}
