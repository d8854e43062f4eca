//! Reactions against the real server and real sockets: `messages/react` adds or takes back
//! one person's emoji as a numbered change that everyone in the room receives as `Changed`
//! with the message's whole new state; saying it twice changes nothing; a resumed client
//! gets it replayed; people who cannot read the room, emoji outside the set, deleted
//! messages and a message full of different emoji are refused with typed errors; and on
//! two instances sharing PostgreSQL a reaction reaches the other instance's subscribers.

use std::time::Duration;

use crate::instances::two_instances;
use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::chat::{
    call_json, next_message, on, person, post, private_room, room_with, subscribe, subscribed, uuid,
};
use crate::support::socket::Socket;
use app::protocol::{MessageView, ServerFrame};
use serde_json::Value;

async fn react(browser: &mut Browser, id: i64, emoji: &str, on: bool) -> (u16, Value) {
    let id = id.to_string();
    let on = on.to_string();
    let form = [("id", id.as_str()), ("emoji", emoji), ("on", on.as_str())];
    call_json(browser, "messages/react", &form).await
}

/// The next frame, which must be a change: its number and the message as it is now.
async fn next_change(socket: &mut Socket) -> (u64, MessageView) {
    match socket.next().await {
        ServerFrame::Changed { seq, message } => (seq, message),
        other => panic!("expected a change, got {other:?}"),
    }
}

/// (emoji, count, display names) of each reaction, as a browser would show them.
fn shown(message: &MessageView) -> Vec<(String, u32, Vec<String>)> {
    message
        .reactions
        .iter()
        .map(|view| {
            let names = view.people.iter().map(|p| p.display_name.clone()).collect();
            (view.emoji.clone(), view.count, names)
        })
        .collect()
}

fn reaction(emoji: &str, names: &[&str]) -> (String, u32, Vec<String>) {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    (emoji.to_owned(), names.len() as u32, names)
}

#[tokio::test]
async fn a_reaction_is_numbered_seen_by_everyone_and_saying_it_twice_changes_nothing() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let (mut minji_socket, _) = subscribed(&app, &minji, room, Some(0)).await;
    let (mut jisoo_socket, _) = subscribed(&app, &jisoo, room, Some(0)).await;
    let (_, ack) = post(&mut minji, room, &uuid(1), "점심 먹을까요?").await;
    let id = ack["id"].as_i64().unwrap();
    for socket in [&mut minji_socket, &mut jisoo_socket] {
        assert_eq!(next_message(socket).await.seq, 1);
    }

    let (status, answer) = react(&mut jisoo, id, "👍", true).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["changed_seq"], 2);
    for socket in [&mut minji_socket, &mut jisoo_socket] {
        let (seq, message) = next_change(socket).await;
        assert_eq!((seq, message.seq, message.changed_seq), (2, 1, 2));
        assert_eq!(shown(&message), [reaction("👍", &["jisoo"])]);
    }

    // A retry of the same "on" (a lost answer, a second tab) changes nothing and takes no
    // number: the next change anyone sees is the next real one.
    let (status, again) = react(&mut jisoo, id, "👍", true).await;
    assert_eq!((status, &again), (200, &answer));
    let (status, _) = react(&mut minji, id, "👍", true).await;
    assert_eq!(status, 200);
    let (status, _) = react(&mut minji, id, "🎉", true).await;
    assert_eq!(status, 200);
    let (status, off) = react(&mut jisoo, id, "👍", false).await;
    assert_eq!(status, 200, "{off}");
    for socket in [&mut minji_socket, &mut jisoo_socket] {
        let (seqs, last): (Vec<u64>, MessageView) = {
            let mut seqs = Vec::new();
            let mut last = None;
            for _ in 0..3 {
                let (seq, message) = next_change(socket).await;
                seqs.push(seq);
                last = Some(message);
            }
            (seqs, last.unwrap())
        };
        assert_eq!(
            seqs,
            [3, 4, 5],
            "one number per real change, none for the retry"
        );
        assert_eq!(
            shown(&last),
            [reaction("👍", &["minji"]), reaction("🎉", &["minji"])]
        );
    }
    let (_, again_off) = react(&mut jisoo, id, "👍", false).await;
    assert_eq!(
        again_off["changed_seq"], 5,
        "taking back twice is harmless too"
    );
    let (_, next) = post(&mut minji, room, &uuid(2), "next").await;
    assert_eq!(next["seq"], 6, "and used no number");
    app.shutdown().await;
}

#[tokio::test]
async fn reactions_made_while_a_client_was_away_are_replayed_on_resume() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let (_, ack) = post(&mut minji, room, &uuid(1), "hi").await;
    let id = ack["id"].as_i64().unwrap();
    let (socket, last_seq) = subscribed(&app, &jisoo, room, Some(0)).await;
    assert_eq!(last_seq, 1);
    drop(socket);

    react(&mut minji, id, "🔥", true).await;
    react(&mut jisoo, id, "🔥", true).await;
    let mut socket = app.socket(&jisoo).await;
    assert!(matches!(socket.next().await, ServerFrame::Hello { .. }));
    socket
        .send(&app::protocol::ClientFrame::Subscribe {
            room,
            after_seq: Some(1),
            quiet: false,
        })
        .await;
    let (first_seq, _) = next_change(&mut socket).await;
    let (second_seq, now) = next_change(&mut socket).await;
    assert_eq!((first_seq, second_seq), (2, 3));
    assert_eq!(shown(&now), [reaction("🔥", &["minji", "jisoo"])]);
    assert_eq!(
        socket.next().await,
        ServerFrame::Subscribed { room, last_seq: 3 }
    );

    // The history page (what the room page renders) carries them too.
    let room_text = room.to_string();
    let (_, page) = call_json(&mut jisoo, "messages/history", &[("room", &room_text)]).await;
    assert_eq!(page["messages"][0]["reactions"][0]["count"], 2);
    app.shutdown().await;
}

#[tokio::test]
async fn reactions_are_refused_to_outsiders_and_outside_the_rules_with_typed_errors() {
    let app = TestApp::spawn_with(|config| config.messages.reaction_emoji_per_message = 2).await;
    let mut minji = person(&app, "minji").await;
    let mut outsider = person(&app, "outsider").await;
    let secret = private_room(&mut minji).await;
    let (_, ack) = post(&mut minji, secret, &uuid(1), "private").await;
    let private_id = ack["id"].as_i64().unwrap();

    // Someone who cannot read the room cannot learn the message exists.
    let (status, error) = react(&mut outsider, private_id, "👍", true).await;
    assert_eq!((status, &error["error"]), (404, &Value::from("not_found")));
    let (status, _) = react(&mut outsider, private_id, "👍", false).await;
    assert_eq!(status, 404);

    // Reading a public room is not taking part in it.
    let public = room_with(&mut minji, &mut []).await;
    let (_, ack) = post(&mut minji, public, &uuid(2), "public").await;
    let id = ack["id"].as_i64().unwrap();
    let (status, error) = react(&mut outsider, id, "👍", true).await;
    assert_eq!((status, &error["error"]), (403, &Value::from("not_member")));

    for refused in ["x", "<img src=x onerror=alert(1)>", "👍👍", ""] {
        let (status, error) = react(&mut minji, id, refused, true).await;
        assert_eq!(status, 400, "{refused:?}: {error}");
        assert_eq!(error["field"], "reaction");
    }

    react(&mut minji, id, "👍", true).await;
    react(&mut minji, id, "🎉", true).await;
    let (status, error) = react(&mut minji, id, "🔥", true).await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["error"], "too_many_reactions");
    assert_eq!(error["limit"], 2);

    let (status, _) = call_json(&mut minji, "messages/delete", &[("id", &id.to_string())]).await;
    assert_eq!(status, 200);
    let (status, error) = react(&mut minji, id, "👍", false).await;
    assert_eq!((status, &error["error"]), (404, &Value::from("not_found")));
    app.shutdown().await;
}

#[tokio::test]
async fn reacting_is_rate_limited_apart_from_posting() {
    let app = TestApp::spawn_with(|config| config.messages.reactions_per_window = 2).await;
    let mut minji = person(&app, "minji").await;
    let room = room_with(&mut minji, &mut []).await;
    let (_, ack) = post(&mut minji, room, &uuid(1), "hi").await;
    let id = ack["id"].as_i64().unwrap();
    assert_eq!(react(&mut minji, id, "👍", true).await.0, 200);
    assert_eq!(react(&mut minji, id, "👍", false).await.0, 200);
    let (status, error) = react(&mut minji, id, "👍", true).await;
    assert_eq!(status, 429, "{error}");
    assert_eq!(error["error"], "rate_limited");
    let (status, _) = post(&mut minji, room, &uuid(2), "posting still works").await;
    assert_eq!(status, 200);
    app.shutdown().await;
}

#[tokio::test]
async fn a_reaction_on_one_instance_reaches_subscribers_of_the_other() {
    let (_database, first, second) = two_instances(|_| {}).await;
    let mut minji = person(&first, "minji").await;
    let mut jisoo = person(&first, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let mut jisoo = on(&second, &jisoo);
    let mut there = second.socket(&jisoo).await;
    let (replayed, _) = subscribe(&mut there, room, Some(0)).await;
    assert!(replayed.is_empty());
    let (_, ack) = post(&mut minji, room, &uuid(1), "hello").await;
    let id = ack["id"].as_i64().unwrap();
    assert_eq!(next_message(&mut there).await.seq, 1);

    react(&mut minji, id, "❤️", true).await;
    let frame = there.next_within(Duration::from_secs(10)).await;
    let Some(ServerFrame::Changed { seq, message }) = frame else {
        panic!("expected the reaction, got {frame:?}");
    };
    assert_eq!(seq, 2);
    assert_eq!(shown(&message), [reaction("❤️", &["minji"])]);
    let (status, _) = react(&mut jisoo, id, "❤️", true).await;
    assert_eq!(status, 200);
    let (seq, message) = next_change(&mut there).await;
    assert_eq!(seq, 3);
    assert_eq!(shown(&message), [reaction("❤️", &["minji", "jisoo"])]);
    first.shutdown().await;
    second.shutdown().await;
}
