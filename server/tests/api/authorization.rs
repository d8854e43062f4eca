//! The authorization matrix: every room-scoped server function and socket frame, called as
//! anonymous, outsider, member, owner and admin, against a public room, a private room and a
//! direct conversation, with the expected answer of each cell in [`EXPECTED`]. A room a caller
//! may not see answers exactly as a room that does not exist (404, `not_found`), so ids reveal
//! nothing; a room they see but may not manage answers 403.
//!
//! Each cell runs on a room of its own, made for it, so a cell that changes something (a join,
//! a removal, a deletion) cannot change the next cell's answer.

use app::model::RoomId;
use app::protocol::{ClientFrame, ProtocolError, ServerFrame};

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::chat::{call_json, person, post, private_room_with, uuid};
use crate::support::socket::Socket;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Public,
    Private,
    Direct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Anonymous,
    Outsider,
    Member,
    Owner,
    Admin,
}

const KINDS: [Kind; 3] = [Kind::Public, Kind::Private, Kind::Direct];
const ROLES: [Role; 5] = [
    Role::Anonymous,
    Role::Outsider,
    Role::Member,
    Role::Owner,
    Role::Admin,
];

/// The operations, by the endpoint or frame they exercise.
pub(crate) const OPERATIONS: [&str; 30] = [
    "rooms/list",
    "invitations/revoke",
    "invitations/get",
    "invitations/accept",
    "ws unsubscribe",
    "rooms/get",
    "rooms/members",
    "rooms/update",
    "rooms/delete",
    "rooms/join",
    "rooms/leave",
    "rooms/remove_member",
    "invitations/create",
    "invitations/list",
    "messages/history",
    "messages/send",
    "messages/read",
    "messages/edit",
    "messages/delete",
    "ws subscribe",
    "ws fetch",
    "ws typing",
    "ws subscribe quiet",
    "direct/open",
    "rooms/notifications",
    // Reactions and replies (#16).
    "messages/react",
    "messages/send reply",
    // Markdown and mentions (#16).
    "mentions/list",
    // Search (#17).
    "messages/search",
    "messages/around",
];

/// Everyone a cell may act as, signed up once; `admin` signed up first (the first account
/// is the server's admin) and is in no room.
struct People {
    admin: Browser,
    owner: Browser,
    member: Browser,
    outsider: Browser,
    victim: Browser,
    member_id: String,
    victim_id: String,
}

/// A room made for one cell: the owner's (for a direct conversation, the one who opened
/// it), with `member` and `victim` in it, and a message by `member`.
struct Fixture {
    room: RoomId,
    message: i64,
    /// An invitation of the owner's (id, token); a direct conversation has none, and its
    /// cells use ones that do not exist.
    invitation: (String, String),
}

async fn user_id(browser: &mut Browser) -> String {
    browser.me().await["id"].to_string()
}

async fn fixture(app: &TestApp, people: &mut People, kind: Kind) -> Fixture {
    let room = match kind {
        Kind::Public => {
            let (status, room) = call_json(
                &mut people.owner,
                "rooms/create",
                &[("name", "Public"), ("topic", "")],
            )
            .await;
            assert_eq!(status, 200, "{room}");
            let room = RoomId(room["id"].as_i64().unwrap());
            for joiner in [&mut people.member, &mut people.victim] {
                let (status, body) =
                    call_json(joiner, "rooms/join", &[("id", &room.to_string())]).await;
                assert_eq!(status, 200, "{body}");
            }
            room
        }
        Kind::Private => {
            let room = private_room_with(&mut people.owner, &mut people.member).await;
            let mut victim = crate::support::chat::on(app, &people.victim);
            invite(&mut people.owner, &mut victim, room).await;
            room
        }
        Kind::Direct => {
            let (status, room) = call_json(
                &mut people.owner,
                "direct/open",
                &[("user", &people.member_id)],
            )
            .await;
            assert_eq!(status, 200, "{room}");
            RoomId(room.as_i64().unwrap())
        }
    };
    let (status, ack) = post(&mut people.member, room, &uuid(next_id()), "hello").await;
    assert_eq!(status, 200, "{ack}");
    let invitation = if kind == Kind::Direct {
        ("999999".to_owned(), "no-such-token".to_owned())
    } else {
        let (status, made) = call_json(
            &mut people.owner,
            "invitations/create",
            &[("id", &room.to_string())],
        )
        .await;
        assert_eq!(status, 200, "{made}");
        let token = made["path"]
            .as_str()
            .unwrap()
            .trim_start_matches("/invite/");
        (made["id"].to_string(), token.to_owned())
    };
    Fixture {
        room,
        message: ack["id"].as_i64().expect("a message id"),
        invitation,
    }
}

/// `invitee` joins private `room` through a new invitation of `owner`'s.
async fn invite(owner: &mut Browser, invitee: &mut Browser, room: RoomId) {
    let (status, invitation) =
        call_json(owner, "invitations/create", &[("id", &room.to_string())]).await;
    assert_eq!(status, 200, "{invitation}");
    let token = invitation["path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/invite/")
        .to_owned();
    let (status, body) = call_json(invitee, "invitations/accept", &[("token", &token)]).await;
    assert_eq!(status, 200, "{body}");
}

fn next_id() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The answer of one cell: an HTTP status, or for a socket frame `ok`, the error it got, or
/// the upgrade's status.
async fn answer(app: &TestApp, people: &mut People, role: Role, op: &str, at: &Fixture) -> String {
    let room = at.room.to_string();
    let message = at.message.to_string();
    let mut anonymous = app.browser();
    if op == "ws typing" {
        return typing_answer(app, people, role, at.room).await;
    }
    if let Some(frame) = op.strip_prefix("ws ") {
        let caller = match role {
            Role::Anonymous => &anonymous,
            Role::Outsider => &people.outsider,
            Role::Member => &people.member,
            Role::Owner => &people.owner,
            Role::Admin => &people.admin,
        };
        return socket_answer(app, caller, frame, at.room).await;
    }
    if op == "mentions/list" && role != Role::Anonymous {
        // The member names the caller in the cell's room; only a mention of a member of the
        // room, by someone else, is listed for them.
        let name = match role {
            Role::Outsider => "outsider",
            Role::Member => "member",
            Role::Owner => "owner",
            _ => "admin",
        };
        let body = format!("hi @{name}");
        let (status, ack) = post(&mut people.member, at.room, &uuid(next_id()), &body).await;
        assert_eq!(status, 200, "{ack}");
    }
    let caller = match role {
        Role::Anonymous => &mut anonymous,
        Role::Outsider => &mut people.outsider,
        Role::Member => &mut people.member,
        Role::Owner => &mut people.owner,
        Role::Admin => &mut people.admin,
    };
    let client_id = uuid(next_id());
    let form: Vec<(&str, &str)> = match op {
        "rooms/get" | "rooms/members" | "rooms/delete" | "rooms/join" | "rooms/leave"
        | "invitations/create" | "invitations/list" => vec![("id", &room)],
        "rooms/update" => vec![("id", &room), ("name", "Renamed"), ("topic", "")],
        "rooms/remove_member" => vec![("id", &room), ("user", &people.victim_id)],
        "messages/history" => vec![("room", &room)],
        "messages/send" => vec![("room", &room), ("client_id", &client_id), ("body", "hi")],
        "messages/read" => vec![("room", &room), ("seq", "1")],
        "messages/edit" => vec![("id", &message), ("body", "edited")],
        "messages/delete" => vec![("id", &message)],
        "direct/open" => vec![("user", &people.member_id)],
        "rooms/notifications" => vec![("id", &room), ("level", "nothing")],
        "messages/react" => vec![("id", &message), ("emoji", "👍"), ("on", "true")],
        "messages/send reply" => vec![
            ("room", &room),
            ("client_id", &client_id),
            ("body", "re"),
            ("reply_to", &message),
        ],
        "rooms/list" | "mentions/list" => Vec::new(),
        "messages/search" => vec![("query", "hello")],
        "messages/around" => vec![("room", &room), ("seq", "1")],
        "invitations/revoke" => vec![("id", &room), ("invitation", &at.invitation.0)],
        "invitations/get" | "invitations/accept" => vec![("token", &at.invitation.1)],
        other => panic!("no form for {other}"),
    };
    let endpoint = op.strip_suffix(" reply").unwrap_or(op);
    let (status, body) = call_json(caller, endpoint, &form).await;
    if op == "rooms/list" && status == 200 {
        // Whether the room is in the caller's list.
        let listed = body
            .as_array()
            .is_some_and(|rooms| rooms.iter().any(|room| room["id"] == at.room.0));
        return if listed { "listed" } else { "absent" }.into();
    }
    if op == "mentions/list" && status == 200 {
        // Whether a mention in the cell's room is in the caller's list.
        let listed = body.as_array().is_some_and(|mentions| {
            mentions
                .iter()
                .any(|mention| mention["message"]["room"] == at.room.0)
        });
        return if listed { "listed" } else { "absent" }.into();
    }
    if op == "messages/search" && status == 200 {
        // Whether the cell's message is among the results (it is the newest "hello").
        let listed = body["hits"]
            .as_array()
            .is_some_and(|hits| hits.iter().any(|hit| hit["room"] == at.room.0));
        return if listed { "listed" } else { "absent" }.into();
    }
    status.to_string()
}

async fn open(app: &TestApp, caller: &Browser) -> Result<Socket, String> {
    let mut socket = Socket::open(app.addr, caller.cookie.as_deref(), Some(&app.origin()))
        .await
        .map_err(|status| status.to_string())?;
    assert!(matches!(socket.next().await, ServerFrame::Hello { .. }));
    Ok(socket)
}

/// What the first answer to a frame says: `ok`, or the error's kind.
fn verdict(frame: Option<ServerFrame>) -> String {
    match frame {
        Some(ServerFrame::Subscribed { .. } | ServerFrame::Message { .. }) => "ok".into(),
        Some(ServerFrame::Error {
            error: ProtocolError::NotFound { .. },
        }) => "not_found".into(),
        other => format!("{other:?}"),
    }
}

async fn socket_answer(app: &TestApp, caller: &Browser, frame: &str, room: RoomId) -> String {
    let mut socket = match open(app, caller).await {
        Ok(socket) => socket,
        Err(status) => return status,
    };
    let wait = std::time::Duration::from_secs(5);
    if frame == "unsubscribe" {
        // Unsubscribing from a room never subscribed to: answered or ignored, never an
        // error that says whether the room exists.
        socket.send(&ClientFrame::Unsubscribe { room }).await;
        return match socket
            .next_within(std::time::Duration::from_millis(500))
            .await
        {
            None => "ignored".into(),
            other => verdict(other),
        };
    }
    let subscribe = ClientFrame::Subscribe {
        room,
        after_seq: None,
        quiet: frame == "subscribe quiet",
    };
    socket.send(&subscribe).await;
    let subscribed = verdict(socket.next_within(wait).await);
    if frame != "fetch" || subscribed != "ok" {
        return subscribed;
    }
    // A gap fill in the room just subscribed to: the first message.
    socket
        .send(&ClientFrame::Fetch {
            room,
            after_seq: 0,
            until_seq: 2,
        })
        .await;
    verdict(socket.next_within(wait).await)
}

/// Whether the caller's typing signal reaches someone subscribed to the room (`relayed`), or
/// is dropped (`ignored`); typing is never answered to its sender.
async fn typing_answer(app: &TestApp, people: &People, role: Role, room: RoomId) -> String {
    let anonymous = app.browser();
    let (caller, observer) = match role {
        Role::Anonymous => (&anonymous, &people.owner),
        Role::Outsider => (&people.outsider, &people.owner),
        Role::Member => (&people.member, &people.owner),
        Role::Owner => (&people.owner, &people.member),
        Role::Admin => (&people.admin, &people.owner),
    };
    let mut watching = open(app, observer).await.expect("the observer's socket");
    watching.subscribe_live(room).await;
    assert_eq!(
        verdict(
            watching
                .next_within(std::time::Duration::from_secs(5))
                .await
        ),
        "ok"
    );
    let mut socket = match open(app, caller).await {
        Ok(socket) => socket,
        Err(status) => return status,
    };
    // Typing counts only from a socket subscribed to the room: the caller tries to be.
    socket.subscribe_live(room).await;
    socket.next_within(std::time::Duration::from_secs(5)).await;
    socket.send(&ClientFrame::Typing { room }).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(700);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match watching.next_any_within(left).await {
            Some(ServerFrame::Typing { .. }) => return "relayed".into(),
            Some(_) => continue,
            None => return "ignored".into(),
        }
    }
}

/// An operation and its answers, by role, in a public room, a private room and a direct
/// conversation.
type Row = (
    &'static str,
    [&'static str; 5],
    [&'static str; 5],
    [&'static str; 5],
);

/// The expected answer of each operation, by role (anonymous, outsider, member, owner,
/// admin), in a public room, a private room and a direct conversation. Read as the rules:
/// - anonymous callers get 401 everywhere (the socket's upgrade included);
/// - a private room or a direct conversation does not exist for outsiders, nor for the
///   server's admin, who is no member of it (404, `not_found`);
/// - a public room is readable by anyone signed in (get, members, history, subscribe,
///   fetch, read marks), but posting and typing need membership (403, typing ignored);
/// - managing (update, delete, invitations, removing members) is the owner's, and the
///   admin's in public rooms (403 for members); a direct conversation has no manager;
/// - a message is edited by its author only; deleted by its author, or by whoever manages
///   the room;
/// - the owner cannot leave a room they own (409), and nobody opens a direct conversation
///   with themselves (409);
/// - the room list shows a private room or a direct conversation only to its members;
/// - an invitation link is read and accepted by anyone signed in who holds it (the token is
///   the permission); one that does not exist is gone (410); revoking one is managing;
/// - unsubscribing from a room one is not subscribed to is ignored, whatever the room;
/// - my mentions list names only rooms I am a member of, and never my own messages;
/// - a search finds messages in the rooms whose history I may read, and no others.
#[rustfmt::skip]
const EXPECTED: &[Row] = &[
    (
        "rooms/list",
        ["401", "listed", "listed", "listed", "listed"],
        ["401", "absent", "listed", "listed", "absent"],
        ["401", "absent", "listed", "listed", "absent"],
    ),
    (
        "invitations/revoke",
        ["401", "403", "403", "200", "200"],
        ["401", "404", "403", "200", "404"],
        ["401", "404", "403", "403", "404"],
    ),
    (
        "invitations/get",
        ["401", "200", "200", "200", "200"],
        ["401", "200", "200", "200", "200"],
        ["401", "410", "410", "410", "410"],
    ),
    (
        "invitations/accept",
        ["401", "200", "200", "200", "200"],
        ["401", "200", "200", "200", "200"],
        ["401", "410", "410", "410", "410"],
    ),
    (
        "ws unsubscribe",
        ["401", "ignored", "ignored", "ignored", "ignored"],
        ["401", "ignored", "ignored", "ignored", "ignored"],
        ["401", "ignored", "ignored", "ignored", "ignored"],
    ),
    (
        "rooms/get",
        ["401", "200", "200", "200", "200"],
        ["401", "404", "200", "200", "404"],
        ["401", "404", "200", "200", "404"],
    ),
    (
        "rooms/members",
        ["401", "200", "200", "200", "200"],
        ["401", "404", "200", "200", "404"],
        ["401", "404", "200", "200", "404"],
    ),
    (
        "rooms/update",
        ["401", "403", "403", "200", "200"],
        ["401", "404", "403", "200", "404"],
        ["401", "404", "403", "403", "404"],
    ),
    (
        "rooms/delete",
        ["401", "403", "403", "200", "200"],
        ["401", "404", "403", "200", "404"],
        ["401", "404", "403", "403", "404"],
    ),
    (
        "rooms/join",
        ["401", "200", "200", "200", "200"],
        ["401", "404", "200", "200", "404"],
        ["401", "404", "200", "200", "404"],
    ),
    (
        "rooms/leave",
        ["401", "200", "200", "409", "200"],
        ["401", "404", "200", "409", "404"],
        ["401", "404", "200", "200", "404"],
    ),
    (
        "rooms/remove_member",
        ["401", "403", "403", "200", "200"],
        ["401", "404", "403", "200", "404"],
        ["401", "404", "403", "403", "404"],
    ),
    (
        "invitations/create",
        ["401", "403", "403", "200", "200"],
        ["401", "404", "403", "200", "404"],
        ["401", "404", "403", "403", "404"],
    ),
    (
        "invitations/list",
        ["401", "403", "403", "200", "200"],
        ["401", "404", "403", "200", "404"],
        ["401", "404", "403", "403", "404"],
    ),
    (
        "messages/history",
        ["401", "200", "200", "200", "200"],
        ["401", "404", "200", "200", "404"],
        ["401", "404", "200", "200", "404"],
    ),
    (
        "messages/send",
        ["401", "403", "200", "200", "403"],
        ["401", "404", "200", "200", "404"],
        ["401", "404", "200", "200", "404"],
    ),
    (
        "messages/read",
        ["401", "200", "200", "200", "200"],
        ["401", "404", "200", "200", "404"],
        ["401", "404", "200", "200", "404"],
    ),
    (
        "messages/edit",
        ["401", "403", "200", "403", "403"],
        ["401", "404", "200", "403", "404"],
        ["401", "404", "200", "403", "404"],
    ),
    (
        "messages/delete",
        ["401", "403", "200", "200", "200"],
        ["401", "404", "200", "200", "404"],
        ["401", "404", "200", "403", "404"],
    ),
    (
        "ws subscribe",
        ["401", "ok", "ok", "ok", "ok"],
        ["401", "not_found", "ok", "ok", "not_found"],
        ["401", "not_found", "ok", "ok", "not_found"],
    ),
    (
        "ws fetch",
        ["401", "ok", "ok", "ok", "ok"],
        ["401", "not_found", "ok", "ok", "not_found"],
        ["401", "not_found", "ok", "ok", "not_found"],
    ),
    (
        "ws typing",
        ["401", "ignored", "relayed", "relayed", "ignored"],
        ["401", "ignored", "relayed", "relayed", "ignored"],
        ["401", "ignored", "relayed", "relayed", "ignored"],
    ),
    (
        "ws subscribe quiet",
        ["401", "ok", "ok", "ok", "ok"],
        ["401", "not_found", "ok", "ok", "not_found"],
        ["401", "not_found", "ok", "ok", "not_found"],
    ),
    (
        "direct/open",
        ["401", "200", "409", "200", "200"],
        ["401", "200", "409", "200", "200"],
        ["401", "200", "409", "200", "200"],
    ),
    // A notification level is a member's own: nobody else has one to set.
    (
        "rooms/notifications",
        ["401", "403", "200", "200", "403"],
        ["401", "404", "200", "200", "404"],
        ["401", "404", "200", "200", "404"],
    ),
    // Reactions and replies (#16): reacting is taking part, like posting; a reply is a post.
    (
        "messages/react",
        ["401", "403", "200", "200", "403"],
        ["401", "404", "200", "200", "404"],
        ["401", "404", "200", "200", "404"],
    ),
    (
        "messages/send reply",
        ["401", "403", "200", "200", "403"],
        ["401", "404", "200", "200", "404"],
        ["401", "404", "200", "200", "404"],
    ),
    // Markdown and mentions (#16): a mention is listed only for a member of the room, named
    // by someone else (the member's own name in their message is no mention of note).
    (
        "mentions/list",
        ["401", "absent", "absent", "listed", "absent"],
        ["401", "absent", "absent", "listed", "absent"],
        ["401", "absent", "absent", "listed", "absent"],
    ),
    // Search (#17): a search finds what its caller may read, like the history does, and
    // the history around a message is history.
    (
        "messages/search",
        ["401", "listed", "listed", "listed", "listed"],
        ["401", "absent", "listed", "listed", "absent"],
        ["401", "absent", "listed", "listed", "absent"],
    ),
    (
        "messages/around",
        ["401", "200", "200", "200", "200"],
        ["401", "404", "200", "200", "404"],
        ["401", "404", "200", "200", "404"],
    ),
];

#[tokio::test]
async fn every_operation_answers_each_role_as_the_table_says() {
    let app = TestApp::spawn_with(|config| {
        config.messages.messages_per_window = 0;
        config.messages.reactions_per_window = 0;
        config.auth.sign_up_per_hour = 0;
        // Each cell makes a room of its own.
        config.rooms.rooms_per_hour = 0;
        config.rooms.directs_per_hour = 0;
    })
    .await;
    let mut admin = person(&app, "admin").await;
    let owner = person(&app, "owner").await;
    let mut member = person(&app, "member").await;
    let outsider = person(&app, "outsider").await;
    let mut victim = person(&app, "victim").await;
    let member_id = user_id(&mut member).await;
    let victim_id = user_id(&mut victim).await;
    assert_eq!(admin.me().await["is_admin"], true);
    let mut people = People {
        admin,
        owner,
        member,
        outsider,
        victim,
        member_id,
        victim_id,
    };
    assert_eq!(
        EXPECTED.iter().map(|row| row.0).collect::<Vec<_>>(),
        OPERATIONS,
        "one row per operation"
    );
    let mut wrong = Vec::new();
    for (op, public, private, direct) in EXPECTED {
        for (kind, expected) in KINDS.into_iter().zip([public, private, direct]) {
            for (role, expected) in ROLES.into_iter().zip(expected) {
                let at = fixture(&app, &mut people, kind).await;
                let got = answer(&app, &mut people, role, op, &at).await;
                if got != *expected {
                    wrong.push(format!(
                        "{op} in a {kind:?} room as {role:?}: {got}, expected {expected}"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
