//! A keyed rate limiter (GCRA: one timestamp per key). A limit of `n` per `window` allows a
//! burst of `n`, then one more every `window / n`. Used for sign-in attempts per client
//! address and per username, for sign-ups per address, for password checks per user and
//! session, for probe sockets per address, and for posts per user.
//!
//! One instance keeps the timestamps in memory: a `std::sync::Mutex` around a map, since
//! every operation is a few arithmetic steps and never awaits. Instances sharing a store keep
//! them in it ([`LimitStore`]), so the limit holds for the deployment as a whole; the same
//! [`Rule`] decides either way.
//!
//! Memory stays bounded under any input: a key longer than [`MAX_KEY_BYTES`] is replaced by
//! its hash (so a megabyte of "username" costs a few dozen bytes), and a task sweeps expired
//! keys on a timer (every window, at most every minute), so the map holds only the keys
//! charged within the last window. The limiter does not bound how many distinct keys one
//! window may charge: the callers' address keys do that (see [`super::client_addr::limit_key`]).
//!
//! [`LimitStore`]: super::store::LimitStore

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::task::AbortHandle;

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

/// Key -> theoretical arrival time of its next request (Unix ms).
type LocalArrivals = Arc<Mutex<HashMap<String, i64>>>;

enum Arrivals {
    Local(LocalArrivals),
    /// In the store every instance shares; `scope` keeps one limiter's keys apart from
    /// another's.
    Shared {
        store: Arc<dyn Store>,
        scope: &'static str,
    },
}

pub struct RateLimiter {
    /// `None`: unlimited.
    rule: Option<Rule>,
    clock: Clock,
    arrivals: Arrivals,
    /// The task sweeping expired keys; stopped when the limiter is dropped.
    sweeper: Option<AbortHandle>,
}

/// Keys up to this long are kept as they are (readable in the store); longer ones are
/// replaced by a hash. Every key Sori makes is shorter, so only hostile input is hashed.
pub const MAX_KEY_BYTES: usize = 64;

/// Sweeps run once per window, but at least this often: a long window (sign-ups: an hour)
/// should not keep a flood's keys for an hour after they expired.
const LONGEST_SWEEP_PERIOD: Duration = Duration::from_secs(60);

impl RateLimiter {
    /// Allows `limit` requests per `window` for each key. A zero limit means unlimited.
    pub fn new(limit: u32, window: Duration, clock: Clock) -> Self {
        Self::with(
            limit,
            window,
            clock,
            Arrivals::Local(Arc::new(Mutex::new(HashMap::new()))),
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
        let period = window.clamp(Duration::from_secs(1), LONGEST_SWEEP_PERIOD);
        let sweeper = rule.and_then(|_| start_sweeping(&arrivals, clock.clone(), period));
        Self {
            rule,
            clock,
            arrivals,
            sweeper,
        }
    }

    /// Counts one request against each key. Either all keys admit it (and are charged) or
    /// none is charged and the answer says how long to wait.
    pub async fn check(&self, keys: &[&str]) -> Result<(), Limited> {
        let Some(rule) = self.rule else {
            return Ok(());
        };
        let keys: Vec<String> = keys.iter().map(|key| bounded_key(key)).collect();
        let now = self.clock.now_ms();
        match &self.arrivals {
            Arrivals::Local(state) => {
                // A poisoned lock only means another thread panicked mid-update of plain
                // integers; the map is still consistent, so keep using it.
                let mut state = state.lock().unwrap_or_else(|poison| poison.into_inner());
                let arrivals: Vec<Option<i64>> =
                    keys.iter().map(|key| state.get(key).copied()).collect();
                let charged = rule.decide(now, &arrivals).map_err(Limited::Wait)?;
                for (key, arrival) in keys.into_iter().zip(charged) {
                    state.insert(key, arrival);
                }
                Ok(())
            }
            Arrivals::Shared { store, scope } => {
                // `for_store` makes a shared limiter only for a store that has shared limits.
                let Some(limits) = store.shared_limits() else {
                    return Err(Limited::Unavailable);
                };
                let keys: Vec<String> = keys.iter().map(|key| format!("{scope}:{key}")).collect();
                let decide = |arrivals: &[Option<i64>]| rule.decide(now, arrivals);
                let charged = limits
                    .charge_limits(&keys, &decide)
                    .await
                    .map_err(|error| {
                        tracing::error!(
                            ?error,
                            scope,
                            "rate limit: the shared limits did not answer"
                        );
                        Limited::Unavailable
                    })?;
                charged.map_err(Limited::Wait)
            }
        }
    }

    /// How many keys the in-memory map holds (0 for shared limits).
    #[cfg(test)]
    fn local_keys(&self) -> usize {
        match &self.arrivals {
            Arrivals::Local(state) => state.lock().map_or(0, |state| state.len()),
            Arrivals::Shared { .. } => 0,
        }
    }
}

impl Drop for RateLimiter {
    fn drop(&mut self) {
        if let Some(sweeper) = &self.sweeper {
            sweeper.abort();
        }
    }
}

/// A key as the limiter stores it: itself when short, else a hash of it (128 bits of
/// SHA-256, far beyond a collision by chance), marked with `#` so the two never meet.
fn bounded_key(key: &str) -> String {
    if key.len() <= MAX_KEY_BYTES {
        return key.to_owned();
    }
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("#{hex}")
}

/// Starts the task that forgets expired keys every `period`, if there is a runtime to run
/// it on (there always is in the server; a limiter built outside one sweeps nothing).
fn start_sweeping(arrivals: &Arrivals, clock: Clock, period: Duration) -> Option<AbortHandle> {
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    let target = match arrivals {
        Arrivals::Local(state) => Sweep::Local(state.clone()),
        Arrivals::Shared { store, .. } => Sweep::Shared(store.clone()),
    };
    let task = runtime.spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            target.sweep(clock.now_ms()).await;
        }
    });
    Some(task.abort_handle())
}

enum Sweep {
    Local(LocalArrivals),
    Shared(Arc<dyn Store>),
}

impl Sweep {
    async fn sweep(&self, now: i64) {
        match self {
            Sweep::Local(state) => {
                // See `check` on why a poisoned lock is still usable.
                let mut state = state.lock().unwrap_or_else(|poison| poison.into_inner());
                state.retain(|_, arrival| *arrival > now);
                // A flood's map keeps its capacity after the keys go; give it back.
                state.shrink_to_fit();
            }
            Sweep::Shared(store) => {
                let Some(limits) = store.shared_limits() else {
                    return;
                };
                if let Err(error) = limits.forget_limits_before(now).await {
                    tracing::warn!(?error, "rate limit: cannot sweep expired keys");
                }
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

    #[tokio::test(start_paused = true)]
    async fn keys_are_swept_on_a_timer_once_their_window_has_passed() {
        let (limiter, clock) = limiter(10);
        for n in 0..10_000 {
            assert!(limiter.check(&[&format!("ip:{n}")]).await.is_ok());
        }
        assert_eq!(limiter.local_keys(), 10_000);
        // Within the window the keys still limit, so they stay.
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(limiter.local_keys(), 10_000, "nothing expired yet");
        clock.advance(Duration::from_secs(60));
        // The next sweep (at most a minute away) forgets them all, with no request needed.
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert_eq!(limiter.local_keys(), 0);
    }

    #[tokio::test]
    async fn a_long_key_is_stored_as_a_short_hash_and_still_limits() {
        let (limiter, _) = limiter(1);
        let huge = format!("user:{}", "a".repeat(1_000_000));
        assert_eq!(limiter.check(&[&huge]).await, Ok(()));
        assert!(
            limiter.check(&[&huge]).await.is_err(),
            "the same key limits"
        );
        let other = format!("user:{}b", "a".repeat(999_999));
        assert_eq!(limiter.check(&[&other]).await, Ok(()), "a different key");
        let Arrivals::Local(state) = &limiter.arrivals else {
            unreachable!("`new` keeps keys in memory")
        };
        let state = state.lock().unwrap();
        assert!(
            state.keys().all(|key| key.len() <= MAX_KEY_BYTES),
            "{:?}",
            state.keys().map(String::len).collect::<Vec<_>>()
        );
    }

    #[test]
    fn short_keys_are_kept_readable() {
        assert_eq!(bounded_key("ip:203.0.113.7"), "ip:203.0.113.7");
        assert_eq!(
            bounded_key(&"k".repeat(MAX_KEY_BYTES)),
            "k".repeat(MAX_KEY_BYTES)
        );
        assert_eq!(bounded_key(&"k".repeat(MAX_KEY_BYTES + 1)).len(), 33);
    }
}
