//! Databases of their own for tests that need PostgreSQL: the store's tests here and the
//! server's integration tests (two instances on one database) share this one helper.
//!
//! Each [`ScratchDatabase`] is created on the server named by `SORI_TEST_POSTGRES_URL`
//! (`scripts/with-postgres.sh` starts a throwaway one and sets it) and dropped with all its
//! connections when the value drops. Without the variable it panics with what to run: a
//! suite that skipped itself would hide a broken store. It is compiled into the library only
//! so other crates' tests can reach it; nothing outside tests calls it.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::PgStore;
use crate::backend::store::StoreConfig;

pub const SERVER_VARIABLE: &str = "SORI_TEST_POSTGRES_URL";

/// The server the tests create their databases on. Without one the tests fail, never
/// pass silently: a suite that skips itself would hide a broken store.
fn server_url() -> String {
    std::env::var(SERVER_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{SERVER_VARIABLE} is not set, and this test needs a PostgreSQL server: run \
             the tests under scripts/with-postgres.sh, which starts a throwaway one (as \
             `make unit` does), for example `scripts/with-postgres.sh cargo test -p app \
             -p server -p bench --features app/ssr`"
        )
    })
}

/// `url` with its database (the path) replaced by `database`; the query is kept.
fn with_database(url: &str, database: &str) -> String {
    let authority_start = url.find("://").map_or(0, |at| at + 3);
    let path_start = url[authority_start..]
        .find(['/', '?'])
        .map_or(url.len(), |at| authority_start + at);
    let query = url[path_start..]
        .find('?')
        .map_or("", |at| &url[path_start + at..]);
    format!("{}/{database}{query}", &url[..path_start])
}

/// A database of one test's own on the test server, dropped when this drops.
pub struct ScratchDatabase {
    name: String,
    url: String,
    server: PgConnectOptions,
}

impl ScratchDatabase {
    pub async fn create() -> Self {
        static CREATED: AtomicU64 = AtomicU64::new(0);
        let server_url = server_url();
        let server = PgConnectOptions::from_str(&server_url)
            .unwrap_or_else(|error| panic!("{SERVER_VARIABLE} is not a URL: {error}"));
        // The process id keeps concurrent test binaries apart, the counter the tests of
        // one binary.
        let name = format!(
            "sori_test_{}_{}",
            std::process::id(),
            CREATED.fetch_add(1, Ordering::Relaxed)
        );
        let mut connection = server
            .connect()
            .await
            .unwrap_or_else(|error| panic!("cannot reach {SERVER_VARIABLE}: {error}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .expect("the scratch database is created");
        connection.close().await.ok();
        Self {
            url: with_database(&server_url, &name),
            name,
            server,
        }
    }

    pub fn config(&self) -> StoreConfig {
        StoreConfig {
            database_url: self.url.clone(),
            ..StoreConfig::default()
        }
    }

    pub async fn open(&self) -> PgStore {
        PgStore::open(&self.config())
            .await
            .expect("the store opens")
    }

    /// The database's URL, for a server's `DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs on the test's runtime, which cannot block on a future; a thread with
        // a runtime of its own can. FORCE ends the connections the store still holds.
        let dropped = std::thread::spawn(move || -> Result<(), sqlx::Error> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut connection = server.connect().await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut connection)
                    .await?;
                connection.close().await
            })
        })
        .join();
        // Never panic in drop (it may run while a failed test unwinds); the throwaway
        // server's removal takes whatever is left.
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "scratch database {} was not dropped: {dropped:?}",
                self.name
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_database_url_keeps_the_server_and_its_options() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5433/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5433/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@host/db?sslmode=disable", "t2"),
            "postgres://u:p@host/t2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://host", "t3"), "postgres://host/t3");
    }
}
