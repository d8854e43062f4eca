//! Store failures the user cannot act on become [`ApiError::Internal`] in one place, with the
//! details logged on the server and never sent to the browser. Services write
//! `.or_internal("load room")?` instead of mapping by hand.
//!
//! It is implemented for store results only: on an `ApiError` it would turn a `NotFound` or
//! an `Unauthenticated` into a 500 without a word.

use super::store::StoreError;
use crate::error::ApiError;

pub trait OrInternal<T> {
    /// Logs the error with what was being done, and answers `ApiError::Internal`.
    fn or_internal(self, action: &'static str) -> Result<T, ApiError>;
}

impl<T> OrInternal<T> for Result<T, StoreError> {
    fn or_internal(self, action: &'static str) -> Result<T, ApiError> {
        self.map_err(|error| {
            tracing::error!(%error, action, "store operation failed");
            ApiError::Internal
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
}
