//! The server's one configuration struct, read from flags and the environment (`sori --help`
//! lists everything). Flags override the environment, and Sori's own variables override the
//! `LEPTOS_*` ones that `cargo leptos watch` sets, so the binary behaves the same inside and
//! outside the build tool. Every limit a later feature adds becomes a field here, so tests and
//! benchmarks can set it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use app::backend::BackendConfig;
use app::backend::auth::AuthConfig;
use app::backend::bus::BusConfig;
use app::backend::hub::RealtimeConfig;
use app::backend::messages::MessagesConfig;
use app::backend::rooms::RoomsConfig;
use app::backend::store::StoreConfig;
use clap::Parser;

const DEFAULT_ADDR: &str = "127.0.0.1:3000";
const DEFAULT_SITE_ROOT: &str = "target/site";

#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(name = "sori", version, about = "Sori: real-time room chat.")]
pub struct Config {
    /// Address to listen on [default: 127.0.0.1:3000, or LEPTOS_SITE_ADDR]. Port 0 picks a
    /// free port.
    #[arg(long, env = "SORI_ADDR")]
    pub addr: Option<SocketAddr>,

    /// The origin browsers use to reach Sori, e.g. https://chat.example.org
    /// [default: http:// followed by the bound address].
    #[arg(long, env = "SORI_PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,

    /// The directory holding the built site (the `pkg/` bundle and static assets)
    /// [default: target/site, or LEPTOS_SITE_ROOT].
    #[arg(long, env = "SORI_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// Log filter, in tracing's EnvFilter syntax.
    #[arg(long = "log", env = "RUST_LOG", default_value_t = Self::default().log_filter)]
    pub log_filter: String,

    /// How long shutdown waits for open requests to finish, in milliseconds.
    #[arg(long, env = "SORI_SHUTDOWN_GRACE_MS", default_value_t = Self::default().shutdown_grace_ms)]
    pub shutdown_grace_ms: u64,

    #[command(flatten)]
    pub store: StoreConfig,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub rooms: RoomsConfig,

    #[command(flatten)]
    pub messages: MessagesConfig,

    #[command(flatten)]
    pub realtime: RealtimeConfig,

    /// How instances sharing a PostgreSQL database tell each other about changes.
    #[command(flatten)]
    pub bus: BusConfig,

    /// The bounds of the diagnostic socket `/ws/probe`.
    #[command(flatten)]
    pub probe: ProbeConfig,

    /// The bounds of HTTP itself: body sizes, slow clients, open connections.
    #[command(flatten)]
    pub http: HttpConfig,
}

/// The bounds every HTTP request and connection is held to, whatever its endpoint, so a
/// client can exhaust neither memory (huge bodies) nor connections (slowloris).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct HttpConfig {
    /// The largest request body accepted, in bytes; larger ones get 413 (endpoints that need
    /// more have their own limit).
    #[arg(long = "max-body-bytes", env = "SORI_MAX_BODY_BYTES", default_value_t = Self::default().max_body_bytes)]
    pub max_body_bytes: usize,

    /// How long a client may take to send a request's headers, in milliseconds, counted from
    /// when the server starts waiting for them (an idle kept-alive connection is waiting too):
    /// slower connections are closed.
    #[arg(long = "header-read-timeout-ms", env = "SORI_HEADER_READ_TIMEOUT_MS", default_value_t = Self::default().header_read_timeout_ms)]
    pub header_read_timeout_ms: u64,

    /// How long one request may take from its headers to its answer (body included), in
    /// milliseconds; slower ones get 408. A WebSocket is not held to it once upgraded.
    #[arg(long = "request-timeout-ms", env = "SORI_REQUEST_TIMEOUT_MS", default_value_t = Self::default().request_timeout_ms)]
    pub request_timeout_ms: u64,

    /// Connections open at once, WebSockets included; more are closed as they arrive.
    #[arg(long = "max-connections", env = "SORI_MAX_CONNECTIONS", default_value_t = Self::default().max_connections)]
    pub max_connections: usize,

    /// HTTP connections one TCP peer address may hold open at once (upgraded WebSockets are
    /// not counted: they have their own limits); a trusted proxy is not held to it.
    #[arg(long = "max-connections-per-address", env = "SORI_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = Self::default().max_connections_per_address)]
    pub max_connections_per_address: usize,
}

impl Default for HttpConfig {
    /// 64 KiB bodies; 10 s for headers and 30 s per request; 10,000 connections, 256 HTTP
    /// connections per address (why these: the README's "HTTP limits").
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_connections: 10_000,
            max_connections_per_address: 256,
        }
    }
}

impl HttpConfig {
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// The bounds of `/ws/probe` (the socket of `sori doctor` and `/doctor`), which anyone may
/// open without an account.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ProbeConfig {
    /// How long one probe socket may stay open, in milliseconds (enough for two 75 s idle
    /// checks).
    #[arg(long = "probe-lifetime-ms", env = "SORI_PROBE_LIFETIME_MS", default_value_t = Self::default().lifetime_ms)]
    pub lifetime_ms: u64,

    /// Probe sockets one client address may open at once before it must wait (0: no limit).
    #[arg(long = "probe-burst", env = "SORI_PROBE_BURST", default_value_t = Self::default().burst)]
    pub burst: u32,

    /// After the burst, one more probe socket per address every this many milliseconds.
    #[arg(long = "probe-interval-ms", env = "SORI_PROBE_INTERVAL_MS", default_value_t = Self::default().interval_ms)]
    pub interval_ms: u64,
}

impl Default for ProbeConfig {
    /// A burst of 12 (the doctor opens several), then 30 per 10 minutes.
    fn default() -> Self {
        Self {
            lifetime_ms: 200_000,
            burst: 12,
            interval_ms: 20_000,
        }
    }
}

/// Every default is written here once: the flags' defaults (`sori --help`) are read from it.
/// (The address and the site root have none here: they fall back to `cargo leptos`'s
/// variables first, see [`Config::listen_addr`] and [`Config::site_root`].)
impl Default for Config {
    fn default() -> Self {
        Self {
            addr: None,
            public_origin: None,
            site_root: None,
            log_filter: "info,sqlx=warn".into(),
            shutdown_grace_ms: 10_000,
            store: StoreConfig::default(),
            auth: AuthConfig::default(),
            rooms: RoomsConfig::default(),
            messages: MessagesConfig::default(),
            realtime: RealtimeConfig::default(),
            bus: BusConfig::default(),
            probe: ProbeConfig::default(),
            http: HttpConfig::default(),
        }
    }
}

impl Config {
    /// A configuration for tests and benchmarks: a free loopback port and the given database.
    pub fn for_tests(database: &std::path::Path) -> Self {
        Self {
            addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            log_filter: "warn".into(),
            shutdown_grace_ms: 2_000,
            store: StoreConfig::sqlite_file(database),
            ..Self::default()
        }
    }

    /// The address to bind: the flag or `SORI_ADDR`, else `LEPTOS_SITE_ADDR`, else the default.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        if let Some(addr) = self.addr {
            return Ok(addr);
        }
        let from_leptos = std::env::var("LEPTOS_SITE_ADDR").ok();
        let text = from_leptos.as_deref().unwrap_or(DEFAULT_ADDR);
        text.parse().map_err(|_| ConfigError::Addr(text.into()))
    }

    pub fn site_root(&self) -> PathBuf {
        self.site_root
            .clone()
            .or_else(|| std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SITE_ROOT))
    }

    /// The public origin, normalised to `scheme://host[:port]` with no trailing slash.
    pub fn public_origin(&self, bound: SocketAddr) -> Result<String, ConfigError> {
        match &self.public_origin {
            None => Ok(format!("http://{bound}")),
            Some(origin) => normalise_origin(origin),
        }
    }

    /// The settings of the backend services.
    pub fn backend(&self) -> BackendConfig {
        BackendConfig {
            auth: self.auth.clone(),
            rooms: self.rooms.clone(),
            messages: self.messages.clone(),
            realtime: self.realtime.clone(),
        }
    }

    /// Whether the store is shared with other instances (PostgreSQL), so the bus runs.
    pub fn shares_the_store(&self) -> bool {
        let url = self.store.database_url.trim();
        url.starts_with("postgres:") || url.starts_with("postgresql:")
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("LEPTOS_SITE_ADDR {0:?} is not an address like 127.0.0.1:3000; set SORI_ADDR instead")]
    Addr(String),
    #[error(
        "SORI_PUBLIC_ORIGIN {0:?} is not an origin; use scheme://host[:port] with no path, \
         for example https://chat.example.org"
    )]
    Origin(String),
}

fn normalise_origin(origin: &str) -> Result<String, ConfigError> {
    let trimmed = origin.trim().trim_end_matches('/');
    let invalid = || ConfigError::Origin(origin.into());
    let (scheme, rest) = trimmed.split_once("://").ok_or_else(invalid)?;
    let scheme_ok = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    let host_ok = !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' '])
        && rest.parse::<http::uri::Authority>().is_ok();
    if !scheme_ok || !host_ok {
        return Err(invalid());
    }
    Ok(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        rest.to_ascii_lowercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        Config::try_parse_from(std::iter::once("sori").chain(args.iter().copied())).unwrap()
    }

    /// Parses `args` as if no variable were set: the test must not depend on the environment
    /// it runs in (a developer's `RUST_LOG`, a CI's `DATABASE_URL`).
    fn parse_without_environment(args: &[&str]) -> Config {
        use clap::{CommandFactory, FromArgMatches};
        let command = Config::command().mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from(std::iter::once("sori").chain(args.iter().copied()))
            .unwrap();
        Config::from_arg_matches(&matches).unwrap()
    }

    #[test]
    fn the_defaults_are_what_parsing_no_arguments_gives() {
        assert_eq!(parse_without_environment(&[]), Config::default());
    }

    #[test]
    fn the_http_defaults_cut_a_slowloris_within_a_minute_and_keep_room_for_honest_requests() {
        // Issue #15: with the defaults, 100 connections from one address trickling their
        // headers are all cut within 60 s, while a normal request from that address is still
        // let in (`server/tests/api/slow_clients.rs` checks the behaviour with short timeouts).
        let http = parse_without_environment(&[]).http;
        assert_eq!(http.max_body_bytes, 65_536);
        assert!(http.header_read_timeout() <= Duration::from_secs(60));
        assert!(http.max_connections_per_address > 100 + 1);
        assert!(
            http.max_connections > 3_000,
            "make smoke's fan-out needs its sockets"
        );
        assert!(http.request_timeout() > http.header_read_timeout());
        let set = parse_without_environment(&["--max-body-bytes", "10", "--max-connections", "5"]);
        assert_eq!((set.http.max_body_bytes, set.http.max_connections), (10, 5));
    }

    #[test]
    fn a_flag_still_overrides_its_default() {
        let config =
            parse_without_environment(&["--heartbeat-ms", "7", "--durability", "power-loss"]);
        assert_eq!(config.realtime.heartbeat_ms, 7);
        assert_ne!(config, Config::default());
    }

    #[test]
    fn a_flag_sets_the_listen_address() {
        let config = parse(&["--addr", "127.0.0.1:4000"]);
        assert_eq!(
            config.listen_addr().unwrap(),
            "127.0.0.1:4000".parse().unwrap()
        );
    }

    #[test]
    fn the_public_origin_defaults_to_the_bound_address() {
        let config = parse(&[]);
        let bound = "127.0.0.1:4321".parse().unwrap();
        assert_eq!(
            config.public_origin(bound).unwrap(),
            "http://127.0.0.1:4321"
        );
    }

    #[test]
    fn a_public_origin_is_normalised() {
        let config = parse(&["--public-origin", "HTTPS://Chat.Example.org/"]);
        let bound = "127.0.0.1:1".parse().unwrap();
        assert_eq!(
            config.public_origin(bound).unwrap(),
            "https://chat.example.org"
        );
    }

    #[test]
    fn a_public_origin_with_a_path_is_refused() {
        for bad in [
            "chat.example.org",
            "ftp://x.org",
            "https://x.org/chat",
            "https://",
        ] {
            let config = parse(&["--public-origin", bad]);
            let bound = "127.0.0.1:1".parse().unwrap();
            assert!(config.public_origin(bound).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn durability_is_a_named_choice() {
        use app::backend::store::Durability;
        assert_eq!(parse(&[]).store.durability, Durability::Process);
        let config = parse(&["--durability", "power-loss"]);
        assert_eq!(config.store.durability, Durability::PowerLoss);
        assert!(Config::try_parse_from(["sori", "--durability", "maybe"]).is_err());
    }
}
