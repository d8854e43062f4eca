//! When the socket loop opens the next connection: how a connection ended decides whether
//! there is a next one at all, and the attempt count gives its delay (exponential backoff
//! with jitter, so a restarted server is not hit by every client at once).
//!
//! The loop in `browser` owns one [`Reconnect`] and sleeps for what it says; the randomness
//! of the jitter is passed in, so every delay here is reproducible in a test.

use std::time::Duration;

use crate::protocol::close;

/// The first wait, doubled on each failed attempt.
const FIRST_DELAY_MS: f64 = 500.0;
/// The longest wait between attempts.
const MAX_DELAY_MS: f64 = 30_000.0;
/// The shortest wait after a close for a limit (before jitter of up to a third more).
const REFUSED_FLOOR_MS: f64 = 10_000.0;
/// Doublings stop here: 500 ms × 2⁶ is already past the cap, and the exponent stays small.
const MAX_DOUBLINGS: u32 = 6;

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disconnect {
    /// Closed after the session ended: do not reconnect.
    SessionEnded,
    /// The server is restarting: reconnect soon, as after a connection that worked.
    Restart,
    /// Dropped (or never opened); `was_connected` if the server had said hello, which
    /// starts the backoff over.
    Dropped { was_connected: bool },
    /// Closed for a limit (1008: too many frames or connections): the backoff goes on
    /// growing, and waits at least [`REFUSED_FLOOR_MS`]. Starting over at half a second would
    /// spend on resubscribing whatever of the account's frame budget had refilled, and close
    /// again, for ever.
    Refused,
}

impl Disconnect {
    /// The server closed the socket with `code`.
    pub fn from_close_code(code: u16, was_connected: bool) -> Self {
        match code {
            close::SESSION_ENDED => Disconnect::SessionEnded,
            close::SERVICE_RESTART => Disconnect::Restart,
            close::POLICY => Disconnect::Refused,
            _ => Disconnect::Dropped { was_connected },
        }
    }
}

/// The count of attempts since the last connection that worked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconnect {
    attempt: u32,
    /// The last connection was closed for a limit.
    refused: bool,
}

impl Reconnect {
    /// 0 before the page's first connection, then 1 and up for each attempt after a drop.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// A connection ended: whether to open another (never after the session ended).
    pub fn after(&mut self, disconnect: Disconnect) -> bool {
        self.refused = disconnect == Disconnect::Refused;
        self.attempt = match disconnect {
            Disconnect::SessionEnded => return false,
            Disconnect::Restart
            | Disconnect::Dropped {
                was_connected: true,
            } => 1,
            Disconnect::Dropped {
                was_connected: false,
            }
            | Disconnect::Refused => self.attempt.saturating_add(1),
        };
        true
    }

    /// The wait before the next attempt: 0.5 s doubling up to a 30 s cap, each wait a
    /// random 50–100 % of that. `random` is a draw from `[0, 1)` (`Math.random`).
    pub fn delay(&self, random: f64) -> Duration {
        let doublings = self.attempt.saturating_sub(1).min(MAX_DOUBLINGS);
        let base_ms = FIRST_DELAY_MS * 2f64.powi(doublings as i32);
        let capped = base_ms.min(MAX_DELAY_MS);
        let jitter = 0.5 + random / 2.0;
        let mut wait_ms = capped * jitter;
        if self.refused {
            wait_ms = wait_ms.max(REFUSED_FLOOR_MS * (1.0 + random / 3.0));
        }
        Duration::from_millis(wait_ms as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(disconnects: &[Disconnect]) -> Reconnect {
        let mut reconnect = Reconnect::default();
        for disconnect in disconnects {
            assert!(reconnect.after(*disconnect));
        }
        reconnect
    }

    const NEVER_OPENED: Disconnect = Disconnect::Dropped {
        was_connected: false,
    };

    #[test]
    fn close_codes_name_the_session_end_and_the_restart() {
        assert_eq!(
            Disconnect::from_close_code(close::SESSION_ENDED, true),
            Disconnect::SessionEnded
        );
        assert_eq!(
            Disconnect::from_close_code(close::SERVICE_RESTART, false),
            Disconnect::Restart
        );
        assert_eq!(
            Disconnect::from_close_code(close::TOO_SLOW, true),
            Disconnect::Dropped {
                was_connected: true
            }
        );
    }

    #[test]
    fn an_ended_session_is_never_reconnected() {
        let mut reconnect = after(&[NEVER_OPENED]);
        assert!(!reconnect.after(Disconnect::SessionEnded));
    }

    #[test]
    fn failed_attempts_count_up_and_a_working_connection_starts_over() {
        assert_eq!(after(&[NEVER_OPENED; 3]).attempt(), 3);
        let worked = Disconnect::Dropped {
            was_connected: true,
        };
        assert_eq!(after(&[NEVER_OPENED, NEVER_OPENED, worked]).attempt(), 1);
        assert_eq!(
            after(&[NEVER_OPENED, NEVER_OPENED, Disconnect::Restart]).attempt(),
            1
        );
    }

    #[test]
    fn the_delay_doubles_from_half_a_second_up_to_thirty() {
        let full = |attempts: usize| after(&vec![NEVER_OPENED; attempts]).delay(1.0);
        assert_eq!(full(1), Duration::from_millis(500));
        assert_eq!(full(2), Duration::from_millis(1_000));
        assert_eq!(full(6), Duration::from_millis(16_000));
        assert_eq!(full(7), Duration::from_millis(30_000), "capped");
        assert_eq!(full(50), Duration::from_millis(30_000));
    }

    #[test]
    fn a_close_for_a_limit_keeps_the_backoff_growing_and_waits_ten_seconds_at_least() {
        assert_eq!(
            Disconnect::from_close_code(close::POLICY, true),
            Disconnect::Refused
        );
        let worked = Disconnect::Dropped {
            was_connected: true,
        };
        let refused = after(&[worked, Disconnect::Refused, Disconnect::Refused]);
        assert_eq!(refused.attempt(), 3, "a refusal does not start over");
        assert_eq!(refused.delay(0.0), Duration::from_millis(10_000));
        assert!(refused.delay(0.99) < Duration::from_millis(13_400));
        let long_refused = after(&[Disconnect::Refused; 8]);
        assert_eq!(long_refused.delay(1.0), Duration::from_millis(30_000));
        // Once a connection works again, the floor is gone.
        assert_eq!(
            after(&[Disconnect::Refused, worked]).delay(1.0),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn jitter_waits_between_half_and_all_of_the_delay() {
        let reconnect = after(&[NEVER_OPENED; 2]);
        assert_eq!(reconnect.delay(0.0), Duration::from_millis(500));
        assert_eq!(reconnect.delay(0.5), Duration::from_millis(750));
    }
}
