//! Contracts of replies in the [`MessageStore`](crate::backend::store::MessageStore): a
//! reply stores the message it answers and every read quotes that message as it is now.

use super::{client_id, hello, post, room_with_author};
use crate::backend::store::{Change, NewMessage, Store};
use crate::protocol::replies::EXCERPT_CHARS;

pub(crate) async fn a_reply_quotes_the_original_as_it_is_now_in_every_read(store: &dyn Store) {
    let (room, author) = room_with_author(store).await;
    let original = post(store, room, author, &client_id(1)).await.message;
    let (reply_id, long) = (client_id(2), "긴 ".repeat(200));
    let reply = NewMessage {
        body: &long,
        reply_to: Some(original.id),
        ..hello(room, author, &reply_id)
    };
    let posted = store.insert_message(reply.clone()).await.unwrap();
    let quote = posted
        .message
        .reply_to
        .clone()
        .expect("a reply carries its quote");
    assert_eq!((quote.id, quote.seq), (original.id, original.seq));
    assert_eq!(quote.excerpt, "hello");
    assert_eq!(quote.author.as_ref().map(|person| person.id), Some(author));
    assert!(!quote.deleted);
    let resend = store.insert_message(reply).await.unwrap();
    assert_eq!(
        resend.message.reply_to,
        Some(quote.clone()),
        "a resend keeps it"
    );
    assert_eq!(
        store
            .message(posted.message.id)
            .await
            .unwrap()
            .unwrap()
            .reply_to,
        Some(quote.clone())
    );

    // A reply to the reply quotes only the start of its long text.
    let third_id = client_id(3);
    let third = NewMessage {
        reply_to: Some(posted.message.id),
        ..hello(room, author, &third_id)
    };
    let nested = store.insert_message(third).await.unwrap().message;
    let excerpt = nested.reply_to.unwrap().excerpt;
    assert_eq!(excerpt.chars().count(), EXCERPT_CHARS);
    assert!(excerpt.starts_with("긴 긴"));

    store
        .change_message(
            original.id,
            Change::Edit {
                body: "고친 글",
                rich: &crate::model::RichText::plain("고친 글"),
                mentioned: &[],
            },
            7,
        )
        .await
        .unwrap();
    let page = store.messages_before(room, None, 10).await.unwrap();
    assert_eq!(page[1].reply_to.as_ref().unwrap().excerpt, "고친 글");
    store
        .change_message(original.id, Change::Delete, 8)
        .await
        .unwrap();
    let replayed = store.events_after(room, 0, None, 10).await.unwrap();
    let reply_now = replayed
        .iter()
        .find(|event| event.message.id == posted.message.id)
        .unwrap();
    let deleted_quote = reply_now.message.reply_to.as_ref().unwrap();
    assert!(deleted_quote.deleted);
    assert_eq!(deleted_quote.excerpt, "", "the deleted text is not quoted");
    assert!(
        store
            .message(original.id)
            .await
            .unwrap()
            .unwrap()
            .reply_to
            .is_none()
    );
}
