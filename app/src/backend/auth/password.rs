//! Password hashing with Argon2id (m = 19 MiB, t = 2, p = 1), stored as PHC strings.
//!
//! Each hash takes tens of milliseconds of CPU and 19 MiB of memory, so it runs on the blocking
//! pool, never on the async workers, and a semaphore caps how many run at once: a flood of
//! sign-ins queues instead of exhausting memory or starving every other request. The queue is
//! bounded too: past `SORI_PASSWORD_QUEUE` waiting hashes a request is refused at once with
//! [`ApiError::Overloaded`] (503 and `Retry-After`), rather than holding its connection and
//! memory for as long as the flood lasts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};

use crate::error::ApiError;
use crate::model::Password;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Hashes waiting for a permit, and how many may.
    waiting: Arc<AtomicUsize>,
    queue: usize,
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
    /// `concurrency` hashes may run at once (at least one), and `queue` more may wait.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            queue,
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
        let _permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                let _place = self.join_queue()?;
                // The semaphore is never closed, so acquiring fails only if it were.
                self.permits
                    .acquire()
                    .await
                    .map_err(|_| ApiError::Unavailable)?
            }
        };
        tokio::task::spawn_blocking(work).await.map_err(|error| {
            tracing::error!(%error, "a password hashing task panicked");
            ApiError::Internal
        })?
    }
}

/// How long a refused request is told to wait: a full queue drains in about a second at the
/// default settings (32 hashes of ~50 ms, two at a time).
const RETRY_AFTER_SECS: u64 = 1;

impl PasswordHasher {
    /// Takes a place in the queue, or refuses if every place is taken. The place is given
    /// back when the guard drops (the hash got its permit, or the request went away).
    fn join_queue(&self) -> Result<QueuePlace, ApiError> {
        let queue = self.queue;
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| {
                (waiting < queue).then_some(waiting + 1)
            })
            .map_err(|_| {
                tracing::warn!(queue, "password hashing queue full; refusing");
                ApiError::Overloaded {
                    retry_after_secs: RETRY_AFTER_SECS,
                }
            })?;
        Ok(QueuePlace(self.waiting.clone()))
    }
}

struct QueuePlace(Arc<AtomicUsize>);

impl Drop for QueuePlace {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;

    #[tokio::test]
    async fn a_hash_is_argon2id_with_the_chosen_parameters_and_verifies() {
        let hasher = PasswordHasher::new(1, 32);
        let password = Password::parse("correct horse battery", Field::Password).unwrap();
        let phc = hasher.hash(&password).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify("correct horse battery", &phc).await.unwrap());
        assert!(!hasher.verify("wrong horse battery", &phc).await.unwrap());
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let hasher = PasswordHasher::new(1, 32);
        let password = Password::parse("correct horse battery", Field::Password).unwrap();
        assert_ne!(
            hasher.hash(&password).await.unwrap(),
            hasher.hash(&password).await.unwrap()
        );
    }

    #[tokio::test]
    async fn the_decoy_never_matches() {
        let hasher = PasswordHasher::new(1, 32);
        assert!(
            !hasher
                .verify_decoy("decoy password, never issued")
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn hashing_holds_a_permit_so_concurrency_is_capped() {
        let hasher = PasswordHasher::new(1, 32);
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

    #[tokio::test]
    async fn past_the_queue_a_hash_is_refused_at_once_with_a_retry_delay() {
        let hasher = PasswordHasher::new(1, 1);
        let held = hasher.permits.clone().acquire_owned().await.unwrap();
        let password = Password::parse("correct horse battery", Field::Password).unwrap();
        let queued = tokio::spawn({
            let hasher = hasher.clone();
            let password = password.clone();
            async move { hasher.hash(&password).await }
        });
        // Wait (bounded) until the first request holds the one place in the queue.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while hasher.waiting.load(Ordering::Acquire) == 0 {
            assert!(tokio::time::Instant::now() < deadline, "never queued");
            tokio::task::yield_now().await;
        }
        assert_eq!(
            hasher.hash(&password).await,
            Err(ApiError::Overloaded {
                retry_after_secs: 1
            })
        );
        drop(held);
        assert!(queued.await.unwrap().is_ok(), "the queued hash still runs");
        assert_eq!(
            hasher.waiting.load(Ordering::Acquire),
            0,
            "its place is given back"
        );
        assert!(
            hasher.hash(&password).await.is_ok(),
            "and the queue is open again"
        );
    }
}
