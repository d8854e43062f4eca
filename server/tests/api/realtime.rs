//! The real-time core against the real server and a real WebSocket client: send, ack and
//! broadcast; idempotent resends; resume, refetch and gap fills; the upgrade's checks; and
//! the limits on bodies, rates and frames.

use std::time::Duration;

use crate::support::TestApp;
use crate::support::chat::{
    next_message, person, post, private_room, private_room_with, room_with, subscribed, uuid,
};
use crate::support::socket::{Closed, Socket};
use app::backend::clock::Clock;
use app::model::RoomId;
use app::protocol::{ClientFrame, ProtocolError, ServerFrame, close};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_post_is_acknowledged_after_commit_and_broadcast_with_its_client_id() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let (mut minji_socket, last_seq) = subscribed(&app, &minji, room, Some(0)).await;
    assert_eq!(last_seq, 0);
    let (mut jisoo_socket, _) = subscribed(&app, &jisoo, room, Some(0)).await;

    let (status, ack) = post(&mut minji, room, &uuid(1), "안녕하세요! Hello!").await;
    assert_eq!(status, 200);
    assert_eq!(ack["seq"], 1);
    assert_eq!(ack["client_id"], uuid(1));
    for socket in [&mut minji_socket, &mut jisoo_socket] {
        let message = next_message(socket).await;
        assert_eq!(message.seq, 1);
        assert_eq!(message.id.0, ack["id"].as_i64().unwrap());
        assert_eq!(message.client_id.as_str(), uuid(1));
        assert_eq!(message.body, "안녕하세요! Hello!");
        assert_eq!(message.author.unwrap().display_name, "minji");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn a_resend_with_the_same_client_id_returns_the_original_and_broadcasts_nothing() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let room = room_with(&mut minji, &mut []).await;
    let (mut socket, _) = subscribed(&app, &minji, room, Some(0)).await;
    let first = post(&mut minji, room, &uuid(7), "once").await;
    let again = post(&mut minji, room, &uuid(7), "once").await;
    assert_eq!(first, again);
    let next = post(&mut minji, room, &uuid(8), "twice?").await;
    assert_eq!(next.1["seq"], 2, "the resend took no number");
    assert_eq!(next_message(&mut socket).await.seq, 1);
    assert_eq!(
        next_message(&mut socket).await.seq,
        2,
        "no duplicate in between"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_client_resumes_after_a_disconnect_from_its_last_seq() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let (socket, _) = subscribed(&app, &jisoo, room, Some(0)).await;
    post(&mut minji, room, &uuid(1), "one").await;
    drop(socket);
    for n in 2..=4 {
        post(&mut minji, room, &uuid(n), &format!("message {n}")).await;
    }
    let mut socket = app.socket(&jisoo).await;
    assert!(matches!(socket.next().await, ServerFrame::Hello { .. }));
    socket
        .send(&ClientFrame::Subscribe {
            room,
            after_seq: Some(1),
            quiet: false,
        })
        .await;
    let replayed: Vec<u64> = [
        next_message(&mut socket).await,
        next_message(&mut socket).await,
        next_message(&mut socket).await,
    ]
    .iter()
    .map(|message| message.seq)
    .collect();
    assert_eq!(replayed, [2, 3, 4]);
    assert_eq!(
        socket.next().await,
        ServerFrame::Subscribed { room, last_seq: 4 }
    );
    post(&mut minji, room, &uuid(5), "live again").await;
    assert_eq!(next_message(&mut socket).await.seq, 5);
    app.shutdown().await;
}

#[tokio::test]
async fn a_gap_larger_than_the_replay_limit_gets_a_refetch_answer() {
    let app = TestApp::spawn_with(|config| config.messages.replay_limit = 3).await;
    let mut minji = person(&app, "minji").await;
    let room = room_with(&mut minji, &mut []).await;
    for n in 1..=5 {
        post(&mut minji, room, &uuid(n), "x").await;
    }
    let mut socket = app.socket(&minji).await;
    socket.next().await;
    socket
        .send(&ClientFrame::Subscribe {
            room,
            after_seq: Some(1),
            quiet: false,
        })
        .await;
    assert_eq!(
        socket.next().await,
        ServerFrame::Refetch { room, last_seq: 5 }
    );
    assert_eq!(
        socket.next().await,
        ServerFrame::Subscribed { room, last_seq: 5 }
    );
    post(&mut minji, room, &uuid(6), "live").await;
    assert_eq!(
        next_message(&mut socket).await.seq,
        6,
        "live delivery continues after it"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_client_that_sees_a_jump_can_fetch_the_missing_range() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let room = room_with(&mut minji, &mut []).await;
    for n in 1..=6 {
        post(&mut minji, room, &uuid(n), &format!("m{n}")).await;
    }
    let (mut socket, last_seq) = subscribed(&app, &minji, room, None).await;
    assert_eq!(last_seq, 6);
    socket
        .send(&ClientFrame::Fetch {
            room,
            after_seq: 2,
            until_seq: 6,
        })
        .await;
    let mut seqs = Vec::new();
    for _ in 0..3 {
        seqs.push(next_message(&mut socket).await.seq);
    }
    assert_eq!(seqs, [3, 4, 5]);
    app.shutdown().await;
}

#[tokio::test]
async fn the_upgrade_needs_a_session_and_the_public_origin() {
    let app = TestApp::spawn().await;
    let minji = person(&app, "minji").await;
    let origin = app.origin();
    let anonymous = Socket::open(app.addr, None, Some(&origin)).await.err();
    assert_eq!(anonymous, Some(401));
    let cookie = minji.cookie.as_deref();
    let foreign = Socket::open(app.addr, cookie, Some("https://evil.example"))
        .await
        .err();
    assert_eq!(foreign, Some(403));
    let no_origin = Socket::open(app.addr, cookie, None).await.err();
    assert_eq!(no_origin, Some(403));
    assert!(Socket::open(app.addr, cookie, Some(&origin)).await.is_ok());
    app.shutdown().await;
}

#[tokio::test]
async fn subscribing_to_a_hidden_or_missing_room_is_refused_as_not_found() {
    let app = TestApp::spawn().await;
    let mut owner = person(&app, "owner").await;
    let outsider = person(&app, "outsider").await;
    let hidden = private_room(&mut owner).await;
    let mut socket = app.socket(&outsider).await;
    socket.next().await;
    for room in [hidden, RoomId(999_999)] {
        socket.subscribe_live(room).await;
        let refused = ServerFrame::Error {
            error: ProtocolError::NotFound { room },
        };
        assert_eq!(socket.next().await, refused);
    }
    post(&mut owner, hidden, &uuid(1), "secret").await;
    assert_eq!(
        socket.next_within(Duration::from_millis(300)).await,
        None,
        "nothing leaks"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn blank_oversize_and_non_member_posts_are_refused_with_typed_errors() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let mut reader = person(&app, "reader").await;
    let room = room_with(&mut minji, &mut []).await;
    let blank = post(&mut minji, room, &uuid(1), "  \n ").await;
    assert_eq!(
        blank,
        (
            400,
            json!({"error": "invalid", "field": "message", "problem": "too_short", "min": 1})
        )
    );
    let long = "가".repeat(4_001);
    let oversize = post(&mut minji, room, &uuid(2), &long).await;
    assert_eq!(
        oversize,
        (
            400,
            json!({"error": "invalid", "field": "message", "problem": "too_long", "max": 4000})
        )
    );
    assert_eq!(
        post(&mut minji, room, &uuid(3), &"가".repeat(4_000))
            .await
            .0,
        200
    );
    let bad_id = post(&mut minji, room, "not-a-uuid", "hi").await;
    assert_eq!((bad_id.0, &bad_id.1["field"]), (400, &json!("client_id")));
    let not_member = post(&mut reader, room, &uuid(4), "hi").await;
    assert_eq!(not_member, (403, json!({"error": "not_member"})));
    let (_, history) = {
        let response = minji
            .call("messages/history", &[("room", &room.to_string())])
            .await;
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert_eq!(
        history["messages"].as_array().unwrap().len(),
        1,
        "nothing refused was stored"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn posting_is_rate_limited_with_retry_after_but_resends_are_not() {
    let clock = Clock::manual(1_700_000_000_000);
    let app = TestApp::spawn_with_clock(clock.clone(), |_| {}).await;
    let mut minji = person(&app, "minji").await;
    let room = room_with(&mut minji, &mut []).await;
    for n in 1..=10 {
        assert_eq!(
            post(&mut minji, room, &uuid(n), "burst").await.0,
            200,
            "message {n}"
        );
    }
    let form = [
        ("room", room.to_string()),
        ("client_id", uuid(11)),
        ("body", "one too many".into()),
    ];
    let form: Vec<(&str, &str)> = form
        .iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect();
    let limited = minji.call("messages/send", &form).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(
        post(&mut minji, room, &uuid(3), "burst").await.0,
        200,
        "a resend is answered"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        post(&mut minji, room, &uuid(11), "one too many").await.0,
        200
    );
    app.shutdown().await;
}

#[tokio::test]
async fn history_pages_back_by_seq() {
    let app = TestApp::spawn_with(|config| {
        config.messages.history_page = 3;
        config.messages.messages_per_window = 0;
    })
    .await;
    let mut minji = person(&app, "minji").await;
    let room = room_with(&mut minji, &mut []).await;
    for n in 1..=7 {
        post(&mut minji, room, &uuid(n), &format!("m{n}")).await;
    }
    let page = |before: Option<u64>| {
        let mut form = vec![("room", room.to_string())];
        if let Some(before) = before {
            form.push(("before_seq", before.to_string()));
        }
        form
    };
    let read = |value: &Value| -> Vec<u64> {
        value["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect()
    };
    let form = page(None);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let newest: Value = minji
        .call("messages/history", &form)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            read(&newest),
            newest["has_more"].clone(),
            newest["last_seq"].clone()
        ),
        (vec![5, 6, 7], json!(true), json!(7))
    );
    let form = page(Some(5));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let earlier: Value = minji
        .call("messages/history", &form)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read(&earlier), [2, 3, 4]);
    let form = page(Some(2));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first: Value = minji
        .call("messages/history", &form)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (read(&first), first["has_more"].clone()),
        (vec![1], json!(false))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn malformed_frames_get_typed_errors_then_a_close() {
    let app = TestApp::spawn_with(|config| config.realtime.malformed_frame_limit = 2).await;
    let minji = person(&app, "minji").await;
    let mut socket = app.socket(&minji).await;
    socket.next().await;
    for _ in 0..2 {
        socket.send_raw(Message::text(r#"{"type":"shout"}"#)).await;
        assert!(matches!(
            socket.next().await,
            ServerFrame::Error {
                error: ProtocolError::Malformed { .. }
            }
        ));
    }
    socket.send_raw(Message::text("not json")).await;
    assert_eq!(
        socket.closed().await,
        Closed::Code(close::POLICY, "too many malformed frames".into())
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_oversized_frame_closes_the_socket_with_1009() {
    let app = TestApp::spawn_with(|config| config.realtime.max_frame_bytes = 1024).await;
    let minji = person(&app, "minji").await;
    let mut socket = app.socket(&minji).await;
    socket.next().await;
    socket.send_raw(Message::text("x".repeat(4096))).await;
    assert_eq!(
        socket.closed().await,
        Closed::Code(close::TOO_BIG, "frame too large".into())
    );
    app.shutdown().await;
}

#[tokio::test]
async fn connections_per_user_and_subscriptions_per_connection_are_capped_with_1008() {
    let app = TestApp::spawn_with(|config| {
        config.realtime.connections_per_user = 2;
        config.realtime.subscriptions_per_connection = 1;
    })
    .await;
    let mut minji = person(&app, "minji").await;
    let first = room_with(&mut minji, &mut []).await;
    let second = room_with(&mut minji, &mut []).await;
    let (mut socket, _) = subscribed(&app, &minji, first, None).await;
    socket.subscribe_live(second).await;
    assert_eq!(
        socket.closed().await,
        Closed::Code(close::POLICY, "too many subscriptions".into())
    );

    let _one = app.socket(&minji).await;
    let _two = app.socket(&minji).await;
    let mut third = app.socket(&minji).await;
    assert_eq!(
        third.closed().await,
        Closed::Code(close::POLICY, "too many connections".into())
    );
    app.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_sockets_with_1012() {
    let app = TestApp::spawn().await;
    let minji = person(&app, "minji").await;
    let mut socket = app.socket(&minji).await;
    socket.next().await;
    let closing = tokio::spawn(async move { socket.closed().await });
    app.shutdown().await;
    assert_eq!(
        closing.await.unwrap(),
        Closed::Code(close::SERVICE_RESTART, "server restarting".into())
    );
}

#[tokio::test]
async fn signing_out_everywhere_closes_the_users_sockets() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let mut socket = app.socket(&minji).await;
    socket.next().await;
    minji.call("sign_out_everywhere", &[]).await;
    assert_eq!(
        socket.closed().await,
        Closed::Code(close::SESSION_ENDED, "signed out".into())
    );
    app.shutdown().await;
}

#[tokio::test]
async fn leaving_a_private_room_ends_its_live_subscription_at_once() {
    let app = TestApp::spawn().await;
    let mut owner = person(&app, "owner").await;
    let mut member = person(&app, "member").await;
    let room = private_room_with(&mut owner, &mut member).await;
    let id = room.to_string();
    let (mut socket, _) = subscribed(&app, &member, room, None).await;
    member.call("rooms/leave", &[("id", &id)]).await;
    assert_eq!(
        socket.next().await,
        ServerFrame::Unsubscribed {
            room,
            reason: app::protocol::UnsubscribeReason::Left
        }
    );
    post(&mut owner, room, &uuid(1), "after they left").await;
    assert_eq!(socket.next_within(Duration::from_millis(300)).await, None);
    app.shutdown().await;
}

#[tokio::test]
async fn a_slow_consumer_is_cut_off_with_4001_while_the_others_get_everything() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    let app = TestApp::spawn_with(|config| {
        config.messages.messages_per_window = 0;
        // Slack for the fast reader on a busy machine; the slow one's socket buffers fill
        // after some hundreds of kilobytes, and then these frames.
        config.realtime.outbound_queue = 64;
        config.realtime.write_timeout_ms = 30_000;
    })
    .await;
    let mut minji = person(&app, "minji").await;
    let mut fast = person(&app, "fast").await;
    let slow = person(&app, "slow").await;
    let room = room_with(&mut minji, &mut [&mut fast]).await;
    let (mut fast_socket, _) = subscribed(&app, &fast, room, Some(0)).await;
    let mut slow_socket =
        Socket::open_tiny(app.addr, slow.cookie.as_deref().unwrap(), &app.origin()).await;
    slow_socket
        .send(&ClientFrame::Subscribe {
            room,
            after_seq: Some(0),
            quiet: false,
        })
        .await;
    // The slow one now stops reading; the fast one reads everything as it arrives.
    let posted = Arc::new(AtomicU64::new(u64::MAX));
    let reader = tokio::spawn({
        let posted = posted.clone();
        async move {
            let mut seqs = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while (seqs.len() as u64) < posted.load(Ordering::SeqCst) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the fast reader stalled"
                );
                match fast_socket.next_within(Duration::from_millis(100)).await {
                    Some(ServerFrame::Message { message }) => seqs.push(message.seq),
                    Some(other) => panic!("unexpected {other:?}"),
                    // Nothing yet: either more is coming, or the count is now known.
                    None => continue,
                }
            }
            seqs
        }
    });
    // Post until the hub lets go of the slow one (bounded), then a few more.
    let body = "느린 소비자 ".repeat(500);
    let mut sent = 0u64;
    let mut after_cut = 0;
    while after_cut < 5 {
        sent += 1;
        assert!(sent <= 3_000, "the slow consumer was never cut off");
        assert_eq!(
            post(&mut minji, room, &uuid(sent as u32), &body).await.0,
            200
        );
        if app.backend.hub().connection_count() == 1 {
            after_cut += 1;
        }
    }
    posted.store(sent, Ordering::SeqCst);
    let seqs = reader.await.unwrap();
    assert_eq!(
        seqs,
        (1..=sent).collect::<Vec<u64>>(),
        "the fast one got everything, in order"
    );
    // Once the slow one reads again, its backlog ends with 4001: resume from the last seq.
    assert_eq!(
        slow_socket.closed().await,
        Closed::Code(close::TOO_SLOW, "too slow; resume".into())
    );
    app.shutdown().await;
}
