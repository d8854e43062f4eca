//! Contracts of [`MessageStore`](crate::backend::store::MessageStore): numbered posts, their
//! edits and deletes, replay, history and read markers.

use super::{
    AUTHOR, SOMEONE, client_id, create_user, event_seqs, hello, new_room, post, room_with_author,
    seqs, unread_of,
};
use crate::backend::store::{Change, NewMessage, NewUser, RoomEvent, Store};
use crate::model::{UserId, Visibility};
use crate::protocol::{MessageId, MessageView, Person};

pub(crate) async fn messages_take_gapless_numbers_and_a_resend_returns_the_original(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let (one, two) = (client_id(1), client_id(2));
    let first = post(store, room, author, &one).await;
    let resend = post(store, room, author, &one).await;
    let second = post(store, room, author, &two).await;
    assert!(first.created && !resend.created && second.created);
    assert_eq!(resend.message, first.message);
    assert_eq!(
        (first.message.seq, second.message.seq),
        (1, 2),
        "the resend took no number"
    );
    assert_eq!(store.last_seq(room).await.unwrap(), 2);
    assert_eq!(first.message.author.unwrap().display_name, "Someone");
}

pub(crate) async fn concurrent_posts_take_every_number_once(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    let ids: Vec<_> = (1..=6).map(client_id).collect();
    let post = |n: usize| store.insert_message(hello(room, author, &ids[n]));
    let posted = tokio::join!(post(0), post(1), post(2), post(3), post(4), post(5));
    let posted = [posted.0, posted.1, posted.2, posted.3, posted.4, posted.5];
    let mut numbers: Vec<u64> = posted
        .into_iter()
        .map(|posted| posted.unwrap().message.seq)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
    assert_eq!(store.last_seq(room).await.unwrap(), 6);
    let replay = store.events_after(room, 0, None, 100).await.unwrap();
    assert_eq!(event_seqs(&replay), [1, 2, 3, 4, 5, 6]);
}

pub(crate) async fn the_same_client_id_from_another_author_is_another_message(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    let other = create_user(store, "other").await;
    store.add_member(room, other, 2).await.unwrap();
    let shared = client_id(1);
    let first = post(store, room, author, &shared).await;
    let second = post(store, room, other, &shared).await;
    assert!(second.created, "client ids are unique per author only");
    assert_ne!(second.message.id, first.message.id);
    assert_eq!(second.message.seq, 2);
    assert_eq!(second.message.author.map(|person| person.id), Some(other));
}

pub(crate) async fn each_room_numbers_its_changes_from_one(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    let other_room = store
        .create_room(new_room("other", Visibility::Public, author, 1))
        .await
        .unwrap();
    assert_eq!(
        store.last_seq(other_room).await.unwrap(),
        0,
        "no change yet"
    );
    for n in 1..=3 {
        post(store, room, author, &client_id(n)).await;
    }
    let elsewhere = post(store, other_room, author, &client_id(4)).await;
    assert_eq!(elsewhere.message.seq, 1);
    assert_eq!(
        (
            store.last_seq(room).await.unwrap(),
            store.last_seq(other_room).await.unwrap()
        ),
        (3, 1)
    );
    let replay = store.events_after(other_room, 0, None, 100).await.unwrap();
    assert_eq!(event_seqs(&replay), [1]);
    assert_eq!(replay[0].message, elsewhere.message);
}

pub(crate) async fn a_message_is_found_by_id_and_by_its_authors_client_id(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    let other = create_user(store, "other").await;
    let one = client_id(1);
    let posted = post(store, room, author, &one).await.message;
    assert_eq!(
        posted,
        MessageView {
            id: posted.id,
            room,
            seq: 1,
            client_id: one.clone(),
            author: Some(Person {
                id: author,
                username: AUTHOR.into(),
                display_name: SOMEONE.into(),
            }),
            body: "hello".into(),
            created_ms: 5,
            edited_ms: None,
            deleted: false,
            changed_seq: 1,
            reactions: Vec::new(),
            reply_to: None,
            rich: crate::model::RichText::plain("hello"),
            mentions: Vec::new(),
            mentioned: Vec::new(),
        }
    );
    assert_eq!(
        store.message(posted.id).await.unwrap().as_ref(),
        Some(&posted)
    );
    assert_eq!(
        store.message(MessageId(posted.id.0 + 100)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .message_by_client_id(author, &one)
            .await
            .unwrap()
            .as_ref(),
        Some(&posted)
    );
    assert_eq!(
        store.message_by_client_id(other, &one).await.unwrap(),
        None,
        "another author's id"
    );
    assert_eq!(
        store
            .message_by_client_id(author, &client_id(2))
            .await
            .unwrap(),
        None
    );
}

pub(crate) async fn history_pages_by_seq_in_both_directions(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    for n in 1..=10u8 {
        let id = client_id(n);
        let message = NewMessage {
            room,
            author,
            client_id: &id,
            author_name: "Someone",
            author_username: AUTHOR,
            body: "x",
            rich: &crate::model::RichText::plain("x"),
            mentioned: &[],
            now_ms: 5,
            reply_to: None,
        };
        store.insert_message(message).await.unwrap();
    }
    let before = |before_seq, limit| async move {
        seqs(
            &store
                .messages_before(room, before_seq, limit)
                .await
                .unwrap(),
        )
    };
    assert_eq!(before(None, 3).await, [8, 9, 10]);
    assert_eq!(before(Some(8), 3).await, [5, 6, 7]);
    assert_eq!(before(Some(3), 3).await, [1, 2], "the first page is short");
    assert!(before(Some(1), 3).await.is_empty());
    assert_eq!(before(None, 100).await, (1..=10).collect::<Vec<_>>());
    let events = |after_seq, until_seq, limit| async move {
        event_seqs(
            &store
                .events_after(room, after_seq, until_seq, limit)
                .await
                .unwrap(),
        )
    };
    assert_eq!(events(7, None, 100).await, [8, 9, 10]);
    assert_eq!(events(2, Some(5), 100).await, [3, 4]);
    assert_eq!(events(0, None, 2).await, [1, 2]);
    assert_eq!(events(2, Some(9), 3).await, [3, 4, 5], "both bounds");
    assert!(events(10, None, 100).await.is_empty());
    assert!(events(4, Some(5), 100).await.is_empty());
}

pub(crate) async fn edits_and_deletes_take_the_next_number_and_replay_with_the_current_state(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let (one, two) = (client_id(1), client_id(2));
    let first = post(store, room, author, &one).await;
    post(store, room, author, &two).await;
    let id = first.message.id;

    let edit = store
        .change_message(
            id,
            Change::Edit {
                body: "hello, edited",
                rich: &crate::model::RichText::plain("hello, edited"),
                mentioned: &[],
            },
            7,
        )
        .await
        .unwrap()
        .expect("the message exists");
    assert_eq!((edit.seq, edit.message.seq), (3, 1));
    assert_eq!(edit.message.edited_ms, Some(7));
    assert_eq!(edit.message.changed_seq, 3);
    assert_eq!(edit.message.body, "hello, edited");
    assert_eq!(
        store.message(id).await.unwrap().as_ref(),
        Some(&edit.message)
    );

    let delete = store
        .change_message(id, Change::Delete, 8)
        .await
        .unwrap()
        .expect("the message exists");
    assert_eq!(delete.seq, 4);
    assert!(delete.message.deleted);
    assert_eq!(delete.message.body, "", "the text is gone");
    assert_eq!(
        store.change_message(id, Change::Delete, 9).await.unwrap(),
        None,
        "a deleted message cannot change again"
    );
    assert_eq!(
        store
            .change_message(
                id,
                Change::Edit {
                    body: "back",
                    rich: &crate::model::RichText::plain("back"),
                    mentioned: &[]
                },
                9
            )
            .await
            .unwrap(),
        None,
        "nor be edited"
    );
    assert_eq!(
        store.last_seq(room).await.unwrap(),
        4,
        "no number was used up"
    );

    // Every number replays, each with the message as it is now.
    let replay = store.events_after(room, 0, None, 100).await.unwrap();
    let seqs: Vec<u64> = replay.iter().map(|event| event.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    // The post's own number replays the message as it is now (deleted); the edit's
    // number, 4, replays it as a change of the message numbered 1.
    assert_eq!(replay[0].message.seq, 1);
    assert!(replay[0].message.deleted);
    assert_eq!((replay[3].seq, replay[3].message.seq), (4, 1));
    let stored = store.message(id).await.unwrap().expect("kept as deleted");
    assert_eq!(stored, delete.message);
    assert_eq!(stored.body, "");

    // History keeps the deleted message in its place, by the number its posting took.
    let history = store.messages_before(room, None, 10).await.unwrap();
    assert_eq!(super::seqs(&history), [1, 2]);
    assert!(history[0].deleted && !history[1].deleted);
}

pub(crate) async fn a_missing_message_cannot_change_and_uses_no_number(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    let posted = post(store, room, author, &client_id(1)).await;
    let missing = MessageId(posted.message.id.0 + 100);
    let edit = Change::Edit {
        body: "nobody",
        rich: &crate::model::RichText::plain("nobody"),
        mentioned: &[],
    };
    assert_eq!(store.change_message(missing, edit, 6).await.unwrap(), None);
    assert_eq!(
        store
            .change_message(missing, Change::Delete, 6)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.last_seq(room).await.unwrap(), 1);
    let replay: Vec<RoomEvent> = store.events_after(room, 0, None, 100).await.unwrap();
    assert_eq!(event_seqs(&replay), [1]);
}

pub(crate) async fn unread_counts_others_messages_after_the_read_marker(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    post(store, room, author, &client_id(1)).await;
    let reader = store
        .create_user(NewUser {
            username: "reader",
            display_name: "Reader",
            password_hash: "x",
            now_ms: 1,
        })
        .await
        .unwrap()
        .id;
    store.add_member(room, reader, 2).await.unwrap();
    assert_eq!(
        unread_of(store, room, reader).await,
        0,
        "history before joining is read"
    );
    for n in 2..=4 {
        post(store, room, author, &client_id(n)).await;
    }
    assert_eq!(unread_of(store, room, reader).await, 3);
    store.mark_read(room, reader, 2).await.unwrap();
    assert_eq!(unread_of(store, room, reader).await, 2);
    store.mark_read(room, reader, 1).await.unwrap();
    assert_eq!(
        unread_of(store, room, reader).await,
        2,
        "the marker never moves back"
    );
    store.mark_read(room, reader, 99).await.unwrap();
    assert_eq!(unread_of(store, room, reader).await, 0);
    assert_eq!(
        unread_of(store, room, author).await,
        0,
        "one's own messages are never unread"
    );
}

pub(crate) async fn unread_leaves_out_deleted_messages_and_is_counted_in_lists_only(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let reader = create_user(store, "reader").await;
    let outsider = create_user(store, "outsider").await;
    store.add_member(room, reader, 2).await.unwrap();
    let mut posted = Vec::new();
    for n in 1..=3 {
        let message = post(store, room, author, &client_id(n)).await;
        posted.push(message.message.id);
    }
    assert_eq!(unread_of(store, room, reader).await, 3);
    store
        .change_message(posted[1], Change::Delete, 6)
        .await
        .unwrap()
        .expect("the message exists");
    assert_eq!(
        unread_of(store, room, reader).await,
        2,
        "deleted ones are not"
    );
    store
        .change_message(
            posted[0],
            Change::Edit {
                body: "again",
                rich: &crate::model::RichText::plain("again"),
                mentioned: &[],
            },
            7,
        )
        .await
        .unwrap()
        .expect("the message exists");
    assert_eq!(
        unread_of(store, room, reader).await,
        2,
        "an edit is not a new message"
    );
    assert_eq!(
        unread_of(store, room, outsider).await,
        0,
        "0 for non-members"
    );
    let single = store.room(room, reader).await.unwrap().unwrap();
    assert_eq!(single.unread, 0, "not counted for one room");
}

pub(crate) async fn the_read_marker_never_passes_the_newest_change(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    let reader = create_user(store, "reader").await;
    store.add_member(room, reader, 2).await.unwrap();
    for n in 1..=2 {
        post(store, room, author, &client_id(n)).await;
    }
    store.mark_read(room, reader, 99).await.unwrap();
    assert_eq!(unread_of(store, room, reader).await, 0);
    post(store, room, author, &client_id(3)).await;
    assert_eq!(
        unread_of(store, room, reader).await,
        1,
        "the marker stopped at 2, so 3 is unread"
    );
}

pub(crate) async fn marking_read_does_nothing_for_a_non_member(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    let outsider = create_user(store, "outsider").await;
    post(store, room, author, &client_id(1)).await;
    store.mark_read(room, outsider, 1).await.unwrap();
    let members: Vec<UserId> = store
        .members(room)
        .await
        .unwrap()
        .into_iter()
        .map(|member| member.id)
        .collect();
    assert_eq!(members, [author], "marking read does not join");
    let seen = store.room(room, outsider).await.unwrap().unwrap();
    assert!(!seen.viewer_is_member);
}

pub(crate) async fn a_deleted_author_leaves_their_messages_without_an_author(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    let reader = create_user(store, "reader").await;
    let id = client_id(1);
    let message = NewMessage {
        room,
        author,
        client_id: &id,
        author_name: "Someone",
        author_username: AUTHOR,
        body: "still here",
        rich: &crate::model::RichText::plain("still here"),
        mentioned: &[],
        now_ms: 5,
        reply_to: None,
    };
    store.insert_message(message).await.unwrap();
    // The room goes with its owner only if deleted; the owner column is set to NULL.
    store.delete_user(author).await.unwrap();
    let kept = store.messages_before(room, None, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].body, "still here");
    assert_eq!(kept[0].author, None);
    let orphan = store.room(room, reader).await.unwrap().expect("kept");
    assert_eq!(orphan.owner, None);
}
