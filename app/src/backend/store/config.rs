//! How the store is configured: where the data lives and what a commit must survive. It is
//! flattened into the server's one configuration struct, so every setting is a flag and an
//! environment variable. It says nothing about which backend reads it; [`super::open`]
//! chooses that from the URL's scheme.

use std::time::Duration;

/// How hard a commit tries to reach the disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// A committed write survives the process being killed (WAL with `synchronous=NORMAL`).
    Process,
    /// A committed write also survives power loss (`synchronous=FULL`), at some cost per commit.
    PowerLoss,
}

/// Everything needed to open the store. It is part of the server's one configuration struct.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct StoreConfig {
    /// Where the data lives. `sqlite://PATH` (relative paths are from the working directory).
    #[arg(long, env = "DATABASE_URL", default_value_t = Self::default().database_url)]
    pub database_url: String,

    /// What a committed write must survive: `process` (a kill) or `power-loss`.
    #[arg(long, env = "SORI_DURABILITY", value_enum, default_value_t = Self::default().durability)]
    pub durability: Durability,

    /// How long a write waits for a lock held by another connection, in milliseconds.
    #[arg(long, env = "SORI_DB_BUSY_TIMEOUT_MS", default_value_t = Self::default().db_busy_timeout_ms)]
    pub db_busy_timeout_ms: u64,

    /// Connections in the database pool.
    #[arg(long, env = "SORI_DB_MAX_CONNECTIONS", default_value_t = Self::default().db_max_connections)]
    pub db_max_connections: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/sori.db".into(),
            durability: Durability::Process,
            db_busy_timeout_ms: 5_000,
            db_max_connections: 8,
        }
    }
}

impl StoreConfig {
    /// A configuration for a database file at `path`, with every other setting at its default.
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        Self {
            database_url: format!("sqlite://{}", path.display()),
            ..Self::default()
        }
    }

    pub fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.db_busy_timeout_ms)
    }
}
