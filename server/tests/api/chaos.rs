//! Kill -9 trials: the durability contract, tried again and again at random moments. In each
//! trial four clients post a burst into a new room, the real `sori` binary is killed with
//! SIGKILL at a random point of the burst (on PostgreSQL, every other trial kills the
//! database too, `pg_ctl -m immediate`, as in a crash), and it is started again on the same
//! database. Then every acknowledged message must be there exactly once, the room's `seq`
//! gapless, and resending every message (acknowledged or not, with the same client ids)
//! must return the original acknowledgements and create no duplicates.
//!
//! `make test` runs a few trials per store (`CHAOS_TRIALS_IN_TESTS`); `make chaos` runs 100
//! of each (`SORI_CHAOS_TRIALS`). Each run prints `N passed, M failed` with the number of
//! acknowledged messages checked and the seed of its random kill points, so a failure can be
//! replayed with `SORI_CHAOS_SEED`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use app::model::RoomId;
use serde_json::Value;

use crate::support::binary::Sori;
use crate::support::browser::Browser;
use crate::support::chat::{PASSWORD, post_if_acknowledged, uuid};
use crate::support::postgres::{PostgresServer, Shutdown};

/// Trials per store in `make test`.
const CHAOS_TRIALS_IN_TESTS: usize = 5;
/// Messages per trial, in four lanes of a quarter each.
const TOTAL: u32 = 120;
const LANES: u32 = 4;
/// What one trial may take, start to end; a trial past it counts as failed.
const TRIAL_DEADLINE: Duration = Duration::from_secs(90);

fn trials() -> usize {
    std::env::var("SORI_CHAOS_TRIALS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(CHAOS_TRIALS_IN_TESTS)
}

/// A small xorshift generator: the kill points need spread, not cryptography, and a seed
/// that can be printed and replayed.
struct KillPoints(u64);

impl KillPoints {
    fn new() -> Self {
        let seed = std::env::var("SORI_CHAOS_SEED")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |since| since.as_nanos() as u64)
                    | 1
            });
        Self(seed)
    }

    /// After how many acknowledgements the next kill lands: anywhere from the first to
    /// nearly the last.
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        1 + (self.0 % u64::from(TOTAL - LANES)) as u32
    }
}

/// Where the trials keep their data.
enum Store<'a> {
    /// A new SQLite file per trial.
    Sqlite,
    /// One database on a PostgreSQL server of the test's own, which may be killed too.
    Postgres(&'a PostgresServer),
}

/// What a passed trial checked.
struct Checked {
    acknowledged: usize,
}

/// Runs the trials on `store`, prints the tally, and fails the test if any trial failed.
#[allow(
    clippy::print_stdout,
    reason = "the tally is what `make chaos` reports (seen with --nocapture)"
)]
async fn run_trials(store: Store<'_>, name: &str) {
    let count = trials();
    let mut points = KillPoints::new();
    let seed = points.0;
    let (mut passed, mut failed, mut acknowledged) = (0, 0, 0);
    let mut failures = Vec::new();
    for number in 0..count {
        let kill_after = points.next();
        let kill_database = matches!(store, Store::Postgres(_)) && number % 2 == 1;
        let outcome = tokio::time::timeout(
            TRIAL_DEADLINE,
            trial(&store, number, kill_after, kill_database),
        )
        .await
        .unwrap_or_else(|_| Err(format!("did not finish within {TRIAL_DEADLINE:?}")));
        match outcome {
            Ok(checked) => {
                passed += 1;
                acknowledged += checked.acknowledged;
            }
            Err(why) => {
                failed += 1;
                failures.push(format!(
                    "trial {number} (kill after {kill_after} acks, database killed: \
                     {kill_database}): {why}"
                ));
            }
        }
    }
    println!(
        "chaos on {name}: {passed} passed, {failed} failed, {acknowledged} acknowledged \
         messages checked (seed {seed})"
    );
    assert!(
        failures.is_empty(),
        "{name}: {failed} of {count} trials failed (replay with SORI_CHAOS_SEED={seed}):\n{}",
        failures.join("\n")
    );
}

async fn trial(
    store: &Store<'_>,
    number: usize,
    kill_after: u32,
    kill_database: bool,
) -> Result<Checked, String> {
    let dir = tempfile::tempdir().map_err(|error| error.to_string())?;
    let database = match store {
        Store::Sqlite => format!("sqlite://{}/sori.db", dir.path().display()),
        Store::Postgres(server) => server.url(),
    };
    let start = |addr: &str| {
        let envs = [
            ("SORI_ADDR", addr),
            ("DATABASE_URL", database.as_str()),
            // The trials post as fast as they can and sign up once each.
            ("SORI_MESSAGES_PER_WINDOW", "0"),
            ("SORI_SIGN_UP_PER_HOUR", "0"),
        ];
        Sori::start(dir.path(), &envs)
    };
    let mut server = start("127.0.0.1:0");
    let addr = server.addr.clone();
    let base = server.base();
    let mut owner = Browser::new(&base);
    let name = format!("chaos{number}");
    let status = owner.register(&name, PASSWORD).await.status();
    if status != 200 {
        return Err(format!("sign-up answered {status}"));
    }
    let room: Value = owner
        .call("rooms/create", &[("name", "Chaos"), ("topic", "")])
        .await
        .json()
        .await
        .map_err(|error| error.to_string())?;
    let room = RoomId(room["id"].as_i64().ok_or("no room id")?);

    let progress = Arc::new(AtomicU32::new(0));
    let mut lanes = Vec::new();
    for lane in 0..LANES {
        let mut browser = Browser::new(&base);
        browser.cookie = owner.cookie.clone();
        let progress = progress.clone();
        lanes.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for n in (lane * TOTAL / LANES)..((lane + 1) * TOTAL / LANES) {
                let Some(ack) = post(&mut browser, room, n).await else {
                    break;
                };
                acked.push((n, ack));
                progress.fetch_add(1, Ordering::SeqCst);
            }
            acked
        }));
    }
    // The kill lands once `kill_after` posts are acknowledged (counted, not timed, so the
    // machine's speed cannot move it past the burst).
    let began = Instant::now();
    while progress.load(Ordering::SeqCst) < kill_after {
        if began.elapsed() > Duration::from_secs(30) {
            return Err("the burst did not get going".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.kill();
    if kill_database && let Store::Postgres(postgres) = store {
        postgres.restart(Shutdown::Immediate).await;
    }
    let mut acked = Vec::new();
    for lane in lanes {
        acked.extend(lane.await.map_err(|error| error.to_string())?);
    }

    let server = start(&addr);
    let mut browser = Browser::new(&base);
    browser.cookie = owner.cookie.clone();
    for n in 0..TOTAL {
        let ack = post(&mut browser, room, n)
            .await
            .ok_or_else(|| format!("the restarted server did not acknowledge {n}"))?;
        if let Some((_, first)) = acked.iter().find(|(sent, _)| *sent == n)
            && &ack != first
        {
            return Err(format!(
                "the resend of {n} answered {ack}, not its acknowledgement {first}"
            ));
        }
    }
    let seqs = every_seq(&mut browser, room).await?;
    let expected: Vec<u64> = (1..=u64::from(TOTAL)).collect();
    if seqs != expected {
        return Err(format!(
            "the room holds {} messages, seq {:?}..{:?}, not 1..={TOTAL} once each",
            seqs.len(),
            seqs.first(),
            seqs.last()
        ));
    }
    drop(server);
    Ok(Checked {
        acknowledged: acked.len(),
    })
}

async fn post(browser: &mut Browser, room: RoomId, n: u32) -> Option<Value> {
    post_if_acknowledged(browser, room, &uuid(n), &format!("chaos {n}")).await
}

/// Every message's `seq`, read back page by page, sorted.
async fn every_seq(browser: &mut Browser, room: RoomId) -> Result<Vec<u64>, String> {
    let room = room.to_string();
    let mut seqs = Vec::new();
    let mut before = None::<u64>;
    loop {
        let before_text = before.map(|seq| seq.to_string());
        let mut form = vec![("room", room.as_str())];
        if let Some(before) = &before_text {
            form.push(("before_seq", before.as_str()));
        }
        let page: Value = browser
            .call("messages/history", &form)
            .await
            .json()
            .await
            .map_err(|error| error.to_string())?;
        let messages = page["messages"].as_array().ok_or("no messages")?;
        for message in messages {
            seqs.push(message["seq"].as_u64().ok_or("a message without seq")?);
        }
        before = messages.first().and_then(|message| message["seq"].as_u64());
        if page["has_more"] != true {
            break;
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

#[tokio::test]
async fn kill_9_trials_on_sqlite_lose_and_duplicate_nothing_acknowledged() {
    run_trials(Store::Sqlite, "SQLite").await;
}

#[tokio::test]
async fn kill_9_trials_on_postgresql_killed_too_lose_and_duplicate_nothing_acknowledged() {
    let postgres = PostgresServer::start().await;
    run_trials(Store::Postgres(&postgres), "PostgreSQL").await;
}
