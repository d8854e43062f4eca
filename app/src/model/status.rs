//! What the home page shows about the server it is talking to.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The server's crate version.
    pub version: String,
    /// How long the database took to answer, in milliseconds.
    pub database_ms: u64,
    /// When this instance's database was first initialised, in Unix milliseconds.
    pub instance_created_ms: i64,
}
