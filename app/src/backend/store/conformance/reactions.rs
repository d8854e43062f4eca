//! Contracts of [`MessageStore::react`](crate::backend::store::MessageStore::react):
//! reactions are numbered changes, idempotent, grouped by emoji, capped per message, and
//! gone with a deleted message.

use super::{client_id, create_user, event_seqs, post, room_with_author};
use crate::backend::store::{Change, Reacted, Reaction, Store};
use crate::model::UserId;
use crate::protocol::reactions::Emoji;

fn reaction(user: UserId, emoji: &str, on: bool) -> Reaction {
    Reaction {
        user,
        // The contracts use emoji of the set.
        emoji: Emoji::parse(emoji).unwrap(),
        on,
        emoji_limit: 3,
    }
}

pub(crate) async fn a_reaction_takes_the_next_number_and_saying_it_again_takes_none(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let reader = create_user(store, "reader").await;
    let id = post(store, room, author, &client_id(1)).await.message.id;

    let Reacted::Changed(added) = store
        .react(id, reaction(reader, "👍", true), 6)
        .await
        .unwrap()
    else {
        panic!("the first reaction changes the message");
    };
    assert_eq!((added.seq, added.message.changed_seq), (2, 2));
    assert_eq!(added.message.reactions.len(), 1);
    assert_eq!(added.message.reactions[0].emoji, "👍");
    assert_eq!(added.message.reactions[0].count, 1);
    assert_eq!(added.message.reactions[0].people[0].id, reader);

    let again = store
        .react(id, reaction(reader, "👍", true), 7)
        .await
        .unwrap();
    assert_eq!(
        again,
        Reacted::Unchanged(added.message.clone()),
        "a retry changes nothing"
    );
    assert_eq!(
        store.last_seq(room).await.unwrap(),
        2,
        "and takes no number"
    );

    let Reacted::Changed(removed) = store
        .react(id, reaction(reader, "👍", false), 8)
        .await
        .unwrap()
    else {
        panic!("taking it back changes the message");
    };
    assert_eq!(removed.seq, 3);
    assert!(removed.message.reactions.is_empty());
    let gone_again = store
        .react(id, reaction(reader, "👍", false), 9)
        .await
        .unwrap();
    assert!(matches!(gone_again, Reacted::Unchanged(message) if message.changed_seq == 3));

    // Both changes replay, with the message's state now.
    let events = store.events_after(room, 1, None, 10).await.unwrap();
    assert_eq!(event_seqs(&events), [2, 3]);
    assert!(
        events
            .iter()
            .all(|event| event.message.reactions.is_empty())
    );
    assert_eq!(store.message(id).await.unwrap().unwrap().changed_seq, 3);
}

pub(crate) async fn reactions_group_by_emoji_in_the_order_first_used_in_every_read(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let reader = create_user(store, "reader").await;
    let id = post(store, room, author, &client_id(1)).await.message.id;
    for (user, emoji) in [(reader, "🎉"), (author, "👍"), (author, "🎉")] {
        let reacted = store
            .react(id, reaction(user, emoji, true), 6)
            .await
            .unwrap();
        assert!(matches!(reacted, Reacted::Changed(_)));
    }
    let message = store.message(id).await.unwrap().unwrap();
    let shown: Vec<(&str, u32, Vec<UserId>)> = message
        .reactions
        .iter()
        .map(|view| {
            let people = view.people.iter().map(|person| person.id).collect();
            (view.emoji.as_str(), view.count, people)
        })
        .collect();
    assert_eq!(
        shown,
        [("🎉", 2, vec![reader, author]), ("👍", 1, vec![author])]
    );
    let page = store.messages_before(room, None, 10).await.unwrap();
    assert_eq!(page[0].reactions, message.reactions, "history carries them");
    let replayed = store.events_after(room, 0, None, 10).await.unwrap();
    assert_eq!(
        replayed.last().unwrap().message.reactions,
        message.reactions
    );
}

pub(crate) async fn a_message_refuses_another_emoji_past_its_limit_but_not_more_people(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let reader = create_user(store, "reader").await;
    let id = post(store, room, author, &client_id(1)).await.message.id;
    for emoji in ["👍", "🎉", "🔥"] {
        store
            .react(id, reaction(author, emoji, true), 6)
            .await
            .unwrap();
    }
    let last_seq = store.last_seq(room).await.unwrap();
    assert_eq!(
        store
            .react(id, reaction(reader, "👀", true), 7)
            .await
            .unwrap(),
        Reacted::TooManyEmoji
    );
    assert_eq!(
        store.last_seq(room).await.unwrap(),
        last_seq,
        "no number taken"
    );
    let joined = store
        .react(id, reaction(reader, "🔥", true), 7)
        .await
        .unwrap();
    assert!(
        matches!(joined, Reacted::Changed(event) if event.message.reactions[2].count == 2),
        "an emoji already there takes more people"
    );
}

pub(crate) async fn a_deleted_or_missing_message_takes_no_reaction_and_loses_its_own(
    store: &dyn Store,
) {
    let (room, author) = room_with_author(store).await;
    let id = post(store, room, author, &client_id(1)).await.message.id;
    store
        .react(id, reaction(author, "👍", true), 6)
        .await
        .unwrap();
    let deleted = store
        .change_message(id, Change::Delete, 7)
        .await
        .unwrap()
        .unwrap();
    assert!(deleted.message.reactions.is_empty(), "gone with the text");
    let last_seq = store.last_seq(room).await.unwrap();
    assert_eq!(
        store
            .react(id, reaction(author, "🎉", true), 8)
            .await
            .unwrap(),
        Reacted::Gone
    );
    assert_eq!(
        store
            .react(
                crate::protocol::MessageId(9_999),
                reaction(author, "🎉", true),
                8
            )
            .await
            .unwrap(),
        Reacted::Gone
    );
    assert_eq!(
        store.last_seq(room).await.unwrap(),
        last_seq,
        "no number taken"
    );
}
