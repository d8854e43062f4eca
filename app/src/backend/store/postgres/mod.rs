//! The PostgreSQL store, for a deployment of several Sori instances on one database.
//!
//! It keeps every promise the SQLite store keeps (the conformance suite runs unchanged
//! against both), and keeps them when the writers are on different instances: each rule
//! lives in the database (a row lock, a unique constraint, a cascade), never in this
//! process's memory. How each aggregate does it is in its own file (`accounts`, `rooms`,
//! `messages`); `messages` explains the per-room counter, the one place where concurrency
//! is the whole design. The schema is in `app/migrations/postgres/`, applied when the store
//! opens (sqlx holds an advisory lock meanwhile, so instances starting together migrate
//! once).
//!
//! Connections run at PostgreSQL's default READ COMMITTED isolation; the counter's row lock,
//! not a stricter isolation level, is what orders concurrent changes, so no statement ever
//! needs a retry. Two settings of [`StoreConfig`] reach the server as startup options:
//! `db_busy_timeout_ms` becomes `lock_timeout` (a change waits that long for a room's
//! counter, then fails as SQLite's busy timeout makes it fail), and `power-loss` durability
//! forces `synchronous_commit = on` whatever the server's default; `process` durability
//! leaves the server's setting alone (PostgreSQL survives this process being killed either
//! way).
//!
//! It deliberately does nothing between instances beyond sharing the database: no
//! LISTEN/NOTIFY, no presence. It has no TLS support either (no TLS feature of sqlx is
//! built), so the server must be reachable over a trusted network.

mod accounts;
mod mentions;
mod messages;
mod reactions;
mod rooms;
pub mod scratch;
mod search;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{Durability, Instance, LimitStore, OpenError, Store, StoreConfig, StoreError};

/// `seq` values are stored as BIGINT (i64); they never approach 2^63.
fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// A `seq` read back from a BIGINT column, which only ever holds counter values (>= 0).
fn seq_of(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

/// Turns a violated uniqueness rule into [`StoreError::Conflict`], so callers can tell the
/// user rather than report an internal error.
fn conflict_or(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(error),
    }
}

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long opening the store keeps retrying a server that refuses connections (one that is
/// still starting, say) before giving up.
const OPEN_WAIT: Duration = Duration::from_secs(30);

/// How long a query waits for a pooled connection (the database is unreachable, or every
/// connection is busy) before its request is answered "unavailable, try again": a person
/// posting should learn within seconds, not after sqlx's default of 30.
const QUERY_WAIT: Duration = Duration::from_secs(5);

/// The PostgreSQL [`Store`]: a pool of connections to one database, which other instances
/// may share. Its aggregate traits are implemented in `accounts`, `rooms` and `messages`.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database named by `config.database_url` and applies pending
    /// migrations.
    pub async fn open(config: &StoreConfig) -> Result<Self, OpenError> {
        Self::open_within(config, OPEN_WAIT).await
    }

    async fn open_within(config: &StoreConfig, open_wait: Duration) -> Result<Self, OpenError> {
        let url = config.database_url.trim();
        let options = PgConnectOptions::from_str(url).map_err(|error| OpenError::MalformedUrl {
            url: super::error::without_password(url),
            reason: error.to_string(),
        })?;
        let mut settings = vec![("lock_timeout", config.db_busy_timeout_ms.to_string())];
        if config.durability == Durability::PowerLoss {
            settings.push(("synchronous_commit", "on".into()));
        }
        let mut options = options.options(settings);
        if options.get_application_name().is_none() {
            // Lets an operator tell Sori's connections apart in pg_stat_activity.
            options = options.application_name("sori");
        }
        let server = format!(
            "{}:{}/{} as user {}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("(the user's database)"),
            options.get_username()
        );

        let pool = PgPoolOptions::new()
            .max_connections(config.db_max_connections.max(1))
            .acquire_timeout(QUERY_WAIT.min(open_wait))
            .connect_lazy_with(options);
        // Each acquire retries a refusing server for up to its timeout; opening waits
        // longer than a query does, for a server that is still starting.
        let deadline = tokio::time::Instant::now() + open_wait;
        loop {
            match pool.acquire().await {
                Ok(_) => break,
                // The server answered, and refused (a wrong password, no such database):
                // asking again changes nothing.
                Err(source @ sqlx::Error::Database(_)) => {
                    return Err(OpenError::ConnectServer { server, source });
                }
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(source) => return Err(OpenError::ConnectServer { server, source }),
            }
        }
        MIGRATIONS.run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait::async_trait]
impl Store for PgStore {
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

    fn shared_limits(&self) -> Option<&dyn LimitStore> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl LimitStore for PgStore {
    async fn charge_limits(
        &self,
        keys: &[String],
        decide: &(dyn for<'k> Fn(&'k [Option<i64>]) -> Result<Vec<i64>, u64> + Sync),
    ) -> Result<Result<(), u64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Every key gets a row, so there is something to lock; keys are locked in one order
        // (sorted), so two requests sharing keys cannot deadlock.
        let mut sorted: Vec<&String> = keys.iter().collect();
        sorted.sort();
        sorted.dedup();
        let sorted: Vec<String> = sorted.into_iter().cloned().collect();
        sqlx::query(
            "INSERT INTO rate_limits (key, arrival) SELECT unnest($1::text[]), 0 \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(&sorted)
        .execute(&mut *tx)
        .await?;
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT key, arrival FROM rate_limits WHERE key = ANY($1) ORDER BY key FOR UPDATE",
        )
        .bind(&sorted)
        .fetch_all(&mut *tx)
        .await?;
        let arrivals: Vec<Option<i64>> = keys
            .iter()
            .map(|key| {
                rows.iter()
                    .find(|(stored, _)| stored == key)
                    .map(|(_, arrival)| *arrival)
                    .filter(|arrival| *arrival > 0)
            })
            .collect();
        let charged = match decide(&arrivals) {
            Ok(charged) => charged,
            // Refused: nothing is written; the rows made above are zero, i.e. nothing.
            Err(wait_secs) => {
                tx.commit().await?;
                return Ok(Err(wait_secs));
            }
        };
        sqlx::query(
            "UPDATE rate_limits SET arrival = v.arrival \
             FROM unnest($1::text[], $2::bigint[]) AS v(key, arrival) \
             WHERE rate_limits.key = v.key",
        )
        .bind(keys)
        .bind(&charged)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn forget_limits_before(&self, now_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM rate_limits WHERE arrival < $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::backend::store::{
        AccountStore, Change, MessageStore, NewMessage, NewRoom, NewUser, RoomStore,
    };
    use crate::model::{RoomId, UserId, Visibility};
    use crate::protocol::{ClientId, MessageId};

    use super::scratch::ScratchDatabase;

    /// A store on a database of its own, dropped when the test ends.
    struct ScratchStore {
        store: PgStore,
        _database: ScratchDatabase,
    }

    impl std::ops::Deref for ScratchStore {
        type Target = dyn Store;

        fn deref(&self) -> &Self::Target {
            &self.store
        }
    }

    async fn fresh_pg_store() -> ScratchStore {
        let database = ScratchDatabase::create().await;
        ScratchStore {
            store: database.open().await,
            _database: database,
        }
    }

    /// Every `Store` contract, run against PostgreSQL.
    mod conformance {
        crate::backend::store::conformance::store_conformance!(super::fresh_pg_store);
    }

    // Fixtures for the PostgreSQL-only tests below.

    fn client_id(n: u32) -> ClientId {
        ClientId::parse(&format!("00000000-0000-4000-8000-{n:012x}")).expect("a UUID")
    }

    /// An author and a public room of theirs.
    async fn room_with_author(store: &PgStore) -> (RoomId, UserId) {
        let author = store
            .create_user(NewUser {
                username: "author",
                display_name: "Someone",
                password_hash: "$argon2id$fake",
                now_ms: 1,
            })
            .await
            .expect("the user is created")
            .id;
        let room = NewRoom {
            name: "r",
            topic: "",
            visibility: Visibility::Public,
            owner: author,
            now_ms: 1,
        };
        let room = store.create_room(room).await.expect("the room is created");
        (room, author)
    }

    async fn post(store: &PgStore, room: RoomId, author: UserId, n: u32) -> (MessageId, u64) {
        let client_id = client_id(n);
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
        let posted = store.insert_message(message).await.expect("posted");
        (posted.message.id, posted.message.seq)
    }

    /// The room's log as the database holds it: how many events, and the highest number.
    async fn logged(store: &PgStore, room: RoomId) -> (i64, Option<i64>) {
        sqlx::query_as("SELECT count(*), max(seq) FROM room_events WHERE room_id = $1")
            .bind(room.0)
            .fetch_one(&store.pool)
            .await
            .expect("the log is read")
    }

    /// Every number from 1 to `count` once, in the replay and in the counter.
    async fn assert_gapless(store: &PgStore, room: RoomId, count: u64) {
        let replay = store.events_after(room, 0, None, 10_000).await.unwrap();
        let numbers: Vec<u64> = replay.iter().map(|event| event.seq).collect();
        assert_eq!(numbers, (1..=count).collect::<Vec<_>>());
        assert_eq!(store.last_seq(room).await.unwrap(), count);
        let count = i64::try_from(count).unwrap();
        assert_eq!(logged(store, room).await, (count, Some(count)));
    }

    /// Messages stored before migration 0014 have no `search` (NULL): the state the
    /// start-up indexing finds them in.
    #[tokio::test]
    async fn messages_stored_before_the_index_are_found_once_indexed() {
        use crate::backend::search::SearchQuery;
        use crate::backend::store::SearchStore;
        let database = ScratchDatabase::create().await;
        let store = database.open().await;
        let (room, author) = room_with_author(&store).await;
        for n in 1..=3 {
            post(&store, room, author, n).await;
        }
        let (deleted, _) = post(&store, room, author, 4).await;
        store
            .change_message(deleted, Change::Delete, 9)
            .await
            .unwrap()
            .unwrap();
        sqlx::query("UPDATE messages SET search = NULL")
            .execute(&store.pool)
            .await
            .unwrap();
        async fn found(store: &PgStore, viewer: UserId) -> usize {
            let hello = SearchQuery::parse("hello");
            store
                .search_messages(viewer, &hello, None, 10)
                .await
                .unwrap()
                .len()
        }
        assert_eq!(found(&store, author).await, 0);
        assert_eq!(store.index_pending(2).await.unwrap(), 2);
        assert_eq!(found(&store, author).await, 2);
        assert_eq!(
            store.index_pending(2).await.unwrap(),
            1,
            "the deleted one is skipped"
        );
        assert_eq!(store.index_pending(2).await.unwrap(), 0);
        assert_eq!(found(&store, author).await, 3);
    }

    #[tokio::test]
    async fn migrations_apply_once_and_reopening_keeps_the_data() {
        let database = ScratchDatabase::create().await;
        let first = database.open().await;
        first
            .create_user(NewUser {
                username: "kept",
                display_name: "Kept",
                password_hash: "x",
                now_ms: 1,
            })
            .await
            .unwrap();
        let again = database.open().await;
        assert_eq!(
            again.instance().await.unwrap(),
            first.instance().await.unwrap()
        );
        assert!(again.user_by_username("KEPT").await.unwrap().is_some());
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
            .fetch_one(&again.pool)
            .await
            .unwrap();
        assert_eq!(applied, i64::try_from(MIGRATIONS.iter().count()).unwrap());
    }

    #[tokio::test]
    async fn invitation_links_made_before_hashing_keep_working_after_the_migration() {
        use sha2::{Digest, Sha256};
        let database = ScratchDatabase::create().await;
        let pool = PgPool::connect(database.url()).await.unwrap();
        let (before, after): (Vec<_>, Vec<_>) = MIGRATIONS
            .iter()
            .partition(|migration| migration.version < 8);
        for migration in before {
            sqlx::raw_sql(&migration.sql).execute(&pool).await.unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO users (username, display_name, password_hash, created_at) \
                 VALUES ('owner', 'Owner', 'x', 1); \
             INSERT INTO rooms (name, visibility, owner_id, created_at) \
                 VALUES ('r', 'private', 1, 1); \
             INSERT INTO invitations (token, room_id, created_by, created_at, expires_at) \
                 VALUES ('shared-before-0008', 1, 1, 1, 100);",
        )
        .execute(&pool)
        .await
        .unwrap();
        let hashing = after.iter().find(|migration| migration.version == 8);
        let hashing = hashing.expect("migration 0008 hashes invitation tokens");
        sqlx::raw_sql(&hashing.sql).execute(&pool).await.unwrap();
        // Looked up the way the server looks a link up: by the SHA-256 it computes.
        let hash: [u8; 32] = Sha256::digest(b"shared-before-0008").into();
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM invitations WHERE token_hash = $1")
                .bind(&hash[..])
                .fetch_optional(&pool)
                .await
                .unwrap();
        assert_eq!(found, Some(1));
        let token_columns: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_name = 'invitations' AND column_name = 'token'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(token_columns, 0, "the token itself is gone");
        pool.close().await;
    }

    #[tokio::test]
    async fn usernames_fold_ascii_letters_only_and_are_found_through_their_index() {
        let database = ScratchDatabase::create().await;
        let store = database.open().await;
        let user = NewUser {
            username: "Kim",
            display_name: "Kim",
            password_hash: "x",
            now_ms: 1,
        };
        store.create_user(user).await.unwrap();
        assert!(store.user_by_username("kIM").await.unwrap().is_some());
        // U+212A KELVIN SIGN lowercases to 'k' in Unicode, but not in SQLite's NOCASE.
        assert_eq!(store.user_by_username("\u{212A}im").await.unwrap(), None);

        let mut connection = store.pool.acquire().await.unwrap();
        sqlx::query("SET enable_seqscan = off")
            .execute(&mut *connection)
            .await
            .unwrap();
        let plan: Vec<String> = sqlx::query_scalar(
            "EXPLAIN SELECT id FROM users WHERE lower(username COLLATE \"C\") = lower($1 COLLATE \"C\")",
        )
        .bind("kim")
        .fetch_all(&mut *connection)
        .await
        .unwrap();
        assert!(
            plan.concat().contains("users_username_any_case"),
            "{plan:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_posts_from_many_connections_take_every_number_once() {
        let database = ScratchDatabase::create().await;
        let store = Arc::new(database.open().await);
        let (room, author) = room_with_author(&store).await;
        let (writers, posts_each) = (8u32, 25u32);
        let mut tasks = tokio::task::JoinSet::new();
        for writer in 0..writers {
            let store = Arc::clone(&store);
            tasks.spawn(async move {
                let mut numbers = Vec::new();
                for n in 0..posts_each {
                    numbers.push(post(&store, room, author, writer * 1_000 + n).await.1);
                }
                numbers
            });
        }
        let mut numbers: Vec<u64> = tasks.join_all().await.into_iter().flatten().collect();
        numbers.sort_unstable();
        let total = u64::from(writers * posts_each);
        assert_eq!(numbers, (1..=total).collect::<Vec<_>>());
        assert_gapless(&store, room, total).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rate_limit_holds_across_two_stores_racing_for_its_last_allowance() {
        use crate::backend::clock::Clock;
        use crate::backend::rate_limit::{Limited, RateLimiter};
        let database = ScratchDatabase::create().await;
        let clock = Clock::manual(1_000_000);
        let limiter = |store: Arc<dyn Store>| {
            Arc::new(RateLimiter::for_store(
                5,
                std::time::Duration::from_secs(60),
                clock.clone(),
                &store,
                "sign_in",
            ))
        };
        let one = limiter(Arc::new(database.open().await));
        let two = limiter(Arc::new(database.open().await));
        // Twenty attempts at once, half through each instance: five get through, in all.
        let mut attempts = Vec::new();
        for n in 0..20 {
            let limiter = if n % 2 == 0 { one.clone() } else { two.clone() };
            attempts.push(tokio::spawn(async move {
                limiter.check(&["ip:203.0.113.7", "user:minji"]).await
            }));
        }
        let mut admitted = 0;
        for attempt in attempts {
            match attempt.await.unwrap() {
                Ok(()) => admitted += 1,
                Err(Limited::Wait(seconds)) => assert!(seconds >= 1),
                Err(Limited::Unavailable) => panic!("the shared limits answered"),
            }
        }
        assert_eq!(admitted, 5);
        // Another key is untouched, and time gives the allowance back.
        assert_eq!(two.check(&["ip:198.51.100.1"]).await, Ok(()));
        assert!(one.check(&["ip:203.0.113.7"]).await.is_err());
        clock.advance(std::time::Duration::from_secs(12));
        assert_eq!(one.check(&["ip:203.0.113.7"]).await, Ok(()));
    }

    #[tokio::test]
    async fn expired_limits_are_forgotten_and_live_ones_kept() {
        let database = ScratchDatabase::create().await;
        let store = database.open().await;
        let keys = ["a".to_owned(), "b".to_owned()];
        let charged = store
            .charge_limits(&keys, &|arrivals| {
                assert_eq!(arrivals, [None, None], "never charged");
                Ok(vec![100, 300])
            })
            .await
            .unwrap();
        assert_eq!(charged, Ok(()));
        let refused = store.charge_limits(&keys, &|_| Err(9)).await.unwrap();
        assert_eq!(refused, Err(9), "a refusal writes nothing");
        assert_eq!(store.forget_limits_before(200).await.unwrap(), 1);
        store
            .charge_limits(&keys, &|arrivals| {
                assert_eq!(arrivals, [None, Some(300)], "a forgotten, b kept");
                Ok(vec![1, 2])
            })
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_stores_on_one_database_number_posts_and_edits_without_gaps() {
        // Two stores with pools of their own are two Sori instances on one database.
        let database = ScratchDatabase::create().await;
        let (one, two) = (
            Arc::new(database.open().await),
            Arc::new(database.open().await),
        );
        let (room, author) = room_with_author(&one).await;
        let rounds = 40u32;
        let instance = |store: Arc<PgStore>, offset: u32| async move {
            for n in 0..rounds {
                let (id, _) = post(&store, room, author, offset + n).await;
                let edit = Change::Edit {
                    body: "edited",
                    rich: &crate::model::RichText::plain("edited"),
                    mentioned: &[],
                };
                let edited = store.change_message(id, edit, 6).await.unwrap();
                assert!(edited.is_some(), "a live message can be edited");
            }
        };
        let (a, b) = tokio::join!(
            tokio::spawn(instance(Arc::clone(&one), 0)),
            tokio::spawn(instance(Arc::clone(&two), 10_000)),
        );
        a.unwrap();
        b.unwrap();
        let changes = u64::from(2 * rounds * 2);
        assert_gapless(&one, room, changes).await;
        assert_eq!(
            two.last_seq(room).await.unwrap(),
            changes,
            "one counter for both"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resends_racing_on_two_stores_create_one_message_and_take_one_number() {
        let database = ScratchDatabase::create().await;
        let (one, two) = (
            Arc::new(database.open().await),
            Arc::new(database.open().await),
        );
        let (room, author) = room_with_author(&one).await;
        let messages = 20u32;
        for n in 0..messages {
            let mut attempts = tokio::task::JoinSet::new();
            for attempt in 0..6 {
                let store = Arc::clone(if attempt % 2 == 0 { &one } else { &two });
                attempts.spawn(async move {
                    let client_id = client_id(n);
                    let message = NewMessage {
                        room,
                        author,
                        client_id: &client_id,
                        author_name: "Someone",
                        author_username: "author",
                        body: "once",
                        rich: &crate::model::RichText::plain("once"),
                        mentioned: &[],
                        now_ms: 5,
                        reply_to: None,
                    };
                    store
                        .insert_message(message)
                        .await
                        .expect("posted or found")
                });
            }
            let outcomes = attempts.join_all().await;
            let created = outcomes.iter().filter(|posted| posted.created).count();
            assert_eq!(created, 1, "message {n}: {outcomes:?}");
            let first = &outcomes[0].message;
            assert!(outcomes.iter().all(|posted| posted.message == *first));
        }
        assert_gapless(&one, room, u64::from(messages)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_deletes_of_one_message_make_one_change() {
        let database = ScratchDatabase::create().await;
        let (one, two) = (
            Arc::new(database.open().await),
            Arc::new(database.open().await),
        );
        let (room, author) = room_with_author(&one).await;
        let (id, _) = post(&one, room, author, 1).await;
        let mut deletes = tokio::task::JoinSet::new();
        for attempt in 0..6 {
            let store = Arc::clone(if attempt % 2 == 0 { &one } else { &two });
            deletes.spawn(async move { store.change_message(id, Change::Delete, 8).await });
        }
        let outcomes: Vec<_> = deletes
            .join_all()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let changed: Vec<_> = outcomes.iter().flatten().collect();
        assert_eq!(changed.len(), 1, "{outcomes:?}");
        assert_eq!(changed[0].seq, 2);
        assert_gapless(&one, room, 2).await;
    }

    #[tokio::test]
    async fn a_deleted_messages_text_is_gone_from_the_database() {
        let database = ScratchDatabase::create().await;
        let store = database.open().await;
        let (room, author) = room_with_author(&store).await;
        let (id, _) = post(&store, room, author, 1).await;
        store
            .change_message(id, Change::Delete, 8)
            .await
            .unwrap()
            .expect("the message exists");
        let raw: String = sqlx::query_scalar("SELECT body FROM messages WHERE id = $1")
            .bind(id.0)
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(raw, "");
    }

    #[tokio::test]
    async fn the_configuration_reaches_every_connection() {
        let database = ScratchDatabase::create().await;
        let config = StoreConfig {
            durability: Durability::PowerLoss,
            db_busy_timeout_ms: 1_234,
            ..database.config()
        };
        let store = PgStore::open(&config).await.unwrap();
        let show = |setting: &'static str| {
            let pool = store.pool.clone();
            async move {
                let value: String = sqlx::query_scalar(&format!("SHOW {setting}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                value
            }
        };
        assert_eq!(show("lock_timeout").await, "1234ms");
        assert_eq!(show("synchronous_commit").await, "on");
        assert_eq!(show("application_name").await, "sori");
        assert_eq!(show("transaction_isolation").await, "read committed");
    }

    #[tokio::test]
    async fn opening_picks_postgres_for_both_of_its_url_schemes() {
        let database = ScratchDatabase::create().await;
        let url = database.config().database_url;
        for scheme in ["postgres", "postgresql"] {
            let (_, rest) = url.split_once("://").expect("a URL with a scheme");
            let config = StoreConfig {
                database_url: format!("{scheme}://{rest}"),
                ..database.config()
            };
            let store = crate::backend::store::open(&config)
                .await
                .expect("it opens");
            store.ping().await.unwrap();
            store.close().await;
        }
    }

    #[tokio::test]
    async fn a_malformed_url_is_reported_without_its_password() {
        let config = StoreConfig {
            database_url: "postgres://sori:s3cret@db:notaport/chat".into(),
            ..StoreConfig::default()
        };
        let error = PgStore::open(&config).await.err().expect("it fails");
        assert!(matches!(error, OpenError::MalformedUrl { .. }), "{error}");
        let text = error.to_string();
        assert!(
            text.contains("postgres://sori:***@db:notaport/chat"),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_without_the_password() {
        let config = StoreConfig {
            // Nothing listens on port 1; the refusal is retried until the timeout.
            database_url: "postgres://sori:s3cret@127.0.0.1:1/chat".into(),
            ..StoreConfig::default()
        };
        let error = PgStore::open_within(&config, Duration::from_millis(500))
            .await
            .err()
            .expect("it fails");
        let text = error.to_string();
        assert!(matches!(error, OpenError::ConnectServer { .. }), "{text}");
        assert!(text.contains("127.0.0.1:1/chat as user sori"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
