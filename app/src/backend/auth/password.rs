//! Password hashing with Argon2id (m = 19 MiB, t = 2, p = 1), stored as PHC strings.
//!
//! Each hash takes tens of milliseconds of CPU and 19 MiB of memory, so it runs on the blocking
//! pool, never on the async workers, and a semaphore caps how many run at once: a flood of
//! sign-ins queues instead of exhausting memory or starving every other request.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};

use crate::error::ApiError;
use crate::model::Password;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified against when a username does not exist,
    /// so "no such user" costs the same time as "wrong password".
    decoy: Arc<OnceCell<String>>,
}

fn argon2() -> Argon2<'static> {
    // 19 MiB, 2 passes, 1 lane: the OWASP-recommended Argon2id baseline. The numbers are
    // valid by construction; `Params::new` rejects only out-of-range values.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl PasswordHasher {
    /// `concurrency` hashes may run at once (at least one).
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            decoy: Arc::new(OnceCell::new()),
        }
    }

    pub async fn hash(&self, password: &Password) -> Result<String, ApiError> {
        let password = password.expose().to_owned();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| {
                    tracing::error!(%error, "password hashing failed");
                    ApiError::Internal
                })
        })
        .await
    }

    /// Whether `password` matches the stored PHC string.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, ApiError> {
        let password = password.to_owned();
        let phc = phc.to_owned();
        self.run(move || {
            let parsed = PasswordHash::new(&phc).map_err(|error| {
                tracing::error!(%error, "a stored password hash is malformed");
                ApiError::Internal
            })?;
            Ok(argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
    }

    /// Spends the time a real verification would, then reports failure.
    pub async fn verify_decoy(&self, password: &str) -> Result<bool, ApiError> {
        let decoy = self
            .decoy
            .get_or_try_init(|| async {
                let random = Password::parse(
                    "decoy password, never issued",
                    crate::model::Field::Password,
                )?;
                self.hash(&random).await
            })
            .await?
            .clone();
        self.verify(password, &decoy).await.map(|_| false)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        // The semaphore is never closed, so acquiring fails only if it were.
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::Unavailable)?;
        tokio::task::spawn_blocking(work).await.map_err(|error| {
            tracing::error!(%error, "a password hashing task panicked");
            ApiError::Internal
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;

    #[tokio::test]
    async fn a_hash_is_argon2id_with_the_chosen_parameters_and_verifies() {
        let hasher = PasswordHasher::new(1);
        let password = Password::parse("correct horse battery", Field::Password).unwrap();
        let phc = hasher.hash(&password).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify("correct horse battery", &phc).await.unwrap());
        assert!(!hasher.verify("wrong horse battery", &phc).await.unwrap());
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let hasher = PasswordHasher::new(1);
        let password = Password::parse("correct horse battery", Field::Password).unwrap();
        assert_ne!(
            hasher.hash(&password).await.unwrap(),
            hasher.hash(&password).await.unwrap()
        );
    }

    #[tokio::test]
    async fn the_decoy_never_matches() {
        let hasher = PasswordHasher::new(1);
        assert!(
            !hasher
                .verify_decoy("decoy password, never issued")
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashing_holds_a_permit_so_concurrency_is_capped() {
        let hasher = PasswordHasher::new(1);
        let held = hasher.permits.clone().acquire_owned().await.unwrap();
        let password = Password::parse("correct horse battery", Field::Password).unwrap();
        let waiting = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.hash(&password).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the hash waits for the permit");
        drop(held);
        assert!(waiting.await.unwrap().is_ok());
    }
}
