//! The embedded SQLite store, Sori's default.
//!
//! The pool runs in WAL mode, so readers never block the writer, with foreign keys enforced
//! and a busy timeout so that concurrent writers wait instead of failing. Migrations are
//! embedded in the binary and applied when the store opens.
//!
//! This file opens the pool and answers for the instance as a whole; each aggregate's
//! queries and row mappers live in their own file (`accounts`, `rooms`, `messages`), which
//! share only the pool and the conversions below. The schema is in `app/migrations/sqlite/`, not
//! here.

mod accounts;
mod mentions;
mod messages;
mod reactions;
mod rooms;
mod search;

use std::str::FromStr;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{Durability, Instance, OpenError, Store, StoreConfig, StoreError};

/// `seq` values are stored as SQLite integers (i64); they never approach 2^63.
fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Turns a violated uniqueness rule into [`StoreError::Conflict`], so callers can tell the
/// user rather than report an internal error.
fn conflict_or(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(error),
    }
}

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite [`Store`]: a pool of connections to one database file. Its aggregate traits
/// are implemented in `accounts`, `rooms` and `messages`.
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(config: &StoreConfig) -> Result<Self, OpenError> {
        let url = config.database_url.trim();
        let options =
            SqliteConnectOptions::from_str(url).map_err(|error| OpenError::MalformedUrl {
                url: url.into(),
                reason: error.to_string(),
            })?;
        let synchronous = match config.durability {
            Durability::Process => SqliteSynchronous::Normal,
            Durability::PowerLoss => SqliteSynchronous::Full,
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            .busy_timeout(config.busy_timeout())
            // Each pooled connection has its own page cache, which every commit by another
            // one invalidates; reading the file through a shared mapping instead of read()
            // calls made that re-reading cheap (profiled in bench/RESULTS.md: posts).
            .pragma("mmap_size", "268435456");

        let path = options.get_filename().to_path_buf();
        let in_memory = path.as_os_str().is_empty() || path.as_os_str() == ":memory:";
        let directory = path
            .parent()
            .filter(|p| !in_memory && !p.as_os_str().is_empty());
        if let Some(directory) = directory {
            std::fs::create_dir_all(directory).map_err(|source| OpenError::DataDirectory {
                path: directory.to_path_buf(),
                source,
            })?;
        }

        let pool = SqlitePoolOptions::new()
            .max_connections(config.db_max_connections.max(1))
            // A connection to a local file does not go stale; the default ping before every
            // acquire was an extra round trip to the connection's thread per query (6 % of
            // rendering the home page).
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|source| OpenError::Connect { path, source })?;
        MIGRATIONS.run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn instance(&self) -> Result<Instance, StoreError> {
        let (created_ms, database_id): (i64, String) =
            sqlx::query_as("SELECT created_at, database_id FROM instance WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(Instance {
            created_ms,
            database_id,
        })
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::store::{
        AccountStore, Change, MessageStore, NewMessage, NewRoom, NewUser, RoomStore, SearchStore,
    };
    use crate::model::{RoomId, UserId, Visibility};
    use crate::protocol::{ClientId, MessageId};

    async fn open_in(dir: &tempfile::TempDir) -> SqliteStore {
        let config = StoreConfig::sqlite_file(&dir.path().join("nested/data/sori.db"));
        SqliteStore::open(&config).await.expect("the store opens")
    }

    /// A store in a directory of its own, removed when the test ends.
    struct ScratchStore {
        store: SqliteStore,
        _dir: tempfile::TempDir,
    }

    impl std::ops::Deref for ScratchStore {
        type Target = dyn Store;

        fn deref(&self) -> &Self::Target {
            &self.store
        }
    }

    async fn scratch_store() -> ScratchStore {
        let dir = tempfile::tempdir().unwrap();
        ScratchStore {
            store: open_in(&dir).await,
            _dir: dir,
        }
    }

    /// Every `Store` contract, run against SQLite.
    mod conformance {
        crate::backend::store::conformance::store_conformance!(super::scratch_store);
    }

    #[tokio::test]
    async fn invitation_links_made_before_hashing_are_dropped_by_the_migration() {
        use sqlx::{Connection, SqliteConnection};
        let mut connection = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        let (before, after): (Vec<_>, Vec<_>) = MIGRATIONS
            .iter()
            .partition(|migration| migration.version < 8);
        for migration in before {
            sqlx::raw_sql(&migration.sql)
                .execute(&mut connection)
                .await
                .unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO users (username, display_name, password_hash, created_at) \
                 VALUES ('owner', 'Owner', 'x', 1); \
             INSERT INTO rooms (name, visibility, owner_id, created_at) \
                 VALUES ('r', 'private', 1, 1); \
             INSERT INTO invitations (token, room_id, created_by, created_at, expires_at) \
                 VALUES ('shared-before-0008', 1, 1, 1, 100);",
        )
        .execute(&mut connection)
        .await
        .unwrap();
        let hashing = after.iter().find(|migration| migration.version == 8);
        let hashing = hashing.expect("migration 0008 hashes invitation tokens");
        sqlx::raw_sql(&hashing.sql)
            .execute(&mut connection)
            .await
            .unwrap();
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM invitations")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert_eq!(left, 0, "SQLite cannot hash them, so they stop working");
        let token_columns: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pragma_table_info('invitations') WHERE name = 'token'",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap();
        assert_eq!(token_columns, 0);
    }

    #[tokio::test]
    async fn opening_creates_the_data_directory_and_applies_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        assert!(dir.path().join("nested/data/sori.db").exists());
        assert!(store.instance().await.unwrap().created_ms > 1_600_000_000_000);
    }

    #[tokio::test]
    async fn the_pool_uses_wal_foreign_keys_and_a_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        let busy_timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(foreign_keys, 1);
        assert_eq!(busy_timeout, 5_000);
        assert_eq!(synchronous, 1, "NORMAL is 1");
    }

    #[tokio::test]
    async fn power_loss_durability_sets_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = StoreConfig::sqlite_file(&dir.path().join("sori.db"));
        config.durability = Durability::PowerLoss;
        let store = SqliteStore::open(&config).await.unwrap();
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(synchronous, 2, "FULL is 2");
    }

    #[tokio::test]
    async fn reopening_keeps_the_data_and_skips_applied_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let first = open_in(&dir).await.instance().await.unwrap();
        let again = open_in(&dir).await.instance().await.unwrap();
        assert_eq!(first, again);
    }

    /// A user with a fake hash (nothing here signs in).
    async fn user(store: &SqliteStore, username: &str, display_name: &str) -> UserId {
        let user = NewUser {
            username,
            display_name,
            password_hash: "$argon2id$fake",
            now_ms: 1_000,
        };
        store.create_user(user).await.unwrap().id
    }

    /// A public room named "r" that `owner` owns.
    async fn public_room(store: &SqliteStore, owner: UserId) -> RoomId {
        let room = NewRoom {
            name: "r",
            topic: "",
            visibility: Visibility::Public,
            owner,
            now_ms: 1,
        };
        store.create_room(room).await.unwrap()
    }

    #[tokio::test]
    async fn a_deleted_messages_text_is_gone_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let author = user(&store, "author", "Someone").await;
        let room = public_room(&store, author).await;
        let client_id = ClientId::parse("00000000-0000-4000-8000-000000000001").unwrap();
        let message = NewMessage {
            room,
            author,
            client_id: &client_id,
            author_name: "Someone",
            author_username: "author",
            body: "hello",
            rich: &crate::model::RichText::plain("hello"),
            mentioned: &[],
            now_ms: 5,
            reply_to: None,
        };
        let id = store.insert_message(message).await.unwrap().message.id;
        store
            .change_message(id, Change::Delete, 8)
            .await
            .unwrap()
            .expect("the message exists");
        let raw: String = sqlx::query_scalar("SELECT body FROM messages WHERE id = ?1")
            .bind(id.0)
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(raw, "");
    }

    /// Posts `body` as message `n` of `author` in `room`.
    async fn say(
        store: &SqliteStore,
        room: RoomId,
        author: UserId,
        n: u8,
        body: &str,
    ) -> MessageId {
        let client_id =
            ClientId::parse(&format!("00000000-0000-4000-8000-0000000000{n:02x}")).unwrap();
        let rich = crate::model::RichText::plain(body);
        let message = NewMessage {
            room,
            author,
            client_id: &client_id,
            author_name: "Someone",
            author_username: "author",
            body,
            rich: &rich,
            mentioned: &[],
            now_ms: 5,
            reply_to: None,
        };
        store.insert_message(message).await.unwrap().message.id
    }

    async fn search(store: &SqliteStore, viewer: UserId, query: &str) -> usize {
        let query = crate::backend::search::SearchQuery::parse(query);
        store
            .search_messages(viewer, &query, None, 100)
            .await
            .unwrap()
            .len()
    }

    #[tokio::test]
    async fn the_index_stays_in_step_with_posts_edits_deletes_and_deleted_rooms() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let author = user(&store, "author", "Someone").await;
        let room = public_room(&store, author).await;
        let kept = say(&store, room, author, 1, "회의 안건").await;
        let deleted = say(&store, room, author, 2, "회의 메모").await;
        let rich = crate::model::RichText::plain("점심 안건");
        let edit = Change::Edit {
            body: "점심 안건",
            rich: &rich,
            mentioned: &[],
        };
        store.change_message(kept, edit, 6).await.unwrap().unwrap();
        store
            .change_message(deleted, Change::Delete, 7)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(search(&store, author, "안건").await, 1);
        assert_eq!(search(&store, author, "회의").await, 0);
        let other = public_room(&store, author).await;
        say(&store, other, author, 3, "회의 다시").await;
        store.delete_room(other).await.unwrap();
        let indexed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM message_search WHERE message_search MATCH '\"회의\"'",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        assert_eq!(
            indexed, 0,
            "the deleted room's message left the index with it"
        );
    }

    /// Messages stored before migration 0014 have no search text (NULL) and no index rows:
    /// the state the start-up indexing finds them in.
    #[tokio::test]
    async fn messages_stored_before_the_index_are_found_once_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let author = user(&store, "author", "Someone").await;
        let room = public_room(&store, author).await;
        for n in 1..=3 {
            say(&store, room, author, n, &format!("오늘회의는{n}시")).await;
        }
        let deleted = say(&store, room, author, 4, "회의 메모").await;
        store
            .change_message(deleted, Change::Delete, 7)
            .await
            .unwrap()
            .unwrap();
        sqlx::query("UPDATE messages SET search_text = NULL")
            .execute(&store.pool)
            .await
            .unwrap();
        assert_eq!(search(&store, author, "회의").await, 0);
        assert_eq!(store.index_pending(2).await.unwrap(), 2);
        assert_eq!(search(&store, author, "회의").await, 2, "the oldest first");
        assert_eq!(
            store.index_pending(2).await.unwrap(),
            1,
            "the deleted one is skipped"
        );
        assert_eq!(store.index_pending(2).await.unwrap(), 0);
        assert_eq!(search(&store, author, "회의").await, 3);
        assert_eq!(search(&store, author, "회의는2시").await, 1);
    }

    /// Forms stored as serde's tagged objects, before the compact arrays, read as they did.
    #[tokio::test]
    async fn a_form_stored_in_the_earlier_shape_reads_as_it_was_made() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_in(&dir).await;
        let author = user(&store, "author", "Someone").await;
        let ana = user(&store, "ana", "Ana Kim").await;
        let room = public_room(&store, author).await;
        let client_id = ClientId::parse("00000000-0000-4000-8000-000000000002").unwrap();
        let body = "**hi** @ana, see `x`";
        let rendered =
            crate::backend::markdown::render(body, &|name| (name == "ana").then_some(ana));
        let ana_person = crate::protocol::Person {
            id: ana,
            username: "ana".into(),
            display_name: "Ana Kim".into(),
        };
        let message = NewMessage {
            room,
            author,
            client_id: &client_id,
            author_name: "Someone",
            author_username: "author",
            body,
            rich: &rendered.rich,
            mentioned: std::slice::from_ref(&ana_person),
            now_ms: 5,
            reply_to: None,
        };
        let id = store.insert_message(message).await.unwrap().message.id;
        let legacy = format!(
            r#"{{"blocks":[{{"type":"paragraph","inlines":[{{"type":"strong","inlines":[{{"type":"text","text":"hi"}}]}},{{"type":"text","text":" "}},{{"type":"mention","user":{}}},{{"type":"text","text":", see "}},{{"type":"code","text":"x"}}]}}]}}"#,
            ana.0
        );
        sqlx::query("UPDATE messages SET rich = ?1 WHERE id = ?2")
            .bind(&legacy)
            .bind(id.0)
            .execute(&store.pool)
            .await
            .unwrap();
        let read = store
            .message(id)
            .await
            .unwrap()
            .expect("the message exists");
        assert_eq!(read.rich, rendered.rich);
        assert_eq!(read.mentioned, [ana_person]);
    }

    #[tokio::test]
    async fn a_malformed_url_is_reported_as_such() {
        let config = StoreConfig {
            database_url: "sqlite://data/sori.db?mode=sideways".into(),
            ..StoreConfig::sqlite_file(std::path::Path::new("unused"))
        };
        let error = SqliteStore::open(&config).await.err().expect("it fails");
        assert!(matches!(error, OpenError::MalformedUrl { .. }), "{error}");
    }
}
