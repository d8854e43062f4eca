//! The authorization matrix of the server functions that concern no existing room (the
//! account functions, creating a room, the status), beside the room matrix of
//! `authorization`: each called as anonymous, outsider, member, owner and admin. They act on
//! the caller's own account and take no one else's id, so besides each answer the matrix
//! checks after every cell that nobody else's account changed (still signed in, same name).
//! A room's kind plays no part here, so the rows have one answer per role. A last test checks
//! that the two matrices together name every server function the server has.
//!
//! Every cell runs on a server of its own: signing out, deleting the account or changing the
//! password of the admin would otherwise change the cells after it.

use crate::authorization::OPERATIONS as ROOM_OPERATIONS;
use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::chat::{PASSWORD, call_json, person};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Anonymous,
    Outsider,
    Member,
    Owner,
    Admin,
}

const ROLES: [Role; 5] = [
    Role::Anonymous,
    Role::Outsider,
    Role::Member,
    Role::Owner,
    Role::Admin,
];

/// The expected answer by role (anonymous, outsider, member, owner, admin). `self` and
/// `none`: whom `me` reports. Read as the rules:
/// - what needs an account answers 401 without one;
/// - signing up, signing in (with one's own password) and signing out are open to anyone:
///   signing out when signed out is no error;
/// - being the owner of a room or the server's admin gives no power over accounts: each
///   role changes its own account only.
#[rustfmt::skip]
const EXPECTED: &[(&str, [&str; 5])] = &[
    ("me",                  ["none", "self", "self", "self", "self"]),
    ("register",            ["200", "200", "200", "200", "200"]),
    ("sign_in",             ["200", "200", "200", "200", "200"]),
    ("sign_out",            ["200", "200", "200", "200", "200"]),
    ("sign_out_everywhere", ["401", "200", "200", "200", "200"]),
    ("update_display_name", ["401", "200", "200", "200", "200"]),
    ("change_password",     ["401", "200", "200", "200", "200"]),
    ("delete_account",      ["401", "200", "200", "200", "200"]),
    ("status",              ["200", "200", "200", "200", "200"]),
    ("rooms/create",        ["401", "200", "200", "200", "200"]),
];

/// One server with the cast: `admin` (the first account), `owner` of a public room that
/// `member` joined, and `outsider`; the caller is one of them, or a browser signed in as
/// nobody.
struct Cast {
    app: TestApp,
    people: Vec<(Role, &'static str, Browser)>,
}

async fn cast() -> Cast {
    let app = TestApp::spawn_with(|config| {
        config.auth.sign_up_per_hour = 0;
    })
    .await;
    let mut people = Vec::new();
    for (role, name) in [
        (Role::Admin, "admin"),
        (Role::Owner, "owner"),
        (Role::Member, "member"),
        (Role::Outsider, "outsider"),
    ] {
        people.push((role, name, person(&app, name).await));
    }
    let owner = &mut people[1].2;
    let (status, room) =
        call_json(owner, "rooms/create", &[("name", "Lobby"), ("topic", "")]).await;
    assert_eq!(status, 200, "{room}");
    let room = room["id"].to_string();
    let (status, body) = call_json(&mut people[2].2, "rooms/join", &[("id", &room)]).await;
    assert_eq!(status, 200, "{body}");
    Cast { app, people }
}

/// The answer of `op` called by `caller`, whose username is `name` (`None`: anonymous).
async fn answer(caller: &mut Browser, name: Option<&str>, op: &str) -> String {
    let form: Vec<(&str, &str)> = match op {
        "me" => {
            let me = caller.me().await;
            return match me["username"].as_str() {
                None => "none".into(),
                Some(username) if Some(username) == name => "self".into(),
                Some(other) => format!("someone else: {other}"),
            };
        }
        "register" => vec![
            ("username", "newcomer"),
            ("display_name", "Newcomer"),
            ("password", PASSWORD),
        ],
        // Anonymous: someone who holds an account's password signs in to it.
        "sign_in" => vec![
            ("username", name.unwrap_or("outsider")),
            ("password", PASSWORD),
        ],
        "update_display_name" => vec![("display_name", "Renamed")],
        "change_password" => vec![
            ("current_password", PASSWORD),
            ("new_password", "another horse battery staple"),
        ],
        "delete_account" => vec![("current_password", PASSWORD)],
        "rooms/create" => vec![("name", "Another"), ("topic", "")],
        "sign_out" | "sign_out_everywhere" | "status" => Vec::new(),
        other => panic!("no form for {other}"),
    };
    let (status, _) = call_json(caller, op, &form).await;
    status.to_string()
}

/// Who, besides the caller, is no longer signed in as themselves with their name.
async fn others_changed(cast: &mut Cast, caller: Role) -> Vec<String> {
    let mut changed = Vec::new();
    for (role, name, browser) in &mut cast.people {
        if *role == caller {
            continue;
        }
        let me = browser.me().await;
        let same = me["username"] == *name && me["display_name"] == *name;
        if !same {
            changed.push(format!("{name}: {me}"));
        }
    }
    changed
}

#[tokio::test]
async fn every_account_operation_answers_each_role_as_the_table_says_and_touches_no_one_else() {
    let mut wrong = Vec::new();
    for (op, expected) in EXPECTED {
        for (role, expected) in ROLES.into_iter().zip(expected) {
            let mut cast = cast().await;
            let mut anonymous = cast.app.browser();
            let (caller, name) = match cast.people.iter_mut().find(|(r, ..)| *r == role) {
                Some((_, name, browser)) => (browser, Some(*name)),
                None => (&mut anonymous, None),
            };
            let got = answer(caller, name, op).await;
            if got != *expected {
                wrong.push(format!("{op} as {role:?}: {got}, expected {expected}"));
            }
            let changed = others_changed(&mut cast, role).await;
            if !changed.is_empty() {
                wrong.push(format!("{op} as {role:?} changed others: {changed:?}"));
            }
            cast.app.shutdown().await;
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_two_matrices_cover_every_server_function() {
    let mut registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_owned())
        .collect();
    registered.sort();
    registered.dedup();
    let mut covered: Vec<String> = ROOM_OPERATIONS
        .iter()
        .filter(|op| !op.starts_with("ws "))
        .chain(EXPECTED.iter().map(|(op, _)| op))
        // A row may exercise an endpoint in a variant of its own ("messages/send reply").
        .map(|op| op.split(' ').next().unwrap_or(op).to_owned())
        .collect();
    covered.sort();
    covered.dedup();
    assert_eq!(covered, registered, "a server function without its rows");
}
