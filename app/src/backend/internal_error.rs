//! Store failures the user cannot act on become [`ApiError::Internal`] in one place, with the
//! details logged on the server and never sent to the browser. Services write
//! `.or_internal("load room")?` instead of mapping by hand. A database that cannot be
//! reached (its connection lost, the server restarting: [`StoreError::is_unavailable`])
//! becomes [`ApiError::Unavailable`] instead, a 503 that says "try again shortly" and that
//! clients retry, since nothing was wrong with the request.
//!
//! It is implemented for store results only: on an `ApiError` it would turn a `NotFound` or
//! an `Unauthenticated` into a 500 without a word.

use super::store::StoreError;
use crate::error::ApiError;

pub trait OrInternal<T> {
    /// Logs the error with what was being done, and answers `ApiError::Internal`, or
    /// `ApiError::Unavailable` when the database could not be reached.
    fn or_internal(self, action: &'static str) -> Result<T, ApiError>;
}

impl<T> OrInternal<T> for Result<T, StoreError> {
    fn or_internal(self, action: &'static str) -> Result<T, ApiError> {
        self.map_err(|error| {
            if error.is_unavailable() {
                tracing::warn!(
                    ?error,
                    action,
                    "store operation failed: the database is unavailable"
                );
                ApiError::Unavailable
            } else {
                tracing::error!(?error, action, "store operation failed");
                ApiError::Internal
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_becomes_internal_and_a_success_passes_through() {
        let failed: Result<(), StoreError> = Err(StoreError::Conflict);
        assert_eq!(failed.or_internal("load room"), Err(ApiError::Internal));
        let done: Result<u8, StoreError> = Ok(7);
        assert_eq!(done.or_internal("load room"), Ok(7));
    }

    #[test]
    fn a_database_out_of_reach_becomes_unavailable() {
        let unreachable: Result<(), StoreError> = Err(sqlx::Error::PoolTimedOut.into());
        assert_eq!(
            unreachable.or_internal("insert message"),
            Err(ApiError::Unavailable)
        );
    }
}
