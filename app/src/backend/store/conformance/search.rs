//! Contracts of [`SearchStore`](crate::backend::store::SearchStore): Korean found by part of
//! a word as people write it, English by prefix, phrases and filters, newest first in pages,
//! only in rooms the searcher may read, edits and deletes reflected at once, and hostile
//! input answered like any other.

use super::{AUTHOR, SOMEONE, client_id, create_user, new_room, room_with_author};
use crate::backend::search::SearchQuery;
use crate::backend::store::{Change, NewMessage, Store};
use crate::model::{RichText, RoomId, UserId, Visibility};
use crate::protocol::MessageId;

/// Posts `body` as message `n` of `author` in `room`.
async fn say(store: &dyn Store, room: RoomId, author: UserId, n: u8, body: &str) -> MessageId {
    let rich = RichText::plain(body);
    store
        .insert_message(NewMessage {
            room,
            author,
            client_id: &client_id(n),
            author_name: SOMEONE,
            author_username: AUTHOR,
            body,
            rich: &rich,
            mentioned: &[],
            now_ms: 5,
            reply_to: None,
        })
        .await
        .unwrap()
        .message
        .id
}

/// The bodies `viewer` finds with `query`, newest first (at most 100).
async fn found(store: &dyn Store, viewer: UserId, query: &str) -> Vec<String> {
    store
        .search_messages(viewer, &SearchQuery::parse(query), None, 100)
        .await
        .unwrap_or_else(|error| panic!("{query:?}: {error}"))
        .into_iter()
        .map(|message| message.body)
        .collect()
}

/// A Korean and English corpus: particles, words run together, mixed scripts, numbers.
const CORPUS: &[&str] = &[
    "오늘회의는3시",
    "3층회의실에서 봐요",
    "내일 회의를 합니다",
    "PR리뷰 부탁드립니다",
    "Deployment went fine",
    "the release notes are up",
    "notes on the release",
    "점심 먹었어요?",
];

pub(crate) async fn korean_is_found_by_part_of_a_word_and_english_by_prefix(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    for (n, body) in CORPUS.iter().enumerate() {
        say(store, room, author, n as u8 + 1, body).await;
    }
    let expect = |bodies: &[&str]| bodies.iter().map(|b| (*b).to_owned()).collect::<Vec<_>>();
    // Newest first: the corpus was posted in order.
    assert_eq!(
        found(store, author, "회의").await,
        expect(&["내일 회의를 합니다", "3층회의실에서 봐요", "오늘회의는3시"])
    );
    assert_eq!(
        found(store, author, "회의실").await,
        expect(&["3층회의실에서 봐요"])
    );
    assert_eq!(
        found(store, author, "회의는3시").await,
        expect(&["오늘회의는3시"])
    );
    assert_eq!(
        found(store, author, "3시").await,
        expect(&["오늘회의는3시"])
    );
    assert_eq!(
        found(store, author, "리뷰").await,
        expect(&["PR리뷰 부탁드립니다"])
    );
    assert_eq!(
        found(store, author, "pr리뷰").await,
        expect(&["PR리뷰 부탁드립니다"])
    );
    assert_eq!(
        found(store, author, "점").await,
        expect(&["점심 먹었어요?"])
    );
    assert_eq!(
        found(store, author, "deploy").await,
        expect(&["Deployment went fine"])
    );
    assert_eq!(
        found(store, author, "\"release notes\"").await,
        expect(&["the release notes are up"])
    );
    assert_eq!(
        found(store, author, "release notes").await,
        expect(&["notes on the release", "the release notes are up"]),
        "unquoted words need not be next to each other"
    );
    assert!(found(store, author, "ployment").await.is_empty());
    assert!(
        found(store, author, "회의 점심").await.is_empty(),
        "every word must match"
    );
    assert!(found(store, author, "").await.is_empty());
}

pub(crate) async fn results_are_newest_first_in_pages_that_continue_below_an_id(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(say(store, room, author, n, &format!("standup {n}")).await);
    }
    let query = SearchQuery::parse("standup");
    let first = store
        .search_messages(author, &query, None, 2)
        .await
        .unwrap();
    let first: Vec<MessageId> = first.iter().map(|message| message.id).collect();
    assert_eq!(first, [ids[4], ids[3]]);
    let second = store
        .search_messages(author, &query, Some(ids[3]), 2)
        .await
        .unwrap();
    let second: Vec<MessageId> = second.iter().map(|message| message.id).collect();
    assert_eq!(second, [ids[2], ids[1]]);
    let last = store
        .search_messages(author, &query, Some(ids[1]), 2)
        .await
        .unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].id, ids[0]);
    assert_eq!(last[0].room, room);
    assert_eq!(last[0].body, "standup 1");
}

pub(crate) async fn only_rooms_the_searcher_may_read_are_searched(store: &dyn Store) {
    let (public, author) = room_with_author(store).await;
    let secret = store
        .create_room(new_room("secret", Visibility::Private, author, 1))
        .await
        .unwrap();
    let dm_peer = create_user(store, "peer").await;
    let direct = store.direct_room(author, dm_peer, 1).await.unwrap();
    say(store, public, author, 1, "회의 in public").await;
    say(store, secret, author, 2, "회의 in secret").await;
    say(store, direct, author, 3, "회의 in direct").await;

    let outsider = create_user(store, "outsider").await;
    assert_eq!(
        found(store, outsider, "회의").await,
        ["회의 in public"],
        "a public room is readable by anyone, a private one and a direct one by members only"
    );
    assert_eq!(
        found(store, dm_peer, "회의").await,
        ["회의 in direct", "회의 in public"]
    );
    store.add_member(secret, outsider, 2).await.unwrap();
    assert_eq!(
        found(store, outsider, "회의").await,
        ["회의 in secret", "회의 in public"]
    );
    store.expel_member(secret, outsider, 3).await.unwrap();
    assert_eq!(
        found(store, outsider, "회의").await,
        ["회의 in public"],
        "removed, they find nothing of the room"
    );
    store.delete_room(public).await.unwrap();
    assert!(found(store, outsider, "회의").await.is_empty());
}

pub(crate) async fn an_edit_is_found_by_its_new_words_and_a_deleted_message_never(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let id = say(store, room, author, 1, "점심 메뉴").await;
    let rich = RichText::plain("저녁 메뉴");
    store
        .change_message(
            id,
            Change::Edit {
                body: "저녁 메뉴",
                rich: &rich,
                mentioned: &[],
            },
            6,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        found(store, author, "점심").await.is_empty(),
        "the old words are gone"
    );
    assert_eq!(found(store, author, "저녁").await, ["저녁 메뉴"]);
    assert_eq!(found(store, author, "메뉴").await, ["저녁 메뉴"]);
    store
        .change_message(id, Change::Delete, 7)
        .await
        .unwrap()
        .unwrap();
    assert!(found(store, author, "메뉴").await.is_empty());
    assert!(found(store, author, "저녁").await.is_empty());
    // Nothing waits to be indexed either: a deleted message has nothing to find.
    assert_eq!(store.index_pending(100).await.unwrap(), 0);
    assert!(found(store, author, "메뉴").await.is_empty());
}

pub(crate) async fn from_and_in_narrow_to_an_author_and_a_room_without_regard_to_case(
    store: &dyn Store,
) {
    let (general, author) = room_with_author(store).await;
    let minji = create_user(store, "Minji").await;
    let dev = store
        .create_room(new_room("Dev Talk", Visibility::Public, minji, 1))
        .await
        .unwrap();
    store.add_member(general, minji, 2).await.unwrap();
    say(store, general, author, 1, "배포 준비 by author").await;
    say(store, general, minji, 2, "배포 준비 by minji in r").await;
    say(store, dev, minji, 3, "배포 준비 by minji in dev").await;
    assert_eq!(
        found(store, author, "배포 from:MINJI").await,
        ["배포 준비 by minji in dev", "배포 준비 by minji in r"]
    );
    assert_eq!(
        found(store, author, "배포 from:@minji in:R").await,
        ["배포 준비 by minji in r"]
    );
    assert_eq!(
        found(store, author, "배포 \"in:dev talk\"").await,
        Vec::<String>::new(),
        "a quoted filter is words, which no message holds"
    );
    assert!(found(store, author, "배포 from:nobody").await.is_empty());
    assert!(
        found(store, author, "from:minji").await.is_empty(),
        "filters alone find nothing"
    );
}

pub(crate) async fn hostile_queries_are_answered_without_error(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    say(store, room, author, 1, "NEAR(a b) (c) -d \"e\" f*").await;
    let long = "회의 \"*( -NEAR ".repeat(800);
    for query in [
        "\"",
        "\"\"",
        "*",
        "NEAR(a b)",
        "a -b",
        "(((",
        ")",
        "a OR b",
        "a AND NOT b",
        "'; DROP TABLE messages; --",
        "\\' \\\\ ' & | ! <-> :*",
        "^a",
        "f*",
        "\u{0}",
        long.as_str(),
    ] {
        store
            .search_messages(author, &SearchQuery::parse(query), None, 10)
            .await
            .unwrap_or_else(|error| panic!("{query:?}: {error}"));
    }
    assert_eq!(found(store, author, "NEAR(a b)").await.len(), 1);
    assert_eq!(found(store, author, "f*").await.len(), 1);
    assert_eq!(
        found(store, author, "-d").await.len(),
        1,
        "a minus is not a negation"
    );
}
