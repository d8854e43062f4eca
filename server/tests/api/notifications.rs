//! Notification levels: each member's own, per room, with the kind's default (mentions only
//! in a room, everything in a direct conversation), set through `rooms/notifications`, kept
//! on the server so every tab and device sees the same, and read back with the room.

use serde_json::Value;

use crate::support::TestApp;
use crate::support::chat::{call_json, person, room_with};

fn level_in(rooms: &Value, room: &str) -> Value {
    rooms
        .as_array()
        .and_then(|rooms| {
            rooms
                .iter()
                .find(|listed| listed["id"].as_i64() == room.parse().ok())
        })
        .map(|listed| listed["notify"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_member_chooses_a_level_that_stays_theirs_and_defaults_follow_the_kind() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let mut jisoo = person(&app, "jisoo").await;
    let room = room_with(&mut minji, &mut [&mut jisoo]).await.to_string();
    let jisoo_id = jisoo.me().await["id"].to_string();
    let (status, direct) = call_json(&mut minji, "direct/open", &[("user", &jisoo_id)]).await;
    assert_eq!(status, 200, "{direct}");
    let direct = direct.to_string();

    let (_, listed) = call_json(&mut minji, "rooms/list", &[]).await;
    assert_eq!(
        level_in(&listed, &room),
        "mentions",
        "a room: mentions only"
    );
    assert_eq!(
        level_in(&listed, &direct),
        "all",
        "a direct conversation: everything"
    );

    let form = [("id", room.as_str()), ("level", "nothing")];
    let (status, saved) = call_json(&mut jisoo, "rooms/notifications", &form).await;
    assert_eq!((status, &saved["notify"]), (200, &Value::from("nothing")));
    let (_, got) = call_json(&mut jisoo, "rooms/get", &[("id", &room)]).await;
    assert_eq!(got["notify"], "nothing", "kept on the server");
    let (_, listed) = call_json(&mut minji, "rooms/list", &[]).await;
    assert_eq!(
        level_in(&listed, &room),
        "mentions",
        "minji's level is her own"
    );

    let form = [("id", direct.as_str()), ("level", "mentions")];
    let (status, saved) = call_json(&mut minji, "rooms/notifications", &form).await;
    assert_eq!((status, &saved["notify"]), (200, &Value::from("mentions")));
    app.shutdown().await;
}

#[tokio::test]
async fn an_unknown_level_is_refused_next_to_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let room = room_with(&mut minji, &mut []).await.to_string();
    for level in ["everything", "", "ALL"] {
        let form = [("id", room.as_str()), ("level", level)];
        let (status, body) = call_json(&mut minji, "rooms/notifications", &form).await;
        assert_eq!(status, 400, "{level}: {body}");
        assert_eq!(body["error"], "invalid", "{body}");
        assert_eq!(body["field"], "notifications", "{body}");
    }
    let (_, got) = call_json(&mut minji, "rooms/get", &[("id", &room)]).await;
    assert_eq!(got["notify"], "mentions");
    app.shutdown().await;
}

#[tokio::test]
async fn without_javascript_the_form_saves_and_goes_back_to_the_room() {
    let app = TestApp::spawn().await;
    let mut minji = person(&app, "minji").await;
    let room = room_with(&mut minji, &mut []).await.to_string();
    // The served page shows the current level chosen, so Save without a change keeps it.
    let page = minji
        .get(&format!("/rooms/{room}"))
        .await
        .text()
        .await
        .unwrap();
    let checked = |page: &str, level: &str| {
        page.contains(&format!(
            r#"type="radio" name="level" value="{level}" checked"#
        ))
    };
    assert!(checked(&page, "mentions"), "the default is shown chosen");
    assert!(!checked(&page, "all"));
    minji.headers.insert("accept", "text/html".parse().unwrap());
    let posted = minji
        .call("rooms/notifications", &[("id", &room), ("level", "all")])
        .await;
    assert_eq!(posted.status(), 302);
    assert_eq!(
        posted.headers()["location"],
        format!("/rooms/{room}").as_str()
    );
    minji.headers.remove("accept");
    let (_, got) = call_json(&mut minji, "rooms/get", &[("id", &room)]).await;
    assert_eq!(got["notify"], "all");
    let page = minji
        .get(&format!("/rooms/{room}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(checked(&page, "all"), "the new level is shown chosen");
    app.shutdown().await;
}
