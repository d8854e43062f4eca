//! Several instances on one PostgreSQL database, with real WebSocket clients on each: what
//! one instance commits reaches the others' subscribers once and in order, through hints
//! or, when hints are lost, through catch-up; access ended on one instance ends the
//! subscriptions and sockets held on the others at once; an instance whose notifications
//! cannot arrive refuses to start.
//!
//! Each test makes a database of its own on `SORI_TEST_POSTGRES_URL` (run the tests under
//! `scripts/with-postgres.sh`); without the variable they fail, saying so.

use std::collections::HashMap;
use std::time::Duration;

use app::backend::store::scratch::ScratchDatabase;
use app::model::RoomId;
use app::protocol::{ClientFrame, ServerFrame, UnsubscribeReason, close};
use server::Config;
use sqlx::Connection;

use crate::cli::{assert_one_line_failure, sori};
use crate::support::browser::Browser;
use crate::support::chat::{
    PASSWORD, assert_quiet, call_json, on, person, post, room_with, subscribed, uuid,
};
use crate::support::postgres::stored;
use crate::support::socket::{Closed, Socket};
use crate::support::{TestApp, readiness_becomes};

/// Two instances on one fresh database, with no posting limit.
pub async fn two_instances(
    adjust: impl Fn(&mut Config) + Copy,
) -> (ScratchDatabase, TestApp, TestApp) {
    let database = ScratchDatabase::create().await;
    let settings = move |config: &mut Config| {
        config.messages.messages_per_window = 0;
        adjust(config);
    };
    let first = TestApp::spawn_on_postgres(database.url(), settings).await;
    let second = TestApp::spawn_on_postgres(database.url(), settings).await;
    (database, first, second)
}

/// The `seq` of every change frame arriving within `wait` of the previous one, until
/// `count` have arrived (or none comes in time).
async fn changes(socket: &mut Socket, count: usize, wait: Duration) -> Vec<u64> {
    let mut seqs = Vec::new();
    while seqs.len() < count {
        match socket.next_within(wait).await {
            Some(ServerFrame::Message { message }) => seqs.push(message.seq),
            Some(ServerFrame::Changed { seq, .. }) => seqs.push(seq),
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    seqs
}

/// Catch-up so rare that only hints can deliver within a test: a broken hint path fails.
fn hints_only(config: &mut Config) {
    config.bus.catch_up_ms = 600_000;
}

#[tokio::test]
async fn a_change_on_either_instance_reaches_subscribers_on_both_once_and_in_order() {
    let (_database, first, second) = two_instances(hints_only).await;
    let mut minji = person(&first, "minji").await;
    let mut jisoo = person(&first, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let mut jisoo = on(&second, &jisoo);
    let (mut here, _) = subscribed(&first, &minji, room, Some(0)).await;
    let (mut there, _) = subscribed(&second, &jisoo, room, Some(0)).await;

    for n in 1..=6 {
        let (status, ack) = if n % 2 == 1 {
            post(&mut minji, room, &uuid(n), "from the first").await
        } else {
            post(&mut jisoo, room, &uuid(n), "from the second").await
        };
        assert_eq!(
            (status, ack["seq"].as_u64()),
            (200, Some(u64::from(n))),
            "{ack}"
        );
    }
    let id = {
        let (_, ack) = post(&mut jisoo, room, &uuid(7), "typo").await;
        ack["id"].as_i64().unwrap().to_string()
    };
    let form = [("id", id.as_str()), ("body", "fixed")];
    let (status, edited) = call_json(&mut jisoo, "messages/edit", &form).await;
    assert_eq!(status, 200, "{edited}");
    let (status, _) = call_json(&mut jisoo, "messages/delete", &[("id", &id)]).await;
    assert_eq!(status, 200);

    let every: Vec<u64> = (1..=9).collect();
    for socket in [&mut here, &mut there] {
        assert_eq!(changes(socket, 9, Duration::from_secs(5)).await, every);
        assert_quiet(socket).await;
    }
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn concurrent_posters_on_both_instances_leave_no_gap_and_no_duplicate() {
    const PER_POSTER: u32 = 15;
    let (database, first, second) = two_instances(hints_only).await;
    let mut owner = person(&first, "owner").await;
    let mut posters = Vec::new();
    for name in ["first1", "first2", "second1", "second2"] {
        posters.push(person(&first, name).await);
    }
    let room = {
        let mut others: Vec<&mut Browser> = posters.iter_mut().collect();
        room_with(&mut owner, &mut others).await
    };
    let (mut here, _) = subscribed(&first, &owner, room, Some(0)).await;
    let (mut there, _) = subscribed(&second, &on(&second, &owner), room, Some(0)).await;

    let mut tasks = Vec::new();
    for (index, poster) in posters.iter().enumerate() {
        let app = if index < 2 { &first } else { &second };
        let mut browser = on(app, poster);
        tasks.push(tokio::spawn(async move {
            for n in 0..PER_POSTER {
                let client_id = uuid(index as u32 * 1000 + n);
                let (status, ack) = post(&mut browser, room, &client_id, "busy").await;
                assert_eq!(status, 200, "{ack}");
            }
        }));
    }
    for task in tasks {
        task.await.expect("every poster finishes");
    }

    let total = 4 * PER_POSTER as usize;
    let every: Vec<u64> = (1..=total as u64).collect();
    for socket in [&mut here, &mut there] {
        assert_eq!(changes(socket, total, Duration::from_secs(5)).await, every);
        assert_quiet(socket).await;
    }
    let stored = stored(database.url(), room).await;
    assert_eq!(
        (stored.events, stored.last_seq),
        (total as i64, total as i64)
    );
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn sockets_subscribing_on_one_instance_while_the_other_posts_miss_nothing() {
    const POSTS: u32 = 40;
    // Frequent catch-up: rooms are forgotten soon after their last socket leaves, and
    // tracked afresh by the next one, while posts keep arriving.
    let (_database, first, second) = two_instances(|config| config.bus.catch_up_ms = 20).await;
    let mut poster = person(&first, "poster").await;
    let mut reader = person(&first, "reader").await;
    let room = room_with(&mut poster, &mut [&mut reader]).await;
    let reader = on(&second, &reader);

    let posting = tokio::spawn(async move {
        for n in 1..=POSTS {
            let (status, ack) = post(&mut poster, room, &uuid(n), "meanwhile").await;
            assert_eq!(status, 200, "{ack}");
        }
    });
    // Sockets arrive one after another while the posts land; every other one leaves at
    // once, so the room also goes untracked and tracked again under load.
    let mut kept = Vec::new();
    for index in 0..8 {
        let mut socket = second.socket(&reader).await;
        socket
            .send(&ClientFrame::Subscribe {
                room,
                after_seq: Some(0),
                quiet: false,
            })
            .await;
        if index % 2 == 0 {
            kept.push(socket);
        } else {
            // Gone once subscribed, so the room may be forgotten and tracked again.
            while !matches!(socket.next().await, ServerFrame::Subscribed { .. }) {}
        }
    }
    posting.await.expect("the poster finishes");

    let every: Vec<u64> = (1..=u64::from(POSTS)).collect();
    for socket in &mut kept {
        // The replay and the live events together, without the frames around them.
        let mut seqs = Vec::new();
        while seqs.len() < every.len() {
            match socket.next_within(Duration::from_secs(5)).await {
                Some(ServerFrame::Message { message }) => seqs.push(message.seq),
                Some(ServerFrame::Hello { .. } | ServerFrame::Subscribed { .. }) => {}
                Some(ServerFrame::Presence { .. } | ServerFrame::Joined { .. }) => {}
                other => panic!("unexpected {other:?} after {seqs:?}"),
            }
        }
        assert_eq!(seqs, every, "each socket gets every post once, in order");
        // What trails them may confirm the subscription, never repeat a post.
        while let Some(frame) = socket.next_within(Duration::from_millis(300)).await {
            assert!(
                matches!(
                    frame,
                    ServerFrame::Subscribed { .. } | ServerFrame::Presence { .. }
                ),
                "a frame too many: {frame:?}"
            );
        }
    }
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn sign_in_attempts_spread_over_two_instances_share_one_allowance() {
    let (_database, first, second) =
        two_instances(|config| config.auth.sign_in_per_minute = 3).await;
    person(&first, "minji").await;
    // Wrong passwords, alternating between the instances: three in all get an answer.
    for attempt in 0..3 {
        let app = if attempt % 2 == 0 { &first } else { &second };
        let status = app
            .browser()
            .sign_in("minji", "not the password")
            .await
            .status();
        assert_eq!(status, 401, "attempt {attempt} is counted, not refused");
    }
    for app in [&first, &second] {
        let status = app
            .browser()
            .sign_in("minji", "not the password")
            .await
            .status();
        assert_eq!(status, 429, "the deployment's allowance is spent");
    }
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn with_every_hint_dropped_catch_up_alone_delivers_within_its_interval() {
    const CATCH_UP_MS: u64 = 300;
    let (_database, first, second) = two_instances(|config| {
        config.bus.catch_up_ms = CATCH_UP_MS;
        config.bus.drop_hints = true;
    })
    .await;
    let mut minji = person(&first, "minji").await;
    let room = room_with(&mut minji, &mut []).await;
    let (mut here, _) = subscribed(&first, &minji, room, Some(0)).await;
    let (mut there, _) = subscribed(&second, &on(&second, &minji), room, Some(0)).await;

    let mut sent = HashMap::new();
    for n in 1..=3 {
        let (status, ack) = post(&mut minji, room, &uuid(n), "no hint").await;
        assert_eq!(status, 200, "{ack}");
        sent.insert(ack["seq"].as_u64().unwrap(), n);
    }
    // The posting instance delivers its own at once; the other learns only from catch-up,
    // which must come within a few intervals (a bound, not a sleep).
    let bound = Duration::from_millis(CATCH_UP_MS * 4);
    assert_eq!(
        changes(&mut here, 3, Duration::from_secs(5)).await,
        [1, 2, 3]
    );
    assert_eq!(changes(&mut there, 3, bound).await, [1, 2, 3]);
    assert_quiet(&mut there).await;
    assert_eq!(sent.len(), 3);
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn healthz_tells_two_instances_on_one_database_apart() {
    let (_database, first, second) = two_instances(|_| {}).await;
    let mut ids = Vec::new();
    for app in [&first, &second] {
        let body: serde_json::Value = app
            .client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "the database and the listener are up");
        ids.push(body["instance"].as_str().unwrap().to_owned());
    }
    assert_ne!(ids[0], ids[1]);
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn an_instance_that_cannot_listen_refuses_to_start_naming_the_setting() {
    let database = ScratchDatabase::create().await;
    let url = database.url().to_owned();
    // Nothing listens on port 1: the listening connection cannot open. The binary runs on
    // a thread of its own, as `cli` runs it, so the test's runtime keeps turning.
    let output = tokio::task::spawn_blocking(move || {
        sori(
            &[
                ("DATABASE_URL", &url),
                (
                    "SORI_LISTEN_DATABASE_URL",
                    "postgres://postgres@127.0.0.1:1/none",
                ),
            ],
            &[],
        )
    })
    .await
    .unwrap();
    assert_one_line_failure(&output, &["SORI_LISTEN_DATABASE_URL", "127.0.0.1:1"]);
}

/// Two instances where neither hints nor the periodic catch-up can deliver within a test,
/// and a post on the first that a subscriber on the second (the socket) has not heard of.
async fn unheard() -> (ScratchDatabase, TestApp, TestApp, Socket) {
    let (database, first, second) = two_instances(|config| {
        config.bus.catch_up_ms = 600_000;
        config.bus.drop_hints = true;
    })
    .await;
    let mut minji = person(&first, "minji").await;
    let room = room_with(&mut minji, &mut []).await;
    let (there, _) = subscribed(&second, &on(&second, &minji), room, Some(0)).await;
    let (status, ack) = post(&mut minji, room, &uuid(1), "while nobody hears").await;
    assert_eq!(status, 200, "{ack}");
    (database, first, second, there)
}

#[tokio::test]
async fn a_listener_that_reconnects_catches_up_at_once() {
    let (database, first, second, mut there) = unheard().await;
    assert!(
        there
            .next_within(Duration::from_millis(300))
            .await
            .is_none(),
        "no hint, no catch-up yet"
    );

    // The database ends the listening connections (as a restart or a proxy would).
    let mut connection = sqlx::PgConnection::connect(database.url()).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = $1",
    )
    .bind(app::backend::bus::LISTENER_NAME)
    .fetch_all(&mut connection)
    .await
    .unwrap();
    assert_eq!(ended, [true, true], "one listener per instance");
    connection.close().await.ok();

    assert_eq!(changes(&mut there, 1, Duration::from_secs(10)).await, [1]);
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn readyz_answers_503_while_the_listener_is_down_and_delivery_resumes_after() {
    let (database, first, second, mut there) = unheard().await;

    // The listeners lose their connections and cannot get new ones for a while; the
    // pools' open connections keep serving requests.
    // From the server's own database: one cannot bar connections to the one it is on.
    let server = std::env::var(app::backend::store::scratch::SERVER_VARIABLE).unwrap();
    let mut connection = sqlx::PgConnection::connect(&server).await.unwrap();
    let name = database.url().rsplit('/').next().unwrap().to_owned();
    let allow = |yes: bool| format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {yes}");
    sqlx::query(&allow(false))
        .execute(&mut connection)
        .await
        .unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND application_name = $2",
    )
    .bind(&name)
    .bind(app::backend::bus::LISTENER_NAME)
    .execute(&mut connection)
    .await
    .unwrap();
    let body = readiness_becomes(&second, 503).await;
    assert_eq!(body["reason"], "listener", "{body}");

    sqlx::query(&allow(true))
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.ok();
    readiness_becomes(&second, 200).await;
    assert_eq!(changes(&mut there, 1, Duration::from_secs(10)).await, [1]);
    first.shutdown().await;
    second.shutdown().await;
}

/// How long "at once" may take across instances: a NOTIFY and a hub call, with room for a
/// loaded machine. Catch-up (every 600 s here) cannot deliver within it.
const AT_ONCE: Duration = Duration::from_secs(2);

/// The next frame other than presence, which must come within [`AT_ONCE`].
async fn at_once(socket: &mut Socket) -> ServerFrame {
    match socket.next_within(AT_ONCE).await {
        Some(frame) => frame,
        None => panic!("nothing arrived within {AT_ONCE:?}"),
    }
}

async fn user_id(browser: &mut Browser) -> String {
    let (_, me) = call_json(browser, "me", &[]).await;
    me["id"].as_i64().expect("signed in").to_string()
}

#[tokio::test]
async fn a_removal_on_one_instance_ends_the_members_subscription_on_the_other_at_once() {
    let (_database, first, second) = two_instances(hints_only).await;
    let mut owner = person(&first, "owner").await;
    let mut removed = person(&first, "removed").await;
    let mut staying = person(&first, "staying").await;
    let room = room_with(&mut owner, &mut [&mut removed, &mut staying]).await;
    let removed_id = user_id(&mut removed).await;
    let (mut gone, _) = subscribed(&second, &on(&second, &removed), room, None).await;
    let (mut kept, _) = subscribed(&second, &on(&second, &staying), room, None).await;

    let id = room.to_string();
    let form = [("id", id.as_str()), ("user", removed_id.as_str())];
    let (status, body) = call_json(&mut owner, "rooms/remove_member", &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        at_once(&mut gone).await,
        ServerFrame::Unsubscribed {
            room,
            reason: UnsubscribeReason::AccessEnded
        }
    );

    let (status, ack) = post(&mut owner, room, &uuid(1), "after the removal").await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(
        changes(&mut kept, 1, AT_ONCE).await,
        [1],
        "the others keep receiving"
    );
    assert_quiet(&mut gone).await;
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn leaving_on_one_instance_ends_the_same_persons_subscription_on_the_other_at_once() {
    let (_database, first, second) = two_instances(hints_only).await;
    let mut owner = person(&first, "owner").await;
    let mut leaver = person(&first, "leaver").await;
    let room = room_with(&mut owner, &mut [&mut leaver]).await;
    let (mut there, _) = subscribed(&second, &on(&second, &leaver), room, None).await;

    let id = room.to_string();
    let (status, body) = call_json(&mut leaver, "rooms/leave", &[("id", &id)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        at_once(&mut there).await,
        ServerFrame::Unsubscribed {
            room,
            reason: UnsubscribeReason::Left
        }
    );
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn deleting_a_room_on_one_instance_ends_its_subscriptions_on_the_other_at_once() {
    let (_database, first, second) = two_instances(hints_only).await;
    let mut owner = person(&first, "owner").await;
    let mut member = person(&first, "member").await;
    let room = room_with(&mut owner, &mut [&mut member]).await;
    let (mut members, _) = subscribed(&second, &on(&second, &member), room, None).await;
    let (mut owners, _) = subscribed(&second, &on(&second, &owner), room, None).await;

    let id = room.to_string();
    let (status, body) = call_json(&mut owner, "rooms/delete", &[("id", &id)]).await;
    assert_eq!(status, 200, "{body}");
    let deleted = ServerFrame::Unsubscribed {
        room,
        reason: UnsubscribeReason::RoomDeleted,
    };
    assert_eq!(at_once(&mut members).await, deleted);
    assert_eq!(at_once(&mut owners).await, deleted);
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn signing_out_everywhere_on_one_instance_closes_the_sockets_on_the_other_with_4003() {
    let (_database, first, second) = two_instances(hints_only).await;
    let mut minji = person(&first, "minji").await;
    let jisoo = person(&first, "jisoo").await;
    let mut hers = second.socket(&on(&second, &minji)).await;
    let mut other = second.socket(&on(&second, &jisoo)).await;
    for socket in [&mut hers, &mut other] {
        assert!(matches!(socket.next().await, ServerFrame::Hello { .. }));
    }

    let (status, body) = call_json(&mut minji, "sign_out_everywhere", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        hers.closed().await,
        Closed::Code(close::SESSION_ENDED, "signed out".into())
    );
    // Another person's socket on that instance stays open: it still answers a request.
    let fetch = ClientFrame::Fetch {
        room: RoomId(i64::MAX),
        after_seq: 0,
        until_seq: 2,
    };
    other.send(&fetch).await;
    let answer = at_once(&mut other).await;
    assert!(matches!(answer, ServerFrame::Error { .. }), "{answer:?}");
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn deleting_the_account_on_one_instance_closes_its_sockets_on_the_other_with_4003() {
    let (_database, first, second) = two_instances(hints_only).await;
    let mut minji = person(&first, "minji").await;
    let mut there = second.socket(&on(&second, &minji)).await;
    assert!(matches!(there.next().await, ServerFrame::Hello { .. }));

    let form = [("current_password", PASSWORD)];
    let (status, body) = call_json(&mut minji, "delete_account", &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        there.closed().await,
        Closed::Code(close::SESSION_ENDED, "signed out".into())
    );
    first.shutdown().await;
    second.shutdown().await;
}
