//! Presence and typing across two instances on one PostgreSQL database, with real WebSocket
//! clients on each: the "Online" list is the union over instances, a person joins once
//! however many instances their tabs are on, leaves only after their last socket anywhere
//! has ended and the grace period has passed, does not flap when a reload lands on the
//! other instance, and typing on one instance shows on the other.
//!
//! The in-process instances beat only once a minute, so what crosses within these tests'
//! waits crossed by notification, not by the periodic re-read. The real binary, with the
//! default beat, shows a SIGKILLed instance's people leave within the expiry's bound, and
//! the tables emptied under running instances (as a crash of PostgreSQL does) flap no one.

use std::net::SocketAddr;
use std::time::Duration;

use app::backend::roster::RosterTimings;
use app::backend::store::scratch::ScratchDatabase;
use app::model::RoomId;
use app::protocol::{ClientFrame, ServerFrame};
use server::Config;
use sqlx::Connection;
use tokio::time::Instant;

use crate::instances::two_instances;
use crate::support::TestApp;
use crate::support::binary::Sori;
use crate::support::browser::Browser;
use crate::support::chat::{PASSWORD, on, person, post, room_with, subscribe, subscribed, uuid};
use crate::support::socket::{Socket, names, next_presence};

const GRACE: Duration = Duration::from_millis(1_000);

/// Short presence timings, so the tests wait for seconds at most.
fn quick(config: &mut Config) {
    config.realtime.presence_grace_ms = GRACE.as_millis() as u64;
    config.realtime.typing_ttl_ms = TYPING.as_millis() as u64;
    // Only notifications can carry presence within a test's waits.
    config.bus.roster = RosterTimings {
        beat: Duration::from_secs(60),
        expiry: Duration::from_secs(120),
    };
}

const TYPING: Duration = Duration::from_millis(2_000);

/// How long a change on one instance may take to show on the other: the presence sender's
/// batch, a write, a notification and a read, on a busy machine (well below the beat).
const ACROSS: Duration = Duration::from_secs(3);

/// A socket of `browser` on `app`, present in `room`, with the online list it was sent.
async fn present(app: &TestApp, browser: &Browser, room: RoomId) -> (Socket, Vec<String>) {
    let (mut socket, _) = subscribed(app, browser, room, None).await;
    match next_presence(&mut socket, ACROSS).await {
        Some(ServerFrame::Presence { online, .. }) => {
            let online = names(&online).into_iter().map(str::to_owned).collect();
            (socket, online)
        }
        other => panic!("expected the online list, got {other:?}"),
    }
}

async fn assert_joins(socket: &mut Socket, name: &str) {
    match next_presence(socket, ACROSS).await {
        Some(ServerFrame::Joined { person, .. }) => assert_eq!(person.display_name, name),
        other => panic!("expected {name} to join, got {other:?}"),
    }
}

async fn assert_leaves(socket: &mut Socket, name: &str, within: Duration) {
    match next_presence(socket, within).await {
        Some(ServerFrame::Left { person, .. }) => assert_eq!(person.display_name, name),
        other => panic!("expected {name} to leave, got {other:?}"),
    }
}

/// No presence frame arrives within `wait`.
async fn assert_no_presence(socket: &mut Socket, wait: Duration, why: &str) {
    let frame = next_presence(socket, wait).await;
    assert!(frame.is_none(), "{why}: got {frame:?}");
}

/// Minji and Jisoo in one room, Minji's browser on the first instance and Jisoo's on the
/// second, and Hana who may use either.
struct Room {
    database: ScratchDatabase,
    first: TestApp,
    second: TestApp,
    room: RoomId,
    minji: Browser,
    jisoo: Browser,
    hana: Browser,
}

async fn room_on_two_instances() -> Room {
    let (database, first, second) = two_instances(quick).await;
    let mut minji = person(&first, "minji").await;
    let mut jisoo = person(&first, "jisoo").await;
    let mut hana = person(&first, "hana").await;
    let room = room_with(&mut minji, &mut [&mut jisoo, &mut hana]).await;
    let jisoo = on(&second, &jisoo);
    Room {
        database,
        first,
        second,
        room,
        minji,
        jisoo,
        hana,
    }
}

impl Room {
    /// Waits until the database holds `count` presence rows: a person's row is written
    /// just after their subscribe returns, and the other instance reads it from there.
    async fn rows_become(&self, count: i64) {
        rows_become(self.database.url(), count).await;
    }
}

async fn rows_become(url: &str, count: i64) {
    let mut connection = sqlx::PgConnection::connect(url)
        .await
        .expect("the test reaches the database");
    let deadline = Instant::now() + ACROSS;
    loop {
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM room_presence")
            .fetch_one(&mut connection)
            .await
            .expect("presence rows are counted");
        if rows == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{rows} presence rows, not {count}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_online_list_is_the_union_and_a_person_joins_once_however_many_instances_they_are_on() {
    let at = room_on_two_instances().await;
    let (mut minji, online) = present(&at.first, &at.minji, at.room).await;
    assert_eq!(online, ["minji"]);
    at.rows_become(1).await;

    let (mut jisoo, online) = present(&at.second, &at.jisoo, at.room).await;
    assert_eq!(
        online,
        ["jisoo", "minji"],
        "the list holds the other instance's people"
    );
    assert_joins(&mut minji, "jisoo").await;

    // Hana opens a tab on each instance: each watcher hears of her once.
    let (_hana_here, _) = present(&at.first, &at.hana, at.room).await;
    at.rows_become(3).await;
    let (_hana_there, online) = present(&at.second, &on(&at.second, &at.hana), at.room).await;
    assert_eq!(online, ["hana", "jisoo", "minji"], "one name per person");
    assert_joins(&mut minji, "hana").await;
    assert_joins(&mut jisoo, "hana").await;
    assert_no_presence(&mut minji, ACROSS, "her second tab does not join again").await;
    assert_no_presence(&mut jisoo, Duration::from_millis(200), "nor on the other").await;

    at.rows_become(4).await;
    let (_, online) = present(&at.second, &on(&at.second, &at.minji), at.room).await;
    assert_eq!(online, ["hana", "jisoo", "minji"]);
    at.first.shutdown().await;
    at.second.shutdown().await;
}

#[tokio::test]
async fn a_person_leaves_only_after_their_last_socket_on_any_instance_and_the_grace_period() {
    let at = room_on_two_instances().await;
    let (mut minji, _) = present(&at.first, &at.minji, at.room).await;
    let (mut jisoo, _) = present(&at.second, &at.jisoo, at.room).await;
    assert_joins(&mut minji, "jisoo").await;
    let (hana_here, _) = present(&at.first, &at.hana, at.room).await;
    let (hana_there, _) = present(&at.second, &on(&at.second, &at.hana), at.room).await;
    assert_joins(&mut minji, "hana").await;
    assert_joins(&mut jisoo, "hana").await;

    drop(hana_here);
    assert_no_presence(
        &mut minji,
        GRACE + ACROSS,
        "her tab on the other instance is open",
    )
    .await;
    assert_no_presence(&mut jisoo, Duration::from_millis(200), "nor there").await;

    drop(hana_there);
    assert_no_presence(&mut jisoo, GRACE / 2, "not before the grace period").await;
    assert_leaves(&mut jisoo, "hana", GRACE + ACROSS).await;
    assert_leaves(&mut minji, "hana", ACROSS).await;
    at.first.shutdown().await;
    at.second.shutdown().await;
}

#[tokio::test]
async fn a_reload_that_lands_on_the_other_instance_within_the_grace_period_does_not_flap() {
    let at = room_on_two_instances().await;
    let (mut minji, _) = present(&at.first, &at.minji, at.room).await;
    let (mut jisoo, _) = present(&at.second, &at.jisoo, at.room).await;
    assert_joins(&mut minji, "jisoo").await;
    let (hana, _) = present(&at.first, &at.hana, at.room).await;
    assert_joins(&mut minji, "hana").await;
    assert_joins(&mut jisoo, "hana").await;

    at.rows_become(3).await;
    drop(hana);
    let (_back, online) = present(&at.second, &on(&at.second, &at.hana), at.room).await;
    assert_eq!(online, ["hana", "jisoo", "minji"]);
    let settled = GRACE + ACROSS;
    assert_no_presence(&mut minji, settled, "she never left, on the first instance").await;
    assert_no_presence(&mut jisoo, Duration::from_millis(200), "nor on the second").await;
    at.first.shutdown().await;
    at.second.shutdown().await;
}

#[tokio::test]
async fn typing_on_one_instance_shows_on_the_other_expires_and_ends_with_the_post() {
    let mut at = room_on_two_instances().await;
    let (mut minji, _) = present(&at.first, &at.minji, at.room).await;
    let (mut jisoo, _) = present(&at.second, &at.jisoo, at.room).await;
    assert_joins(&mut minji, "jisoo").await;

    let typing = |frame: Option<ServerFrame>, expected: bool| match frame {
        Some(ServerFrame::Typing { person, typing, .. }) => {
            assert_eq!((person.display_name.as_str(), typing), ("jisoo", expected));
        }
        other => panic!("expected typing={expected}, got {other:?}"),
    };
    let room = at.room;
    jisoo.send(&ClientFrame::Typing { room }).await;
    typing(next_presence(&mut minji, ACROSS).await, true);
    // No more signals: it expires on its own there too.
    typing(next_presence(&mut minji, ACROSS).await, false);

    jisoo.send(&ClientFrame::Typing { room }).await;
    typing(next_presence(&mut minji, ACROSS).await, true);
    post(&mut at.jisoo, room, &uuid(1), "done typing").await;
    // The post and the end of typing, well within the typing's lifetime (so it is the post
    // that ends it), in either order.
    let deadline = tokio::time::Instant::now() + TYPING / 2;
    let (mut saw_stop, mut saw_post) = (false, false);
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match minji.next_any_within(left).await {
            Some(ServerFrame::Typing { typing: false, .. }) => saw_stop = true,
            Some(ServerFrame::Message { .. }) => saw_post = true,
            other => panic!("expected the post and the end of typing, got {other:?}"),
        }
    }
    assert!(saw_stop && saw_post);
    at.first.shutdown().await;
    at.second.shutdown().await;
}

/// The origin both real instances serve, as behind one load balancer (only a header).
const ORIGIN: &str = "http://sori.localhost";

/// A socket of `browser` on the real binary at `addr`, present in `room`, with the online
/// list it was sent.
async fn present_on(addr: &str, browser: &Browser, room: RoomId) -> (Socket, Vec<String>) {
    let addr: SocketAddr = addr.parse().expect("the server's address");
    let mut socket = Socket::open(addr, browser.cookie.as_deref(), Some(ORIGIN))
        .await
        .expect("the socket opens");
    subscribe(&mut socket, room, None).await;
    match next_presence(&mut socket, ACROSS).await {
        Some(ServerFrame::Presence { online, .. }) => {
            let online = names(&online).into_iter().map(str::to_owned).collect();
            (socket, online)
        }
        other => panic!("expected the online list, got {other:?}"),
    }
}

/// Two real instances with the default beat and expiry, on one fresh database, and Minji
/// and Jisoo signed up and in one room.
async fn two_binaries(
    database: &ScratchDatabase,
    dir: &std::path::Path,
) -> (Sori, Sori, Browser, Browser, RoomId) {
    let envs = [
        ("DATABASE_URL", database.url()),
        ("SORI_ADDR", "127.0.0.1:0"),
        ("SORI_PUBLIC_ORIGIN", ORIGIN),
        ("SORI_PRESENCE_GRACE_MS", "500"),
    ];
    let first = Sori::start(dir, &envs);
    let second = Sori::start(dir, &envs);
    let mut minji = Browser::new(&first.base());
    assert_eq!(minji.register("minji", PASSWORD).await.status(), 200);
    let mut jisoo = Browser::new(&first.base());
    assert_eq!(jisoo.register("jisoo", PASSWORD).await.status(), 200);
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    (first, second, minji, jisoo, room)
}

#[tokio::test]
async fn the_people_of_a_sigkilled_instance_leave_everywhere_within_the_expirys_bound() {
    let database = ScratchDatabase::create().await;
    let dir = tempfile::tempdir().expect("a working directory for the servers");
    let (survivor, mut doomed, minji, jisoo, room) = two_binaries(&database, dir.path()).await;
    let (mut watcher, _) = present_on(&survivor.addr, &minji, room).await;
    rows_become(database.url(), 1).await;
    let (_doomed_socket, online) = present_on(&doomed.addr, &jisoo, room).await;
    assert_eq!(online, ["jisoo", "minji"]);
    assert_joins(&mut watcher, "jisoo").await;

    doomed.kill();
    let killed = Instant::now();
    // The last beat set the expiry at most 10 s ahead; the survivor's beat reads within 3 s
    // after it. Ten seconds more, for a loaded machine.
    let bound = RosterTimings::default().expiry + RosterTimings::default().beat;
    assert_leaves(&mut watcher, "jisoo", bound + Duration::from_secs(10)).await;
    let after = killed.elapsed();
    eprintln!("a SIGKILLed instance's person left after {after:?} (bound {bound:?})");
    assert!(
        after >= Duration::from_secs(5),
        "left after {after:?}: before the dead instance's expiry could have passed, so \
         something other than the expiry removed them"
    );
}

#[tokio::test]
async fn emptying_the_presence_tables_under_running_instances_flaps_no_one_and_they_are_rewritten()
{
    let database = ScratchDatabase::create().await;
    let dir = tempfile::tempdir().expect("a working directory for the servers");
    let (first, second, minji, jisoo, room) = two_binaries(&database, dir.path()).await;
    let (mut minji_socket, _) = present_on(&first.addr, &minji, room).await;
    rows_become(database.url(), 1).await;
    let (mut jisoo_socket, online) = present_on(&second.addr, &jisoo, room).await;
    assert_eq!(online, ["jisoo", "minji"]);
    assert_joins(&mut minji_socket, "jisoo").await;
    rows_become(database.url(), 2).await;

    // What a crash of PostgreSQL does to the unlogged tables.
    let mut connection = sqlx::PgConnection::connect(database.url())
        .await
        .expect("the test reaches the database");
    sqlx::query("TRUNCATE instance_heartbeats, room_presence")
        .execute(&mut connection)
        .await
        .expect("the presence tables are emptied");

    // Each instance finds its heartbeat gone at its next beat and writes its rows again.
    let beat = RosterTimings::default().beat;
    let deadline = Instant::now() + beat * 2 + ACROSS;
    loop {
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM room_presence")
            .fetch_one(&mut connection)
            .await
            .expect("presence rows are counted");
        if rows == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rows were not written again: {rows}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // And nobody saw anyone leave or join meanwhile, nor for a beat after.
    assert_no_presence(
        &mut minji_socket,
        beat + ACROSS,
        "no flap on the first instance",
    )
    .await;
    assert_no_presence(
        &mut jisoo_socket,
        Duration::from_millis(200),
        "nor on the second",
    )
    .await;
}

#[tokio::test]
async fn someone_who_left_one_instance_and_comes_back_on_the_other_joins_again() {
    let at = room_on_two_instances().await;
    let (mut minji, _) = present(&at.first, &at.minji, at.room).await;
    let (hana, _) = present(&at.first, &at.hana, at.room).await;
    assert_joins(&mut minji, "hana").await;
    drop(hana);
    assert_leaves(&mut minji, "hana", GRACE + ACROSS).await;
    let (_back, online) = present(&at.second, &on(&at.second, &at.hana), at.room).await;
    assert_eq!(online, ["hana", "minji"]);
    assert_joins(&mut minji, "hana").await;
    at.first.shutdown().await;
    at.second.shutdown().await;
}

#[tokio::test]
async fn reloads_landing_here_and_there_within_the_grace_period_announce_one_join_only() {
    let at = room_on_two_instances().await;
    let (mut watcher, _) = present(&at.first, &at.minji, at.room).await;
    at.rows_become(1).await;
    // A person reloading again and again, each page landing on either instance; each new
    // socket comes well within the grace period after the last one closed.
    for app in [&at.first, &at.first, &at.second, &at.first, &at.second] {
        let (tab, online) = present(app, &on(app, &at.jisoo), at.room).await;
        assert_eq!(online, ["jisoo", "minji"]);
        drop(tab);
    }
    let (_tab, online) = present(&at.second, &at.jisoo, at.room).await;
    assert_eq!(online, ["jisoo", "minji"]);
    assert_joins(&mut watcher, "jisoo").await;
    assert_no_presence(&mut watcher, GRACE + ACROSS, "she never left").await;
    let (_, online) = present(&at.first, &on(&at.first, &at.minji), at.room).await;
    assert_eq!(online, ["jisoo", "minji"]);
    at.first.shutdown().await;
    at.second.shutdown().await;
}
