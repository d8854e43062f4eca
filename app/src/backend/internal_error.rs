//! Failures the user cannot act on (the database refused, a task panicked) become
//! [`ApiError::Internal`] in one place, with the details logged on the server and never sent
//! to the browser. Services write `.or_internal("load room")?` instead of mapping by hand.

use std::fmt::Display;

use crate::error::ApiError;

pub trait OrInternal<T> {
    /// Logs the error with what was being done, and answers `ApiError::Internal`.
    fn or_internal(self, action: &'static str) -> Result<T, ApiError>;
}

impl<T, E: Display> OrInternal<T> for Result<T, E> {
    fn or_internal(self, action: &'static str) -> Result<T, ApiError> {
        self.map_err(|error| {
            tracing::error!(%error, action, "operation failed");
            ApiError::Internal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_becomes_internal_and_a_success_passes_through() {
        let failed: Result<(), &str> = Err("disk I/O error at /var/lib/sori");
        assert_eq!(failed.or_internal("load room"), Err(ApiError::Internal));
        let done: Result<u8, &str> = Ok(7);
        assert_eq!(done.or_internal("load room"), Ok(7));
    }
}
