//! Two instances on one PostgreSQL database when something fails under them: one instance
//! killed with SIGKILL in the middle of a burst, and the database server restarted (fast
//! and immediate) while both run. What holds without failures must hold through them:
//! every acknowledged message reaches every subscriber exactly once and in order (those
//! whose instance died resume on the other from their last `seq`), a resend with the same
//! client id never makes a second message, the room's numbers have no gaps, and a request
//! the failure broke is answered with a typed error, never left hanging.
//!
//! The kill runs the real `sori` binary twice, on a fresh database of the shared test
//! server (`SORI_TEST_POSTGRES_URL`, set by `scripts/with-postgres.sh`). The restarts run
//! instances in this process on a PostgreSQL server of the test's own
//! ([`PostgresServer`]): restarting the shared one would break every other test running
//! at the time.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use app::backend::store::scratch::ScratchDatabase;
use app::error::ApiError;
use app::model::RoomId;
use app::protocol::{MessageView, ServerFrame};
use server::Config;
use sqlx::Connection;
use tokio::time::Instant;

use crate::support::binary::Sori;
use crate::support::browser::Browser;
use crate::support::chat::{
    PASSWORD, assert_quiet, on, person, post, post_if_acknowledged, room_with, subscribe,
    subscribed, uuid,
};
use crate::support::postgres::{PostgresServer, Shutdown, Stored, stored};
use crate::support::socket::{Closed, Socket};
use crate::support::{TestApp, readiness_becomes};

/// The origin both instances serve, as behind one load balancer. Only a header: nothing
/// is ever sent to it.
const ORIGIN: &str = "http://sori.localhost";

/// What a subscriber's reading ended with.
struct Read {
    socket: Socket,
    received: Vec<MessageView>,
    /// How the socket ended, if it did before the last message came.
    closed: Option<Closed>,
}

/// Reads `socket`'s messages until the one numbered `last` arrives, the socket ends, or
/// `within` passes; nothing but messages (and presence) may arrive meanwhile.
async fn read_until(mut socket: Socket, last: u64, within: Duration) -> Read {
    let deadline = Instant::now() + within;
    let mut received = Vec::new();
    let closed = loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        match socket.next_unless_closed(wait).await {
            Ok(Some(ServerFrame::Message { message })) => {
                let done = message.seq == last;
                received.push(message);
                if done {
                    break None;
                }
            }
            Ok(Some(other)) => panic!("unexpected {other:?} after {} messages", received.len()),
            // Out of time: the caller's assertion on `received` says what is missing.
            Ok(None) => break None,
            Err(closed) => break Some(closed),
        }
    };
    Read {
        socket,
        received,
        closed,
    }
}

/// Asserts that `received` is exactly the messages of `acknowledged` (seq to client id),
/// each once, in order.
fn assert_each_once_in_order(
    who: &str,
    received: &[MessageView],
    acknowledged: &BTreeMap<u64, String>,
) {
    let got: Vec<(u64, &str)> = received
        .iter()
        .map(|message| (message.seq, message.client_id.as_str()))
        .collect();
    let wanted: Vec<(u64, &str)> = acknowledged
        .iter()
        .map(|(seq, client_id)| (*seq, client_id.as_str()))
        .collect();
    assert_eq!(
        got, wanted,
        "{who} receives every acknowledged message once, in order"
    );
}

/// A socket on the real binary at `addr`, as `browser`'s tab on `ORIGIN`.
async fn open(addr: &str, browser: &Browser) -> Socket {
    let addr: SocketAddr = addr.parse().expect("the server's address");
    Socket::open(addr, browser.cookie.as_deref(), Some(ORIGIN))
        .await
        .expect("the socket opens")
}

fn burst_body(n: u32) -> String {
    format!("burst {n}")
}

#[tokio::test]
async fn an_instance_killed_mid_burst_leaves_each_acknowledged_message_delivered_once_to_all() {
    const BURST: u32 = 200;
    const LANES: u32 = 4;
    let database = ScratchDatabase::create().await;
    let dir = tempfile::tempdir().expect("a working directory for the servers");
    let envs = [
        ("DATABASE_URL", database.url()),
        ("SORI_ADDR", "127.0.0.1:0"),
        ("SORI_PUBLIC_ORIGIN", ORIGIN),
        ("SORI_MESSAGES_PER_WINDOW", "0"),
    ];
    let mut doomed = Sori::start(dir.path(), &envs);
    let survivor = Sori::start(dir.path(), &envs);

    let mut poster = Browser::new(&doomed.base());
    assert_eq!(poster.register("poster", PASSWORD).await.status(), 200);
    let mut readers = Vec::new();
    for name in ["here1", "here2", "there1", "there2"] {
        let mut reader = Browser::new(&doomed.base());
        assert_eq!(reader.register(name, PASSWORD).await.status(), 200);
        readers.push(reader);
    }
    let room = {
        let mut others: Vec<&mut Browser> = readers.iter_mut().collect();
        room_with(&mut poster, &mut others).await
    };
    // Two subscribers on the instance that dies, two on the one that survives, each read
    // as a browser would, while the burst goes on.
    let reading = Duration::from_secs(45);
    let mut here = Vec::new();
    let mut there = Vec::new();
    for (index, reader) in readers.iter().enumerate() {
        let addr = if index < 2 {
            &doomed.addr
        } else {
            &survivor.addr
        };
        let mut socket = open(addr, reader).await;
        let (replayed, _) = subscribe(&mut socket, room, Some(0)).await;
        assert!(replayed.is_empty(), "nothing posted yet");
        let task = tokio::spawn(read_until(socket, u64::from(BURST), reading));
        let subscribers = if index < 2 { &mut here } else { &mut there };
        subscribers.push(task);
    }

    // One person posting from several tabs at once, so several posts are in flight when
    // the kill lands; each post has its own client id.
    let progress = Arc::new(AtomicU32::new(0));
    let mut lanes = Vec::new();
    for lane in 0..LANES {
        let mut browser = Browser::new(&doomed.base());
        browser.cookie = poster.cookie.clone();
        let progress = progress.clone();
        lanes.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for n in (lane * BURST / LANES)..((lane + 1) * BURST / LANES) {
                let Some(ack) =
                    post_if_acknowledged(&mut browser, room, &uuid(n), &burst_body(n)).await
                else {
                    break;
                };
                acked.push((n, ack));
                progress.fetch_add(1, Ordering::SeqCst);
            }
            acked
        }));
    }
    // The kill lands once the burst is well under way (not on a timer, which would race the
    // machine's speed).
    let under_way = async {
        while progress.load(Ordering::SeqCst) < 60 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), under_way)
        .await
        .expect("the burst gets going");
    doomed.kill();
    let mut acked = BTreeMap::new();
    for lane in lanes {
        acked.extend(lane.await.expect("a lane ends without panicking"));
    }
    assert!(
        (60..BURST as usize).contains(&acked.len()),
        "the kill landed mid-burst ({} acknowledged)",
        acked.len()
    );

    // The dead instance's subscribers see their sockets end, reconnect to the survivor and
    // resume after the last message they have.
    let mut resumed = Vec::new();
    for (index, task) in here.into_iter().enumerate() {
        let read = task.await.expect("the reader does not panic");
        assert!(
            read.closed.is_some(),
            "the killed instance's socket ends (after {} messages)",
            read.received.len()
        );
        let mut received = read.received;
        let last = received.last().map_or(0, |message| message.seq);
        let mut socket = open(&survivor.addr, &readers[index]).await;
        let (replayed, _) = subscribe(&mut socket, room, Some(last)).await;
        eprintln!(
            "here{} resumed on the survivor after seq {last}: {} replayed",
            index + 1,
            replayed.len()
        );
        received.extend(replayed);
        let task = tokio::spawn(read_until(socket, u64::from(BURST), reading));
        resumed.push((received, task));
    }

    // Whatever the dead instance committed is in the database: at least what it
    // acknowledged, perhaps a few it had no time to acknowledge.
    let committed = stored(database.url(), room).await.last_seq as usize;
    assert!(committed >= acked.len(), "{committed} < {}", acked.len());
    eprintln!(
        "killed after {} acknowledged posts; {} more committed unacknowledged",
        acked.len(),
        committed - acked.len()
    );

    // Every post again through the survivor, with its client id: an acknowledged one
    // returns its acknowledgement, one the kill interrupted is stored at most once.
    let mut browser = Browser::new(&survivor.base());
    browser.cookie = poster.cookie.clone();
    let mut acknowledged = BTreeMap::new();
    for n in 0..BURST {
        let ack = post_if_acknowledged(&mut browser, room, &uuid(n), &burst_body(n))
            .await
            .unwrap_or_else(|| panic!("the survivor acknowledges post {n}"));
        if let Some(first) = acked.get(&n) {
            assert_eq!(&ack, first, "a resend of {n} returns its acknowledgement");
        }
        let seq = ack["seq"].as_u64().expect("an acknowledgement has a seq");
        let earlier = acknowledged.insert(seq, uuid(n));
        assert_eq!(earlier, None, "seq {seq} acknowledged for two posts");
    }
    let every: Vec<u64> = (1..=u64::from(BURST)).collect();
    assert_eq!(
        acknowledged.keys().copied().collect::<Vec<_>>(),
        every,
        "one number per post, no gap"
    );

    for (index, (mut received, task)) in resumed.into_iter().enumerate() {
        let mut read = task.await.expect("the reader does not panic");
        assert_eq!(read.closed, None, "the survivor keeps the resumed socket");
        received.append(&mut read.received);
        assert_each_once_in_order(&format!("here{}", index + 1), &received, &acknowledged);
        assert_quiet(&mut read.socket).await;
    }
    for (index, task) in there.into_iter().enumerate() {
        let mut read = task.await.expect("the reader does not panic");
        assert_eq!(read.closed, None, "the survivor keeps its sockets");
        assert_each_once_in_order(
            &format!("there{}", index + 1),
            &read.received,
            &acknowledged,
        );
        assert_quiet(&mut read.socket).await;
    }
    let total = i64::from(BURST);
    assert_eq!(
        stored(database.url(), room).await,
        Stored {
            messages: total,
            events: total,
            last_seq: total
        },
        "the database holds each post once, numbered without a gap"
    );
}

/// How long a request the restart broke may take to be answered: its connection ends at
/// once, so this only allows for a loaded machine.
const ANSWERED_WITHIN: Duration = Duration::from_secs(20);

/// Posts as `browser` and returns the answer, which must come within [`ANSWERED_WITHIN`].
async fn answered_post(
    browser: &mut Browser,
    room: RoomId,
    client_id: &str,
) -> (u16, serde_json::Value) {
    match tokio::time::timeout(ANSWERED_WITHIN, post(browser, room, client_id, "hello")).await {
        Ok(answer) => answer,
        Err(_) => panic!("a post of {client_id} was not answered within {ANSWERED_WITHIN:?}"),
    }
}

/// Asserts that a post was refused the way a client can act on: 503, with the typed
/// "unavailable" error (which the outbox keeps and sends again) and its message.
fn assert_refused_as_unavailable(status: u16, body: &serde_json::Value) {
    let error: ApiError =
        serde_json::from_value(body.clone()).unwrap_or_else(|_| panic!("a typed error: {body}"));
    assert_eq!((status, &error), (503, &ApiError::Unavailable), "{body}");
    assert_eq!(
        error.to_string(),
        "The server is temporarily unavailable. Please try again shortly."
    );
}

/// Posts until acknowledged (the same client id each time, so never twice), within 30 s;
/// every refusal meanwhile must be [`assert_refused_as_unavailable`]. Returns the `seq`.
async fn post_until_acknowledged(browser: &mut Browser, room: RoomId, client_id: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = answered_post(browser, room, client_id).await;
        if status == 200 {
            return body["seq"].as_u64().expect("an acknowledgement has a seq");
        }
        assert_refused_as_unavailable(status, &body);
        assert!(
            Instant::now() < deadline,
            "{client_id} still refused after 30 s: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Posts, which must be acknowledged at once, and records the `seq` it got.
async fn post_acknowledged(
    poster: &mut Browser,
    room: RoomId,
    client_id: String,
    acknowledged: &mut BTreeMap<u64, String>,
) {
    let (status, ack) = answered_post(poster, room, &client_id).await;
    assert_eq!(status, 200, "{ack}");
    let seq = ack["seq"].as_u64().expect("an acknowledgement has a seq");
    assert_eq!(acknowledged.insert(seq, client_id), None, "seq {seq} twice");
}

/// Waits until `count` statements on the database at `url` wait for a lock (10 s at most).
async fn until_waiting_for_a_lock(url: &str, count: i64) {
    let mut watcher = sqlx::PgConnection::connect(url)
        .await
        .expect("the test reaches the database");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut watcher)
        .await
        .expect("pg_stat_activity is read");
        if waiting >= count {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} of {count} posts wait for the room's lock after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watcher.close().await.ok();
}

/// Two instances, posters and subscribers on both, and the database server restarted in
/// `mode` while a post on each instance is in flight.
async fn restart_under_two_instances(mode: Shutdown) {
    let server = PostgresServer::start().await;
    let url = server.url();
    let settings = |config: &mut Config| {
        config.messages.messages_per_window = 0;
        // No periodic catch-up within the test: only the listener, once reconnected, and
        // the catch-up it runs then can carry posts across, so one that never comes back
        // fails the test instead of being covered.
        config.bus.catch_up_ms = 600_000;
        // The posts held up behind the test's lock wait for the restart, not a lock timeout.
        config.store.db_busy_timeout_ms = 60_000;
    };
    let first = TestApp::spawn_on_postgres(&url, settings).await;
    let second = TestApp::spawn_on_postgres(&url, settings).await;
    let mut minji = person(&first, "minji").await;
    let mut jisoo = person(&first, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let mut sockets = Vec::new();
    for app in [&first, &second] {
        for someone in [&minji, &jisoo] {
            sockets.push(subscribed(app, someone, room, Some(0)).await.0);
        }
    }
    // Minji posts through the first instance, Jisoo through the second.
    let mut posters = [on(&first, &minji), on(&second, &jisoo)];
    let mut acknowledged = BTreeMap::new();
    for n in 1..=5 {
        for (index, poster) in posters.iter_mut().enumerate() {
            let client_id = uuid(index as u32 * 1000 + n);
            post_acknowledged(poster, room, client_id, &mut acknowledged).await;
        }
    }

    // A post on each instance, held up behind a lock on the room's counter that the test
    // takes, so both are surely in flight when the server goes down.
    let mut holder = sqlx::PgConnection::connect(&url)
        .await
        .expect("the test reaches the database");
    let mut lock = holder.begin().await.expect("a transaction");
    sqlx::query("SELECT id FROM rooms WHERE id = $1 FOR UPDATE")
        .bind(room.0)
        .execute(&mut *lock)
        .await
        .expect("the room's row is locked");
    let mut held = Vec::new();
    for (index, app) in [&first, &second].into_iter().enumerate() {
        let mut browser = on(app, &posters[index]);
        let client_id = uuid(index as u32 * 1000 + 100);
        held.push(tokio::spawn(async move {
            let answer = answered_post(&mut browser, room, &client_id).await;
            (answer, client_id)
        }));
    }
    until_waiting_for_a_lock(&url, 2).await;
    let restarting = Instant::now();
    server.restart(mode).await;
    let restart = restarting.elapsed();
    // The lock died with its session; the handles only remain to be dropped.
    drop(lock);
    drop(holder);

    for (index, task) in held.into_iter().enumerate() {
        let ((status, body), client_id) = task.await.expect("the held post does not panic");
        // A fast shutdown ends the sessions one by one: the lock's may go first, and the post
        // then commit before its own session is ended. Either it was acknowledged, or it was
        // refused in a way the outbox acts on.
        let committed = (status == 200).then(|| body["seq"].as_u64().expect("an ack's seq"));
        if committed.is_none() {
            assert_refused_as_unavailable(status, &body);
        }
        // Sent again with the same client id, as the outbox does, it goes through, and a
        // post already committed comes back as itself, not as a second one.
        let seq = post_until_acknowledged(&mut posters[index], room, &client_id).await;
        if let Some(committed) = committed {
            assert_eq!(
                seq, committed,
                "the resend of a committed post is the same post"
            );
        }
        assert_eq!(acknowledged.insert(seq, client_id), None, "seq {seq} twice");
    }
    // Recovered: posts go through at the first attempt.
    for n in 6..=10 {
        for (index, poster) in posters.iter_mut().enumerate() {
            let client_id = uuid(index as u32 * 1000 + n);
            post_acknowledged(poster, room, client_id, &mut acknowledged).await;
        }
    }

    let total = acknowledged.len() as u64;
    assert_eq!(
        acknowledged.keys().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>(),
        "one number per post, no gap"
    );
    for (index, socket) in sockets.into_iter().enumerate() {
        let mut read = read_until(socket, total, Duration::from_secs(15)).await;
        assert_eq!(
            read.closed, None,
            "the socket stays open through the restart"
        );
        let who = format!("subscriber {index} ({mode:?})");
        assert_each_once_in_order(&who, &read.received, &acknowledged);
        assert_quiet(&mut read.socket).await;
    }
    for app in [&first, &second] {
        readiness_becomes(app, 200).await;
    }
    let total = total as i64;
    assert_eq!(
        stored(&url, room).await,
        Stored {
            messages: total,
            events: total,
            last_seq: total
        }
    );
    eprintln!("PostgreSQL restarted ({mode:?}) in {restart:?}");
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn posts_in_flight_when_postgresql_restarts_fast_fail_clearly_and_both_instances_recover() {
    restart_under_two_instances(Shutdown::Fast).await;
}

#[tokio::test]
async fn posts_in_flight_when_postgresql_restarts_immediately_fail_clearly_and_both_recover() {
    restart_under_two_instances(Shutdown::Immediate).await;
}

#[tokio::test]
async fn while_postgresql_is_down_a_post_is_refused_within_seconds_and_goes_through_once_it_is_back()
 {
    let server = PostgresServer::start().await;
    let url = server.url();
    let app = TestApp::spawn_on_postgres(&url, |config| {
        config.messages.messages_per_window = 0;
    })
    .await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let (mut reader, _) = subscribed(&app, &jisoo, room, Some(0)).await;

    server.stop(Shutdown::Fast).await;
    // The store's pool waits a few seconds for a connection, then the post is refused in a
    // way the browser's outbox acts on; not after sqlx's default 30 s.
    let asked = Instant::now();
    let (status, body) = answered_post(&mut minji, room, &uuid(1)).await;
    let waited = asked.elapsed();
    assert_refused_as_unavailable(status, &body);
    assert!(
        waited < Duration::from_secs(10),
        "refused only after {waited:?}"
    );
    readiness_becomes(&app, 503).await;

    server.start_again().await;
    let seq = post_until_acknowledged(&mut minji, room, &uuid(1)).await;
    assert_eq!(seq, 1, "the refused post was never stored");
    match reader.next_within(Duration::from_secs(10)).await {
        Some(ServerFrame::Message { message }) => assert_eq!(message.seq, 1),
        other => panic!("expected the post once it went through, got {other:?}"),
    }
    assert_quiet(&mut reader).await;
    readiness_becomes(&app, 200).await;
    app.shutdown().await;
}
