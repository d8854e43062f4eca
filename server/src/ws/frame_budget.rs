//! How many frames one socket may send: a token bucket, refilled at a steady rate up to a
//! burst. Every frame costs a token, well-formed or not; a socket out of tokens is closed
//! with [`app::protocol::close::Reason::TOO_MANY_FRAMES`].
//!
//! Each frame can cost the server a database read (a `Fetch`, a `Subscribe` with replay), so
//! without a budget one socket sending as fast as it can would take a pool connection and a
//! core from everyone else. A browser stays far below it: on opening, it subscribes once per
//! room (up to `SORI_SUBSCRIPTIONS_PER_CONNECTION`, 100) and may fetch a gap in each, which the
//! burst covers; afterwards it sends a typing signal every few seconds at most.

use tokio::time::Instant;

#[derive(Debug)]
pub struct FrameBudget {
    tokens: f64,
    burst: f64,
    per_second: f64,
    refilled: Instant,
}

impl FrameBudget {
    /// A full bucket of `burst`, refilled with `per_second`. A zero rate turns the budget
    /// off (every frame is allowed).
    pub fn new(per_second: u32, burst: u32, now: Instant) -> Self {
        Self {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            per_second: f64::from(per_second),
            refilled: now,
        }
    }

    /// Spends a token for a frame received at `now`; false when none is left.
    pub fn take(&mut self, now: Instant) -> bool {
        if self.per_second == 0.0 {
            return true;
        }
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut budget = FrameBudget::new(10, 5, start);
        assert!((0..5).all(|_| budget.take(start)), "the burst");
        assert!(!budget.take(start), "one past the burst");
        // A tenth of a second refills one frame at 10 per second, no more.
        let later = start + Duration::from_millis(100);
        assert!(budget.take(later));
        assert!(!budget.take(later));
        // However long the pause, the bucket holds only the burst.
        let much_later = later + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| budget.take(much_later)).count(), 5);
    }

    #[test]
    fn a_zero_rate_allows_everything() {
        let now = Instant::now();
        let mut budget = FrameBudget::new(0, 0, now);
        assert!((0..1_000).all(|_| budget.take(now)));
    }
}
