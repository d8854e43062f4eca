//! Live room life against the real server: presence per person, typing that expires, edits
//! and deletes numbered, broadcast and replayed, who may delete what, revocation that ends
//! subscriptions at once, and unread counts.

use std::time::Duration;

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::chat::{
    PASSWORD, call_json, person, post, private_room_with, room_with, subscribed, uuid,
};
use crate::support::socket::{Closed, names, next_presence};
use app::protocol::{ClientFrame, ServerFrame, UnsubscribeReason, close};
use serde_json::Value;

/// Short presence timings, so tests wait for fractions of a second.
async fn quick_app() -> TestApp {
    TestApp::spawn_with(|config| {
        config.realtime.presence_grace_ms = 1_000;
        config.realtime.typing_ttl_ms = 300;
    })
    .await
}

#[tokio::test]
async fn a_person_joins_once_however_many_tabs_and_leaves_after_the_grace_period() {
    let app = quick_app().await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;

    let (mut watcher, _) = subscribed(&app, &minji, room, None).await;
    match next_presence(&mut watcher, Duration::from_secs(2)).await {
        Some(ServerFrame::Presence { online, .. }) => assert_eq!(names(&online), ["minji"]),
        other => panic!("expected the online list, got {other:?}"),
    }

    let (mut tab1, _) = subscribed(&app, &jisoo, room, None).await;
    let (tab2, _) = subscribed(&app, &jisoo, room, None).await;
    match next_presence(&mut watcher, Duration::from_secs(2)).await {
        Some(ServerFrame::Joined { person, .. }) => assert_eq!(person.display_name, "jisoo"),
        other => panic!("expected a join, got {other:?}"),
    }
    assert_eq!(
        next_presence(&mut watcher, Duration::from_millis(500)).await,
        None,
        "the second tab does not join again"
    );
    match next_presence(&mut tab1, Duration::from_secs(2)).await {
        Some(ServerFrame::Presence { online, .. }) => {
            assert_eq!(names(&online), ["jisoo", "minji"], "one name per person");
        }
        other => panic!("expected the online list, got {other:?}"),
    }

    drop(tab2);
    assert_eq!(
        next_presence(&mut watcher, Duration::from_millis(1_500)).await,
        None,
        "one tab is still open"
    );
    drop(tab1);
    assert_eq!(
        next_presence(&mut watcher, Duration::from_millis(300)).await,
        None,
        "not before the grace period"
    );
    match next_presence(&mut watcher, Duration::from_secs(3)).await {
        Some(ServerFrame::Left { person, .. }) => assert_eq!(person.display_name, "jisoo"),
        other => panic!("expected a leave, got {other:?}"),
    }
    app.shutdown().await;
}

#[tokio::test]
async fn typing_is_shown_to_others_expires_and_ends_with_a_post() {
    let app = quick_app().await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let (mut watcher, _) = subscribed(&app, &minji, room, None).await;
    let (mut typist, _) = subscribed(&app, &jisoo, room, None).await;
    // The online list and the join.
    next_presence(&mut watcher, Duration::from_secs(1)).await;
    next_presence(&mut watcher, Duration::from_secs(1)).await;

    typist.send(&ClientFrame::Typing { room }).await;
    let typing = |expected: bool| {
        move |frame: Option<ServerFrame>| match frame {
            Some(ServerFrame::Typing { person, typing, .. }) => {
                assert_eq!((person.display_name.as_str(), typing), ("jisoo", expected));
            }
            other => panic!("expected typing={expected}, got {other:?}"),
        }
    };
    typing(true)(next_presence(&mut watcher, Duration::from_secs(2)).await);
    // No more signals: it expires on its own.
    typing(false)(next_presence(&mut watcher, Duration::from_secs(2)).await);

    typist.send(&ClientFrame::Typing { room }).await;
    typing(true)(next_presence(&mut watcher, Duration::from_secs(2)).await);
    post(&mut jisoo, room, &uuid(1), "done typing").await;
    // The post and the end of typing, in either order.
    let mut saw_stop = false;
    let mut saw_post = false;
    for _ in 0..2 {
        match watcher.next_any().await {
            ServerFrame::Typing { typing: false, .. } => saw_stop = true,
            ServerFrame::Message { .. } => saw_post = true,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(saw_stop && saw_post);
    app.shutdown().await;
}

#[tokio::test]
async fn edits_and_deletes_are_numbered_broadcast_and_replayed_after_a_disconnect() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let (_, ack) = post(&mut jisoo, room, &uuid(1), "frist").await;
    let id = ack["id"].as_i64().unwrap().to_string();
    let (mut live, last_seq) = subscribed(&app, &minji, room, Some(1)).await;
    assert_eq!(last_seq, 1);
    // Another reader goes away after the post and comes back later.
    let (away, _) = subscribed(&app, &minji, room, Some(1)).await;
    drop(away);

    let (status, edited) = call_json(
        &mut jisoo,
        "messages/edit",
        &[("id", &id), ("body", "first")],
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["body"], "first");
    match live.next().await {
        ServerFrame::Changed { seq: 2, message } => {
            assert_eq!((message.seq, message.body.as_str()), (1, "first"));
            assert!(message.edited_ms.is_some());
        }
        other => panic!("expected the edit, got {other:?}"),
    }
    let (status, _) = call_json(&mut jisoo, "messages/delete", &[("id", &id)]).await;
    assert_eq!(status, 200);
    match live.next().await {
        ServerFrame::Changed { seq: 3, message } => {
            assert!(message.deleted);
            assert_eq!(message.body, "");
        }
        other => panic!("expected the delete, got {other:?}"),
    }

    // Resuming from 1 replays both changes, in order.
    let mut back = app.socket(&minji).await;
    back.next().await;
    back.send(&ClientFrame::Subscribe {
        room,
        after_seq: Some(1),
        quiet: false,
    })
    .await;
    let seqs: Vec<u64> = vec![back.next().await, back.next().await]
        .into_iter()
        .map(|frame| frame.event_seq().expect("a numbered change"))
        .collect();
    assert_eq!(seqs, [2, 3]);
    assert!(matches!(
        back.next().await,
        ServerFrame::Subscribed { last_seq: 3, .. }
    ));

    // History shows it deleted, text gone.
    let (_, page) = call_json(
        &mut minji,
        "messages/history",
        &[("room", &room.to_string())],
    )
    .await;
    assert_eq!(page["messages"][0]["deleted"], true);
    assert_eq!(page["messages"][0]["body"], "");
    // A deleted message cannot be edited back.
    let (status, _) = call_json(
        &mut jisoo,
        "messages/edit",
        &[("id", &id), ("body", "again")],
    )
    .await;
    assert_eq!(status, 404);
    app.shutdown().await;
}

#[tokio::test]
async fn only_the_author_edits_and_only_the_author_owner_or_an_admin_deletes() {
    let app = TestApp::spawn().await;
    // The first account is the server admin.
    let mut admin = person(&app, "admin").await;
    let mut owner = person(&app, "owner").await;
    let mut author = person(&app, "author").await;
    let mut other = person(&app, "other").await;
    let room = room_with(&mut owner, &mut [&mut author, &mut other, &mut admin]).await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        let (_, ack) = post(&mut author, room, &uuid(n), "mine").await;
        ids.push(ack["id"].as_i64().unwrap().to_string());
    }

    let (status, _) = call_json(
        &mut other,
        "messages/edit",
        &[("id", &ids[0]), ("body", "x")],
    )
    .await;
    assert_eq!(status, 403, "nobody edits someone else's message");
    let (status, _) = call_json(
        &mut owner,
        "messages/edit",
        &[("id", &ids[0]), ("body", "x")],
    )
    .await;
    assert_eq!(status, 403, "not even the room's owner");
    let (status, _) = call_json(&mut other, "messages/delete", &[("id", &ids[0])]).await;
    assert_eq!(status, 403, "a member cannot delete others' messages");

    let (status, _) = call_json(&mut owner, "messages/delete", &[("id", &ids[0])]).await;
    assert_eq!(status, 200, "the room's owner can");
    let (status, _) = call_json(&mut admin, "messages/delete", &[("id", &ids[1])]).await;
    assert_eq!(status, 200, "an admin can");
    let (status, _) = call_json(&mut author, "messages/delete", &[("id", &ids[2])]).await;
    assert_eq!(status, 200, "the author can");
    let (status, body) = call_json(
        &mut author,
        "messages/edit",
        &[("id", "999999"), ("body", "x")],
    )
    .await;
    assert_eq!(status, 404, "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn leaving_or_being_removed_ends_the_rooms_events_at_once() {
    let app = TestApp::spawn().await;
    let mut owner = person(&app, "owner").await;
    let mut leaver = person(&app, "leaver").await;
    let mut removed = person(&app, "removed").await;
    let room = room_with(&mut owner, &mut [&mut leaver, &mut removed]).await;
    let (mut leaving, _) = subscribed(&app, &leaver, room, None).await;
    let (mut removing, _) = subscribed(&app, &removed, room, None).await;
    let id = room.to_string();
    let removed_id = user_id(&mut removed).await;
    let (status, _) = call_json(
        &mut leaver,
        "rooms/remove_member",
        &[("id", &id), ("user", &removed_id)],
    )
    .await;
    assert_eq!(status, 403, "a member cannot remove another");

    leaver.call("rooms/leave", &[("id", &id)]).await;
    assert_eq!(
        leaving.next().await,
        ServerFrame::Unsubscribed {
            room,
            reason: UnsubscribeReason::Left
        }
    );
    let (status, body) = call_json(
        &mut owner,
        "rooms/remove_member",
        &[("id", &id), ("user", &removed_id)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        removing.next().await,
        ServerFrame::Unsubscribed {
            room,
            reason: UnsubscribeReason::AccessEnded
        }
    );
    post(&mut owner, room, &uuid(1), "after they went").await;
    assert_eq!(leaving.next_within(Duration::from_millis(300)).await, None);
    assert_eq!(removing.next_within(Duration::from_millis(300)).await, None);
    let (status, _) = post(&mut removed, room, &uuid(2), "still here?").await;
    assert_eq!(status, 403, "no longer a member");
    app.shutdown().await;
}

async fn user_id(browser: &mut Browser) -> String {
    let (_, me) = call_json(browser, "me", &[]).await;
    me["id"].as_i64().expect("signed in").to_string()
}

#[tokio::test]
async fn deleting_the_account_closes_its_sockets() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let mut socket = app.socket(&minji).await;
    socket.next().await;
    minji
        .call("delete_account", &[("current_password", PASSWORD)])
        .await;
    assert!(matches!(
        socket.closed().await,
        Closed::Code(close::SESSION_ENDED, _)
    ));
    app.shutdown().await;
}

#[tokio::test]
async fn unread_counts_what_others_posted_since_the_read_marker() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    for n in 1..=3 {
        post(&mut minji, room, &uuid(n), "news").await;
    }
    post(&mut jisoo, room, &uuid(9), "my own").await;
    let unread = |rooms: Value| -> u64 {
        rooms
            .as_array()
            .unwrap()
            .iter()
            .find(|listed| listed["id"] == room.0)
            .map(|listed| listed["unread"].as_u64().unwrap())
            .unwrap()
    };
    let (_, rooms) = call_json(&mut jisoo, "rooms/list", &[]).await;
    assert_eq!(unread(rooms), 3, "others' messages only");
    let (status, _) = call_json(
        &mut jisoo,
        "messages/read",
        &[("room", &room.to_string()), ("seq", "2")],
    )
    .await;
    assert_eq!(status, 200);
    let (_, rooms) = call_json(&mut jisoo, "rooms/list", &[]).await;
    assert_eq!(unread(rooms), 1);
    // Kept in the database: a new session (another device) sees the same.
    let mut elsewhere = app.browser();
    elsewhere.sign_in("jisoo", PASSWORD).await;
    let (_, rooms) = call_json(&mut elsewhere, "rooms/list", &[]).await;
    assert_eq!(unread(rooms), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn someone_removed_from_a_private_room_cannot_subscribe_again() {
    let app = TestApp::spawn().await;
    let mut owner = person(&app, "owner").await;
    let mut member = person(&app, "member").await;
    let room = private_room_with(&mut owner, &mut member).await;
    let id = room.to_string();
    let (mut socket, _) = subscribed(&app, &member, room, None).await;

    let member_id = user_id(&mut member).await;
    let (status, _) = call_json(
        &mut owner,
        "rooms/remove_member",
        &[("id", &id), ("user", &member_id)],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        socket.next().await,
        ServerFrame::Unsubscribed {
            room,
            reason: UnsubscribeReason::AccessEnded
        }
    );
    socket.subscribe_live(room).await;
    assert!(matches!(
        socket.next().await,
        ServerFrame::Error {
            error: app::protocol::ProtocolError::NotFound { .. }
        }
    ));
    post(&mut owner, room, &uuid(1), "after the removal").await;
    assert_eq!(socket.next_within(Duration::from_millis(300)).await, None);
    app.shutdown().await;
}

#[tokio::test]
async fn a_quiet_subscriber_gets_messages_but_is_not_online() {
    let app = quick_app().await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let (mut watcher, _) = subscribed(&app, &minji, room, None).await;
    next_presence(&mut watcher, Duration::from_secs(1)).await;
    let mut quiet = app.socket(&jisoo).await;
    quiet.next().await;
    quiet
        .send(&ClientFrame::Subscribe {
            room,
            after_seq: None,
            quiet: true,
        })
        .await;
    assert!(matches!(quiet.next().await, ServerFrame::Subscribed { .. }));
    post(&mut minji, room, &uuid(1), "for the unread count").await;
    assert!(matches!(
        quiet.next_any().await,
        ServerFrame::Message { .. }
    ));
    assert_eq!(
        next_presence(&mut watcher, Duration::from_millis(500)).await,
        None,
        "following quietly is not joining"
    );
    app.shutdown().await;
}
