//! Mentions end to end through the HTTP API and the socket: `@username` of a member becomes a
//! mention by id, counted per member in the room list until they read the room, followed by
//! edits, shown with the person's current name, and listed on `mentions/list`; a name of
//! someone outside the room tells them nothing.

use app::model::RoomId;
use app::protocol::MessageView;
use serde_json::Value;

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::chat::{call_json, person, post, private_room_with, room_with, uuid};

/// The room's entry in `browser`'s room list: (unread, mentions); `None` when not listed.
async fn counts(browser: &mut Browser, room: RoomId) -> Option<(u64, u64)> {
    let (status, rooms) = call_json(browser, "rooms/list", &[]).await;
    assert_eq!(status, 200, "{rooms}");
    rooms
        .as_array()?
        .iter()
        .find(|listed| listed["id"] == room.0)
        .map(|listed| {
            (
                listed["unread"].as_u64().unwrap_or(0),
                listed["mentions"].as_u64().unwrap_or(0),
            )
        })
}

async fn read_up_to(browser: &mut Browser, room: RoomId, seq: u64) {
    let (status, body) = call_json(
        browser,
        "messages/read",
        &[("room", &room.to_string()), ("seq", &seq.to_string())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn history(browser: &mut Browser, room: RoomId) -> Vec<MessageView> {
    let (status, page) =
        call_json(browser, "messages/history", &[("room", &room.to_string())]).await;
    assert_eq!(status, 200, "{page}");
    serde_json::from_value(page["messages"].clone()).expect("a history page")
}

async fn user_id(browser: &mut Browser) -> i64 {
    browser.me().await["id"].as_i64().expect("an id")
}

fn seq_of(ack: &Value) -> u64 {
    ack["seq"].as_u64().expect("an acknowledgement")
}

#[tokio::test]
async fn mention_counts_are_kept_per_member_and_cleared_on_reading() {
    let app = TestApp::spawn().await;
    let mut ana = person(&app, "ana").await;
    let mut bora = person(&app, "bora").await;
    let mut chul = person(&app, "chul").await;
    let room = room_with(&mut ana, &mut [&mut bora, &mut chul]).await;

    let (_, first) = post(&mut ana, room, &uuid(1), "@bora look").await;
    let (_, second) = post(&mut ana, room, &uuid(2), "@Bora and @chul, **both** of you").await;
    post(&mut ana, room, &uuid(3), "no names here").await;
    assert_eq!(counts(&mut bora, room).await, Some((3, 2)));
    assert_eq!(counts(&mut chul, room).await, Some((3, 1)));
    assert_eq!(
        counts(&mut ana, room).await,
        Some((0, 0)),
        "the author's own"
    );

    // Reading moves one's own count only, and only as far as one read.
    read_up_to(&mut bora, room, seq_of(&first)).await;
    assert_eq!(counts(&mut bora, room).await, Some((2, 1)));
    read_up_to(&mut bora, room, seq_of(&second)).await;
    assert_eq!(counts(&mut bora, room).await, Some((1, 0)));
    assert_eq!(counts(&mut chul, room).await, Some((3, 1)));

    // An edit that drops a name takes its mention back; one that adds a name counts.
    let id = second["id"].to_string();
    let (status, edited) = call_json(
        &mut ana,
        "messages/edit",
        &[("id", &id), ("body", "@bora only now")],
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(counts(&mut chul, room).await, Some((3, 0)));
    let third = post(&mut ana, room, &uuid(4), "hello").await.1["id"].to_string();
    call_json(
        &mut ana,
        "messages/edit",
        &[("id", &third), ("body", "hello @chul")],
    )
    .await;
    assert_eq!(counts(&mut chul, room).await, Some((4, 1)));
    // A deleted message mentions no one any more.
    call_json(&mut ana, "messages/delete", &[("id", &third)]).await;
    assert_eq!(counts(&mut chul, room).await, Some((3, 0)));
    app.shutdown().await;
}

#[tokio::test]
async fn a_mention_of_someone_who_is_not_a_member_notifies_no_one() {
    let app = TestApp::spawn().await;
    let mut ana = person(&app, "ana").await;
    let mut bora = person(&app, "bora").await;
    let mut dave = person(&app, "dave").await;
    let room = private_room_with(&mut ana, &mut bora).await;
    let dave_id = user_id(&mut dave).await;

    let (status, _) = post(&mut ana, room, &uuid(1), "@dave you cannot see this").await;
    assert_eq!(status, 200);
    let stored = history(&mut ana, room).await;
    assert!(stored[0].mentions.is_empty(), "{:?}", stored[0].mentions);
    assert!(
        !serde_json::to_string(&stored[0].rich)
            .unwrap()
            .contains(&format!("\"user\":{dave_id}")),
        "the name stays text"
    );
    let (status, listed) = call_json(&mut dave, "mentions/list", &[]).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed, serde_json::json!([]));
    assert_eq!(
        counts(&mut dave, room).await,
        None,
        "the room is not even listed"
    );

    // Joining later does not make an old message mention them.
    let public = room_with(&mut ana, &mut []).await;
    post(&mut ana, public, &uuid(2), "@dave not here yet").await;
    call_json(&mut dave, "rooms/join", &[("id", &public.to_string())]).await;
    assert_eq!(counts(&mut dave, public).await, Some((0, 0)));
    app.shutdown().await;
}

#[tokio::test]
async fn a_mention_shows_the_persons_current_name_after_a_rename() {
    let app = TestApp::spawn().await;
    let mut ana = person(&app, "ana").await;
    let mut bora = person(&app, "bora").await;
    let room = room_with(&mut ana, &mut [&mut bora]).await;
    post(&mut ana, room, &uuid(1), "thanks @bora!").await;
    let (status, body) = call_json(
        &mut bora,
        "update_display_name",
        &[("display_name", "보라 Kim")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let message = history(&mut ana, room).await.remove(0);
    assert_eq!(message.mentioned.len(), 1);
    assert_eq!(message.mentioned[0].display_name, "보라 Kim");
    assert_eq!(message.mentions, [message.mentioned[0].id]);
    // The served page names them by their new name too.
    let page = ana
        .get(&format!("/rooms/{room}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("@보라 Kim"), "the mention shows the new name");
    app.shutdown().await;
}

#[tokio::test]
async fn my_mentions_are_listed_newest_first_with_their_rooms() {
    let app = TestApp::spawn().await;
    let mut ana = person(&app, "ana").await;
    let mut bora = person(&app, "bora").await;
    let room = room_with(&mut ana, &mut [&mut bora]).await;
    let (status, direct) = call_json(
        &mut ana,
        "direct/open",
        &[("user", &user_id(&mut bora).await.to_string())],
    )
    .await;
    assert_eq!(status, 200, "{direct}");
    let direct = RoomId(direct.as_i64().unwrap());
    post(&mut ana, room, &uuid(1), "first @bora").await;
    post(&mut ana, direct, &uuid(2), "second @bora").await;
    post(&mut bora, room, &uuid(3), "my own @bora").await;

    let (status, listed) = call_json(&mut bora, "mentions/list", &[]).await;
    assert_eq!(status, 200, "{listed}");
    let listed = listed.as_array().unwrap();
    let bodies: Vec<&str> = listed
        .iter()
        .map(|mention| mention["message"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["second @bora", "first @bora"]);
    assert_eq!(
        listed[0]["room_name"], "ana",
        "a direct conversation by the other person"
    );
    assert_eq!(listed[1]["room_name"], "Chat");
    let (status, _) = call_json(&mut app.browser(), "mentions/list", &[]).await;
    assert_eq!(status, 401);
    app.shutdown().await;
}
