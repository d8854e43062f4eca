//! Access that ends, ending everywhere: a room made private stops its readers at once and a
//! `Fetch` re-checks access; a session's end closes that session's sockets (sign-out here,
//! a password change elsewhere, expiry at the next heartbeat, on every instance); a
//! session has an absolute lifetime; a store that cannot answer a subscription says so.
//!
//! The two-instance and the PostgreSQL tests need `SORI_TEST_POSTGRES_URL` or the
//! PostgreSQL binaries (run them under `scripts/with-postgres.sh`), like `instances`.

use std::time::Duration;

use app::backend::clock::Clock;
use app::model::{RoomId, Visibility};
use app::protocol::{ClientFrame, ProtocolError, ServerFrame, UnsubscribeReason, close};
use serde_json::Value;

use crate::instances::two_instances;
use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::chat::{
    PASSWORD, assert_quiet, call_json, on, person, post, room_with, subscribed, uuid,
};
use crate::support::postgres::{PostgresServer, Shutdown};
use crate::support::socket::{Closed, Socket};

/// How long "at once" may take on a loaded machine; nothing that waits for a heartbeat or a
/// catch-up can arrive within it in these tests.
const AT_ONCE: Duration = Duration::from_secs(2);

async fn at_once(socket: &mut Socket) -> ServerFrame {
    match socket.next_within(AT_ONCE).await {
        Some(frame) => frame,
        None => panic!("nothing arrived within {AT_ONCE:?}"),
    }
}

/// The owner makes the public room "Chat" private through the settings form.
async fn make_private(owner: &mut Browser, room: RoomId) {
    let id = room.to_string();
    let form = [
        ("id", id.as_str()),
        ("name", "Chat"),
        ("topic", ""),
        ("private", "on"),
    ];
    let (status, body) = call_json(owner, "rooms/update", &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["visibility"], "private", "{body}");
}

/// A socket that still answers: a fetch of a room it does not follow gets an error frame.
async fn assert_open(socket: &mut Socket) {
    let fetch = ClientFrame::Fetch {
        room: RoomId(i64::MAX),
        after_seq: 0,
        until_seq: 2,
    };
    socket.send(&fetch).await;
    let answer = at_once(socket).await;
    assert!(matches!(answer, ServerFrame::Error { .. }), "{answer:?}");
}

/// A second session of the person `first` signed in as (another device).
async fn second_session(app: &TestApp, username: &str) -> Browser {
    let mut browser = app.browser();
    assert_eq!(browser.sign_in(username, PASSWORD).await.status(), 200);
    browser
}

fn ended(room: RoomId) -> ServerFrame {
    ServerFrame::Unsubscribed {
        room,
        reason: UnsubscribeReason::AccessEnded,
    }
}

#[tokio::test]
async fn a_room_made_private_ends_the_readers_subscriptions_at_once_and_keeps_the_members() {
    let app = TestApp::spawn().await;
    let mut owner = person(&app, "owner").await;
    let mut member = person(&app, "member").await;
    let reader = person(&app, "reader").await;
    let room = room_with(&mut owner, &mut [&mut member]).await;
    let (mut reading, _) = subscribed(&app, &reader, room, None).await;
    let (mut members, _) = subscribed(&app, &member, room, None).await;

    make_private(&mut owner, room).await;
    assert_eq!(at_once(&mut reading).await, ended(room));
    let (status, ack) = post(&mut owner, room, &uuid(1), "members only now").await;
    assert_eq!(status, 200, "{ack}");
    match at_once(&mut members).await {
        ServerFrame::Message { message } => assert_eq!(message.seq, 1),
        other => panic!("the member should keep receiving, got {other:?}"),
    }
    assert_quiet(&mut reading).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_fetch_checks_read_access_again_so_a_subscription_from_public_days_reads_no_more() {
    let app = TestApp::spawn().await;
    let mut owner = person(&app, "owner").await;
    let reader = person(&app, "reader").await;
    let room = room_with(&mut owner, &mut []).await;
    post(&mut owner, room, &uuid(1), "public news").await;
    let (mut reading, _) = subscribed(&app, &reader, room, None).await;
    // Made private behind the service's back: as if the notice ending the reader's
    // subscription had been lost on its way to this instance.
    app.backend
        .store()
        .update_room(room, "Chat", "", Visibility::Private)
        .await
        .expect("the room is updated");

    reading
        .send(&ClientFrame::Fetch {
            room,
            after_seq: 0,
            until_seq: 2,
        })
        .await;
    assert_eq!(at_once(&mut reading).await, ended(room));
    assert_quiet(&mut reading).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_room_made_private_on_one_instance_ends_its_readers_subscriptions_on_the_other() {
    let (_database, first, second) = two_instances(|config| {
        config.bus.catch_up_ms = 600_000;
    })
    .await;
    let mut owner = person(&first, "owner").await;
    let mut member = person(&first, "member").await;
    let reader = person(&first, "reader").await;
    let room = room_with(&mut owner, &mut [&mut member]).await;
    let (mut reading, _) = subscribed(&second, &on(&second, &reader), room, None).await;
    let (mut members, _) = subscribed(&second, &on(&second, &member), room, None).await;

    make_private(&mut owner, room).await;
    assert_eq!(at_once(&mut reading).await, ended(room));
    assert_quiet(&mut members).await;
    assert_open(&mut members).await;
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn signing_out_closes_that_sessions_sockets_and_not_the_other_sessions() {
    let app = TestApp::spawn().await;
    let mut here = person(&app, "minji").await;
    let elsewhere = second_session(&app, "minji").await;
    let mut signed_out = app.socket(&here).await;
    let mut other_device = app.socket(&elsewhere).await;
    for socket in [&mut signed_out, &mut other_device] {
        assert!(matches!(socket.next().await, ServerFrame::Hello { .. }));
    }

    let response = here.call("sign_out", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        signed_out.closed().await,
        Closed::Code(close::SESSION_ENDED, "signed out".into())
    );
    assert_open(&mut other_device).await;
    app.shutdown().await;
}

#[tokio::test]
async fn signing_in_again_in_the_same_browser_closes_the_previous_sessions_sockets_at_once() {
    let app = TestApp::spawn().await;
    let mut browser = person(&app, "minji").await;
    let _other_account = person(&app, "jisoo").await;
    let elsewhere = second_session(&app, "minji").await;
    let mut previous = app.socket(&browser).await;
    let mut other_device = app.socket(&elsewhere).await;
    for socket in [&mut previous, &mut other_device] {
        assert!(matches!(socket.next().await, ServerFrame::Hello { .. }));
    }

    // Someone else signs in on this browser: minji's session here ends, sockets and all.
    assert_eq!(browser.sign_in("jisoo", PASSWORD).await.status(), 200);
    let closed = tokio::time::timeout(AT_ONCE, previous.closed()).await;
    assert_eq!(
        closed.expect("closed at once, not at a heartbeat"),
        Closed::Code(close::SESSION_ENDED, "signed out".into())
    );
    assert_open(&mut other_device).await;
    app.shutdown().await;
}

#[tokio::test]
async fn changing_the_password_closes_the_other_sessions_sockets_and_keeps_this_ones() {
    let app = TestApp::spawn().await;
    let mut here = person(&app, "minji").await;
    let elsewhere = second_session(&app, "minji").await;
    let mut current = app.socket(&here).await;
    let mut stolen = app.socket(&elsewhere).await;
    for socket in [&mut current, &mut stolen] {
        assert!(matches!(socket.next().await, ServerFrame::Hello { .. }));
    }

    let form = [
        ("current_password", PASSWORD),
        ("new_password", "another horse battery staple"),
    ];
    let (status, body) = call_json(&mut here, "change_password", &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        stolen.closed().await,
        Closed::Code(close::SESSION_ENDED, "signed out".into())
    );
    assert_open(&mut current).await;
    app.shutdown().await;
}

#[tokio::test]
async fn signing_out_on_one_instance_closes_that_sessions_sockets_on_the_other() {
    let (_database, first, second) = two_instances(|config| {
        config.bus.catch_up_ms = 600_000;
    })
    .await;
    let mut here = person(&first, "minji").await;
    let elsewhere = second_session(&first, "minji").await;
    let mut signed_out = second.socket(&on(&second, &here)).await;
    let mut other_device = second.socket(&on(&second, &elsewhere)).await;
    for socket in [&mut signed_out, &mut other_device] {
        assert!(matches!(socket.next().await, ServerFrame::Hello { .. }));
    }

    assert_eq!(here.call("sign_out", &[]).await.status(), 200);
    let closed = tokio::time::timeout(AT_ONCE, signed_out.closed()).await;
    assert_eq!(
        closed.expect("closed at once, not at a heartbeat"),
        Closed::Code(close::SESSION_ENDED, "signed out".into())
    );
    assert_open(&mut other_device).await;
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test]
async fn an_expired_sessions_socket_closes_at_its_next_heartbeat() {
    let clock = Clock::manual(1_700_000_000_000);
    let app = TestApp::spawn_with_clock(clock.clone(), |config| {
        config.auth.session_idle_secs = 3_600;
        config.realtime.heartbeat_ms = 200;
    })
    .await;
    let minji = person(&app, "minji").await;
    let mut socket = app.socket(&minji).await;
    assert!(matches!(socket.next().await, ServerFrame::Hello { .. }));
    // Alive through several heartbeats while the session is.
    assert_eq!(socket.next_within(Duration::from_millis(700)).await, None);

    clock.advance(Duration::from_secs(3_601));
    // A bound of its own: `closed` waits 5 s per frame, and the pings keep coming. 5 s is
    // many heartbeats.
    let closed = tokio::time::timeout(Duration::from_secs(5), socket.closed()).await;
    assert_eq!(
        closed.expect("closed within a few heartbeats"),
        Closed::Code(close::SESSION_ENDED, "session expired".into())
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_though_used_all_along() {
    let clock = Clock::manual(1_700_000_000_000);
    let app = TestApp::spawn_with_clock(clock.clone(), |config| {
        config.auth.session_idle_secs = 3_600;
        config.auth.session_refresh_secs = 60;
        config.auth.session_max_secs = 7_200;
    })
    .await;
    let mut browser = app.browser();
    browser.register("minji", PASSWORD).await;
    for _ in 0..2 {
        clock.advance(Duration::from_secs(3_000));
        assert_eq!(
            browser.me().await["username"],
            "minji",
            "used within the idle hour and the two hours in all"
        );
    }
    clock.advance(Duration::from_secs(1_300));
    assert_eq!(
        browser.me().await,
        Value::Null,
        "7,300 s after sign-in, though used 1,300 s ago"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_subscription_the_store_cannot_answer_is_refused_as_unavailable_not_as_unknown() {
    let server = PostgresServer::start().await;
    let app = TestApp::spawn_on_postgres(&server.url(), |_| {}).await;
    let mut owner = person(&app, "owner").await;
    let room = room_with(&mut owner, &mut []).await;
    let mut socket = app.socket(&owner).await;
    assert!(matches!(socket.next().await, ServerFrame::Hello { .. }));

    server.stop(Shutdown::Fast).await;
    socket.subscribe_live(room).await;
    // The pool waits a few seconds for a connection before the access check fails.
    let answer = socket.next_within(Duration::from_secs(15)).await;
    assert_eq!(
        answer,
        Some(ServerFrame::Error {
            error: ProtocolError::Unavailable { room }
        }),
        "the refusal names the room, so the browser knows which to subscribe again"
    );
    server.start_again().await;
    let (_, last_seq) = subscribe_again(&mut socket, room).await;
    assert_eq!(last_seq, 0, "the room was there all along");
    app.shutdown().await;
}

/// Subscribes an open socket (past its hello) to `room` until the store answers again.
async fn subscribe_again(socket: &mut Socket, room: RoomId) -> (Vec<ServerFrame>, u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        socket
            .send(&ClientFrame::Subscribe {
                room,
                after_seq: None,
                quiet: true,
            })
            .await;
        let mut seen = Vec::new();
        while let Some(frame) = socket.next_within(Duration::from_secs(10)).await {
            match frame {
                ServerFrame::Subscribed { last_seq, .. } => return (seen, last_seq),
                ServerFrame::Error {
                    error: ProtocolError::Unavailable { room: refused },
                } if refused == room => break,
                other => seen.push(other),
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never subscribed once PostgreSQL was back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A new invitation link to `room`, made by `owner`: its token.
async fn invitation_token(owner: &mut Browser, room: RoomId) -> String {
    let id = room.to_string();
    let (status, invitation) = call_json(owner, "invitations/create", &[("id", &id)]).await;
    assert_eq!(status, 200, "{invitation}");
    let path = invitation["path"]
        .as_str()
        .expect("a new link is shown once");
    path.trim_start_matches("/invite/").to_owned()
}

/// Whether `browser` is a member of `room`: `None` if they cannot even see it.
async fn membership(browser: &mut Browser, room: RoomId) -> Option<bool> {
    let id = room.to_string();
    let (status, view) = call_json(browser, "rooms/get", &[("id", &id)]).await;
    (status == 200).then(|| view["is_member"].as_bool().expect("a room view"))
}

#[tokio::test]
async fn visiting_an_invitation_link_asks_and_changes_nothing_and_joining_is_a_post() {
    let app = TestApp::spawn().await;
    let mut owner = person(&app, "owner").await;
    let mut visitor = person(&app, "visitor").await;
    let room = crate::support::chat::private_room(&mut owner).await;
    let token = invitation_token(&mut owner, room).await;

    visitor
        .headers
        .insert("accept", "text/html".parse().unwrap());
    let page = visitor.get(&format!("/invite/{token}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Join room Secret?"), "{html}");
    assert!(html.contains(">Join</button>"), "{html}");
    visitor.headers.remove("accept");
    assert_eq!(
        membership(&mut visitor, room).await,
        None,
        "the visit made nobody a member"
    );

    let (status, joined) =
        call_json(&mut visitor, "invitations/accept", &[("token", &token)]).await;
    assert_eq!((status, joined.as_i64()), (200, Some(room.0)), "{joined}");
    assert_eq!(membership(&mut visitor, room).await, Some(true));
    app.shutdown().await;
}

#[tokio::test]
async fn someone_removed_cannot_come_back_through_an_old_link_but_a_newer_one_admits_them() {
    let app = TestApp::spawn().await;
    let mut owner = person(&app, "owner").await;
    let mut removed = person(&app, "removed").await;
    let mut newcomer = person(&app, "newcomer").await;
    let room = crate::support::chat::private_room(&mut owner).await;
    let old_link = invitation_token(&mut owner, room).await;
    let (status, _) = call_json(&mut removed, "invitations/accept", &[("token", &old_link)]).await;
    assert_eq!(status, 200);
    let (_, me) = call_json(&mut removed, "me", &[]).await;
    let removed_id = me["id"].to_string();
    let id = room.to_string();
    let form = [("id", id.as_str()), ("user", removed_id.as_str())];
    let (status, body) = call_json(&mut owner, "rooms/remove_member", &form).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) =
        call_json(&mut removed, "invitations/accept", &[("token", &old_link)]).await;
    assert_eq!(
        (status, &body["error"]),
        (410, &Value::from("invitation_invalid"))
    );
    assert_eq!(membership(&mut removed, room).await, None, "still out");
    let (status, _) = call_json(&mut newcomer, "invitations/accept", &[("token", &old_link)]).await;
    assert_eq!(status, 200, "the link still admits the others");

    // Time moves in milliseconds: a link made in the same one as the removal counts as old.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let new_link = invitation_token(&mut owner, room).await;
    let (status, _) = call_json(&mut removed, "invitations/accept", &[("token", &new_link)]).await;
    assert_eq!(
        status, 200,
        "a link made after the removal is the owner's new decision"
    );
    assert_eq!(membership(&mut removed, room).await, Some(true));
    app.shutdown().await;
}

#[tokio::test]
async fn invitation_tokens_are_stored_only_as_their_sha256_and_listed_without_a_link() {
    let database = app::backend::store::scratch::ScratchDatabase::create().await;
    let app = TestApp::spawn_on_postgres(database.url(), |_| {}).await;
    let mut owner = person(&app, "owner").await;
    let room = crate::support::chat::private_room(&mut owner).await;
    let token = invitation_token(&mut owner, room).await;

    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(database.url()).await.unwrap();
    let (hashed, raw): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM invitations \
                 WHERE token_hash = sha256(convert_to($1, 'UTF8'))), \
                (SELECT count(*) FROM information_schema.columns \
                 WHERE table_name = 'invitations' AND data_type = 'text')",
    )
    .bind(&token)
    .fetch_one(&mut connection)
    .await
    .unwrap();
    connection.close().await.ok();
    assert_eq!(
        (hashed, raw),
        (1, 0),
        "found by its hash; no text column holds it"
    );

    let id = room.to_string();
    let (status, listed) = call_json(&mut owner, "invitations/list", &[("id", &id)]).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed[0]["path"],
        Value::Null,
        "the server cannot show it again"
    );
    app.shutdown().await;
}
