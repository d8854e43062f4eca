//! Messages: posting (the acknowledged half of the delivery contract) and history. Live
//! delivery is the `/ws` socket (see `crate::protocol`).

use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::RoomId;
use crate::protocol::search::SearchPage;
use crate::protocol::{Ack, HistoryPage, MessageId, MessageView};

/// Posts a message, a reply when `reply_to` names a message of the same room. `client_id`
/// is a UUID the browser chose; sending the same one again returns the original
/// acknowledgement instead of a second message (whose reply is the original's). The answer
/// comes only after the message is committed.
#[server(endpoint = "messages/send")]
pub async fn send_message(
    room: RoomId,
    client_id: String,
    body: String,
    #[server(default)] reply_to: Option<MessageId>,
) -> Result<Ack, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend
        .messages()
        .send(&user, room, &client_id, &body, reply_to)
        .await
}

/// A page of history: the newest messages, or those before `before_seq` ("Load earlier").
#[server(endpoint = "messages/history")]
pub async fn message_history(
    room: RoomId,
    before_seq: Option<u64>,
) -> Result<HistoryPage, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.messages().history(&user, room, before_seq).await
}

/// The history around the message posted with `seq`: what a search result opens, with the
/// message in the middle. Its `last_seq` is the last number it covers, which the socket
/// continues from.
#[server(endpoint = "messages/around")]
pub async fn message_history_around(room: RoomId, seq: u64) -> Result<HistoryPage, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.messages().around(&user, room, seq).await
}

/// Finds messages by their words in every room I may read, newest first: one page, older
/// than `before` when given. Whatever `query` holds is taken as literal words (quoted
/// phrases, `from:username` and `in:room-name` aside), so no input is an error.
#[server(endpoint = "messages/search")]
pub async fn search_messages(
    query: String,
    #[server(default)] before: Option<MessageId>,
) -> Result<SearchPage, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.messages().search(&user, &query, before).await
}

/// Replaces the text of one's own message; the change is broadcast to the room.
#[server(endpoint = "messages/edit")]
pub async fn edit_message(id: MessageId, body: String) -> Result<MessageView, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.messages().edit(&user, id, &body).await
}

/// Deletes a message (one's own, or any in a room one manages); its text is erased.
#[server(endpoint = "messages/delete")]
pub async fn delete_message(id: MessageId) -> Result<MessageView, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.messages().delete(&user, id).await
}

/// Moves my read marker in `room` up to `seq`: what the unread counts start from.
#[server(endpoint = "messages/read")]
pub async fn mark_read(room: RoomId, seq: u64) -> Result<(), ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.messages().mark_read(&user, room, seq).await
}

/// Adds (`on: true`) or takes back (`on: false`) my reaction `emoji` (one of
/// `protocol::reactions::REACTION_EMOJI`) on a message; the change is broadcast to the
/// room. Saying again what is already so changes nothing, so a retry is harmless.
#[server(endpoint = "messages/react")]
pub async fn react_to_message(
    id: MessageId,
    emoji: String,
    on: bool,
) -> Result<MessageView, ApiError> {
    let (backend, user) = crate::backend::Backend::signed_in().await?;
    backend.messages().react(&user, id, &emoji, on).await
}
