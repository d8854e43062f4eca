//! Messages: posting (the acknowledged half of the delivery contract) and history. Live
//! delivery is the `/ws` socket (see `crate::protocol`).

use leptos::prelude::*;

use super::ApiError;
use crate::model::RoomId;
use crate::protocol::{Ack, HistoryPage};

/// Posts a message. `client_id` is a UUID the browser chose; sending the same one again
/// returns the original acknowledgement instead of a second message. The answer comes only
/// after the message is committed.
#[server(endpoint = "messages/send")]
pub async fn send_message(room: RoomId, client_id: String, body: String) -> Result<Ack, ApiError> {
    let backend = crate::backend::Backend::from_context()?;
    let user = backend.require_user().await?;
    backend
        .messages()
        .send(&user, room, &client_id, &body)
        .await
}

/// A page of history: the newest messages, or those before `before_seq` ("Load earlier").
#[server(endpoint = "messages/history")]
pub async fn message_history(
    room: RoomId,
    before_seq: Option<u64>,
) -> Result<HistoryPage, ApiError> {
    let backend = crate::backend::Backend::from_context()?;
    let user = backend.require_user().await?;
    backend.messages().history(&user, room, before_seq).await
}
