//! Rooms against the real server: every operation across the authorization matrix (owner,
//! member, non-member, admin, anonymous), including 404-not-403 for private rooms and
//! expired or revoked invitations.

use std::time::Duration;

use crate::support::TestApp;
use crate::support::browser::Browser;
use app::backend::clock::Clock;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// The cast: the first account is the server admin, then an owner, a member and an outsider.
struct Cast {
    admin: Browser,
    owner: Browser,
    member: Browser,
    outsider: Browser,
    anonymous: Browser,
}

async fn cast(app: &TestApp) -> Cast {
    let mut admin = app.browser();
    admin.register("admin", PASSWORD).await;
    let mut owner = app.browser();
    owner.register("owner", PASSWORD).await;
    let mut member = app.browser();
    member.register("member", PASSWORD).await;
    let mut outsider = app.browser();
    outsider.register("outsider", PASSWORD).await;
    Cast {
        admin,
        owner,
        member,
        outsider,
        anonymous: app.browser(),
    }
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Creates a room as `owner` and returns its id.
async fn create(owner: &mut Browser, name: &str, private: bool) -> String {
    let mut form = vec![("name", name), ("topic", "A topic")];
    if private {
        form.push(("private", "on"));
    }
    let (status, room) = json_of(owner.call("rooms/create", &form).await).await;
    assert_eq!(status, 200, "{room}");
    room["id"].as_i64().unwrap().to_string()
}

/// A private room with `member` in it (through an invitation).
async fn private_room_with_member(cast: &mut Cast) -> String {
    let id = create(&mut cast.owner, "Secret", true).await;
    let (_, invitation) =
        json_of(cast.owner.call("invitations/create", &[("id", &id)]).await).await;
    let token = invitation["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/invite/")
        .to_owned();
    let (status, _) = json_of(
        cast.member
            .call("invitations/accept", &[("token", &token)])
            .await,
    )
    .await;
    assert_eq!(status, 200);
    id
}

async fn rename(browser: &mut Browser, id: &str, name: &str) -> (u16, Value) {
    let form = [("id", id), ("name", name), ("topic", "New topic")];
    json_of(browser.call("rooms/update", &form).await).await
}

fn not_found() -> (u16, Value) {
    (404, json!({"error": "not_found"}))
}

#[tokio::test]
async fn creating_a_room_validates_its_fields_and_makes_the_creator_owner_and_member() {
    let app = TestApp::spawn().await;
    let mut cast = cast(&app).await;
    let blank = [("name", "   "), ("topic", "")];
    let (status, body) = json_of(cast.owner.call("rooms/create", &blank).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "room_name");
    let long_topic = "가".repeat(251);
    let form = [("name", "개발팀"), ("topic", long_topic.as_str())];
    let (status, body) = json_of(cast.owner.call("rooms/create", &form).await).await;
    assert_eq!(
        (status, &body["field"], &body["max"]),
        (400, &json!("topic"), &json!(250))
    );
    let (_, rooms) = json_of(cast.owner.call("rooms/list", &[]).await).await;
    assert_eq!(rooms, json!([]), "failed creations created nothing");

    let form = [("name", "개발팀"), ("topic", &"가".repeat(250) as &str)];
    let (status, room) = json_of(cast.owner.call("rooms/create", &form).await).await;
    assert_eq!(status, 200);
    assert_eq!(room["name"], "개발팀");
    assert_eq!(room["visibility"], "public");
    assert_eq!(
        (room["is_member"].clone(), room["can_manage"].clone()),
        (json!(true), json!(true))
    );
    let (status, _) = json_of(cast.anonymous.call("rooms/create", &form).await).await;
    assert_eq!(status, 401);
    app.shutdown().await;
}

#[tokio::test]
async fn listing_shows_public_rooms_and_only_my_private_ones() {
    let app = TestApp::spawn().await;
    let mut cast = cast(&app).await;
    create(&mut cast.owner, "Lobby", false).await;
    private_room_with_member(&mut cast).await;
    let names = |rooms: Value| -> Vec<String> {
        rooms
            .as_array()
            .unwrap()
            .iter()
            .map(|room| room["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, for_member) = json_of(cast.member.call("rooms/list", &[]).await).await;
    assert_eq!(names(for_member), ["Secret", "Lobby"]);
    let (_, for_outsider) = json_of(cast.outsider.call("rooms/list", &[]).await).await;
    assert_eq!(names(for_outsider), ["Lobby"]);
    let (_, for_admin) = json_of(cast.admin.call("rooms/list", &[]).await).await;
    assert_eq!(
        names(for_admin),
        ["Lobby"],
        "admins are not members of private rooms"
    );
    assert_eq!(
        json_of(cast.anonymous.call("rooms/list", &[]).await)
            .await
            .0,
        401
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_private_room_is_indistinguishable_from_a_missing_one_for_non_members() {
    let app = TestApp::spawn().await;
    let mut cast = cast(&app).await;
    let id = private_room_with_member(&mut cast).await;
    let get = [("id", id.as_str())];
    assert_eq!(
        json_of(cast.member.call("rooms/get", &get).await).await.0,
        200
    );
    let hidden = json_of(cast.outsider.call("rooms/get", &get).await).await;
    let missing = json_of(cast.outsider.call("rooms/get", &[("id", "999999")]).await).await;
    assert_eq!(hidden, not_found());
    assert_eq!(missing, not_found());
    for endpoint in [
        "rooms/members",
        "rooms/join",
        "rooms/leave",
        "rooms/delete",
        "invitations/create",
    ] {
        let answer = json_of(cast.outsider.call(endpoint, &get).await).await;
        assert_eq!(answer, not_found(), "{endpoint}");
    }
    let update = [("id", id.as_str()), ("name", "Mine now"), ("topic", "")];
    assert_eq!(
        json_of(cast.outsider.call("rooms/update", &update).await).await,
        not_found()
    );
    assert_eq!(
        json_of(cast.admin.call("rooms/get", &get).await).await,
        not_found()
    );
    assert_eq!(
        json_of(cast.anonymous.call("rooms/get", &get).await)
            .await
            .0,
        401
    );
    app.shutdown().await;
}

#[tokio::test]
async fn only_the_owner_or_an_admin_may_change_a_room() {
    let app = TestApp::spawn().await;
    let mut cast = cast(&app).await;
    let id = create(&mut cast.owner, "Lobby", false).await;
    cast.member.call("rooms/join", &[("id", &id)]).await;

    let member = rename(&mut cast.member, &id, "Member's").await;
    assert_eq!(member, (403, json!({"error": "forbidden"})));
    let outsider = rename(&mut cast.outsider, &id, "Outsider's").await;
    assert_eq!(
        outsider.0, 403,
        "a public room is visible, so 403 rather than 404"
    );
    let (status, room) = rename(&mut cast.owner, &id, "Renamed").await;
    assert_eq!(status, 200);
    assert_eq!(
        (&room["name"], &room["topic"]),
        (&json!("Renamed"), &json!("New topic"))
    );
    let (status, room) = rename(&mut cast.admin, &id, "By admin").await;
    assert_eq!((status, &room["name"]), (200, &json!("By admin")));

    let invalid = rename(&mut cast.owner, &id, "").await;
    assert_eq!(invalid.0, 400);
    let (_, room) = json_of(cast.owner.call("rooms/get", &[("id", &id)]).await).await;
    assert_eq!(room["name"], "By admin", "a failed update changes nothing");

    let private = [
        ("id", id.as_str()),
        ("name", "By admin"),
        ("topic", ""),
        ("private", "on"),
    ];
    let (_, room) = json_of(cast.owner.call("rooms/update", &private).await).await;
    assert_eq!(room["visibility"], "private");
    assert_eq!(
        json_of(cast.outsider.call("rooms/get", &[("id", &id)]).await).await,
        not_found()
    );
    assert_eq!(
        json_of(cast.member.call("rooms/get", &[("id", &id)]).await)
            .await
            .0,
        200
    );
    app.shutdown().await;
}

#[tokio::test]
async fn deleting_a_room_is_for_its_owner_or_an_admin() {
    let app = TestApp::spawn().await;
    let mut cast = cast(&app).await;
    let first = create(&mut cast.owner, "First", false).await;
    let second = create(&mut cast.owner, "Second", false).await;
    cast.member.call("rooms/join", &[("id", &first)]).await;
    assert_eq!(
        json_of(cast.member.call("rooms/delete", &[("id", &first)]).await)
            .await
            .0,
        403
    );
    assert_eq!(
        json_of(cast.anonymous.call("rooms/delete", &[("id", &first)]).await)
            .await
            .0,
        401
    );
    assert_eq!(
        json_of(cast.owner.call("rooms/delete", &[("id", &first)]).await)
            .await
            .0,
        200
    );
    assert_eq!(
        json_of(cast.member.call("rooms/get", &[("id", &first)]).await).await,
        not_found()
    );
    assert_eq!(
        json_of(cast.admin.call("rooms/delete", &[("id", &second)]).await)
            .await
            .0,
        200
    );
    assert_eq!(
        json_of(cast.owner.call("rooms/get", &[("id", &second)]).await).await,
        not_found()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn joining_and_leaving_a_public_room() {
    let app = TestApp::spawn().await;
    let mut cast = cast(&app).await;
    let id = create(&mut cast.owner, "Lobby", false).await;
    let (_, room) = json_of(cast.outsider.call("rooms/get", &[("id", &id)]).await).await;
    assert_eq!(room["is_member"], false, "readable before joining");
    let (status, room) = json_of(cast.outsider.call("rooms/join", &[("id", &id)]).await).await;
    assert_eq!((status, room["is_member"].clone()), (200, json!(true)));
    let (_, again) = json_of(cast.outsider.call("rooms/join", &[("id", &id)]).await).await;
    assert_eq!(again["is_member"], true, "joining twice is fine");
    let (_, members) = json_of(cast.owner.call("rooms/members", &[("id", &id)]).await).await;
    let usernames: Vec<_> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].clone())
        .collect();
    assert_eq!(usernames, [json!("owner"), json!("outsider")]);
    assert_eq!(members[0]["is_owner"], true);

    assert_eq!(
        json_of(cast.outsider.call("rooms/leave", &[("id", &id)]).await)
            .await
            .0,
        200
    );
    let (_, room) = json_of(cast.outsider.call("rooms/get", &[("id", &id)]).await).await;
    assert_eq!(room["is_member"], false);
    let owner_leaves = json_of(cast.owner.call("rooms/leave", &[("id", &id)]).await).await;
    assert_eq!(owner_leaves, (409, json!({"error": "owner_cannot_leave"})));
    app.shutdown().await;
}

#[tokio::test]
async fn invitations_admit_until_revoked_and_only_managers_handle_them() {
    let app = TestApp::spawn().await;
    let mut cast = cast(&app).await;
    let id = private_room_with_member(&mut cast).await;
    assert_eq!(
        json_of(cast.member.call("invitations/create", &[("id", &id)]).await)
            .await
            .0,
        403
    );
    assert_eq!(
        json_of(cast.member.call("invitations/list", &[("id", &id)]).await)
            .await
            .0,
        403
    );

    let (_, invitation) =
        json_of(cast.owner.call("invitations/create", &[("id", &id)]).await).await;
    let token = invitation["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/invite/")
        .to_owned();
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    let (_, active) = json_of(cast.owner.call("invitations/list", &[("id", &id)]).await).await;
    assert_eq!(
        active.as_array().unwrap().len(),
        2,
        "the member's and this one"
    );

    assert_eq!(
        json_of(cast.outsider.call("rooms/get", &[("id", &id)]).await).await,
        not_found()
    );
    let (status, room) = json_of(
        cast.outsider
            .call("invitations/accept", &[("token", &token)])
            .await,
    )
    .await;
    assert_eq!((status, room.to_string()), (200, id.clone()));
    let (_, room) = json_of(cast.outsider.call("rooms/get", &[("id", &id)]).await).await;
    assert_eq!(room["is_member"], true, "the link made them a member");

    let invitation_id = invitation["id"].to_string();
    let revoke = [("id", id.as_str()), ("invitation", invitation_id.as_str())];
    assert_eq!(
        json_of(cast.member.call("invitations/revoke", &revoke).await)
            .await
            .0,
        403
    );
    assert_eq!(
        json_of(cast.owner.call("invitations/revoke", &revoke).await)
            .await
            .0,
        200
    );
    let used_up = json_of(
        cast.admin
            .call("invitations/accept", &[("token", &token)])
            .await,
    )
    .await;
    assert_eq!(used_up, (410, json!({"error": "invitation_invalid"})));
    let bogus = json_of(
        cast.admin
            .call("invitations/accept", &[("token", "nope")])
            .await,
    )
    .await;
    assert_eq!(bogus, (410, json!({"error": "invitation_invalid"})));
    assert_eq!(
        json_of(
            cast.anonymous
                .call("invitations/accept", &[("token", &token)])
                .await
        )
        .await
        .0,
        401
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_invitation_expires_after_its_lifetime() {
    let clock = Clock::manual(1_700_000_000_000);
    let app = TestApp::spawn_with_clock(clock.clone(), |_| {}).await;
    let mut cast = cast(&app).await;
    let id = create(&mut cast.owner, "Secret", true).await;
    let (_, invitation) =
        json_of(cast.owner.call("invitations/create", &[("id", &id)]).await).await;
    let token = invitation["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/invite/")
        .to_owned();
    assert_eq!(
        invitation["expires_ms"].as_i64().unwrap() - invitation["created_ms"].as_i64().unwrap(),
        7 * 24 * 3_600_000
    );
    clock.advance(Duration::from_secs(7 * 24 * 3600));
    let expired = json_of(
        cast.outsider
            .call("invitations/accept", &[("token", &token)])
            .await,
    )
    .await;
    assert_eq!(expired, (410, json!({"error": "invitation_invalid"})));
    let (_, active) = json_of(cast.owner.call("invitations/list", &[("id", &id)]).await).await;
    assert_eq!(active, json!([]));
    app.shutdown().await;
}

#[tokio::test]
async fn a_direct_conversation_is_private_to_two_and_opens_again_as_the_same_room() {
    let app = TestApp::spawn().await;
    let mut cast = cast(&app).await;
    let (_, member) = json_of(cast.member.call("me", &[]).await).await;
    let (_, owner) = json_of(cast.owner.call("me", &[]).await).await;
    let (status, room) = json_of(
        cast.owner
            .call("direct/open", &[("user", &member["id"].to_string())])
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (_, again) = json_of(
        cast.member
            .call("direct/open", &[("user", &owner["id"].to_string())])
            .await,
    )
    .await;
    assert_eq!(room, again, "the same room from either side");

    let id = room.to_string();
    let (_, seen_by_owner) = json_of(cast.owner.call("rooms/get", &[("id", &id)]).await).await;
    let (_, seen_by_member) = json_of(cast.member.call("rooms/get", &[("id", &id)]).await).await;
    assert_eq!(
        seen_by_owner["name"], "member",
        "named after the other person"
    );
    assert_eq!(seen_by_member["name"], "owner");
    assert_eq!(seen_by_owner["is_direct"], true);
    assert_eq!(
        json_of(cast.outsider.call("rooms/get", &[("id", &id)]).await).await,
        not_found()
    );
    let (_, members) = json_of(cast.owner.call("rooms/members", &[("id", &id)]).await).await;
    assert_eq!(members.as_array().unwrap().len(), 2);
    let rename = [("id", id.as_str()), ("name", "x"), ("topic", "")];
    assert_eq!(
        json_of(cast.owner.call("rooms/update", &rename).await)
            .await
            .0,
        403
    );
    let (_, me) = json_of(cast.owner.call("me", &[]).await).await;
    let with_self = json_of(
        cast.owner
            .call("direct/open", &[("user", &me["id"].to_string())])
            .await,
    )
    .await;
    assert_eq!(with_self, (409, json!({"error": "direct_conversation"})));
    let nobody = json_of(cast.owner.call("direct/open", &[("user", "999999")]).await).await;
    assert_eq!(nobody, not_found());
    app.shutdown().await;
}

#[tokio::test]
async fn the_room_page_is_404_for_missing_and_hidden_rooms_and_redirects_the_anonymous() {
    let app = TestApp::spawn().await;
    let mut cast = cast(&app).await;
    let id = private_room_with_member(&mut cast).await;
    for browser in [&mut cast.member, &mut cast.outsider, &mut cast.anonymous] {
        browser
            .headers
            .insert("accept", "text/html".parse().unwrap());
    }
    let path = format!("/rooms/{id}");
    let page = cast.member.get(&path).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<h1 id="room-heading">Secret</h1>"#),
        "{html}"
    );
    assert!(html.contains("A topic"), "{html}");

    let hidden = cast.outsider.get(&path).await;
    assert_eq!(hidden.status(), 404);
    let hidden_html = hidden.text().await.unwrap();
    assert!(
        !hidden_html.contains("Secret"),
        "nothing about the room leaks"
    );
    assert_eq!(cast.outsider.get("/rooms/999999").await.status(), 404);
    assert_eq!(cast.outsider.get("/rooms/not-a-number").await.status(), 404);

    let anonymous = cast.anonymous.get(&path).await;
    assert_eq!(anonymous.status(), 302);
    assert_eq!(
        anonymous.headers()["location"],
        format!("/login?next=/rooms/{id}")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_settings_page_is_for_managers_only() {
    let app = TestApp::spawn().await;
    let mut cast = cast(&app).await;
    let id = create(&mut cast.owner, "Lobby", false).await;
    for browser in [&mut cast.owner, &mut cast.outsider] {
        browser
            .headers
            .insert("accept", "text/html".parse().unwrap());
    }
    let path = format!("/rooms/{id}/settings");
    assert_eq!(cast.owner.get(&path).await.status(), 200);
    assert_eq!(cast.outsider.get(&path).await.status(), 403);
    app.shutdown().await;
}

#[tokio::test]
async fn creating_rooms_and_opening_direct_conversations_past_the_hourly_limit_gets_429() {
    let app = TestApp::spawn_with_clock(Clock::manual(1_700_000_000_000), |config| {
        config.rooms.rooms_per_hour = 3;
        config.rooms.directs_per_hour = 2;
    })
    .await;
    let mut minji = app.browser();
    minji
        .register("minji", crate::support::chat::PASSWORD)
        .await;
    for n in 0..3 {
        let name = format!("Room {n}");
        let response = minji
            .call("rooms/create", &[("name", &name), ("topic", "")])
            .await;
        assert_eq!(response.status(), 200);
    }
    let refused = minji
        .call("rooms/create", &[("name", "One too many"), ("topic", "")])
        .await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    let (_, body) = json_of(refused).await;
    assert_eq!(body["error"], "rate_limited", "{body}");

    let mut others = Vec::new();
    let mut browsers = Vec::new();
    for name in ["jisoo", "hana", "yuna"] {
        let mut other = app.browser();
        other.register(name, crate::support::chat::PASSWORD).await;
        others.push(other.me().await["id"].to_string());
        browsers.push(other);
    }
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for id in &others {
            let response = minji.call("direct/open", &[("user", id)]).await;
            statuses.push(response.status().as_u16());
        }
        statuses
    };
    assert_eq!(statuses, [200, 200, 429]);
    // Going back to a conversation that exists spends nothing, however often.
    for _ in 0..5 {
        let again = minji.call("direct/open", &[("user", &others[0])]).await;
        assert_eq!(
            again.status(),
            200,
            "opening an existing conversation is never limited"
        );
    }
    // Bringing back someone who left makes something new: that is limited like a new one.
    let opened = minji.call("direct/open", &[("user", &others[0])]).await;
    let direct: serde_json::Value = opened.json().await.unwrap();
    let left = browsers[0]
        .call("rooms/leave", &[("id", &direct.to_string())])
        .await;
    assert_eq!(left.status(), 200);
    let again = minji.call("direct/open", &[("user", &others[0])]).await;
    assert_eq!(again.status(), 429, "re-adding the one who left is charged");
    app.shutdown().await;
}
