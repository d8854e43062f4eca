//! Chat helpers shared by the real-time tests: people, rooms, posts and subscriptions.

use app::model::RoomId;
use app::protocol::{ClientFrame, MessageView, PROTOCOL_VERSION, ServerFrame};
use serde_json::Value;

use super::TestApp;
use super::browser::Browser;
use super::socket::Socket;

pub const PASSWORD: &str = "correct horse battery";

pub fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

pub async fn person(app: &TestApp, name: &str) -> Browser {
    let mut browser = app.browser();
    assert_eq!(browser.register(name, PASSWORD).await.status(), 200);
    browser
}

/// A private room, "Secret", created by `owner`.
pub async fn private_room(owner: &mut Browser) -> RoomId {
    let form = [("name", "Secret"), ("topic", ""), ("private", "on")];
    let (status, room) = call_json(owner, "rooms/create", &form).await;
    assert_eq!(status, 200, "{room}");
    RoomId(room["id"].as_i64().unwrap())
}

/// A private room created by `owner`, which `member` joins through an invitation link.
pub async fn private_room_with(owner: &mut Browser, member: &mut Browser) -> RoomId {
    let room = private_room(owner).await;
    let invitation: Value = owner
        .call("invitations/create", &[("id", &room.to_string())])
        .await
        .json()
        .await
        .unwrap();
    let token = invitation["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/invite/")
        .to_owned();
    member
        .call("invitations/accept", &[("token", &token)])
        .await;
    room
}

/// A public room created by `owner` and joined by each of `others`.
pub async fn room_with(owner: &mut Browser, others: &mut [&mut Browser]) -> RoomId {
    let response = owner
        .call("rooms/create", &[("name", "Chat"), ("topic", "")])
        .await;
    let room: Value = response.json().await.unwrap();
    let id = room["id"].as_i64().unwrap();
    for other in others.iter_mut() {
        other.call("rooms/join", &[("id", &id.to_string())]).await;
    }
    RoomId(id)
}

pub async fn post(
    browser: &mut Browser,
    room: RoomId,
    client_id: &str,
    body: &str,
) -> (u16, Value) {
    let room = room.to_string();
    let form = [
        ("room", room.as_str()),
        ("client_id", client_id),
        ("body", body),
    ];
    call_json(browser, "messages/send", &form).await
}

/// Calls a server function; its status and its JSON answer (null if there is none).
pub async fn call_json(
    browser: &mut Browser,
    endpoint: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let response = browser.call(endpoint, form).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Opens a socket, checks the hello, and subscribes to `room` after `after_seq`.
pub async fn subscribed(
    app: &TestApp,
    browser: &Browser,
    room: RoomId,
    after_seq: Option<u64>,
) -> (Socket, u64) {
    let mut socket = app.socket(browser).await;
    let (_, last_seq) = subscribe(&mut socket, room, after_seq).await;
    (socket, last_seq)
}

/// Checks the hello of a socket just opened and subscribes it to `room` after `after_seq`:
/// the messages replayed before `Subscribed`, and its `last_seq`.
pub async fn subscribe(
    socket: &mut Socket,
    room: RoomId,
    after_seq: Option<u64>,
) -> (Vec<MessageView>, u64) {
    assert!(matches!(
        socket.next().await,
        ServerFrame::Hello {
            protocol: PROTOCOL_VERSION,
            ..
        }
    ));
    socket
        .send(&ClientFrame::Subscribe {
            room,
            after_seq,
            quiet: false,
        })
        .await;
    let mut replayed = Vec::new();
    loop {
        match socket.next().await {
            ServerFrame::Subscribed {
                room: subscribed,
                last_seq,
            } if subscribed == room => {
                return (replayed, last_seq);
            }
            ServerFrame::Message { message } => replayed.push(message),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The same signed-in person, their browser pointed at `app` (sessions live in the database).
pub fn on(app: &TestApp, browser: &Browser) -> Browser {
    let mut moved = app.browser();
    moved.cookie = browser.cookie.clone();
    moved
}

/// Like [`post`], but `None` unless the post is acknowledged within 5 s: for posts racing
/// a crash, where a server that stopped answering is expected.
pub async fn post_if_acknowledged(
    browser: &mut Browser,
    room: RoomId,
    client_id: &str,
    body: &str,
) -> Option<Value> {
    let room = room.to_string();
    let form = [
        ("room", room.as_str()),
        ("client_id", client_id),
        ("body", body),
    ];
    let request = browser.try_call("messages/send", &form);
    match tokio::time::timeout(std::time::Duration::from_secs(5), request).await {
        Ok(Some(response)) if response.status() == 200 => response.json().await.ok(),
        _ => None,
    }
}

/// Nothing more arrives for a while: no duplicate trails the expected frames.
pub async fn assert_quiet(socket: &mut Socket) {
    let extra = socket
        .next_within(std::time::Duration::from_millis(300))
        .await;
    assert!(extra.is_none(), "a frame too many: {extra:?}");
}

pub async fn next_message(socket: &mut Socket) -> MessageView {
    match socket.next().await {
        ServerFrame::Message { message } => message,
        other => panic!("expected a message, got {other:?}"),
    }
}
