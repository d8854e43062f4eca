//! How many frames one user's sockets may send: a token bucket, refilled at a steady rate up
//! to a burst. Every frame costs a token, well-formed or not; a socket that finds the bucket
//! empty is closed with [`app::protocol::close::Reason::TOO_MANY_FRAMES`].
//!
//! The bucket belongs to the user, not to the socket ([`FrameBudgets`]): all their sockets
//! draw from it, and it outlives them until it has refilled. A bucket per socket would be
//! refilled by reconnecting, so a client closed for flooding could go on flooding at one
//! burst per reconnect.
//!
//! Each frame can cost the server a database read (a `Fetch`, a `Subscribe` with replay), so
//! without a budget one socket sending as fast as it can would take a pool connection and a
//! core from everyone else. A browser stays far below it: on opening, it subscribes once per
//! room (up to `SORI_SUBSCRIPTIONS_PER_CONNECTION`, 100) and may fetch a gap in each, which the
//! burst covers; afterwards it sends a typing signal every few seconds at most.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use app::model::UserId;
use tokio::time::Instant;

/// The buckets of users with a socket open, or with one closed too recently for their bucket
/// to be full again. Cheap to clone: the clones share the buckets.
#[derive(Debug, Clone)]
pub struct FrameBudgets {
    per_second: u32,
    burst: u32,
    ledger: Arc<Mutex<Ledger>>,
}

#[derive(Debug, Default)]
struct Ledger {
    by_user: HashMap<UserId, SharedBudget>,
    /// How many buckets were left after the last sweep: the next sweep waits until there are
    /// twice as many, so sweeping costs O(1) per socket opened, amortised.
    after_sweep: usize,
}

/// One user's bucket, shared by their sockets.
pub type SharedBudget = Arc<Mutex<FrameBudget>>;

impl FrameBudgets {
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second,
            burst,
            ledger: Arc::default(),
        }
    }

    /// The bucket `user`'s sockets draw from: the one their open sockets hold or their last
    /// socket left (refilled since), or a full one.
    pub fn of(&self, user: UserId, now: Instant) -> SharedBudget {
        // A panic while holding the lock cannot leave a bucket half updated in a way that
        // matters (the worst is one frame counted or not), so a poisoned lock is used as is.
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        if ledger.by_user.len() >= (2 * ledger.after_sweep).max(64) {
            ledger.by_user.retain(|_, budget| {
                let held = Arc::strong_count(budget) > 1;
                held || !budget
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .is_full(now)
            });
            ledger.after_sweep = ledger.by_user.len();
        }
        let (per_second, burst) = (self.per_second, self.burst);
        ledger
            .by_user
            .entry(user)
            .or_insert_with(|| Arc::new(Mutex::new(FrameBudget::new(per_second, burst, now))))
            .clone()
    }

    /// How many users' buckets are kept.
    #[cfg(test)]
    fn kept(&self) -> usize {
        self.ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_user
            .len()
    }
}

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
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket holds its whole burst again at `now`: then forgetting it changes
    /// nothing, since a new one starts full.
    fn is_full(&mut self, now: Instant) -> bool {
        self.per_second == 0.0 || {
            self.refill(now);
            self.tokens >= self.burst
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.refilled = now;
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
    fn a_users_sockets_share_one_bucket_and_a_new_socket_does_not_refill_it() {
        let start = Instant::now();
        let budgets = FrameBudgets::new(1, 5);
        let first = budgets.of(UserId(1), start);
        assert!((0..5).all(|_| first.lock().unwrap().take(start)));
        // A second tab, and a socket opened after the first one closed, find it empty.
        let second = budgets.of(UserId(1), start);
        assert!(!second.lock().unwrap().take(start));
        drop((first, second));
        let reconnected = budgets.of(UserId(1), start);
        assert!(!reconnected.lock().unwrap().take(start));
        // Someone else's bucket is their own.
        assert!(budgets.of(UserId(2), start).lock().unwrap().take(start));
    }

    #[test]
    fn buckets_nobody_holds_are_forgotten_once_full_again() {
        let start = Instant::now();
        let budgets = FrameBudgets::new(10, 5);
        let held = budgets.of(UserId(0), start);
        // 64 buckets in all: the next opening sweeps.
        for user in 1..=63 {
            let budget = budgets.of(UserId(user), start);
            assert!(budget.lock().unwrap().take(start));
        }
        // Half a second refills the five tokens: the sweep at the next opening finds every
        // released bucket full and keeps only the held one (and the newcomer).
        let later = start + Duration::from_millis(500);
        budgets.of(UserId(1_000), later);
        assert_eq!(budgets.kept(), 2);
        drop(held);
    }

    #[test]
    fn a_zero_rate_allows_everything() {
        let now = Instant::now();
        let mut budget = FrameBudget::new(0, 0, now);
        assert!((0..1_000).all(|_| budget.take(now)));
    }
}
