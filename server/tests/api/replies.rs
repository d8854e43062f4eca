//! Replies against the real server: a reply carries a quote of the message it answers
//! (author, the start of its text, its `seq`), read afresh each time so an edited or
//! deleted original shows as it is now; a resend keeps the original's reply; and a reply
//! to a message of another room (or to none) is refused with a typed error.

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::chat::{
    call_json, next_message, person, post, private_room, room_with, subscribed, uuid,
};
use app::model::RoomId;
use app::protocol::ServerFrame;
use serde_json::Value;

async fn reply(
    browser: &mut Browser,
    room: RoomId,
    client_id: &str,
    body: &str,
    reply_to: i64,
) -> (u16, Value) {
    let (room, reply_to) = (room.to_string(), reply_to.to_string());
    let form = [
        ("room", room.as_str()),
        ("client_id", client_id),
        ("body", body),
        ("reply_to", reply_to.as_str()),
    ];
    call_json(browser, "messages/send", &form).await
}

#[tokio::test]
async fn a_reply_quotes_the_original_as_it_is_now_and_a_resend_keeps_it() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await;
    let (mut socket, _) = subscribed(&app, &jisoo, room, Some(0)).await;
    let (_, ack) = post(&mut minji, room, &uuid(1), "내일\n회의는 10시에   해요").await;
    let original = ack["id"].as_i64().unwrap();
    next_message(&mut socket).await;

    let (status, ack) = reply(&mut jisoo, room, &uuid(2), "좋아요", original).await;
    assert_eq!(status, 200, "{ack}");
    let broadcast = next_message(&mut socket).await;
    let quote = broadcast.reply_to.expect("the reply carries its quote");
    assert_eq!((quote.id.0, quote.seq), (original, 1));
    assert_eq!(quote.author.unwrap().display_name, "minji");
    assert_eq!(
        quote.excerpt, "내일 회의는 10시에 해요",
        "one line, spaces folded"
    );
    assert!(!quote.deleted);

    // A resend (the outbox retrying) returns the original post, reply and all.
    let (status, again) = reply(&mut jisoo, room, &uuid(2), "좋아요", original).await;
    assert_eq!((status, &again), (200, &ack));

    let id = original.to_string();
    call_json(&mut minji, "messages/delete", &[("id", &id)]).await;
    let room_text = room.to_string();
    let (_, page) = call_json(&mut jisoo, "messages/history", &[("room", &room_text)]).await;
    let quoted = &page["messages"][1]["reply_to"];
    assert_eq!(quoted["deleted"], true, "{page}");
    assert_eq!(quoted["excerpt"], "", "the deleted text is not quoted");
    app.shutdown().await;
}

#[tokio::test]
async fn a_reply_to_a_message_of_another_room_or_to_none_is_refused() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let here = room_with(&mut minji, &mut []).await;
    let elsewhere = private_room(&mut minji).await;
    let (_, ack) = post(&mut minji, elsewhere, &uuid(1), "secret plans").await;
    let other_room_message = ack["id"].as_i64().unwrap();
    let (mut socket, _) = subscribed(&app, &minji, here, Some(0)).await;

    for (n, target) in [(2, other_room_message), (3, 999_999)] {
        let (status, error) = reply(&mut minji, here, &uuid(n), "re", target).await;
        assert_eq!(status, 409, "{error}");
        assert_eq!(error["error"], "reply_outside_room");
    }
    // Nothing was stored or numbered: the next post is the room's first.
    let (_, ack) = post(&mut minji, here, &uuid(4), "plain").await;
    assert_eq!(ack["seq"], 1);
    match socket.next().await {
        ServerFrame::Message { message } => {
            assert_eq!(message.seq, 1);
            assert_eq!(message.reply_to, None);
        }
        other => panic!("expected the plain post, got {other:?}"),
    }
    app.shutdown().await;
}
