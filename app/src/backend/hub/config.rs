//! The hub's settings: what the operator sets (part of the server's one configuration
//! struct) and the limits and timings the hub is built with.

use std::time::Duration;

use crate::backend::presence::PresenceTimings;

/// Socket and fan-out settings; part of the server's one configuration struct.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct RealtimeConfig {
    /// How often the server pings each socket, in milliseconds. A peer that misses two
    /// pongs is dropped. Keep it well below the idle timeout of proxies (often 60 s).
    #[arg(long, env = "SORI_HEARTBEAT_MS", default_value_t = Self::default().heartbeat_ms)]
    pub heartbeat_ms: u64,

    /// Frames a socket may have waiting; a socket further behind is closed with 4001.
    #[arg(long, env = "SORI_OUTBOUND_QUEUE", default_value_t = Self::default().outbound_queue)]
    pub outbound_queue: usize,

    /// The largest frame accepted from a browser, in bytes; larger ones close with 1009.
    #[arg(long, env = "SORI_MAX_FRAME_BYTES", default_value_t = Self::default().max_frame_bytes)]
    pub max_frame_bytes: usize,

    /// Open sockets per user; more are closed with 1008.
    #[arg(long, env = "SORI_CONNECTIONS_PER_USER", default_value_t = Self::default().connections_per_user)]
    pub connections_per_user: usize,

    /// Room subscriptions per socket; more close the socket with 1008.
    #[arg(long, env = "SORI_SUBSCRIPTIONS_PER_CONNECTION", default_value_t = Self::default().subscriptions_per_connection)]
    pub subscriptions_per_connection: usize,

    /// Malformed frames tolerated per socket before it is closed with 1008.
    #[arg(long, env = "SORI_MALFORMED_FRAME_LIMIT", default_value_t = Self::default().malformed_frame_limit)]
    pub malformed_frame_limit: u32,

    /// How long one write to a socket may take before the peer is given up on, in ms.
    #[arg(long, env = "SORI_WRITE_TIMEOUT_MS", default_value_t = Self::default().write_timeout_ms)]
    pub write_timeout_ms: u64,

    /// How long after someone's last socket leaves a room they are announced as left, in
    /// ms; a reload or a brief network drop within it does not flap.
    #[arg(long, env = "SORI_PRESENCE_GRACE_MS", default_value_t = Self::default().presence_grace_ms)]
    pub presence_grace_ms: u64,

    /// How long "is typing…" lasts after the last typing signal, in ms.
    #[arg(long, env = "SORI_TYPING_TTL_MS", default_value_t = Self::default().typing_ttl_ms)]
    pub typing_ttl_ms: u64,

    /// Frames per second one user's sockets may send together in the long run; a socket
    /// that finds the budget spent is closed with 1008 (0: no limit). The budget outlives
    /// the sockets, so reconnecting does not refill it.
    #[arg(long, env = "SORI_FRAMES_PER_SECOND", default_value_t = Self::default().frames_per_second)]
    pub frames_per_second: u32,

    /// Frames one user's sockets may send at once before the rate applies: enough for three
    /// tabs opening together, each subscribing to and fetching in 100 rooms.
    #[arg(long, env = "SORI_FRAME_BURST", default_value_t = Self::default().frame_burst)]
    pub frame_burst: u32,
}

impl RealtimeConfig {
    /// How long after someone's last socket leaves a room they are announced as left.
    pub fn presence_grace(&self) -> Duration {
        Duration::from_millis(self.presence_grace_ms)
    }
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            heartbeat_ms: 20_000,
            outbound_queue: 512,
            max_frame_bytes: 64 * 1024,
            connections_per_user: 20,
            subscriptions_per_connection: 100,
            malformed_frame_limit: 5,
            write_timeout_ms: 10_000,
            presence_grace_ms: 5_000,
            typing_ttl_ms: 5_000,
            frames_per_second: 20,
            frame_burst: 600,
        }
    }
}

/// Limits the hub enforces, and its presence timings.
#[derive(Debug, Clone, Copy)]
pub struct HubLimits {
    pub queue_capacity: usize,
    pub connections_per_user: usize,
    pub subscriptions_per_connection: usize,
    pub presence: PresenceTimings,
}

impl From<&RealtimeConfig> for HubLimits {
    fn from(config: &RealtimeConfig) -> Self {
        Self {
            queue_capacity: config.outbound_queue,
            connections_per_user: config.connections_per_user,
            subscriptions_per_connection: config.subscriptions_per_connection,
            presence: PresenceTimings {
                leave_grace: config.presence_grace(),
                typing_ttl: Duration::from_millis(config.typing_ttl_ms),
            },
        }
    }
}
