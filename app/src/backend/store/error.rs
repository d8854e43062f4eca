//! What can go wrong with the store: [`OpenError`] once, at start-up, for the operator;
//! [`StoreError`] on any operation afterwards, for the caller to map to a user-facing error.
//! Neither carries a user-facing text itself: the services decide what a person is told.

use std::path::PathBuf;

/// Why the store could not be opened. Each message says what is wrong and how to fix it,
/// because it is the one line an operator sees before the process exits.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "DATABASE_URL {url:?} is not a valid database URL ({reason}); \
         use sqlite://PATH, for example sqlite://data/sori.db"
    )]
    MalformedUrl { url: String, reason: String },
    #[error(
        "DATABASE_URL {url:?} uses a database this build of Sori does not support; \
         use sqlite://PATH, for example sqlite://data/sori.db"
    )]
    UnsupportedScheme { url: String },
    #[error(
        "cannot create the data directory {}: {source}; \
         fix its permissions or point DATABASE_URL at a writable place",
        path.display()
    )]
    DataDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot open the database {}: {source}; check that the file and its directory \
         are writable by this user",
        path.display()
    )]
    Connect {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot apply the database migrations: {0}; the database may belong to a newer Sori")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A failure of a store operation. Callers map it to a user-facing error; its text goes to
/// the log only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (for example, a username already taken).
    #[error("a record with the same unique key already exists")]
    Conflict,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
