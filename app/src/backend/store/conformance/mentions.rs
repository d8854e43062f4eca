//! Contracts of [`MentionStore`](crate::backend::store::MentionStore) and of the rendered
//! forms and mention rows that posts and edits write: the mentioned read back by id with
//! their current names, counts per member after the read marker, edits and deletes that
//! move them, and the `/mentions` list.

use super::{AUTHOR, SOMEONE, client_id, create_user, new_room, room_with_author};
use crate::backend::store::{Change, NewMessage, Posted, Store};
use crate::model::rich::{Block, Inline};
use crate::model::{RichText, RoomId, UserId, Visibility};
use crate::protocol::{ClientId, MessageId, Person};

fn person(id: UserId, username: &str) -> Person {
    Person {
        id,
        username: username.into(),
        display_name: SOMEONE.into(),
    }
}

/// "**hi** @name" as the parser renders it, mentioning `user`.
fn bold_mention(user: UserId) -> RichText {
    RichText {
        blocks: vec![Block::Paragraph {
            inlines: vec![
                Inline::Strong {
                    inlines: vec![Inline::Text { text: "hi".into() }],
                },
                Inline::Text { text: " ".into() },
                Inline::Mention { user },
            ],
        }],
    }
}

async fn post_mentioning(
    store: &dyn Store,
    room: RoomId,
    author: UserId,
    client_id: &ClientId,
    rich: &RichText,
    mentioned: &[Person],
) -> Posted {
    store
        .insert_message(NewMessage {
            room,
            author,
            client_id,
            author_name: SOMEONE,
            author_username: AUTHOR,
            body: "**hi** @someone",
            rich,
            mentioned,
            now_ms: 5,
            reply_to: None,
        })
        .await
        .unwrap()
}

async fn count_in(store: &dyn Store, user: UserId, room: RoomId) -> u64 {
    store
        .mention_counts(user)
        .await
        .unwrap()
        .into_iter()
        .find(|(counted, _)| *counted == room)
        .map_or(0, |(_, count)| count)
}

pub(crate) async fn a_post_stores_its_rendered_form_and_reads_back_the_mentioned_with_current_names(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let ana = create_user(store, "ana").await;
    store.add_member(room, ana, 2).await.unwrap();
    let rich = bold_mention(ana);
    let posted = post_mentioning(
        store,
        room,
        author,
        &client_id(1),
        &rich,
        &[person(ana, "ana")],
    )
    .await
    .message;
    assert_eq!(posted.rich, rich);
    assert_eq!(posted.mentions, [ana]);
    let read = store.message(posted.id).await.unwrap().unwrap();
    assert_eq!(read, posted, "read back as it was posted");
    // A rename shows in every later read: names are joined when reading, not stored.
    store.set_display_name(ana, "Ana Kim").await.unwrap();
    let history = store.messages_before(room, None, 10).await.unwrap();
    assert_eq!(history[0].mentioned[0].display_name, "Ana Kim");
    assert_eq!(history[0].rich, rich);
    let replayed = store.events_after(room, 0, None, 10).await.unwrap();
    assert_eq!(replayed[0].message.mentioned[0].display_name, "Ana Kim");
    // A message without Markdown reads as its plain form.
    let plain = super::post(store, room, author, &client_id(2))
        .await
        .message;
    let plain = store.message(plain.id).await.unwrap().unwrap();
    assert_eq!(plain.rich, RichText::plain("hello"));
    assert!(plain.mentions.is_empty() && plain.mentioned.is_empty());
}

pub(crate) async fn mention_counts_are_per_member_after_the_read_marker_and_leave_out_ones_own(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let (ana, bora) = (
        create_user(store, "ana").await,
        create_user(store, "bora").await,
    );
    store.add_member(room, ana, 2).await.unwrap();
    store.add_member(room, bora, 2).await.unwrap();
    let both = [person(ana, "ana"), person(bora, "bora")];
    post_mentioning(
        store,
        room,
        author,
        &client_id(1),
        &bold_mention(ana),
        &both,
    )
    .await;
    let second = post_mentioning(
        store,
        room,
        author,
        &client_id(2),
        &bold_mention(ana),
        &both[..1],
    )
    .await;
    assert_eq!(count_in(store, ana, room).await, 2);
    assert_eq!(count_in(store, bora, room).await, 1);
    assert_eq!(count_in(store, author, room).await, 0);
    // Reading clears one's own count only.
    store.mark_read(room, ana, 1).await.unwrap();
    assert_eq!(count_in(store, ana, room).await, 1);
    store
        .mark_read(room, ana, second.message.seq)
        .await
        .unwrap();
    assert_eq!(count_in(store, ana, room).await, 0);
    assert_eq!(count_in(store, bora, room).await, 1);
    assert!(
        !store
            .mention_counts(ana)
            .await
            .unwrap()
            .iter()
            .any(|(_, count)| *count == 0),
        "rooms without mentions are left out"
    );
    // Mentioning oneself tells no one.
    post_mentioning(
        store,
        room,
        bora,
        &client_id(3),
        &bold_mention(bora),
        &[person(bora, "bora")],
    )
    .await;
    assert_eq!(count_in(store, bora, room).await, 1);
    // Leaving the room ends its count.
    store.remove_member(room, bora).await.unwrap();
    assert_eq!(count_in(store, bora, room).await, 0);
}

pub(crate) async fn an_edit_replaces_the_mentions_and_a_delete_drops_them_with_the_form(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let (ana, bora) = (
        create_user(store, "ana").await,
        create_user(store, "bora").await,
    );
    store.add_member(room, ana, 2).await.unwrap();
    store.add_member(room, bora, 2).await.unwrap();
    let posted = post_mentioning(
        store,
        room,
        author,
        &client_id(1),
        &bold_mention(ana),
        &[person(ana, "ana")],
    )
    .await
    .message;
    let edited_form = bold_mention(bora);
    let edited = store
        .change_message(
            posted.id,
            Change::Edit {
                body: "**hi** @bora",
                rich: &edited_form,
                mentioned: &[person(bora, "bora")],
            },
            7,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edited.message.rich, edited_form);
    assert_eq!(edited.message.mentions, [bora]);
    assert_eq!(
        (
            count_in(store, ana, room).await,
            count_in(store, bora, room).await
        ),
        (0, 1)
    );
    let deleted = store
        .change_message(posted.id, Change::Delete, 8)
        .await
        .unwrap()
        .unwrap();
    assert!(deleted.message.rich.is_empty());
    assert!(deleted.message.mentions.is_empty() && deleted.message.mentioned.is_empty());
    assert_eq!(count_in(store, bora, room).await, 0);
    assert!(store.mentions_of(bora, 10).await.unwrap().is_empty());
}

pub(crate) async fn the_mentions_list_is_newest_first_and_only_in_rooms_one_is_member_of(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let other_room = store
        .create_room(new_room("other", Visibility::Public, author, 1))
        .await
        .unwrap();
    let ana = create_user(store, "ana").await;
    store.add_member(room, ana, 2).await.unwrap();
    store.add_member(other_room, ana, 2).await.unwrap();
    let mention = [person(ana, "ana")];
    let mut ids: Vec<MessageId> = Vec::new();
    for (n, in_room) in [(1, room), (2, other_room), (3, room)] {
        let posted = store
            .insert_message(NewMessage {
                room: in_room,
                author,
                client_id: &client_id(n),
                author_name: SOMEONE,
                author_username: AUTHOR,
                body: "@ana",
                rich: &bold_mention(ana),
                mentioned: &mention,
                now_ms: i64::from(n) * 10,
                reply_to: None,
            })
            .await
            .unwrap();
        ids.push(posted.message.id);
    }
    let listed: Vec<MessageId> = store
        .mentions_of(ana, 10)
        .await
        .unwrap()
        .iter()
        .map(|message| message.id)
        .collect();
    assert_eq!(listed, [ids[2], ids[1], ids[0]]);
    assert_eq!(store.mentions_of(ana, 1).await.unwrap().len(), 1);
    store.remove_member(other_room, ana).await.unwrap();
    let listed: Vec<MessageId> = store
        .mentions_of(ana, 10)
        .await
        .unwrap()
        .iter()
        .map(|message| message.id)
        .collect();
    assert_eq!(listed, [ids[2], ids[0]], "a room left is no longer listed");
    assert!(store.mentions_of(author, 10).await.unwrap().is_empty());
}
