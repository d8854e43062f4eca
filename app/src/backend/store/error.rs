//! What can go wrong with the store: [`OpenError`] once, at start-up, for the operator;
//! [`StoreError`] on any operation afterwards, for the caller to map to a user-facing error.
//! Neither carries a user-facing text itself: the services decide what a person is told.

use std::path::PathBuf;

/// Why the store could not be opened. Each message says what is wrong and how to fix it,
/// because it is the one line an operator sees before the process exits.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// `url` never holds a password: see [`without_password`].
    #[error(
        "DATABASE_URL {url:?} is not a valid database URL ({reason}); use sqlite://PATH \
         (for example sqlite://data/sori.db) or postgres://USER[:PASSWORD]@HOST:PORT/DB"
    )]
    MalformedUrl { url: String, reason: String },
    /// `url` never holds a password: see [`without_password`].
    #[error(
        "DATABASE_URL {url:?} names a database Sori does not support; use sqlite://PATH \
         (for example sqlite://data/sori.db) or postgres://USER[:PASSWORD]@HOST:PORT/DB"
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
    /// `server` is host, port, database and user: never the password.
    #[error(
        "cannot connect to the PostgreSQL server at {server}: {source}; check that it is \
         running and reachable, and the user, password and database in DATABASE_URL"
    )]
    ConnectServer {
        server: String,
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

impl StoreError {
    /// Whether the database could not be reached, rather than the operation failed in it:
    /// the connection was lost or refused, the server is shutting down, restarting or
    /// crashed, or no pooled connection came free in time. Such a failure says nothing
    /// about the request, and the same request may well succeed a moment later, so callers
    /// answer it as "unavailable" (a 503 that clients retry), not as an internal error.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Conflict => false,
            StoreError::Database(error) => match error {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(database) => database
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some_and(|error| is_unavailable_sqlstate(error.code())),
                _ => false,
            },
        }
    }
}

/// PostgreSQL's codes for a server that cannot serve the session: class 08 (connection
/// exception), 57P01 to 57P03 (`admin_shutdown`, `crash_shutdown`, `cannot_connect_now`:
/// the server stops, crashed, or is starting) and 53300 (`too_many_connections`).
fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// The URL as an operator may see it in a log: a password between `user:` and `@` becomes
/// `***`. Anything else is kept, so the operator can still tell which URL was wrong.
pub(super) fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.into();
    };
    // The authority ends where the path, query or fragment starts; the user information is
    // what precedes its last '@'.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.into();
    };
    match user_info.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::{StoreError, is_unavailable_sqlstate, without_password};

    #[test]
    fn a_database_out_of_reach_is_unavailable_and_a_failing_operation_is_not() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for unreachable in [
            sqlx::Error::Io(refused),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
        ] {
            assert!(StoreError::Database(unreachable).is_unavailable());
        }
        for failed in [
            sqlx::Error::RowNotFound,
            sqlx::Error::Protocol("unexpected message".into()),
        ] {
            assert!(!StoreError::Database(failed).is_unavailable());
        }
        assert!(!StoreError::Conflict.is_unavailable());
    }

    #[test]
    fn a_server_shutting_down_restarting_or_full_is_unavailable_by_its_sqlstate() {
        for code in ["08006", "08003", "57P01", "57P02", "57P03", "53300"] {
            assert!(is_unavailable_sqlstate(code), "{code}");
        }
        // A cancelled statement, a lock not granted in time, a broken rule: the request's.
        for code in ["57014", "55P03", "23505", "40001", "42P01"] {
            assert!(!is_unavailable_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn a_password_in_a_url_is_masked_and_everything_else_kept() {
        assert_eq!(
            without_password("postgres://sori:s3cret@db.example:5432/chat?sslmode=disable"),
            "postgres://sori:***@db.example:5432/chat?sslmode=disable"
        );
        assert_eq!(
            without_password("postgresql://sori:p@ss@db/chat"),
            "postgresql://sori:***@db/chat",
            "up to the last '@' of the authority"
        );
    }

    #[test]
    fn a_url_without_a_password_is_kept_as_it_is() {
        for url in [
            "postgres://sori@db:5432/chat",
            "postgres://db/chat",
            "sqlite://data/sori.db",
            "sqlite://data/user@home:x.db",
            "mysql//nope",
            "",
        ] {
            assert_eq!(without_password(url), url);
        }
    }
}
