//! Search end to end through the HTTP API (#17): Korean found by part of a word, with the
//! words marked in the snippet, only in rooms the searcher may read, paged newest first;
//! hostile queries answered like any other; the history around a found message; and the
//! server-rendered `/search` page and the room opened at a result.

use app::model::RoomId;
use app::protocol::search::SearchPage;
use app::protocol::{HistoryPage, MessageId};

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::chat::{call_json, person, post, private_room_with, room_with, uuid};

async fn search(browser: &mut Browser, query: &str, before: Option<MessageId>) -> SearchPage {
    let before = before.map(|id| id.0.to_string());
    let mut form = vec![("query", query)];
    if let Some(before) = &before {
        form.push(("before", before));
    }
    let (status, page) = call_json(browser, "messages/search", &form).await;
    assert_eq!(status, 200, "{query:?}: {page}");
    serde_json::from_value(page).expect("a search page")
}

/// The marked words of each hit, newest first.
fn marked(page: &SearchPage) -> Vec<Vec<String>> {
    page.hits
        .iter()
        .map(|hit| {
            hit.snippet
                .iter()
                .filter(|part| part.marked)
                .map(|part| part.text.clone())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn korean_is_found_by_part_of_a_word_in_rooms_one_may_read() {
    let app = TestApp::spawn().await;
    let mut ana = person(&app, "ana").await;
    let mut bora = person(&app, "bora").await;
    let mut outsider = person(&app, "outsider").await;
    let public = room_with(&mut ana, &mut [&mut bora]).await;
    let private = private_room_with(&mut ana, &mut bora).await;
    post(&mut ana, public, &uuid(1), "오늘회의는3시").await;
    post(&mut bora, private, &uuid(2), "비밀 회의실 예약").await;
    post(&mut ana, public, &uuid(3), "회의를 합니다").await;

    let page = search(&mut bora, "회의", None).await;
    assert_eq!(marked(&page), [["회의"], ["회의"], ["회의"]]);
    assert_eq!(page.hits[0].room, public);
    assert_eq!(page.hits[1].room, private);
    assert_eq!(page.hits[1].room_name, "Secret");
    assert_eq!(page.hits[1].author.as_ref().unwrap().username, "bora");
    assert_eq!(page.next, None);

    let page = search(&mut outsider, "회의", None).await;
    assert_eq!(
        page.hits.len(),
        2,
        "the private room's message is not theirs to find"
    );
    assert!(page.hits.iter().all(|hit| hit.room == public));

    let page = search(&mut bora, "회의실", None).await;
    assert_eq!(marked(&page), [["회의실"]]);
    assert_eq!(search(&mut bora, "from:ana 회의", None).await.hits.len(), 2);
    assert_eq!(
        search(&mut bora, "in:secret 회의", None).await.hits.len(),
        1
    );
}

#[tokio::test]
async fn results_come_in_pages_newest_first() {
    let app = TestApp::spawn_with(|config| config.messages.messages_per_window = 0).await;
    let mut ana = person(&app, "ana").await;
    let room = room_with(&mut ana, &mut []).await;
    for n in 1..=25 {
        post(&mut ana, room, &uuid(n), &format!("standup note {n}")).await;
    }
    let first = search(&mut ana, "standup", None).await;
    assert_eq!(first.hits.len(), 20);
    assert_eq!(first.hits[0].seq, 25);
    let next = first.next.expect("there are older results");
    let second = search(&mut ana, "standup", Some(next)).await;
    let seqs: Vec<u64> = second.hits.iter().map(|hit| hit.seq).collect();
    assert_eq!(seqs, [5, 4, 3, 2, 1]);
    assert_eq!(second.next, None);
}

#[tokio::test]
async fn hostile_queries_are_answered_like_any_other() {
    let app = TestApp::spawn().await;
    let mut ana = person(&app, "ana").await;
    let room = room_with(&mut ana, &mut []).await;
    post(&mut ana, room, &uuid(1), "NEAR(a b) -c \"d\" e* (f)").await;
    let long = "x\"*( -NEAR ".repeat(1_000);
    for query in [
        "\"",
        "*",
        "NEAR(a b)",
        "a -b",
        "(((",
        "a OR b",
        "'; DROP TABLE messages; --",
        "^ : <-> & | !",
        "",
        "   ",
        long.as_str(),
    ] {
        search(&mut ana, query, None).await;
    }
    assert_eq!(long.chars().count(), 11_000);
    assert_eq!(search(&mut ana, "(f)", None).await.hits.len(), 1);
    assert_eq!(
        search(&mut ana, "-c", None).await.hits.len(),
        1,
        "a minus is a word"
    );
}

async fn around(browser: &mut Browser, room: RoomId, seq: u64) -> HistoryPage {
    let (room, seq) = (room.to_string(), seq.to_string());
    let (status, page) = call_json(
        browser,
        "messages/around",
        &[("room", &room), ("seq", &seq)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    serde_json::from_value(page).expect("a history page")
}

#[tokio::test]
async fn the_history_around_a_message_holds_it_in_the_middle() {
    let app = TestApp::spawn_with(|config| config.messages.messages_per_window = 0).await;
    let mut ana = person(&app, "ana").await;
    let room = room_with(&mut ana, &mut []).await;
    for n in 1..=120 {
        post(&mut ana, room, &uuid(n), &format!("message {n}")).await;
    }
    let page = around(&mut ana, room, 60).await;
    let seqs: Vec<u64> = page.messages.iter().map(|message| message.seq).collect();
    assert_eq!(seqs, (35..=85).collect::<Vec<_>>());
    assert!(page.has_more);
    assert_eq!(page.last_seq, 85, "the socket continues after the page");
    let page = around(&mut ana, room, 110).await;
    assert_eq!(page.messages.first().unwrap().seq, 85);
    assert_eq!(page.messages.last().unwrap().seq, 120);
    assert_eq!(page.last_seq, 120);
    let page = around(&mut ana, room, 3).await;
    assert_eq!(page.messages.first().unwrap().seq, 1);
    assert!(!page.has_more);
}

#[tokio::test]
async fn the_search_page_and_the_room_at_a_result_are_rendered_on_the_server() {
    let app = TestApp::spawn().await;
    let mut ana = person(&app, "ana").await;
    let room: RoomId = room_with(&mut ana, &mut []).await;
    post(&mut ana, room, &uuid(1), "오늘회의는3시 <b>not bold</b>").await;
    let html = ana
        .get("/search?q=%ED%9A%8C%EC%9D%98")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"aria-label="Search results""#), "{html}");
    assert!(html.contains("<mark>회의</mark>"), "{html}");
    assert!(
        html.contains("&lt;b&gt;not bold&lt;/b&gt;"),
        "text stays text: {html}"
    );
    let link = format!("/rooms/{room}?at=1#message-1");
    assert!(html.contains(&link), "{html}");

    let html = ana
        .get(&format!("/rooms/{room}?at=1"))
        .await
        .text()
        .await
        .unwrap();
    let item = html
        .split("<li")
        .find(|item| item.contains(r#"id="message-1""#))
        .expect("the message is on the page");
    assert!(item.contains("highlighted"), "{item}");
}
