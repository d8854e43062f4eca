//! A keyed rate limiter (GCRA: one timestamp per key). A limit of `n` per `window` allows a
//! burst of `n`, then one more every `window / n`. Used for sign-in attempts per client
//! address and per username, and for sign-ups per address.
//!
//! The state is a `std::sync::Mutex` around a map: every operation is a few arithmetic steps
//! and never awaits, so an async mutex would only add cost.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::clock::{Clock, millis};

pub struct RateLimiter {
    /// Time between two requests at the sustained rate, in ms.
    interval_ms: i64,
    /// How far ahead of now a key's theoretical arrival time may run: the burst.
    tolerance_ms: i64,
    clock: Clock,
    /// Key -> theoretical arrival time of its next request (Unix ms).
    state: Mutex<HashMap<String, i64>>,
}

/// Past this many keys, expired ones are swept on the next insert, so memory stays bounded
/// by the number of keys active within one window.
const SWEEP_THRESHOLD: usize = 4_096;

impl RateLimiter {
    /// Allows `limit` requests per `window` for each key. A zero limit means unlimited.
    pub fn new(limit: u32, window: Duration, clock: Clock) -> Self {
        let interval_ms = if limit == 0 {
            0
        } else {
            millis(window) / i64::from(limit)
        };
        Self {
            interval_ms,
            tolerance_ms: millis(window) - interval_ms,
            clock,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request against each key. Either all keys admit it (and are charged) or
    /// none is charged and the answer is how long to wait, in whole seconds (at least 1).
    pub fn check(&self, keys: &[&str]) -> Result<(), u64> {
        if self.interval_ms == 0 {
            return Ok(());
        }
        let now = self.clock.now_ms();
        // A poisoned lock only means another thread panicked mid-update of plain integers;
        // the map is still consistent, so keep using it.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let mut wait_ms = 0;
        for key in keys {
            let arrival = state.get(*key).copied().unwrap_or(now).max(now);
            wait_ms = wait_ms.max(arrival - now - self.tolerance_ms);
        }
        if wait_ms > 0 {
            let seconds = (wait_ms + 999) / 1_000;
            return Err(u64::try_from(seconds).unwrap_or(1).max(1));
        }
        if state.len() >= SWEEP_THRESHOLD {
            state.retain(|_, arrival| *arrival > now);
        }
        for key in keys {
            let arrival = state.get(*key).copied().unwrap_or(now).max(now);
            state.insert((*key).to_owned(), arrival + self.interval_ms);
        }
        Ok(())
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

    #[test]
    fn a_burst_up_to_the_limit_passes_then_the_next_waits() {
        let (limiter, _) = limiter(10);
        for _ in 0..10 {
            assert_eq!(limiter.check(&["ip:1"]), Ok(()));
        }
        assert_eq!(limiter.check(&["ip:1"]), Err(6), "one slot frees every 6 s");
    }

    #[test]
    fn keys_are_independent() {
        let (limiter, _) = limiter(1);
        assert_eq!(limiter.check(&["ip:1"]), Ok(()));
        assert!(limiter.check(&["ip:1"]).is_err());
        assert_eq!(limiter.check(&["ip:2"]), Ok(()));
    }

    #[test]
    fn a_refused_request_charges_no_key() {
        let (limiter, _) = limiter(1);
        assert_eq!(limiter.check(&["user:minji"]), Ok(()));
        // Refused because of the user key: the address key must stay untouched.
        assert!(limiter.check(&["ip:1", "user:minji"]).is_err());
        assert_eq!(limiter.check(&["ip:1"]), Ok(()));
    }

    #[test]
    fn capacity_returns_as_time_passes() {
        let (limiter, clock) = limiter(2);
        assert!(limiter.check(&["k"]).is_ok());
        assert!(limiter.check(&["k"]).is_ok());
        assert_eq!(limiter.check(&["k"]), Err(30));
        clock.advance(Duration::from_secs(30));
        assert!(limiter.check(&["k"]).is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let (limiter, _) = limiter(0);
        for _ in 0..1_000 {
            assert!(limiter.check(&["k"]).is_ok());
        }
    }
}
