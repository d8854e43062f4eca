//! A keyed rate limiter (GCRA: one timestamp per key). A limit of `n` per `window` allows a
//! burst of `n`, then one more every `window / n`. Used for sign-in attempts per client
//! address and per username, for sign-ups per address, and for posts per user.
//!
//! One instance keeps the timestamps in memory: a `std::sync::Mutex` around a map, since
//! every operation is a few arithmetic steps and never awaits. Instances sharing a store keep
//! them in it ([`LimitStore`]), so the limit holds for the deployment as a whole; the same
//! [`Rule`] decides either way.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::clock::{Clock, millis};
use super::store::Store;
use crate::error::ApiError;

/// Why a request was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// Over the limit: retry after this many seconds (at least 1).
    Wait(u64),
    /// The shared limits could not be read; the request is refused rather than let through
    /// unlimited (a sign-in flood must not get in while the database struggles).
    Unavailable,
}

impl From<Limited> for ApiError {
    fn from(limited: Limited) -> Self {
        match limited {
            Limited::Wait(retry_after_secs) => ApiError::RateLimited { retry_after_secs },
            Limited::Unavailable => ApiError::Unavailable,
        }
    }
}

/// The arithmetic of one limit: how far apart requests are at the sustained rate, and how
/// far ahead of now a key may run (the burst).
#[derive(Debug, Clone, Copy)]
struct Rule {
    interval_ms: i64,
    tolerance_ms: i64,
}

impl Rule {
    /// Given each key's theoretical arrival time (`None`: never charged), either every key
    /// admits the request and these are their new arrival times, or none is charged and the
    /// answer is how long to wait, in whole seconds.
    fn decide(&self, now: i64, arrivals: &[Option<i64>]) -> Result<Vec<i64>, u64> {
        let current: Vec<i64> = arrivals
            .iter()
            .map(|arrival| arrival.unwrap_or(now).max(now))
            .collect();
        let wait_ms = current
            .iter()
            .map(|arrival| arrival - now - self.tolerance_ms)
            .max()
            .unwrap_or(0);
        if wait_ms > 0 {
            let seconds = (wait_ms + 999) / 1_000;
            return Err(u64::try_from(seconds).unwrap_or(1).max(1));
        }
        Ok(current
            .into_iter()
            .map(|arrival| arrival + self.interval_ms)
            .collect())
    }
}

enum Arrivals {
    /// Key -> theoretical arrival time of its next request (Unix ms).
    Local(Mutex<HashMap<String, i64>>),
    /// In the store every instance shares; `scope` keeps one limiter's keys apart from
    /// another's.
    Shared {
        store: Arc<dyn Store>,
        scope: &'static str,
        charges: AtomicU32,
    },
}

pub struct RateLimiter {
    /// `None`: unlimited.
    rule: Option<Rule>,
    clock: Clock,
    arrivals: Arrivals,
}

/// Past this many keys, expired ones are swept on the next insert, so memory stays bounded
/// by the number of keys active within one window. (Shared limits sweep once every this
/// many charges.)
const SWEEP_THRESHOLD: usize = 4_096;

impl RateLimiter {
    /// Allows `limit` requests per `window` for each key. A zero limit means unlimited.
    pub fn new(limit: u32, window: Duration, clock: Clock) -> Self {
        Self::with(
            limit,
            window,
            clock,
            Arrivals::Local(Mutex::new(HashMap::new())),
        )
    }

    /// The same limit for every instance on `store`, if the store is shared (PostgreSQL);
    /// in memory otherwise. `scope` names the limit (for example "sign_in").
    pub fn for_store(
        limit: u32,
        window: Duration,
        clock: Clock,
        store: &Arc<dyn Store>,
        scope: &'static str,
    ) -> Self {
        if store.shared_limits().is_none() {
            return Self::new(limit, window, clock);
        }
        let arrivals = Arrivals::Shared {
            store: store.clone(),
            scope,
            charges: AtomicU32::new(0),
        };
        Self::with(limit, window, clock, arrivals)
    }

    fn with(limit: u32, window: Duration, clock: Clock, arrivals: Arrivals) -> Self {
        let rule = (limit > 0).then(|| {
            let interval_ms = millis(window) / i64::from(limit);
            Rule {
                interval_ms,
                tolerance_ms: millis(window) - interval_ms,
            }
        });
        Self {
            rule,
            clock,
            arrivals,
        }
    }

    /// Counts one request against each key. Either all keys admit it (and are charged) or
    /// none is charged and the answer says how long to wait.
    pub async fn check(&self, keys: &[&str]) -> Result<(), Limited> {
        let Some(rule) = self.rule else {
            return Ok(());
        };
        let now = self.clock.now_ms();
        match &self.arrivals {
            Arrivals::Local(state) => {
                // A poisoned lock only means another thread panicked mid-update of plain
                // integers; the map is still consistent, so keep using it.
                let mut state = state.lock().unwrap_or_else(|poison| poison.into_inner());
                let arrivals: Vec<Option<i64>> =
                    keys.iter().map(|key| state.get(*key).copied()).collect();
                let charged = rule.decide(now, &arrivals).map_err(Limited::Wait)?;
                if state.len() >= SWEEP_THRESHOLD {
                    state.retain(|_, arrival| *arrival > now);
                }
                for (key, arrival) in keys.iter().zip(charged) {
                    state.insert((*key).to_owned(), arrival);
                }
                Ok(())
            }
            Arrivals::Shared {
                store,
                scope,
                charges,
            } => {
                // `for_store` makes a shared limiter only for a store that has shared limits.
                let Some(limits) = store.shared_limits() else {
                    return Err(Limited::Unavailable);
                };
                let keys: Vec<String> = keys.iter().map(|key| format!("{scope}:{key}")).collect();
                let decide = |arrivals: &[Option<i64>]| rule.decide(now, arrivals);
                let charged = limits.charge_limits(&keys, &decide).await.map_err(|error| {
                    tracing::error!(%error, scope, "rate limit: the shared limits did not answer");
                    Limited::Unavailable
                })?;
                let sweep = charges.fetch_add(1, Ordering::Relaxed) % SWEEP_THRESHOLD as u32 == 0;
                if sweep && let Err(error) = limits.forget_limits_before(now).await {
                    tracing::warn!(%error, "rate limit: cannot sweep expired keys");
                }
                charged.map_err(Limited::Wait)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limit: u32) -> (RateLimiter, Clock) {
        let clock = Clock::manual(1_000_000);
        (
            RateLimiter::new(limit, Duration::from_secs(60), clock.clone()),
            clock,
        )
    }

    #[tokio::test]
    async fn a_burst_up_to_the_limit_passes_then_the_next_waits() {
        let (limiter, _) = limiter(10);
        for _ in 0..10 {
            assert_eq!(limiter.check(&["ip:1"]).await, Ok(()));
        }
        assert_eq!(
            limiter.check(&["ip:1"]).await,
            Err(Limited::Wait(6)),
            "one slot frees every 6 s"
        );
    }

    #[tokio::test]
    async fn keys_are_independent() {
        let (limiter, _) = limiter(1);
        assert_eq!(limiter.check(&["ip:1"]).await, Ok(()));
        assert!(limiter.check(&["ip:1"]).await.is_err());
        assert_eq!(limiter.check(&["ip:2"]).await, Ok(()));
    }

    #[tokio::test]
    async fn a_refused_request_charges_no_key() {
        let (limiter, _) = limiter(1);
        assert_eq!(limiter.check(&["user:minji"]).await, Ok(()));
        // Refused because of the user key: the address key must stay untouched.
        assert!(limiter.check(&["ip:1", "user:minji"]).await.is_err());
        assert_eq!(limiter.check(&["ip:1"]).await, Ok(()));
    }

    #[tokio::test]
    async fn capacity_returns_as_time_passes() {
        let (limiter, clock) = limiter(2);
        assert!(limiter.check(&["k"]).await.is_ok());
        assert!(limiter.check(&["k"]).await.is_ok());
        assert_eq!(limiter.check(&["k"]).await, Err(Limited::Wait(30)));
        clock.advance(Duration::from_secs(30));
        assert!(limiter.check(&["k"]).await.is_ok());
    }

    #[tokio::test]
    async fn zero_means_unlimited() {
        let (limiter, _) = limiter(0);
        for _ in 0..1_000 {
            assert!(limiter.check(&["k"]).await.is_ok());
        }
    }
}
