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
    use super::without_password;

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
